"""What a run leaves behind in an ensemble: named scalar outcomes and a small annual record.

:func:`outcomes` gives a run's headline numbers by name (what ``corridors.run_one`` returns
to optimisers and samplers); :func:`run_table` the run's record in long form, small enough to
keep one file per run; :func:`merge_runs` turns the records of many runs into the tables of
an :class:`~corridors.results.EnsembleResults`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from corridors.results import OBSERVABLES, EnsembleResults, Results
from corridors.results.columns import _kahan, _pandas_reduceat, _tiled_text
from corridors.vocabulary import C5, CORRIDORS

__all__ = ["CORRIDOR_VARIABLES", "merge_runs", "outcomes", "run_table"]

CORRIDOR_VARIABLES = ("volume_t", "share", "cost_usd_per_t", "time_days", "utilisation", "backlog_t")


def outcomes(res: Results) -> dict[str, float]:
    """Named scalar outcomes of a run (its last year unless named otherwise); NaN if none.

    ``<corridor>_volume_t``, ``<corridor>_share``, ``<corridor>_time_days``;
    ``middle_overtakes_russian_year``; ``russian_dependence_<state>``, ``herfindahl_<state>``;
    ``critical_minerals_to_west_t``; ``max_backlog_t``; and each observable of
    :data:`corridors.results.OBSERVABLES` in the last year.
    """
    return _outcomes(res)


def _outcomes(res: Results, observed: Mapping[str, np.ndarray] | None = None) -> dict[str, float]:
    """:func:`outcomes`, given the observables by year if they are known (``Results._observable_values``)."""
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
    if observed is None:
        observed = res._observable_values(OBSERVABLES)[1]
    for name in OBSERVABLES:
        values = observed[name]
        out[name] = float(values[-1]) if len(values) else math.nan
    return out


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def run_table(res: Results) -> pd.DataFrame:
    """Return a run's record in long form (year, corridor, variable, value), small enough to keep.

    Annual corridor tables (``corridor`` set), observables by year (``corridor`` empty) and
    the scalar :func:`outcomes` (``year`` 0).

    The annual corridor variables are those of :func:`_run_table_pandas` (sums of volumes,
    volume-weighted costs and times, mean utilisation and backlog), computed by
    :func:`_annual` from the arrays of a corridors table as runs write it; the observables
    come once from ``Results._observable_values``, for the table and for the outcomes.
    The table is the same, to the bit, as the one :func:`_run_table_pandas` builds with
    pandas, which builds it when :func:`_annual` cannot.
    """
    annual = _annual(res.corridors)
    if annual is None:
        return _run_table_pandas(res)
    years, values = annual
    _, observed = res._observable_values(OBSERVABLES)
    scalar = _outcomes(res, observed)
    corridor, variable = _text_columns(len(years), tuple(scalar))
    per_year = len(CORRIDORS) * len(CORRIDOR_VARIABLES)
    year = np.concatenate(
        [
            np.repeat(years, per_year),
            np.repeat(years, len(OBSERVABLES)),
            np.zeros(len(scalar), dtype=np.int64),
        ]
    )
    value = np.concatenate(
        [
            values.ravel(),
            np.column_stack([observed[n] for n in OBSERVABLES]).ravel(),
            np.array(list(scalar.values()), dtype=np.float64),
        ]
    )
    return pd.DataFrame(
        {
            "year": year.astype(np.int64, copy=False),
            "corridor": corridor.copy(),
            "variable": variable.copy(),
            "value": value.astype(np.float64, copy=False),
        },
        copy=False,
    )


def _annual(c: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the annual corridor variables of :func:`_run_table_pandas`, the same numbers.

    They are the years and the ``(year, corridor, variable)`` values.

    The corridors table must hold the corridors in the order of ``CORRIDORS`` at every step,
    and its steps in order of year, with several steps in some year (else ``None``). Then
    the rows of a year and corridor are those of the year's steps, which pandas' groupby
    (keyed by year and corridor, unsorted: so not in sorted groups) adds in their order
    with Kahan summation, NaN skipped, as :func:`~corridors.results.columns._kahan` adds them: the
    steps of each year padded with NaN to the longest year, added step by step. The
    years' totals (of the annual frame, sorted by year) pandas 3.1 adds with
    ``np.add.reduceat``, unless one is NaN (then ``None``; and with earlier versions of
    pandas, which add them otherwise).
    """
    K = len(CORRIDORS)
    if not len(c) or len(c) % K or K < 2:
        return None
    T = len(c) // K
    year = c["year"].to_numpy()
    if year.dtype != np.int64 or not _is_tiled(c["corridor"], CORRIDORS, T):
        return None
    by_step = year.reshape(T, K)
    step_year = by_step[:, 0]
    if (by_step != step_year[:, None]).any() or (step_year[1:] < step_year[:-1]).any():
        return None
    years, first, steps = np.unique(step_year, return_index=True, return_counts=True)
    if steps.max() < 2 or not _pandas_reduceat():
        return None  # each group's rows in one run: pandas adds them with np.add.reduceat
    volume = c["volume_t"].to_numpy()
    cost = c["cost_usd_per_t"].to_numpy()
    time = c["time_days"].to_numpy()
    with np.errstate(invalid="ignore"):  # an infinity times 0
        columns = (
            volume,
            np.where(np.isnan(cost), 0.0, cost) * volume,  # fillna(0.0) * volume_t
            np.where(np.isnan(time), 0.0, time) * volume,
            c["utilisation"].to_numpy(),
            c["backlog_t"].to_numpy(),
        )
    Y, Q, V = len(years), int(steps.max()), len(columns)
    padded = np.full((Q, Y, K, V), np.nan)
    padded[np.arange(T) - np.repeat(first, steps), np.repeat(np.arange(Y), steps)] = np.stack(
        [np.asarray(v, dtype=np.float64).reshape(T, K) for v in columns], axis=-1
    )
    with np.errstate(invalid="ignore"):
        total, count = _kahan(padded.reshape(Q, -1), skipna=True)
    total, count = total.reshape(Y, K, V), count.reshape(Y, K, V)
    vol = total[..., 0]
    if np.isnan(vol).any():
        return None
    year_total = np.add.reduceat(vol.ravel(), np.arange(0, Y * K, K))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = vol / year_total[:, None]
        moved = np.where(vol > 0, vol, np.nan)
        mean = np.where(count[..., 3:] > 0, total[..., 3:] / count[..., 3:], np.nan)
        values = np.stack(
            [vol, share, total[..., 1] / moved, total[..., 2] / moved, mean[..., 0], mean[..., 1]], axis=-1
        )
    return years, values


def _is_tiled(column: pd.Series, values: tuple[str, ...], reps: int) -> bool:
    """Whether a text column holds ``values`` ``reps`` times over (``np.tile``)."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        expected = _tiled_text(values, reps)
        if isinstance(expected, pd.api.extensions.ExtensionArray):
            chunks, tiled = column.array.__arrow_array__(), expected.__arrow_array__()
            if chunks.type == tiled.type:
                return chunks.equals(tiled)
    return bool(np.array_equal(column.to_numpy(dtype=object), np.tile(np.array(values, dtype=object), reps)))


@functools.lru_cache(maxsize=16)
def _text_columns(n_years: int, scalars: tuple[str, ...]) -> tuple[Any, Any]:
    """Return the corridor and variable columns of :func:`run_table`, built once.

    They cover ``n_years`` years, then the outcomes ``scalars``, converted as
    :func:`_run_table_pandas` converts them.
    """
    corridors = np.array(CORRIDORS, dtype=object)
    corridor = np.concatenate(
        [
            np.tile(np.repeat(corridors, len(CORRIDOR_VARIABLES)), n_years),
            np.full(len(OBSERVABLES) * n_years + len(scalars), "", dtype=object),
        ]
    )
    variable = np.concatenate(
        [
            np.tile(np.array(CORRIDOR_VARIABLES, dtype=object), n_years * len(CORRIDORS)),
            np.tile(np.array(list(OBSERVABLES), dtype=object), n_years),
            np.array(scalars, dtype=object),
        ]
    )
    return (
        pd.Series(corridor, dtype=object).astype(str).array,
        pd.Series(variable, dtype=object).astype(str).array,
    )


def _run_table_pandas(res: Results) -> pd.DataFrame:
    """:func:`run_table` computed with pandas (groupby, stack, concat), for any tables."""
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
    """Turn the records of many runs into the tables of an :class:`~corridors.results.EnsembleResults`.

    Parameters
    ----------
    design : pandas.DataFrame
        Every planned run: run, point, replicate and its parameter values.
    tables : mapping of int to pandas.DataFrame
        The :func:`run_table` of each finished run, by run.
    errors : mapping of int to dict
        The failure (run, replicate, error, message) of each run that raised, by run.
    meta : dict
        The ensemble's metadata, kept as it is.

    Returns
    -------
    EnsembleResults
        The corridors and observables tables by run and year, the outcomes (each finished
        run's design row, then its scalars), the design and the failures, sorted by run.
    """
    runs = sorted(tables)
    replicate = design.set_index("run")["replicate"]
    if runs:
        long = pd.concat([tables[r].assign(run=r) for r in runs], ignore_index=True)
    else:
        long = pd.DataFrame(
            {
                "run": pd.Series(dtype="int64"),
                "year": pd.Series(dtype="int64"),
                "corridor": pd.Series(dtype=str),
                "variable": pd.Series(dtype=str),
                "value": pd.Series(dtype="float64"),
            }
        )
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
