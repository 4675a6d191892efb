"""Speed and memory of the agent-based model: this version against the old one, and against scipy.

All in one run, the old and the new version side by side:

a. ``corridors.run(seed=7)`` (the baseline, 2019Q1-2035Q4, 68 quarterly steps): the new
   version (the ``corridors`` this Python imports) against the old one (commit 5122682,
   checked out into a temporary ``git worktree`` and imported by a worker process with
   ``PYTHONPATH=<worktree>/src``), each in a warm worker process of this interpreter, as the
   median of ``--repeats`` runs taken in alternating blocks. Target: new at least 8x faster.
   Both runs' result tables are compared (rtol 1e-9).
b. Memory of one warm run, in a fresh worker per version: the ``tracemalloc`` peak
   (target: new no higher than old), and the RSS high-water marks of the run and the worker.
c. ``CorridorModel(rng=7, end_year=2035, router=scipy_router)`` (``scipy.sparse.csgraph``
   shortest-path trees, ``benchmarks/scipy_router.py``) against the default router, model
   construction and stepping, alternating; target: ours at least 10x faster. Whether the two
   runs give equal tables (rtol 1e-9). A model that rejects the router is reported, not fatal.
d. Ensembles: left to ``bench_ensemble.py``.
e. ``Tuner`` to 2030: the run part of an update (``Tuner.run``, or ``update(draw=False)``
   where offered), median over changing slider values, old and new alternating; target: new
   50 ms or less.
f. Where the time goes: one new run under cProfile, split into parts (Numba kernels,
   routing's wrappers, Mesa, agents, market, model, events, data, results), and an
   unprofiled run with the Numba kernels and routing's entry points timed.

A missed target prints ``MISS``; the exit status is 0 all the same: this is a measurement.
Errors (a worker that fails, a scipy router that disagrees with ours) exit non-zero.
Run ``python benchmarks/bench_model.py`` (``--quick`` for a rough reading of every part).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pickle
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import mesa
import numba
import numpy as np
import pandas as pd

import corridors
import scipy_router  # next to this script, which Python puts first on sys.path
from benchlib import (  # next to this script
    OLD_COMMIT,
    Worker,
    columns,
    exit_on_sigterm,
    lever_settings,
    load_average,
    new_src,
    old_worktree,
    positive_int,
    print_load,
    progress,
    revision,
    status,
    version,
)
from corridors import routing
from corridors.model import CorridorModel
from corridors.results import TABLES, Results

SEED = 7
END_YEAR = 2035
TUNER_END_YEAR = 2030
TARGET_SPEEDUP = 8.0  # old / new, corridors.run
TARGET_SCIPY = 10.0  # scipy / ours, the model alone
TARGET_TUNER_S = 0.050
TABLE_RTOL = 1e-9


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e3:.1f} ms"


def mb(n_bytes: float | None) -> str:
    return "n/a" if n_bytes is None else f"{n_bytes / 2**20:.1f} MB"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None or b <= 0 else f"{a / b:.2f}x"


# ----------------------------------------------------------------- old against new


class Side:
    """What was measured of one version (old or new) in its worker processes."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.runs: list[float] = []
        self.splits: list[list[float]] = []
        self.tuner_runs: list[float] = []
        self.tuner_updates: list[float] = []
        self.tuner_timed = ""
        self.memory: dict | None = None
        self.tables: dict[str, pd.DataFrame] | None = None
        self.info: dict = {}

    def run_s(self) -> float | None:
        return median(self.runs) if self.runs else None

    def split_s(self, i: int) -> float | None:
        return median([s[i] for s in self.splits]) if self.splits else None

    def tuner_s(self) -> float | None:
        return median(self.tuner_runs) if self.tuner_runs else None

    def update_s(self) -> float | None:
        return median(self.tuner_updates) if self.tuner_updates else None

    def mem(self, key: str) -> float | None:
        return None if self.memory is None else self.memory.get(key)


def alternate(
    workers: list[tuple[Worker, Side]], rounds: int, do: Callable[[Worker, Side, int], None]
) -> None:
    """``do(worker, side, i)`` for ``rounds`` rounds, the workers' order reversed every round."""
    for i in range(rounds):
        for worker, side in workers if i % 2 == 0 else workers[::-1]:
            do(worker, side, i)


def old_against_new(args, new: Side, old: Side) -> str:
    """Parts a, b and e; returns why the old version was skipped ("" if it was not)."""
    tmp = Path(tempfile.mkdtemp(prefix="corridors-bench-tables-"))
    try:
        with old_worktree() as (tree, why):
            if tree is None:
                print(
                    f"old version: comparison with {OLD_COMMIT} SKIPPED: {why}; measuring the new version alone"
                )
            else:
                print(f"old version: {tree.describe()}")
            pairs = [(Worker("new", new_src()), new)]
            try:
                if tree is not None:
                    pairs.append((Worker(tree.label, tree.src), old))
                for worker, side in pairs:
                    side.info = worker.info
                    worker.send("warmup", seed=SEED, end_year=END_YEAR)
                t0 = time.perf_counter()
                # while the old worktree compiles its Numba cache (about 20-60 s), check the
                # scipy router here: nothing is timed until both warm-ups are done
                progress("warming the workers' Numba caches (the old worktree compiles its own) ...")
                random_check = scipy_router.check_random(cases=10 if args.quick else 40)
                print(
                    f"scipy router vs routing.shortest_path_trees, random networks: {random_check.summary()}"
                )
                if random_check.problems:
                    raise SystemExit("scipy router disagrees with routing.shortest_path_trees: see above")
                for worker, side in pairs:
                    first = worker.receive()
                    progress(
                        f"{side.label}: warm after {time.perf_counter() - t0:.0f} s (first run {first:.2f} s)"
                    )
                progress(
                    f"timing corridors.run(seed={SEED}): {args.repeats} runs per version, alternating ..."
                )
                alternate(pairs, args.repeats, lambda w, s, i: s.runs.extend(w.call("runs", n=1, seed=SEED, end_year=END_YEAR)))  # fmt: skip
                alternate(pairs, args.split_repeats, lambda w, s, i: s.splits.append(w.call("split", seed=SEED, end_year=END_YEAR)))  # fmt: skip
                for worker, side in pairs:
                    path = tmp / f"{side.label.split()[0]}.pkl"
                    worker.call("tables", seed=SEED, end_year=END_YEAR, path=str(path))
                    with open(path, "rb") as f:
                        side.tables = pickle.load(f)
                progress(
                    f"timing Tuner to {TUNER_END_YEAR}: {args.tuner_repeats} slider moves per version ..."
                )
                moves = lever_settings(args.tuner_repeats)
                for worker, side in pairs:
                    side.tuner_timed = worker.call(
                        "tuner_init", scenario="baseline", end_year=TUNER_END_YEAR
                    )["timed"]
                alternate(pairs, len(moves), lambda w, s, i: s.tuner_runs.append(w.call("tuner_run", values=moves[i])))  # fmt: skip
                n_updates = max(1, args.tuner_repeats // 3)
                alternate(pairs, n_updates, lambda w, s, i: s.tuner_updates.append(w.call("tuner_update", values=moves[i])))  # fmt: skip
            finally:
                for worker, _ in pairs:
                    worker.close()
            progress("memory of one warm run: a fresh worker per version ...")
            for label, src, side in [("new", new_src(), new)] + (
                [(tree.label, tree.src, old)] if tree else []
            ):
                with Worker(label, src) as worker:
                    side.memory = worker.call("memory", seed=SEED, end_year=END_YEAR)
            return why
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------ scipy route-cost path


def split_run(router=None) -> tuple[float, float, CorridorModel]:
    """Construction and stepping of one ``CorridorModel`` run, in seconds."""
    gc.collect()
    t0 = time.perf_counter()
    model = CorridorModel(rng=SEED, end_year=END_YEAR, router=router)
    t1 = time.perf_counter()
    model.run()
    return t1 - t0, time.perf_counter() - t1, model


class RouteTimer:
    """Seconds spent inside shortest-path-tree calls: ours (``routing.shortest_path_trees``,
    ``routing.Graph.trees``) or the scipy router's, patched on their owners for a block."""

    def __init__(self, targets: list[tuple[object, str]]) -> None:
        self.targets = [(o, n) for o, n in targets if hasattr(o, n)]
        self.seconds = 0.0
        self.calls = 0
        self._saved: list[tuple[object, str, object]] = []
        self._depth = 0

    def __enter__(self) -> RouteTimer:
        for owner, name in self.targets:
            fn = getattr(owner, name)
            self._saved.append((owner, name, fn))
            setattr(owner, name, self._wrap(fn))
        return self

    def _wrap(self, fn):
        def timed(*args, **kwargs):
            self._depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth -= 1
                if not self._depth:  # Graph.trees calling shortest_path_trees counts once
                    self.seconds += time.perf_counter() - start
                    self.calls += 1

        return timed

    def __exit__(self, *exc) -> None:
        for owner, name, fn in reversed(self._saved):
            setattr(owner, name, fn)


OURS_TREES = [(routing, "shortest_path_trees"), (routing.Graph, "trees")]
PEER_TREES = [(scipy_router, "shortest_path_trees")]


def compare_tables(a_res, b_res) -> list[str]:
    """One line per table: equal (rtol 1e-9) or how it differs. Results or dicts of tables."""
    lines = []
    for name in TABLES:
        a = a_res[name] if isinstance(a_res, dict) else getattr(a_res, name)
        b = b_res[name] if isinstance(b_res, dict) else getattr(b_res, name)
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=TABLE_RTOL, atol=0.0)
        except AssertionError as exc:
            detail = " ".join(str(exc).strip().splitlines()[:2])
            where = ""
            if a.shape == b.shape and "step" in a.columns:
                num = a.select_dtypes("number").columns
                diff = ~np.isclose(
                    a[num].to_numpy(float), b[num].to_numpy(float), rtol=TABLE_RTOL, equal_nan=True
                )
                rows = np.flatnonzero(diff.any(axis=1))
                if rows.size:
                    where = f"; first differing step {int(a['step'].iloc[rows[0]])}, {rows.size} rows differ"
            lines.append(f"{name}: DIFFER ({detail}{where})")
        else:
            lines.append(f"{name}: equal (rtol {TABLE_RTOL:g})")
    return lines


@dataclass
class ScipyComparison:
    """Part c's measurements (None: not measured)."""

    rejected: str = ""  # why the model did not use the scipy router ("" if it did)
    model_check: str = ""
    ours: float | None = None
    peer: float | None = None
    ours_route: float | None = None
    peer_route: float | None = None
    ours_route_calls: int = 0
    peer_route_calls: int = 0
    tables: list[str] = field(default_factory=list)


def against_scipy(args) -> ScipyComparison:
    """Part c, in this process: the model with the scipy router against the default."""
    out = ScipyComparison()
    progress("checking the scipy router on the model's first quarter ...")
    try:
        check = scipy_router.check_model_first_quarter(rng=SEED, end_year=END_YEAR)
    except scipy_router.RouterRejectedError as exc:
        out.rejected = str(exc)
        print(
            "scipy comparison SKIPPED: the model at this revision rejects a router that offers only "
            f"shortest_path_trees (the new router protocol); it still expects the old one. {exc}"
        )
        return out
    out.model_check = check.summary()
    print(f"scipy router vs routing.shortest_path_trees, the model's first quarter: {out.model_check}")
    if check.problems:
        raise SystemExit("scipy router disagrees with routing.shortest_path_trees in the model: see above")
    split_run(router=scipy_router)  # scipy's first calls
    progress(f"timing the model with the scipy router: {args.scipy_repeats} runs per side, alternating ...")
    ours, peer = [], []
    model_o = model_p = None
    for i in range(args.scipy_repeats):
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            c, s, model = split_run(router=scipy_router if side else None)
            (peer if side else ours).append(c + s)
            if side:
                model_p = model
            else:
                model_o = model
    out.ours, out.peer = median(ours), median(peer)
    out.tables = compare_tables(Results.from_record(model_o.record()), Results.from_record(model_p.record()))
    route_o, route_p = [], []
    for _ in range(args.scipy_repeats):
        with RouteTimer(OURS_TREES) as t:
            split_run()
        route_o.append(t.seconds)
        out.ours_route_calls = t.calls
        with RouteTimer(PEER_TREES) as t:
            split_run(router=scipy_router)
        route_p.append(t.seconds)
        out.peer_route_calls = t.calls
    if out.peer_route_calls:
        out.peer_route = median(route_p)
    if out.ours_route_calls == out.peer_route_calls:  # else ours searches elsewhere too (a fused kernel)
        out.ours_route = median(route_o)
    return out


# ------------------------------------------------------------------ where time goes

MARKET = "market (corridors/layout.py, market.py, view.py: a quarter's physics)"
WRAPPERS = "routing's Python wrappers"
OTHER = "other (harness, unattributed)"
FIXED_PARTS = (
    WRAPPERS,
    "Mesa",
    "agents (corridors/agents/)",
    MARKET,
    "model (corridors/model.py)",
    "events (corridors/events.py)",
    "data loading (network, inputs, tables)",
    "results + pandas/pyarrow",
    "Numba runtime (dispatch, set_num_threads)",
    OTHER,
)


def kernel_part(filename: str) -> str:
    return f"Numba kernels in {Path(filename).name}"


def numba_kernels() -> dict[object, tuple[str, str]]:
    """Every Numba dispatcher reachable as a global of a loaded corridors module.

    Returns ``{dispatcher: (file, name)}``; the profiler reports a dispatcher's calls under
    its Python function's file and name.
    """
    found = {}
    for mod_name, module in list(sys.modules.items()):
        if module is None or not (mod_name == "corridors" or mod_name.startswith("corridors.")):
            continue
        for value in vars(module).values():
            if isinstance(value, numba.core.dispatcher.Dispatcher):
                code = value.py_func.__code__
                found[value] = (code.co_filename, code.co_name)
    return found


def part_of(func: tuple[str, int, str], kernels: set[tuple[str, str]]) -> str | None:
    """The part a profiled function belongs to; None: numpy, builtins, stdlib (its caller's)."""
    filename, _, name = func
    if (filename, name) in kernels:
        return kernel_part(filename)
    path = filename.replace("\\", "/")
    if path.endswith("corridors/routing.py"):
        return WRAPPERS
    if "/mesa/" in path:
        return "Mesa"
    if "/corridors/agents/" in path:
        return "agents (corridors/agents/)"
    if path.endswith(("corridors/layout.py", "corridors/market.py", "corridors/view.py")):
        return MARKET
    if path.endswith(
        (
            "corridors/model.py",
            "corridors/__init__.py",
            "corridors/experiments/runs.py",
            "corridors/run_record.py",
        )
    ):
        return "model (corridors/model.py)"
    if path.endswith("corridors/events.py"):
        return "events (corridors/events.py)"
    if "/corridors/scenario/" in path or path.endswith(
        ("corridors/network.py", "corridors/inputs.py", "corridors/tables.py", "corridors/parameters.py")
    ):  # the scenario package's modules too
        return "data loading (network, inputs, tables)"
    if "/corridors/results/" in path or "/pandas/" in path or "/pyarrow/" in path:
        return "results + pandas/pyarrow"
    if "/numba/" in path:
        return "Numba runtime (dispatch, set_num_threads)"
    if path.endswith(("bench_model.py", "cProfile.py")):
        return OTHER
    if "/corridors/" in path and path.endswith(".py"):  # a module without a part of its own
        return "corridors/" + path.rsplit("/corridors/", 1)[1]
    return None


def attribute(stats: pstats.Stats, kernels: set[tuple[str, str]]) -> dict[str, float]:
    """Own time per part; an unowned function's time goes to its callers' parts.

    The time a function spends when called from caller ``c`` (cProfile records it per
    caller) goes to ``c``'s part; when ``c`` is unowned too, it is split over ``c``'s own
    callers in proportion to the cumulative time each spent in ``c``.
    """
    raw = stats.stats  # func -> (cc, nc, tt, ct, callers{caller: (cc, nc, tt, ct)})
    memo: dict = {}

    def owner(func):
        return part_of(func, kernels)

    def shares(func, seen: frozenset) -> dict[str, float]:
        """How the time spent in unowned ``func`` divides among parts, as fractions."""
        if func in memo:
            return memo[func]
        callers = raw.get(func, (0, 0, 0.0, 0.0, {}))[4]
        total = sum(v[3] for v in callers.values())
        out: dict[str, float] = defaultdict(float)
        if not callers or total <= 0 or func in seen:
            out[OTHER] = 1.0
        else:
            for caller, v in callers.items():
                w = v[3] / total
                part = owner(caller)
                if part is not None:
                    out[part] += w
                else:
                    for p, f in shares(caller, seen | {func}).items():
                        out[p] += w * f
        if func not in seen:
            memo[func] = out
        return out

    totals: dict[str, float] = defaultdict(float)
    for func, (_, _, tt, _, callers) in raw.items():
        part = owner(func)
        if part is not None:
            totals[part] += tt
            continue
        if not callers:
            totals[OTHER] += tt
            continue
        for caller, v in callers.items():
            part = owner(caller)
            if part is not None:
                totals[part] += v[2]
            else:
                for p, f in shares(caller, frozenset({func})).items():
                    totals[p] += v[2] * f
    return totals


def top_functions(stats: pstats.Stats, n: int) -> list[tuple[str, str, str, str]]:
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:n]
    out = []
    for (filename, line, name), (_, nc, tt, ct, _) in rows:
        where = filename
        for marker in ("/src/", "/site-packages/"):
            if marker in filename:
                where = filename.split(marker, 1)[1]
        label = f"{where}:{line}({name})" if line else name
        out.append((label, str(nc), f"{tt * 1e3:.1f}", f"{ct * 1e3:.1f}"))
    return out


class KernelTimers:
    """perf_counter wrappers, without a profiler, around every Numba kernel called from Python
    (each corridors module's global that is a dispatcher, in every module that holds it) and
    around routing's entry points (route search and path folding).

    ``kernel_s[file]``: time in that file's kernels; ``route_s``: time inside routing's
    entry points, ``route_kernel_s`` the part of it in kernels.
    """

    ROUTE = (("Graph", "trees"), ("Graph", "paths"), ("Graph", "assign"), (None, "shortest_path_trees"),
             (None, "assign"), ("PathSet", "sums"), ("PathSet", "mins"), ("PathSet", "load"))  # fmt: skip

    def __init__(self) -> None:
        self.kernel_s: dict[str, float] = defaultdict(float)
        self.kernel_calls = 0
        self.route_kernel_s = 0.0
        self.route = RouteTimer(
            [
                (routing if owner is None else getattr(routing, owner, None), name)
                for owner, name in self.ROUTE
            ]
        )
        self._saved: list[tuple[object, str, object]] = []

    @property
    def route_s(self) -> float:
        return self.route.seconds

    @property
    def route_calls(self) -> int:
        return self.route.calls

    def _patch(self, owner, name: str, new) -> None:
        self._saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, new)

    def __enter__(self) -> KernelTimers:
        kernels = numba_kernels()
        wrapped = {d: self._kernel(d, Path(f).name) for d, (f, _) in kernels.items()}
        for mod_name, module in list(sys.modules.items()):
            if module is None or not (mod_name == "corridors" or mod_name.startswith("corridors.")):
                continue
            for name, value in list(vars(module).items()):
                if isinstance(value, numba.core.dispatcher.Dispatcher) and value in wrapped:
                    self._patch(module, name, wrapped[value])
        self.route.__enter__()
        return self

    def _kernel(self, fn, where: str):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                self.kernel_s[where] += elapsed
                self.kernel_calls += 1
                if self.route._depth:
                    self.route_kernel_s += elapsed

        return timed

    def __exit__(self, *exc) -> None:
        self.route.__exit__(*exc)
        for owner, name, fn in reversed(self._saved):
            setattr(owner, name, fn)


def where_time_goes() -> list[str]:
    """Part f: the lines to print."""
    gc.collect()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    corridors.run(seed=SEED, end_year=END_YEAR)
    profiler.disable()
    profiled_s = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    kernels = set(numba_kernels().values())
    parts = attribute(stats, kernels)
    total = sum(parts.values())
    kernel_parts = sorted((p for p in parts if p.startswith("Numba kernels")), key=lambda p: -parts[p])
    module_parts = sorted(p for p in parts if p.startswith("corridors/"))
    rows = [("part", "ms (profiled)", "share")]
    for p in (*kernel_parts, *FIXED_PARTS[:-1], *module_parts, OTHER):
        if parts.get(p, 0.0) > 0:
            rows.append((p, f"{parts[p] * 1e3:.1f}", f"{parts[p] / total:.1%}"))
    lines = [
        f"time split of one corridors.run under cProfile ({profiled_s * 1e3:.0f} ms with the profiler's overhead, "
        "which inflates Python-heavy parts; numpy, builtins and stdlib time goes to the caller's part):",
        *columns(rows, left={0}, indent="  "),
        "",
    ]
    try:
        gc.collect()
        with KernelTimers() as timers:
            start = time.perf_counter()
            corridors.run(seed=SEED, end_year=END_YEAR)
            wall = time.perf_counter() - start
    except Exception as exc:  # a kernel passed as a value into another kernel cannot be wrapped
        lines.append(f"unprofiled run with timers: failed ({type(exc).__name__}: {exc}); skipped")
    else:
        kernel_total = sum(timers.kernel_s.values())
        by_file = ", ".join(
            f"{f} {s * 1e3:.1f} ms" for f, s in sorted(timers.kernel_s.items(), key=lambda kv: -kv[1])
        )
        lines.append(
            f"unprofiled run with perf_counter timers ({wall * 1e3:.1f} ms): Numba kernels called from Python "
            f"{kernel_total * 1e3:.1f} ms = {kernel_total / wall:.1%} ({timers.kernel_calls} calls: {by_file or 'none'}); "
            f"routing's entry points (trees, paths, assign, PathSet folds: {timers.route_calls} calls) "
            f"{timers.route_s * 1e3:.1f} ms = {timers.route_s / wall:.1%}, of which kernels "
            f"{timers.route_kernel_s * 1e3:.1f} ms; Python outside kernels {(wall - kernel_total) * 1e3:.1f} ms "
            f"= {(wall - kernel_total) / wall:.1%}"
        )
    lines += [
        "",
        "functions with the most own time (profiled):",
        *columns([("function", "calls", "own ms", "cum ms"), *top_functions(stats, 15)], {0}, "  "),
    ]
    return lines


# ------------------------------------------------------------------------------ main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="few runs of every part (a rough reading; for CI)"
    )
    parser.add_argument("--repeats", type=positive_int, default=None, help="runs per median, old and new (default 7; 3 with --quick)")  # fmt: skip
    parser.add_argument("--scipy-repeats", type=positive_int, default=None, help="runs per side against scipy (default 3; 1 with --quick)")  # fmt: skip
    parser.add_argument("--tuner-repeats", type=positive_int, default=None, help="slider moves per version (default 9; 3 with --quick)")  # fmt: skip
    parser.add_argument("--split-repeats", type=positive_int, default=None, help="runs split into construction, stepping, results (default 3; 1 with --quick)")  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.scipy_repeats = args.scipy_repeats or (1 if args.quick else 3)
    args.tuner_repeats = args.tuner_repeats or (3 if args.quick else 9)
    args.split_repeats = args.split_repeats or (1 if args.quick else 3)
    exit_on_sigterm()
    started = time.perf_counter()
    src = new_src()
    print(
        f"corridors model benchmark{' (--quick: a rough reading)' if args.quick else ''}: "
        f"corridors.run(seed={SEED}), 2019-{END_YEAR} quarterly; median of {args.repeats} runs per version"
    )
    print(f"new version: {revision(src)} ({src})")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"mesa {mesa.__version__}, pandas {pd.__version__}, scipy {version('scipy')}; {os.cpu_count()} CPUs"
    )
    loads = [print_load("at start")]
    routing.warmup()
    corridors.run(seed=SEED, end_year=2019)

    new, old = Side("new"), Side(f"old ({OLD_COMMIT})")
    skipped = old_against_new(args, new, old)
    loads.append(load_average()[0])
    sc = against_scipy(args)
    loads.append(load_average()[0])
    progress("profiling one run ...")
    profile_lines = where_time_goes()
    loads.append(load_average()[0])
    print()

    # ---- the table
    t_old, t_new = old.run_s(), new.run_s()
    speedup = None if t_old is None else t_old / t_new
    sc_ratio = None if sc.ours is None else sc.peer / sc.ours
    tuner_new = new.tuner_s()
    mem_old, mem_new = old.mem("traced_peak"), new.mem("traced_peak")
    rss_old, rss_new = old.mem("rss_peak"), new.mem("rss_peak")
    results: list[tuple[str, bool | None]] = []

    def judged(what: str, met: bool | None) -> str:
        results.append((what, met))
        return status(met)

    table = [("measure", f"old {OLD_COMMIT}", "new", "old/new", "target", "result")]
    table.append((
        f"a. corridors.run(seed={SEED}) 2019-{END_YEAR}, median of {args.repeats}", ms(t_old), ms(t_new),
        ratio(t_old, t_new), f">= {TARGET_SPEEDUP:g}x", judged("run old/new", None if speedup is None else speedup >= TARGET_SPEEDUP),
    ))  # fmt: skip
    for i, label in enumerate(
        ("CorridorModel construction", "model.run() (stepping)", "Results.from_record")
    ):
        table.append((f"   {label}, median of {args.split_repeats}", ms(old.split_s(i)), ms(new.split_s(i)),
                      ratio(old.split_s(i), new.split_s(i)), "-", "-"))  # fmt: skip
    table.append(("   range of the runs", f"{ms(min(old.runs))}-{ms(max(old.runs))}" if old.runs else "n/a",
                  f"{ms(min(new.runs))}-{ms(max(new.runs))}", "-", "-", "-"))  # fmt: skip
    table.append((
        "b. tracemalloc peak of one warm run", mb(mem_old), mb(mem_new), ratio(mem_old, mem_new), "new <= old",
        judged("tracemalloc peak", None if mem_old is None or mem_new is None else mem_new <= mem_old),
    ))  # fmt: skip
    table.append(("   RSS high-water mark of one warm run (VmHWM)", mb(rss_old), mb(rss_new), ratio(rss_old, rss_new),
                  "-", "-"))  # fmt: skip
    table.append(("   RSS high-water mark: imports, warm-up run", mb(old.mem("hwm_process")), mb(new.mem("hwm_process")),
                  ratio(old.mem("hwm_process"), new.mem("hwm_process")), "-", "-"))  # fmt: skip
    table.append((
        f"e. Tuner to {TUNER_END_YEAR}, run part of an update, median of {args.tuner_repeats}", ms(old.tuner_s()),
        ms(tuner_new), ratio(old.tuner_s(), tuner_new), f"new <= {TARGET_TUNER_S * 1e3:g} ms",
        judged("tuner", None if tuner_new is None else tuner_new <= TARGET_TUNER_S),
    ))  # fmt: skip
    table.append((f"   Tuner.update (run + redraw), median of {len(new.tuner_updates)}", ms(old.update_s()),
                  ms(new.update_s()), ratio(old.update_s(), new.update_s()), "-", "-"))  # fmt: skip
    print("\n".join(columns(table, left={0})))
    print(f"   (the tuner timed {new.tuner_timed or 'n/a'}; old: {old.tuner_timed or 'n/a'})")
    print(
        f"   (ru_maxrss of the memory workers: old {mb(old.mem('ru_maxrss'))}, new {mb(new.mem('ru_maxrss'))}; "
        "Linux carries this process's high-water mark into them across fork and exec, hence VmHWM above)"
    )
    if skipped:
        print(f"   old version SKIPPED: {skipped}")
    print()

    rows = [
        (
            "c. the model (construction + stepping) against scipy",
            "ours",
            "scipy",
            "scipy/ours",
            "target",
            "result",
        )
    ]
    rows.append((
        f"model alone, median of {args.scipy_repeats} (alternating)", ms(sc.ours), ms(sc.peer),
        "n/a" if sc_ratio is None else f"{sc_ratio:.2f}x", f">= {TARGET_SCIPY:g}x",
        judged("scipy", None if sc_ratio is None else sc_ratio >= TARGET_SCIPY),
    ))  # fmt: skip
    rows.append((
        "route search alone (shortest-path-tree calls)", ms(sc.ours_route), ms(sc.peer_route),
        ratio(sc.peer_route, sc.ours_route), "-", "-",
    ))  # fmt: skip
    print("\n".join(columns(rows, left={0})))
    if sc.rejected:
        print(f"   scipy comparison SKIPPED: the model rejects the scipy router ({sc.rejected})")
    else:
        print(
            f"   shortest-path-tree calls in one run: ours {sc.ours_route_calls}, scipy {sc.peer_route_calls}"
        )
        if sc.ours_route_calls != sc.peer_route_calls:
            print(
                "   (route search alone: n/a for ours, whose model grows most trees inside a fused Numba kernel "
                "rather than through routing.shortest_path_trees / Graph.trees; the model-alone ratio is the measure)"
            )
        print("   scipy-router run vs ours, Results tables: " + "; ".join(sc.tables))
    if old.tables is not None and new.tables is not None:
        print("   old vs new corridors.run tables: " + "; ".join(compare_tables(old.tables, new.tables)))
    print()
    print("\n".join(profile_lines))
    print()
    print(
        f"load average during the run (1 min, sampled between parts): {', '.join(f'{x:.2f}' for x in loads)}"
    )
    for what, met in results:
        if met is False:
            print(f"MISS: {what}")
    n_met = sum(met is True for _, met in results)
    n_measured = sum(met is not None for _, met in results)
    print(f"{n_met} of {n_measured} measured targets met ({len(results) - n_measured} skipped); "
          f"finished in {time.perf_counter() - started:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
