"""corridors explain: the cost parts, the volume attribution, binding links, refusals, the command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import corridors
from corridors.agents.rules import _cost
from corridors.cli import app
from corridors.events import Subsidy
from corridors.results import load_results
from corridors.results.costs import COMPONENTS
from corridors.results.explain import CAUSES, headline_change, volume_attribution
from corridors.run_record import CHOICE_ARRAYS
from corridors.scenario import find_scenario
from corridors.vocabulary import CORRIDORS

END = 2024
PARTS = [f"{c}_usd_per_t" for c in COMPONENTS]


@pytest.fixture(scope="module")
def base():
    return corridors.run(end_year=END, stochastic=False)


@pytest.fixture(scope="module")
def subsidised():
    """The baseline with a known subsidy: USD 40/t on every Middle Corridor flow from 2021."""
    sc = corridors.load_scenario(find_scenario("baseline"), overrides={"period.end_year": END})
    events = [
        *sc.events(sc.parameters()),
        Subsidy(start=2021, funder="EU", corridor="middle", usd_per_t=40.0),
    ]
    return corridors.run(sc, events=events, stochastic=False)


def test_the_parts_add_up_to_the_cost_the_shippers_compare(base):
    """Each row's parts add up to its total, which is rules._cost averaged over the value-of-time segments."""
    c = base.costs
    ok = c["total_usd_per_t"].notna()
    assert ok.any()
    np.testing.assert_allclose(c.loc[ok, PARTS].sum(axis=1), c.loc[ok, "total_usd_per_t"], rtol=1e-12)
    # the rule's own kernel, segment by segment, on the recorded memories and terms
    p = corridors.load_scenario(find_scenario("baseline")).parameters()
    from corridors.agents.rules import ShipperArrays
    from corridors.model import CorridorModel

    m = CorridorModel(params=p, end_year=2020, stochastic=False)
    for _ in range(6):
        m.step()
    t = 5
    record = m.record()
    r = {name: record.choices.dense(name)[t] for name in CHOICE_ARRAYS}
    sh: ShipperArrays = m.sh
    terms = (r["premium"], r["subsidy"], r["political"], m.corridor_constant)
    mv = r["memory_time_sd"] ** 2
    res = corridors.Results.from_record(record)
    rows = res.costs[res.costs["step"] == t]
    checked = 0
    for row in rows[rows["total_usd_per_t"].notna()].itertuples():
        s, k = row.shipper, CORRIDORS.index(row.corridor)
        by_segment = [
            _cost(
                s,
                k,
                r["memory_money"],
                terms,
                r["memory_time"],
                mv,
                sh.vot[s, g],
                m.penalty_days,
                p.reliability_weight,
            )
            for g in range(sh.vot.shape[1])
        ]
        assert row.total_usd_per_t == pytest.approx(np.dot(sh.weight[s], by_segment), rel=1e-12)
        checked += 1
    assert checked > 100


def test_a_known_subsidy_shows_in_the_subsidy_part(base, subsidised):
    """The five's own container exports (China's own rail subsidy, which responds to the run, is for
    transit only; containers pay more than USD 40/t, so the subsidy is whole: it is capped at the price)."""
    exports = {"direction": "export", "commodity": "containers"}
    a = base.cost_breakdown(corridors=["middle", "russian"], years=[2023], by=(), group=exports)
    b = subsidised.cost_breakdown(corridors=["middle", "russian"], years=[2023], by=(), group=exports)
    change = b.set_index("corridor")["subsidy_usd_per_t"] - a.set_index("corridor")["subsidy_usd_per_t"]
    assert change["middle"] == pytest.approx(-40.0, abs=1e-9)
    assert change["russian"] == pytest.approx(0.0, abs=1e-9)
    found = subsidised.explain(base, year=2023, corridors=["middle"], group=exports)
    np.testing.assert_allclose(found.costs["subsidy_change"], -40.0, atol=1e-9)
    assert (found.costs["total_change"] < 0).any()


@pytest.mark.parametrize(
    "group", [None, {"direction": "transit"}, {"country": "KZ", "commodity": "metals_ores"}]
)
def test_the_causes_add_up_to_the_change(base, subsidised, group):
    att = volume_attribution(subsidised, base, 2024, group=group)
    causes = att[[f"{c}_t" for c in CAUSES]].sum(axis=1)
    np.testing.assert_allclose(causes, att["change_t"], rtol=1e-9, atol=1e-6 * att["volume_t"].abs().max())
    if group is None:  # the served tonnes are the corridors table's
        on_2024 = (
            subsidised.corridors[subsidised.corridors["year"] == 2024].groupby("corridor")["volume_t"].sum()
        )
        np.testing.assert_allclose(att["volume_t"], on_2024.reindex(CORRIDORS).to_numpy(), rtol=1e-9)
    if group is None:  # the subsidy moved freight: the shift says so
        assert att.loc["middle", "change_t"] != 0.0
        assert att.loc["middle", "shift_t"] + att.loc["middle", "to_sea_t"] != 0.0


def test_a_run_against_itself_explains_zero_change(base):
    found = base.explain(year=2024)
    assert (found.attribution.drop(columns=["volume_ref_t", "volume_t"]) == 0.0).all().all()
    assert (found.costs.filter(like="_change").fillna(0.0) == 0.0).all().all()
    assert found.decisions.empty and found.levers.empty
    assert headline_change(base, base) == 0.0
    assert "on its own" in str(found)


def test_binding_links_and_refusals_are_reported(base):
    found = base.explain(year=2022)
    assert len(found.binding) and (found.binding["quarters_bound"] <= 4).all()
    refused = found.projects[found.projects["decision"] == "refuse"]
    assert (
        len(refused)
        and refused["detail"].str.match(r"(no project open|no affordable|benefit below cost)").all()
    )
    # the decisions table itself is unchanged: refusals are a table of their own
    assert not (base.decisions["decision"] == "refuse").any()


def test_the_costs_and_refusals_are_saved_and_read_back(base, tmp_path):
    back = load_results(base.save(tmp_path / "run"))
    pd.testing.assert_frame_equal(back.costs, base.costs, check_dtype=False)
    pd.testing.assert_frame_equal(back.refusals, base.refusals, check_dtype=False)
    assert back.explain(base, year=2023).attribution["change_t"].abs().max() == 0.0


def test_bad_arguments_are_named():
    res = corridors.run(end_year=2020, stochastic=False)
    with pytest.raises(ValueError, match="corridor: nowhere"):
        res.explain(corridors=["nowhere"])
    with pytest.raises(ValueError, match="year: 2031"):
        res.explain(year=2031)
    with pytest.raises(ValueError, match="group: no shipper has commodity=gold"):
        res.explain(group={"commodity": "gold"})


def test_the_command_explains_two_run_directories(base, subsidised, tmp_path):
    a, b = base.save(tmp_path / "a"), subsidised.save(tmp_path / "b")
    runner = CliRunner()
    out = runner.invoke(app, ["explain", str(b), str(a), "--year", "2023", "--corridor", "middle"])
    assert out.exit_code == 0, out.output
    assert "subsidy" in out.output and "against baseline" in out.output
    for args, message in (
        ([str(b), str(a), "--corridor", "nowhere"], "--corridor: nowhere"),
        ([str(b), str(a), "--year", "2040"], "year: 2040 is outside the run"),
        ([str(tmp_path)], "not a run directory"),
        ([str(b), "--group", "colour=red"], "--group"),
    ):
        bad = runner.invoke(app, ["explain", *args])
        assert bad.exit_code == 2, (args, bad.output)
        assert message in bad.output, (args, bad.output)
    same = runner.invoke(app, ["compare", str(a), str(a), "--out", str(tmp_path / "c.png")])
    assert same.exit_code == 0, same.output
    assert "no effect: see `corridors explain" in same.output
