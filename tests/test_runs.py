"""Tests of :mod:`corridors.experiments.runs`: every shipped scenario runs, scenarios share the baseline's
history until they depart from it, manifests, and writing run directories through the API.

The command line (``corridors run`` and friends) is tested in test_cli.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import corridors
import corridors.experiments.runs as runs
from corridors.events import Event
from corridors.network import default_data_dir
from corridors.results import EXPLAIN_TABLES, MAP_TABLES, TABLES, Results, load_results
from corridors.scenario import Scenario, load_scenario, scenario_dir
from corridors.vocabulary import CORRIDORS, quarter_index

SCENARIOS = sorted(scenario_dir().glob("*.toml"))
SHIPPED = {
    "baseline", "sanctions_tighter", "sanctions_relief", "us_c5_partnership", "eu_global_gateway",
    "c5_bloc", "trans_afghan", "cku_railway", "russian_discounts", "caspian_falling", "iran_opening",
    "western_pivot",
}  # fmt: skip
GOOD = Path(__file__).parent / "data" / "scenarios" / "good"
# The scenario conventions (scenarios/README.md): hypothetical events start in 2026Q1 or later,
# so that 2019-2025 are the same history in every run; parameters such as bloc_from_year
# act from 2026 too.
HYPOTHETICAL_FROM = quarter_index("2026Q1")
SHORT, MEDIUM = 2022, 2026


def ids(path: Path) -> str:
    return path.stem


@cache
def scenario(path: Path, end_year: int) -> Scenario:
    return load_scenario(path, overrides={"period.end_year": end_year})


@cache
def baseline_run(end_year: int, stochastic: bool) -> Results:
    return corridors.run(scenario(scenario_dir() / "baseline.toml", end_year), seed=1, stochastic=stochastic)


def _key(ev: Event) -> tuple:
    """An event without its note and end: two events with the same key act alike while active."""
    skip = {"note", "end"}
    return (
        type(ev).__name__,
        *((f.name, getattr(ev, f.name)) for f in dataclasses.fields(ev) if f.name not in skip),
    )


def departure_step(sc: Scenario, base: Scenario) -> int:
    """The first quarter in which the scenario's active events differ from the baseline's."""
    own, ref = sc.events(), base.events()
    last = (sc.period.end_year - 2019 + 1) * 4
    for step in range(min(last, HYPOTHETICAL_FROM)):
        a = sorted(repr(_key(e)) for e in own if e.active(step))
        b = sorted(repr(_key(e)) for e in ref if e.active(step))
        if a != b:
            return step
    return min(last, HYPOTHETICAL_FROM)


def assert_same_until(res: Results, base: Results, step: int, label: str) -> None:
    """Every table of ``res`` equals the baseline's for the steps before ``step``."""
    assert step > 0, f"{label}: departs from the baseline in 2019Q1"
    for name in TABLES:
        a, b = getattr(res, name), getattr(base, name)
        a = a[a["step"] < step].reset_index(drop=True)
        b = b[b["step"] < step].reset_index(drop=True)
        if name != "decisions":
            assert len(a) > 0
        if not a.equals(b):
            detail = ""
            if name == "corridors":
                diff = (a["volume_t"] - b["volume_t"]).abs()
                first = a.loc[diff > 0, ["year", "quarter"]].head(1).to_dict("records")
                detail = f"; volumes first differ in {first}, by up to {diff.max():,.0f} t"
            pytest.fail(
                f"{label}: table {name!r} differs from the baseline's before step {step} "
                f"({2019 + step // 4}Q{step % 4 + 1}){detail}"
            )


# ----------------------------------------------------------------------- every scenario runs


def test_the_twelve_shipped_scenarios_are_there():
    assert {p.stem for p in SCENARIOS} == SHIPPED
    for path in SCENARIOS:
        assert load_scenario(path).name == path.stem, "a scenario's name is its file name"


@pytest.mark.parametrize("path", SCENARIOS, ids=ids)
def test_scenario_runs_with_a_short_horizon(path):
    sc = scenario(path, SHORT)
    res = corridors.run(sc, seed=1)
    assert res.meta["scenario"] == sc.name and res.meta["seed"] == 1
    c = res.corridors
    assert sorted(c["year"].unique()) == list(range(2019, SHORT + 1))
    assert len(c) == (SHORT - 2019 + 1) * 4 * len(CORRIDORS)
    for col in ("volume_t", "demand_t", "backlog_t", "share"):
        assert np.isfinite(c[col]).all() and (c[col] >= 0).all(), col
    assert c.groupby("year")["volume_t"].sum().gt(0).all()
    assert res.summary["last_year"] == SHORT
    # the scenarios' own events start in 2024 or later: 2019-2022 is the baseline's history
    base = scenario(scenario_dir() / "baseline.toml", SHORT)
    step = departure_step(sc, base)
    assert step == (SHORT - 2019 + 1) * 4, f"{sc.name} departs from the baseline at step {step}"
    assert_same_until(res, baseline_run(SHORT, True), step, sc.name)


@pytest.mark.parametrize("stochastic", [False, True], ids=["deterministic", "stochastic"])
@pytest.mark.parametrize("path", [p for p in SCENARIOS if p.stem != "baseline"], ids=ids)
def test_history_is_the_baseline_s_until_the_scenario_departs(path, stochastic):
    """Same seed: every table equals the baseline's until the scenario's first own event.

    Pledges (investments with delivery_probability < 1) made before 2026 are events of
    their own date; the tables must not change before it.
    """
    sc = scenario(path, MEDIUM)
    step = departure_step(sc, scenario(scenario_dir() / "baseline.toml", MEDIUM))
    res = corridors.run(sc, seed=1, stochastic=stochastic)
    assert_same_until(res, baseline_run(MEDIUM, stochastic), step, sc.name)


def test_events_after_the_horizon_are_ignored_not_run():
    sc = scenario(scenario_dir() / "trans_afghan.toml", SHORT)
    full = load_scenario(scenario_dir() / "trans_afghan.toml")
    assert sc.event_specs == [] and len(sc.ignored_events) == len(full.event_specs) > 0
    assert sc.events() == corridors.baseline_events(sc.parameters())


# ----------------------------------------------------------------------- run()


def test_run_by_name_with_overrides_equals_run_of_the_loaded_scenario():
    a = corridors.run("baseline", seed=1, overrides={"period.end_year": SHORT})
    b = baseline_run(SHORT, True)
    for name in TABLES:
        assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def test_run_of_a_scenario_with_overrides_applies_them_on_top():
    sc = scenario(scenario_dir() / "baseline.toml", 2023)
    res = corridors.run(sc, seed=1, overrides={"period.end_year": 2020})
    assert res.corridors["year"].max() == 2020


def test_same_seed_same_tables_other_seed_other_tables():
    sc = scenario(scenario_dir() / "c5_bloc.toml", 2021)
    a, b, c = (corridors.run(sc, seed=s) for s in (5, 5, 6))
    for name in TABLES:
        assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.summary == b.summary
    assert not a.corridors.equals(c.corridors)
    assert not a.edges.equals(c.edges)


def test_default_seed_is_the_scenario_s():
    sc = scenario(scenario_dir() / "baseline.toml", 2020)
    assert sc.seed is not None
    assert corridors.run(sc).meta["seed"] == sc.seed
    assert_frame_equal(
        corridors.run(sc).corridors, corridors.run(sc, seed=sc.seed).corridors, check_exact=True
    )


# ----------------------------------------------------------------------- manifest


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_names_everything_the_run_came_from():
    sc = scenario(scenario_dir() / "trans_afghan.toml", SHORT)
    res = corridors.run(sc, seed=4)
    m = runs.manifest(res, sc)
    assert {"scenario", "seed", "corridors_version", "git_revision", "python", "platform", "created_utc",
            "input_sha256", "ignored_events", "overrides"} <= set(m)  # fmt: skip
    assert m["scenario"] == "trans_afghan" and m["seed"] == 4
    assert m["corridors_version"] == corridors.__version__
    assert m["overrides"] == {"period.end_year": SHORT}
    assert m["ignored_events"] == sc.ignored_events and len(m["ignored_events"]) == 2
    data = default_data_dir()
    for p in data.iterdir():
        if p.is_file():
            assert m["input_sha256"][f"data/{p.name}"] == _sha(p)
    # the whole extends chain is hashed
    assert m["input_sha256"]["scenario/trans_afghan.toml"] == _sha(scenario_dir() / "trans_afghan.toml")
    assert m["input_sha256"]["scenario/baseline.toml"] == _sha(scenario_dir() / "baseline.toml")
    json.dumps(m, allow_nan=False)  # plain JSON


def test_manifest_hashes_the_parameters_file():
    sc = load_scenario(GOOD / "child.toml", overrides={"period.end_year": 2020})
    res = corridors.run(sc, seed=1)
    m = runs.manifest(res, sc)
    fit = GOOD.parent / "parameters" / "fit.toml"
    assert m["input_sha256"]["parameters/fit.toml"] == _sha(fit)
    assert {"scenario/full.toml", "scenario/child.toml"} <= set(m["input_sha256"])


# ----------------------------------------------------------------------- write_run


@pytest.fixture(scope="module")
def short_run() -> tuple[Results, Scenario]:
    sc = scenario(scenario_dir() / "baseline.toml", 2020)
    return corridors.run(sc, seed=2), sc


def _entries(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_write_run_without_plots(short_run, tmp_path):
    res, sc = short_run
    out = runs.write_run(res, sc, tmp_path / "run", plots=False)
    assert out == tmp_path / "run"
    expected = {f"{t}.parquet" for t in (*TABLES, *EXPLAIN_TABLES, *MAP_TABLES)} | {
        "summary.json",
        "meta.json",
        "manifest.json",
        "scenario.toml",
    }
    assert set(_entries(out)) == expected
    assert _entries(tmp_path) == ["run"]
    loaded = load_results(out)
    for name in TABLES:
        assert_frame_equal(getattr(loaded, name), getattr(res, name), check_exact=True)
    assert load_scenario(out / "scenario.toml").to_dict() == {**sc.to_dict(), "seed": res.meta["seed"]}


def test_write_run_refuses_an_existing_directory(short_run, tmp_path):
    res, sc = short_run
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError):
        runs.write_run(res, sc, tmp_path / "run", plots=False)
    assert _entries(tmp_path / "run") == ["mine.txt"]
    assert _entries(tmp_path) == ["run"]


def test_failing_plots_leave_nothing(short_run, tmp_path, monkeypatch):
    res, sc = short_run

    def boom(_res):
        raise RuntimeError("plots broke")

    monkeypatch.setattr(runs, "render_plots", boom)
    with pytest.raises(RuntimeError, match="plots broke"):
        runs.write_run(res, sc, tmp_path / "run")
    assert _entries(tmp_path) == []


def test_failure_half_way_through_writing_leaves_nothing(short_run, tmp_path, monkeypatch):
    """The tables are written, then writing the JSON fails: the temporary directory goes."""
    import corridors.results.run as results

    res, sc = short_run
    seen = []

    def fail(value):
        seen.extend(p.name for p in tmp_path.iterdir())
        raise OSError("disk full")

    monkeypatch.setattr(results, "_strict_json", fail)
    with pytest.raises(OSError, match="disk full"):
        runs.write_run(res, sc, tmp_path / "run", plots=False)
    assert seen and all(name.startswith(".run-") for name in seen), "it failed inside the temporary directory"
    assert _entries(tmp_path) == []


def test_force_replaces_despite_a_stale_old_directory(short_run, tmp_path):
    """A forced write must not depend on a fixed scratch name being free.

    ``Results.save(force=True)`` moves the existing directory to ``.<name>-old`` before
    renaming the new one into place; a ``.<name>-old`` left by an earlier forced write that
    was interrupted (or whose rmtree failed) makes every later ``--force`` fail.
    """
    res, sc = short_run
    out = runs.write_run(res, sc, tmp_path / "run", plots=False)
    stale = tmp_path / ".run-old"
    stale.mkdir()
    (stale / "summary.json").write_text("{}")
    try:
        runs.write_run(res, sc, out, plots=False, force=True)
    except OSError as exc:
        pytest.fail(f"write_run(force=True) with a stale {stale.name} present: {exc!r}")
    assert (out / "meta.json").is_file()


def test_write_run_writes_the_resolved_scenario_with_overrides(tmp_path):
    sc = load_scenario(scenario_dir() / "c5_bloc.toml", overrides={"period.end_year": 2020, "seed": 9})
    res = corridors.run(sc)
    out = runs.write_run(res, sc, tmp_path / "run", plots=False)
    again = load_scenario(out / "scenario.toml")
    assert again.to_dict() == sc.to_dict()
    assert again.parameters() == sc.parameters() and again.events() == sc.events()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == 9 and meta["scenario"] == "c5_bloc"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["overrides"] == {"period.end_year": 2020, "seed": 9}
    pd.testing.assert_frame_equal(pd.read_parquet(out / "corridors.parquet"), res.corridors, check_exact=True)


# ----------------------------------------------------------------------- composed scenarios

_PIVOT_PARTS = ("us_c5_partnership", "eu_global_gateway", "c5_bloc", "sanctions_tighter")


def _own(name: str) -> tuple[list[str], dict]:
    """A shipped scenario's own events (after the baseline's history) and parameters as the file gives them."""
    sc, base = load_scenario(scenario_dir() / f"{name}.toml"), load_scenario(scenario_dir() / "baseline.toml")
    own = [json.dumps(ev.to_dict(), sort_keys=True) for ev in sc.events()[len(base.events()) :]]
    inherited = base.parameter_values.model_dump(exclude_none=True)
    params = {
        k: v for k, v in sc.parameter_values.model_dump(exclude_none=True).items() if inherited.get(k) != v
    }
    return own, params


def test_western_pivot_is_exactly_its_four_parts():
    """western_pivot restates every event and parameter of its four parts and adds nothing.

    The file repeats its parts' events so that it reads on its own; a change to a part (the
    World Bank programme's links, a pledge's probability) that is not carried over would make
    the pivot quietly differ from what it says it composes.
    """
    pivot_events, pivot_params = _own("western_pivot")
    parts_events: list[str] = []
    parts_params: dict = {}
    for part in _PIVOT_PARTS:
        events, params = _own(part)
        parts_events += events
        assert not set(params) & set(parts_params), f"{part} sets a parameter another part sets"
        parts_params.update(params)
    assert sorted(pivot_events) == sorted(parts_events)
    assert pivot_params == parts_params


def test_western_pivot_differs_from_each_part():
    """The pivot's Middle Corridor transit time and volume differ from each part's (deterministic, 2030/2035)."""

    def headline(name: str) -> tuple[float, float]:
        r = corridors.run(name, seed=7, stochastic=False)
        v = r.annual_volumes()
        middle = v[v.corridor == "middle"].set_index("year")["volume_t"]
        return float(r.observable("middle_transit_days")[2030]), float(middle[2035])

    pivot = headline("western_pivot")
    for part in _PIVOT_PARTS:
        days, tonnes = headline(part)
        assert abs(pivot[0] - days) / days > 0.01 or abs(pivot[1] - tonnes) / tonnes > 0.01, part
