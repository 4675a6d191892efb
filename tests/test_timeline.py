"""Tests of :mod:`corridors.timeline`: the links' state kept while no event starts or ends,
funded projects joining the timeline, and pledges drawn once per run."""

from __future__ import annotations

import numpy as np

from corridors.events import EdgeState, Investment, Shock, apply_edge_events
from corridors.inputs import load_inputs
from corridors.known_events import baseline_events
from corridors.layout import Layout
from corridors.parameters import Parameters
from corridors.timeline import Timeline
from corridors.vocabulary import quarter_index


def timeline(network, events, *, stochastic=False, seed=0) -> Timeline:
    return Timeline(network, list(events), projects=Layout.of(network, load_inputs(network)).projects, params=Parameters(),
                    rng=np.random.default_rng(seed), stochastic=stochastic)  # fmt: skip


def test_edge_state_equals_a_fresh_state_and_is_kept_between_events(network):
    shock = Shock(start="2022Q2", end="2022Q3", nodes=("aktau",), capacity_factor=0.5)
    tl = timeline(network, [shock])
    before = tl.edge_state(3)
    assert tl.edge_state(4) is before, "no event starts or ends between 2019Q4 and 2020Q1"
    during = tl.edge_state(quarter_index("2022Q2"))
    assert tl.edge_state(quarter_index("2022Q3")) is during
    after = tl.edge_state(15)
    for step, got in ((3, before), (quarter_index("2022Q2"), during), (15, after)):
        fresh = EdgeState.base(network)
        apply_edge_events(network, fresh, [shock], step)
        np.testing.assert_array_equal(got.capacity_factor, fresh.capacity_factor)
    assert (during.capacity_factor < 1).any() and (before.capacity_factor == 1).all()


def test_a_funded_project_starts_the_next_quarter_after_its_lag(network):
    tl = timeline(network, [])
    project = next(p for p in Layout.of(network, load_inputs(network)).projects if p.effect != "open")
    tl.fund(project, step=10, funder="KZ")
    investment = tl.events[-1]
    assert isinstance(investment, Investment) and investment.project == project.project
    assert investment.first_step >= 11, "funded in a quarter, it starts the next one at the earliest"
    acts = investment.first_step + int(investment.lag_quarters)
    assert investment in tl.active(Investment, acts) and investment not in tl.active(Investment, acts - 1)
    assert project.project in tl.done_projects(investment.first_step)
    assert project.project not in tl.done_projects(investment.first_step - 1)
    assert tl.decisions[-1] == {"step": 10, "agent": "KZ", "decision": "fund", "detail": project.project}


def test_pledges_are_drawn_once_and_the_same_for_the_same_seed(network):
    events = baseline_events(Parameters())
    a = timeline(network, events, stochastic=True, seed=4)
    b = timeline(network, events, stochastic=True, seed=4)
    assert [e.to_dict() for e in a.events] == [e.to_dict() for e in b.events]
    assert a.decisions == b.decisions
    deterministic = timeline(network, events)
    assert all(getattr(e, "delivery_probability", 1.0) == 1.0 for e in deterministic.events)
