"""Tests of :mod:`corridors.market`: a quarter's links, policy terms and offered volumes."""

from __future__ import annotations

import numpy as np
import pytest

from corridors.events import EdgeState, Sanction
from corridors.layout import Layout
from corridors.market import offered_volumes, policy_terms, quarter_links
from corridors.vocabulary import C5, CORRIDORS, TRANSIT_STATES


@pytest.fixture(scope="module")
def layout(network, inputs) -> Layout:
    return Layout.of(network, inputs)


def links(layout, network, **kw):
    base = {
        "sea_rate": (2000.0, 0.0),
        "russia_tariff_factor": 1.0,
        "transit_fee_factors": dict.fromkeys(TRANSIT_STATES, 1.0),
        "port_fee_factors": dict.fromkeys(C5, 1.0),
        "border_factors": dict.fromkeys(C5, 1.0),
        "feeder_factor": 1.0,
    }
    return quarter_links(layout, EdgeState.base(network), 0, **{**base, **kw})


def test_the_russian_tariff_factor_moves_only_russian_controlled_money(layout, network):
    base, cut = links(layout, network), links(layout, network, russia_tariff_factor=0.7)
    changed = base.money != cut.money
    assert changed.any()
    controllers = set(network.edges.loc[changed, "controller"])
    assert controllers <= {"RU", "BY"}, controllers
    assert (cut.money[changed] < base.money[changed]).all()
    np.testing.assert_array_equal(base.time, cut.time)


def test_weather_and_disruptions_cut_capacity_only(layout, network):
    base = links(layout, network)
    disrupted = np.zeros(network.n_edges, dtype=bool)
    disrupted[np.flatnonzero(layout.border & layout.hard)[:3]] = True
    bad = links(layout, network, weather=0.5, disrupted=disrupted)
    np.testing.assert_array_equal(base.money, bad.money)
    hit = (layout.caspian | disrupted) & np.isfinite(base.capacity) & (base.capacity > 0)
    assert (bad.capacity[hit] < base.capacity[hit]).all()


def test_no_sanction_no_subsidy_leaves_the_quotes_alone(layout):
    S, K = layout.n_shippers, len(CORRIDORS)
    quote = np.full((S, K), 100.0)
    bloc = np.zeros((S, K, 5))
    bloc[..., -1] = 1.0
    terms = policy_terms(
        layout,
        [],
        [],
        quote_money=quote,
        bloc_share=bloc,
        china_subsidy_usd_per_t=0.0,
        us_secondary_premium_usd_per_t=0.0,
        misalignment=np.full((S, 5), 0.5),
        political_weight=0.0,
        cache={},
    )
    assert (terms.premium == 0).all() and (terms.subsidy == 0).all() and (terms.ban_cap == 1).all()


def test_a_ban_through_russia_caps_the_russian_corridor(layout):
    S, K = layout.n_shippers, len(CORRIDORS)
    bloc = np.zeros((S, K, 5))
    bloc[:, CORRIDORS.index("russian"), 0] = 1.0  # all tonne-km of the Russian corridor in Russia
    bloc[:, :, -1] = 1.0 - bloc[:, :, 0]
    ban = Sanction(
        start="2022Q1", imposed_by="EU", transit="RU", commodities=("metals_ores",), ban=True, share=1.0
    )
    terms = policy_terms(
        layout,
        [ban],
        [],
        quote_money=np.full((S, K), 100.0),
        bloc_share=bloc,
        china_subsidy_usd_per_t=0.0,
        us_secondary_premium_usd_per_t=0.0,
        misalignment=np.full((S, 5), 0.5),
        political_weight=0.0,
        cache={},
    )
    hit = layout.shippers_hit(ban)
    assert hit.any()
    assert (terms.ban_cap[hit, CORRIDORS.index("russian")] < 1).all()
    assert (terms.ban_cap[~hit] == 1).all()


def test_offered_volumes_follow_the_trend_without_deals_or_diversion(layout):
    for t in (0, 12, 40):
        np.testing.assert_allclose(offered_volumes(layout, t, [], {}), layout.trend_volumes(t), rtol=1e-12)


@pytest.mark.parametrize("kind", ["investment", "shock"])
def test_a_time_factor_scales_the_whole_time_of_its_links(layout, network, kind):
    """Travel and dwell (handling, transshipment, borders) alike: a programme that halves a
    crossing's time halves its dwell too, as the projects' benefits are valued."""
    from corridors.events import Investment, Shock, apply_edge_events

    edges = tuple(int(e) for e in np.flatnonzero(layout.caspian)[:4])
    ev = (
        Investment(start="2019Q1", funder="EU", edges=edges, time_factor=0.5)
        if kind == "investment"
        else Shock(start="2019Q1", end="2019Q4", edges=edges, capacity_factor=1.0, time_factor=0.5)
    )
    state = EdgeState.base(network)
    apply_edge_events(network, state, [ev], 0)
    base = links(layout, network)
    faster = quarter_links(
        layout,
        state,
        0,
        sea_rate=(2000.0, 0.0),
        russia_tariff_factor=1.0,
        transit_fee_factors=dict.fromkeys(TRANSIT_STATES, 1.0),
        port_fee_factors=dict.fromkeys(C5, 1.0),
        border_factors=dict.fromkeys(C5, 1.0),
        feeder_factor=1.0,
    )
    sel = list(edges)
    assert (network.edges["dwell_h"].to_numpy(float)[sel] > 0).any(), "the test needs links with a dwell"
    np.testing.assert_allclose(faster.time[sel], 0.5 * base.time[sel], rtol=1e-12)
    others = np.setdiff1d(np.arange(network.n_edges), edges)
    np.testing.assert_array_equal(faster.time[others], base.time[others])


def test_tighter_sanctions_fall_on_the_northern_route_of_kazakh_metals_only(build_model):
    """sanctions_tighter's premium and ban touch the Russian corridor of the Kazakh metals to
    the EU only; the Middle Corridor and the sea stay open to them, free of both (issue 16:
    these metals go to the sea by price, not by a term on the wrong corridor)."""
    from corridors.scenario import load_scenario, scenario_dir
    from corridors.vocabulary import quarter_index

    sc = load_scenario(scenario_dir() / "sanctions_tighter.toml")
    p = sc.parameters()
    model = build_model(params=p, events=sc.events(p), end_year=2026)
    while model.t <= quarter_index("2026Q3"):  # the US ban starts in 2026Q3
        model.step()
    a, v = model.layout.shipper, model.view
    rows = (a["country"] == "KZ") & (a["commodity"] == "metals_ores") & (a["market"] == "market_eu")
    assert rows.sum() == 3
    ru, others = CORRIDORS.index("russian"), [k for k, c in enumerate(CORRIDORS) if c != "russian"]
    assert (v.premium[rows, ru] >= 30.0).all()  # the US premium on top of the calibrated one
    assert np.allclose(v.ban_cap[rows, ru], 0.8)  # the US ban on 20%
    assert (v.premium[rows][:, others] == 0).all() and (v.ban_cap[rows][:, others] == 1).all()
    for corridor in ("middle", "sea"):
        assert v.available[rows, CORRIDORS.index(corridor)].all()
