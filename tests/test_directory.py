"""Tests of :mod:`corridors.experiments.directory`: the files of an ensemble directory, one per
run, read back by run; a directory opened again only for the same plan; the merged tables and
the manifest's status once the runs are done. (A sweep killed part-way and resumed is tested
in tests/test_ensemble.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from corridors.experiments.directory import (
    finish_directory,
    finished_runs,
    open_directory,
    read_runs,
    run_path,
    save_run,
    write_json,
)
from corridors.experiments.plans import Plan, plan_design
from corridors.experiments.records import merge_runs
from corridors.scenario import load_scenario

UNCERTAIN = Path(__file__).parent / "data" / "scenarios" / "good" / "uncertain.toml"


class StubExecutor:
    """What open_directory asks of an executor: to describe itself for the manifest."""

    def describe(self) -> dict:
        return {"executor": "stub", "workers": 1}


def table(value: float) -> pd.DataFrame:
    return pd.DataFrame({"year": [2019, 0], "corridor": ["middle", ""], "variable": ["volume_t", "x"],
                         "value": [value, value / 2]})  # fmt: skip


@pytest.fixture(scope="module")
def plan() -> Plan:
    sc = load_scenario(UNCERTAIN)
    design = plan_design(pd.DataFrame({"cost_elasticity": [2.0, 4.0]}), 2, sc, seed=9)
    return Plan("sweep", sc, seed=9, design=design, end_year=2020)


def test_run_path_names_one_file_per_run(tmp_path):
    assert run_path(tmp_path, 42, ".parquet") == tmp_path / "runs" / "run-000042.parquet"
    assert run_path(tmp_path, 7, ".error.json").name == "run-000007.error.json"


def test_saved_runs_are_read_back_by_run(tmp_path):
    (tmp_path / "runs").mkdir()
    design = pd.DataFrame({"run": [0, 1, 2, 3]})
    save_run(tmp_path, 0, {"run": 0, "table": table(1.0)})
    save_run(tmp_path, 2, {"run": 2, "error": {"run": 2, "message": "no"}})
    save_run(tmp_path, 3, {"run": 3, "error": {"run": 3, "message": "first try"}})
    save_run(tmp_path, 3, {"run": 3, "table": table(3.0)})  # a retry that worked removes the error
    assert finished_runs(tmp_path) == {0, 3}
    assert not run_path(tmp_path, 3, ".error.json").exists()
    tables, errors = read_runs(tmp_path, design)
    assert sorted(tables) == [0, 3] and errors == {2: {"run": 2, "message": "no"}}
    assert_frame_equal(tables[3], table(3.0))
    assert not [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")]


def test_write_json_writes_nan_as_null(tmp_path):
    write_json(tmp_path / "a.json", {"x": float("nan"), "y": [1, 2.5]})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": None, "y": [1, 2.5]}


def test_open_directory_writes_the_plan_then_reopens_only_for_the_same_plan(tmp_path, plan):
    out = tmp_path / "sweep"
    assert open_directory(out, plan, StubExecutor(), force=False) == out
    assert sorted(p.name for p in out.iterdir()) == [
        "design.parquet",
        "manifest.json",
        "runs",
        "scenario.toml",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["fingerprint"] == plan.fingerprint() and manifest["status"] == "running"
    assert manifest["kind"] == "sweep" and manifest["runs"] == 4 and manifest["executor"] == "stub"
    assert_frame_equal(pd.read_parquet(out / "design.parquet"), plan.design)
    # the same plan again: the directory is kept, the finished runs with it, stale temporaries go
    save_run(out, 1, {"run": 1, "table": table(1.0)})
    (out / "runs" / ".run-000002-abc.parquet").write_bytes(b"half")
    assert open_directory(out, plan, StubExecutor(), force=False) == out
    assert finished_runs(out) == {1} and not list((out / "runs").glob(".*"))
    # another plan is refused, unless forced (then the directory starts afresh)
    other = Plan("sweep", plan.sc, seed=10, design=plan.design, end_year=2020)
    with pytest.raises(FileExistsError, match="holds a different sweep"):
        open_directory(out, other, StubExecutor(), force=False)
    open_directory(out, other, StubExecutor(), force=True)
    assert finished_runs(out) == set()
    assert json.loads((out / "manifest.json").read_text())["fingerprint"] == other.fingerprint()


def test_open_directory_refuses_a_directory_that_is_not_an_ensembles(tmp_path, plan):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="exists and is not an ensemble directory"):
        open_directory(tmp_path / "mine", plan, StubExecutor(), force=False)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_finish_directory_writes_the_tables_and_the_status(tmp_path, plan):
    out = open_directory(tmp_path / "sweep", plan, StubExecutor(), force=False)
    for run in (0, 1, 2):
        save_run(out, run, {"run": run, "table": table(float(run))})
    error = {"run": 3, "replicate": 1, "error": "ScenarioError", "message": "bad", "values": {}}
    save_run(out, 3, {"run": 3, "error": error})
    tables, errors = read_runs(out, plan.design)
    ens = merge_runs(plan.design, tables, errors, {"kind": "sweep"})
    finish_directory(out, ens, plan)
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["status"], manifest["finished"], manifest["failed"]) == ("incomplete", 3, 1)
    assert set(ens.files()) <= {p.name for p in out.iterdir()}
    # all four finished: complete
    save_run(out, 3, {"run": 3, "table": table(3.0)})
    finish_directory(out, merge_runs(plan.design, *read_runs(out, plan.design), {}), plan)
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["status"], manifest["finished"], manifest["failed"]) == ("complete", 4, 0)
