"""End to end: ``corridors run baseline --out DIR`` in a fresh process, plots included.

What a user waits for at the command line: starting Python, importing the package, loading
the Numba kernels from their cache, the run, writing the tables and drawing the five PNG
figures. Each sample is a new process of this interpreter (``python -m corridors run
baseline --out <tmp>/<n>``, working directory an empty temporary folder), timed with
``time.perf_counter`` around it (wall) and ``resource.getrusage(RUSAGE_CHILDREN)`` (its CPU
time, user + system, which a loaded machine inflates less than the wall time).

This version (the ``corridors`` this Python imports) runs against commit 8ddd2cd (before
issue 18's speed work: the CLI imported everything at start, four figures used constrained
layout), checked out into a temporary ``git worktree`` and run with
``PYTHONPATH=<worktree>/src``. Each side's Numba cache is warmed first (``corridors
warmup``, then one untimed run), and the samples alternate old, new, new, old, ... so that
drift of the machine affects both.

It prints the medians, old/new, and the issue's figures: 6.3 s measured before the work
(issue 18) and the target of 2.5 s or less (``ok``/``MISS`` on this version's median wall
time). A missed target exits 0 all the same: this is a measurement. A run that fails (exit
status not 0, or a PNG missing) exits 1. ``--quick`` (CI): one sample per side, nothing
judged beyond printing.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import (  # next to this script
    OLD_TREE_ENV,
    columns,
    exit_on_sigterm,
    load_average,
    new_src,
    old_worktree,
    positive_int,
    print_load,
    progress,
    revision,
    status,
)

OLD = "8ddd2cd"  # before issue 18's speed work (lazy CLI imports, fixed figure layouts)
ISSUE_S = 6.3  # `corridors run baseline` end to end, as issue 18 measured it
TARGET_S = 2.5  # issue 18, item 5
PNGS = ("volumes.png", "country_shares.png", "dependence.png", "bottlenecks.png", "flow_map.png")


@dataclass
class Side:
    """One version's command and samples."""

    label: str
    src: Path
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.src)}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "corridors", *args]


def run_once(side: Side, out: Path, cwd: Path) -> tuple[float, float]:
    """Run ``corridors run baseline --out out`` once; (wall, CPU) seconds. Fails loudly."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        side.command("run", "baseline", "--out", str(out)),
        env=side.env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{side.label}: `corridors run baseline` exited {done.returncode}:\n{done.stderr}")
    missing = [p for p in PNGS if not (out / p).is_file()]
    if missing:
        raise SystemExit(f"{side.label}: the run directory lacks {', '.join(missing)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def warm(side: Side, tmp: Path) -> None:
    """Fill the side's Numba cache (``corridors warmup``) and run once untimed."""
    done = subprocess.run(side.command("warmup"), env=side.env(), cwd=tmp, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{side.label}: `corridors warmup` exited {done.returncode}:\n{done.stderr}")
    run_once(side, tmp / f"warm-{side.label.split()[0]}", tmp)


def seconds(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s" if values else "n/a"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one sample per side (for CI; a rough reading)")
    parser.add_argument("--repeats", type=positive_int, default=None, help="samples per side (default 7; 1 with --quick)")  # fmt: skip
    parser.add_argument("--no-old", action="store_true", help=f"time this version alone, not {OLD}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 7)
    exit_on_sigterm()
    started = time.perf_counter()
    src = new_src()
    print(
        f"corridors run baseline end to end{' (--quick: a rough reading)' if args.quick else ''}: "
        f"a fresh process per sample, plots included, warm Numba cache; median of {repeats} per version"
    )
    print(f"new version: {revision(src)} ({src})")
    print(f"python {platform.python_version()}; {os.cpu_count()} CPUs")
    loads = [print_load("at start")]
    os.environ.pop(OLD_TREE_ENV, None)  # a shared worktree (run_benchmarks.py) is of another commit
    tmp = Path(tempfile.mkdtemp(prefix="corridors-bench-cli-"))
    new = Side("new", src)
    old: Side | None = None
    try:
        with old_worktree(OLD) as (tree, why):
            if args.no_old:
                print(f"old version: not measured (--no-old); {OLD} SKIPPED")
            elif tree is None:
                print(f"old version: comparison with {OLD} SKIPPED: {why}")
            else:
                print(f"old version: {tree.describe()}")
                old = Side(f"old ({OLD})", tree.src)
            sides = [s for s in (old, new) if s is not None]
            for side in sides:
                progress(f"{side.label}: warming the Numba cache (the old worktree compiles its own) ...")
                warm(side, tmp)
            progress(f"timing: {repeats} runs per version, alternating ...")
            for i in range(repeats):
                for side in sides if i % 2 == 0 else sides[::-1]:
                    wall, cpu = run_once(side, tmp / f"{side.label.split()[0]}-{i}", tmp)
                    side.wall.append(wall)
                    side.cpu.append(cpu)
                    loads.append(load_average()[0])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    t_new = statistics.median(new.wall)
    t_old = statistics.median(old.wall) if old else None
    cpu_old = statistics.median(old.cpu) if old else None
    cpu_new = statistics.median(new.cpu)
    print()
    rows = [("corridors run baseline --out DIR", f"old {OLD}", "new", "old/new")]
    rows.append((f"wall, median of {repeats}", seconds(old.wall) if old else "n/a", seconds(new.wall),
                 f"{t_old / t_new:.2f}x" if t_old else "n/a"))  # fmt: skip
    rows.append((f"CPU (user + system), median of {repeats}", seconds(old.cpu) if old else "n/a",
                 seconds(new.cpu), f"{cpu_old / cpu_new:.2f}x" if cpu_old else "n/a"))  # fmt: skip
    rows.append(("wall, range", f"{min(old.wall):.2f}-{max(old.wall):.2f} s" if old else "n/a",
                 f"{min(new.wall):.2f}-{max(new.wall):.2f} s", "-"))  # fmt: skip
    print("\n".join(columns(rows, left={0})))
    print()
    print(
        f"issue 18: {ISSUE_S:g} s before the work; this version {t_new:.2f} s wall = {ISSUE_S / t_new:.2f}x "
        f"faster than that figure ({cpu_new:.2f} s CPU)"
    )
    met = t_new <= TARGET_S
    print(f"target: {TARGET_S:g} s or less end to end: {status(met)} ({t_new:.2f} s wall, median)")
    one, five, fifteen = load_average()
    print(
        f"load average during the samples (1 min): {min(loads):.2f}-{max(loads):.2f}; at the end "
        f"{one:.2f} (1 min), {five:.2f} (5 min), {fifteen:.2f} (15 min). On a loaded machine the wall "
        "time exceeds the CPU time; the target is meant for an idle one."
    )
    if not met:
        print("MISS: corridors run baseline end to end")
    print(f"finished in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
