"""Tests of :mod:`corridors.experiments.records`: a run's small annual table (``run_table``),
checked against its computation with pandas, and the merging of runs' tables (``merge_runs``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import corridors
from corridors.experiments import records
from corridors.experiments.records import CORRIDOR_VARIABLES, merge_runs, outcomes, run_table
from corridors.results import OBSERVABLES, TABLES

END = 2021


def test_run_table_is_annual_and_small():
    res = corridors.run("baseline", seed=1, end_year=END)
    t = run_table(res)
    assert set(t["year"]) == {0, 2019, 2020, 2021}
    vol = t[t["variable"] == "volume_t"].set_index(["year", "corridor"])["value"]
    ref = res.annual_volumes().set_index(["year", "corridor"])["volume_t"]
    assert vol.to_dict() == ref.to_dict()
    assert len(t) < 200


def _pandas_run_table(res: corridors.Results) -> pd.DataFrame:
    """run_table computed with pandas: groupby, stack and concat of the annual tables,
    the observables and the outcomes."""
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
    for name in OBSERVABLES:
        assert scalar[name] == res.observable(name).iloc[-1] or math.isnan(scalar[name]), name
    scalars = pd.DataFrame(
        {"year": 0, "corridor": "", "variable": list(scalar), "value": list(scalar.values())}
    )
    out = pd.concat([long, obs, scalars], ignore_index=True)
    return out.astype({"year": "int64", "corridor": str, "variable": str, "value": "float64"})


def _changed(res: corridors.Results, how: str) -> corridors.Results:
    """The run with the rows or numbers of its tables changed."""
    tables = {name: getattr(res, name).copy() for name in TABLES}
    rng = np.random.default_rng(2)
    c = tables["corridors"]
    if how == "trimmed":
        return res.trimmed(2020)
    if how == "partial last year":  # the last two quarters dropped
        last = c["step"].max()
        for name in ("corridors", "countries", "edges"):
            tables[name] = tables[name][tables[name]["step"] <= last - 2].reset_index(drop=True)
    elif how == "nan":  # NaN and infinite numbers: skipped, or spread, as pandas does
        for column, value in (("volume_t", np.nan), ("utilisation", np.nan), ("backlog_t", np.inf)):
            c.loc[rng.random(len(c)) < 0.1, column] = value
        c.loc[c["year"] == 2020, "volume_t"] = 0.0
    elif how == "negative zeros":
        for column in ("volume_t", "backlog_t", "utilisation"):
            c.loc[rng.random(len(c)) < 0.3, column] = -0.0
    elif how == "one step a year":  # pandas adds sorted groups with np.add.reduceat
        for name in ("corridors", "countries", "edges"):
            tables[name] = tables[name][tables[name]["quarter"] == 1].reset_index(drop=True)
    elif how == "shuffled":  # not the rows of a run, in the order of a run
        tables["corridors"] = c.sample(frac=1.0, random_state=1).reset_index(drop=True)
    out = corridors.Results(**tables, meta=dict(res.meta))
    out.summary = out.indicators()
    return out


@pytest.mark.parametrize(
    "how",
    [
        "as run",
        "trimmed",
        "partial last year",
        "nan",
        "negative zeros",
        "one step a year",
        "shuffled",
        "pandas < 3.1",
    ],
)
def test_run_table_is_its_pandas_computation(how, monkeypatch):
    res = corridors.run("baseline", seed=1, end_year=END)
    if how == "pandas < 3.1":  # one that adds sorted groups otherwise: pandas does the adding
        for module in (records, corridors.results.columns):
            monkeypatch.setattr(module, "_pandas_reduceat", lambda: False)
    elif how != "as run":
        res = _changed(res, how)
    # the tables of a run take the NumPy path (with pandas 3.1); others pandas'
    pandas_path = how in ("one step a year", "shuffled") or not records._pandas_reduceat()
    assert (records._annual(res.corridors) is None) == pandas_path
    t, expected = run_table(res), _pandas_run_table(res)
    assert_frame_equal(t, expected, check_exact=True)
    got, want = t["value"].to_numpy(), expected["value"].to_numpy()
    assert np.array_equal(np.signbit(got), np.signbit(want))  # -0.0 where pandas gives -0.0
    assert list(t.columns) == ["year", "corridor", "variable", "value"] and isinstance(t.index, pd.RangeIndex)


def test_merge_runs_spreads_the_runs_tables_by_run_and_keeps_the_failures():
    res = corridors.run("baseline", seed=1, end_year=END)
    design = pd.DataFrame({"run": [0, 1, 2], "point": [0, 0, 1], "replicate": [0, 1, 0], "cost_elasticity": [2.0, 2.0, 5.0]})  # fmt: skip
    t = run_table(res)
    error = {"run": 1, "replicate": 1, "error": "ScenarioError", "message": "bad", "traceback": "..."}
    ens = merge_runs(design, {2: t, 0: t}, {1: error}, {"kind": "sweep"})
    assert list(ens.corridors.columns) == ["run", "replicate", "year", "corridor", *CORRIDOR_VARIABLES]
    assert sorted(set(ens.corridors["run"])) == [0, 2]
    one = ens.corridors[ens.corridors["run"] == 2].set_index(["year", "corridor"])["volume_t"]
    assert one.to_dict() == res.annual_volumes().set_index(["year", "corridor"])["volume_t"].to_dict()
    assert list(ens.observables.columns) == ["run", "replicate", "year", *OBSERVABLES]
    assert list(ens.outcomes["run"]) == [0, 2] and list(ens.outcomes["cost_elasticity"]) == [2.0, 5.0]
    for name, value in outcomes(res).items():
        got = ens.outcomes[name].iloc[1]
        assert (math.isnan(value) and math.isnan(got)) or got == value, name
    assert ens.failures.to_dict(orient="records") == [
        {"run": 1, "replicate": 1, "error": "ScenarioError", "message": "bad"}
    ]
    assert_frame_equal(ens.design, design) and ens.meta == {"kind": "sweep"}


def test_merge_runs_of_no_finished_run_gives_empty_tables():
    design = pd.DataFrame({"run": [0], "point": [0], "replicate": [0]})
    ens = merge_runs(design, {}, {}, {})
    assert ens.corridors.empty and ens.observables.empty and ens.outcomes.empty and ens.failures.empty
