"""Scenario claims (``[[expect]]``, issue 16 items 2 and 4): the measures, the comparisons, the
shipped scenarios' claims, ``corridors validate --effects`` and docs/scenarios.md.

Every shipped scenario's claims run here against the baseline (deterministic, the scenario's
seed and period). The claims that fail today are listed in ``FAILING`` with what was measured:
each is a strict xfail, so a mechanism fixed elsewhere turns its claim's test red until it is
taken off the list. Malformed claims are fixtures of tests/test_scenario.py (``expect_*``).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import corridors
from corridors.cli import app
from corridors.experiments.effects import EffectRuns, check_effects, claim_rows, compare, format_test
from corridors.network import packaged_network
from corridors.observables import MEASURES, OBSERVABLES
from corridors.results import Results, measure
from corridors.scenario import load_scenario, scenario_dir, scenario_schema
from corridors.scenario.checks import vocabulary
from corridors.vocabulary import C5, CORRIDORS

ROOT = Path(__file__).resolve().parents[1]
DOCS_TABLE = ROOT / "docs" / "scenarios.md"
SHIPPED = [p for p in sorted(scenario_dir().glob("*.toml")) if p.stem != "baseline"]
ENV = {"COLUMNS": "200"}

# (scenario, index of the claim in its file) -> what fails today, as measured (deterministic runs,
# seed 7). Remove a claim from here once its mechanism is fixed (its test then passes).
FAILING: dict[tuple[str, int], str] = {
    (
        "c5_bloc",
        0,
    ): "issue 16: the pooled budget funds nothing: no project's benefit exceeds its cost (ratio 1.0)",
    ("c5_bloc", 2): "issue 16: Uzbekistan's Middle Corridor share unchanged in 2030 (ratio 1.0001)",
    ("caspian_falling", 2): "the five's dependence on Russian transit rises 0.6% by 2035, under 1%",
    ("cku_railway", 1): "issue 16: Northern China-Europe transit down 0.4% in 2030, under 1%",
    ("eu_global_gateway", 0): "issue 16: Middle Corridor transit 0.68x the baseline's in 2030, not 0.6x",
    ("eu_global_gateway", 1): "issue 16: Middle Corridor share of EU-bound freight up 0.07% in 2030",
    ("eu_global_gateway", 2): "issue 16: Northern EU-bound freight up 0.07% in 2030 (ratio 1.0007)",
    ("sanctions_relief", 2): "issue 16: the five's dependence on Russian transit up 0.3% in 2030, under 1%",
    (
        "sanctions_tighter",
        0,
    ): "issue 16: Northern EU-bound freight 0.63x the baseline's in 2030, not under half",
    (
        "us_c5_partnership",
        1,
    ): "issue 16: the Kuryk ferry links carry 0 t in 2030-2035: with Aktau's rail ferry closed "
    "(A-ferry-split) the wagonload metals take the Aktau container feeders (128/129), same price, 40 km shorter",
    ("us_c5_partnership", 2): "issue 16: Middle Corridor share of EU-bound transit unchanged in 2030",
    ("western_pivot", 2): "issue 16: Middle Corridor transit 0.68x the baseline's in 2030, not 0.6x",
}


@functools.cache
def effects_of(name: str) -> pd.DataFrame:
    return check_effects(name)


def invoke(*args) -> object:
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


# ----------------------------------------------------------------------- the comparisons


@pytest.mark.parametrize(
    "kind, bound, scenario, baseline, value, held",
    [
        ("ratio_at_most", 0.6, 12.0, 24.0, 0.5, True),
        ("ratio_at_most", 0.6, 18.0, 24.0, 0.75, False),
        ("ratio_at_most", 0.5, 12.0, 24.0, 0.5, True),  # the bound itself holds
        ("ratio_at_least", 1.2, 13.0, 10.0, 1.3, True),
        ("ratio_at_least", 1.2, 11.0, 10.0, 1.1, False),
        ("change_at_least", 1.5, 12.0, 10.0, 2.0, True),  # a ratio of 1.2 would fail it
        ("change_at_least", 0.5, 10.2, 10.0, 0.2, False),  # a ratio of 1.02 would pass it
        ("change_at_most", -1.0, 8.0, 10.0, -2.0, True),
        ("change_at_most", -1.0, 9.5, 10.0, -0.5, False),
        ("above", 0.0, 0.5, 0.0, 0.5, True),
        ("above", 0.0, 0.0, 0.0, 0.0, False),  # strictly above
        ("below", 1.0, 0.5, 9.0, 0.5, True),
        ("below", 1.0, 1.0, 0.0, 1.0, False),  # strictly below
    ],
)
def test_compare(kind, bound, scenario, baseline, value, held):
    got, ok = compare(kind, bound, scenario, baseline)
    assert got == pytest.approx(value)
    assert ok is held


@pytest.mark.parametrize("kind", ["ratio_at_most", "ratio_at_least"])
def test_a_ratio_to_a_baseline_of_zero_never_holds(kind):
    value, held = compare(kind, 1.0, 5.0, 0.0)
    assert math.isnan(value) and held is False


@pytest.mark.parametrize("kind", ["ratio_at_most", "change_at_least", "above", "below"])
def test_nan_never_holds(kind):
    assert compare(kind, 0.0, math.nan, 1.0)[1] is False


def test_unknown_comparison_is_refused():
    with pytest.raises(ValueError, match="unknown comparison 'ratio'"):
        compare("ratio", 1.0, 1.0, 1.0)


def test_format_test_shows_the_quantity_compared():
    assert format_test("ratio <=", 0.6, 0.709, -7.46, 18.2) == "ratio 0.709 <= 0.6"
    assert format_test("change >=", 0.5, 1.1, 0.25, 0.7) == "change +0.25 >= 0.5"
    assert format_test("value >", 0.0, math.nan, 4561.0, 4561.0) == "value 4561 > 0"


# ----------------------------------------------------------------------- claims on small cases


def _results(middle: dict[int, float], russian: dict[int, float]) -> Results:
    """A run of two corridors and one flow (KZ containers to the EU), years as given."""
    countries, corridor_rows = [], []
    for corridor, by_year in (("middle", middle), ("russian", russian)):
        for year, tonnes in by_year.items():
            countries.append(
                {
                    "year": year,
                    "country": "KZ",
                    "commodity": "containers",
                    "market": "market_eu",
                    "direction": "export",
                    "corridor": corridor,
                    "volume_t": tonnes,
                    "time_days": 20.0,
                }
            )
            corridor_rows.append(
                {
                    "year": year,
                    "corridor": corridor,
                    "volume_t": tonnes,
                    "cost_usd_per_t": 100.0,
                    "backlog_t": 0.0,
                    "utilisation": 0.5,
                    "load_ratio": 0.5,
                }
            )
    empty = pd.DataFrame({"year": pd.Series([], dtype=int)})
    return Results(
        corridors=pd.DataFrame(corridor_rows),
        countries=pd.DataFrame(countries),
        edges=empty.assign(edge=[], flow_t=[]),
        policy=empty,
        decisions=pd.DataFrame(columns=["step", "agent", "decision", "detail"]),
        pipelines=empty,
    )


HEAD = 'name = "claims"\ntitle = "Claims"\ndescription = "Claims on a small case."\narticle = "A test."\nhistory = false\n'


def _claims(tmp_path: Path, *claims: str):
    path = tmp_path / "claims.toml"
    body = "".join(f'\n[[expect]]\nclaim = "claim {i}"\n{c}\n' for i, c in enumerate(claims))
    path.write_text(HEAD + body)
    return load_scenario(path)


def _rows(sc, scenario: Results, baseline: Results) -> pd.DataFrame:
    return claim_rows(EffectRuns(sc, scenario, baseline, seed=7, stochastic=False))


def test_claims_compare_the_scenario_with_the_baseline(tmp_path):
    years = (2026, 2027, 2028)
    base = _results(dict.fromkeys(years, 10.0), dict.fromkeys(years, 30.0))
    scen = _results({2026: 15.0, 2027: 9.0, 2028: 12.0}, dict.fromkeys(years, 25.0))
    sc = _claims(
        tmp_path,
        'observable = "volume_t"\ncorridor = "middle"\nyear = 2026\nratio_at_least = 1.5',
        'observable = "volume_t"\ncorridor = "middle"\nyear = 2026\nto_year = 2028\nratio_at_least = 1.1',
        'observable = "volume_t"\ncorridor = "middle"\nyear = 2026\nto_year = 2028\nchange_at_least = -1.5',
        'observable = "share"\ncorridor = "middle"\nyear = 2026\nchange_at_least = 0.1',
        'observable = "volume_t"\ncorridor = "russian"\nyear = 2028\nratio_at_most = 0.8',
        'observable = "volume_t"\nyear = 2028\nabove = 37.0',
    )
    rows = _rows(sc, scen, base)
    assert rows["held"].tolist() == [True, False, True, True, False, False]
    one, many, change, share, down, total = (rows.iloc[i] for i in range(6))
    assert (one.scenario_value, one.baseline_value, one.ratio, one.change) == (15.0, 10.0, 1.5, 5.0)
    # a range fails at its first failing year: 2027 (0.9x), not 2028 (1.2x)
    assert (many.years, many.year, many.scenario_value) == ("2026-2028", 2027, 9.0)
    # a range that holds reports the year of least margin: 2027 (change -1 against >= -1.5)
    assert (change.year, change.change) == (2027, -1.0)
    assert share.scenario_value == pytest.approx(15 / 40) and share.change == pytest.approx(15 / 40 - 0.25)
    assert down.ratio == pytest.approx(25 / 30)  # 0.83 > 0.8
    assert total.scenario_value == 37.0  # 12 + 25, and "above" is strict
    assert rows["test"].tolist() == ["ratio >=", "ratio >=", "change >=", "change >=", "ratio <=", "value >"]


def test_a_claim_on_no_freight_fails(tmp_path):
    runs = _results({2030: 0.0}, {2030: 5.0})
    sc = _claims(
        tmp_path,
        'observable = "time_days"\ncorridor = "middle"\nyear = 2030\nratio_at_most = 2.0',
        'observable = "volume_t"\ncorridor = "middle"\nyear = 2030\nabove = 0.0',
    )
    rows = _rows(sc, runs, runs)
    assert math.isnan(rows.iloc[0].scenario_value)  # no tonnes: no time
    assert rows["held"].tolist() == [False, False]


def test_check_effects_of_a_scenario_without_claims_runs_nothing():
    table = check_effects("baseline")
    assert table.empty and "held" in table.columns


# ----------------------------------------------------------------------- the measures of a run


@pytest.fixture(scope="module")
def short_run() -> Results:
    return corridors.run(end_year=2021, seed=7, stochastic=False)


def test_measures_agree_with_the_tables_and_the_summary(short_run):
    res = short_run
    annual = res.annual_volumes().set_index(["year", "corridor"])["volume_t"]
    shares = sum(measure(res, "share", corridor=k) for k in CORRIDORS)
    assert np.allclose(shares, 1.0)
    for k in ("russian", "middle"):
        got = measure(res, "volume_t", corridor=k)
        assert np.allclose(got.to_numpy(), annual.xs(k, level="corridor").to_numpy(), rtol=1e-9)
    s = res.summary
    for c in C5:
        dep = measure(res, "russian_dependence", country=c)
        assert dep[2021] == pytest.approx(s["russian_dependence_last_year"][c], rel=1e-9)
        hhi = measure(res, "herfindahl", country=c)
        assert hhi[2021] == pytest.approx(s["herfindahl_last_year"][c], rel=1e-9)
    west = measure(res, "critical_minerals_to_west_t")
    assert west[2021] == pytest.approx(s["critical_minerals_to_west_t_last_year"], rel=1e-9)
    by_country = sum(measure(res, "critical_minerals_to_west_t", country=c) for c in (*C5, "CN"))
    assert np.allclose(by_country, west)
    five = measure(res, "volume_t", country="C5")
    assert np.allclose(five, sum(measure(res, "volume_t", country=c) for c in C5))
    for name in OBSERVABLES:
        assert measure(res, name).equals(res.observable(name).astype(float).rename(name))


def test_link_and_project_measures(short_run):
    res = short_run
    project = vocabulary().projects["sarzha_terminal_kuryk"]
    e = res.edges
    expected = e[e["edge"].isin(project["edges"])].groupby("year")["flow_t"].sum()
    got = measure(res, "link_flow_t", project="sarzha_terminal_kuryk")
    assert np.allclose(got.to_numpy(), expected.to_numpy())
    assert got.equals(measure(res, "link_flow_t", links=["kuryk>baku_alat", "baku_alat>kuryk"]))
    funded = res.decisions[res.decisions["decision"] == "fund"]
    count = measure(res, "projects_funded")
    assert count.iloc[-1] == len(funded)
    cost = measure(res, "projects_funded_usd_m")
    assert cost.iloc[-1] == pytest.approx(
        sum(vocabulary().projects[p]["amount_usd_m"] for p in funded["detail"])
    )


def test_a_link_name_counts_every_parallel_link_and_load_ratios_add_loads_over_capacities(short_run):
    res = short_run
    e = res.edges
    net = packaged_network().edges
    parallel = np.flatnonzero(((net["tail"] == "aktau") & (net["head"] == "baku_alat")).to_numpy())
    assert len(parallel) >= 3  # rail ferry, container feeder, crude tanker (and bulk ships)
    rows = e[e["edge"].isin(parallel)]
    got = measure(res, "link_flow_t", links=["aktau>baku_alat"])
    assert np.allclose(got.to_numpy(), rows.groupby("year")["flow_t"].sum().to_numpy())
    ferries = vocabulary().projects["caspian_ferry_newbuilds"]["edges"]
    q = e[e["edge"].isin(ferries)].groupby(["year", "step"])[["load_t", "capacity_t"]].sum()
    expected = (q["load_t"] / q["capacity_t"]).groupby(level=0).mean()
    ratio = measure(res, "link_load_ratio", project="caspian_ferry_newbuilds")
    assert np.allclose(ratio.to_numpy(), expected.to_numpy())


def test_measure_refuses_what_it_does_not_take(short_run):
    with pytest.raises(ValueError, match="'share' needs corridor"):
        measure(short_run, "share")
    with pytest.raises(ValueError, match="takes no corridor"):
        measure(short_run, "russian_dependence", country="KZ", corridor="middle")
    with pytest.raises(ValueError, match="not one of"):
        measure(short_run, "tonnes")
    with pytest.raises(ValueError, match="exactly one of links, project"):
        measure(short_run, "link_flow_t")


def test_the_schema_documents_the_claims():
    schema = scenario_schema()
    claim = schema["$defs"]["Claim"]
    assert schema["properties"]["expect"]["items"] == {"$ref": "#/$defs/Claim"}
    assert claim["properties"]["observable"]["enum"] == list(MEASURES)
    assert set(claim["required"]) == {"claim", "observable", "year"}
    for name in ("ratio_at_most", "ratio_at_least", "change_at_most", "change_at_least", "above", "below"):
        assert claim["properties"][name]["description"]


def test_claims_are_not_inherited(tmp_path):
    parent = load_scenario(ROOT / "tests" / "data" / "scenarios" / "good" / "full.toml")
    child = load_scenario(ROOT / "tests" / "data" / "scenarios" / "good" / "child.toml")
    assert len(parent.expect) == 2 and child.expect == []


# ----------------------------------------------------------------------- the shipped scenarios


def _claim_params():
    for path in SHIPPED:
        sc = load_scenario(path)
        for i, claim in enumerate(sc.expect):
            reason = FAILING.get((sc.name, i))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(sc.name, i, claim.claim, id=f"{sc.name}[{i}]", marks=marks)


def test_every_scenario_but_the_baseline_makes_two_to_four_claims():
    assert load_scenario(scenario_dir() / "baseline.toml").expect == []
    counts = {p.stem: len(load_scenario(p).expect) for p in SHIPPED}
    assert len(counts) == 11 and all(2 <= n <= 4 for n in counts.values()), counts


def test_the_failing_list_names_existing_claims():
    claims = {(p.stem, i) for p in SHIPPED for i in range(len(load_scenario(p).expect))}
    assert set(FAILING) <= claims, set(FAILING) - claims


@pytest.mark.parametrize("name, i, text", list(_claim_params()))
def test_shipped_claim_holds(name, i, text):
    row = effects_of(name).iloc[i]
    assert row["claim"] == text
    assert row["held"], (
        f"{name}: {text}: {row['observable']} ({row['qualifiers']}) in {row['year']}: "
        f"scenario {row['scenario_value']:.6g}, baseline {row['baseline_value']:.6g}, {row['test']} {row['bound']}"
    )


# ----------------------------------------------------------------------- the command


def _short_scenario(tmp_path: Path, *bounds: float) -> Path:
    """The baseline to 2021 under another name: every measure equals the baseline's."""
    path = tmp_path / "same.toml"
    claims = "".join(
        f'\n[[expect]]\nclaim = "Middle Corridor volume at least {b}x"\nobservable = "volume_t"\n'
        f'corridor = "middle"\nyear = 2021\nratio_at_least = {b}\n'
        for b in bounds
    )
    path.write_text(
        HEAD.replace("history = false\n", "")
        + f'extends = "{scenario_dir() / "baseline.toml"}"\n[period]\nend_year = 2021\n'
        + claims
    )
    return path


def test_validate_effects_exits_0_when_every_claim_holds(tmp_path):
    result = invoke("validate", "--effects", _short_scenario(tmp_path, 1.0, 0.99))
    assert result.exit_code == 0, result.output
    assert "held" in result.stdout and "FAILED" not in result.stdout
    assert "claims held: 2 of 2 (deterministic runs)" in result.stdout


def test_validate_effects_exits_1_when_a_claim_fails(tmp_path):
    result = invoke("validate", "--effects", _short_scenario(tmp_path, 1.0, 1.01), "baseline")
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.stdout and "ratio 1 >= 1.01" in result.stdout
    assert "claims held: 1 of 2" in result.stdout
    assert "baseline: no claims ([[expect]]) to check" in result.stdout


def test_validate_effects_of_a_bad_claim_exits_2(tmp_path):
    bad = ROOT / "tests" / "data" / "scenarios" / "bad" / "expect_two_comparisons.toml"
    result = invoke("validate", "--effects", bad)
    assert result.exit_code == 2
    assert "expect[0].change_at_least: two comparisons" in result.stderr


def test_seed_and_stochastic_need_effects():
    for option in (["--seed", "3"], ["--stochastic"]):
        result = invoke("validate", "baseline", *option)
        assert result.exit_code == 2
        assert "apply to --effects" in result.stderr


def test_validate_help_gives_an_example():
    result = invoke("validate", "--help")
    assert result.exit_code == 0 and "corridors validate --effects" in result.stdout


def test_scenarios_table_must_be_markdown(tmp_path):
    result = invoke("scenarios", "--table", tmp_path / "table.txt")
    assert result.exit_code == 2 and "must end in .md" in result.stderr
    assert not (tmp_path / "table.txt").exists()


def test_docs_scenarios_md_is_current(tmp_path):
    """docs/scenarios.md is what `corridors scenarios --table` writes now, byte for byte.

    If this fails after a change of the model or of a scenario, regenerate it:
    ``corridors scenarios --table docs/scenarios.md`` (``make scenarios-table``).
    """
    out = tmp_path / "scenarios.md"
    result = invoke("scenarios", "--table", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == DOCS_TABLE.read_bytes(), "docs/scenarios.md is stale: make scenarios-table"


def test_a_shorter_period_by_override_drops_the_later_claims():
    full = load_scenario(scenario_dir() / "cku_railway.toml")
    short = load_scenario(scenario_dir() / "cku_railway.toml", overrides={"period.end_year": 2031})
    assert len(full.expect) == 3 and full.ignored_claims == []
    # the claims about 2030-2032 and 2030: the first two reach 2032, the third stays
    assert [c.claim for c in short.expect] == [full.expect[2].claim]
    assert [c["claim"] for c in short.ignored_claims] == [c.claim for c in full.expect[:2]]
    assert "# Ignored: claims about years outside the period:" in short.to_toml()
