"""Speed of the agent-based model end to end, and against a scipy route-cost path.

1. ``corridors.run(seed=7)``: the baseline, 2019Q1-2035Q4 (68 quarterly steps), with a warm
   Numba cache and a warm process (one short run first), as the median of ``--repeats``
   runs; the same run split into ``CorridorModel`` construction, stepping and
   ``Results.from_model``; steps per second.
2. Where the time goes: one run under cProfile, each function's own time given to a part
   (Numba kernels, routing's Python wrappers, Mesa, agents, model, events, data loading,
   pandas and results). Time in numpy, builtins and the standard library goes to the part
   that called it. A second, unprofiled run times the route-cost path (every router call)
   and the kernels alone with ``time.perf_counter`` wrappers.
3. ``CorridorModel(router=scipy_router)``: the same run with ``scipy.sparse.csgraph.dijkstra``
   and numpy path folding (``benchmarks/scipy_router.py``) in place of ``corridors.routing``;
   the ratio ``scipy / ours`` of the model (construction and stepping); and whether the two
   runs give equal tables.

Targets (issue 4): a full run under 100 ms; at least 10x faster than the scipy path. A
missed target prints ``MISS``; the exit status is 0 all the same: this is a measurement.
Run ``python benchmarks/bench_model.py`` (``--quick`` for a rough reading).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable

import mesa
import numba
import numpy as np
import pandas as pd

import corridors
import scipy_router  # next to this script, which Python puts first on sys.path
from benchlib import columns, positive_int, version  # next to this script
from corridors import routing
from corridors.model import CorridorModel
from corridors.results import TABLES, Results

SEED = 7
END_YEAR = 2035
TARGET_RUN_S = 0.100
TARGET_RATIO = 10.0
KERNEL = re.compile(r"^_.*_kernel$")
TABLE_RTOL = 1e-9


# ----------------------------------------------------------------------------- timing


def sample(fn: Callable[[], object]) -> float:
    """Seconds of one call, after a full collection (the collector stays on: runs allocate)."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def split_run(router=None) -> tuple[float, float, float, CorridorModel, Results]:
    """Construction, stepping and Results building of one run, in seconds."""
    gc.collect()
    t0 = time.perf_counter()
    model = CorridorModel(rng=SEED, end_year=END_YEAR, router=router)
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    res = Results.from_model(model, meta={"seed": SEED})
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, model, res


def model_run(router=None) -> CorridorModel:
    model = CorridorModel(rng=SEED, end_year=END_YEAR, router=router)
    model.run()
    return model


def median(values: list[float]) -> float:
    return float(np.median(values))


# ------------------------------------------------------------------ where time goes

PARTS = (
    "Numba kernels (routing._*_kernel)",
    "routing's Python wrappers",
    "Mesa",
    "agents (corridors/agents.py)",
    "model (corridors/model.py)",
    "events (corridors/events.py)",
    "data loading (network, inputs, tables)",
    "results + pandas/pyarrow",
    "Numba runtime (set_num_threads)",
    "other (harness, unattributed)",
)
OTHER = PARTS[-1]


def part_of(func: tuple[str, int, str]) -> str | None:
    """The part a profiled function belongs to; None: numpy, builtins, stdlib (its caller's)."""
    filename, _, name = func
    path = filename.replace("\\", "/")
    if path.endswith("corridors/routing.py"):
        return PARTS[0] if KERNEL.match(name) else PARTS[1]
    if "/mesa/" in path:
        return PARTS[2]
    if path.endswith("corridors/agents.py"):
        return PARTS[3]
    if path.endswith(("corridors/model.py", "corridors/__init__.py")):
        return PARTS[4]
    if path.endswith("corridors/events.py"):
        return PARTS[5]
    if path.endswith(("corridors/network.py", "corridors/inputs.py", "corridors/tables.py")) or (
        path.endswith("corridors/parameters.py")
    ):
        return PARTS[6]
    if path.endswith("corridors/results.py") or "/pandas/" in path or "/pyarrow/" in path:
        return PARTS[7]
    if "/numba/" in path:
        return PARTS[8]
    if path.endswith(("bench_model.py", "cProfile.py")):
        return OTHER
    return None


def attribute(stats: pstats.Stats) -> dict[str, float]:
    """Own time per part; an unowned function's time goes to its callers' parts.

    The time a function spends when called from caller ``c`` (cProfile records it per
    caller) goes to ``c``'s part; when ``c`` is unowned too, it is split over ``c``'s own
    callers in proportion to the cumulative time each spent in ``c``.
    """
    raw = stats.stats  # func -> (cc, nc, tt, ct, callers{caller: (cc, nc, tt, ct)})
    memo: dict = {}

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
                owner = part_of(caller)
                if owner is not None:
                    out[owner] += w
                else:
                    for p, f in shares(caller, seen | {func}).items():
                        out[p] += w * f
        if func not in seen:
            memo[func] = out
        return out

    totals: dict[str, float] = defaultdict(float)
    for func, (_, _, tt, _, callers) in raw.items():
        owner = part_of(func)
        if owner is not None:
            totals[owner] += tt
            continue
        if not callers:
            totals[OTHER] += tt
            continue
        for caller, v in callers.items():
            owner = part_of(caller)
            if owner is not None:
                totals[owner] += v[2]
            else:
                for p, f in shares(caller, frozenset({func})).items():
                    totals[p] += v[2] * f
    return totals


def profile_run() -> tuple[pstats.Stats, float]:
    """One ``corridors.run`` under cProfile; its stats and its (inflated) wall time."""
    gc.collect()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    corridors.run(seed=SEED, end_year=END_YEAR)
    profiler.disable()
    return pstats.Stats(profiler), time.perf_counter() - start


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


class _Timers:
    """perf_counter wrappers around a router's entry points and routing's kernels (no profiler).

    ``router_s``: time inside ``router.assign`` (and ``routing.Graph.assign``, which the
    model uses with the default router) and ``pathset``'s ``sums``, ``mins`` and ``load``.
    Wrap before the model is built: it binds its router's ``assign`` when constructed. ``kernel_in_router_s``: Numba kernels called from those; ``kernel_other_s``:
    kernels called from elsewhere (the network's reachability check when it is loaded).
    """

    def __init__(self, router=routing, pathset=routing.PathSet) -> None:
        self.router, self.pathset = router, pathset
        self.router_s = self.kernel_in_router_s = self.kernel_other_s = 0.0
        self.router_calls = self.kernel_calls = 0
        self._depth = 0
        self._saved: list[tuple[object, str, object]] = []

    def _wrap(self, owner, name: str, kernel: bool) -> None:
        fn = getattr(owner, name)
        self._saved.append((owner, name, fn))

        def timed(*args, **kwargs):
            if not kernel:
                self._depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                if kernel:
                    self.kernel_calls += 1
                    if self._depth:
                        self.kernel_in_router_s += elapsed
                    else:
                        self.kernel_other_s += elapsed
                else:
                    self._depth -= 1
                    if not self._depth:  # PathSet methods called inside assign count once
                        self.router_s += elapsed
                    self.router_calls += 1

        setattr(owner, name, timed)

    def __enter__(self) -> _Timers:
        for name in dir(routing):
            if KERNEL.match(name) and isinstance(getattr(routing, name), numba.core.dispatcher.Dispatcher):
                self._wrap(routing, name, kernel=True)
        self._wrap(self.router, "assign", kernel=False)
        if self.router is routing and hasattr(routing, "Graph"):  # the model's prepared graph
            self._wrap(routing.Graph, "assign", kernel=False)
        for name in ("sums", "mins", "load"):
            self._wrap(self.pathset, name, kernel=False)
        return self

    def __exit__(self, *exc) -> None:
        for owner, name, fn in reversed(self._saved):
            setattr(owner, name, fn)


def timed_parts() -> tuple[float, _Timers]:
    """An unprofiled ``corridors.run`` with router calls and kernels timed; its wall time."""
    with _Timers() as timers:
        wall = sample(lambda: corridors.run(seed=SEED, end_year=END_YEAR))
    return wall, timers


def router_time(router, pathset) -> float:
    """Seconds inside the router's calls during one model run (construction and stepping)."""
    with _Timers(router, pathset) as timers:
        sample(lambda: model_run(router=None if router is routing else router))
    return timers.router_s


# ------------------------------------------------------------------ equal tables


def compare_tables(ours: Results, peer: Results) -> list[str]:
    """One line per table: equal (rtol 1e-9) or how it differs."""
    lines = []
    for name in TABLES:
        a, b = getattr(ours, name), getattr(peer, name)
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=TABLE_RTOL, atol=0.0)
        except AssertionError as exc:
            detail = str(exc).strip().splitlines()
            where = ""
            if a.shape == b.shape and "step" in a.columns:
                num = a.select_dtypes("number").columns
                diff = ~np.isclose(
                    a[num].to_numpy(float), b[num].to_numpy(float), rtol=TABLE_RTOL, equal_nan=True
                )
                rows = np.flatnonzero(diff.any(axis=1))
                if rows.size:
                    where = f"; first differing step {int(a['step'].iloc[rows[0]])}, {rows.size} rows differ"
            lines.append(f"{name}: DIFFER ({' '.join(detail[:2])}{where})")
        else:
            lines.append(f"{name}: equal (rtol {TABLE_RTOL:g})")
    return lines


# ------------------------------------------------------------------------------ output


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=positive_int, default=None, help="runs per median (default 7; 3 with --quick)"
    )
    parser.add_argument(
        "--scipy-repeats",
        type=positive_int,
        default=None,
        help="runs per median of the scipy comparison (default 3; 1 with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs (a rough reading)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    scipy_repeats = args.scipy_repeats or (1 if args.quick else 3)
    started = time.perf_counter()

    print(
        f"corridors model benchmark: corridors.run(seed={SEED}), 2019-{END_YEAR} quarterly; "
        f"median of {repeats} runs (scipy comparison: {scipy_repeats})"
    )
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"mesa {mesa.__version__}, pandas {pd.__version__}, scipy {version('scipy')}; "
        f"{os.cpu_count()} CPUs; the model runs its kernels on one Numba thread (routing.single_thread)"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(f"load average (1 min) at start: {load:.2f}")
    if load > 0.5:
        print(
            f"warning: load average {load:.2f} on {os.cpu_count()} CPUs: other processes are running; "
            "timings will be noisy and slower than on an idle machine"
        )

    # warm-up: Numba's cache, imports, pandas' and pyarrow's first-call paths
    routing.warmup()
    corridors.run(seed=SEED, end_year=2019)
    model_run(router=scipy_router)  # scipy's first calls too

    # the scipy router must give the same answers before its time means anything
    random_check = scipy_router.check_random(cases=10 if args.quick else 40)
    model_check = scipy_router.check_model_first_quarter(rng=SEED, end_year=END_YEAR)
    print(f"scipy router vs routing.assign, random networks: {random_check.summary()}")
    print(f"scipy router vs routing.assign, the model's first quarter: {model_check.summary()}")
    print()

    # 1. end to end, and split
    full, construct, step, build = [], [], [], []
    ours_res = None
    n_steps = 0
    for _ in range(repeats):
        full.append(sample(lambda: corridors.run(seed=SEED, end_year=END_YEAR)))
        c, s, b, model, ours_res = split_run()
        construct.append(c)
        step.append(s)
        build.append(b)
        n_steps = model.t
    t_full = median(full)
    t_construct, t_step, t_build = median(construct), median(step), median(build)
    t_model = median([c + s for c, s in zip(construct, step, strict=True)])

    # 3. scipy route-cost path, samples alternating with ours
    ours_m, peer_m = [], []
    peer_res = None
    for _ in range(scipy_repeats):
        c, s, _, _, _ = split_run()
        ours_m.append(c + s)
        c, s, _, _, peer_res = split_run(router=scipy_router)
        peer_m.append(c + s)
    t_ours_m, t_peer_m = median(ours_m), median(peer_m)
    ratio = t_peer_m / t_ours_m
    # the route-cost path alone: time inside the router's calls, one instrumented run each
    ours_r, peer_r = [], []
    for _ in range(scipy_repeats):
        ours_r.append(router_time(routing, routing.PathSet))
        peer_r.append(router_time(scipy_router, scipy_router.ScipyPathSet))
    t_ours_r, t_peer_r = median(ours_r), median(peer_r)

    # 2. where the time goes
    stats, profiled_s = profile_run()
    parts = attribute(stats)
    timed_wall, timers = timed_parts()

    status_run = "PASS" if t_full < TARGET_RUN_S else "MISS"
    status_ratio = "PASS" if ratio >= TARGET_RATIO else "MISS"
    table = [
        ("measure", "value", "target", "result"),
        (
            f"corridors.run(seed={SEED}) end to end, {n_steps} steps",
            f"{ms(t_full)} ms",
            "< 100 ms",
            status_run,
        ),
        ("  CorridorModel construction", f"{ms(t_construct)} ms", "-", "-"),
        ("  model.run() (stepping)", f"{ms(t_step)} ms", "-", "-"),
        ("  Results.from_model", f"{ms(t_build)} ms", "-", "-"),
        ("  model alone (construction + stepping)", f"{ms(t_model)} ms", "-", "-"),
        ("steps per second, stepping only", f"{n_steps / t_step:.0f}", "-", "-"),
        ("steps per second, end to end", f"{n_steps / t_full:.0f}", "-", "-"),
        ("model alone, ours (alternating with scipy)", f"{ms(t_ours_m)} ms", "-", "-"),
        ("model alone, scipy route-cost path", f"{ms(t_peer_m)} ms", "-", "-"),
        ("scipy / ours (model alone)", f"{ratio:.2f}x", f">= {TARGET_RATIO:g}x", status_ratio),
        ("route-cost path alone (router calls), ours", f"{ms(t_ours_r)} ms", "-", "-"),
        ("route-cost path alone, scipy", f"{ms(t_peer_r)} ms", "-", "-"),
        ("scipy / ours (route-cost path alone)", f"{t_peer_r / t_ours_r:.2f}x", "-", "-"),
    ]
    print("\n".join(columns(table, left={0})))
    spread = f"{ms(min(full))}-{ms(max(full))} ms"
    print(f"(end-to-end runs ranged {spread}; load average now {os.getloadavg()[0]:.2f})")
    print()

    total = sum(parts.values())
    rows = [("part", "ms (profiled)", "share")]
    for p in PARTS:
        if parts.get(p, 0.0) > 0:
            rows.append((p, ms(parts[p]), f"{parts[p] / total:.1%}"))
    print(
        f"time split of one corridors.run under cProfile ({ms(profiled_s)} ms with the profiler's "
        f"overhead, which inflates Python-heavy parts; numpy, builtins and stdlib time goes to the caller's part):"
    )
    print("\n".join(columns(rows, left={0}, indent="  ")))
    print()
    in_router = timers.kernel_in_router_s
    print(
        f"unprofiled run with perf_counter wrappers ({ms(timed_wall)} ms): route-cost path "
        f"(routing.assign, Graph.assign, PathSet.sums/mins/load: {timers.router_calls} calls) {ms(timers.router_s)} ms "
        f"= {timers.router_s / timed_wall:.1%}, of which Numba kernels {ms(in_router)} ms = "
        f"{in_router / timed_wall:.1%} and Python wrappers {ms(timers.router_s - in_router)} ms = "
        f"{(timers.router_s - in_router) / timed_wall:.1%}; kernels outside the router (the network's "
        f"reachability check on load) {ms(timers.kernel_other_s)} ms = {timers.kernel_other_s / timed_wall:.1%}"
    )
    print()
    print("functions with the most own time (profiled):")
    print(
        "\n".join(columns([("function", "calls", "own ms", "cum ms"), *top_functions(stats, 15)], {0}, "  "))
    )
    print()

    print("scipy-router run vs ours, Results tables:")
    for line in compare_tables(ours_res, peer_res):
        print(f"  {line}")
    print()
    for status, text in ((status_run, f"full run {ms(t_full)} ms, target < {TARGET_RUN_S * 1e3:g} ms"),
                         (status_ratio, f"{ratio:.2f}x the scipy path, target >= {TARGET_RATIO:g}x")):  # fmt: skip
        if status == "MISS":
            print(f"MISS: {text}")
    met = (status_run == "PASS") + (status_ratio == "PASS")
    print(f"{met} of 2 targets met; finished in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
