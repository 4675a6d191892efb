"""Helpers shared by the benchmark scripts.

- table layout, argument types, versions, the machine's load;
- the old revision: :func:`old_worktree` checks out commit :data:`OLD_COMMIT` (the model
  before issue 13's rewrite) into a temporary ``git worktree`` and removes it afterwards;
- :class:`Worker`: a Python process of the same interpreter that imports ``corridors`` from
  a given ``src`` directory (``PYTHONPATH``), so that the old and the new version run side by
  side in one benchmark. It answers commands (:data:`COMMANDS`: runs, tuner updates,
  memory, ensembles) sent as JSON lines and replies with the measurements.

This module imports only the standard library at import time: the worker process imports
``corridors`` (whichever its ``PYTHONPATH`` holds) when a command needs it.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "BENCH_DIR",
    "COMMANDS",
    "OLD_COMMIT",
    "OLD_TREE_ENV",
    "REPO",
    "OldTree",
    "Worker",
    "WorkerError",
    "columns",
    "exit_on_sigterm",
    "lever_settings",
    "load_average",
    "new_src",
    "old_worktree",
    "positive_int",
    "print_load",
    "progress",
    "revision",
    "serve",
    "status",
    "version",
]

OLD_COMMIT = "5122682"  # the revision before issue 13's rewrite of the model core
BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
OLD_TREE_ENV = "CORRIDORS_BENCH_OLD_TREE"  # a shared worktree of OLD_COMMIT (run_benchmarks.py)
LOAD_WARNING = 0.5  # 1-minute load average above which timings are flagged as noisy


# ------------------------------------------------------------------------- output


def columns(table: list[tuple[str, ...]], left: set[int], indent: str = "") -> list[str]:
    """Lines of ``table`` (header first) in aligned columns; ``left`` columns are left-aligned."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]

    def line(row: tuple[str, ...]) -> str:
        cells = (
            v.ljust(w) if i in left else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        return (indent + "  ".join(cells)).rstrip()

    return [line(table[0]), indent + "  ".join("-" * w for w in widths), *map(line, table[1:])]


def status(met: bool | None) -> str:
    """``ok``, ``MISS``, or ``SKIP`` (``None``: not measured)."""
    return "SKIP" if met is None else ("ok" if met else "MISS")


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def version(name: str) -> str:
    """The installed version of a distribution, or "not installed"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (zeros where the OS has none)."""
    return os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)


def print_load(when: str = "at start") -> float:
    """Print the load averages (and a warning when the machine is busy); the 1-minute one."""
    one, five, fifteen = load_average()
    print(f"load average {when}: {one:.2f} (1 min), {five:.2f} (5 min), {fifteen:.2f} (15 min)")
    if one > LOAD_WARNING:
        print(
            f"warning: load average {one:.2f} on {os.cpu_count()} CPUs: other processes are running; "
            "timings will be noisy and slower than on an idle machine"
        )
    return one


_STARTED = time.perf_counter()


def progress(message: str) -> None:
    """Print ``message`` with the seconds since this module was imported, at once."""
    print(f"[{time.perf_counter() - _STARTED:4.0f} s] {message}", flush=True)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit`` so that ``finally`` blocks (worktree removal) run."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


# ------------------------------------------------------------------------ revisions


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)


def new_src() -> Path:
    """The ``src`` directory of the ``corridors`` this process imports (the new version)."""
    spec = importlib.util.find_spec("corridors")
    if spec is None or spec.origin is None:
        raise RuntimeError("corridors is not importable: run `make install` first")
    return Path(spec.origin).resolve().parents[1]


def revision(src: Path) -> str:
    """``git log --oneline -1`` of the tree holding ``src``, and whether ``src`` has changes."""
    if shutil.which("git") is None:
        return "unknown revision (no git)"
    top = subprocess.run(["git", "-C", str(src), "log", "--oneline", "-1"], capture_output=True, text=True)
    if top.returncode:
        return "unknown revision (not a git tree)"
    dirty = subprocess.run(
        ["git", "-C", str(src), "status", "--porcelain", "--", "."], capture_output=True, text=True
    ).stdout.strip()
    return top.stdout.strip() + (" + uncommitted changes in src/" if dirty else "")


def old_revision_missing(commit: str = OLD_COMMIT) -> str | None:
    """Why the old revision cannot be checked out here, or None if it can."""
    if shutil.which("git") is None:
        return "git is not installed"
    if _git("rev-parse", "--is-inside-work-tree").returncode:
        return f"{REPO} is not a git work tree"
    if _git("cat-file", "-e", f"{commit}^{{commit}}").returncode:
        shallow = _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        how = " (a shallow clone: `git fetch --unshallow` fetches it)" if shallow else ""
        return f"commit {commit} is not in this clone's history{how}"
    return None


@dataclass(frozen=True)
class OldTree:
    """A temporary worktree of the old revision."""

    path: Path
    commit: str  # the full hash
    shared: bool = False  # made by a caller (OLD_TREE_ENV), not removed here

    def describe(self) -> str:
        where = "a shared worktree, removed by its creator" if self.shared else "removed at the end"
        return f"{self.commit[:10]} checked out into {self.path} ({where})"

    @property
    def src(self) -> Path:
        return self.path / "src"

    @property
    def label(self) -> str:
        return f"old ({self.commit[:7]})"


@contextmanager
def old_worktree(commit: str = OLD_COMMIT) -> Iterator[tuple[OldTree | None, str]]:
    """``(tree, "")`` for a temporary ``git worktree`` of ``commit``, or ``(None, why not)``.

    The worktree (and its Numba cache in ``src/corridors/__pycache__``) is removed on exit,
    also when the block raises or the process gets SIGTERM (see :func:`exit_on_sigterm`).

    If the environment variable :data:`OLD_TREE_ENV` names a worktree of ``commit`` (as
    ``run_benchmarks.py`` sets it, to compile the old Numba cache once for all scripts),
    that one is used and left in place: its creator removes it.
    """
    shared = os.environ.get(OLD_TREE_ENV)
    if shared:
        path = Path(shared)
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True)
        full = _git("rev-parse", f"{commit}^{{commit}}").stdout.strip()
        if not head.returncode and full and head.stdout.strip() == full:
            yield OldTree(path, full, shared=True), ""
            return
        print(f"warning: {OLD_TREE_ENV}={shared} is not a worktree of {commit}; making one")
    why = old_revision_missing(commit)
    if why is not None:
        yield None, why
        return
    tmp = Path(tempfile.mkdtemp(prefix="corridors-bench-old-"))
    path = tmp / "old"
    try:
        added = _git("worktree", "add", "--detach", "--quiet", str(path), commit)
        full = _git("rev-parse", f"{commit}^{{commit}}").stdout.strip()
        if added.returncode:
            yield None, f"`git worktree add` failed: {added.stderr.strip()}"
        else:
            yield OldTree(path, full), ""
    finally:
        if path.exists() and _git("worktree", "remove", "--force", str(path)).returncode:
            shutil.rmtree(path, ignore_errors=True)
            _git("worktree", "prune")
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------- workers


class WorkerError(RuntimeError):
    """A worker process failed a command or died."""


class Worker:
    """A process of this interpreter importing ``corridors`` from ``src``; runs :data:`COMMANDS`.

    ``call(cmd, **args)`` sends a command and waits for its result; ``send`` and
    ``receive`` split the two (to let a slow warm-up run while this process works). The
    worker checks at start that ``corridors.__file__`` is inside ``src``.
    """

    def __init__(self, label: str, src: Path) -> None:
        self.label = label
        self.src = Path(src).resolve()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(self.src), str(BENCH_DIR)])}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import benchlib; benchlib.serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=BENCH_DIR,
        )
        self._pending: list[str] = []
        try:
            self.info = self.call("hello", expect=str(self.src))
            if not Path(self.info["file"]).resolve().is_relative_to(self.src):
                raise WorkerError(
                    f"{label} worker imported corridors from {self.info['file']}, not from {self.src}"
                )
        except BaseException:
            self.close()
            raise

    def send(self, cmd: str, **args: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, "args": args}) + "\n")
        self.proc.stdin.flush()
        self._pending.append(cmd)

    def receive(self) -> Any:
        assert self.proc.stdout is not None
        cmd = self._pending[0]
        line = self.proc.stdout.readline()
        self._pending.pop(0)  # only now: interrupted before, the worker is still busy
        if not line:
            raise WorkerError(f"{self.label} worker died during {cmd!r} (exit status {self.proc.wait()})")
        reply = json.loads(line)
        if not reply["ok"]:
            raise WorkerError(f"{self.label} worker failed {cmd!r}:\n{reply['error']}")
        return reply["result"]

    def call(self, cmd: str, **args: Any) -> Any:
        self.send(cmd, **args)
        return self.receive()

    def close(self) -> None:
        """Ask an idle worker to quit; stop a busy one (an error or SIGTERM mid-command)."""
        if self.proc.poll() is None:
            try:
                if self._pending:
                    raise OSError("busy")
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------ commands (worker side)


def _timed(fn: Callable[[], object]) -> float:
    """Seconds of one call after a full collection (the collector stays on: runs allocate)."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _hello(expect: str) -> dict:
    """Versions, and a check that ``corridors`` was imported from inside ``expect``."""
    import numba
    import numpy

    import corridors

    if not Path(corridors.__file__).resolve().is_relative_to(Path(expect).resolve()):
        raise RuntimeError(f"corridors was imported from {corridors.__file__}, not from inside {expect}")
    return {
        "file": corridors.__file__,
        "version": corridors.__version__,
        "numba": numba.__version__,
        "numpy": numpy.__version__,
        "python": sys.version.split()[0],
    }


def _warmup(seed: int, end_year: int) -> float:
    """Numba's cache (compiling into it the first time) and one run, which is returned."""
    import corridors
    from corridors import routing

    routing.warmup()
    return _timed(lambda: corridors.run(seed=seed, end_year=end_year))


def _runs(n: int, seed: int, end_year: int) -> list[float]:
    import corridors

    return [_timed(lambda: corridors.run(seed=seed, end_year=end_year)) for _ in range(n)]


def _split(seed: int, end_year: int) -> list[float]:
    """``CorridorModel`` construction, ``model.run()`` and building its ``Results`` (``from_record``;
    ``from_model`` in revisions before the run record)."""
    from corridors.model import CorridorModel
    from corridors.results import Results

    gc.collect()
    t0 = time.perf_counter()
    model = CorridorModel(rng=seed, end_year=end_year)
    t1 = time.perf_counter()
    record = model.run()
    t2 = time.perf_counter()
    if hasattr(Results, "from_record"):
        Results.from_record(record, meta={"seed": seed})
    else:  # the old revision
        Results.from_model(model, meta={"seed": seed})
    t3 = time.perf_counter()
    return [t1 - t0, t2 - t1, t3 - t2]


def _tables(seed: int, end_year: int, path: str) -> list[str]:
    """Pickle one run's result tables to ``path`` (to compare old and new); their names."""
    import pickle

    import corridors
    from corridors.results import TABLES

    res = corridors.run(seed=seed, end_year=end_year)
    with open(path, "wb") as f:
        pickle.dump({name: getattr(res, name) for name in TABLES}, f)
    return list(TABLES)


_TUNER: dict[str, Any] = {}


def _tuner_init(scenario: str, end_year: int) -> dict:
    """Build the :class:`Tuner` (its reference run and figure); say what an update times."""
    import inspect

    from corridors.tuning import Tuner

    start = time.perf_counter()
    _TUNER["tuner"] = tuner = Tuner(scenario, end_year=end_year)
    seconds = time.perf_counter() - start
    draw = "draw" in inspect.signature(tuner.update).parameters
    _TUNER["no_draw"] = draw
    return {"seconds": seconds, "timed": "Tuner.update(draw=False, ...)" if draw else "Tuner.run(...)"}


def _tuner_run(values: dict) -> float:
    """Seconds of the run part of one update: ``update(draw=False)`` if offered, else ``run``."""
    tuner = _TUNER["tuner"]
    if _TUNER["no_draw"]:
        return _timed(lambda: tuner.update(draw=False, **values))
    return _timed(lambda: tuner.run(**values))


def _tuner_update(values: dict) -> float:
    """Seconds of a whole ``Tuner.update`` (run and redraw), as the notebook's slider calls it."""
    tuner = _TUNER["tuner"]
    return _timed(lambda: tuner.update(**values))


def _proc_status_bytes(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _memory(seed: int, end_year: int) -> dict:
    """Memory of one warm run, in a fresh worker (call it first).

    After ``routing.warmup()`` and one untraced warm-up run: the process's RSS high-water
    mark so far (``VmHWM``: imports, Numba's cache, the warm-up run), then the RSS
    high-water mark of one more run (``/proc/self/clear_refs`` resets it first) and the RSS
    before it; then ``tracemalloc``: one traced warm-up run, ``reset_peak()``, the measured
    run's peak and the traced memory before it. ``ru_maxrss`` is reported too, but Linux
    carries a parent's high-water mark into a child across fork and exec, so it often shows
    the benchmarking process's size instead of the worker's.
    """
    import resource
    import tracemalloc

    import corridors
    from corridors import routing

    routing.warmup()
    run = lambda: corridors.run(seed=seed, end_year=end_year)  # noqa: E731
    run()
    gc.collect()
    out: dict[str, Any] = {
        "hwm_process": _proc_status_bytes("VmHWM"),
        "rss_before": _proc_status_bytes("VmRSS"),
    }
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    run()
    out["rss_peak"] = _proc_status_bytes("VmHWM") if reset else None
    tracemalloc.start()
    run()
    gc.collect()
    tracemalloc.reset_peak()
    out["traced_before"] = tracemalloc.get_traced_memory()[0]
    run()
    out["traced_peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    out["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    return out


def _ensemble(replicates: int, workers: int, seed: int, end_year: int) -> dict:
    """Wall seconds of ``run_ensemble`` of the baseline on ``workers`` local processes."""
    import corridors

    start = time.perf_counter()
    ens = corridors.run_ensemble(
        "baseline", replicates=replicates, seed=seed, end_year=end_year, workers=workers, executor="local"
    )
    return {"seconds": time.perf_counter() - start, "failures": len(ens.failures)}


COMMANDS: dict[str, Callable[..., Any]] = {
    "hello": _hello,
    "warmup": _warmup,
    "runs": _runs,
    "split": _split,
    "tables": _tables,
    "tuner_init": _tuner_init,
    "tuner_run": _tuner_run,
    "tuner_update": _tuner_update,
    "memory": _memory,
    "ensemble": _ensemble,
}


def serve() -> None:
    """The worker's loop: one JSON command per line on stdin, one JSON reply per line.

    Replies go to the original stdout; anything else printed (by corridors, warnings) goes
    to stderr, so it cannot corrupt the replies.
    """
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "quit":
            break
        try:
            reply = {"ok": True, "result": COMMANDS[request["cmd"]](**request.get("args", {}))}
        except Exception:
            reply = {"ok": False, "error": traceback.format_exc()}
        replies.write(json.dumps(reply) + "\n")
    replies.close()


# ------------------------------------------------------------------ shared inputs


def lever_settings(n: int) -> list[dict[str, float]]:
    """``n`` slider moves for the tuner benchmark: each changes one lever to a new value.

    The same sequence for the old and the new version; values lie inside the levers' ranges.
    """
    moves = [
        ("russia_premium_usd_per_t", lambda i: 40.0 + 5.0 * (i % 30)),
        ("caspian_capacity_factor", lambda i: 1.5 + 0.1 * (i % 20)),
        ("cost_elasticity", lambda i: 2.0 + 0.25 * (i % 30)),
        ("alignment_west_shift", lambda i: 0.05 * ((i % 10) - 5)),
        ("sea_rate_factor", lambda i: 1.1 + 0.05 * (i % 20)),
        ("russia_avoidance_share", lambda i: 0.05 * (i % 20)),
    ]
    return [{moves[i % len(moves)][0]: moves[i % len(moves)][1](i)} for i in range(n)]
