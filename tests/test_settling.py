"""Tests of :mod:`corridors.settling`: hard capacities throttle the flows, what does not get
through waits, and queues form only where offered loads exceed capacity."""

from __future__ import annotations

import numpy as np
import pytest

from corridors.settling import Settled


@pytest.fixture(scope="module")
def congested(build_model, ban_closure_events):
    """Quarters of a run with queues (2021-2022: the Middle Corridor's boom and closure)."""
    m = build_model(end_year=2023, stochastic=True, seed=2, events=ban_closure_events)
    outcomes = []
    for _ in range(16):
        offered_before = m.backlog.copy()
        m.step()
        outcomes.append((m.t - 1, m.outcome, m.rec["offered"][m.t - 1] + offered_before, m.view))
    return m, outcomes


def test_served_flows_stay_within_hard_capacities(congested):
    m, outcomes = congested
    hard = m.layout.hard
    for _, o, _, v in outcomes:
        cap = v.capacity[hard]
        finite = np.isfinite(cap)
        assert (o.flow_e[hard][finite] <= cap[finite] * (1 + 1e-9) + 1e-6).all()


def test_served_and_backlog_are_non_negative_and_queues_wait_only_where_loads_exceed_capacity(congested):
    m, outcomes = congested
    hard = m.layout.hard
    for _, o, _, v in outcomes:
        assert (o.served >= 0).all() and (o.backlog >= -1e-9).all()
        over = hard & np.isfinite(v.capacity) & (o.load_e > v.capacity)
        assert (o.wait_e[~over & hard] == 0).all()
        assert (o.wait_e[over] > 0).all()
    assert any((o.wait_e > 0).any() for _, o, _, _ in outcomes), "the run has queues somewhere"


def test_an_empty_outcome_has_the_model_shapes():
    e = Settled.empty(3, 6, 10)
    assert e.served.shape == e.backlog.shape == (3, 6)
    assert e.flow_e.shape == e.load_e.shape == e.wait_e.shape == (10,)
    assert (e.served == 0).all() and (e.wait_e == 0).all()
