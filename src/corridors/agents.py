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

from typing import TYPE_CHECKING

import mesa
import numpy as np

from corridors.parameters import POWERS

if TYPE_CHECKING:
    from corridors.model import CorridorModel

__all__ = ["CaspianOperator", "CountryAgent", "PowerAgent", "ShipperAgent", "TransitStateAgent"]

QUARTER_DAYS = 91.25


def _shares_from_costs(costs: np.ndarray, available: np.ndarray, elasticity: float) -> np.ndarray:
    """Relative-cost logit: ``share ~ (G / G_min) ** -elasticity`` over available corridors."""
    out = np.zeros_like(costs)
    if not available.any():
        return out
    g = costs[available]
    g = np.maximum(g, 1e-9)
    w = np.exp(-elasticity * np.log(g / g.min()))
    out[available] = w / w.sum()
    return out


class ShipperAgent(mesa.Agent):
    """Freight of one origin, market and commodity, standing for many firms.

    State: contract shares per corridor, memory of money cost, transit time and its
    variability per corridor, three value-of-time segments, sanction exposure.
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
        p = model.params
        base_vot = value_usd_per_t * p.carrying_cost_per_year / 365.0
        # three segments at the 1/6, 1/2 and 5/6 quantiles of a log-normal value of time
        self.vot = base_vot * np.exp(p.vot_spread * np.array([-0.967, 0.0, 0.967]))
        n_k = model.n_corridors
        self.shares = np.zeros(n_k)
        self.state_alloc = np.zeros(n_k)
        self.memory_money = np.full(n_k, np.nan)
        self.memory_time = np.full(n_k, np.nan)
        self.memory_time_var = np.zeros(n_k)
        # annual contracts for containers; bulk sells on longer contracts (A-contracts)
        self.renewal_rate = p.renewal_rate * (
            1.0 if commodity in ("containers", "critical_minerals") else 0.5
        )

    # -- what the agent sees
    def volume_t(self, step: int) -> float:
        """Tonnes offered this quarter."""
        return self.tonnes_2019 * (1.0 + self.growth_per_year) ** (step / 4.0) / 4.0

    def perceived_costs(self) -> np.ndarray:
        """Generalised cost per corridor and value-of-time segment, USD/t ``(3, K)``."""
        m = self.model
        i = self.index
        money = self.memory_money + m.premium[i] - m.subsidy[i] + m.political[i] + m.corridor_constant
        sd = np.sqrt(self.memory_time_var)
        days = self.memory_time + self.model.params.reliability_weight * sd
        return money[None, :] + self.vot[:, None] * days[None, :]

    def target_shares(self) -> np.ndarray:
        """Mean over the value-of-time segments of the relative-cost logit."""
        m = self.model
        avail = m.available[self.index] & np.isfinite(self.memory_money)
        costs = self.perceived_costs()
        return np.mean([_shares_from_costs(c, avail, m.params.cost_elasticity) for c in costs], axis=0)

    # -- decisions
    def initialise(self) -> None:
        """First quarter: memory from quotes, contracts at the target shares."""
        self.observe_quotes(initial=True)
        self.shares = self.target_shares()

    def observe_quotes(self, *, initial: bool = False) -> None:
        """Learn the published quotes of corridors not in use (all of them at the start)."""
        m = self.model
        i = self.index
        quote_money, quote_time = m.quote_money[i], m.quote_time[i]
        known = np.isfinite(quote_money)
        target = known if initial else known & ((self.shares + self.state_alloc) <= 0)
        w = 1.0 if initial else m.params.market_info_weight
        fresh = target & np.isnan(self.memory_money)
        self.memory_money[fresh] = quote_money[fresh]
        self.memory_time[fresh] = quote_time[fresh]
        upd = target & ~fresh
        self.memory_money[upd] += w * (quote_money[upd] - self.memory_money[upd])
        self.memory_time[upd] += w * (quote_time[upd] - self.memory_time[upd])
        self.memory_money[~known] = np.nan

    def choose(self) -> None:
        """Renew a part of the contracts at the target shares; a ban breaks contracts at once."""
        m = self.model
        self.observe_quotes()
        target = self.target_shares()
        if target.sum() <= 0:
            self.shares[:] = 0.0
            return
        if self.shares.sum() <= 0:
            self.shares = target
        else:
            self.shares = (1.0 - self.renewal_rate) * self.shares + self.renewal_rate * target
        # contracts on corridors no longer available lapse; bans cap what may stay
        cap = np.where(m.available[self.index], m.ban_cap[self.index], 0.0)
        excess = np.maximum(self.shares - cap, 0.0)
        if excess.sum() > 0:
            self.shares -= excess
            room = np.where(self.shares < cap, target, 0.0)
            if room.sum() > 0:
                self.shares += excess.sum() * room / room.sum()
            self.shares = np.minimum(self.shares, cap)
        total = self.shares.sum()
        if total > 0:
            self.shares /= total

    def remember(self) -> None:
        """Update the memory of corridors used this quarter with the experienced costs."""
        m = self.model
        i = self.index
        used = m.served[i] > 0
        w = m.params.memory_weight
        exp_money, exp_time = m.exp_money[i], m.exp_time[i]
        fresh = used & np.isnan(self.memory_money)
        self.memory_money[fresh] = exp_money[fresh]
        self.memory_time[fresh] = exp_time[fresh]
        upd = used & ~fresh
        dev = exp_time[upd] - self.memory_time[upd]
        self.memory_money[upd] += w * (exp_money[upd] - self.memory_money[upd])
        self.memory_time[upd] += w * dev
        self.memory_time_var[upd] = (1 - w) * (self.memory_time_var[upd] + w * dev**2)


class CountryAgent(mesa.Agent):
    """A C5 government: routes state-controlled cargo, sets fees and borders, funds projects."""

    def __init__(self, model: CorridorModel, *, country: str, budget_usd_m_per_year: float) -> None:
        super().__init__(model)
        self.country = country
        self.budget_usd_m_per_year = budget_usd_m_per_year
        self.savings_usd_m = 0.0
        self.port_fee_factor = 1.0
        self.border_factor = 1.0
        self.funded: list[str] = []

    @property
    def shippers(self) -> list[ShipperAgent]:
        return [s for s in self.model.shippers if s.country == self.country and s.state_share > 0]

    def route_state_flows(self) -> None:
        """Allocate the state's cargo: cost, diversification (HHI of power exposure), alignment.

        A few fixed-point rounds of a logit whose utility includes the marginal change of the
        portfolio's Herfindahl index of tonne-km by power: a state exporter spreads its cargo
        across powers where a private shipper would take the cheapest route.
        """
        m = self.model
        p = m.params
        align = np.array([p.alignment.get(self.country, {}).get(b, 0.5) for b in POWERS])
        flows = self.shippers
        if not flows:
            return
        vols = np.array([s.volume_t(m.t) * s.state_share for s in flows])
        for _ in range(3):
            exposure = sum(v * (s.state_alloc[:, None] * m.bloc_share[s.index]).sum(axis=0)
                           for v, s in zip(vols, flows, strict=True))  # fmt: skip
            exposure = exposure / max(exposure.sum(), 1e-12)
            for s in flows:
                i = s.index
                avail = m.available[i] & np.isfinite(s.memory_money) & (m.ban_cap[i] > 0)
                if not avail.any():
                    s.state_alloc[:] = 0.0
                    continue
                g = s.perceived_costs()[1]
                rel = np.where(avail, g / np.nanmin(np.where(avail, g, np.nan)), 1.0)
                hhi_grad = 2.0 * (m.bloc_share[i] * exposure[None, :]).sum(axis=1)
                # a route dominated by one power, or one the state is not aligned with, costs it
                strategic = -p.cost_elasticity * np.log(np.maximum(rel, 1e-9)) - 2.0 * hhi_grad
                strategic += 2.0 * (m.bloc_share[i] * (align[None, :] - 0.5)).sum(axis=1)
                w = np.where(avail, np.exp(strategic - strategic[avail].max()), 0.0)
                target = w / w.sum()
                s.state_alloc = 0.5 * s.state_alloc + 0.5 * target if s.state_alloc.sum() > 0 else target

    def decide(self) -> None:
        """Once a year: port fees and border efficiency from utilisation; fund a project."""
        m = self.model
        if m.t % 4 != 3:
            return
        util = m.country_port_utilisation(self.country)
        if util > 0.9:
            self.port_fee_factor = min(self.port_fee_factor * 1.1, 1.0)
            self.border_factor = max(self.border_factor * 0.95, 0.6)
        elif util < 0.5:
            self.port_fee_factor = max(self.port_fee_factor * 0.9, 0.5)
        if m.params.government_projects:
            self.savings_usd_m += self.budget_usd_m_per_year * m.params.project_budget_share
            self.fund_projects()

    def fund_projects(self) -> None:
        """Fund the affordable project that saves the state's shippers most per dollar."""
        m = self.model
        best = m.best_project(self.country, self.savings_usd_m)
        if best is not None:
            project, cost = best
            self.savings_usd_m -= cost
            self.funded.append(project)
            m.fund_project(project, funder=self.country)


class PowerAgent(mesa.Agent):
    """An outside power: Russia, China, the US or the EU."""

    def __init__(self, model: CorridorModel, *, power: str) -> None:
        super().__init__(model)
        self.power = power
        self.tariff_factor = 1.0
        self.subsidy_usd_per_t = 0.0
        self.reference_share: float | None = None

    def decide(self) -> None:
        m = self.model
        p = m.params
        if self.power == "RU" and p.russia_tariff_response:
            share = m.transit_share("russian")
            if m.t < 12:  # 2019-2021: the reference level of its China-Europe transit share
                self.reference_share = (
                    share if self.reference_share is None else 0.75 * self.reference_share + 0.25 * share
                )
                return
            ref = self.reference_share or share
            if share < 0.8 * ref:
                self.tariff_factor = max(self.tariff_factor - 0.05, 1.0 - p.russia_max_tariff_cut)
            elif share > ref:
                self.tariff_factor = min(self.tariff_factor + 0.05, 1.0)
        elif self.power == "CN" and p.china_subsidy_response:
            share = m.rail_share_of_transit()
            if m.t < 12:
                self.reference_share = (
                    share if self.reference_share is None else 0.75 * self.reference_share + 0.25 * share
                )
                return
            ref = self.reference_share or share
            # keep China-Europe rail alive: support grows with the shortfall, within a cap
            gap = max(ref - share, 0.0) / max(ref, 1e-9)
            self.subsidy_usd_per_t = min(
                p.china_max_subsidy_usd_per_t, p.china_max_subsidy_usd_per_t * 2.0 * gap
            )


class CaspianOperator(mesa.Agent):
    """The Caspian container-feeder operator: orders vessels when utilisation stays high."""

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
        if self.high_quarters >= 1 and fleet < p.max_vessels:
            extra = min(2, p.max_vessels - fleet)  # charter and reposition in pairs
            self.on_order += [m.t + p.fleet_lag_quarters] * extra
            self.high_quarters = 0
        elif util < 0.4 and self.vessels > self.base_vessels and not self.on_order:
            self.vessels -= 1  # redeploy a ship when the trade falls away

    @property
    def capacity_factor(self) -> float:
        return self.vessels / max(self.base_vessels, 1)


class TransitStateAgent(mesa.Agent):
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
