"""Calibration of the baseline to the observed history 2019-2023, and how well it fits.

The baseline scenario is run to 2023 with at most six free parameters
(:data:`FREE_PARAMETERS`) changed, and its observables (:data:`corridors.results.OBSERVABLES`)
are compared with ``history.csv`` (:mod:`corridors.history`). Alignments are scenario inputs
and are never fitted; every other parameter keeps the scenario's value.

Loss
----
For every observed point (series *s*, year *y*) of ``history.csv`` in the fitted years, one
residual:

- ``middle_corridor_t`` and ``northern_transit_teu``: ``1.0 * (model / observed - 1)``;
- ``middle_transit_days`` and ``middle_teu``: ``0.5 * (model / observed - 1)`` (one-off
  figures with a wide reported range, and a container count derived in part by the project);
- ``middle_kz_share``: ``(model - observed) / 0.1`` (a share is compared in absolute terms:
  ten points of share weigh as a 100% error of a volume);
- the series of issue 15 (Baku port, ADY and Georgian Railway transit, Aktau crude, the oil
  share, Kazakhstan-China rail, transit through Kazakhstan, the Iran route) with the weights of
  :data:`LOSS_WEIGHTS` (1, 0.5 or 0.25) and the reasons of ``problem.WEIGHT_REASONS``;

and the loss is the sum of their squares (``scipy.optimize.least_squares`` minimises half of
it). A year in which no westbound transit moves on the Middle Corridor has no modelled
transit time; its residual is ``0.5 * 1.0``, a 100% error, so the loss stays finite. With
``stochastic=True`` the observables are averaged over ``seeds`` before the residuals.

Bayesian calibration
--------------------
``corridors calibrate --method abc`` (:func:`calibrate_abc`, modules ``abc``, ``priors`` and
``abc_report``) runs ABC-SMC (pyabc) on the stochastic model with the priors, observation
errors and kind weights of ``calibration.toml``, and writes the posterior (Parquet, one row
per particle with its weight) with its validation: posterior predictive coverage, the rolling
origins and a recovery check.

The full fit uses 2019-2023; the rolling-origin check (:func:`cross_validate`) fits 2019-2021
and predicts 2022-2023. ``history.csv`` holds 2019-2023 only (later figures are refused there).

The fit
-------
:func:`fit` runs ``least_squares`` (trust-region reflective, bounds, ``x_scale`` = the bound
widths) from the scenario's own values (clipped to the bounds) and from Latin-hypercube
starts within the bounds, and keeps the lowest loss. The Jacobian is a forward difference
with a step of ``diff_step`` (default 1%) of each bound width, not of the value: the model
is piecewise smooth (paths switch, queues appear, agents act on thresholds), so a step too
small measures the kinks rather than the slope. Some responses are switches rather than
kinks (Kazakhstan's crude diversion starts only once the sanctions premium exceeds about
USD 26-30/t, adding about 1.4 Mt to the 2023 Middle Corridor at once); finite differences do
not see across them, which is what the Latin-hypercube starts and the loss profiles are
for. The result (:class:`FitResult`) holds the
Jacobian at the optimum, its rank and condition number (on the Jacobian scaled by the bound
widths, so the numbers do not depend on the parameters' units), the loss profile of each
parameter, and the issue's targets check (:func:`check_targets`).
"""

from corridors.experiments.calibrate.abc import FULL, QUICK, AbcFit, AbcOptions, run_abc
from corridors.experiments.calibrate.abc_report import AbcCalibration, calibrate_abc
from corridors.experiments.calibrate.fit import (
    ROLLING_ORIGIN,
    CrossValidation,
    FitResult,
    IdentifiabilityResult,
    cross_validate,
    fit,
    identifiability_check,
    parameters_toml,
    synthetic_history,
    write_parameters,
)
from corridors.experiments.calibrate.problem import (
    CONSTANT_TARGETS,
    FIT_YEARS,
    FREE_PARAMETERS,
    LOSS_WEIGHTS,
    FreeParameter,
    Target,
    check_targets,
    default_theta,
    loss,
    parameters_for,
    residual_table,
    residuals,
    simulate,
)
from corridors.experiments.calibrate.report import REPORT_FILES, report_markdown, write_report

__all__ = [
    "CONSTANT_TARGETS",
    "FIT_YEARS",
    "FREE_PARAMETERS",
    "FULL",
    "LOSS_WEIGHTS",
    "QUICK",
    "REPORT_FILES",
    "ROLLING_ORIGIN",
    "AbcCalibration",
    "AbcFit",
    "AbcOptions",
    "CrossValidation",
    "FitResult",
    "FreeParameter",
    "IdentifiabilityResult",
    "Target",
    "calibrate_abc",
    "check_targets",
    "cross_validate",
    "default_theta",
    "fit",
    "identifiability_check",
    "loss",
    "parameters_for",
    "parameters_toml",
    "report_markdown",
    "residual_table",
    "residuals",
    "run_abc",
    "simulate",
    "synthetic_history",
    "write_parameters",
    "write_report",
]
