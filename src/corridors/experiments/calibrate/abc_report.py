"""The Bayesian calibration end to end: the fit, its validation, and the directory it writes.

:func:`calibrate_abc` runs ABC-SMC on 2019-2023 (:func:`~corridors.experiments.calibrate.abc.run_abc`),
then validates it:

- **posterior predictive checks**: the coverage of every observed point by the predictive
  50% and 90% intervals, and the median errors;
- **rolling origin**: fit 2019-2021 and predict 2022-2023, fit 2019-2022 and predict 2023,
  each with the same coverage and median errors on the predicted points;
- **recovery**: synthetic history from known parameters (the priors' medians, one stochastic
  run), fitted back: is each known value inside the posterior's 90% interval, and how much
  narrower than the prior is the posterior?

The output directory::

    out/posterior.parquet       one row per particle: weight (sums to 1), parameters, constants
    out/abc.db                  pyabc's database (resumable), and origin_2022.db, origin_2023.db,
                                recovery.db for the validation fits (each with its settings JSON)
    out/report/                 report.md, summary.json, predictive.csv and the figures

A second call with the same settings resumes every database and runs only what is missing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridors.atomic import write_bytes_atomic, write_dir_atomic
from corridors.experiments.calibrate.abc import (
    FULL,
    AbcFit,
    AbcOptions,
    observed_points,
    run_abc,
    synthetic_history,
)
from corridors.experiments.calibrate.priors import KINDS, AbcSettings, load_abc_settings
from corridors.experiments.calibrate.problem import CONSTANT_TARGETS
from corridors.experiments.executors import Execution
from corridors.experiments.plans import jsonable
from corridors.history import load_history
from corridors.plots import generations_figure, marginals_figure, pairs_figure, png_bytes, predictive_figure
from corridors.results import parquet_bytes
from corridors.vocabulary import BASE_YEAR, LAST_OBSERVED_YEAR

__all__ = [
    "ORIGINS",
    "AbcCalibration",
    "calibrate_abc",
    "coverage",
    "observation_draws",
    "parameter_summary",
    "predictive_intervals",
    "write_abc",
]

ORIGINS = (2022, 2023)
"""The rolling origins: fit the years before each, predict it to 2023."""
RECOVERY_SEED = 20190101
BOUND_ZONE = 0.05  # posterior mass within 5% of the prior's width from a bound: piled up there
MASS_AT_BOUND = 0.25  # ... when a quarter of the weight or more is there
UNINFORMED = 0.9  # a posterior sd above 90% of the prior's: the data barely inform the parameter
REPORT_FIGURES = ("marginals.png", "pairs.png", "generations.png", "predictive.png")


def observation_draws(draws: np.ndarray, kind: str, sd: float, key: str, seed: int = 0) -> np.ndarray:
    """Return ``draws`` of the model with an observation's error added: what the series would report.

    Volumes, counts and times take a log-normal error of ``sd`` on the log scale, shares an
    absolute normal error of ``sd`` (calibration.toml's ``[observation_errors]``, the same
    errors the distance weighs). The noise comes from ``seed`` and the point's ``key`` alone,
    so the intervals are the same on every machine.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, *key.encode()]))
    noise = rng.standard_normal(draws.shape)
    if kind == "share":
        return draws + sd * noise
    return draws * np.exp(sd * noise)


def predictive_intervals(points: pd.DataFrame, predictive: pd.DataFrame) -> pd.DataFrame:
    """Give each observed point its predictive median, 50% and 90% intervals, coverage and error.

    The intervals are those of the observations, not of the model alone: each simulated
    value carries the point's observation error (:func:`observation_draws`), as a posterior
    predictive check compares like with like. ``model_q05`` and ``model_q95`` give the model's
    own 90% interval (parameter and run-to-run uncertainty only). ``error`` is ``median /
    observed - 1`` for volumes, counts and times, ``median - observed`` for shares.
    """
    rows = []
    for p in points.itertuples():
        model = predictive[p.key].to_numpy(float) if p.key in predictive else np.array([np.nan])
        ok = np.isfinite(model)
        sd = float(getattr(p, "sd", 0.0) or 0.0)
        draws = observation_draws(model[ok], p.kind, sd, p.key) if ok.any() else np.array([np.nan])
        q5, q25, q75, q95 = np.quantile(draws, [0.05, 0.25, 0.75, 0.95]) if ok.any() else [np.nan] * 4
        m5, m50, m95 = np.quantile(model[ok], [0.05, 0.5, 0.95]) if ok.any() else [np.nan] * 3
        o = p.observed
        rows.append(
            {
                "series": p.series,
                "year": p.year,
                "kind": p.kind,
                "observed": o,
                "median": m50,
                "q05": q5,
                "q25": q25,
                "q75": q75,
                "q95": q95,
                "model_q05": m5,
                "model_q95": m95,
                "in50": bool(q25 <= o <= q75),
                "in90": bool(q5 <= o <= q95),
                "error": (m50 - o) if p.kind == "share" else (m50 / o - 1.0 if o else np.nan),
            }
        )
    return pd.DataFrame(rows)


def coverage(table: pd.DataFrame) -> dict[str, float]:
    """Return the coverage of the 50% and 90% intervals and the median absolute errors of a :func:`predictive_intervals` table."""
    err = table["error"].abs()
    share = table["kind"] == "share"
    return {
        "points": len(table),
        "coverage50": float(table["in50"].mean()) if len(table) else math.nan,
        "coverage90": float(table["in90"].mean()) if len(table) else math.nan,
        "median_abs_error": float(err[~share].median()) if (~share).any() else math.nan,
        "median_abs_error_shares": float(err[share].median()) if share.any() else math.nan,
    }


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: list[float]) -> list[float]:
    order = np.argsort(x)
    cdf = np.cumsum(w[order]) / w.sum()
    return [float(x[order][min(np.searchsorted(cdf, q), len(x) - 1)]) for q in qs]


def parameter_summary(fit: AbcFit) -> pd.DataFrame:
    """One row per free parameter: prior, posterior median and 90% interval, contraction, bound mass, verdict."""
    post, w = fit.posterior, fit.posterior["weight"].to_numpy(float)
    u = np.linspace(0.0005, 0.9995, 2000)
    rows = []
    for prior in fit.settings.priors:
        x = post[prior.name].to_numpy(float)
        q5, q50, q95 = _weighted_quantiles(x, w, [0.05, 0.5, 0.95])
        mean = float(np.sum(w * x))
        sd = float(math.sqrt(np.sum(w * (x - mean) ** 2)))
        prior_sd = float(np.std(prior.dist.ppf(u)))
        zone = BOUND_ZONE * (prior.high - prior.low)
        low_mass = float(w[x <= prior.low + zone].sum())
        high_mass = float(w[x >= prior.high - zone].sum())
        contraction = sd / prior_sd if prior_sd > 0 else math.nan
        notes = []
        if low_mass >= MASS_AT_BOUND:
            notes.append(
                f"{low_mass:.0%} of the weight within 5% of the lower bound {prior.low:g}: the data push "
                "it to the edge of what the prior allows (the bound, not the data, stops it)"
            )
        if high_mass >= MASS_AT_BOUND:
            notes.append(
                f"{high_mass:.0%} of the weight within 5% of the upper bound {prior.high:g}: the data push "
                "it to the edge of what the prior allows (the bound, not the data, stops it)"
            )
        if contraction > UNINFORMED:
            notes.append(
                "barely informed by the data (posterior sd above 90% of the prior's): a candidate to fix"
            )
        rows.append(
            {
                "parameter": prior.name,
                "prior": prior.describe(),
                "source": prior.source,
                "median": q50,
                "q05": q5,
                "q95": q95,
                "sd": sd,
                "prior_sd": prior_sd,
                "contraction": contraction,
                "mass_at_lower": low_mass,
                "mass_at_upper": high_mass,
                "note": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows)


@dataclass
class Origin:
    """A rolling-origin check: fit the years before ``holdout``, predict ``holdout``-2023."""

    holdout: int
    fit: AbcFit
    predicted: pd.DataFrame
    """:func:`predictive_intervals` of the observed points from ``holdout`` on."""


@dataclass
class Recovery:
    """A recovery check: known values, the synthetic history's fit, and what it recovered."""

    truth: dict[str, float]
    fit: AbcFit
    table: pd.DataFrame
    """One row per parameter: truth, median, q05, q95, covered, contraction."""


@dataclass
class AbcCalibration:
    """The fit of 2019-2023 and its validation (:func:`calibrate_abc`)."""

    fit: AbcFit
    intervals: pd.DataFrame
    parameters: pd.DataFrame
    origins: list[Origin]
    recovery: Recovery | None


def calibrate_abc(
    out: str | Path,
    *,
    options: AbcOptions = FULL,
    execution: Execution | None = None,
    history: pd.DataFrame | None = None,
    settings: AbcSettings | None = None,
    validate: bool = True,
    seed: int = 0,
    on_stage: Callable[[str], None] | None = None,
) -> AbcCalibration:
    """Fit 2019-2023 by ABC-SMC, validate the fit, and write the output directory (module docstring).

    Parameters
    ----------
    out : path
        The output directory (its databases are resumed if present).
    options : AbcOptions
        Population, generations, the simulations' cap and the predictive draws, for every fit.
    execution : Execution, optional
        Where the simulations run (as for ensembles).
    history, settings : optional
        The observed history and the calibration settings (default the packaged ones).
    validate : bool
        Also run the rolling-origin and recovery fits.
    seed : int
        The root of every fit's seeds.
    on_stage : callable, optional
        Called with a description as each stage starts (progress).

    Returns
    -------
    AbcCalibration
    """
    out = Path(out)
    history = load_history() if history is None else history
    settings = load_abc_settings() if settings is None else settings
    stage = on_stage or (lambda s: None)
    ex = (Execution() if execution is None else execution).make_executor()
    with ex:  # one set of workers for every fit
        return _calibrate(out, ex, options, history, settings, validate, seed, stage)


def _calibrate(out, ex, options, history, settings, validate, seed, stage) -> AbcCalibration:
    common = {"options": options, "executor": ex, "settings": settings}
    stage("fit 2019-2023")
    fit = run_abc(out / "abc.db", history=history, seed=seed, **common)
    all_points = observed_points(history, settings)
    intervals = predictive_intervals(all_points, fit.predictive)
    origins, recovery = [], None
    if validate:
        for holdout in ORIGINS:
            stage(f"rolling origin: fit {BASE_YEAR}-{holdout - 1}")
            f = run_abc(
                out / f"origin_{holdout}.db",
                history=history,
                years=(BASE_YEAR, holdout - 1),
                seed=seed + holdout,
                **common,
            )
            later = all_points[all_points["year"] >= holdout]
            origins.append(Origin(holdout, f, predictive_intervals(later, f.predictive)))
        stage("recovery: synthetic history from the priors' medians")
        truth = {p.name: float(p.dist.ppf(0.5)) for p in settings.priors}
        synthetic = synthetic_history(truth, seed=RECOVERY_SEED, like=history)
        f = run_abc(out / "recovery.db", history=synthetic, seed=seed + 1, **common)
        table = parameter_summary(f)[["parameter", "median", "q05", "q95", "contraction"]]
        table.insert(1, "truth", [truth[n] for n in table["parameter"]])
        table["covered"] = (table["q05"] <= table["truth"]) & (table["truth"] <= table["q95"])
        recovery = Recovery(truth, f, table)
    result = AbcCalibration(fit, intervals, parameter_summary(fit), origins, recovery)
    stage(f"writing {out}")
    write_abc(result, out)
    return result


# ----------------------------------------------------------------------- writing


def _pct(v: float) -> str:
    return "-" if not np.isfinite(v) else f"{v:.0%}"


def _num(v: float) -> str:
    return "-" if not np.isfinite(v) else f"{v:.4g}"


def report_markdown(cal: AbcCalibration) -> str:
    """Render the text of report.md."""
    fit, s = cal.fit, cal.fit.settings
    L = ["# Bayesian calibration of the baseline (ABC-SMC)", ""]
    L += [
        f"pyabc ABC-SMC on the stochastic model (a seed drawn per simulation): {len(fit.generations)} "
        f"generations of {fit.options.population} particles, **{fit.simulations:,} simulations** "
        f"({fit.simulations_this_session:,} in this session, {fit.seconds:.0f} s, executor "
        f"{fit.executor.get('executor')} with {fit.executor.get('workers')} worker(s)); years "
        f"{fit.years[0]}-{fit.years[1]}. Posterior: `posterior.parquet`.",
        "",
        "## Priors and posterior",
        "",
        "| parameter | prior | source | posterior median | 90% interval | sd / prior sd | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in cal.parameters.itertuples():
        L.append(
            f"| `{r.parameter}` | {r.prior} | {r.source} | {_num(r.median)} | {_num(r.q05)} - {_num(r.q95)} | "
            f"{r.contraction:.2f} | {r.note or '-'} |"
        )
    L += [
        "",
        "Fixed (the 2019-2023 data cannot inform them; reasons in SOURCES.md): "
        + ", ".join(f"`{k}` ({v})" for k, v in s.fixed.items())
        + ". The corridor constants ("
        + ", ".join(f"`{k}`" for k in CONSTANT_TARGETS)
        + ") have no prior: every simulation sets them from the 2019 levels on its own seed; "
        "each particle keeps its constants in the posterior.",
        "",
        "Figures: `marginals.png` (posterior against prior, on the prior's bounds), `pairs.png`.",
        "",
        "## Observation errors and the distance",
        "",
        "Standardised error of each point: `log(model/observed)/sd` (volumes, counts, times), "
        "`(model - observed)/sd` (shares); averaged within each kind, the kinds summed with their "
        "weights, square root (A-abc-distance).",
        "",
        "| kind | weight | points | weight per point |",
        "|---|---|---|---|",
    ]
    for kind in KINDS:
        n = int((fit.points["kind"] == kind).sum())
        w = s.kind_weights[kind]
        L.append(f"| {kind} | {w:g} | {n} | {w / n if n else math.nan:.3f} |")
    L += ["", "| series | kind | sd | source |", "|---|---|---|---|"]
    for e in s.errors.values():
        L.append(f"| `{e.series}` | {e.kind} | {e.sd:g} | {e.source} |")
    L += [
        "",
        "## Generations",
        "",
        "Figure: `generations.png`.",
        "",
        "| generation | epsilon | particles | simulations | acceptance | ESS |",
        "|---|---|---|---|---|---|",
    ]
    for g in fit.generations.itertuples():
        L.append(
            f"| {g.generation} | {g.epsilon:.4g} | {g.particles} | {g.simulations} | {g.acceptance:.3f} | {g.ess:.1f} |"
        )
    cov = coverage(cal.intervals)
    L += [
        "",
        "## Posterior predictive checks",
        "",
        f"{len(fit.predictive)} simulations, particles drawn by weight, new seeds. The intervals are those of "
        "the observations: each simulated value carries the point's observation error (calibration.toml), "
        "so the check compares like with like; `model_q05` and `model_q95` in `predictive.csv` give the "
        "model's own 90% interval. Figure: `predictive.png`; every point: `predictive.csv`.",
        "",
        f"Of the {cov['points']} observed points of {BASE_YEAR}-{LAST_OBSERVED_YEAR}: **{_pct(cov['coverage50'])} inside "
        f"the 50% intervals, {_pct(cov['coverage90'])} inside the 90% intervals**; median absolute error of the "
        f"predictive median {_pct(cov['median_abs_error'])} (volumes, counts, times), "
        f"{_num(cov['median_abs_error_shares'])} (shares).",
        "",
        "| series | points | in 50% | in 90% | median error |",
        "|---|---|---|---|---|",
    ]
    for name, t in cal.intervals.groupby("series", sort=False):
        c = coverage(t)
        med = c["median_abs_error_shares"] if (t["kind"] == "share").all() else c["median_abs_error"]
        shown = _num(med) if (t["kind"] == "share").all() else _pct(med)
        L.append(
            f"| `{name}` | {c['points']} | {_pct(c['coverage50'])} | {_pct(c['coverage90'])} | {shown} |"
        )
    if cal.origins:
        L += ["", "## Rolling origin", ""]
        L += ["| fitted | predicted | points | in 50% | in 90% | median error | median error (shares) |"]
        L += ["|---|---|---|---|---|---|---|"]
        for o in cal.origins:
            c = coverage(o.predicted)
            pred = (
                str(LAST_OBSERVED_YEAR)
                if o.holdout == LAST_OBSERVED_YEAR
                else f"{o.holdout}-{LAST_OBSERVED_YEAR}"
            )
            L.append(
                f"| {BASE_YEAR}-{o.holdout - 1} | {pred} | {c['points']} | {_pct(c['coverage50'])} | "
                f"{_pct(c['coverage90'])} | {_pct(c['median_abs_error'])} | {_num(c['median_abs_error_shares'])} |"
            )
        for o in cal.origins:
            L += ["", f"Fit {BASE_YEAR}-{o.holdout - 1}, predicted points:", ""]
            L += [
                "| series | year | observed | median | 90% interval | in 90% |",
                "|---|---|---|---|---|---|",
            ]
            for r in o.predicted.itertuples():
                L.append(
                    f"| `{r.series}` | {r.year} | {_num(r.observed)} | {_num(r.median)} | "
                    f"{_num(r.q05)} - {_num(r.q95)} | {'yes' if r.in90 else 'no'} |"
                )
    if cal.recovery is not None:
        rec = cal.recovery
        L += [
            "",
            "## Recovery (simulation-based check)",
            "",
            f"Synthetic history: one stochastic run (seed {RECOVERY_SEED}) at the priors' medians, on the "
            f"points of history.csv; fitted back with the same settings ({rec.fit.simulations:,} simulations).",
            "",
            "| parameter | truth | posterior median | 90% interval | truth inside | sd / prior sd |",
            "|---|---|---|---|---|---|",
        ]
        for r in rec.table.itertuples():
            L.append(
                f"| `{r.parameter}` | {_num(r.truth)} | {_num(r.median)} | {_num(r.q05)} - {_num(r.q95)} | "
                f"{'yes' if r.covered else '**no**'} | {r.contraction:.2f} |"
            )
        L += [
            "",
            f"{int(rec.table['covered'].sum())} of {len(rec.table)} known values inside the 90% interval.",
        ]
    return "\n".join(L) + "\n"


def summary_json(cal: AbcCalibration) -> dict[str, Any]:
    """Return the report's numbers as a JSON-ready dict."""
    fit = cal.fit
    out: dict[str, Any] = {
        "simulations": fit.simulations,
        "seconds": fit.seconds,
        "years": list(fit.years),
        "options": vars(fit.options),
        "executor": fit.executor,
        "generations": fit.generations.to_dict(orient="records"),
        "parameters": cal.parameters.to_dict(orient="records"),
        "fixed": fit.settings.fixed,
        "kind_weights": fit.settings.kind_weights,
        "observation_errors": {
            k: {"kind": e.kind, "sd": e.sd, "source": e.source} for k, e in fit.settings.errors.items()
        },
        "predictive": coverage(cal.intervals),
        "rolling_origin": [
            {"fitted": [BASE_YEAR, o.holdout - 1], "simulations": o.fit.simulations, **coverage(o.predicted)}
            for o in cal.origins
        ],
    }
    if cal.recovery is not None:
        out["recovery"] = cal.recovery.table.to_dict(orient="records")
    return jsonable(out)


def write_abc(cal: AbcCalibration, out: str | Path) -> Path:
    """Write ``posterior.parquet`` and the ``report`` directory (each atomically) into ``out``."""
    out = Path(out)
    fit = cal.fit
    write_bytes_atomic(out / "posterior.parquet", parquet_bytes(fit.posterior))
    names = fit.settings.names
    priors = {p.name: (p.low, p.high, p.dist.pdf) for p in fit.settings.priors}

    def fill(tmp: Path) -> None:
        (tmp / "report.md").write_text(report_markdown(cal), encoding="utf-8")
        (tmp / "summary.json").write_text(json.dumps(summary_json(cal), indent=2, allow_nan=False))
        cal.intervals.to_csv(tmp / "predictive.csv", index=False)
        (tmp / "marginals.png").write_bytes(png_bytes(marginals_figure(fit.posterior, names, priors)))
        (tmp / "pairs.png").write_bytes(png_bytes(pairs_figure(fit.posterior, names)))
        (tmp / "generations.png").write_bytes(png_bytes(generations_figure(fit.generations)))
        (tmp / "predictive.png").write_bytes(png_bytes(predictive_figure(cal.intervals, fit.predictive)))

    write_dir_atomic(out / "report", fill, force=True)
    return out
