"""The outside powers and the Caspian feeder operator."""

from __future__ import annotations

import mesa
import numpy as np

from corridors.agents.base import CorridorAgent
from corridors.agents.states import ProjectFunder, appropriate
from corridors.parameters import Parameters
from corridors.view import QuarterView
from corridors.vocabulary import CONTROLLER_BLOC

__all__ = ["CaspianOperator", "PowerAgent"]


class PowerAgent(ProjectFunder, CorridorAgent):
    """An outside power: Russia, China, the US or the EU.

    - Russia moves its 1520 tariff 5% a quarter toward a target, ``1 -
      russia_max_tariff_cut * min(2 * shortfall, 1)``, where the shortfall is that of its
      share of the China-Europe transit still free to use its route (what the avoidance
      ban leaves it, :meth:`QuarterView.open_transit_share`) below its 2019-2021 level: it
      cuts while the share is down and raises the tariff back as the share recovers. A price
      cannot win back freight that avoids Russia for compliance, so the avoidance itself does
      not drive the cut.
    - China pays a per-tonne subsidy to China-Europe rail transit in proportion to the
      shortfall of the rail share of transit below its 2019-2021 level, within a cap; it is
      withdrawn as the share recovers (a sea-rate boom fills the trains).
    - The US imposes secondary sanctions (a premium of USD 10/t more each quarter, to 100, on
      the five's trade through Russia) while the share of their trade routed through Russia
      exceeds its 2019-2021 level by ``us_secondary_trigger`` (if enabled).
    - The EU holds the ``avoidance`` of Russian transit by EU-linked China-Europe transit
      (forwarders', insurers' and shippers' compliance): each new sanction on Russian transit
      raises it by ``russia_avoidance_share`` of the part not yet avoiding, scaled by the part
      of those flows the sanction touches; it fades with a half-life of
      ``avoidance_half_life_quarters``, faster when the Russian route saves money over its
      alternatives and slower when they are cheaper (``avoidance_cost_response``), and it
      lapses to 0 when no sanction on Russian transit touches those flows any more. The
      model applies it as the share of the ``evolving`` avoidance ban from the next quarter.
    - The EU, the US and China fund Middle Corridor or other projects of ``projects.csv``
      naming them, from ``power_budgets_usd_m`` (zero in the baseline: their pledges there
      are dated events).
    """

    def __init__(self, model: mesa.Model, *, power: str) -> None:
        super().__init__(model)
        self.power = power
        self.tariff_factor = 1.0
        self.subsidy_usd_per_t = 0.0
        self.secondary_premium_usd_per_t = 0.0
        self.avoidance = 0.0
        self._linked: np.ndarray | None = None  # the EU-linked transit flows (EU only)
        self.reference: float | None = None
        self.savings_usd_m = 0.0
        self.funded: list[str] = []
        self.refusals: list[str] = []  # why each yearly review funded nothing

    def _reference(self, value: float, t: int) -> float | None:
        """Mean 2019-2021 level of an indicator (its first 12 quarters); ``None`` while still learning it."""
        if t < 12:
            self.reference = (
                value if self.reference is None else self.reference + (value - self.reference) / (t + 1)
            )
            return None
        return self.reference if self.reference is not None else value

    def decide(self, view: QuarterView, params: Parameters, project_vot: np.ndarray) -> None:
        """Move the power's own lever (:meth:`respond`), then fund projects (:meth:`fund_projects`)."""
        self.respond(view, params)
        self.fund_projects(view, params, project_vot)

    def respond(self, view: QuarterView, p: Parameters) -> None:
        """Set the power's own lever from the state of the corridors this quarter."""
        if self.power == "RU" and p.russia_tariff_response:
            share = view.open_transit_share("russian")
            ref = self._reference(share, view.t)
            if ref is None:
                return
            gap = max(ref - share, 0.0) / max(ref, 1e-9)
            target = 1.0 - p.russia_max_tariff_cut * min(2.0 * gap, 1.0)
            self.tariff_factor += min(max(target - self.tariff_factor, -0.05), 0.05)
        elif self.power == "CN" and p.china_subsidy_response:
            share = view.rail_share_of_transit()
            ref = self._reference(share, view.t)
            if ref is None:
                return
            gap = max(ref - share, 0.0) / max(ref, 1e-9)
            self.subsidy_usd_per_t = p.china_max_subsidy_usd_per_t * min(2.0 * gap, 1.0)
        elif self.power == "EU":
            self.update_avoidance(view, p)
        elif self.power == "US" and p.us_secondary_sanctions:
            share = view.c5_russian_share()
            ref = self._reference(share, view.t)
            if ref is not None and share > (1.0 + p.us_secondary_trigger) * ref:
                self.secondary_premium_usd_per_t = min(self.secondary_premium_usd_per_t + 10.0, 100.0)

    def update_avoidance(self, view: QuarterView, p: Parameters) -> None:
        """Fade the avoidance of Russian transit, then raise it by this quarter's new sanctions.

        The avoidance lasts only while a sanction on Russian transit touches the EU-linked
        transit: when the last one ends (a relief), it is 0 (A-avoidance-lapse).

        Parameters
        ----------
        view : QuarterView
            The loaded view of the quarter: its active sanctions (those starting this quarter
            are new), quotes, premiums and volumes.
        p : Parameters
            ``russia_avoidance_share`` (rise per sanction), ``avoidance_half_life_quarters``
            and ``avoidance_cost_response``.
        """
        L = view.layout
        if self._linked is None:
            a = L.shipper
            self._linked = L.is_transit & ((a["market"] == "market_eu") | (a["origin"] == "market_eu"))
        on_russia = [sn for sn in view.sanctions if CONTROLLER_BLOC.get(sn.transit) == "russia"]
        key = ("touches EU-linked transit", *map(id, on_russia))  # the run's events: their ids name them
        touched_any = view.cache.get(key)
        if touched_any is None:
            touched_any = view.cache[key] = any((L.shippers_hit(sn) & self._linked).any() for sn in on_russia)
        if not touched_any:
            # no sanction on Russian transit touches these flows any more (a relief): the
            # compliance that kept them off the route has lifted with the sanctions
            self.avoidance = 0.0
            return
        if self.avoidance > 0:
            ratio = view.russian_cost_ratio(self._linked)
            rate = np.log(2.0) / p.avoidance_half_life_quarters * ratio**p.avoidance_cost_response
            self.avoidance *= float(np.exp(-rate))
        total = float(view.volumes[self._linked].sum())
        for sn in on_russia:
            if sn.first_step != view.t or sn.evolving:
                continue
            touched = float(view.volumes[self._linked & L.shippers_hit(sn)].sum()) / max(total, 1e-9)
            self.avoidance += p.russia_avoidance_share * touched * (1.0 - self.avoidance)

    def fund_projects(self, view: QuarterView, params: Parameters, project_vot: np.ndarray) -> None:
        """Once a year, spend this power's budget on the best project that names it as funder.

        The budget is appropriated as a government's (:func:`~corridors.agents.states.appropriate`:
        at most ``budget_window_years`` years of it held) and the project chosen by the same
        appraisal (:func:`~corridors.agents.states.best_project`).
        """
        budget = params.power_budgets_usd_m.get(self.power, 0.0)
        if budget <= 0 or view.t % 4 != 3:
            return
        self.savings_usd_m = appropriate(self.savings_usd_m, budget, params.budget_window_years)
        self.fund_best(view, (self.power,), project_vot, params)


class CaspianOperator(CorridorAgent):
    """The Caspian container-feeder operator: orders vessels when utilisation stays high.

    Two quarters in a row at ``fleet_trigger_utilisation`` or more: charter two more feeders,
    delivered after ``fleet_lag_quarters`` (3 ships in April 2022 became 6-7 by September,
    S-caspian-feeders), up to ``max_vessels``; below 0.4 it redeploys one elsewhere.
    """

    def __init__(self, model: mesa.Model, *, vessels: int) -> None:
        super().__init__(model)
        self.vessels = vessels
        self.base_vessels = vessels
        self.on_order: list[int] = []  # quarters of delivery
        self.high_quarters = 0

    def decide(self, view: QuarterView, p: Parameters, project_vot: np.ndarray | None = None) -> None:
        """Take delivery of the vessels due, then order or redeploy by the Caspian's utilisation."""
        t = view.t
        self.vessels += sum(1 for q in self.on_order if q <= t)
        self.on_order = [q for q in self.on_order if q > t]
        if not p.fleet_response:
            return
        util = view.caspian_utilisation()
        self.high_quarters = self.high_quarters + 1 if util >= p.fleet_trigger_utilisation else 0
        fleet = self.vessels + len(self.on_order)
        if self.high_quarters >= 2 and fleet < p.max_vessels:
            extra = min(2, p.max_vessels - fleet)  # charter and reposition in pairs
            self.on_order += [t + p.fleet_lag_quarters] * extra
            self.high_quarters = 0
        elif util < 0.4 and self.vessels > self.base_vessels and not self.on_order:
            self.vessels -= 1  # redeploy a ship when the trade falls away

    @property
    def capacity_factor(self) -> float:
        """The fleet over its starting size: the factor on the feeder links' capacity."""
        return self.vessels / max(self.base_vessels, 1)
