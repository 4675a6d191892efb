"""Tests that a scenario's opened route has freight that can choose it (issue 16, item 1).

- ``trans_afghan``: trade with Afghanistan crosses Termez-Hairatan from 2019 in the baseline
  (A-demand-afghan); the five's trade with South Asia leaves through Chinese ports until the
  scenario opens the Torkham road in 2026, then mostly through Afghanistan
  (A-demand-south-asia, A-afghan-opening).
- ``cku_railway``: the start-up subsidy reaches the China-Europe transit shippers on the Middle
  Corridor, the lever the scenario pulls (A-cku-subsidy).

Deterministic runs, short horizons.
"""

from __future__ import annotations

import numpy as np
import pytest

import corridors
from corridors.model import CorridorModel
from corridors.scenario import load_scenario, scenario_dir
from corridors.vocabulary import CORRIDORS, quarter_index


def _by_year(res, market: str, corridor: str) -> dict[int, float]:
    c = res.countries
    rows = c[(c["market"] == market) & (c["corridor"] == corridor)]
    return rows.groupby("year")["volume_t"].sum().to_dict()


@pytest.fixture(scope="module")
def afghan_runs():
    return {
        name: corridors.run(scenario_dir() / f"{name}.toml", stochastic=False, end_year=2027)
        for name in ("baseline", "trans_afghan")
    }


def test_trade_with_afghanistan_crosses_termez_hairatan_from_2019(afghan_runs):
    base = afghan_runs["baseline"]
    afghan = _by_year(base, "market_afghanistan", "trans_afghan")
    # the Kazakh rows of A-demand-afghan: ~2.37 Mt a year in 2019-2022, 2.7 in 2023
    assert afghan[2019] == pytest.approx(2.37e6, rel=0.05)
    assert afghan[2023] == pytest.approx(2.70e6, rel=0.05)
    c = base.countries
    other = c[(c["market"] == "market_afghanistan") & (c["corridor"] != "trans_afghan")]
    assert other["volume_t"].sum() == 0.0  # Afghanistan lies beyond the trans_afghan gateways only


def test_south_asia_trade_takes_the_opened_route(afghan_runs):
    base, scen = afghan_runs["baseline"], afghan_runs["trans_afghan"]
    assert sum(_by_year(base, "market_south_asia", "trans_afghan").values()) == 0.0
    via_afghanistan = _by_year(scen, "market_south_asia", "trans_afghan")
    via_china = _by_year(scen, "market_south_asia", "chinese")
    assert all(via_afghanistan[y] == 0.0 for y in range(2019, 2026))  # closed until 2026Q1
    # from its opening the route carries most of the region's South Asia trade (Uzbek cargo to
    # Pakistan, 0.3 Mt in 2019, growing 7% a year, A-demand-south-asia), taken from Chinese ports
    assert via_afghanistan[2027] > 0.3e6
    assert via_afghanistan[2027] > 2 * via_china[2027]
    base_china = _by_year(base, "market_south_asia", "chinese")
    assert via_china[2027] + via_afghanistan[2027] == pytest.approx(base_china[2027], rel=0.02)


def test_cku_subsidy_reaches_china_europe_transit_on_the_middle_corridor():
    """The lever acts: USD 60/t more on the Middle Corridor for China-Europe transit in 2030,
    nothing on the other corridors or for other shippers (A-cku-subsidy)."""
    terms = {}
    for name in ("baseline", "cku_railway"):
        sc = load_scenario(scenario_dir() / f"{name}.toml")
        p = sc.parameters()
        m = CorridorModel(params=p, events=sc.events(p), end_year=2030, stochastic=False, rng=7)
        while m.t <= quarter_index("2030Q1"):
            m.step()
        terms[name] = m.view.subsidy.copy()
        shipper = m.layout.shipper
    pool = (shipper["origin"] == "xian") & (shipper["market"] == "market_eu")
    extra = terms["cku_railway"] - terms["baseline"]
    middle = CORRIDORS.index("middle")
    assert np.allclose(extra[pool, middle], 60.0)
    transit = shipper["direction"] == "transit"
    assert np.allclose(extra[~transit], 0.0)
    assert np.allclose(np.delete(extra, middle, axis=1), 0.0)
