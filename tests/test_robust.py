"""corridors robust: the regret arithmetic, the dominant candidate found by real runs, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from corridors.cli import app
from corridors.errors import ScenarioError
from corridors.experiments import robust as grid
from corridors.experiments.regret import future_weights, regret_summary, regret_table
from corridors.scenario.candidates import load_candidates

# ----------------------------------------------------------------------- the arithmetic


def test_regret_of_a_known_table():
    net = pd.DataFrame(
        {"calm": [10.0, 4.0, 0.0], "storm": [-2.0, 3.0, 0.0], "boom": [7.0, 9.0, 0.0]},
        index=["port", "rail", "nothing"],
    )
    regret = regret_table(net)
    expected = pd.DataFrame(
        {"calm": [0.0, 6.0, 10.0], "storm": [5.0, 0.0, 3.0], "boom": [2.0, 0.0, 9.0]}, index=net.index
    )
    pd.testing.assert_frame_equal(regret, expected)
    s = regret_summary(net)
    assert s["max_regret"].tolist() == [5.0, 6.0, 10.0]
    assert s["worst_future"].tolist() == ["storm", "calm", "calm"]
    np.testing.assert_allclose(s["expected_net"], [5.0, 16 / 3, 0.0])
    # minimax regret picks the port (worst regret 5), the expectation the rail (16/3 > 5)
    assert s.index[s["minimax_regret"]].tolist() == ["port"]
    assert s.index[s["best_expected"]].tolist() == ["rail"]
    # weighting the calm future up turns the expectation to the port
    heavy = regret_summary(net, {"calm": 3, "storm": 1, "boom": 1})
    assert heavy.index[heavy["best_expected"]].tolist() == ["port"]
    np.testing.assert_allclose(heavy.loc["port", "expected_net"], (30 - 2 + 7) / 5)


def test_weights_are_checked():
    assert future_weights(["a", "b"]).tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="'c' is not a future"):
        future_weights(["a", "b"], {"a": 1, "c": 1})
    with pytest.raises(ValueError, match="no weight for future 'b'"):
        future_weights(["a", "b"], {"a": 1})
    with pytest.raises(ValueError, match="'a' must be a finite number >= 0"):
        future_weights(["a", "b"], {"a": -1, "b": 1})
    with pytest.raises(ValueError, match="no finite net benefit for candidate 'x' in future 'f'"):
        regret_table(pd.DataFrame({"f": [np.nan]}, index=["x"]))


def test_discounted_benefit_counts_the_appraisal_years():
    s = pd.Series([5.0, 10.0, 20.0], index=[2025, 2026, 2027])
    # from 2026: 10 and 20 in the run, then 20 again for the 2 years after it (4 in all)
    assert grid.discounted_benefit(s, 2026, rate=0.0, years=4) == (30.0, 40.0)
    in_run, after = grid.discounted_benefit(s, 2026, rate=0.1, years=3)
    assert in_run == pytest.approx(10 / 1.1 + 20 / 1.1**2)
    assert after == pytest.approx(20 / 1.1**3)
    # a window that ends inside the run counts nothing after it
    assert grid.discounted_benefit(s, 2025, rate=0.0, years=2) == (15.0, 0.0)


# ----------------------------------------------------------------------- real runs

# The Khorgos -> Altynkol gauge-change yard binds in 2019-2020 (load above capacity in the
# baseline); the Etrek -> Tehran crossing carries nothing while the iranian corridor is closed.
CANDIDATES = """
[[events]]
kind = "investment"
start = "2019Q2"
funder = "KZ"
note = "khorgos_yard_x2"
links = ["khorgos>altynkol"]
capacity_factor = 2.0
amount_usd_m = 30.0

[[events]]
kind = "investment"
start = "2019Q2"
funder = "KZ"
note = "khorgos_yard_x2_dear"
links = ["khorgos>altynkol"]
capacity_factor = 2.0
amount_usd_m = 90.0

[[events]]
kind = "investment"
start = "2019Q2"
funder = "KZ"
note = "iran_crossing_x2"
links = ["etrek>tehran"]
capacity_factor = 2.0
amount_usd_m = 30.0
"""


@pytest.mark.timeout(1200)
def test_robust_picks_the_dominant_candidate(tmp_path):
    path = tmp_path / "candidates.toml"
    path.write_text(CANDIDATES)
    candidates = grid.candidates_from([str(path)])
    futures = grid.sample_futures("baseline", {"cost_elasticity": (2.0, 5.0)}, 2, seed=3)
    res = grid.robust(candidates, futures, end_year=2020, workers=1)
    net = res.net()
    assert list(net.index) == ["khorgos_yard_x2", "khorgos_yard_x2_dear", "iran_crossing_x2", "nothing"]
    # more capacity where the load binds pays in every future; on an unused link it does nothing
    b = res.benefits.set_index(["candidate", "future"])
    assert (b.xs("khorgos_yard_x2", level="candidate")["benefit_usd_m"] > 0).all()
    assert (b.xs("iran_crossing_x2", level="candidate")["benefit_usd_m"] == 0).all()
    # the same works at three times the cost: the same benefit, 60 m less net
    np.testing.assert_allclose(
        net.loc["khorgos_yard_x2"] - net.loc["khorgos_yard_x2_dear"], 60.0, rtol=0, atol=1e-9
    )
    # khorgos_yard_x2 is best in every future: regret 0 throughout, and both rules choose it
    assert (net.loc["khorgos_yard_x2"] >= net.drop("khorgos_yard_x2")).all().all()
    assert res.minimax_regret == res.best_expected == "khorgos_yard_x2"
    assert (b.xs("khorgos_yard_x2", level="candidate")["regret_usd_m"] == 0).all()
    out = res.save(tmp_path / "robust")
    assert {p.name for p in out.iterdir()} == {
        "benefits.parquet",
        "summary.parquet",
        "annual.parquet",
        "robust.json",
        "robust.png",
    }
    annual = pd.read_parquet(out / "annual.parquet")
    assert set(annual["candidate"]) == {*net.index}
    assert set(annual["year"]) == {2019, 2020}


# ----------------------------------------------------------------------- bad input


def test_a_candidates_file_with_another_event_names_file_line_and_field(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        CANDIDATES + '\n[[events]]\nkind = "shock"\nstart = "2020Q1"\nlinks = ["khorgos>altynkol"]\n'
    )
    with pytest.raises(ScenarioError) as info:
        load_candidates(path)
    assert str(info.value).startswith(f"{path}: line 30, events[3].kind:")
    assert "a candidate is an investment, got 'shock'" in str(info.value)


def test_a_candidates_file_with_a_duplicate_or_unknown_link_is_refused(tmp_path):
    path = tmp_path / "twice.toml"
    path.write_text(CANDIDATES.replace("khorgos_yard_x2_dear", "khorgos_yard_x2"))
    with pytest.raises(
        ScenarioError, match=r"line 15, events\[1\].note: candidate 'khorgos_yard_x2' given twice"
    ):
        load_candidates(path)
    path.write_text(CANDIDATES.replace("etrek>tehran", "etrek>nowhere"))
    with pytest.raises(ScenarioError, match=r"events\[2\].links"):
        load_candidates(path)


def test_projects_that_cannot_be_candidates_are_refused():
    with pytest.raises(ValueError, match="unknown project 'nosuch'"):
        grid.project_candidates(["nosuch"])
    with pytest.raises(ValueError, match="btk_upgrade was completed in 2024Q2"):
        grid.project_candidates(["btk_upgrade"])
    names = [c.name for c in grid.project_candidates()]
    assert "btk_upgrade" not in names and "sarzha_terminal_kuryk" in names
    # a project starts at the later of the start given and its earliest year
    (c,) = grid.project_candidates(["anaklia_port_phase1"], start="2020Q3")
    assert c.event.start == "2024Q1" and c.cost_usd_m == 600.0
    futures = grid.scenario_futures(["baseline"])
    with pytest.raises(ValueError, match="starts in 2024Q1, after the last year 2021"):
        grid.robust([c], futures, end_year=2021, workers=1)
    eu = grid.scenario_futures(["eu_global_gateway"])
    (poti,) = grid.project_candidates(["poti_deep_water_terminal"])
    with pytest.raises(ValueError, match="already in future eu_global_gateway's timeline"):
        grid.robust([poti], eu, workers=1)


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path):
    runner = CliRunner()
    out = tmp_path / "r"
    cases = [
        (["-c", "nosuch", "-f", "baseline"], "unknown project 'nosuch'"),
        (["-c", "sarzha_terminal_kuryk"], "--futures: give at least one"),
        (["-c", "sarzha_terminal_kuryk", "-f", "nosuch_scenario"], "nosuch_scenario"),
        (["-c", "sarzha_terminal_kuryk", "-f", "baseline", "--weights", "baseline"], "--weights: expected"),
        (
            ["-c", "sarzha_terminal_kuryk", "-f", "baseline", "--weights", "other=1"],
            "'other' is not a future",
        ),
        (["-c", "sarzha_terminal_kuryk", "-f", "baseline", "--start", "2026Q5"], "2026Q5"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["robust", *args, "--out", str(out)])
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
        assert not out.exists()
        assert not [p for p in Path(tmp_path).iterdir() if p.name.startswith(".r")]


def test_help_has_an_example():
    result = CliRunner().invoke(app, ["robust", "--help"])
    assert result.exit_code == 0
    assert "corridors robust -c" in " ".join(result.output.split())
