"""Scenario files: loading, merging, overrides, typed events, TOML round trip, and errors.

Also the package's parts: the TOML helper (lines of keys, the writer) and its modules
importing one way. The bounds and descriptions on the fields of Parameters are tested in
tests/test_parameters.py.

Fixtures in tests/data/scenarios: good/ (valid files), bad/ (one fault each: every one
must give a one-line ScenarioError naming the file, the line where it can be known, the
field and the reason), parents/ and parameters/ (files the others point at).
"""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path

import pytest

import corridors.scenario
from corridors.errors import ScenarioError
from corridors.events import EVENT_TYPES, BorderAgreement, Investment, RouteClosure, Sanction, Shock
from corridors.known_events import baseline_events
from corridors.parameters import Parameters
from corridors.scenario import (
    Scenario,
    find_scenario,
    load_scenario,
    parse_override,
    scenario_dir,
    scenario_schema,
)
from corridors.scenario._toml import toml_dumps, toml_entries
from corridors.vocabulary import quarter_index

DATA = Path(__file__).parent / "data" / "scenarios"
GOOD, BAD = DATA / "good", DATA / "bad"

# file in bad/ -> (file named in the message, line or None, field, part of the reason)
BAD_FILES: dict[str, tuple[str, int | None, str, str]] = {
    "a_directory.toml": ("a_directory.toml", None, "", "is a directory"),
    "alignment_out_of_range.toml": ("", 7, "parameters.alignment.KZ.west", "must be <= 1, got 1.2"),
    "bad_name.toml": ("", 2, "name", "lower-case letters"),
    "border_efficiency_zero.toml": ("", 7, "agents.TM.border_efficiency", "must be > 0, got 0"),
    "comments_only.toml": ("", None, "", "empty file"),
    "empty.toml": ("", None, "", "empty file"),
    "empty_article.toml": ("", 5, "article", "must not be empty"),
    "end_year_after_2100.toml": ("", 7, "period.end_year", "must be <= 2100, got 2101"),
    "end_year_before_2019.toml": ("", 8, "period.end_year", "must be >= 2019, got 2018"),
    "event_bad_quarter.toml": ("", 8, "events[0].start", "'2026Q5' is not a quarter"),
    "event_edge_out_of_range.toml": ("", 9, "events[0].edges[1]", "edge id 99999 out of range"),
    "event_end_after_2100.toml": ("", 9, "events[0].end", "year 2101 is outside 2019-2100"),
    "event_end_before_start.toml": ("", 9, "events[0].end", "end 2026Q4 is before start 2027Q1"),
    "event_missing_field.toml": ("", 6, "events[0].transit", "missing required key 'transit'"),
    "event_missing_kind.toml": ("", 11, "events[1].kind", "missing required key 'kind'"),
    "event_nan.toml": ("", 11, "events[0].usd_per_t", "must be a finite number, got nan"),
    "event_negative_capacity.toml": ("", 10, "events[0].capacity_factor", "must be >= 0, got -0.5"),
    "event_negative_premium.toml": ("", 11, "events[0].premium_usd_per_t", "must be >= 0, got -10"),
    "event_probability_out_of_range.toml": ("", 11, "events[0].delivery_probability", "must be <= 1"),
    "event_selects_nothing.toml": ("", 6, "events[0]", "selects no links"),
    "event_share_out_of_range.toml": ("", 12, "events[0].share", "must be <= 1, got 1.5"),
    "event_start_before_2019.toml": ("", 8, "events[0].start", "year 2015 is outside 2019-2100"),
    "event_start_float.toml": ("", 8, "events[0].start", "got float 2026.5"),
    "event_unknown_commodity.toml": ("", 12, "events[0].commodities[1]", "got 'bananas'"),
    "event_unknown_corridor.toml": ("", 9, "events[0].corridor", "got 'northern'"),
    "event_unknown_country.toml": ("", 9, "events[0].countries[1]", "unknown country 'XY'"),
    "event_unknown_field.toml": ("", 11, "events[0].severity", "unknown key 'severity'"),
    "event_unknown_link.toml": ("", 9, "events[0].links[1]", "unknown link 'aktau>nowhere'"),
    "event_unknown_node.toml": ("", 9, "events[0].nodes[0]", "unknown node 'aktauu' (did you mean 'aktau'?)"),
    "event_unknown_parameter_ref.toml": (
        "",
        11,
        "events[0].premium_usd_per_t.parameter",
        "unknown numeric parameter 'russia_premium'",
    ),
    "event_empty_transit.toml": (
        "",
        10,
        "events[0].transit",
        "unknown controller ''; expected one of AF, AZ",
    ),
    "event_unknown_funder.toml": (
        "",
        9,
        "events[0].funder",
        "unknown funder 'XX'; expected one of AF, AZ, C5, CN, EU, GE, IR, KG, KZ, PK, RU, TJ, TM, TR, US, UZ",
    ),
    "event_unknown_sanctioner.toml": (
        "",
        9,
        "events[0].imposed_by",
        "unknown sanctioning state or bloc 'UN'",
    ),
    "event_unknown_subsidy_funder.toml": (
        "",
        9,
        "events[0].funder",
        "unknown funder 'CNN' (did you mean 'CN'?)",
    ),
    "event_unknown_project.toml": (
        "",
        10,
        "events[0].project",
        "unknown project of projects.csv 'moon_railway'",
    ),
    "events_not_array.toml": ("", 6, "events", "expected an array, got string"),
    "expect_missing_qualifier.toml": ("", 9, "expect[0]", "observable 'share' needs corridor"),
    "expect_no_comparison.toml": ("", 9, "expect[0]", "no comparison: give one of ratio_at_most"),
    "expect_qualifier_not_taken.toml": (
        "",
        13,
        "expect[0].corridor",
        "observable 'russian_dependence' takes no corridor; it takes country",
    ),
    "expect_to_year_before_year.toml": ("", 14, "expect[0].to_year", "to_year 2028 is before year 2030"),
    "expect_two_comparisons.toml": (
        "",
        15,
        "expect[0].change_at_least",
        "two comparisons (ratio_at_least and change_at_least): a claim makes exactly one",
    ),
    "expect_unknown_country.toml": (
        "",
        12,
        "expect[0].country",
        "unknown country 'KX'; expected one of C5, CN",
    ),
    "expect_unknown_key.toml": ("", 14, "expect[0].increase_at_least", "unknown key 'increase_at_least'"),
    "expect_unknown_link.toml": ("", 12, "expect[0].links[1]", "unknown link 'aktau>nowhere'"),
    "expect_unknown_observable.toml": (
        "",
        11,
        "expect[0].observable",
        "unknown observable 'middle_volume' (did you mean 'middle_teu'?)",
    ),
    "expect_year_outside_period.toml": (
        "",
        13,
        "expect[0].year",
        "year 2040 is outside the reported period 2019-2035",
    ),
    "extends_bad_parent.toml": ("broken_parent.toml", 9, "period.last_year", "unknown key 'last_year'"),
    "extends_cycle_a.toml": ("extends_cycle_b.toml", 6, "extends", "cyclic extends: extends_cycle_a.toml"),
    "extends_cycle_b.toml": ("extends_cycle_a.toml", 6, "extends", "cyclic extends: extends_cycle_b.toml"),
    "extends_missing.toml": ("", 6, "extends", "no_such_parent.toml not found"),
    "extends_not_string.toml": ("", 6, "extends", "expected a string, got integer 3"),
    "extends_self.toml": ("", 6, "extends", "cyclic extends: extends_self.toml -> extends_self.toml"),
    "history_not_bool.toml": ("", 6, "history", "expected true or false, got string 'yes'"),
    "latin1.toml": ("", 3, "", "not UTF-8"),
    "missing_name.toml": ("", None, "name", "missing required key 'name'"),
    "negative_budget.toml": ("", 7, "agents.KG.budget_usd_m_per_year", "must be >= 0, got -40"),
    "not_toml.toml": ("", 3, "column", "not valid TOML"),
    "parameter_inf.toml": ("", 7, "parameters.vessel_t_per_quarter", "must be a finite number, got inf"),
    "parameter_nan.toml": ("", 7, "parameters.cost_elasticity", "must be a finite number, got nan"),
    "parameter_negative.toml": ("", 7, "parameters.vessel_t_per_quarter", "must be > 0, got -50000.0"),
    "parameter_share_out_of_range.toml": ("", 7, "parameters.renewal_rate", "must be <= 1, got 1.5"),
    "parameter_wrong_type.toml": (
        "",
        7,
        "parameters.cost_elasticity",
        "expected a number, got string 'high'",
    ),
    "parameters_file_bad.toml": ("bad_fit.toml", 4, "parameters.renewl_rate", "did you mean 'renewal_rate'?"),
    "parameters_file_missing.toml": ("", 6, "parameters_file", "nope.toml not found"),
    "port_fee_factor_high.toml": ("", 7, "agents.TJ.port_fee_factor", "must be <= 1.5, got 2.0"),
    "report_from_after_end.toml": ("", 8, "period.report_from", "must be <= period.end_year (2030)"),
    "sea_rate_bad_quarter.toml": ("", 7, "sea_rates[0].quarter", "must be a quarter such as '2026Q1'"),
    "sea_rate_duplicate.toml": ("", 11, "sea_rates[1].quarter", "already given in sea_rates[0]"),
    "sea_rate_negative.toml": ("", 8, "sea_rates[0].usd_per_feu", "must be > 0, got -100"),
    "seed_negative.toml": ("", 6, "seed", "must be >= 0, got -1"),
    "transit_fee_bounds_length.toml": ("", 7, "parameters.transit_fee_bounds", "at most 2 items, got 3"),
    "unknown_agent_field.toml": ("", 8, "agents.UZ.border_speed", "unknown key 'border_speed'"),
    "unknown_corridor_constant.toml": (
        "",
        8,
        "parameters.corridor_constants.northern",
        "unknown key 'northern'",
    ),
    "unknown_event_kind.toml": ("", 7, "events[0].kind", "unknown event kind 'earthquake'"),
    "unknown_parameter.toml": ("", 8, "parameters.cost_elastcity", "did you mean 'cost_elasticity'?"),
    "unknown_period_key.toml": ("", 8, "period.start_year", "unknown key 'start_year'"),
    "unknown_source.toml": ("", 6, "sources[1]", "unknown source 'S-nowhere'"),
    "unknown_state.toml": ("", 9, "agents.KX", "unknown state 'KX'; expected one of KZ, KG, TJ, TM, UZ"),
    "uncertainty_extra.toml": ("", 7, "uncertainty.cost_elasticity.mean", "unknown key 'mean'"),
    "uncertainty_lognormal_zero.toml": ("", 7, "uncertainty.cost_elasticity.low", "must be > 0, got 0"),
    "uncertainty_low_above_high.toml": (
        "",
        7,
        "uncertainty.cost_elasticity.high",
        "must be > low (3), got 2",
    ),
    "uncertainty_missing_dist.toml": (
        "",
        7,
        "uncertainty.cost_elasticity.dist",
        "missing required key 'dist'",
    ),
    "uncertainty_mode.toml": (
        "",
        7,
        "uncertainty.cost_elasticity.mode",
        "must be within [low, high] = [1, 6]",
    ),
    "uncertainty_negative_sd.toml": ("", 9, "uncertainty.cost_elasticity.sd", "must be > 0, got -1"),
    "uncertainty_not_table.toml": ("", 7, "uncertainty.cost_elasticity", "expected a table, got float 3.0"),
    "uncertainty_out_of_bounds.toml": (
        "",
        7,
        "uncertainty.renewal_rate.high",
        "must be <= 1 (the bounds of parameters.renewal_rate), got 1.2",
    ),
    "uncertainty_unknown_dist.toml": (
        "",
        7,
        "uncertainty.cost_elasticity.dist",
        "unknown distribution 'beta'",
    ),
    "uncertainty_unknown_param.toml": (
        "",
        7,
        "uncertainty.cost_elastcity",
        "unknown numeric parameter 'cost_elastcity' (did you mean 'cost_elasticity'?)",
    ),
    "unknown_top_key.toml": ("", 6, "colour", "unknown key 'colour'"),
    "wrong_type_end_year.toml": ("", 7, "period.end_year", "expected an integer, got string '2035'"),
}


def load(name: str, **kw) -> Scenario:
    return load_scenario(GOOD / f"{name}.toml", **kw)


def error_of(path: Path, **kw) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kw)
    return info.value


# ----------------------------------------------------------------------- malformed files


def test_every_bad_file_is_in_the_table():
    on_disk = {p.name for p in BAD.iterdir()}
    assert on_disk == set(BAD_FILES), (
        f"untested: {on_disk - set(BAD_FILES)}; missing: {set(BAD_FILES) - on_disk}"
    )
    assert len(on_disk) >= 30


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_gives_one_line(name):
    named, line, field, reason = BAD_FILES[name]
    exc = error_of(BAD / name)
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    assert Path(exc.file).name == (named or name), text
    assert text.startswith(exc.file), text
    if line is not None:
        assert f"line {line}" in (exc.where or ""), text
    else:
        assert "line " not in (exc.where or ""), text
    assert field in (exc.where or ""), text
    assert reason in exc.reason, text
    assert len(text) < 400, text


def test_missing_file():
    exc = error_of(DATA / "no_such_scenario.toml")
    assert exc.file.endswith("no_such_scenario.toml") and "file not found" in str(exc)


def test_error_in_parent_names_the_parent_file_and_line(tmp_path):
    parent = tmp_path / "parent.toml"
    parent.write_text(_head("parent") + "[period]\nend_year = 2030\nreport_from = 2026\n")
    child = tmp_path / "child.toml"
    child.write_text(_head("child") + 'extends = "parent.toml"\n[period]\nend_year = 2025\n')
    exc = error_of(child)
    # report_from (written in the parent) is after the child's end_year: the line is the parent's
    assert Path(exc.file).name == "parent.toml"
    assert exc.where == "line 7, period.report_from"


def test_errors_in_inherited_events_name_the_file_they_are_in(tmp_path):
    parent = tmp_path / "parent.toml"
    parent.write_text(_head("parent") + '[[events]]\nkind = "shock"\nstart = 2026\nnodes = ["aktau"]\n')
    child = tmp_path / "child.toml"
    child.write_text(
        _head("child")
        + 'extends = "parent.toml"\n\n[[events]]\nkind = "shock"\nstart = 2026\nnodes = ["nowhere"]\n'
    )
    exc = error_of(child)
    assert Path(exc.file).name == "child.toml"
    assert exc.where == "line 10, events[1].nodes[0]"  # index in the merged timeline, line in the child


def _head(name: str) -> str:
    return f'name = "{name}"\ntitle = "T"\ndescription = "D"\narticle = "A"\n'


# ----------------------------------------------------------------------- good files


@pytest.mark.parametrize("path", sorted(GOOD.glob("*.toml")), ids=lambda p: p.name)
def test_good_files_load(path):
    sc = load_scenario(path)
    assert sc.path == path.resolve()
    assert sc.chain[-1] == path.resolve()
    assert isinstance(sc.parameters(), Parameters)
    assert all(type(ev) in EVENT_TYPES.values() for ev in sc.events())


def test_minimal_defaults():
    sc = load("minimal")
    assert (sc.name, sc.period.end_year, sc.period.report_from, sc.seed, sc.history) == (
        "minimal",
        2035,
        2019,
        None,
        True,
    )
    assert sc.parameters() == Parameters()
    assert sc.events() == baseline_events(Parameters())
    assert sc.sea_rate_overrides() == {} and sc.agent_settings() == {} and sc.ignored_events == []
    assert sc.chain == [(GOOD / "minimal.toml").resolve()]


def test_full_scenario_values():
    sc = load("full")
    p = sc.parameters()
    assert p.cost_elasticity == 3.5 and p.transit_fee_bounds == (0.9, 1.2) and p.bloc_from_year == 2028
    assert p.corridor_constants == {"middle": 20.0, "russian": -5.0}
    # tables of parameters merge onto their defaults
    assert (
        p.alignment["KZ"]["west"] == 0.8
        and p.alignment["KZ"]["russia"] == Parameters().alignment["KZ"]["russia"]
    )
    assert p.alignment["UZ"] == Parameters().alignment["UZ"]
    assert sc.agent_settings() == {
        "KZ": {"border_efficiency": 0.9, "budget_usd_m_per_year": 400.0, "port_fee_factor": 1.0},
        "UZ": {"budget_usd_m_per_year": 300.0},
    }
    assert sc.sea_rate_overrides() == {
        quarter_index("2026Q1"): (2500.0, 0.0),
        quarter_index("2026Q2"): (2600.5, 10.0),
    }
    assert "\n" in sc.description and '"quoted"' in sc.article and "\\" in sc.article


def test_events_are_typed_with_tuples():
    sc = load("full")
    own = sc.events()[len(baseline_events(sc.parameters())) :]
    assert [ev.kind for ev in own] == [
        "sanction", "investment", "investment", "border_agreement", "route_opening", "route_closure", "shock",
        "tariff_change", "subsidy", "offtake_deal",
    ]  # fmt: skip
    sanction = own[0]
    assert isinstance(sanction, Sanction)
    assert sanction.markets == ("market_eu",) and sanction.directions == ("transit", "export")
    assert sanction.premium_usd_per_t == 80.0  # { parameter = "russia_premium_usd_per_t" }
    assert isinstance(own[3], BorderAgreement) and own[3].countries == ("KZ", "UZ", "KG")
    assert own[2].lag_quarters == Parameters().fleet_lag_quarters and isinstance(own[2].lag_quarters, int)


def test_investment_in_a_project_takes_its_links_and_effects():
    from corridors.inputs import load_inputs
    from corridors.network import load_network

    row = load_inputs(load_network()).projects.set_index("project").loc["middle_corridor_wb_program"]
    inv = load("full").events()[-9]
    assert isinstance(inv, Investment) and inv.project == "middle_corridor_wb_program"
    assert inv.edges == tuple(row["edges"]) and inv.time_factor == row["time_factor"]
    assert inv.lag_quarters == row["lag_quarters"] and inv.delivery_probability == 0.8


# ----------------------------------------------------------------------- history, references


def test_history_prepends_exactly_the_baseline_events():
    sc = load("full")
    params = sc.parameters()
    base = baseline_events(params)
    events = sc.events()
    assert events[: len(base)] == base
    assert len(events) == len(base) + len(sc.event_specs)
    assert base[0].premium_usd_per_t == params.russia_premium_usd_per_t == 80.0


def test_history_false_has_only_the_file_events():
    sc = load("replace")
    assert sc.history is False
    assert sc.events() == [Shock(start="2026Q1", links=("aktau>baku_alat",), capacity_factor=0.5)]


def test_parameter_references_follow_the_parameters():
    sc = load("full", overrides={"parameters.russia_premium_usd_per_t": 123.0})
    own = sc.events()[len(baseline_events(sc.parameters())) :]
    assert own[0].premium_usd_per_t == 123.0
    other = sc.events(Parameters(russia_premium_usd_per_t=5.0))
    assert other[0].premium_usd_per_t == 5.0  # history and references both use the params given
    assert other[len(baseline_events()) :][0].premium_usd_per_t == 5.0


# ----------------------------------------------------------------------- extends, parameters_file


def test_extends_merges_parent_then_child():
    full, child = load("full"), load("child")
    assert [p.name for p in child.chain] == ["full.toml", "child.toml"]
    assert child.name == "child" and child.seed == 11 and child.sources == full.sources  # inherited list
    assert child.period.end_year == 2033 and child.period.report_from == 2020  # tables merged key by key
    p = child.parameters()
    assert p.corridor_constants == {"middle": 20.0, "russian": -5.0, "sea": 5.0}
    assert p.transit_fee_bounds == (0.9, 1.2)  # from the parent
    assert child.agent_settings()["KZ"] == {
        "border_efficiency": 0.8,
        "budget_usd_m_per_year": 400.0,
        "port_fee_factor": 1.0,
    }
    # events: the parent's first, then the child's; the 2032 shock is inside 2033 now
    assert [e.model_dump(exclude_unset=True) for e in child.event_specs[:-1]] == [
        e.model_dump(exclude_unset=True) for e in full.event_specs
    ] + [full.ignored_events[0]]
    assert isinstance(child.events()[-1], RouteClosure) and child.events()[-1].corridor == "russian"
    # sea rates merged by quarter, the child's win, sorted
    assert child.sea_rate_overrides() == {
        quarter_index("2025Q4"): (2000.0, 12.0),
        quarter_index("2026Q1"): (2500.0, 0.0),
        quarter_index("2026Q2"): (3000.0, 0.0),
    }


def test_parameters_file_applies_before_the_files_own_parameters():
    p = load("child").parameters()
    assert p.cost_elasticity == 5.0  # fit.toml beats the parent's 3.5
    assert p.renewal_rate == 0.3  # fit.toml
    assert p.memory_weight == 0.7  # the child's own [parameters] beat fit.toml's 0.6
    assert p.russia_premium_usd_per_t == 80.0  # the parent's
    fit = (DATA / "parameters" / "fit.toml").resolve()
    assert load("child").parameters_files == [fit] and load("child").parameters_file == fit
    assert load("full").parameters_file is None


def test_three_levels_and_replace_events():
    grand = load("grandchild")
    assert [p.name for p in grand.chain] == ["full.toml", "child.toml", "grandchild.toml"]
    assert grand.period.end_year == 2035 and grand.parameters().memory_weight == 0.7
    replaced = load("replace")
    assert len(replaced.event_specs) == 1 and replaced.parameters().cost_elasticity == 3.5


def test_cycle_and_missing_parent_name_the_files():
    exc = error_of(BAD / "extends_cycle_a.toml")
    assert "extends_cycle_a.toml -> extends_cycle_b.toml -> extends_cycle_a.toml" in exc.reason
    exc = error_of(BAD / "extends_missing.toml")
    assert exc.file.endswith("extends_missing.toml") and "no_such_parent.toml" in exc.reason


# ----------------------------------------------------------------------- overrides


def test_overrides_apply_last():
    sc = load(
        "child",
        overrides={
            "agents.KZ.border_efficiency": 0.5,
            "period.end_year": 2031,
            "parameters.cost_elasticity": 2.0,
            "parameters.alignment.UZ.west": 0.9,
            "events[0].share": 0.25,
            "seed": None,
        },
    )
    assert sc.agent_settings()["KZ"]["border_efficiency"] == 0.5
    assert sc.period.end_year == 2031 and sc.seed is None
    p = sc.parameters()
    assert p.cost_elasticity == 2.0 and p.alignment["UZ"]["west"] == 0.9 and p.alignment["UZ"]["china"] == 0.6
    assert sc.event_specs[0].share == 0.25
    assert sc.overrides["period.end_year"] == 2031 and "overrides" not in sc.to_dict()
    assert [e["start"] for e in sc.ignored_events] == ["2032Q1"]


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("agents.KX.border_efficiency", 0.8, "unknown state 'KX'"),
        ("agents.KZ.speed", 1.0, "unknown key 'speed'"),
        ("parameters.cost_elastcity", 1.0, "did you mean 'cost_elasticity'?"),
        ("period.last_year", 2030, "unknown key 'last_year'"),
        ("colour", "blue", "unknown key 'colour'"),
        ("events[99].share", 0.5, "no [99]"),
        ("events[0].shares", 0.5, "did you mean 'share'?"),
        ("extends", "other.toml", "cannot be overridden"),
        ("agents.KZ.border_efficiency", -1.0, "must be > 0"),
        ("period.end_year", "soon", "expected an integer"),
        ("parameters.cost_elasticity", float("nan"), "finite"),
    ],
)
def test_bad_overrides_name_the_key(key, value, reason):
    exc = error_of(GOOD / "full.toml", overrides={key: value})
    assert exc.where.startswith(f"override {key}") and reason in exc.reason, str(exc)
    assert "\n" not in str(exc)


def test_parse_override():
    assert parse_override("agents.KZ.border_efficiency=0.8") == ("agents.KZ.border_efficiency", 0.8)
    assert parse_override("period.end_year = 2030") == ("period.end_year", 2030)
    assert parse_override("history=false") == ("history", False)
    assert parse_override("events[0].start=2026Q1") == ("events[0].start", "2026Q1")
    assert parse_override('name="a=b"') == ("name", "a=b")
    assert parse_override("sources=['S-btk']") == ("sources", ["S-btk"])
    assert parse_override("title=Two words") == ("title", "Two words")
    with pytest.raises(ScenarioError, match="KEY=VALUE"):
        parse_override("no-equals-sign")


def test_cli_strings_as_overrides():
    sets = ["agents.KZ.border_efficiency=0.8", "period.end_year=2030", "events[1].start=2027Q3"]
    sc = load("full", overrides=dict(parse_override(s) for s in sets))
    assert sc.agent_settings()["KZ"]["border_efficiency"] == 0.8
    assert sc.period.end_year == 2030 and sc.event_specs[1].start == "2027Q3"


# ----------------------------------------------------------------------- ignored events


def test_events_after_end_year_are_ignored_and_listed():
    sc = load("full")
    assert sc.period.end_year == 2030
    assert sc.ignored_events == [
        {
            "kind": "shock",
            "start": "2032Q1",
            "note": "after end_year: ignored",
            "nodes": ["aktau"],
            "capacity_factor": 0.5,
        }
    ]
    assert all(quarter_index(ev.start) < quarter_index(2031) for ev in sc.events())
    short = load("full", overrides={"period.end_year": 2026})
    assert {e["start"] for e in short.ignored_events} == {"2027Q2", 2027, "2027Q1", "2028Q1", "2032Q1"}


# ----------------------------------------------------------------------- writing


@pytest.mark.parametrize("name", ["minimal", "full", "child", "replace", "grandchild", "uncertain"])
def test_to_toml_round_trips(name, tmp_path):
    sc = load(name, overrides={"agents.TJ.port_fee_factor": 0.75})
    text = sc.to_toml()
    tomllib.loads(text)  # valid TOML
    out = tmp_path / "scenario.toml"
    out.write_text(text, encoding="utf-8")
    again = load_scenario(out)
    assert again.to_dict() == sc.to_dict()
    assert again.parameters() == sc.parameters()
    assert again.events() == sc.events()
    assert again.sea_rate_overrides() == sc.sea_rate_overrides()
    assert json.loads(json.dumps(sc.to_dict())) == sc.to_dict()


def test_to_toml_notes_chain_and_ignored_events():
    text = load("child", overrides={"period.end_year": 2030}).to_toml()
    assert "full.toml" in text and "child.toml" in text
    assert "# Ignored" in text and "2032Q1" in text


def test_toml_writer_escapes_strings(tmp_path):
    article = 'Line one "quoted"\\\nline two\ttab \u00e9 \u0001 """'
    sc = load("minimal", overrides={"article": article, "title": "a\nb"})
    out = tmp_path / "s.toml"
    out.write_text(sc.to_toml(), encoding="utf-8")
    again = load_scenario(out)
    assert again.article == article and again.title == "a\nb"


# ----------------------------------------------------------------------- schema, lookup


def test_schema_is_json_schema():
    schema = scenario_schema()
    text = json.dumps(schema)
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert {"name", "title"} <= set(schema["required"])
    assert not {"description", "article"} & set(schema["required"])  # optional for a user's file
    props = schema["properties"]
    assert {"period", "parameters", "agents", "sea_rates", "events", "extends", "parameters_file"} <= set(
        props
    )
    defs = schema["$defs"]
    assert "cost_elasticity" in defs["Parameters"]["properties"]
    assert defs["Parameters"]["properties"]["cost_elasticity"].get("description")
    assert set(props["events"]["items"]["discriminator"]["mapping"]) == set(EVENT_TYPES)
    assert "null" not in text  # TOML has no null
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/$defs/')[1:]}:
        assert ref in defs
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)
    raw = tomllib.loads((GOOD / "full.toml").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(raw)


def test_scenario_dir_and_find_scenario(tmp_path):
    root = Path(__file__).resolve().parents[1]
    assert scenario_dir() == root / "scenarios"
    path = GOOD / "minimal.toml"
    assert find_scenario(path) == path and find_scenario(str(path)) == path
    with pytest.raises(ScenarioError, match="no shipped scenario"):
        find_scenario("no_such_scenario_anywhere")
    shipped = sorted(scenario_dir().glob("*.toml"))
    if shipped:
        assert find_scenario(shipped[0].stem) == shipped[0]


def test_scenario_is_frozen():
    sc = load("minimal")
    with pytest.raises(ValueError, match="frozen"):
        sc.name = "other"


# ----------------------------------------------------------------------- uncertainty


def test_uncertainty_is_typed_and_overridable():
    sc = load("uncertain")
    assert {k: v.dist for k, v in sc.uncertainty.items()} == {
        "cost_elasticity": "uniform",
        "renewal_rate": "triangular",
        "russia_premium_usd_per_t": "normal",
        "max_vessels": "uniform",
        "vessel_t_per_quarter": "lognormal",
    }
    wider = load("uncertain", overrides={"uncertainty.cost_elasticity.high": 8.0})
    assert wider.uncertainty["cost_elasticity"].high == 8.0
    with pytest.raises(ScenarioError, match=r"override uncertainty.renewal_rate.high.*must be <= 1"):
        load("uncertain", overrides={"uncertainty.renewal_rate.high": 1.5})


def test_child_replaces_a_parents_distribution_whole(tmp_path):
    (tmp_path / "parent.toml").write_text((GOOD / "uncertain.toml").read_text())
    (tmp_path / "child.toml").write_text(
        'extends = "parent.toml"\nname = "child"\ntitle = "C"\ndescription = "D"\narticle = "A"\n'
        '[uncertainty]\nrussia_premium_usd_per_t = { dist = "uniform", low = 10, high = 20 }\n'
    )
    sc = load_scenario(tmp_path / "child.toml")
    assert sc.uncertainty["russia_premium_usd_per_t"].model_dump() == {
        "dist": "uniform",
        "low": 10.0,
        "high": 20.0,
    }
    assert sc.uncertainty["cost_elasticity"].high == 6.0


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("renewal_rate", 1.01, "must be <= 1, got 1.01"),
        ("queue_patience_quarters", 0.0, "must be > 0, got 0.0"),
        ("bloc_from_year", 2018, "must be >= 2019, got 2018"),
        ("alignment.KZ.russia", -0.1, "must be >= 0, got -0.1"),
        ("power_budgets_usd_m.EU", -1.0, "must be >= 0, got -1.0"),
        ("transit_fee_bounds", [0.0, 1.0], "must be > 0, got 0.0"),
        ("reliability_penalty_days.northern", 1.0, "unknown key 'northern'"),
    ],
)
def test_loading_enforces_the_fields_bounds(name, value, reason):
    exc = error_of(GOOD / "minimal.toml", overrides={f"parameters.{name}": value})
    assert reason in exc.reason, str(exc)


def test_uncertainty_is_checked_against_the_fields_bounds():
    for name in ("queue_patience_quarters", "bloc_border_factor"):
        low, high = Parameters.bounds(name).get("gt", 0.0), Parameters.bounds(name).get("le", 10.0)
        with pytest.raises(ScenarioError, match=rf"the bounds of parameters\.{name}"):
            load(
                "minimal",
                overrides={f"uncertainty.{name}": {"dist": "uniform", "low": low - 1, "high": high}},
            )


# ----------------------------------------------------------------------- the TOML helper

TRICKY = '''name = "x"  # a comment with [brackets] and = signs
"quoted.key" = 1
a.b = 2
text = """
[not_a_table]
c = 3
"""
lit = \'\'\'
d = 4\'\'\'
list = [
  1, { e = 5 },
  "]",
]

[period]
end_year = 2030

[[events]]
kind = "shock"

[[events]]
kind = "sanction"
nested = { f = 6 }

[ 'agents' . "KZ" ]
border_efficiency = 0.9
'''


def test_toml_entries_give_each_keys_line():
    tomllib.loads(TRICKY)  # valid TOML
    entries = toml_entries(TRICKY)
    lines = dict(entries)
    assert lines == {
        ("name",): 1,
        ("quoted.key",): 2,
        ("a", "b"): 3,
        ("text",): 4,
        ("lit",): 8,
        ("list",): 10,
        ("period",): 15,
        ("period", "end_year"): 16,
        ("events", 0): 18,
        ("events", 0, "kind"): 19,
        ("events", 1): 21,
        ("events", 1, "kind"): 22,
        ("events", 1, "nested"): 23,
        ("agents", "KZ"): 25,
        ("agents", "KZ", "border_efficiency"): 26,
    }
    assert len(entries) == len(lines)


def test_toml_dumps_round_trips():
    data = {
        "name": "x",
        "odd key": 'tab\there, quote " and backslash \\ and \u0001',
        "multi": 'line one\nline two """ end',
        "numbers": [1, 2.5, -0.0, 1e-300, True],
        "empty": {},
        "table": {"a": 1, "inner": {"b": [1, 2]}, "rows": [{"c": {"parameter": "p"}}]},
        "items": [{"kind": "shock", "ref": {"parameter": "q"}}, {"kind": "sanction"}],
    }
    text = toml_dumps(data)
    assert tomllib.loads(text) == data
    assert '"""\nline one' in text  # a multi-line string stays readable
    assert "ref = { parameter = " in text  # tables inside arrays of tables are inline
    with pytest.raises(ValueError, match="finite"):
        toml_dumps({"x": float("nan")})
    with pytest.raises(TypeError):
        toml_dumps({"x": object()})


def test_package_modules_import_one_way():
    """Inside corridors.scenario each module imports only those listed before it."""
    order = ["_toml", "schema", "locate", "checks", "candidates", "resolve", "names"]
    package = Path(corridors.scenario.__file__).parent
    assert sorted(p.stem for p in package.glob("*.py")) == sorted([*order, "__init__"])
    for i, name in enumerate(order):
        tree = ast.parse((package / f"{name}.py").read_text(encoding="utf-8"))
        imported = {
            node.module.split(".")[2]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("corridors.scenario.")
        }
        assert imported <= set(order[:i]), f"{name} imports {imported - set(order[:i])}"


def test_calibrate_writes_parameters_with_the_one_toml_writer(tmp_path):
    from corridors.experiments.calibrate import parameters_toml

    text = parameters_toml({"cost_elasticity": 3, "corridor_constants.middle": 1.5}, loss_value=2.0)
    assert text.startswith("# Fitted parameters") and "\n[parameters]\ncost_elasticity = 3.0\n" in text
    data = tomllib.loads(text)
    assert data["parameters"] == {"cost_elasticity": 3.0, "corridor_constants": {"middle": 1.5}}
    assert data["fit"]["loss"] == 2.0
    assert text.split("\n\n", 1)[1] == toml_dumps(data)


def test_a_scenario_is_resolved_once_until_its_file_changes(tmp_path):
    """Loading the same file with the same overrides returns the same frozen scenario; a
    changed file (even of the same size, within the same clock tick) is read again."""
    path = tmp_path / "s.toml"
    base = find_scenario("baseline")
    head = f'extends = "{base}"\nname = "s"\ntitle = "S"\ndescription = "d"\narticle = "a"\n'
    path.write_text(head + "[period]\nend_year = 2030\n")
    first = load_scenario(path)
    assert load_scenario(path) is first
    assert load_scenario(path, overrides={"period.end_year": 2031}) is not first
    path.write_text(head + "[period]\nend_year = 2031\n")
    again = load_scenario(path)
    assert again is not first and again.period.end_year == 2031


# ----------------------------------------------------------------------- writing a scenario


def test_extends_names_a_shipped_scenario_from_any_folder(tmp_path, monkeypatch):
    """``extends = "baseline"`` finds the shipped baseline though no baseline.toml is beside the file."""
    mine = tmp_path / "elsewhere" / "mine.toml"
    mine.parent.mkdir()
    mine.write_text('extends = "baseline"\nname = "mine"\ntitle = "Mine"\n[period]\nend_year = 2030\n')
    monkeypatch.chdir(tmp_path)
    sc = load_scenario(mine)
    assert sc.chain == [scenario_dir().joinpath("baseline.toml").resolve(), mine.resolve()]
    assert sc.event_specs == load_scenario(find_scenario("baseline")).event_specs


def test_extends_a_file_beside_wins_over_a_shipped_name(tmp_path):
    (tmp_path / "baseline.toml").write_text(_head("local_parent"))
    (tmp_path / "child.toml").write_text('extends = "baseline.toml"\n' + _head("child"))
    assert load_scenario(tmp_path / "child.toml").chain[0] == (tmp_path / "baseline.toml").resolve()


def test_description_and_article_are_optional_for_a_users_scenario(tmp_path):
    path = tmp_path / "bare.toml"
    path.write_text('name = "bare"\ntitle = "Bare"\n')
    sc = load_scenario(path)
    assert (sc.description, sc.article) == ("", "")
    assert tomllib.loads(sc.to_toml())["name"] == "bare"


@pytest.mark.parametrize("path", sorted(scenario_dir().glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_scenarios_give_a_description_and_an_article(path):
    data = tomllib.loads(path.read_text())
    assert data.get("description", "").strip(), f"{path.name}: no description"
    assert data.get("article", "").strip(), f"{path.name}: no article passage"


def test_a_folder_named_like_a_shipped_scenario_is_not_taken_for_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c5_bloc").mkdir()
    assert find_scenario("c5_bloc") == scenario_dir() / "c5_bloc.toml"
    (tmp_path / "not_shipped").mkdir()
    with pytest.raises(ScenarioError, match=r"not_shipped: is a directory, not a scenario file"):
        load_scenario(find_scenario("not_shipped"))
