"""The states: the five governments, their bloc, and the transit states of the Middle Corridor."""

from __future__ import annotations

import mesa
import numpy as np

from corridors.agents.base import CorridorAgent
from corridors.agents.rules import ChoiceTerms, ShipperArrays, StateCargo, route_state_cargo
from corridors.parameters import Parameters
from corridors.view import QuarterView
from corridors.vocabulary import C5, CORRIDORS

__all__ = [
    "BlocAgent",
    "CountryAgent",
    "ProjectFunder",
    "TransitStateAgent",
    "annuity_factor",
    "appraise",
    "appropriate",
    "best_project",
    "project_review",
]

_MIDDLE = CORRIDORS.index("middle")


def annuity_factor(years: int, rate: float) -> float:
    """Return the present value of one a year for ``years`` years at the discount ``rate`` (end of year)."""
    return float(years) if rate <= 0 else float((1.0 - (1.0 + rate) ** -years) / rate)


def appropriate(savings_usd_m: float, income_usd_m: float, window_years: int) -> float:
    """Return a funder's project money after this year's appropriation ``income_usd_m``.

    What it had plus the new allocation, of which at most ``window_years`` years' allocations
    stay available: older unspent money lapses (A-budget-window).
    """
    return min(savings_usd_m + income_usd_m, window_years * income_usd_m)


def appraise(
    view: QuarterView, funders: tuple[str, ...], project_vot: np.ndarray, params: Parameters
) -> list[tuple[str, float, float]]:
    """Return ``(project, benefit, cost)`` in USD m for each candidate project naming one of ``funders``.

    Candidates: not done, open to funding by ``earliest_year``, not an opening of new links
    (CKU and Trans-Afghan carry no load to measure yet: they enter through scenario events)
    and not the feeder fleet (the Caspian operator's decision). The benefit is a year of
    what its users would save at this quarter's loads (:meth:`QuarterView.project_benefits`:
    queue wait removed, travel time cut, the rule of half on the freight the binding
    capacity keeps away, each flow at its own value of time ``project_vot``), four quarters
    a year, over ``appraisal_years`` discounted at ``appraisal_discount_rate``.
    """
    L = view.layout
    year, done, names = view.year, view.done_projects, set(funders)
    out: list[tuple[str, float, float]] = []
    factor = 4.0 * annuity_factor(params.appraisal_years, params.appraisal_discount_rate) / 1e6
    sums = None
    for i, row in enumerate(L.projects):
        if row.project in done or row.earliest_year > year or row.effect == "open":
            continue
        if row.feeder_only or names.isdisjoint(row.funders):
            continue
        if sums is None:
            sums = view.project_benefits(project_vot)
        benefit = factor * float(sums[0][i] + sums[1][i] + sums[2][i])
        out.append((row.project, benefit, float(row.cost_usd_m)))
    return out


def best_project(
    view: QuarterView,
    funders: tuple[str, ...],
    savings_usd_m: float,
    project_vot: np.ndarray,
    params: Parameters,
) -> tuple[str, float] | None:
    """Return the affordable project naming one of ``funders`` with the best benefit per dollar.

    Among the candidates :func:`appraise` values, those whose benefit exceeds their cost and
    whose cost is within ``savings_usd_m``; ``None`` if there is none.
    """
    return project_review(view, funders, savings_usd_m, project_vot, params)[0]


def project_review(
    view: QuarterView,
    funders: tuple[str, ...],
    savings_usd_m: float,
    project_vot: np.ndarray,
    params: Parameters,
) -> tuple[tuple[str, float] | None, str]:
    """Return :func:`best_project`'s choice and, when it funds nothing, why.

    Returns
    -------
    best : tuple of (str, float) or None
        The project and its cost (USD m), or ``None``.
    reason : str
        ``""`` if a project is chosen; else "no project open to it" (every project naming
        the funders is done, not yet possible, opens new links or is the operator's), "no
        affordable project" (savings below the cheapest) or "benefit below cost" (with the
        best ratio's project, its benefit and cost).
    """
    best: tuple[float, str, float] | None = None
    cheapest: tuple[float, str] | None = None
    closest: tuple[float, str, float, float] | None = None  # the best benefit/cost below 1
    for project, benefit, cost in appraise(view, funders, project_vot, params):
        if cheapest is None or cost < cheapest[0]:
            cheapest = (cost, project)
        if cost > savings_usd_m:
            continue
        if benefit > cost:
            if best is None or benefit / cost > best[0]:
                best = (benefit / cost, project, cost)
        elif closest is None or benefit / cost > closest[0]:
            closest = (benefit / cost, project, benefit, cost)
    if best is not None:
        return (best[1], best[2]), ""
    if cheapest is None:
        return None, "no project open to it"
    if closest is None:
        return None, (
            f"no affordable project: savings {savings_usd_m:.0f} USD m, "
            f"cheapest {cheapest[1]} {cheapest[0]:.0f} USD m"
        )
    _, project, benefit, cost = closest
    return None, f"benefit below cost: best {project} saves {benefit:.1f} USD m for {cost:.0f} USD m"


class ProjectFunder:
    """What a funder of projects (a government, the bloc, an outside power) does once a year.

    The agent holds ``savings_usd_m`` (its money for projects), ``funded`` (the projects it
    paid for) and ``refusals`` (why each review that funded nothing did so).
    """

    savings_usd_m: float
    funded: list[str]
    refusals: list[str]

    def fund_best(
        self, view: QuarterView, funders: tuple[str, ...], project_vot: np.ndarray, params: Parameters
    ) -> None:
        """Fund the project :func:`project_review` chooses for ``funders`` from the savings, or record why none."""
        best, reason = project_review(view, funders, self.savings_usd_m, project_vot, params)
        if best is None:
            self.refusals.append(reason)
        else:
            project, cost = best
            self.savings_usd_m -= cost
            self.funded.append(project)


class CountryAgent(ProjectFunder, CorridorAgent):
    """A C5 government: routes state-controlled cargo, sets fees and borders, funds projects."""

    def __init__(
        self,
        model: mesa.Model,
        *,
        country: str,
        budget_usd_m_per_year: float,
        state_rows: np.ndarray,
        cargo: StateCargo,
    ) -> None:
        super().__init__(model)
        self.country = country
        self.budget_usd_m_per_year = budget_usd_m_per_year
        self.state_rows = state_rows
        self.cargo = cargo
        self.savings_usd_m = 0.0
        self.income_usd_m = 0.0  # this year's appropriation for projects
        self.to_bloc_usd_m = 0.0  # handed to the bloc this quarter
        self.port_fee_factor = 1.0
        self.border_factor = 1.0
        self.funded: list[str] = []
        self.refusals: list[str] = []  # why each yearly review funded nothing
        self.crude_diversion_t_per_quarter = 0.0

    def route_state_flows(
        self, view: QuarterView, terms: ChoiceTerms, sh: ShipperArrays, params: Parameters
    ) -> None:
        """Allocate the state's cargo: cost, diversification (HHI of power exposure), alignment.

        See :func:`route_state_cargo`, which runs this rule for all five states at once.
        """
        rows = self.state_rows
        route_state_cargo(
            self.cargo,
            sh,
            view,
            terms,
            params,
            rows,
            np.zeros(rows.size, dtype=np.int64),
            countries=(self.country,),
        )

    def divert_crude(self, view: QuarterView, params: Parameters) -> None:
        """Move pipeline crude to Caspian tankers while that is the cheaper, safer way out.

        Each quarter the state compares the tanker route's quoted cost (with its premiums) for
        its crude with the pipeline route's cost plus the premium that sanctions put on
        EU-bound freight through Russia, and grows (or shrinks) the diverted tonnage by
        ``crude_diversion_step_t_per_quarter``, within the tankers' free capacity.
        """
        row = view.layout.crude_rows.get(self.country)
        if row is None or not params.crude_diversion_response:
            return
        tanker = view.quote_money[row, _MIDDLE] + view.premium[row, _MIDDLE] - view.subsidy[row, _MIDDLE]
        if not np.isfinite(tanker):
            self.crude_diversion_t_per_quarter = 0.0
            return
        pipeline = view.pipeline_route_cost(self.country)
        step = params.crude_diversion_step_t_per_quarter
        change = step if tanker < pipeline else -step
        headroom = view.tanker_headroom(self.country)
        self.crude_diversion_t_per_quarter = float(
            min(max(self.crude_diversion_t_per_quarter + change, 0.0), headroom)
        )

    def decide(self, view: QuarterView, params: Parameters, project_vot: np.ndarray) -> None:
        """Once a year: port fees and border efficiency from congestion; appropriate and fund projects.

        Busy ports (utilisation above 0.9) raise their fees and push border reform (dwell
        down 5% a year, to 60% at most); idle ports (below 0.5) cut fees to attract cargo.
        The year's project budget joins what is left of the last ``budget_window_years``
        years' (:func:`appropriate`). In the bloc the five pool their budgets
        (:class:`BlocAgent`). ``project_vot`` is each shipper's value of time (:func:`appraise`).
        """
        self.to_bloc_usd_m = 0.0
        self.income_usd_m = 0.0
        self.divert_crude(view, params)
        if view.t % 4 != 3:
            return
        util = view.port_utilisation(self.country)
        if util > 0.9:
            self.port_fee_factor = min(self.port_fee_factor * 1.1, 1.5)
            self.border_factor = max(self.border_factor * 0.95, 0.6)
        elif util < 0.5:
            self.port_fee_factor = max(self.port_fee_factor * 0.9, 0.5)
        if not params.government_projects:
            return
        self.income_usd_m = income = self.budget_usd_m_per_year * params.project_budget_share
        if view.in_bloc:  # the bloc pools this year's budget and what the state still holds
            self.to_bloc_usd_m = income + self.savings_usd_m
            self.savings_usd_m = 0.0
        else:
            self.savings_usd_m = appropriate(self.savings_usd_m, income, params.budget_window_years)
            self.fund_projects(view, project_vot, params)

    def fund_projects(self, view: QuarterView, project_vot: np.ndarray, params: Parameters) -> None:
        """Fund the affordable project that saves the shippers most per dollar, if worth it."""
        self.fund_best(view, (self.country,), project_vot, params)


class BlocAgent(ProjectFunder, CorridorAgent):
    """The five acting as one bloc (from ``bloc_from_year``).

    Each year they hand over their budgets (``CountryAgent.to_bloc_usd_m``); the pool holds at
    most ``budget_window_years`` years of the members' yearly budgets, as a state's own
    (:func:`appropriate`), and funds the best project naming any of them.
    """

    def __init__(self, model: mesa.Model, *, members: tuple[CountryAgent, ...]) -> None:
        super().__init__(model)
        self.members = members
        self.savings_usd_m = 0.0
        self.funded: list[str] = []
        self.refusals: list[str] = []  # why each yearly review funded nothing

    def decide(self, view: QuarterView, params: Parameters, project_vot: np.ndarray) -> None:
        """Once a year while in a bloc: pool the members' budgets and fund the best project."""
        if not (view.in_bloc and view.t % 4 == 3):
            return
        handed = sum(m.to_bloc_usd_m for m in self.members)
        income = sum(m.income_usd_m for m in self.members)
        cap = params.budget_window_years * income
        self.savings_usd_m = min(self.savings_usd_m + handed, cap)
        self.fund_best(view, C5, project_vot, params)


class TransitStateAgent(CorridorAgent):
    """Azerbaijan, Georgia or Turkey: sets handling fees to raise transit revenue, within bounds."""

    def __init__(self, model: mesa.Model, *, country: str) -> None:
        super().__init__(model)
        self.country = country
        self.fee_factor = 1.0
        self.direction = 1.0
        self.last_revenue: float | None = None

    def decide(self, view: QuarterView, p: Parameters, project_vot: np.ndarray | None = None) -> None:
        """Yearly hill climb: keep moving the fee the way that raised revenue, else turn back."""
        if not p.transit_fee_response or view.t % 4 != 3:
            return
        revenue = view.transit_revenue(self.country)
        if self.last_revenue is not None and revenue < self.last_revenue:
            self.direction = -self.direction
        self.last_revenue = revenue
        lo, hi = p.transit_fee_bounds
        self.fee_factor = float(min(max(self.fee_factor * (1.0 + 0.05 * self.direction), lo), hi))
