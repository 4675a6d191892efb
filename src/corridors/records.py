"""What a run leaves behind in an ensemble: named scalar outcomes and a small annual record.

:func:`outcomes` gives a run's headline numbers by name (what ``corridors.run_one`` returns
to optimisers and samplers); :func:`run_table` the run's record in long form, small enough to
keep one file per run; :func:`merge_runs` turns the records of many runs into the tables of
an :class:`~corridors.results.EnsembleResults`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from corridors.network import CORRIDORS
from corridors.parameters import C5
from corridors.results import OBSERVABLES, EnsembleResults, Results

__all__ = ["CORRIDOR_VARIABLES", "merge_runs", "outcomes", "run_table"]

CORRIDOR_VARIABLES = ("volume_t", "share", "cost_usd_per_t", "time_days", "utilisation", "backlog_t")


def outcomes(res: Results) -> dict[str, float]:
    """Named scalar outcomes of a run (its last year unless named otherwise); NaN if none.

    ``<corridor>_volume_t``, ``<corridor>_share``, ``<corridor>_time_days``;
    ``middle_overtakes_russian_year``; ``russian_dependence_<state>``, ``herfindahl_<state>``;
    ``critical_minerals_to_west_t``; ``max_backlog_t``; and each observable of
    :data:`corridors.results.OBSERVABLES` in the last year.
    """
    s = res.summary
    out: dict[str, float] = {}
    for c in CORRIDORS:
        out[f"{c}_volume_t"] = _num(s["volume_t_last_year"].get(c))
        out[f"{c}_share"] = _num(s["share_last_year"].get(c))
        out[f"{c}_time_days"] = _num(s["mean_time_days_last_year"].get(c))
    out["middle_overtakes_russian_year"] = _num(s.get("middle_overtakes_russian_year"))
    for state in C5:
        out[f"russian_dependence_{state}"] = _num(s["russian_dependence_last_year"].get(state))
        out[f"herfindahl_{state}"] = _num(s["herfindahl_last_year"].get(state))
    out["critical_minerals_to_west_t"] = _num(s.get("critical_minerals_to_west_t_last_year"))
    out["max_backlog_t"] = _num(s.get("max_backlog_t"))
    for name in OBSERVABLES:
        series = res.observable(name)
        out[name] = _num(series.iloc[-1]) if len(series) else math.nan
    return out


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def run_table(res: Results) -> pd.DataFrame:
    """A run's record in long form (year, corridor, variable, value), small enough to keep.

    Annual corridor tables (``corridor`` set), observables by year (``corridor`` empty) and
    the scalar :func:`outcomes` (``year`` 0).
    """
    c = res.corridors
    g = c.assign(
        cost_w=c["cost_usd_per_t"].fillna(0.0) * c["volume_t"],
        time_w=c["time_days"].fillna(0.0) * c["volume_t"],
    ).groupby(["year", "corridor"], sort=False)
    annual = res.annual_volumes().set_index(["year", "corridor"])
    with np.errstate(invalid="ignore", divide="ignore"):
        annual["share"] = annual["volume_t"] / annual.groupby(level="year")["volume_t"].transform("sum")
        annual["cost_usd_per_t"] = g["cost_w"].sum() / annual["volume_t"].where(annual["volume_t"] > 0)
        annual["time_days"] = g["time_w"].sum() / annual["volume_t"].where(annual["volume_t"] > 0)
    annual["utilisation"] = g["utilisation"].mean()
    annual["backlog_t"] = g["backlog_t"].mean()
    long = annual[list(CORRIDOR_VARIABLES)].stack(future_stack=True).rename("value").reset_index()
    long.columns = ["year", "corridor", "variable", "value"]
    obs = pd.concat([res.observable(n) for n in OBSERVABLES], axis=1)
    obs = obs.stack(future_stack=True).rename("value").reset_index()
    obs.columns = ["year", "variable", "value"]
    obs.insert(1, "corridor", "")
    scalar = outcomes(res)
    scalars = pd.DataFrame(
        {"year": 0, "corridor": "", "variable": list(scalar), "value": list(scalar.values())}
    )
    out = pd.concat([long, obs, scalars], ignore_index=True)
    return out.astype({"year": "int64", "corridor": str, "variable": str, "value": "float64"})


def merge_runs(
    design: pd.DataFrame, tables: Mapping[int, pd.DataFrame], errors: Mapping[int, dict], meta: dict
) -> EnsembleResults:
    runs = sorted(tables)
    replicate = design.set_index("run")["replicate"]
    if runs:
        long = pd.concat([tables[r].assign(run=r) for r in runs], ignore_index=True)
    else:
        long = pd.DataFrame({"run": pd.Series(dtype="int64"), "year": pd.Series(dtype="int64"),
                             "corridor": pd.Series(dtype=str), "variable": pd.Series(dtype=str),
                             "value": pd.Series(dtype="float64")})  # fmt: skip
    long["replicate"] = long["run"].map(replicate).astype("int64")
    corr = long[long["corridor"] != ""]
    corr = corr.set_index(["run", "replicate", "year", "corridor", "variable"])["value"].unstack("variable")
    corr = corr.reindex(columns=list(CORRIDOR_VARIABLES)).reset_index()
    order = {c: i for i, c in enumerate(CORRIDORS)}
    corr = corr.sort_values(
        ["run", "year", "corridor"], key=lambda s: s.map(order) if s.name == "corridor" else s
    )
    obs = long[(long["corridor"] == "") & (long["year"] > 0)]
    obs = obs.set_index(["run", "replicate", "year", "variable"])["value"].unstack("variable")
    obs = obs.reindex(columns=list(OBSERVABLES)).reset_index().sort_values(["run", "year"])
    scal = long[long["year"] == 0]
    names = list(dict.fromkeys(scal["variable"]))
    scal = (
        scal.set_index(["run", "variable"])["value"].unstack("variable").reindex(columns=names).reset_index()
    )
    outs = design.merge(scal, on="run", how="inner").sort_values("run")
    failures = pd.DataFrame(
        [{k: e[k] for k in ("run", "replicate", "error", "message")} for _, e in sorted(errors.items())],
        columns=["run", "replicate", "error", "message"],
    )
    corr, obs, outs = (t.reset_index(drop=True).rename_axis(columns=None) for t in (corr, obs, outs))
    return EnsembleResults(
        corridors=corr, observables=obs, outcomes=outs, design=design.copy(), failures=failures, meta=meta
    )
