"""Ablation tests of the agents' dynamic rules (issue 15, item 3): each rule switched off and
on in a short deterministic run, and the direction it must produce.

- the avoidance of Russian transit (the EU agent's state) rises with a new sanction, fades,
  and fades faster when the Russian route saves money over its alternatives;
- Russia's tariff factor and China's subsidy move both ways with what drives them;
- shippers taking money from the current quote respond to the sea-rate cycle earlier;
- crude leaves the CPC pipeline for Caspian tankers after the 2022 ruling, in the range of the
  2022-2023 figures;
- a relief (the 2022 sanctions on EU-linked transit through Russia ending) lifts the avoidance
  and draws freight back to the Northern route, not to the Middle Corridor (issue 16).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from corridors.events import Sanction
from corridors.known_events import baseline_events
from corridors.parameters import Parameters
from corridors.results import Results
from corridors.vocabulary import quarter_index

P = Parameters()
FROZEN = {"avoidance_half_life_quarters": 1e9, "avoidance_cost_response": 0.0}


@pytest.fixture(scope="module")
def runs(run_model):
    """Deterministic runs to 2025, by name, cached for the module."""
    cache: dict[str, Results] = {}

    def get(name: str, events=None, **changes) -> Results:
        if name not in cache:
            model = run_model(params=P.replace(**changes), events=events, end_year=2025)
            cache[name] = Results.from_record(model.record())
        return cache[name]

    return get


def lever(res: Results, column: str) -> np.ndarray:
    """The lever ``column`` per step (as decided at the end of the step)."""
    return res.policy.sort_values("step")[column].to_numpy()


def corridor_t(res: Results, corridor: str) -> pd.Series:
    """Tonnes served on ``corridor`` per step."""
    c = res.corridors
    return c[c["corridor"] == corridor].set_index("step")["volume_t"]


def russian_transit(res: Results, years: range) -> float:
    """China-Europe transit tonnes served through Russia over ``years``."""
    c = res.countries
    rows = (c["direction"] == "transit") & (c["corridor"] == "russian") & c["year"].isin(years)
    return float(c.loc[rows, "volume_t"].sum())


def test_avoidance_rises_with_the_2022_sanctions_then_fades(runs):
    on, frozen = runs("default"), runs("frozen", **FROZEN)
    a, a_frozen = lever(on, "russia_avoidance_share"), lever(frozen, "russia_avoidance_share")
    q1 = quarter_index("2022Q1")
    assert np.all(a[:q1] == 0.0)  # no avoidance before the sanctions
    # the EU premium sanction of 2022Q1 touches all EU-linked transit: the rise is the parameter
    assert a[q1] == pytest.approx(P.russia_avoidance_share)
    assert np.all(np.diff(a[q1:]) < 0)  # no new sanction on transit after it: it fades every quarter
    assert a[-1] < 0.7 * a[q1]
    assert np.all(a_frozen[q1:] == pytest.approx(P.russia_avoidance_share))  # the ablation: frozen
    # fading lets EU-linked transit come back to Russia
    assert russian_transit(on, range(2024, 2026)) > 1.05 * russian_transit(frozen, range(2024, 2026))


def test_a_new_sanction_raises_the_avoidance_and_lowers_russian_transit(runs):
    extra = Sanction(
        start="2024Q1", imposed_by="EU", transit="RU", markets=("market_eu",), premium_usd_per_t=1.0
    )
    on = runs("default")
    shocked = runs("shocked", events=[*baseline_events(P), extra])
    t = quarter_index("2024Q1")
    a, a_shocked = lever(on, "russia_avoidance_share"), lever(shocked, "russia_avoidance_share")
    assert np.all(a_shocked[:t] == a[:t])
    # the shock (its premium moves the cost gap, hence the fading, by a hair)
    assert a_shocked[t] == pytest.approx(a[t] + P.russia_avoidance_share * (1.0 - a[t]), rel=1e-3)
    assert russian_transit(shocked, range(2024, 2026)) < russian_transit(on, range(2024, 2026))


def test_avoidance_fades_faster_when_the_russian_route_saves_money(runs):
    flat = runs("no cost response", avoidance_cost_response=0.0)
    steep = runs("strong cost response", avoidance_cost_response=2.0)
    a_flat, a_steep = lever(flat, "russia_avoidance_share"), lever(steep, "russia_avoidance_share")
    # 2022Q3: sea rates still high, the Russian route saves money: faster fading
    assert a_steep[quarter_index("2022Q3")] < a_flat[quarter_index("2022Q3")]
    # 2023Q4: sea rates collapsed, the alternatives are cheaper: slower fading
    assert a_steep[quarter_index("2023Q4")] > a_flat[quarter_index("2023Q4")]


def test_russian_tariff_is_cut_then_raised_back(runs):
    on, off = runs("default"), runs("no tariff rule", russia_tariff_response=False)
    f, f_off = lever(on, "russia_tariff_factor"), lever(off, "russia_tariff_factor")
    assert np.all(f_off == 1.0)
    trough = int(np.argmin(f))
    assert f[trough] < 0.95 and trough >= quarter_index("2022Q1")
    assert f[trough:].max() > f[trough] + 0.05  # raised back as the share recovers
    assert f.min() >= 1.0 - P.russia_max_tariff_cut - 1e-12
    assert not np.all(f[trough:] == f[trough])  # not stuck at a bound
    # the cut (applied the quarter after it is decided) wins freight back
    cut = np.flatnonzero(f < 1.0) + 1
    cut = cut[cut < len(f)]
    assert corridor_t(on, "russian").loc[cut].sum() > corridor_t(off, "russian").loc[cut].sum()


def test_china_subsidy_is_paid_then_withdrawn(runs):
    on, off = runs("default"), runs("no subsidy rule", china_subsidy_response=False)
    s, s_off = lever(on, "china_subsidy_usd_per_t"), lever(off, "china_subsidy_usd_per_t")
    assert np.all(s_off == 0.0)
    peak = int(np.argmax(s))
    assert s[peak] > 0 and s[peak] <= P.china_max_subsidy_usd_per_t
    assert s[peak:].min() < 0.5 * s[peak]  # withdrawn as the rail share recovers
    assert np.all(s[: quarter_index("2022Q1")] == 0.0)
    rail = corridor_t(on, "russian") + corridor_t(on, "middle")
    rail_off = corridor_t(off, "russian") + corridor_t(off, "middle")
    paid = np.flatnonzero(s > 0) + 1
    paid = paid[paid < len(s)]
    assert rail.loc[paid].sum() > rail_off.loc[paid].sum()


def test_quoted_money_answers_the_sea_rate_cycle_a_quarter_earlier(runs):
    quoted, learnt = runs("default"), runs("learnt money", quoted_money=False)
    sea = np.log(lever(quoted, "sea_rate_usd_per_feu"))[:12]

    def best_lag(res: Results) -> int:
        ru = np.log(corridor_t(res, "russian").to_numpy())[:12]
        corr = [np.corrcoef(sea[: 12 - lag], ru[lag:])[0, 1] for lag in range(4)]
        return int(np.argmax(corr))

    assert best_lag(quoted) < best_lag(learnt)
    # the boom of 2020Q4-2021Q1 shows in the Russian corridor's tonnes earlier
    ru, ru_learnt = corridor_t(quoted, "russian"), corridor_t(learnt, "russian")
    q3, q1 = quarter_index("2020Q3"), quarter_index("2021Q1")
    assert ru[q1] / ru[q3] > ru_learnt[q1] / ru_learnt[q3]


def test_crude_follows_the_diversion_decision_within_the_2022_2023_range(runs):
    on, off = runs("default"), runs("no diversion", crude_diversion_response=False)
    cpc = on.pipelines.groupby("year")["volume_t"].sum()
    cpc_off = off.pipelines.groupby("year")["volume_t"].sum()
    diverted = cpc_off - cpc
    assert np.all(diverted.loc[2019:2021] == 0.0)  # no ruling, no diversion
    # Kazakh crude not via Russian ports, less ~1.2-1.25 Mt to China: ~0.66 Mt in 2022, ~2.5 Mt in
    # 2023 (an upper bound); Aktau -> Baku 0.25 Mt in 2022 and 1.06-1.39 Mt in 2023
    assert 0.0 < diverted[2022] < 0.66e6
    assert 0.5e6 < diverted[2023] < 2.5e6
    assert diverted[2023] > diverted[2022]


RELIEF_END = "2023Q4"


def relief_events() -> list:
    """The baseline's events with the two 2022 sanctions on EU-linked freight through Russia
    (the premium and the evolving avoidance ban) ending after ``RELIEF_END``, as
    scenarios/sanctions_relief.toml does after 2026Q4."""
    out = []
    for ev in baseline_events(P):
        if isinstance(ev, Sanction) and ev.transit == "RU" and ev.start in ("2022Q1", "2022Q2"):
            ev = dataclasses.replace(ev, end=RELIEF_END)
        out.append(ev)
    assert sum(ev.end == RELIEF_END for ev in out) == 2
    return out


def test_a_relief_lifts_the_avoidance_and_draws_freight_back_to_russia(runs):
    on, relief = runs("default"), runs("relief", events=relief_events())
    after = quarter_index(RELIEF_END) + 1
    a, a_relief = lever(on, "russia_avoidance_share"), lever(relief, "russia_avoidance_share")
    assert np.all(a_relief[:after] == a[:after])
    # the compliance that kept EU-linked transit off Russia lifts with the sanctions
    assert a[after] > 0.1 and np.all(a_relief[after:] == 0.0)
    years = range(2024, 2026)
    assert russian_transit(relief, years) > 1.1 * russian_transit(on, years)
    # Russia's tariff rises back as its freight returns (the two-way rule: here to 1.0 in
    # 2024Q4-2025Q3, above the baseline's from 2025Q1), but that does not cost the Northern route
    # freight: the relief moves freight from the Middle Corridor to it
    later = corridor_t(on, "russian").index >= after
    assert corridor_t(relief, "russian")[later].sum() > corridor_t(on, "russian")[later].sum()
    assert corridor_t(relief, "middle")[later].sum() < corridor_t(on, "middle")[later].sum()
