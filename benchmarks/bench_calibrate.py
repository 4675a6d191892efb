"""Speed of the Bayesian calibration: ABC-SMC of the baseline (corridors calibrate --method abc).

Times the fit of 2019-2023 alone (no rolling origins, no recovery) with the full settings
(``corridors.experiments.calibrate.FULL``: 10 generations of 1,000 particles, so at least
10,000 simulations) on ``--workers`` local processes (default 2), in a temporary directory,
and prints the simulations, the wall time, the simulations per second and, beside them, one
simulation in this process (the median of 5, warm) as the serial floor measured in the same
run. Target (issue 17): at least 10,000 simulations within 15 minutes on 2 cores. A missed
target prints ``MISS``; the exit status is 0 all the same: this is a measurement.
``--quick`` runs the quick settings (8 particles, 2 generations) on 1 worker: it checks that
the pipeline runs and says nothing about the target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import exit_on_sigterm, positive_int, print_load  # next to this script

TARGET_S = 15 * 60.0
TARGET_SIMULATIONS = 10_000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the quick settings on 1 worker (for CI)")
    parser.add_argument(
        "--workers", type=positive_int, default=None, help="worker processes (default 2; 1 with --quick)"
    )
    return parser


def one_simulation_s() -> float:
    from corridors.experiments.calibrate.abc import CalibrationModel
    from corridors.experiments.calibrate.priors import load_abc_settings
    from corridors.scenario import find_scenario, load_scenario

    settings = load_abc_settings()
    model = CalibrationModel(load_scenario(find_scenario("baseline")).to_toml(), settings.names)
    values = {p.name: float(p.dist.ppf(0.5)) for p in settings.priors}
    model.simulate(values, 0)  # warm
    times = []
    for seed in range(1, 6):
        t0 = time.perf_counter()
        model.simulate(values, seed)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    exit_on_sigterm()
    import logging

    from corridors.experiments.calibrate import FULL, QUICK, run_abc
    from corridors.experiments.executors import Execution

    logging.getLogger("ABC").setLevel(logging.WARNING)
    print_load("at start")
    options = QUICK if args.quick else FULL
    workers = args.workers or (1 if args.quick else 2)
    floor = one_simulation_s()
    print(f"one simulation in this process (median of 5, warm): {floor:.3f} s")
    with tempfile.TemporaryDirectory(prefix="corridors-bench-abc-") as tmp:
        t0 = time.perf_counter()
        fit = run_abc(Path(tmp) / "abc.db", options=options, execution=Execution(workers=workers))
        seconds = time.perf_counter() - t0
    print(
        f"ABC-SMC of the baseline: {len(fit.generations)} generations of {options.population} particles, "
        f"{fit.simulations:,} simulations on {workers} worker(s): {seconds:.0f} s "
        f"({fit.simulations / seconds:.1f} simulations/s; serial floor {1 / floor:.1f}/s per worker)"
    )
    if not args.quick:
        ok = fit.simulations >= TARGET_SIMULATIONS and seconds <= TARGET_S
        print(
            f"target: >= {TARGET_SIMULATIONS:,} simulations within {TARGET_S / 60:.0f} min on 2 cores: "
            + ("ok" if ok else "MISS")
        )
    print_load("at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
