"""Speed of ensembles: 1 and 2 local worker processes, the old version's 2, and Dask, in one run.

1. ``corridors.run_ensemble`` of the baseline (2019-2035, seed 7, ``--replicates``
   replicates, default 1000) on 1 local worker process and on 2, this version: wall time
   (worker start-up and the merge of the tables included), runs per second, and the
   speed-up from 1 to 2 workers.
2. The old version's (commit 5122682) ensemble on 2 local workers, in the same run: a
   temporary ``git worktree`` imported by a worker process (``PYTHONPATH=<worktree>/src``),
   whose ensemble's worker processes inherit that path. Its Numba cache is compiled first
   (not timed). The ratio old / new is measured here, not stored.
3. The same ensemble on a Dask ``LocalCluster`` of 2 single-threaded workers (started
   beforehand; its start-up time is printed apart): Dask's overhead per run against the
   2 local processes.
4. One run in this process (the median of 3, warm), the floor of a serial ensemble.

This version's ensembles must give identical tables (checked) and no failed runs. Targets
(issue 13): with 2 workers at least 4x faster than the old version and 60 s or less for 1000
replicates; a speed-up of at least 1.8x from 1 to 2 workers. A missed target prints ``MISS``;
the exit status is 0 all the same: this is a measurement. ``--quick`` runs every part with
20 replicates (a rough reading; the 60 s target is then extrapolated).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
import pandas as pd

import corridors
from benchlib import (  # next to this script
    OLD_COMMIT,
    Worker,
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
    version,
)
from corridors import routing
from corridors.experiments.executors import Execution, loopback_cluster

SEED = 7
END_YEAR = 2035
TARGET_S = 60.0  # 1000 replicates, 2 workers, new
TARGET_OLD_RATIO = 4.0  # old / new, 2 workers
TARGET_SPEEDUP = 1.8  # 1 -> 2 workers, new
FULL = 1000


def timed_ensemble(replicates: int, execution: Execution) -> tuple[float, corridors.EnsembleResults]:
    t0 = time.perf_counter()
    ens = corridors.run_ensemble(
        "baseline", replicates=replicates, seed=SEED, end_year=END_YEAR, execution=execution
    )
    return time.perf_counter() - t0, ens


def same_tables(a: corridors.EnsembleResults, b: corridors.EnsembleResults) -> bool:
    try:
        for name in ("corridors", "observables", "outcomes"):
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    except AssertionError:
        return False
    return True


def old_ensemble(n: int, warm: bool) -> tuple[dict | None, str]:
    """The old version's ensemble on 2 local workers: ``({"seconds", "failures"}, "")`` or
    ``(None, why it was skipped)``. ``warm``: an untimed ensemble of 2 replicates first."""
    with old_worktree() as (tree, why):
        if tree is None:
            return None, why
        print(f"old version: {tree.describe()}")
        with Worker(tree.label, tree.src) as worker:
            t0 = time.perf_counter()
            progress("old: warming its Numba cache (the first time it compiles: about 20-60 s) ...")
            worker.call("warmup", seed=SEED, end_year=END_YEAR)
            progress(f"old: warm after {time.perf_counter() - t0:.0f} s")
            if warm:
                worker.call("ensemble", replicates=2, workers=2, seed=SEED, end_year=END_YEAR)
            out = worker.call("ensemble", replicates=n, workers=2, seed=SEED, end_year=END_YEAR)
        return out, ""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="20 replicates (a rough reading of every part; for CI)"
    )
    parser.add_argument("--replicates", type=positive_int, default=None, help="replicates (default 1000; 20 with --quick)")  # fmt: skip
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask comparison")
    parser.add_argument("--no-old", action="store_true", help=f"skip the old version ({OLD_COMMIT})")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    n = args.replicates or (20 if args.quick else FULL)
    exit_on_sigterm()
    started = time.perf_counter()

    print(
        f"corridors ensemble benchmark{' (--quick: a rough reading)' if args.quick else ''}: "
        f"{n} replicates of the baseline, 2019-{END_YEAR}, seed {SEED}"
    )
    print(f"new version: {revision(new_src())} ({new_src()})")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"dask {version('dask')}, distributed {version('distributed')}; {os.cpu_count()} CPUs"
    )
    loads = [print_load("at start")]

    routing.warmup()
    corridors.run(seed=SEED, end_year=2019)
    singles = []
    for _ in range(3):
        t0 = time.perf_counter()
        corridors.run(seed=SEED, end_year=END_YEAR)
        singles.append(time.perf_counter() - t0)
    single = statistics.median(singles)
    print(f"one run in this process: {single:.3f} s (median of 3): a serial floor of {n * single:.0f} s")
    print(flush=True)

    if not args.quick:  # the worker processes' first start (file caches), not timed
        timed_ensemble(2, Execution(workers=2, executor="local"))
    t1, ens1 = timed_ensemble(n, Execution(workers=1, executor="local"))
    progress(f"new, local, 1 worker:  {t1:7.1f} s")
    t2, ens2 = timed_ensemble(n, Execution(workers=2, executor="local"))
    progress(f"new, local, 2 workers: {t2:7.1f} s")
    loads.append(load_average()[0])
    rows = [
        ("new: local processes, 1 worker", t1, ens1),
        ("new: local processes, 2 workers", t2, ens2),
    ]
    old, old_why = (None, "--no-old") if args.no_old else old_ensemble(n, warm=not args.quick)
    if old is not None:
        progress(f"old, local, 2 workers: {old['seconds']:7.1f} s")
        loads.append(load_average()[0])
    else:
        print(f"old version: comparison with {OLD_COMMIT} SKIPPED: {old_why}")
    dask_start = None
    if not args.no_dask:
        t0 = time.perf_counter()
        cluster = loopback_cluster(2)
        dask_start = time.perf_counter() - t0
        try:
            td, ensd = timed_ensemble(n, Execution(scheduler=cluster.scheduler_address))
        finally:
            cluster.close()
        progress(f"new, dask, 2 workers:  {td:7.1f} s (+ {dask_start:.1f} s to start the cluster)")
        rows.append(("new: dask LocalCluster, 2 workers", td, ensd))
        loads.append(load_average()[0])

    print()
    table = [("executor", "wall s", "runs/s", "s/run", "speed-up", "failed runs", "same tables")]
    for label, t, ens in rows:
        table.append((label, f"{t:.1f}", f"{n / t:.2f}", f"{t / n:.3f}", f"{t1 / t:.2f}x", str(len(ens.failures)),
                      "yes" if same_tables(ens1, ens) else "NO"))  # fmt: skip
    if old is not None:
        s = old["seconds"]
        table.append((f"old {OLD_COMMIT}: local processes, 2 workers", f"{s:.1f}", f"{n / s:.2f}", f"{s / n:.3f}",
                      "-", str(old["failures"]), "-"))  # fmt: skip
    print("\n".join(columns(table, left={0})))
    broken = False
    for label, _, ens in rows:
        if not ens.failures.empty:
            first = ens.failures.iloc[0]
            print(f"  {label}: {len(ens.failures)} runs failed, e.g. {first['error']}: {first['message']}")
            broken = True
        if not same_tables(ens1, ens):
            print(f"  {label}: tables differ from the 1-worker ensemble's")
            broken = True
    print()

    speedup = t1 / t2
    full = t2 * FULL / n
    extrapolated = "" if n == FULL else f" (extrapolated from {n})"
    met = []
    met.append(full <= TARGET_S)
    print(f"target: {FULL} replicates in {TARGET_S:.0f} s or less with 2 workers: {full:.0f} s{extrapolated} {status(met[-1])}")  # fmt: skip
    met.append(speedup >= TARGET_SPEEDUP)
    print(f"target: speed-up >= {TARGET_SPEEDUP}x from 1 to 2 workers: {speedup:.2f}x {status(met[-1])}")
    if old is not None:
        old_ratio = old["seconds"] / t2
        met.append(old_ratio >= TARGET_OLD_RATIO)
        print(f"target: 2 workers at least {TARGET_OLD_RATIO:g}x faster than old {OLD_COMMIT}: {old_ratio:.2f}x {status(met[-1])}")  # fmt: skip
    else:
        print(f"target: 2 workers at least {TARGET_OLD_RATIO:g}x faster than old: SKIP ({old_why})")
    print(f"parallel efficiency with 2 workers: {speedup / 2:.0%}; the serial floor would be {n * single / 2:.0f} s "
          "on 2 perfectly used cores")  # fmt: skip
    if dask_start is not None:
        overhead = (rows[2][1] - t2) / n
        print(f"Dask overhead per run against 2 local processes: {overhead * 1000:+.1f} ms "
              f"({overhead / (t2 / n):+.1%} of a run's wall share); cluster start-up {dask_start:.1f} s")  # fmt: skip
    print(
        f"load average during the run (1 min, sampled between parts): {', '.join(f'{x:.2f}' for x in loads)}"
    )
    print(f"{sum(met)} of {len(met)} measured targets met; finished in {time.perf_counter() - started:.0f} s")
    if broken:
        print("ERROR: failed runs or differing tables (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
