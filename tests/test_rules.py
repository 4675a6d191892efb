"""Tests of the shippers' choice rule (:mod:`corridors.agents.rules`): value-of-time segments.

The carrying-cost segments and the time-sensitive one (Hummels & Schaur's 0.6-2.1% of the
cargo's value a day), their weights, and the target shares against a reference written with
:func:`relative_cost_logit` segment by segment.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridors.agents.rules import ChoiceTerms, ShipperArrays, relative_cost_logit, target_shares
from corridors.parameters import Parameters

K = 3


def _arrays(params: Parameters, value: np.ndarray, container: np.ndarray) -> ShipperArrays:
    return ShipperArrays.create(params, value, ~container, K, container)


def test_segments_and_weights():
    p = Parameters(time_sensitive_share=0.2, time_sensitive_vot_per_day=0.01)
    value = np.array([10_000.0, 500.0])
    sh = _arrays(p, value, np.array([True, False]))
    assert sh.vot.shape == sh.weight.shape == (2, 4)
    np.testing.assert_allclose(sh.weight.sum(axis=1), 1.0)
    np.testing.assert_allclose(sh.weight[0], [0.8 / 3, 0.8 / 3, 0.8 / 3, 0.2])
    np.testing.assert_allclose(sh.weight[1], [1 / 3, 1 / 3, 1 / 3, 0.0])  # bulk: no time-sensitive owners
    # the time-sensitive value of a day is a share of the cargo's value, the others its carrying cost
    np.testing.assert_allclose(sh.vot[:, 3], value * 0.01)
    np.testing.assert_allclose(sh.vot[:, 1], value * p.carrying_cost_per_year / 365.0)
    assert (sh.vot[:, 3] > 10 * sh.vot[:, 2]).all()  # 1%/day against 15%/yr: a different order


def _choice(sh: ShipperArrays, money: np.ndarray, days: np.ndarray, params: Parameters) -> np.ndarray:
    """Target shares of every row with the given remembered money (USD/t) and time (days)."""
    S = money.shape[0]
    sh.memory_money[...] = money
    sh.memory_time[...] = days
    sh.memory_time_var[...] = 0.0

    class View:
        available = np.ones((S, K), dtype=bool)
        ban_cap = np.ones((S, K))

    zero = np.zeros((S, K))
    terms = ChoiceTerms(zero, zero, zero, zero, np.zeros(K))
    return target_shares(sh, View(), terms, params, np.arange(S))


@settings(max_examples=40, deadline=None)
@given(
    theta=st.floats(0.0, 1.0),
    vot_day=st.floats(0.006, 0.023),
    elasticity=st.floats(0.5, 12.0),
    money=st.lists(st.floats(10.0, 3000.0), min_size=K, max_size=K),
    days=st.lists(st.floats(1.0, 60.0), min_size=K, max_size=K),
    value=st.floats(100.0, 50_000.0),
)
def test_target_shares_equal_the_weighted_logit_of_each_segment(
    theta, vot_day, elasticity, money, days, value
):
    """The kernel's target is the segments' relative-cost logits, weighted by the segments' shares."""
    p = Parameters(time_sensitive_share=theta, time_sensitive_vot_per_day=vot_day, cost_elasticity=elasticity)
    sh = _arrays(p, np.array([value]), np.array([True]))
    got = _choice(sh, np.array([money]), np.array([days]), p)[0]
    generalised = np.array(money)[None, :] + sh.vot[0][:, None] * np.array(days)[None, :]  # (segments, K)
    expected = (sh.weight[0][:, None] * relative_cost_logit(generalised, np.ones(K, bool), elasticity)).sum(0)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    assert got.sum() == pytest.approx(1.0)


def test_time_sensitive_shippers_move_freight_to_the_faster_dearer_corridor():
    """Rail (dearer, 15 days) against sea (cheaper, 40 days): the faster corridor's target share of a
    container flow rises with the share of time-sensitive owners, and bulk does not move at all."""
    money = np.array([[450.0, 120.0, 1e6]] * 2)
    days = np.array([[15.0, 40.0, 1.0]] * 2)
    shares = []
    for theta in (0.0, 0.1, 0.3):
        p = Parameters(time_sensitive_share=theta, cost_elasticity=4.0)
        sh = _arrays(p, np.array([10_000.0, 10_000.0]), np.array([True, False]))
        shares.append(_choice(sh, money.copy(), days.copy(), p))
    rail_box = [s[0, 0] for s in shares]
    assert rail_box[0] < rail_box[1] < rail_box[2]
    assert shares[0][1, 0] == shares[1][1, 0] == shares[2][1, 0]


def test_heterogeneity_makes_the_shift_gradual():
    """As the sea's money cost rises, the rail share of a container flow rises step by step:
    with the time-sensitive segment no single 10% rise of the sea rate moves more than a
    third of the flow at a moderate elasticity (the segments switch at different rates)."""
    p = Parameters(time_sensitive_share=0.15, cost_elasticity=4.0)
    sea = np.geomspace(50.0, 2000.0, 40)
    rail = []
    for price in sea:
        sh = _arrays(p, np.array([10_000.0]), np.array([True]))
        rail.append(_choice(sh, np.array([[450.0, price, 1e6]]), np.array([[15.0, 40.0, 1.0]]), p)[0, 0])
    rail = np.array(rail)
    assert (np.diff(rail) > 0).all()
    assert rail[0] < 0.5 < rail[-1]
    assert np.diff(rail).max() < 1 / 3


def test_the_model_gives_container_flows_their_time_sensitive_owners(build_model):
    m = build_model(end_year=2019, params=Parameters(time_sensitive_share=0.25))
    box = m.layout.shipper["commodity"] == "containers"
    np.testing.assert_allclose(m.sh.weight[box, 3], 0.25)
    np.testing.assert_array_equal(m.sh.weight[~box, 3], 0.0)
    # and the choice responds: more time-sensitive owners, more container freight on the fast corridors
    other = build_model(end_year=2019, params=Parameters(time_sensitive_share=0.0))
    for model in (m, other):
        model.run()
    assert not np.array_equal(copy.deepcopy(m.sh.shares[box]), other.sh.shares[box])
