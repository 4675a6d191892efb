"""The fit: least squares from the scenario's values and Latin-hypercube starts.

Also its diagnostics, cross-validation and identifiability, and the fitted parameters file.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridors.atomic import write_bytes_atomic
from corridors.experiments.calibrate.problem import (
    DEFAULT_MAX_NFEV,
    FIT_YEARS,
    FREE_PARAMETERS,
    LOSS_WEIGHTS,
    RANK_RTOL,
    TOLERANCES,
    FreeParameter,
    RunCallback,
    Target,
    Theta,
    _as_vector,
    _Evaluator,
    check_targets,
    default_theta,
    loss,
    residual_table,
    simulate,
)
from corridors.history import load_history
from corridors.scenario._toml import toml_dumps
from corridors.vocabulary import BASE_YEAR, LAST_OBSERVED_YEAR

# ----------------------------------------------------------------------- the fit


@dataclass
class FitResult:
    """The outcome of :func:`fit` (see the module docstring)."""

    free: tuple[FreeParameter, ...]
    values: dict[str, float]
    constants: dict[str, float]
    """Corridor constants set from the 2019 levels at the optimum (:data:`CONSTANT_TARGETS`)."""
    bounds: dict[str, tuple[float, float]]
    loss: float
    table: pd.DataFrame
    """Observed points in the fitted years: series, year, observed, modelled, error, weight, residual."""
    modelled: dict[str, pd.Series]
    """Every modelled year of each observable at the optimum."""
    jacobian: np.ndarray
    """d residual / d parameter at the optimum (rows: ``table``; columns: ``free``)."""
    rank: int
    condition_number: float
    singular_values: np.ndarray
    """Of the Jacobian scaled by the bound widths (d residual per bound width)."""
    profiles: dict[str, pd.DataFrame]
    """Per parameter: value, loss, with the others at the optimum."""
    targets: list[Target]
    starts: list[dict[str, Any]]
    """Per start: start values, end values, loss, evaluations, status."""
    years: tuple[int, int]
    runs: int
    seconds: float
    date: str
    method: str
    stochastic: bool = False
    seeds: tuple[int, ...] = ()
    start_values: dict[str, float] = field(default_factory=dict)
    start_loss: float = math.nan
    weights: dict[str, float] = field(default_factory=lambda: dict(LOSS_WEIGHTS))

    @property
    def at_bounds(self) -> list[str]:
        """Parameters within 1% of the bound width from a bound."""
        return [
            p.name
            for p in self.free
            if min(self.values[p.name] - p.lower, p.upper - self.values[p.name]) <= 0.01 * p.width
        ]


def _jacobian(resid: Callable[[np.ndarray], np.ndarray], free: Sequence[FreeParameter], diff_step: float):
    """Forward differences of ``resid`` with a step of ``diff_step`` of each bound width."""
    lo = np.array([p.lower for p in free])
    hi = np.array([p.upper for p in free])
    width = hi - lo

    def jac(x: np.ndarray) -> np.ndarray:
        f0 = resid(x)
        J = np.empty((f0.size, x.size))
        for j in range(x.size):
            h = diff_step * width[j]
            if x[j] + h > hi[j]:  # stay within the bounds: step backwards at the upper bound
                h = -h
            xj = x.copy()
            xj[j] += h
            J[:, j] = (resid(xj) - f0) / h
        return J

    return jac


def _lhs(n: int, free: Sequence[FreeParameter], seed: int) -> np.ndarray:
    if n <= 0:
        return np.empty((0, len(free)))
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=len(free), seed=seed).random(n)
    return qmc.scale(u, [p.lower for p in free], [p.upper for p in free])


def fit(
    history: pd.DataFrame | None = None,
    *,
    free: Sequence[FreeParameter] = FREE_PARAMETERS,
    starts: int = 4,
    x0: Theta | None = None,
    years: tuple[int, int] = FIT_YEARS,
    method: str = "trf",
    max_nfev: int | None = DEFAULT_MAX_NFEV,
    diff_step: float = 1e-2,
    seed: int = 0,
    stochastic: bool = False,
    seeds: Sequence[int] = (1, 2, 3),
    profile_points: int = 9,
    weights: Mapping[str, float] | None = None,
    on_run: RunCallback | None = None,
    scenario=None,
) -> FitResult:
    """Fit the free parameters to ``history`` (default the packaged history.csv).

    Parameters
    ----------
    starts : int
        Number of starts: ``x0`` (default the scenario's values, clipped to the bounds), then
        ``starts - 1`` Latin-hypercube points within the bounds (``seed``).
    years : (first, last)
        The observed years fitted.
    method, max_nfev, diff_step
        ``least_squares``'s method; its evaluation budget per start (the Jacobian's runs come
        on top); the finite-difference step as a fraction of each bound width.
    profile_points : int
        Points of each loss profile across the bounds (0: no profiles).
    weights : mapping, optional
        Replaces :data:`LOSS_WEIGHTS` (a sensitivity of the loss; see :func:`residual_table`).
    on_run : callable, optional
        Called as ``on_run(stage)`` after every model run (progress bars).
    """
    from scipy.optimize import least_squares

    t0 = time.perf_counter()
    free = tuple(free)
    if starts < 1:
        raise ValueError(f"starts: at least 1, got {starts}")
    history = load_history() if history is None else history
    ev = _Evaluator(
        free, scenario=scenario, seeds=seeds, stochastic=stochastic, on_run=on_run, history=history
    )
    lo = np.array([p.lower for p in free])
    hi = np.array([p.upper for p in free])
    first = default_theta(free, ev.base) if x0 is None else np.clip(_as_vector(x0, free), lo, hi)
    points = np.vstack([first[None, :], _lhs(starts - 1, free, seed)])

    def fun(x):
        return residual_table(ev.observables(x), history, years, weights)["residual"].to_numpy(float)

    jac = _jacobian(fun, free, diff_step)

    runs_log, best = [], None
    for i, start in enumerate(points):
        ev.stage = f"fit: start {i + 1}/{len(points)}"
        res = least_squares(
            fun,
            start,
            jac=jac,
            bounds=(lo, hi),
            x_scale=hi - lo,
            method=method,
            max_nfev=max_nfev,
            **TOLERANCES,
        )
        runs_log.append(
            {
                "start": dict(zip([p.name for p in free], map(float, start), strict=True)),
                "end": dict(zip([p.name for p in free], map(float, res.x), strict=True)),
                "loss": loss(res.fun),
                "nfev": int(res.nfev),
                "njev": int(res.njev or 0),
                "status": int(res.status),
                "message": str(res.message),
            }
        )
        if best is None or loss(res.fun) < loss(best.fun):
            best = res
    assert best is not None
    x = best.x
    table = residual_table(ev.observables(x), history, years, weights)
    J = np.asarray(best.jac, dtype=float)
    Js = J * (hi - lo)[None, :]
    sv = np.linalg.svd(Js, compute_uv=False)
    rank = int(np.linalg.matrix_rank(Js, tol=RANK_RTOL * sv.max())) if sv.size and sv.max() > 0 else 0
    cond = float(sv.max() / sv.min()) if sv.size and sv.min() > 0 else math.inf
    profiles = {}
    for j, p in enumerate(free):
        ev.stage = f"profile: {p.name}"
        grid = np.linspace(p.lower, p.upper, profile_points) if profile_points > 0 else np.empty(0)
        vals = []
        for g in grid:
            xg = x.copy()
            xg[j] = g
            vals.append(loss(fun(xg)))
        profiles[p.name] = pd.DataFrame({"value": grid, "loss": vals})
    modelled = ev.observables(x)
    start_loss = loss(fun(first))
    return FitResult(
        free=free,
        values={p.name: float(v) for p, v in zip(free, x, strict=True)},
        constants=ev.constants(x),
        bounds={p.name: (p.lower, p.upper) for p in free},
        loss=loss(table["residual"].to_numpy(float)),
        table=table,
        modelled=modelled,
        jacobian=J,
        rank=rank,
        condition_number=cond,
        singular_values=sv,
        profiles=profiles,
        targets=check_targets(modelled, history),
        starts=runs_log,
        years=tuple(years),
        runs=ev.runs,
        seconds=time.perf_counter() - t0,
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        method=method,
        stochastic=stochastic,
        seeds=ev.seeds,
        start_values={p.name: float(v) for p, v in zip(free, first, strict=True)},
        start_loss=start_loss,
        weights=dict(LOSS_WEIGHTS if weights is None else weights),
    )


# ----------------------------------------------------------------------- validation


ROLLING_ORIGIN = 2022
"""The first predicted year of the rolling-origin check: fit 2019-2021, predict 2022-2023."""


@dataclass
class CrossValidation:
    """Fit on the years before ``holdout``, predict ``holdout``-2023: the out-of-sample errors."""

    fit: FitResult
    predicted: pd.DataFrame
    """The observed points from ``holdout`` on: series, year, observed, modelled, error, weight, residual."""
    holdout: int = ROLLING_ORIGIN

    @property
    def fit_label(self) -> str:
        """The fitted years, e.g. ``"2019-2021"``."""
        return f"{BASE_YEAR}-{self.holdout - 1}"

    @property
    def predicted_label(self) -> str:
        """The predicted years, e.g. ``"2022-2023"``."""
        last = LAST_OBSERVED_YEAR
        return str(last) if self.holdout == last else f"{self.holdout}-{last}"

    @property
    def loss_predicted(self) -> float:
        """The loss of the predicted points (``holdout``-2023), by the fit before ``holdout``."""
        return loss(self.predicted["residual"].to_numpy(float))


def cross_validate(
    history: pd.DataFrame | None = None, *, holdout: int = ROLLING_ORIGIN, **fit_kwargs: Any
) -> CrossValidation:
    """Fit on the years before ``holdout`` and predict ``holdout`` to 2023 (a rolling origin).

    The default fits 2019-2021 and predicts 2022-2023: the sanctions, the crude diversion and
    the 2023 fall are all out of sample. The fit starts from the same points as :func:`fit`
    (never from the full fit's optimum, which has seen the predicted years); ``fit_kwargs``
    go to :func:`fit`.
    """
    if not BASE_YEAR < holdout <= LAST_OBSERVED_YEAR:
        raise ValueError(f"cross_validate: holdout {holdout} is outside {BASE_YEAR + 1}-{LAST_OBSERVED_YEAR}")
    history = load_history() if history is None else history
    f = fit(history, years=(BASE_YEAR, holdout - 1), **fit_kwargs)
    predicted = residual_table(f.modelled, history, (holdout, LAST_OBSERVED_YEAR))
    return CrossValidation(fit=f, predicted=predicted, holdout=holdout)


@dataclass
class IdentifiabilityResult:
    """Synthetic history from known parameters, fitted back."""

    true: dict[str, float]
    start: dict[str, float]
    recovered: dict[str, float]
    errors: dict[str, float]
    """|recovered - true| as a fraction of each bound width."""
    tol: float
    loss: float

    @property
    def ok(self) -> bool:
        """Whether every parameter is recovered within ``tol`` of its bound width."""
        return all(e <= self.tol for e in self.errors.values())


def synthetic_history(
    theta: Theta, *, free: Sequence[FreeParameter] = FREE_PARAMETERS, like: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Build a history with the points of ``like`` (default history.csv), valued by the model at ``theta``."""
    like = load_history() if like is None else like
    obs = simulate(theta, free=free, stochastic=False)
    out = like.copy()
    out["value"] = [float(obs[s].get(y, np.nan)) for s, y in zip(out["series"], out["year"], strict=True)]
    if out["value"].isna().any():
        missing = out.loc[out["value"].isna(), ["series", "year"]].to_numpy().tolist()
        raise ValueError(f"synthetic history: the model has no value for {missing} at {theta}")
    return out


def identifiability_check(
    true_theta: Theta,
    tol: float = 0.1,
    *,
    free: Sequence[FreeParameter] = FREE_PARAMETERS,
    start: Theta | None = None,
    max_nfev: int | None = DEFAULT_MAX_NFEV,
    on_run: RunCallback | None = None,
) -> IdentifiabilityResult:
    """Simulate history from ``true_theta`` (deterministic), fit it back from another start.

    The start (default: a quarter of each bound width from the truth, towards the middle of
    the bounds) must differ from the truth. ``tol`` is the allowed error as a fraction of
    each bound width. Returns the recovered values and their errors.
    """
    free = tuple(free)
    truth = _as_vector(true_theta, free)
    lo = np.array([p.lower for p in free])
    hi = np.array([p.upper for p in free])
    if start is None:
        mid = (lo + hi) / 2
        x0 = truth + 0.25 * (hi - lo) * np.where(truth <= mid, 1.0, -1.0)
    else:
        x0 = _as_vector(start, free)
    x0 = np.clip(x0, lo, hi)
    if np.allclose(x0, truth):
        raise ValueError("identifiability_check: the start must differ from the true values")
    synthetic = synthetic_history(truth, free=free)
    f = fit(synthetic, free=free, starts=1, x0=x0, max_nfev=max_nfev, profile_points=0, on_run=on_run)
    names = [p.name for p in free]
    rec = np.array([f.values[n] for n in names])
    return IdentifiabilityResult(
        true=dict(zip(names, map(float, truth), strict=True)),
        start=dict(zip(names, map(float, x0), strict=True)),
        recovered=dict(zip(names, map(float, rec), strict=True)),
        errors=dict(zip(names, map(float, np.abs(rec - truth) / (hi - lo)), strict=True)),
        tol=tol,
        loss=f.loss,
    )


# ----------------------------------------------------------------------- writing


def parameters_toml(fit: FitResult | Mapping[str, float], *, loss_value: float | None = None) -> str:
    """Render the text of a parameters file (see :func:`write_parameters`)."""
    if isinstance(fit, FitResult):
        values, loss_value = dict(fit.values), fit.loss
        values.update(fit.constants)
        date, years, extra = fit.date, fit.years, fit
    else:
        values, date, years, extra = dict(fit), datetime.now(UTC).isoformat(timespec="seconds"), None, None
    parameters: dict[str, Any] = {}
    for k, v in values.items():
        head, dot, key = k.partition(".")
        if dot:
            parameters.setdefault(head, {})[key] = float(v)
        else:
            parameters[k] = float(v)
    record: dict[str, Any] = {"date": date}
    if loss_value is not None:
        record["loss"] = float(loss_value)
    if years is not None:
        record["years"] = [int(years[0]), int(years[1])]
    if extra is not None:
        record.update(method=extra.method, jacobian_rank=int(extra.rank))
        if math.isfinite(extra.condition_number):
            record["condition_number"] = float(extra.condition_number)
        record.update(targets_met=sum(t.ok for t in extra.targets), targets=len(extra.targets))
    head = [
        "# Fitted parameters of the baseline (corridors.experiments.calibrate): read by a scenario's",
        "# `parameters_file`. Only the [parameters] table is read; [fit] records the fit.",
    ]
    return "\n".join(head) + "\n\n" + toml_dumps({"parameters": parameters, "fit": record})


def write_parameters(
    fit: FitResult | Mapping[str, float], path: str | Path, *, loss_value: float | None = None
) -> Path:
    """Write a parameters file that a scenario's ``parameters_file`` reads, atomically.

    A ``[parameters]`` table with the fitted values (corridor constants as
    ``[parameters.corridor_constants]``) and a ``[fit]`` table (loss, date, years, rank),
    which the scenario loader ignores. ``fit`` may also be a mapping of free-parameter names
    to values (then ``loss_value`` is recorded if given).
    """
    path = Path(path)
    write_bytes_atomic(path, parameters_toml(fit, loss_value=loss_value).encode())
    return path
