"""Tests of :mod:`corridors.demo`: the three-corridor route-cost example on its toy network
(the ``corridors demo`` command is tested in tests/test_cli_network.py)."""

from __future__ import annotations

import itertools

import pytest

from corridors.demo import CORRIDORS, EDGES, DemoRow, route_cost_demo


def edge(tail: str, head: str) -> tuple:
    return next(e for e in EDGES if e[:2] == (tail, head))


def test_one_row_per_corridor_from_khorgos_to_the_eu():
    rows = route_cost_demo()
    assert [r.corridor for r in rows] == list(CORRIDORS)
    assert all(isinstance(r, DemoRow) for r in rows)
    routes = {r.corridor: r.route.split(" > ") for r in rows}
    assert routes["russian"] == ["khorgos", "dostyk", "iletsk", "brest", "eu"]
    assert routes["middle"] == ["khorgos", "aktau", "baku", "poti", "eu"]
    assert routes["sea"] == ["khorgos", "lianyungang", "rotterdam", "eu"]


def test_distances_and_free_flow_times_add_up_along_the_route():
    for row in route_cost_demo():
        stops = row.route.split(" > ")
        legs = [edge(a, b) for a, b in itertools.pairwise(stops)]
        assert row.distance_km == pytest.approx(sum(e[2] for e in legs))
        assert row.free_flow_days == pytest.approx(sum(e[2] / e[3] + e[4] for e in legs) / 24)
        assert row.loaded_days >= row.free_flow_days


def test_loads_congest_the_caspian_ferry():
    light = {r.corridor: r for r in route_cost_demo((0.0, 0.0, 0.0))}
    heavy = {r.corridor: r for r in route_cost_demo((30_000, 10_000, 20_000))}
    for corridor in CORRIDORS:
        assert light[corridor].loaded_days == pytest.approx(light[corridor].free_flow_days)
        assert light[corridor].bottleneck_utilisation == 0.0
    # the middle corridor's bottleneck is the Aktau-Baku ferry (capacity 5,000 t/day)
    assert heavy["middle"].bottleneck_utilisation == pytest.approx(10_000 / edge("aktau", "baku")[6])
    assert heavy["middle"].loaded_days > light["middle"].loaded_days
    assert heavy["middle"].cost_usd_per_t > light["middle"].cost_usd_per_t


@pytest.mark.parametrize("demand", [(1.0, 2.0), (1.0, -1.0, 2.0)])
def test_bad_demand_is_refused(demand):
    with pytest.raises(ValueError, match="demand_t_per_day: need 3 non-negative loads"):
        route_cost_demo(demand)
