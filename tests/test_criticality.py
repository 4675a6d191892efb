"""Chokepoint criticality: real runs with a link closed for a year against the reference run."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from corridors.cli import app
from corridors.experiments.criticality import candidate_links, check_links, criticality
from corridors.network import packaged_network

# The Middle Corridor's only way west from Baku: every path of the corridor crosses it.
CUT_OFF = "baku_alat>tbilisi"
# Baku-Tbilisi-Kars, with the Georgian Black Sea ports beside it on the same corridor.
PARALLEL = ("akhalkalaki>kars", "kuryk>baku_alat")
START, QUARTERS = "2020Q1", 4


@pytest.fixture(scope="module")
def result():
    return criticality(
        "baseline", links=[CUT_OFF, *PARALLEL], start=START, quarters=QUARTERS, seed=7, workers=1
    )


def test_a_link_that_cuts_off_a_corridor_ranks_above_links_with_parallel_alternatives(result):
    t = result.table.set_index("link")
    assert t.loc[CUT_OFF, "rank"] == 1
    for link in PARALLEL:
        assert t.loc[CUT_OFF, "extra_cost_usd"] > t.loc[link, "extra_cost_usd"]
        assert t.loc[CUT_OFF, "not_delivered_t"] + t.loc[CUT_OFF, "rerouted_t"] > t.loc[link, "rerouted_t"]
    # the closure does cut the corridor off: it loses more than the parallel closures
    assert t.loc[CUT_OFF, "middle_volume_change_t"] < 3 * t.loc["akhalkalaki>kars", "middle_volume_change_t"]
    assert t.loc[CUT_OFF, "middle_volume_change_t"] < -1e5


def test_the_runs_end_with_the_window_and_the_table_is_complete(result):
    assert result.failures.empty
    assert result.meta["closure"] == ["2020Q1", "2020Q4"] and result.meta["end_year"] == 2020
    assert result.meta["stochastic"] is False
    assert list(result.table["rank"]) == [1, 2, 3]
    assert result.table["extra_cost_usd"].is_monotonic_decreasing


def test_candidates_are_the_hard_and_border_links_without_pipelines():
    net = packaged_network()
    names = candidate_links(net)
    assert CUT_OFF in names and "kuryk>baku_alat" in names
    assert "atyrau>novorossiysk" not in names  # the CPC pipeline: exogenous
    assert "xian>urumqi" not in names  # domestic line haul, no hard capacity
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"links": ["kuryk>baku"]}, r"^links: no link 'kuryk>baku' \(did you mean 'kuryk>baku_alat'\?\)"),
        ({"links": []}, r"^links: give at least one link"),
        ({"start": "2036Q1"}, r"^start: the closure 2036Q1-2036Q4 is outside the run of scenario 'baseline'"),
        ({"start": "2035Q3"}, r"^start: the closure 2035Q3-2036Q2 is outside the run"),
        ({"start": "2027Q5"}, r"^start: '2027Q5' is not a quarter"),
        ({"quarters": 0}, r"^quarters: must be an integer >= 1"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(tmp_path, kwargs, message):
    out = tmp_path / "crit"
    with pytest.raises(ValueError, match=message):
        criticality("baseline", **{"links": [CUT_OFF], **kwargs}, workers=1, out=out)
    assert not out.exists()


def test_check_links_keeps_the_order_and_drops_repeats():
    assert check_links([CUT_OFF, "kuryk>baku_alat", CUT_OFF], packaged_network()) == (
        CUT_OFF,
        "kuryk>baku_alat",
    )


def test_the_command_refuses_an_unknown_link_with_exit_2_and_writes_nothing(tmp_path):
    out = tmp_path / "crit"
    r = CliRunner().invoke(app, ["criticality", "baseline", "--links", "tbilisi>mars", "--out", str(out)])
    assert r.exit_code == 2
    assert "links: no link 'tbilisi>mars'" in r.output
    assert not out.exists()


def test_the_command_writes_the_table_and_the_figures(tmp_path):
    out = tmp_path / "crit"
    args = ["criticality", "baseline", "--links", CUT_OFF, "--links", "kuryk>baku_alat"]
    args += ["--from", START, "--quarters", "4", "--workers", "1", "--out", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    table = pd.read_parquet(out / "criticality.parquet")
    assert table["link"].tolist() == [CUT_OFF, "kuryk>baku_alat"]
    assert (out / "criticality_bars.png").stat().st_size > 0
    assert (out / "criticality_map.png").stat().st_size > 0
    again = CliRunner().invoke(app, args)  # resumes: every run is kept, none runs again
    assert again.exit_code == 0, again.output
    assert pd.read_parquet(out / "criticality.parquet").equals(table)
