"""Speed of ensembles: local worker processes (1 and 2) and Dask, measured in the same run.

1. ``corridors.run_ensemble`` of the baseline (2019-2035, ``--replicates`` replicates,
   default 1000) on 1 local worker process and on 2: wall time (worker start-up and the
   merge of the tables included), runs per second, and the speed-up from 1 to 2 workers.
2. The same ensemble on a Dask ``LocalCluster`` of 2 single-threaded workers (started
   beforehand; its start-up time is printed apart): Dask's overhead per run against the
   2 local processes.
3. One run in this process (the median of 3, warm), the floor of a serial ensemble.

The three ensembles must give identical tables (they are checked). Targets (issue 7): 1000
replicates in under 2 minutes with 2 workers; a speed-up of at least 1.7x from 1 to 2
workers. A missed target prints ``MISS``; the exit status is 0 all the same: this is a
measurement. ``--replicates 40`` gives a rough reading in a minute.
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
from benchlib import columns, positive_int, version  # next to this script
from corridors import routing
from corridors.executors import loopback_cluster

SEED = 7
END_YEAR = 2035
TARGET_S = 120.0
TARGET_SPEEDUP = 1.7


def timed_ensemble(replicates: int, **kw) -> tuple[float, corridors.EnsembleResults]:
    t0 = time.perf_counter()
    ens = corridors.run_ensemble("baseline", replicates=replicates, seed=SEED, end_year=END_YEAR, **kw)
    return time.perf_counter() - t0, ens


def same_tables(a: corridors.EnsembleResults, b: corridors.EnsembleResults) -> bool:
    try:
        for name in ("corridors", "observables", "outcomes"):
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    except AssertionError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=positive_int, default=1000, help="replicates (default 1000)")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask comparison")
    args = parser.parse_args(argv)
    n = args.replicates

    print(f"corridors ensemble benchmark: {n} replicates of the baseline, 2019-{END_YEAR}, seed {SEED}")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"dask {version('dask')}, distributed {version('distributed')}; {os.cpu_count()} CPUs"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(f"load average (1 min) at start: {load:.2f}")
    if load > 0.5:
        print(f"warning: load average {load:.2f}: other processes are running; timings will be noisy")

    routing.warmup()
    corridors.run(seed=SEED, end_year=2019)
    singles = []
    for _ in range(3):
        t0 = time.perf_counter()
        corridors.run(seed=SEED, end_year=END_YEAR)
        singles.append(time.perf_counter() - t0)
    single = statistics.median(singles)
    print(f"one run in this process: {single:.3f} s (median of 3): a serial floor of {n * single:.0f} s")
    print()

    t1, ens1 = timed_ensemble(n, workers=1, executor="local")
    print(f"  local, 1 worker:  {t1:7.1f} s")
    t2, ens2 = timed_ensemble(n, workers=2, executor="local")
    print(f"  local, 2 workers: {t2:7.1f} s")
    rows = [
        ("local processes, 1 worker", t1, ens1),
        ("local processes, 2 workers", t2, ens2),
    ]
    dask_start = None
    if not args.no_dask:
        t0 = time.perf_counter()
        cluster = loopback_cluster(2)
        dask_start = time.perf_counter() - t0
        try:
            td, ensd = timed_ensemble(n, scheduler=cluster.scheduler_address)
        finally:
            cluster.close()
        print(f"  dask, 2 workers:  {td:7.1f} s (+ {dask_start:.1f} s to start the cluster)")
        rows.append(("dask LocalCluster, 2 workers", td, ensd))

    print()
    table = [("executor", "wall s", "runs/s", "s/run", "speed-up", "failed runs", "same tables")]
    for label, t, ens in rows:
        table.append((label, f"{t:.1f}", f"{n / t:.2f}", f"{t / n:.3f}", f"{t1 / t:.2f}x", str(len(ens.failures)),
                      "yes" if same_tables(ens1, ens) else "NO"))  # fmt: skip
    print("\n".join(columns(table, left={0})))
    for label, _, ens in rows:
        if not ens.failures.empty:
            first = ens.failures.iloc[0]
            print(f"  {label}: {len(ens.failures)} runs failed, e.g. {first['error']}: {first['message']}")
    print()

    speedup = t1 / t2
    full = t2 * 1000 / n
    print(
        f"target: 1000 replicates under {TARGET_S:.0f} s with 2 workers: {full:.0f} s"
        + ("" if n == 1000 else f" (extrapolated from {n})")
        + (" ok" if full < TARGET_S else " MISS")
    )
    print(f"target: speed-up >= {TARGET_SPEEDUP}x from 1 to 2 workers: {speedup:.2f}x"
          + (" ok" if speedup >= TARGET_SPEEDUP else " MISS"))  # fmt: skip
    print(f"parallel efficiency with 2 workers: {speedup / 2:.0%}; the serial floor would be {n * single / 2:.0f} s "
          "on 2 perfectly used cores")  # fmt: skip
    if not args.no_dask:
        overhead = (rows[2][1] - t2) / n
        print(f"Dask overhead per run against 2 local processes: {overhead * 1000:+.1f} ms "
              f"({overhead / (t2 / n):+.1%} of a run's wall share); cluster start-up {dask_start:.1f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
