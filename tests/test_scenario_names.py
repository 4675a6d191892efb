"""Every name a scenario file gives is checked against the known set (issue 16, item 5).

For each kind of name (funders, sanctioning parties, countries, controllers, corridors,
markets, nodes, links, projects, commodities, modes, directions, parameter and table keys,
states, sources), a file with a good name loads and the same file with a bad one fails with
one line naming the file, the line, the field's TOML path, the bad value and the known names
(or the closest one, or where they are listed). The shipped scenarios, and the history events
every run prepends, use only known names.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corridors.cli import app
from corridors.errors import ScenarioError
from corridors.known_events import baseline_events
from corridors.parameters import BUDGET_POWERS
from corridors.scenario import EVENT_MODELS, load_scenario, scenario_dir
from corridors.scenario.checks import BLOC_FUNDER, NAMED_EVENT_FIELDS, vocabulary
from corridors.vocabulary import C5

HEAD = """\
name = "names"
title = "Names"
description = "A scenario for the name checks."
article = "A test fixture."
history = false
"""


def _event(kind: str, **fields: str) -> str:
    return (
        "[[events]]\n"
        + f'kind = "{kind}"\nstart = "2026Q1"\n'
        + "".join(f"{k} = {v}\n" for k, v in fields.items())
    )


_INV = {"funder": '"CN"', "project": '"btk_upgrade"'}
_SANCTION = {"imposed_by": '"EU"', "transit": '"RU"', "premium_usd_per_t": "10.0"}
_SUBSIDY = {"funder": '"CN"', "corridor": '"middle"', "usd_per_t": "20.0"}
_OFFTAKE = {"buyer": '"market_eu"', "country": '"KZ"', "commodity": '"critical_minerals"', "share": "0.5"}
_SHOCK = {"capacity_factor": "0.5"}

# kind of name -> (the file's body with @ where the name goes, a known name, an unknown one,
# the field's TOML path, the field's line in the file)
CASES: dict[str, tuple[str, str, str, str, int]] = {
    "investment.funder": (
        _event("investment", **{**_INV, "funder": '"@"'}),
        "EU",
        "XX",
        "events[0].funder",
        9,
    ),
    "subsidy.funder": (
        _event("subsidy", **{**_SUBSIDY, "funder": '"@"'}),
        "US",
        "USA",
        "events[0].funder",
        9,
    ),
    "sanction.imposed_by": (
        _event("sanction", **{**_SANCTION, "imposed_by": '"@"'}),
        "US",
        "XX",
        "events[0].imposed_by",
        9,
    ),
    "sanction.transit": (
        _event("sanction", **{**_SANCTION, "transit": '"@"'}),
        "IR",
        "Russia",
        "events[0].transit",
        10,
    ),
    "sanction.markets": (
        _event("sanction", **_SANCTION, markets='["market_china", "@"]'),
        "market_eu",
        "market_europe",
        "events[0].markets[1]",
        12,
    ),
    "sanction.shipper_countries": (
        _event("sanction", **_SANCTION, shipper_countries='["@"]'),
        "UZ",
        "AF",
        "events[0].shipper_countries[0]",
        12,
    ),
    "sanction.commodities": (
        _event("sanction", **_SANCTION, commodities='["@"]'),
        "crude",
        "oil",
        "events[0].commodities[0]",
        12,
    ),
    "sanction.directions": (
        _event("sanction", **_SANCTION, directions='["@"]'),
        "transit",
        "westbound",
        "events[0].directions[0]",
        12,
    ),
    "investment.project": (
        _event("investment", **{**_INV, "project": '"@"'}),
        "cku_railway",
        "moon_railway",
        "events[0].project",
        10,
    ),
    "offtake_deal.buyer": (
        _event("offtake_deal", **{**_OFFTAKE, "buyer": '"@"'}),
        "market_china",
        "XX",
        "events[0].buyer",
        9,
    ),
    "offtake_deal.country": (
        _event("offtake_deal", **{**_OFFTAKE, "country": '"@"'}),
        "UZ",
        "XX",
        "events[0].country",
        10,
    ),
    "offtake_deal.commodity": (
        _event("offtake_deal", **{**_OFFTAKE, "commodity": '"@"'}),
        "metals_ores",
        "uranium",
        "events[0].commodity",
        11,
    ),
    "offtake_deal.avoid_transit": (
        _event("offtake_deal", **_OFFTAKE, avoid_transit='["RU", "@"]'),
        "CN",
        "XX",
        "events[0].avoid_transit[1]",
        13,
    ),
    "border_agreement.countries": (
        _event("border_agreement", countries='["KZ", "@"]'),
        "UZ",
        "XX",
        "events[0].countries[1]",
        9,
    ),
    "shock.nodes": (_event("shock", **_SHOCK, nodes='["@"]'), "aktau", "XX", "events[0].nodes[0]", 10),
    "shock.links": (
        _event("shock", **_SHOCK, links='["@"]'),
        "aktau>beyneu",
        "aktau>moon",
        "events[0].links[0]",
        10,
    ),
    "shock.controllers": (
        _event("shock", **_SHOCK, controllers='["@"]'),
        "AZ",
        "XX",
        "events[0].controllers[0]",
        10,
    ),
    "shock.modes": (_event("shock", **_SHOCK, modes='["@"]'), "ferry", "air", "events[0].modes[0]", 10),
    "shock.corridors": (
        _event("shock", **_SHOCK, corridors='["@"]'),
        "middle",
        "northern",
        "events[0].corridors[0]",
        10,
    ),
    "route_closure.corridor": (
        _event("route_closure", corridor='"@"'),
        "russian",
        "XX",
        "events[0].corridor",
        9,
    ),
    "subsidy.corridor": (
        _event("subsidy", **{**_SUBSIDY, "corridor": '"@"'}),
        "chinese",
        "XX",
        "events[0].corridor",
        10,
    ),
    "parameters.corridor_constants": (
        "[parameters]\ncorridor_constants = { @ = 0.1 }\n",
        "middle",
        "XX",
        "parameters.corridor_constants.XX",
        7,
    ),
    "parameters.bulk_corridor_constants": (
        "[parameters]\nbulk_corridor_constants = { @ = 0.1 }\n",
        "sea",
        "XX",
        "parameters.bulk_corridor_constants.XX",
        7,
    ),
    "parameters.reliability_penalty_days": (
        "[parameters]\nreliability_penalty_days = { @ = 1.0 }\n",
        "iranian",
        "XX",
        "parameters.reliability_penalty_days.XX",
        7,
    ),
    "parameters.power_budgets_usd_m": (
        "[parameters]\npower_budgets_usd_m = { @ = 100.0 }\n",
        "US",
        "XX",
        "parameters.power_budgets_usd_m.XX",
        7,
    ),
    "parameters.alignment (state)": (
        "[parameters]\nalignment = { @ = { west = 0.2 } }\n",
        "KZ",
        "XX",
        "parameters.alignment.XX",
        7,
    ),
    "parameters.alignment (power)": (
        "[parameters]\nalignment = { KZ = { @ = 0.2 } }\n",
        "west",
        "XX",
        "parameters.alignment.KZ.XX",
        7,
    ),
    "parameters (name)": ("[parameters]\n@ = 3.0\n", "cost_elasticity", "XX", "parameters.XX", 7),
    "parameter reference": (
        _event("sanction", **{**_SANCTION, "premium_usd_per_t": '{ parameter = "@" }'}),
        "russia_premium_usd_per_t",
        "XX",
        "events[0].premium_usd_per_t.parameter",
        11,
    ),
    "agents (state)": ("[agents.@]\nborder_efficiency = 0.9\n", "KG", "XX", "agents.XX", 6),
    "sources": ('sources = ["@"]\n', "S-btk", "XX", "sources[0]", 6),
    "uncertainty (parameter)": (
        "[uncertainty.@]\ndist = 'uniform'\nlow = 2.0\nhigh = 4.0\n",
        "cost_elasticity",
        "XX",
        "uncertainty.XX",
        6,
    ),
}


def _write(tmp_path: Path, body: str, value: str) -> Path:
    path = tmp_path / "names.toml"
    path.write_text(HEAD + body.replace("@", value))
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_known_name_loads(case, tmp_path):
    body, good, _, _, _ = CASES[case]
    sc = load_scenario(_write(tmp_path, body, good))
    sc.events()
    sc.parameters()


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_unknown_name_gives_one_line_with_file_line_field_value_and_known_names(case, tmp_path):
    body, _, bad, field, line = CASES[case]
    path = _write(tmp_path, body, bad)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path).events()
    exc, text = info.value, str(info.value)
    assert "\n" not in text and len(text) < 400 + len(str(path)), text
    assert Path(exc.file) == path and text.startswith(str(path)), text
    assert exc.where == f"line {line}, {field}", text
    assert f"{bad!r}" in exc.reason, text
    assert exc.reason.startswith(("unknown ", "must be one of ")), text
    pointers = ("expected one of", "did you mean", "must be one of", "; see ", "not a heading of SOURCES.md")
    assert any(w in exc.reason for w in pointers), text


def test_the_cases_cover_every_checked_event_field():
    """A name field added to an event without a case here fails this."""
    covered = {c.split(".")[1] for c in CASES if c.split(".")[0] in EVENT_MODELS}
    literal = {
        name
        for model in EVENT_MODELS.values()
        for name, f in model.model_fields.items()
        if _is_literal(f.annotation)
    }
    assert covered >= (set(NAMED_EVENT_FIELDS) | literal) - {"kind"}


def test_every_event_field_that_names_something_is_checked():
    """Each text field of an event is free text (``note``), a closed set, or checked by name."""
    for kind, model in EVENT_MODELS.items():
        for name, f in model.model_fields.items():
            if name in ("kind", "note", "start", "end") or _is_literal(f.annotation):
                continue
            if _is_text(f.annotation):
                assert name in NAMED_EVENT_FIELDS, f"{kind}.{name} is a name nobody checks"


def _is_literal(ann) -> bool:
    args = typing.get_args(ann)
    return typing.get_origin(ann) is typing.Literal or (
        typing.get_origin(ann) is list and _is_literal(args[0])
    )


def _is_text(ann) -> bool:
    return ann is str or (typing.get_origin(ann) is list and typing.get_args(ann)[0] is str)


def test_an_empty_required_name_is_refused_and_an_empty_optional_one_is_unset(tmp_path):
    path = _write(tmp_path, _event("subsidy", **{**_SUBSIDY, "funder": '""'}), "")
    with pytest.raises(ScenarioError, match=r"events\[0\]\.funder: unknown funder ''"):
        load_scenario(path)
    path = _write(tmp_path, _event("investment", funder='"KZ"', project='""', nodes='["aktau"]'), "")
    (ev,) = load_scenario(path).events()
    assert ev.project == "" and ev.nodes == ("aktau",)


def test_a_name_set_on_the_command_line_is_checked(tmp_path):
    path = _write(tmp_path, "", "")
    with pytest.raises(ScenarioError, match=r"parameters\.power_budgets_usd_m\.XX: unknown key 'XX'"):
        load_scenario(path, overrides={"parameters.power_budgets_usd_m.XX": 10.0})


def test_run_with_an_unknown_funder_exits_2_with_the_message_and_writes_nothing(tmp_path):
    path = _write(tmp_path, CASES["investment.funder"][0], "XX")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out)], env={"COLUMNS": "80"})
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"error: {path}: line 9, events[0].funder: unknown funder 'XX'; expected one of "
        "AF, AZ, C5, CN, EU, GE, IR, KG, KZ, PK, RU, TJ, TM, TR, US, UZ"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["names.toml"]


# ----------------------------------------------------------------------- the known sets


def test_funders_are_the_models_funding_agents_and_the_projects_funders(inputs, build_model):
    model = build_model(end_year=2019)
    agents = {*model.powers, *model.country_agents, BLOC_FUNDER}
    hinted = {f for hint in inputs.projects["funder_hint"] for f in hint.split(";")}
    assert set(model.powers) == set(BUDGET_POWERS)
    assert set(model.country_agents) == set(C5)
    assert vocabulary().funders == agents | hinted


def test_sanctioners_are_the_powers_and_the_networks_states():
    v = vocabulary()
    assert v.sanctioners == {*BUDGET_POWERS, *v.countries, *v.controllers}
    assert "XX" not in v.sanctioners  # the markets' placeholder country


@pytest.mark.parametrize("path", sorted(scenario_dir().glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_scenarios_name_only_known_things(path):
    sc = load_scenario(path)
    v = vocabulary()
    for ev in sc.events():
        if hasattr(ev, "funder"):
            assert ev.funder in v.funders, (path.name, ev)
        if hasattr(ev, "imposed_by"):
            assert ev.imposed_by in v.sanctioners and ev.transit in v.controllers, (path.name, ev)


def test_history_events_name_only_known_things():
    v = vocabulary()
    events = baseline_events()
    assert any(hasattr(ev, "funder") for ev in events) and any(hasattr(ev, "imposed_by") for ev in events)
    for ev in events:
        assert getattr(ev, "funder", "CN") in v.funders, ev
        assert getattr(ev, "imposed_by", "EU") in v.sanctioners, ev
        assert getattr(ev, "transit", "RU") in v.controllers, ev
        assert getattr(ev, "project", "") in ("", *v.projects), ev
