"""Whether a run still reproduces the history its parameters were calibrated to.

The baseline's parameters (``scenarios/parameters/baseline_fit.toml``) were fitted to the
series of ``history.csv`` in 2019-2023, each known only to within its observation error
(``data/calibration.toml``: ``sd`` on the log scale for volumes, counts and times, absolute
for shares). A run whose overrides (``--set parameters.cost_elasticity=3.5``) or whose own
parameters change those years is no longer the calibrated model: its scenario effects rest
on a history it does not reproduce.

:func:`calibration_drift` compares the run's own 2019-2023 observables with those of the
calibrated baseline (the same seed and stochastic mode) in the years each series was
observed, point by point as the calibration's distance does (:func:`~corridors.experiments.
calibrate.abc.standardised_errors`, with the baseline's value in place of the observation).
The tolerance is the calibration's own: a series is outside it when its root-mean-square
standardised change exceeds one observation error (:data:`TOLERANCE_SD`), that is when the
run moves it by more than the data could tell apart. A run whose parameters, agents' settings,
sea rates and events of 2019-2023 are those of the baseline has the same history and is not
run again.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from corridors.experiments.calibrate.abc import observed_points
from corridors.experiments.calibrate.priors import load_abc_settings
from corridors.experiments.runs import run
from corridors.history import load_history
from corridors.vocabulary import BASE_YEAR, LAST_OBSERVED_YEAR, quarter_index

if TYPE_CHECKING:
    from corridors.results import Results
    from corridors.scenario import Scenario

__all__ = ["TOLERANCE_SD", "CalibrationDrift", "calibration_drift"]

TOLERANCE_SD = 1.0
"""A series leaves the calibration when its RMS change over its observed years exceeds this many observation errors."""


@dataclass(frozen=True)
class CalibrationDrift:
    """How far a run's 2019-2023 history is from the calibrated baseline's.

    Attributes
    ----------
    status : {"same history", "within", "outside", "not checked"}
        ``same history``: nothing of 2019-2023 differs from the baseline (no run needed);
        ``within`` / ``outside``: every series within the tolerance, or one or more outside;
        ``not checked``: the run reports no year of 2019-2023.
    series : dict of str to float
        Each observed series' RMS standardised change (observation errors), compared.
    outside : tuple of str
        The series beyond :data:`TOLERANCE_SD`, largest change first.
    reference : str
        What the run was compared with.
    """

    status: str
    series: dict[str, float] = field(default_factory=dict)
    outside: tuple[str, ...] = ()
    reference: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the record written to the run's ``meta.json`` and ``manifest.json``."""
        return {
            "status": self.status,
            "tolerance": f"RMS change of each series over its observed years {BASE_YEAR}-{LAST_OBSERVED_YEAR} "
            f"<= {TOLERANCE_SD:g} observation error (data/calibration.toml)",
            "reference": self.reference,
            "outside": list(self.outside),
            "series_rms_sd": {k: round(v, 4) for k, v in self.series.items()},
        }

    def warning(self) -> str | None:
        """Return the one line a run prints when it left its calibration, else None."""
        if self.status != "outside":
            return None
        worst = self.outside[0]
        more = f", and {len(self.outside) - 1} more series" if len(self.outside) > 1 else ""
        return (
            f"this run leaves its calibration: its {BASE_YEAR}-{LAST_OBSERVED_YEAR} history moves {worst} by "
            f"{self.series[worst]:.1f} observation errors from the calibrated baseline{more} "
            f"(tolerance {TOLERANCE_SD:g}; see calibration_check in manifest.json)"
        )


def calibration_drift(
    res: Results, sc: Scenario, *, seed: int | None, stochastic: bool = True
) -> CalibrationDrift:
    """Compare a run's 2019-2023 observables with the calibrated baseline's.

    Parameters
    ----------
    res : Results
        The run (its tables from ``report_from`` on).
    sc : Scenario
        Its scenario, overrides applied.
    seed : int or None
        The seed the run used (the baseline runs with the same).
    stochastic : bool
        The run's stochastic mode.

    Returns
    -------
    CalibrationDrift
        The status, each series' change and those outside the tolerance.
    """
    from corridors.scenario import find_scenario, load_scenario

    base = load_scenario(find_scenario("baseline"))
    reference = (
        f"the baseline ({', '.join(p.name for p in base.parameters_files) or 'defaults'}), seed {seed}"
    )
    if _same_history(sc, base):
        return CalibrationDrift("same history", reference=reference)
    years = res.corridors["year"]
    if years.min() > LAST_OBSERVED_YEAR:
        return CalibrationDrift("not checked", reference=reference)
    last = min(int(years.max()), LAST_OBSERVED_YEAR)
    baseline = _baseline_observables(seed, stochastic, last)
    points = observed_points(load_history(), load_abc_settings(), years=(BASE_YEAR, last))
    changes: dict[str, float] = {}
    for series, rows in points.groupby("series", sort=True):
        modelled = res.observable(series)
        z = [
            _standardised(float(modelled.get(year, np.nan)), baseline[series].get(year, math.nan), kind, sd)
            for year, kind, sd in zip(rows["year"], rows["kind"], rows["sd"], strict=True)
            if year in modelled.index
        ]
        z = [v for v in z if not math.isnan(v)]
        if z:
            changes[series] = float(np.sqrt(np.mean(np.square(z))))
    outside = tuple(sorted((s for s, v in changes.items() if v > TOLERANCE_SD), key=lambda s: -changes[s]))
    return CalibrationDrift("outside" if outside else "within", changes, outside, reference)


def _standardised(value: float, reference: float, kind: str, sd: float) -> float:
    """Return the change from the reference in observation errors: on the log scale, absolute for shares."""
    if kind == "share":
        return (value - reference) / sd
    if value == reference:
        return 0.0
    if value <= 0 or reference <= 0:
        return math.inf  # a series that appears or vanishes
    return math.log(value / reference) / sd


@functools.lru_cache(maxsize=4)
def _baseline_observables(seed: int | None, stochastic: bool, last: int) -> Mapping[str, Mapping[int, float]]:
    """Return the calibrated baseline's observables to ``last`` (one short run, kept for the process)."""
    from corridors.results import OBSERVABLES

    res = run("baseline", seed=seed, end_year=last, stochastic=stochastic)
    return {name: res.observable(name).to_dict() for name in OBSERVABLES}


def _same_history(sc: Scenario, base: Scenario) -> bool:
    """Whether nothing that drives 2019-2023 differs from the baseline's."""
    p = sc.parameters()
    if p != base.parameters() or sc.agent_settings() != base.agent_settings():
        return False
    end = quarter_index(f"{LAST_OBSERVED_YEAR}Q4")

    def early(events):
        return [e for e in events if e.first_step <= end]

    def rates(s):
        return {k: v for k, v in s.sea_rate_overrides().items() if k <= end}

    return early(sc.events(p)) == early(base.events(base.parameters())) and rates(sc) == rates(base)
