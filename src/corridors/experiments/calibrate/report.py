"""The calibration report: Markdown, JSON, the observed-against-modelled table and figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridors.atomic import write_dir_atomic
from corridors.experiments.calibrate.fit import CrossValidation, FitResult
from corridors.experiments.calibrate.problem import (
    CONSTANT_TARGETS,
    CONSTANT_TOL,
    LOSS_WEIGHTS,
    RANK_RTOL,
    WEIGHT_REASONS,
    loss,
)
from corridors.history import load_history, observed
from corridors.plots import png_bytes, profile_figure, series_figure
from corridors.results import OBSERVABLES
from corridors.vocabulary import BASE_YEAR

# ----------------------------------------------------------------------- the report

SERIES_PLOT = "observed_vs_modelled.png"  # corridors.plots.series_figure
PROFILE_PLOT = "loss_profiles.png"  # corridors.plots.profile_figure


def _fmt(v: float, name: str) -> str:
    if not np.isfinite(v):
        return "-"
    if OBSERVABLES[name].unit == "share":
        return f"{v:.2f}"
    if name == "middle_transit_days":
        return f"{v:.1f}"
    return f"{v:,.0f}"


def _err(v: float, name: str) -> str:
    if not np.isfinite(v):
        return "-"
    return f"{v:+.2f}" if OBSERVABLES[name].unit == "share" else f"{v:+.0%}"


def report_markdown(
    fit: FitResult, cv: CrossValidation | None = None, history: pd.DataFrame | None = None
) -> str:
    """Render the text of report.md."""
    history = load_history() if history is None else history
    L = ["# Calibration of the baseline to 2019-2023", ""]
    L += [
        f"Fitted {fit.date} by `corridors.experiments.calibrate` ({fit.method}, {len(fit.starts)} start(s), "
        f"{fit.runs} model runs, {fit.seconds:.0f} s); years {fit.years[0]}-{fit.years[1]}; "
        f"{'stochastic, seeds ' + str(list(fit.seeds)) if fit.stochastic else 'deterministic runs'}.",
        "",
    ]
    L += [
        "## Loss",
        "",
        "Sum of squared residuals over the observed points: weight x `(model/observed - 1)` for "
        "volumes and times, weight x `(model - observed) / 0.1` for the shares "
        "(`middle_kz_share`, `middle_oil_share`). The weights and why:",
        "",
        "| series | weight | why |",
        "|---|---|---|",
        *(f"| `{n}` | {w:g} | {WEIGHT_REASONS.get(n, '')} |" for n, w in LOSS_WEIGHTS.items()),
        "",
        f"**Loss at the optimum: {fit.loss:.3f}** (at the scenario's own values: {fit.start_loss:.3f}).",
        "",
    ]
    contrib = fit.table.assign(sq=fit.table["residual"] ** 2).groupby("series", sort=False)["sq"].sum()
    L += ["| series | points | share of the loss |", "|---|---|---|"]
    for s, v in contrib.items():
        L.append(
            f"| `{s}` | {int((fit.table['series'] == s).sum())} | {v:.3f} ({v / max(fit.loss, 1e-12):.0%}) |"
        )
    L += [
        "",
        "## Fitted values",
        "",
        "| parameter | value | bounds | start | reason |",
        "|---|---|---|---|---|",
    ]
    for p in fit.free:
        flag = " (at a bound)" if p.name in fit.at_bounds else ""
        L.append(
            f"| `{p.name}` | {fit.values[p.name]:.4g}{flag} | [{p.lower:g}, {p.upper:g}] | "
            f"{fit.start_values.get(p.name, math.nan):.4g} | {p.reason} |"
        )
    if fit.constants:
        L += [
            "",
            "## Corridor constants, set from 2019",
            "",
            f"Not fitted: for every value of the free parameters each constant is solved so that the "
            f"corridor's {BASE_YEAR} level matches the observed one (within {CONSTANT_TOL:.1%}).",
            "",
            "| constant | USD/t | set by |",
            "|---|---|---|",
        ]
        for k, v in fit.constants.items():
            L.append(f"| `{k}` | {v:.4g} | `{CONSTANT_TARGETS[k]}` {BASE_YEAR} |")
    L += [
        "",
        "## Identification",
        "",
        f"Jacobian of the residuals at the optimum, scaled by the bound widths: rank {fit.rank} of "
        f"{len(fit.free)} (singular values below {RANK_RTOL:g} of the largest count as zero), condition "
        f"number {fit.condition_number:.3g}. Singular values: "
        + ", ".join(f"{s:.3g}" for s in fit.singular_values)
        + ".",
        "",
        f"Loss profiles: `{PROFILE_PLOT}` (each parameter over {_profile_points(fit)} points across its bounds, the others "
        "at the optimum).",
        "",
    ]
    if fit.profiles:
        L += ["| parameter | lowest loss on the profile | at | range of the profile |", "|---|---|---|---|"]
        for name, prof in fit.profiles.items():
            if len(prof):
                i = int(prof["loss"].idxmin())
                L.append(
                    f"| `{name}` | {prof['loss'][i]:.3f} | {prof['value'][i]:.4g} | "
                    f"{prof['loss'].min():.3f} - {prof['loss'].max():.3f} |"
                )
        L.append("")
    L += ["## Modelled against observed", "", f"Plot: `{SERIES_PLOT}`.", ""]
    L += ["| series | year | observed | modelled | error | residual |", "|---|---|---|---|---|---|"]
    for name in LOSS_WEIGHTS:
        m = fit.modelled[name]
        o = observed(history, name)
        for year in m.index:
            ov = float(o.get(year, np.nan))
            mv = float(m.get(year, np.nan))
            row = fit.table[(fit.table["series"] == name) & (fit.table["year"] == year)]
            err = (
                float(row["error"].iloc[0])
                if len(row)
                else (mv - ov if OBSERVABLES[name].unit == "share" else mv / ov - 1)
            )
            res = f"{float(row['residual'].iloc[0]):+.3f}" if len(row) else "-"
            L.append(
                f"| `{name}` | {year} | {_fmt(ov, name)} | {_fmt(mv, name)} | {_err(err, name)} | {res} |"
            )
    L += ["", "Error: `model/observed - 1`, or `model - observed` for the share.", ""]
    L += ["## Targets (issue 6)", "", "| target | holds | numbers |", "|---|---|---|"]
    for t in fit.targets:
        L.append(f"| {t.name} | {'yes' if t.ok else '**no**'} | {t.detail} |")
    L += ["", f"{sum(t.ok for t in fit.targets)} of {len(fit.targets)} hold.", ""]
    if cv is not None:
        L += [
            f"## Rolling origin: fit {cv.fit_label}, predict {cv.predicted_label}",
            "",
            f"Fitted values ({cv.fit_label}): "
            + ", ".join(f"`{k}` = {v:.4g}" for k, v in cv.fit.values.items())
            + f"; in-sample loss {cv.fit.loss:.3f}.",
            "",
            "| series | year | observed | predicted | error | residual |",
            "|---|---|---|---|---|---|",
        ]
        for r in cv.predicted.itertuples():
            L.append(
                f"| `{r.series}` | {r.year} | {_fmt(r.observed, r.series)} | {_fmt(r.modelled, r.series)} | "
                f"{_err(r.error, r.series)} | {r.residual:+.3f} |"
            )
        same = fit.table[fit.table["year"] >= cv.holdout]
        L += [
            "",
            f"Loss of the {cv.predicted_label} points: predicted {cv.loss_predicted:.3f}; in the full fit "
            f"{loss(same['residual'].to_numpy(float)):.3f}.",
            "",
        ]
    L += ["## Starts", "", "| start | loss | evaluations | status |", "|---|---|---|---|"]
    for i, s in enumerate(fit.starts):
        vals = ", ".join(f"{v:.3g}" for v in s["start"].values())
        L.append(
            f"| {i + 1}: ({vals}) | {s['loss']:.3f} | {s['nfev']} (+{s['njev']} Jacobians) | {s['message']} |"
        )
    return "\n".join(L) + "\n"


def _profile_points(fit: FitResult) -> int:
    return max((len(p) for p in fit.profiles.values()), default=0)


def _fit_json(fit: FitResult, cv: CrossValidation | None) -> dict[str, Any]:
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    out = {
        "date": fit.date,
        "years": list(fit.years),
        "method": fit.method,
        "values": fit.values,
        "bounds": {k: list(v) for k, v in fit.bounds.items()},
        "loss": fit.loss,
        "rank": fit.rank,
        "condition_number": clean(fit.condition_number),
        "singular_values": [float(s) for s in fit.singular_values],
        "jacobian": fit.jacobian.tolist(),
        "targets": [{"name": t.name, "ok": t.ok, "detail": t.detail} for t in fit.targets],
        "table": json.loads(fit.table.to_json(orient="records")),
        "starts": fit.starts,
        "runs": fit.runs,
        "seconds": fit.seconds,
    }
    if cv is not None:
        out["cross_validation"] = {
            "values": cv.fit.values,
            "loss_fit": cv.fit.loss,
            "holdout": cv.holdout,
            "loss_predicted": cv.loss_predicted,
            "predicted": json.loads(cv.predicted.to_json(orient="records")),
        }
    return out


REPORT_FILES = ("report.md", "fit.json", "observed_vs_modelled.csv", SERIES_PLOT, PROFILE_PLOT)


def write_report(
    fit: FitResult, cv: CrossValidation | None, out_dir: str | Path, *, history: pd.DataFrame | None = None
) -> Path:
    """Write the report directory atomically: a temporary sibling, then a rename.

    Files: ``report.md``, ``fit.json``, ``observed_vs_modelled.csv``,
    ``observed_vs_modelled.png`` (a panel per series) and ``loss_profiles.png``. An existing
    ``out_dir`` is replaced as a whole only once the new one is complete.
    """
    history = load_history() if history is None else history

    def fill(tmp: Path) -> None:
        (tmp / "report.md").write_text(report_markdown(fit, cv, history), encoding="utf-8")
        (tmp / "fit.json").write_text(json.dumps(_fit_json(fit, cv), indent=2, allow_nan=False))
        rows = [
            {
                "series": n,
                "year": int(y),
                "modelled": float(v),
                "observed": float(observed(history, n).get(y, np.nan)),
            }
            for n in LOSS_WEIGHTS
            for y, v in fit.modelled[n].items()
        ]
        pd.DataFrame(rows).to_csv(tmp / "observed_vs_modelled.csv", index=False)
        (tmp / SERIES_PLOT).write_bytes(png_bytes(series_figure(fit, history, cv)))
        (tmp / PROFILE_PLOT).write_bytes(png_bytes(profile_figure(fit)))

    return write_dir_atomic(out_dir, fill, force=True)
