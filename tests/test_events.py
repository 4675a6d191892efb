"""Tests of the typed events, :mod:`corridors.events`: validation, link
selection and how each event changes the edge state of a quarter.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from corridors.events import (
    EVENT_TYPES,
    BorderAgreement,
    EdgeSelector,
    EdgeState,
    Investment,
    OfftakeDeal,
    RouteClosure,
    RouteOpening,
    Sanction,
    Shock,
    Subsidy,
    TariffChange,
    active_of,
    apply_edge_events,
    fleet_crossings,
)
from corridors.known_events import baseline_events
from corridors.vocabulary import CORRIDORS, quarter_index


def state_at(network, events, step: int) -> EdgeState:
    st = EdgeState.base(network)
    apply_edge_events(network, st, events, step)
    return st


def link_names(network) -> np.ndarray:
    e = network.edges
    return (e["tail"] + ">" + e["head"]).to_numpy()


def test_event_end_before_start_raises():
    with pytest.raises(ValueError, match="before start"):
        Shock(start="2023Q1", end="2022Q4", nodes=("aktau",))
    with pytest.raises(ValueError, match="before start"):
        Sanction(start=2023, end=2022, imposed_by="EU", transit="RU")


def test_event_activity_span():
    ev = Shock(start="2023Q2", end=2023, nodes=("aktau",))  # to 2023Q4
    assert (ev.first_step, ev.last_step) == (17, 19)
    assert [s for s in range(40) if ev.active(s)] == [17, 18, 19]
    same = Shock(start="2023Q2", end="2023Q2", nodes=("aktau",))
    assert [s for s in range(40) if same.active(s)] == [17]
    forever = RouteClosure(start="2030Q1", corridor="middle")
    assert forever.last_step == np.inf
    assert forever.active(300) and not forever.active(43)


def test_active_of_filters_by_type_and_quarter():
    events = [
        Shock(start="2020Q1", end="2020Q4", nodes=("aktau",)),
        Shock(start="2021Q1", nodes=("aktau",)),
        RouteClosure(start="2020Q1", corridor="middle"),
    ]
    assert active_of(events, Shock, 3) == []
    assert active_of(events, Shock, 4) == [events[0]]
    assert active_of(events, Shock, 8) == [events[1]]
    assert active_of(events, RouteClosure, 8) == [events[2]]
    assert active_of(events, RouteClosure, 3) == []


# ============================================================================ validation


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (Sanction, {"premium_usd_per_t": -1.0}, "premium"),
        (Sanction, {"share": 1.5}, "share"),
        (Sanction, {"share": -0.1}, "share"),
        (Sanction, {"commodities": ("bananas",)}, "bananas"),
        (Sanction, {"directions": ("sideways",)}, "sideways"),
        (Investment, {"capacity_factor": 0.0}, "capacity_factor"),
        (Investment, {"time_factor": -1.0}, "time_factor"),
        (Investment, {"delivery_probability": 1.5}, "delivery_probability"),
        (Investment, {"lag_quarters": -1}, "lag_quarters"),
        (Investment, {"amount_usd_m": -5.0}, "amount_usd_m"),
        (Shock, {"capacity_factor": -0.1}, "capacity_factor"),
        (Shock, {"time_factor": 0.0}, "time_factor"),
        (TariffChange, {"tariff_factor": -1.0}, "factors"),
        (TariffChange, {"handling_factor": -1.0}, "factors"),
        (BorderAgreement, {"dwell_factor": 0.0}, "dwell_factor"),
        (BorderAgreement, {"dwell_factor": 6.0}, "dwell_factor"),
        (RouteClosure, {"corridor": "silk_road"}, "silk_road"),
        (RouteOpening, {"corridor": "silk_road"}, "silk_road"),
        (Subsidy, {"corridor": "silk_road"}, "silk_road"),
        (Subsidy, {"usd_per_t": -1.0}, "usd_per_t"),
        (Subsidy, {"share_of_price": 1.5}, "share_of_price"),
        (Subsidy, {"commodities": ("bananas",)}, "bananas"),
        (OfftakeDeal, {"share": 1.5}, "share"),
        (OfftakeDeal, {"commodity": "bananas"}, "bananas"),
        (OfftakeDeal, {"avoid_transit": ("KZ",)}, "avoid_transit"),  # not a power's controller
    ],
)
def test_event_validation(cls, kwargs, match):
    required = {
        Sanction: {"imposed_by": "US", "transit": "RU"},
        Investment: {"funder": "EU", "nodes": ("aktau",)},
        Shock: {"nodes": ("aktau",)},
        TariffChange: {"nodes": ("aktau",)},
        BorderAgreement: {"countries": ("KZ", "CN")},
        RouteClosure: {},
        RouteOpening: {},
        Subsidy: {"funder": "CN", "corridor": "middle", "usd_per_t": 10.0},
        OfftakeDeal: {"buyer": "market_eu", "country": "KZ", "commodity": "critical_minerals", "share": 0.3},
    }[cls]
    with pytest.raises(ValueError, match=match):
        cls(start="2025Q1", **{**required, **kwargs})
    cls(start="2025Q1", **required)  # the same event without the bad field is valid


def test_bad_start_raises():
    with pytest.raises(ValueError):
        Shock(start="2025Q7", nodes=("aktau",))
    with pytest.raises(ValueError):
        Sanction(start=2010, imposed_by="US", transit="RU")


def test_events_are_frozen_and_hashable():
    ev = Shock(start="2025Q1", nodes=("aktau",))
    with pytest.raises(AttributeError):
        ev.capacity_factor = 0.1  # type: ignore[misc]
    assert {ev: 1}[Shock(start="2025Q1", nodes=("aktau",))] == 1


def test_to_dict_round_trips_every_event_type():
    events = [
        *baseline_events(),
        Investment(start="2026Q1", funder="EU", links=("aktau>baku_alat",), capacity_factor=1.5, lag_quarters=4,
                   delivery_probability=0.6),
        BorderAgreement(start=2027, countries=("KZ", "UZ"), dwell_factor=0.5),
        RouteOpening(start=2030, corridor="trans_afghan"),
        RouteClosure(start="2025Q2", end="2025Q4", corridor="middle"),
        Shock(start="2025Q1", end="2025Q1", nodes=("aktau",), capacity_factor=0.1),
        OfftakeDeal(start=2026, buyer="market_eu", country="KZ", commodity="critical_minerals", share=0.4,
                    avoid_transit=("RU", "CN")),
    ]  # fmt: skip
    assert {type(ev) for ev in events} == set(EVENT_TYPES.values())
    for ev in events:
        d = ev.to_dict()
        cls = EVENT_TYPES[d.pop("kind")]
        rebuilt = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
        assert rebuilt == ev


def test_offtake_deal_terms_are_bans_on_the_buyers_flow_through_the_avoided_states():
    deal = OfftakeDeal(
        start="2026Q1", end=2030, buyer="market_eu", country="UZ", commodity="critical_minerals", share=0.6,
        avoid_transit=("RU", "CN"),
    )  # fmt: skip
    bans = deal.routing_bans()
    assert [b.transit for b in bans] == ["RU", "CN"]
    for b in bans:
        assert b.ban and b.share == 1.0 and (b.start, b.end) == ("2026Q1", 2030)
        assert b.applies(country="UZ", commodity="critical_minerals", direction="export", market="market_eu")
        assert not b.applies(
            country="KZ", commodity="critical_minerals", direction="export", market="market_eu"
        )
        assert not b.applies(
            country="UZ", commodity="critical_minerals", direction="export", market="market_china"
        )
        assert not b.applies(country="UZ", commodity="metals_ores", direction="export", market="market_eu")
    assert dataclasses.replace(deal, avoid_transit=()).routing_bans() == ()


# ============================================================================ selection


def test_select_by_edge_ids(network):
    mask = EdgeSelector(edges=(0, 5, 7)).select(network)
    assert mask.dtype == bool and mask.shape == (network.n_edges,)
    assert np.flatnonzero(mask).tolist() == [0, 5, 7]


def test_select_out_of_range_edge_raises(network):
    with pytest.raises(ValueError, match="out of range"):
        EdgeSelector(edges=(network.n_edges,)).select(network)
    with pytest.raises(ValueError, match="out of range"):
        EdgeSelector(edges=(-1,)).select(network)


def test_select_by_link_names(network):
    names = link_names(network)
    mask = EdgeSelector(links=("aktau>baku_alat",)).select(network)
    assert mask.any()
    np.testing.assert_array_equal(mask, names == "aktau>baku_alat")
    both = EdgeSelector(links=("aktau>baku_alat", "baku_alat>aktau")).select(network)
    np.testing.assert_array_equal(both, np.isin(names, ["aktau>baku_alat", "baku_alat>aktau"]))


def test_select_unknown_link_raises(network):
    with pytest.raises(ValueError, match="aktau>nowhere"):
        EdgeSelector(links=("aktau>nowhere",)).select(network)
    with pytest.raises(ValueError, match="tail>head"):
        EdgeSelector(links=("aktau-baku_alat",)).select(network)


def test_select_by_nodes(network):
    e = network.edges
    mask = EdgeSelector(nodes=("aktau",)).select(network)
    expected = ((e["tail"] == "aktau") | (e["head"] == "aktau")).to_numpy()
    assert mask.sum() > 0
    np.testing.assert_array_equal(mask, expected)


def test_select_unknown_node_raises(network):
    with pytest.raises((KeyError, ValueError), match="nowhere"):
        EdgeSelector(nodes=("nowhere",)).select(network)


def test_select_by_controllers_and_modes(network):
    e = network.edges
    np.testing.assert_array_equal(
        EdgeSelector(controllers=("AZ",)).select(network), (e["controller"] == "AZ").to_numpy()
    )
    np.testing.assert_array_equal(
        EdgeSelector(modes=("ferry",)).select(network), (e["mode"] == "ferry").to_numpy()
    )
    assert EdgeSelector(modes=("ferry",)).select(network).any()


def test_select_by_corridors(network):
    e = network.edges
    for c in CORRIDORS:
        mask = EdgeSelector(corridors=(c,)).select(network)
        np.testing.assert_array_equal(mask, network.gateway_of == CORRIDORS.index(c))
        np.testing.assert_array_equal(mask, (e["corridor"] == c).to_numpy())
    assert EdgeSelector(corridors=("middle",)).select(network).any()
    with pytest.raises(ValueError, match="silk_road"):
        EdgeSelector(corridors=("silk_road",)).select(network)


def test_select_criteria_combine_with_and(network):
    e = network.edges
    mask = EdgeSelector(nodes=("aktau",), modes=("ferry",)).select(network)
    expected = ((e["tail"] == "aktau") | (e["head"] == "aktau")).to_numpy() & (
        e["mode"] == "ferry"
    ).to_numpy()
    assert expected.any()
    np.testing.assert_array_equal(mask, expected)


def test_empty_selector_selects_nothing(network):
    assert not EdgeSelector().select(network).any()
    st = state_at(network, [Shock(start="2020Q1", capacity_factor=0.0)], 4)
    assert (st.capacity_factor == 1.0).all()


# ============================================================================ edge state


def test_base_state_is_neutral(network):
    st = EdgeState.base(network)
    for name in ("capacity_factor", "time_factor", "dwell_factor", "tariff_factor", "handling_factor"):
        assert (getattr(st, name) == 1.0).all(), name
    assert not st.closed.any() and not st.opened.any()
    assert st.corridor_open == {c: network.corridors[c].enabled for c in CORRIDORS}


def test_shock_halves_capacity_only_in_its_quarters(network):
    shock = Shock(start="2022Q2", end="2022Q3", nodes=("aktau",), capacity_factor=0.5, time_factor=1.2)
    sel = shock.select(network)
    for step in range(quarter_index("2021Q4"), quarter_index("2023Q2")):
        st = state_at(network, [shock], step)
        inside = shock.active(step)
        assert inside == (quarter_index("2022Q2") <= step <= quarter_index("2022Q3"))
        fleet = fleet_crossings(network)  # slower turnaround: fewer sailings
        np.testing.assert_array_equal(st.capacity_factor[sel & ~fleet], 0.5 if inside else 1.0)
        np.testing.assert_array_equal(st.capacity_factor[sel & fleet], 0.5 / 1.2 if inside else 1.0)
        np.testing.assert_array_equal(st.time_factor[sel], 1.2 if inside else 1.0)
        assert (st.capacity_factor[~sel] == 1.0).all()


def test_events_compose_multiplicatively(network):
    a = Shock(start="2022Q1", nodes=("aktau",), capacity_factor=0.5)
    b = Shock(start="2022Q1", modes=("ferry",), capacity_factor=0.5)
    st = state_at(network, [a, b], 12)
    both = a.select(network) & b.select(network)
    assert both.any()
    np.testing.assert_array_equal(st.capacity_factor[both], 0.25)
    np.testing.assert_array_equal(st.capacity_factor[a.select(network) ^ b.select(network)], 0.5)


def test_investment_acts_from_start_plus_lag(network):
    inv = Investment(
        start="2022Q1", funder="EU", nodes=("aktau",), capacity_factor=2.0, time_factor=0.8, lag_quarters=3
    )
    sel = inv.select(network)
    first = quarter_index("2022Q1") + 3
    for step in range(quarter_index("2021Q4"), first + 4):
        st = state_at(network, [inv], step)
        fleet = fleet_crossings(network)  # faster turnaround: more sailings
        np.testing.assert_array_equal(st.capacity_factor[sel & ~fleet], 2.0 if step >= first else 1.0)
        np.testing.assert_array_equal(st.capacity_factor[sel & fleet], 2.0 / 0.8 if step >= first else 1.0)
        np.testing.assert_array_equal(st.time_factor[sel], 0.8 if step >= first else 1.0)


def test_a_time_factor_on_a_fleet_crossing_scales_its_sailings(network):
    """The ferries' and feeders' capacity is their sailings: a faster turnaround adds tonnes.

    A time cut on the Caspian crossings from Aktau divides the ferries' and feeders'
    capacity by the factor; the crude tankers' agreed throughput, the tanker and bulk links
    without a capacity and the rail links to the port keep theirs.
    """
    fleet = fleet_crossings(network)
    e = network.edges
    assert set(np.flatnonzero(fleet)) == set(range(122, 130))  # rail ferries 122-127, feeders 128/129
    inv = Investment(start="2022Q1", funder="EU", nodes=("aktau",), time_factor=0.5)
    sel = inv.select(network)
    st = state_at(network, [inv], quarter_index("2022Q1"))
    np.testing.assert_array_equal(st.time_factor[sel], 0.5)
    np.testing.assert_array_equal(st.dwell_factor[sel], 0.5)
    np.testing.assert_array_equal(st.capacity_factor[sel & fleet], 2.0)
    others = sel & ~fleet
    at_sea = others & (e["mode"] == "sea").to_numpy()
    crude = (e["commodities"].map(tuple) == ("crude",)).to_numpy()
    uncapacitated = ~np.isfinite(network.capacity_t_per_quarter)
    assert set(e.loc[others, "mode"]) == {"rail", "sea"}
    assert at_sea[crude].any() and (crude | uncapacitated)[at_sea].all()
    np.testing.assert_array_equal(st.capacity_factor[others], 1.0)
    assert (st.capacity_factor[~sel] == 1.0).all()


def test_investment_with_end_stops(network):
    inv = Investment(
        start="2022Q1", end="2022Q4", funder="EU", nodes=("aktau",), capacity_factor=2.0, lag_quarters=1
    )
    sel = inv.select(network)
    assert (state_at(network, [inv], 12).capacity_factor[sel] == 1.0).all()
    assert (state_at(network, [inv], 13).capacity_factor[sel] == 2.0).all()
    assert (state_at(network, [inv], 16).capacity_factor[sel] == 1.0).all()


def test_unresolved_pledge_does_nothing(network):
    pledge = Investment(
        start="2022Q1", funder="EU", nodes=("aktau",), capacity_factor=2.0, delivery_probability=0.5
    )
    assert (state_at(network, [pledge], 20).capacity_factor == 1.0).all()


def test_opening_investment_marks_links_opened(network):
    inv = Investment(start="2022Q1", funder="CN", edges=(3,), opens=True)
    assert not state_at(network, [inv], 11).opened.any()
    assert np.flatnonzero(state_at(network, [inv], 12).opened).tolist() == [3]


def test_route_closure_of_a_corridor(network):
    closure = RouteClosure(start="2025Q1", end="2025Q2", corridor="middle")
    assert network.corridors["middle"].enabled
    assert state_at(network, [closure], 23).corridor_open["middle"]
    for step in (24, 25):
        st = state_at(network, [closure], step)
        assert st.corridor_open["middle"] is False
        assert all(st.corridor_open[c] == network.corridors[c].enabled for c in CORRIDORS if c != "middle")
    assert state_at(network, [closure], 26).corridor_open["middle"]


def test_route_closure_of_links(network):
    closure = RouteClosure(start="2025Q1", links=("aktau>baku_alat",))
    st = state_at(network, [closure], 24)
    np.testing.assert_array_equal(st.closed, link_names(network) == "aktau>baku_alat")
    assert all(st.corridor_open[c] == network.corridors[c].enabled for c in CORRIDORS)
    assert not state_at(network, [closure], 23).closed.any()


def test_route_opening_of_a_corridor(network):
    assert not network.corridors["iranian"].enabled
    opening = RouteOpening(start=2030, corridor="iranian")
    assert not state_at(network, [opening], quarter_index("2029Q4")).corridor_open["iranian"]
    assert state_at(network, [opening], quarter_index("2030Q1")).corridor_open["iranian"]


def test_later_events_override_earlier_ones_in_list_order(network):
    opening = RouteOpening(start=2030, corridor="middle")
    closure = RouteClosure(start=2030, corridor="middle")
    assert state_at(network, [opening, closure], 44).corridor_open["middle"] is False
    assert state_at(network, [closure, opening], 44).corridor_open["middle"] is True


def test_tariff_change(network):
    ev = TariffChange(
        start="2024Q1", end="2024Q4", nodes=("aktau",), modes=("ferry", "sea"), handling_factor=0.5
    )
    sel = ev.select(network)
    assert sel.any()
    st = state_at(network, [ev], 20)
    np.testing.assert_array_equal(st.handling_factor[sel], 0.5)
    assert (st.handling_factor[~sel] == 1.0).all()
    assert (st.tariff_factor == 1.0).all()
    assert (state_at(network, [ev], 24).handling_factor == 1.0).all()


def test_border_agreement_speeds_borders_between_its_countries(network):
    ev = BorderAgreement(start=2026, countries=("KZ", "CN"), dwell_factor=0.5)
    st = state_at(network, [ev], quarter_index("2026Q1"))
    country = network.nodes.set_index("name")["country"]
    e = network.edges
    ends = {*zip(e["tail"].map(country), e["head"].map(country), strict=True)}
    assert ("KZ", "CN") in ends or ("CN", "KZ") in ends
    tail_c, head_c = e["tail"].map(country).to_numpy(), e["head"].map(country).to_numpy()
    expected = e["border"].to_numpy(bool) & np.isin(tail_c, ["KZ", "CN"]) & np.isin(head_c, ["KZ", "CN"])
    assert expected.any()
    np.testing.assert_array_equal(st.dwell_factor, np.where(expected, 0.5, 1.0))
    assert (state_at(network, [ev], quarter_index("2025Q4")).dwell_factor == 1.0).all()


def test_selection_cache_gives_the_same_state(network):
    events = [
        Shock(start="2022Q1", nodes=("aktau",), capacity_factor=0.5),
        BorderAgreement(start="2022Q1", countries=("KZ", "CN")),
        RouteClosure(start="2022Q1", links=("aktau>baku_alat",)),
    ]
    cache: dict = {}
    a, b = EdgeState.base(network), EdgeState.base(network)
    apply_edge_events(network, a, events, 12, cache=cache)
    apply_edge_events(network, b, events, 12, cache=cache)  # from the cache
    assert len(cache) == len(events)
    c = state_at(network, events, 12)
    for name in ("capacity_factor", "dwell_factor", "closed"):
        np.testing.assert_array_equal(getattr(a, name), getattr(c, name))
        np.testing.assert_array_equal(getattr(b, name), getattr(c, name))


def test_sanction_applies_filters():
    sn = Sanction(start="2025Q1", imposed_by="EU", transit="RU", commodities=("containers",), directions=("import",),
                  markets=("market_eu",), shipper_countries=("KZ",))  # fmt: skip
    kw = {"country": "KZ", "commodity": "containers", "direction": "import", "market": "market_eu"}
    assert sn.applies(**kw)
    assert not sn.applies(**{**kw, "country": "UZ"})
    assert not sn.applies(**{**kw, "commodity": "grain_cotton"})
    assert not sn.applies(**{**kw, "direction": "export"})
    assert not sn.applies(**{**kw, "market": "market_china"})
    assert Sanction(start="2025Q1", imposed_by="EU", transit="RU").applies(**{**kw, "country": "TJ"})
