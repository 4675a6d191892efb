"""Tests of :mod:`corridors.experiments.plans`: the design of runs (``plan_design``), a plan's
tasks and fingerprint, one task executed in this process, the error record of a failed run,
and the checks of the ensemble functions' arguments."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from corridors.errors import ScenarioError
from corridors.experiments import plans
from corridors.experiments.executors import Execution
from corridors.experiments.plans import (
    Plan,
    RunTask,
    check_count,
    check_end_year,
    error_record,
    jsonable,
    plan_design,
    resolve_execution,
)
from corridors.scenario import load_scenario
from corridors.uncertainty import draw_parameters

UNCERTAIN = Path(__file__).parent / "data" / "scenarios" / "good" / "uncertain.toml"


@pytest.fixture(scope="module")
def uncertain():
    return load_scenario(UNCERTAIN)


def test_plan_design_is_points_times_replicates_with_their_draws(uncertain):
    points = pd.DataFrame({"cost_elasticity": [3.0, 5.0], "max_vessels": [7.4, 12.6]})
    design = plan_design(points, 3, uncertain, seed=11)
    assert list(design["run"]) == list(range(6))
    assert list(design["point"]) == [0, 0, 0, 1, 1, 1]
    assert list(design["replicate"]) == [0, 1, 2, 0, 1, 2]
    # a swept value wins over the draw; integer parameters are rounded
    assert list(design["cost_elasticity"]) == [3.0] * 3 + [5.0] * 3
    assert list(design["max_vessels"]) == [7] * 3 + [13] * 3
    for row in design.itertuples(index=False):
        draws = draw_parameters(uncertain.uncertainty, 11, row.replicate)
        assert row.renewal_rate == draws["renewal_rate"]
        assert row.vessel_t_per_quarter == draws["vessel_t_per_quarter"]
    # no points: one point, the scenario's values, with the draws only
    alone = plan_design(pd.DataFrame(), 2, uncertain, seed=11)
    assert list(alone["point"]) == [0, 0] and set(alone.columns) == {
        "run", "point", "replicate", *uncertain.uncertainty
    }  # fmt: skip


def test_tasks_follow_the_design_and_leave_missing_values_to_the_scenario(uncertain):
    design = pd.DataFrame(
        {"run": [0, 1], "point": [0, 1], "replicate": [0, 0], "cost_elasticity": [2.5, np.nan], "max_vessels": [8.0, 9.0]}
    )  # fmt: skip
    plan = Plan("sweep", uncertain, seed=4, design=design, end_year=2020, stochastic=False)
    tasks = plan.tasks()
    assert [t.run for t in tasks] == [0, 1]
    assert tasks[0].values == {"cost_elasticity": 2.5, "max_vessels": 8}
    assert tasks[1].values == {"max_vessels": 9} and isinstance(tasks[1].values["max_vessels"], int)
    assert all(t.seed == 4 and t.end_year == 2020 and t.stochastic is False for t in tasks)
    assert tasks[0].scenario_toml == uncertain.to_toml()


def test_the_fingerprint_changes_with_what_the_plan_runs(uncertain):
    design = plan_design(pd.DataFrame({"cost_elasticity": [3.0]}), 2, uncertain, seed=1)

    def plan(**kw) -> Plan:
        args = {"kind": "sweep", "sc": uncertain, "seed": 1, "design": design, "end_year": None} | kw
        return Plan(**args)

    base = plan().fingerprint()
    assert base == plan(design=design.copy()).fingerprint()
    assert len(base) == 64
    others = [
        plan(seed=2),
        plan(kind="ensemble"),
        plan(end_year=2020),
        plan(stochastic=False),
        plan(extra={"design": "grid"}),
        plan(design=design.assign(cost_elasticity=3.5)),
    ]
    assert len({base, *(p.fingerprint() for p in others)}) == 1 + len(others)


def test_execute_runs_a_task_or_records_its_error(uncertain):
    task = RunTask(0, 1, 3, {"cost_elasticity": 3.0}, 2019, False, uncertain.to_toml())
    done = plans.execute(task)
    assert done["run"] == 0 and "error" not in done and done["seconds"] >= 0
    assert set(done["table"].columns) == {"year", "corridor", "variable", "value"}
    bad = RunTask(1, 0, 3, {"cost_elasticity": 3.0}, 2019, False, "not = = toml")
    failed = plans.execute(bad)
    assert failed["run"] == 1 and "table" not in failed
    assert failed["error"]["run"] == 1 and failed["error"]["values"] == {"cost_elasticity": 3.0}


def test_error_record_names_the_scenario_copy_and_keeps_one_line():
    task = RunTask(7, 2, 1, {"renewal_rate": 0.5}, None, True, "")
    try:
        raise ScenarioError(
            "/tmp/corridors-x/scenario.toml", "events[0].lag_quarters", "not a\n whole number"
        )
    except ScenarioError as exc:
        record = error_record(task, exc)
    assert record["run"] == 7 and record["replicate"] == 2 and record["values"] == {"renewal_rate": 0.5}
    assert record["error"] == "ScenarioError"
    assert record["message"] == "scenario.toml: events[0].lag_quarters: not a whole number"
    assert "Traceback" in record["traceback"] and "ScenarioError" in record["traceback"]
    other = error_record(task, ZeroDivisionError("division by zero"))
    assert other["error"] == "ZeroDivisionError" and other["message"] == "division by zero"


@pytest.mark.parametrize("value", [0, -1, 1.0, True, "2", None])
def test_check_count_refuses_what_is_not_a_count(value):
    with pytest.raises(
        ValueError, match=f"^{re.escape(f'replicates: must be an integer >= 1, got {value!r}')}$"
    ):
        check_count("replicates", value)


def test_check_count_accepts_integers_from_the_minimum():
    assert check_count("samples", np.int64(4), minimum=2) == 4 and isinstance(
        check_count("samples", 2, 2), int
    )


def test_check_end_year(uncertain):
    first = uncertain.period.report_from
    check_end_year(uncertain, None)
    check_end_year(uncertain, first)
    check_end_year(uncertain, 2100)
    for bad in (first - 1, 2101, 2030.0, True):
        with pytest.raises(ValueError, match=rf"end_year: must be an integer from .*\({first}\) to 2100"):
            check_end_year(uncertain, bad)


def test_resolve_execution():
    assert resolve_execution(None, 3) == Execution(workers=3)
    given = Execution(workers=2)
    assert resolve_execution(given, None) is given
    with pytest.raises(ValueError, match=r"execution: must be a corridors\.Execution"):
        resolve_execution({"workers": 2}, None)
    with pytest.raises(ValueError, match=r"workers: give it in execution=Execution\(workers=2"):
        resolve_execution(given, 2)


def test_jsonable_gives_only_json_types():
    value = {
        1: (np.int64(2), np.float32(0.5)),
        "p": Path("a/b"),
        "bad": [math.nan, math.inf, -math.inf],
        "s": "x",
    }
    out = jsonable(value)
    assert out == {"1": [2, 0.5], "p": "a/b", "bad": [None, None, None], "s": "x"}
    assert type(out["1"][0]) is int and type(out["1"][1]) is float
