"""The model's agents and their decisions (Mesa 3).

Each agent decides from the model's state of the quarter; none of them is a reporter.

- :class:`ShipperAgent`: one per (origin, market, commodity, direction) flow; chooses
  corridor shares by discrete choice from its memory of experienced costs, renews a part
  of its contracts each quarter, breaks contracts at once under a ban.
- :class:`CountryAgent`: one per C5 state; routes the state-controlled part of its flows
  by strategic preference (cost, diversification away from any one power, alignment);
  sets port fees and border efficiency; funds projects that cut its shippers' costs most.
- :class:`PowerAgent`: Russia (1520 tariff response), China (rail subsidies), the US and
  the EU (sanctions, pledges, offtake deals).
- :class:`CaspianOperator`: adds feeder vessels after a lag when utilisation stays high.
- :class:`TransitStateAgent`: Azerbaijan, Georgia, Turkey set handling fees for revenue.

The model (``corridors.model``) holds the arrays the agents read and write: quotes and
experiences per shipper and corridor, edge multipliers, and the recorded tables.
"""

from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING

import mesa
import numpy as np

from corridors.network import CORRIDORS
from corridors.parameters import C5, POWERS

if TYPE_CHECKING:
    from corridors.model import CorridorModel

__all__ = ["CaspianOperator", "CountryAgent", "PowerAgent", "ShipperAgent", "TransitStateAgent"]

QUARTER_DAYS = 91.25


class _IdCounters(weakref.WeakKeyDictionary):
    """Unique-id counters per model, holding the models weakly.

    ``mesa.Agent`` (3.3) numbers agents from a class-level ``defaultdict`` keyed by model, which
    keeps every model ever built alive: about 2 MB a run, 2 GB over the 1000 runs of an
    ensemble worker. Mesa reads the counter as ``self._ids[model]``, so this class attribute of
    our agents takes its place with the same numbering (one counter per model, from 1).
    """

    def __getitem__(self, model):
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


class CorridorAgent(mesa.Agent):
    """Base class of the model's agents: a Mesa agent whose model can be freed after its run."""

    _ids = _IdCounters()


def relative_cost_logit(costs: np.ndarray, available: np.ndarray, elasticity: float) -> np.ndarray:
    """Relative-cost logit over the last axis: ``share ~ (G / G_min) ** -elasticity``.

    ``costs`` ``(..., K)``; ``available`` broadcasts to it. Rows with nothing available get
    zeros. Scale-free: a corridor 10% dearer than the cheapest gets ``1.1 ** -elasticity``
    of its weight whatever the commodity's cost level.
    """
    g = np.where(available, np.maximum(costs, 1e-9), np.inf)
    gmin = g.min(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(available & np.isfinite(gmin), np.exp(-elasticity * np.log(g / gmin)), 0.0)
    total = w.sum(axis=-1, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total > 0)


class ShipperAgent(CorridorAgent):
    """Freight of one origin, market, commodity and direction, standing for many firms.

    State (rows of the model's shipper arrays, so that decisions of all shippers can run
    as one batch): contract shares per corridor, memory of money cost, transit time and
    its variability per corridor, three value-of-time segments, contract renewal rate.
    The state-controlled part of the flow (``state_share``) is routed by the shipper's
    :class:`CountryAgent` into ``state_alloc``.
    """

    def __init__(
        self,
        model: CorridorModel,
        *,
        index: int,
        origin: str,
        market: str,
        commodity: str,
        direction: str,
        country: str,
        tonnes_2019: float,
        growth_per_year: float,
        value_usd_per_t: float,
        state_share: float,
    ) -> None:
        super().__init__(model)
        self.index = index
        self.origin = origin
        self.market = market
        self.commodity = commodity
        self.direction = direction
        self.country = country
        self.tonnes_2019 = tonnes_2019
        self.growth_per_year = growth_per_year
        self.value_usd_per_t = value_usd_per_t
        self.state_share = state_share

    # views of the agent's rows in the model's arrays
    @property
    def shares(self) -> np.ndarray:
        """Contracted share of the private freight per corridor (sums to 1 or 0)."""
        return self.model.sh.shares[self.index]

    @property
    def state_alloc(self) -> np.ndarray:
        """The government's allocation of the state-controlled freight per corridor."""
        return self.model.sh.state_alloc[self.index]

    @property
    def memory_money(self) -> np.ndarray:
        return self.model.sh.memory_money[self.index]

    @property
    def memory_time(self) -> np.ndarray:
        return self.model.sh.memory_time[self.index]

    @property
    def vot(self) -> np.ndarray:
        """Value of time of the three segments, USD per tonne-day."""
        return self.model.sh.vot[self.index]

    def volume_t(self, step: int) -> float:
        """Trend tonnes of this flow in quarter ``step`` (before offtake deals and crude diversion)."""
        return float(self.model.trend_volumes(step)[self.index])

    # decisions: each runs the batched rule on this agent's row alone
    def choose(self) -> None:
        """Renew a part of the contracts at the target shares; a ban breaks contracts at once."""
        choose_shares(self.model, np.array([self.index]))

    def remember(self) -> None:
        """Update the memory of the corridors used this quarter with the experienced costs."""
        remember_costs(self.model, np.array([self.index]))


def perceived_costs(model: CorridorModel, rows: np.ndarray) -> np.ndarray:
    """Generalised cost per shipper, value-of-time segment and corridor, USD/t ``(n, 3, K)``.

    Remembered money cost plus sanction premiums, minus subsidies, plus the political cost
    of the route and the corridor constant; remembered time plus a reliability margin,
    valued at each segment's value of time.
    """
    sh, p = model.sh, model.params
    money = (sh.memory_money[rows] + model.premium[rows] - model.subsidy[rows] + model.political[rows]
             + model.corridor_constant[rows])  # fmt: skip
    days = (
        sh.memory_time[rows]
        + p.reliability_weight * np.sqrt(sh.memory_time_var[rows])
        + model.penalty_days[None, :]
    )
    return money[:, None, :] + sh.vot[rows][:, :, None] * days[:, None, :]


def target_shares(model: CorridorModel, rows: np.ndarray) -> np.ndarray:
    """Mean over the value-of-time segments of the relative-cost logit ``(n, K)``."""
    avail = model.available[rows] & np.isfinite(model.sh.memory_money[rows]) & (model.ban_cap[rows] > 0)
    costs = np.nan_to_num(perceived_costs(model, rows), nan=np.inf)
    return relative_cost_logit(costs, avail[:, None, :], model.params.cost_elasticity).mean(axis=1)


def observe_quotes(model: CorridorModel, rows: np.ndarray, *, initial: bool = False) -> None:
    """Learn the published quotes of corridors not in use (of all of them at the start)."""
    sh = model.sh
    qm, qt = model.quote_money[rows], model.quote_time[rows]
    known = np.isfinite(qm)
    used = (sh.shares[rows] + sh.state_alloc[rows]) > 0
    target = known if initial else known & ~used
    w = 1.0 if initial else model.params.market_info_weight
    mm, mt = sh.memory_money[rows], sh.memory_time[rows]
    fresh = target & np.isnan(mm)
    upd = target & ~fresh
    mm = np.where(fresh, qm, np.where(upd, mm + w * (qm - mm), mm))
    mt = np.where(fresh, qt, np.where(upd, mt + w * (qt - mt), mt))
    sh.memory_money[rows] = np.where(known, mm, np.nan)
    sh.memory_time[rows] = mt


def choose_shares(model: CorridorModel, rows: np.ndarray) -> None:
    """The shippers' contract decision for ``rows`` (see :meth:`ShipperAgent.choose`)."""
    sh = model.sh
    observe_quotes(model, rows)
    target = target_shares(model, rows)
    old = sh.shares[rows]
    rate = sh.renewal_rate[rows][:, None]
    has_old = old.sum(axis=1, keepdims=True) > 0
    shares = np.where(has_old, (1.0 - rate) * old + rate * target, target)
    # contracts on corridors no longer available, or wholly banned, lapse at once; a partial
    # ban splits the flow when it is loaded (ban_split)
    cap = np.where(model.available[rows] & (model.ban_cap[rows] > 0), 1.0, 0.0)
    model.target[rows] = target
    sh.shares[rows] = apply_caps(shares, cap, target)


def ban_split(shares: np.ndarray, keep: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The split of a flow when part of it is banned from some corridors: (kept, moved).

    ``keep[k]`` is the part of the flow still allowed on corridor ``k`` (1 - the banned
    share). ``kept`` is what stays on each corridor; the banned part of each corridor's share
    is ``moved`` to the corridors with no ban on this flow, in proportion to ``weights``; if
    there is none it is lost (kept + moved then sums to less than 1: that freight is
    diverted). Whether the moved freight finds slots there is the model's loading.
    """
    kept = shares * keep
    moved = (shares - kept).sum(axis=1, keepdims=True)
    w = weights * (keep >= 1.0)  # only to corridors with no ban on this flow
    w_sum = w.sum(axis=1, keepdims=True)
    return kept, np.divide(moved * w, w_sum, out=np.zeros_like(w), where=w_sum > 0)


def apply_caps(shares: np.ndarray, cap: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Shares above their cap (a ban's unaffected part, 0 when closed) move to the others.

    The excess goes to corridors still below their cap in proportion to ``target``; rows are
    renormalised to sum to 1 (or 0 when nothing is open).
    """
    excess = np.maximum(shares - cap, 0.0)
    shares = shares - excess
    room = np.where(shares < cap, target, 0.0)
    room_sum = room.sum(axis=1, keepdims=True)
    shares = shares + np.divide(excess.sum(axis=1, keepdims=True) * room, room_sum,
                                out=np.zeros_like(room), where=room_sum > 0)  # fmt: skip
    shares = np.minimum(shares, cap)
    total = shares.sum(axis=1, keepdims=True)
    return np.divide(shares, total, out=np.zeros_like(shares), where=total > 0)


def remember_costs(model: CorridorModel, rows: np.ndarray) -> None:
    """Exponential smoothing of experienced money, time and time variance on used corridors."""
    sh, w = model.sh, model.params.memory_weight
    used = model.served[rows] > 0
    em, et = model.exp_money[rows], model.exp_time[rows]
    mm, mt, mv = sh.memory_money[rows], sh.memory_time[rows], sh.memory_time_var[rows]
    fresh = used & np.isnan(mm)
    upd = used & ~fresh
    dev = np.where(upd, et - mt, 0.0)
    sh.memory_money[rows] = np.where(fresh, em, np.where(upd, mm + w * (em - mm), mm))
    sh.memory_time[rows] = np.where(fresh, et, np.where(upd, mt + w * dev, mt))
    sh.memory_time_var[rows] = np.where(upd, (1 - w) * (mv + w * dev**2), mv)


def route_state_cargo(
    model: CorridorModel, rows: np.ndarray, owner: np.ndarray, *, countries: tuple[str, ...] = C5
) -> None:
    """The governments' routing of state-controlled cargo, for ``rows`` owned by ``countries[owner]``.

    A few fixed-point rounds of a logit whose utility adds, to the relative cost, the
    marginal change of the Herfindahl index of each state portfolio's tonne-km by power
    and the state's alignment with the powers a route crosses: a state exporter spreads
    its cargo across powers where a private shipper would take the cheapest route.
    """
    if rows.size == 0:
        return
    m, p, sh = model, model.params, model.sh
    align = np.array([[p.alignment.get(c, {}).get(b, 0.5) for b in POWERS] for c in countries])[
        owner
    ]  # (n, P)
    vols = m.volumes[rows] * sh.state_share[rows]
    bs = m.bloc_share[rows]  # (n, K, P)
    avail = m.available[rows] & np.isfinite(sh.memory_money[rows]) & (m.ban_cap[rows] > 0)
    g = np.nan_to_num(perceived_costs(m, rows)[:, 1, :], nan=np.inf)
    gmin = np.where(avail, g, np.inf).min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_rel = np.where(avail, np.log(np.maximum(g, 1e-9) / gmin), 0.0)
    affinity = (bs * (align[:, None, :] - 0.5)).sum(axis=2)
    onehot = owner[None, :] == np.arange(len(countries))[:, None]  # (C, n)
    alloc = sh.state_alloc[rows]
    for _ in range(3):
        exposure = onehot @ (vols[:, None] * np.einsum("nk,nkp->np", alloc, bs))  # (C, P)
        exposure = exposure / np.maximum(exposure.sum(axis=1, keepdims=True), 1e-12)
        hhi_grad = 2.0 * (bs * exposure[owner][:, None, :]).sum(axis=2)
        utility = np.where(avail, -p.cost_elasticity * log_rel - 2.0 * hhi_grad + 2.0 * affinity, -np.inf)
        top = utility.max(axis=1, keepdims=True)
        w = np.where(avail, np.exp(utility - np.where(np.isfinite(top), top, 0.0)), 0.0)
        total = w.sum(axis=1, keepdims=True)
        target = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
        has = alloc.sum(axis=1, keepdims=True) > 0
        alloc = np.where(has & (total > 0), 0.5 * alloc + 0.5 * target, target)
    sh.state_alloc[rows] = alloc


class CountryAgent(CorridorAgent):
    """A C5 government: routes state-controlled cargo, sets fees and borders, funds projects."""

    def __init__(self, model: CorridorModel, *, country: str, budget_usd_m_per_year: float) -> None:
        super().__init__(model)
        self.country = country
        self.budget_usd_m_per_year = budget_usd_m_per_year
        self.savings_usd_m = 0.0
        self.port_fee_factor = 1.0
        self.border_factor = 1.0
        self.funded: list[str] = []
        self.crude_diversion_t_per_quarter = 0.0

    @property
    def state_rows(self) -> np.ndarray:
        """Rows of the shippers whose freight this state partly controls."""
        return self.model.state_rows[self.country]

    def route_state_flows(self) -> None:
        """Allocate the state's cargo: cost, diversification (HHI of power exposure), alignment.

        See :func:`route_state_cargo`, which runs this rule for all five states at once.
        """
        rows = self.state_rows
        route_state_cargo(self.model, rows, np.zeros(rows.size, dtype=np.int64), countries=(self.country,))

    def divert_crude(self) -> None:
        """Move pipeline crude to Caspian tankers while that is the cheaper, safer way out.

        Each quarter the state compares the tanker route's quoted cost (with its premiums) for
        its crude with the pipeline route's cost plus the premium that sanctions put on
        EU-bound freight through Russia, and grows (or shrinks) the diverted tonnage by
        ``crude_diversion_step_t_per_quarter``, within the tankers' free capacity.
        """
        m, p = self.model, self.model.params
        row = m.crude_rows.get(self.country)
        if row is None or not p.crude_diversion_response:
            return
        middle = CORRIDORS.index("middle")
        tanker = m.quote_money[row, middle] + m.premium[row, middle] - m.subsidy[row, middle]
        if not np.isfinite(tanker):
            self.crude_diversion_t_per_quarter = 0.0
            return
        pipeline = m.pipeline_route_cost(self.country)
        step = p.crude_diversion_step_t_per_quarter
        change = step if tanker < pipeline else -step
        headroom = m.tanker_headroom(self.country)
        self.crude_diversion_t_per_quarter = float(
            np.clip(self.crude_diversion_t_per_quarter + change, 0.0, headroom)
        )

    def decide(self) -> None:
        """Once a year: port fees and border efficiency from congestion; save and fund projects.

        Busy ports (utilisation above 0.9) raise their fees and push border reform (dwell
        down 5% a year, to 60% at most); idle ports (below 0.5) cut fees to attract cargo.
        In the bloc the five pool their budgets (:meth:`CorridorModel.fund_bloc`).
        """
        m = self.model
        self.divert_crude()
        if m.t % 4 != 3:
            return
        util = m.country_port_utilisation(self.country)
        if util > 0.9:
            self.port_fee_factor = min(self.port_fee_factor * 1.1, 1.5)
            self.border_factor = max(self.border_factor * 0.95, 0.6)
        elif util < 0.5:
            self.port_fee_factor = max(self.port_fee_factor * 0.9, 0.5)
        if not m.params.government_projects:
            return
        income = self.budget_usd_m_per_year * m.params.project_budget_share
        if m.in_bloc:  # the bloc pools this year's budget and whatever the state had saved
            m.bloc_savings_usd_m += income + self.savings_usd_m
            self.savings_usd_m = 0.0
        else:
            self.savings_usd_m += income
            self.fund_projects()

    def fund_projects(self) -> None:
        """Fund the affordable project that saves the shippers most per dollar, if worth it."""
        m = self.model
        best = m.best_project((self.country,), self.savings_usd_m)
        if best is not None:
            project, cost = best
            self.savings_usd_m -= cost
            self.funded.append(project)
            m.fund_project(project, funder=self.country)


class PowerAgent(CorridorAgent):
    """An outside power: Russia, China, the US or the EU.

    - Russia cuts its 1520 tariff (5% a quarter, within ``russia_max_tariff_cut``) while its
      share of China-Europe transit stays below 80% of its 2019-2021 level, and restores it
      as the share recovers.
    - China pays a per-tonne subsidy to China-Europe rail transit that grows with the
      shortfall of the rail share below its 2019-2021 level, within a cap.
    - The US imposes secondary sanctions (a premium of USD 10/t more each quarter, to 100, on
      the five's trade through Russia) while the share of their trade routed through Russia
      exceeds its 2019-2021 level by ``us_secondary_trigger`` (if enabled).
    - The EU, the US and China fund Middle Corridor or other projects of ``projects.csv``
      naming them, from ``power_budgets_usd_m`` (zero in the baseline: their pledges there
      are dated events).
    """

    def __init__(self, model: CorridorModel, *, power: str) -> None:
        super().__init__(model)
        self.power = power
        self.tariff_factor = 1.0
        self.subsidy_usd_per_t = 0.0
        self.secondary_premium_usd_per_t = 0.0
        self.reference: float | None = None
        self.savings_usd_m = 0.0

    def _reference(self, value: float) -> float | None:
        """Smoothed 2019-2021 level of an indicator; ``None`` while still learning it."""
        if self.model.t < 12:
            self.reference = value if self.reference is None else 0.75 * self.reference + 0.25 * value
            return None
        return self.reference if self.reference is not None else value

    def decide(self) -> None:
        self.respond()
        self.fund_projects()

    def respond(self) -> None:
        """The power's own lever, from the state of the corridors this quarter."""
        m, p = self.model, self.model.params
        if self.power == "RU" and p.russia_tariff_response:
            share = m.transit_share("russian")
            ref = self._reference(share)
            if ref is None:
                return
            if share < 0.8 * ref:
                self.tariff_factor = max(self.tariff_factor - 0.05, 1.0 - p.russia_max_tariff_cut)
            elif share > ref:
                self.tariff_factor = min(self.tariff_factor + 0.05, 1.0)
        elif self.power == "CN" and p.china_subsidy_response:
            share = m.rail_share_of_transit()
            ref = self._reference(share)
            if ref is None:
                return
            gap = max(ref - share, 0.0) / max(ref, 1e-9)
            self.subsidy_usd_per_t = min(
                p.china_max_subsidy_usd_per_t, p.china_max_subsidy_usd_per_t * 2.0 * gap
            )
        elif self.power == "US" and p.us_secondary_sanctions:
            share = m.c5_russian_share()
            ref = self._reference(share)
            if ref is not None and share > (1.0 + p.us_secondary_trigger) * ref:
                self.secondary_premium_usd_per_t = min(self.secondary_premium_usd_per_t + 10.0, 100.0)

    def fund_projects(self) -> None:
        """Once a year, spend this power's budget on the best project that names it as funder."""
        m = self.model
        budget = m.params.power_budgets_usd_m.get(self.power, 0.0)
        if budget <= 0 or m.t % 4 != 3:
            return
        self.savings_usd_m += budget
        best = m.best_project((self.power,), self.savings_usd_m)
        if best is not None:
            project, cost = best
            self.savings_usd_m -= cost
            m.fund_project(project, funder=self.power)


class CaspianOperator(CorridorAgent):
    """The Caspian container-feeder operator: orders vessels when utilisation stays high.

    Two quarters in a row at ``fleet_trigger_utilisation`` or more: charter two more feeders,
    delivered after ``fleet_lag_quarters`` (3 ships in April 2022 became 6-7 by September,
    S-caspian-feeders), up to ``max_vessels``; below 0.4 it redeploys one elsewhere.
    """

    def __init__(self, model: CorridorModel, *, vessels: int) -> None:
        super().__init__(model)
        self.vessels = vessels
        self.base_vessels = vessels
        self.on_order: list[int] = []  # quarters of delivery
        self.high_quarters = 0

    def decide(self) -> None:
        m = self.model
        p = m.params
        self.vessels += sum(1 for q in self.on_order if q <= m.t)
        self.on_order = [q for q in self.on_order if q > m.t]
        if not p.fleet_response:
            return
        util = m.caspian_utilisation()
        self.high_quarters = self.high_quarters + 1 if util >= p.fleet_trigger_utilisation else 0
        fleet = self.vessels + len(self.on_order)
        if self.high_quarters >= 2 and fleet < p.max_vessels:
            extra = min(2, p.max_vessels - fleet)  # charter and reposition in pairs
            self.on_order += [m.t + p.fleet_lag_quarters] * extra
            self.high_quarters = 0
        elif util < 0.4 and self.vessels > self.base_vessels and not self.on_order:
            self.vessels -= 1  # redeploy a ship when the trade falls away

    @property
    def capacity_factor(self) -> float:
        return self.vessels / max(self.base_vessels, 1)


class TransitStateAgent(CorridorAgent):
    """Azerbaijan, Georgia or Turkey: sets handling fees to raise transit revenue, within bounds."""

    def __init__(self, model: CorridorModel, *, country: str) -> None:
        super().__init__(model)
        self.country = country
        self.fee_factor = 1.0
        self.direction = 1.0
        self.last_revenue: float | None = None

    def decide(self) -> None:
        """Yearly hill climb: keep moving the fee the way that raised revenue, else turn back."""
        m = self.model
        if not m.params.transit_fee_response or m.t % 4 != 3:
            return
        revenue = m.transit_revenue(self.country)
        if self.last_revenue is not None and revenue < self.last_revenue:
            self.direction = -self.direction
        self.last_revenue = revenue
        lo, hi = m.params.transit_fee_bounds
        self.fee_factor = float(np.clip(self.fee_factor * (1.0 + 0.05 * self.direction), lo, hi))
