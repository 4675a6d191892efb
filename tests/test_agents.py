"""Tests of the agents (:mod:`corridors.agents`): Mesa 3.3 agents and their ids, each agent
type's decisions in a deterministic baseline, the per-agent methods against the batched
rules the step runs, and agents that decide from a read-only view.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from corridors.agents import (
    BlocAgent,
    CaspianOperator,
    CountryAgent,
    PowerAgent,
    ShipperAgent,
    TransitStateAgent,
    appropriate,
    choose_shares,
    remember_costs,
)
from corridors.agents.states import annuity_factor
from corridors.model import DECISION_ORDER, CorridorModel
from corridors.parameters import Parameters
from corridors.view import _project_benefits
from corridors.vocabulary import C5

P = Parameters()


def caspian_utilisation(model: CorridorModel) -> np.ndarray:
    """Per step, the highest load over capacity on the Caspian links (what the operator reads)."""
    load = model.rec["edge_load"][:, model.caspian]
    cap = model.rec["edge_capacity"][:, model.caspian]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cap > 0, load / cap, 0.0).max(axis=1)


@pytest.fixture(scope="module")
def baseline(baseline_trace):
    """The deterministic baseline to 2027 (traced)."""
    return baseline_trace


def test_agents_by_type(build_model, inputs):
    m = build_model(end_year=2019)
    counts = {cls: len(m.agents_by_type[cls]) for cls in m.agents_by_type}
    assert counts == {
        ShipperAgent: len(inputs.trade),
        CountryAgent: 5,
        PowerAgent: 4,
        CaspianOperator: 1,
        TransitStateAgent: 3,
        BlocAgent: 1,  # acts only while the five act as one bloc
    }
    assert len(m.agents) == sum(counts.values())
    assert sorted(a.country for a in m.agents_by_type[CountryAgent]) == sorted(C5)
    assert sorted(a.power for a in m.agents_by_type[PowerAgent]) == sorted(("RU", "CN", "US", "EU"))
    assert sorted(a.country for a in m.agents_by_type[TransitStateAgent]) == ["AZ", "GE", "TR"]
    # one shipper per trade.csv row, in order
    rows = [(s.origin, s.market, s.commodity, s.direction) for s in m.shippers]
    assert rows == list(
        inputs.trade[["origin", "market", "commodity", "direction"]].itertuples(index=False, name=None)
    )
    assert [s.index for s in m.shippers] == list(range(len(inputs.trade)))
    assert set(m.shippers) == set(m.agents_by_type[ShipperAgent])


def test_every_agent_has_a_unique_id(build_model):
    m = build_model(end_year=2019)
    ids = [a.unique_id for a in m.agents]
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, int) for i in ids)
    assert all(a.model is m for a in m.agents)


def test_russia_cuts_its_tariff_when_its_transit_share_falls(baseline):
    pol = baseline.results.policy
    ru = pol["russia_tariff_factor"]
    assert (ru[pol["year"] < 2022] == 1.0).all()  # the reference years
    assert ru[pol["year"] >= 2022].min() < 1.0
    assert ru.min() >= 1.0 - P.russia_max_tariff_cut - 1e-12


def test_china_supports_rail_when_the_rail_share_falls(baseline):
    pol = baseline.results.policy
    cn = pol["china_subsidy_usd_per_t"]
    assert (cn[pol["year"] < 2022] == 0.0).all()
    assert cn.max() > 0.0
    assert cn.max() <= P.china_max_subsidy_usd_per_t


def test_caspian_operator_adds_vessels_when_the_caspian_is_congested(baseline):
    m = baseline.model
    vessels = baseline.results.policy["caspian_vessels"].to_numpy()
    assert vessels.max() > m.operator.base_vessels
    assert vessels.max() <= P.max_vessels
    added = np.flatnonzero(np.diff(vessels, prepend=m.operator.base_vessels) > 0)
    assert added.size > 0
    util = caspian_utilisation(m)
    lag = P.fleet_lag_quarters
    for s in added:  # every delivery was ordered ``lag`` quarters earlier, in a congested quarter
        assert s >= lag
        assert util[s - lag] >= P.fleet_trigger_utilisation, (s, util[s - lag])


def test_a_country_funds_a_project(baseline):
    m = baseline.model
    d = baseline.results.decisions
    funds = d[d["decision"] == "fund"]
    assert len(funds) > 0
    assert set(funds["agent"]) <= set(C5)
    assert (funds["step"] % 4 == 3).all()  # yearly decisions, in Q4
    funded = {p for a in m.country_agents.values() for p in a.funded}
    assert set(funds["detail"]) == funded
    projects = {ev.project for ev in m.events if getattr(ev, "project", "")}
    assert funded <= projects


def test_countries_adjust_port_fees_or_borders(baseline):
    pol = baseline.results.policy
    cols = [f"port_fee_factor_{c}" for c in C5] + [f"border_factor_{c}" for c in C5]
    assert (pol[cols].iloc[-1] != 1.0).any()


def test_transit_states_set_their_fees(baseline):
    pol = baseline.results.policy
    lo, hi = P.transit_fee_bounds
    for c in ("AZ", "GE", "TR"):
        fee = pol[f"fee_factor_{c}"]
        assert fee.iloc[-1] != 1.0, c
        assert fee.between(lo, hi).all(), c
        changed = pol["step"][fee.diff().fillna(fee.iloc[0] - 1.0) != 0]
        assert (changed % 4 == 3).all(), c  # yearly, in Q4


def test_shippers_change_their_shares_over_time(baseline):
    shares = baseline.shares
    assert np.abs(shares[-1] - shares[0]).max() > 0.05
    moved = np.abs(np.diff(shares, axis=0)).max(axis=(1, 2))
    assert (moved > 0).mean() > 0.5  # most quarters some contracts move


def _stepped_model(build_model, steps: int) -> CorridorModel:
    m = build_model(end_year=2023)
    for _ in range(steps):
        m.step()
    return m


def _restore(arrays, saved) -> None:
    """Put saved values back into the arrays the agents hold (in place)."""
    for f in dataclasses.fields(arrays):
        getattr(arrays, f.name)[...] = getattr(saved, f.name)


def test_shipper_choose_equals_the_batched_rule(build_model):
    """ShipperAgent.choose, agent by agent, gives the same state as choose_shares on all rows."""
    m = _stepped_model(build_model, 13)  # into 2022: sanctions, congestion
    m._prepare_quarter(m.t)
    saved, cargo = copy.deepcopy(m.sh), m.cargo.alloc.copy()
    choose_shares(m.sh, m.cargo, m.view, m.terms, m.params, m.all_rows)
    batched = copy.deepcopy(m.sh)
    assert np.abs(batched.shares - saved.shares).max() > 0  # the decision changes something
    _restore(m.sh, saved)
    for agent in m.agents_by_type[ShipperAgent]:
        agent.choose(m.view, m.terms, m.cargo, m.params)
    for f in dataclasses.fields(m.sh):
        np.testing.assert_array_equal(getattr(m.sh, f.name), getattr(batched, f.name), err_msg=f.name)
    np.testing.assert_array_equal(m.cargo.alloc, cargo)  # the governments' allocation is theirs


def test_shipper_remember_equals_the_batched_rule(build_model):
    m = _stepped_model(build_model, 13)
    saved = copy.deepcopy(m.sh)
    remember_costs(m.sh, m.view, m.params, m.all_rows)
    batched = copy.deepcopy(m.sh)
    assert np.nanmax(np.abs(batched.memory_time - saved.memory_time)) > 0
    _restore(m.sh, saved)
    for agent in m.shippers:
        agent.remember(m.view, m.params)
    for name in ("memory_money", "memory_time", "memory_time_var"):
        np.testing.assert_array_equal(getattr(m.sh, name), getattr(batched, name), err_msg=name)


def test_country_routing_equals_the_batched_rule(build_model):
    m = _stepped_model(build_model, 13)
    m._prepare_quarter(m.t)
    saved = m.cargo.alloc.copy()
    m.countries_agents_route()
    batched = m.cargo.alloc.copy()
    assert np.abs(batched - saved).max() > 0
    m.cargo.alloc[...] = saved
    for agent in m.agents_by_type[CountryAgent]:
        agent.route_state_flows(m.view, m.terms, m.sh, m.params)
    np.testing.assert_allclose(m.cargo.alloc, batched, rtol=1e-12, atol=1e-15)


def test_agents_decide_from_a_read_only_view(build_model):
    """The view agents read cannot be written, and no agent sets an attribute of the model."""
    m = _stepped_model(build_model, 13)
    with pytest.raises(ValueError, match="read-only"):
        m.view.quote_money[0, 0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        m.view.served[0, 0] = 0.0
    before = dict(vars(m))
    for kind in DECISION_ORDER:
        m.agents_by_type[kind].do("decide", m.view, m.params, m.project_vot)
    assert {k for k, v in vars(m).items() if before.get(k) is not v} == set()


# --------------------------------------------------------------------------- project appraisal


def test_a_funder_holds_at_most_its_budget_window(baseline):
    """Unspent appropriations lapse after ``budget_window_years``: Kazakhstan never holds more
    than three years of its USD 400 m, where it used to hoard USD 2,800 m by 2026."""
    from corridors.model import COUNTRY_BUDGETS_USD_M

    kz = baseline.model.country_agents["KZ"]
    assert kz.savings_usd_m <= P.budget_window_years * COUNTRY_BUDGETS_USD_M["KZ"] + 1e-9
    assert appropriate(1000.0, 400.0, 3) == 1200.0  # the oldest allocation lapsed
    assert appropriate(100.0, 400.0, 3) == 500.0


def test_the_pool_reaches_a_project_no_member_can_afford_alone():
    """Dostyk-Moyinty (USD 1,500 m) is beyond Kazakhstan's three-year window (USD 1,200 m) but
    within the five's pool (USD 2,520 m): under an appraisal that passes it (50 years,
    undiscounted), the bloc funds it and Kazakhstan alone, in the baseline, never does."""
    import corridors

    longer = {"parameters.appraisal_discount_rate": 0.0, "parameters.appraisal_years": 50}
    funded = {}
    for name in ("baseline", "c5_bloc"):
        d = corridors.run(name, stochastic=False, overrides=longer).decisions
        funded[name] = set(map(tuple, d.loc[d["decision"] == "fund", ["agent", "detail"]].to_numpy()))
    assert ("C5", "dostyk_moyinty_second_track") in funded["c5_bloc"]
    assert not any(p == "dostyk_moyinty_second_track" for _, p in funded["baseline"])


def test_containers_are_worth_more_time_than_the_same_tonnes_of_bulk(build_model):
    """A link's value of time is that of the freight on it: the same tonnes and days save more
    on a container link than on an ore link (the old rule used one median for both)."""
    m = _stepped_model(build_model, 4)
    v = m.view
    groups = [g["commodity"] for g in m.layout.groups]
    box, ore = groups.index("containers"), groups.index("metals_ores")
    flow = np.zeros_like(v.group_flow)
    flow[box, 0] = flow[ore, 1] = 1e5
    view = v.loaded_with(group_flow=flow, flow=flow.sum(axis=0))
    vot = view.link_vot(m.project_vot)
    assert vot[0] > 2 * vot[1] > 0
    ptr = np.array([0, 1, 2])
    edges = np.array([0, 1])
    ones = np.ones(v.flow.size)
    q, _, k = _project_benefits(
        ptr, edges, np.array([2.0, 2.0]), np.array([1.0, 1.0]),
        2e5 * ones, 91.25 * ones, 1e5 * ones, 24.0 * ones, 1e5 * ones, vot,
    )  # fmt: skip
    assert q[0] / q[1] == pytest.approx(vot[0] / vot[1])
    assert q[0] > q[1] > 0 and k[0] > k[1] > 0


def test_the_freight_a_binding_capacity_keeps_away_counts():
    """Rule of half on the tonnes held back beyond capacity that the new capacity lets through."""
    Q = 91.25
    ptr, edges = np.array([0, 1, 2]), np.array([0, 1])
    cap = np.array([100.0, 100.0])
    load = np.array([300.0, 80.0])  # one link twice over its capacity, one below it
    wait = np.array([2.0 * Q, 0.0])
    flow = np.array([100.0, 80.0])
    vot = np.array([1.0, 1.0])
    q, t, k = _project_benefits(
        ptr, edges, np.array([2.0, 2.0]), np.array([1.0, 1.0]), load, wait, flow,
        np.zeros(2), cap, vot,
    )  # fmt: skip
    # capacity x2: the queue falls from 2 to 0.5 quarters; 100 more tonnes get through
    assert q[0] == pytest.approx(300.0 * 1.5 * Q)
    assert k[0] == pytest.approx(0.5 * 100.0 * 1.5 * Q)
    assert q[1] == k[1] == t[0] == 0.0
    assert annuity_factor(20, 0.09) == pytest.approx(9.1285, abs=1e-4)
    assert annuity_factor(10, 0.0) == 10.0
