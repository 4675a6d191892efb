"""The model's agents and their decisions (Mesa 3).

Agents decide from a :class:`~corridors.view.QuarterView`, a typed, read-only view of the
quarter (quotes, policy terms, loads), and each writes only its own state:

- :class:`ShipperAgent`: one per (origin, market, commodity, direction) flow; chooses
  corridor shares by discrete choice from its memory of experienced costs, renews a part
  of its contracts each quarter, breaks contracts at once under a ban. The shippers'
  state is held as rows of one :class:`ShipperArrays`, so that their rules run as one
  batch (a Numba kernel); an agent's own method runs the same rule on its row.
- :class:`CountryAgent`: one per C5 state; routes the state-controlled part of its flows
  by strategic preference (cost, diversification away from any one power, alignment) into
  :class:`StateCargo`; sets port fees and border efficiency; funds projects that cut its
  shippers' costs most; diverts pipeline crude to Caspian tankers.
- :class:`PowerAgent`: Russia (1520 tariff response), China (rail subsidies), the US and
  the EU (sanctions, pledges, offtake deals).
- :class:`CaspianOperator`: adds feeder vessels after a lag when utilisation stays high.
- :class:`TransitStateAgent`: Azerbaijan, Georgia, Turkey set handling fees for revenue.
- :class:`BlocAgent`: the five acting as one bloc pool their project budgets and fund the
  best project for all of them.

Projects an agent funds are listed in its ``funded``; the model turns them into
investments after every agent has decided.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass, field

import mesa
import numpy as np
from numba import njit

from corridors.network import CORRIDORS
from corridors.parameters import C5, POWERS, Parameters
from corridors.view import QuarterView

__all__ = [
    "BlocAgent",
    "CaspianOperator",
    "CountryAgent",
    "PowerAgent",
    "ShipperAgent",
    "ShipperArrays",
    "StateCargo",
    "TransitStateAgent",
    "apply_caps",
    "ban_split",
    "best_project",
    "choose_shares",
    "observe_quotes",
    "relative_cost_logit",
    "remember_costs",
    "route_state_cargo",
    "target_shares",
]

_kernel = njit(cache=True, error_model="numpy")
_MIDDLE = CORRIDORS.index("middle")


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


# --------------------------------------------------------------------------- shippers' state


@dataclass(eq=False)
class ShipperArrays:
    """The shippers' state, one row per :class:`ShipperAgent` (its ``index``).

    ``shares`` are the contracted shares of the private freight per corridor (rows sum to 1
    or 0); ``target`` the shares the last choice aimed at; ``memory_*`` the remembered money
    (USD/t), time (days) and its variance per corridor (NaN: never known); ``vot`` the value
    of time of three segments (USD per tonne-day); ``renewal_rate`` the share of contracts
    renewed a quarter.
    """

    shares: np.ndarray
    target: np.ndarray
    memory_money: np.ndarray
    memory_time: np.ndarray
    memory_time_var: np.ndarray
    vot: np.ndarray
    renewal_rate: np.ndarray

    @property
    def vot_mid(self) -> np.ndarray:
        """The middle segment's value of time (the governments value their cargo's time at it)."""
        if getattr(self, "_vot_mid", None) is None:  # vot is set once, when the shippers are created
            self._vot_mid = np.ascontiguousarray(self.vot[:, 1])
        return self._vot_mid

    @classmethod
    def create(cls, params: Parameters, value_usd_per_t: np.ndarray, is_bulk_or_crude: np.ndarray, K: int):
        """Empty memories; three value-of-time segments at the 1/6, 1/2 and 5/6 quantiles of a
        log-normal around ``value * carrying_cost_per_year / 365``; annual contracts for
        containers and critical minerals, two-year contracts for bulk (A-contracts)."""
        S = value_usd_per_t.size
        base_vot = value_usd_per_t * params.carrying_cost_per_year / 365.0
        return cls(
            shares=np.zeros((S, K)),
            target=np.zeros((S, K)),
            memory_money=np.full((S, K), np.nan),
            memory_time=np.full((S, K), np.nan),
            memory_time_var=np.zeros((S, K)),
            vot=base_vot[:, None] * np.exp(params.vot_spread * np.array([-0.967, 0.0, 0.967]))[None, :],
            renewal_rate=params.renewal_rate * np.where(is_bulk_or_crude, 0.5, 1.0),
        )


@dataclass(eq=False)
class StateCargo:
    """The governments' allocation of each shipper's state-controlled freight per corridor
    ``(S, K)``, written by the :class:`CountryAgent` rule (rows sum to 1, or 0 where a
    state controls none of the flow)."""

    alloc: np.ndarray
    alignment: dict = field(default_factory=dict, repr=False)  # the states' alignment rows, per set of states


@dataclass(frozen=True, eq=False)
class ChoiceTerms:
    """The parts of a shipper's generalised cost that are not its memory, per shipper and
    corridor (USD/t): sanction ``premium``, ``subsidy``, ``political`` cost and the corridor
    ``constant``; and the reliability penalty per corridor in days ``penalty_days`` (K,)."""

    premium: np.ndarray
    subsidy: np.ndarray
    political: np.ndarray
    constant: np.ndarray
    penalty_days: np.ndarray

    @classmethod
    def of(cls, view: QuarterView, constant: np.ndarray, penalty_days: np.ndarray) -> ChoiceTerms:
        return cls(view.premium, view.subsidy, view.political, constant, penalty_days)

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.premium, self.subsidy, self.political, self.constant


# --------------------------------------------------------------------------- batched rules


@_kernel
def _cost(s, k, mm, terms, mt, mv, vot, penalty, reliability_weight):
    """Generalised cost of one shipper, segment and corridor: remembered money plus terms,
    remembered time plus a reliability margin and penalty, valued at the segment's value
    of time; NaN memories give +inf, +inf gives the largest float (as ``nan_to_num``)."""
    premium, subsidy, political, constant = terms
    days = mt[s, k] + reliability_weight * np.sqrt(mv[s, k]) + penalty[k]
    c = mm[s, k] + premium[s, k] - subsidy[s, k] + political[s, k] + constant[s, k] + vot * days
    if np.isnan(c):
        return np.inf
    if c == np.inf:
        return 1.7976931348623157e308
    if c == -np.inf:
        return -1.7976931348623157e308
    return c


@_kernel
def _target_row(s, available, ban_cap, mm, mt, mv, vot, terms_money, penalty, rw, elasticity, out):
    """The relative-cost logit averaged over the three value-of-time segments, into ``out``."""
    K = out.shape[0]
    for k in range(K):
        out[k] = 0.0
    g = np.empty(K)
    for seg in range(vot.shape[1]):
        gmin = np.inf
        for k in range(K):
            avail = available[s, k] and np.isfinite(mm[s, k]) and ban_cap[s, k] > 0
            if avail:
                c = _cost(s, k, mm, terms_money, mt, mv, vot[s, seg], penalty, rw)
                g[k] = max(c, 1e-9)
            else:
                g[k] = np.inf
            gmin = min(gmin, g[k])
        total = 0.0
        w = np.empty(K)
        for k in range(K):
            avail = available[s, k] and np.isfinite(mm[s, k]) and ban_cap[s, k] > 0
            w[k] = np.exp(-elasticity * np.log(g[k] / gmin)) if avail and np.isfinite(gmin) else 0.0
            total += w[k]
        for k in range(K):
            out[k] += w[k] / total if total > 0 else 0.0
    for k in range(K):
        out[k] = out[k] / vot.shape[1]


@_kernel
def _observe_row(s, quote_money, quote_time, used_any, mm, mt, weight, initial):
    """Learn the published quotes of corridors not in use (of all of them at the start)."""
    for k in range(mm.shape[1]):
        qm = quote_money[s, k]
        qt = quote_time[s, k]
        known = np.isfinite(qm)
        target = known if initial else known and not used_any[k]
        m0 = mm[s, k]
        t0 = mt[s, k]
        if target and np.isnan(m0):
            m1, t1 = qm, qt
        elif target:
            m1, t1 = m0 + weight * (qm - m0), t0 + weight * (qt - t0)
        else:
            m1, t1 = m0, t0
        mm[s, k] = m1 if known else np.nan
        mt[s, k] = t1


@_kernel
def _choose_kernel(
    rows, quote_money, quote_time, available, ban_cap, terms_money, penalty, shares, alloc, target, mm, mt,
    mv, vot, renewal, info_weight, rw, elasticity,
):  # fmt: skip
    """:func:`choose_shares` for ``rows``."""
    K = shares.shape[1]
    used = np.empty(K, dtype=np.bool_)
    new = np.empty(K)
    goal = np.empty(K)
    cap = np.empty(K)
    for s in rows:
        for k in range(K):
            used[k] = (shares[s, k] + alloc[s, k]) > 0
        _observe_row(s, quote_money, quote_time, used, mm, mt, info_weight, False)
        _target_row(s, available, ban_cap, mm, mt, mv, vot, terms_money, penalty, rw, elasticity, goal)
        old_sum = 0.0
        for k in range(K):
            old_sum += shares[s, k]
        rate = renewal[s]
        for k in range(K):
            new[k] = (1.0 - rate) * shares[s, k] + rate * goal[k] if old_sum > 0 else goal[k]
            cap[k] = 1.0 if available[s, k] and ban_cap[s, k] > 0 else 0.0
            target[s, k] = goal[k]
        _apply_caps_row(new, cap, goal)
        for k in range(K):
            shares[s, k] = new[k]


@_kernel
def _apply_caps_row(shares, cap, target):
    """:func:`apply_caps` on one row, in place."""
    K = shares.shape[0]
    excess_sum = 0.0
    room_sum = 0.0
    room = np.empty(K)
    for k in range(K):
        excess = max(shares[k] - cap[k], 0.0)
        shares[k] = shares[k] - excess
        excess_sum += excess
    for k in range(K):
        room[k] = target[k] if shares[k] < cap[k] else 0.0
        room_sum += room[k]
    total = 0.0
    for k in range(K):
        shares[k] = shares[k] + (excess_sum * room[k] / room_sum if room_sum > 0 else 0.0)
        shares[k] = min(shares[k], cap[k])
        total += shares[k]
    for k in range(K):
        shares[k] = shares[k] / total if total > 0 else 0.0


@_kernel
def _remember_kernel(rows, served, exp_money, exp_time, mm, mt, mv, w):
    """:func:`remember_costs` for ``rows``."""
    for s in rows:
        for k in range(mm.shape[1]):
            if not served[s, k] > 0:
                continue
            m0 = mm[s, k]
            if np.isnan(m0):
                mm[s, k] = exp_money[s, k]
                mt[s, k] = exp_time[s, k]
            else:
                dev = exp_time[s, k] - mt[s, k]
                mm[s, k] = m0 + w * (exp_money[s, k] - m0)
                mt[s, k] = mt[s, k] + w * dev
                mv[s, k] = (1 - w) * (mv[s, k] + w * dev**2)


@_kernel
def _route_state_kernel(
    rows, owner, n_owners, align, vols, bs, available, ban_cap, mm, mt, mv, vot_mid, terms_money, penalty, rw,
    elasticity, alloc,
):  # fmt: skip
    """:func:`route_state_cargo` for ``rows`` owned by ``owner`` (index into ``align``)."""
    n = rows.shape[0]
    K = alloc.shape[1]
    P = bs.shape[2]
    avail = np.zeros((n, K), dtype=np.bool_)
    log_rel = np.zeros((n, K))
    affinity = np.zeros((n, K))
    cur = np.empty((n, K))
    for i in range(n):
        s = rows[i]
        g = np.empty(K)
        gmin = np.inf
        for k in range(K):
            avail[i, k] = available[s, k] and np.isfinite(mm[s, k]) and ban_cap[s, k] > 0
            g[k] = _cost(s, k, mm, terms_money, mt, mv, vot_mid[s], penalty, rw)
            if avail[i, k]:
                gmin = min(gmin, g[k])
        for k in range(K):
            if avail[i, k]:
                log_rel[i, k] = np.log(max(g[k], 1e-9) / gmin)
            a = 0.0
            for p in range(P):
                a += bs[s, k, p] * (align[owner[i], p] - 0.5)
            affinity[i, k] = a
            cur[i, k] = alloc[s, k]
    exposure = np.empty((n_owners, P))
    w = np.empty(K)
    for _ in range(3):
        exposure[:] = 0.0
        for i in range(n):
            s = rows[i]
            for p in range(P):
                e = 0.0
                for k in range(K):
                    e += cur[i, k] * bs[s, k, p]
                exposure[owner[i], p] += vols[i] * e
        for c in range(n_owners):
            tot = 0.0
            for p in range(P):
                tot += exposure[c, p]
            tot = max(tot, 1e-12)
            for p in range(P):
                exposure[c, p] = exposure[c, p] / tot
        for i in range(n):
            s = rows[i]
            top = -np.inf
            util = np.empty(K)
            for k in range(K):
                if avail[i, k]:
                    h = 0.0
                    for p in range(P):
                        h += bs[s, k, p] * exposure[owner[i], p]
                    util[k] = -elasticity * log_rel[i, k] - 2.0 * (2.0 * h) + 2.0 * affinity[i, k]
                    top = max(top, util[k])
                else:
                    util[k] = -np.inf
            shift = top if np.isfinite(top) else 0.0
            total = 0.0
            for k in range(K):
                w[k] = np.exp(util[k] - shift) if avail[i, k] else 0.0
                total += w[k]
            has = 0.0
            for k in range(K):
                has += cur[i, k]
            for k in range(K):
                target = w[k] / total if total > 0 else 0.0
                cur[i, k] = 0.5 * cur[i, k] + 0.5 * target if has > 0 and total > 0 else target
    for i in range(n):
        for k in range(K):
            alloc[rows[i], k] = cur[i, k]


def choose_shares(sh: ShipperArrays, cargo: StateCargo, view: QuarterView, terms: ChoiceTerms,
                  params: Parameters, rows: np.ndarray) -> None:  # fmt: skip
    """The shippers' contract decision for ``rows`` (see :meth:`ShipperAgent.choose`).

    Each learns the published quotes of corridors it does not use, computes target shares
    by the relative-cost logit over its three value-of-time segments, renews
    ``renewal_rate`` of its contracts at them; contracts on corridors no longer available,
    or wholly banned, lapse at once (a partial ban splits the flow when it is loaded).
    """
    _choose_kernel(
        rows, view.quote_money, view.quote_time, view.available, view.ban_cap, terms.arrays, terms.penalty_days,
        sh.shares, cargo.alloc, sh.target, sh.memory_money, sh.memory_time, sh.memory_time_var, sh.vot,
        sh.renewal_rate, params.market_info_weight, params.reliability_weight, params.cost_elasticity,
    )  # fmt: skip


def observe_quotes(sh: ShipperArrays, view: QuarterView, rows: np.ndarray) -> None:
    """Learn every quote at the start (the memories of corridors never used are the quotes)."""
    used = np.zeros(sh.shares.shape[1], dtype=bool)
    for s in rows:
        _observe_row(
            int(s), view.quote_money, view.quote_time, used, sh.memory_money, sh.memory_time, 1.0, True
        )


def target_shares(sh: ShipperArrays, view: QuarterView, terms: ChoiceTerms, params: Parameters,
                  rows: np.ndarray) -> np.ndarray:  # fmt: skip
    """Mean over the value-of-time segments of the relative-cost logit ``(n, K)``."""
    out = np.empty((rows.size, sh.shares.shape[1]))
    for i, s in enumerate(rows):
        _target_row(int(s), view.available, view.ban_cap, sh.memory_money, sh.memory_time, sh.memory_time_var,
                    sh.vot, terms.arrays, terms.penalty_days, params.reliability_weight, params.cost_elasticity,
                    out[i])  # fmt: skip
    return out


def remember_costs(sh: ShipperArrays, view: QuarterView, params: Parameters, rows: np.ndarray) -> None:
    """Exponential smoothing of experienced money, time and time variance on used corridors."""
    _remember_kernel(rows, view.served, view.exp_money, view.exp_time, sh.memory_money, sh.memory_time,
                     sh.memory_time_var, params.memory_weight)  # fmt: skip


def route_state_cargo(
    cargo: StateCargo, sh: ShipperArrays, view: QuarterView, terms: ChoiceTerms, params: Parameters,
    rows: np.ndarray, owner: np.ndarray, *, countries: tuple[str, ...] = C5,
) -> None:  # fmt: skip
    """The governments' routing of state-controlled cargo, for ``rows`` owned by ``countries[owner]``.

    A few fixed-point rounds of a logit whose utility adds, to the relative cost, the
    marginal change of the Herfindahl index of each state portfolio's tonne-km by power
    and the state's alignment with the powers a route crosses: a state exporter spreads
    its cargo across powers where a private shipper would take the cheapest route.
    """
    if rows.size == 0:
        return
    rows = np.array(rows, dtype=np.int64)  # writable: one kernel signature whoever owns the rows
    owner = np.array(owner, dtype=np.int64)
    align = cargo.alignment.get(countries)
    if align is None:
        align = cargo.alignment[countries] = np.array(
            [[params.alignment.get(c, {}).get(b, 0.5) for b in POWERS] for c in countries]
        )
    vols = view.volumes[rows] * view.layout.state_share[rows]
    _route_state_kernel(
        rows, owner, len(countries), align, vols, view.bloc_share, view.available, view.ban_cap, sh.memory_money,
        sh.memory_time, sh.memory_time_var, sh.vot_mid, terms.arrays,
        terms.penalty_days, params.reliability_weight, params.cost_elasticity, cargo.alloc,
    )  # fmt: skip


# --------------------------------------------------------------------------- array forms


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


def ban_split(shares: np.ndarray, keep: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The split of a flow when part of it is banned from some corridors: (kept, moved).

    ``keep[k]`` is the part of the flow still allowed on corridor ``k`` (1 - the banned
    share). ``kept`` is what stays on each corridor; the banned part of each corridor's share
    is ``moved`` to the corridors with no ban on this flow, in proportion to ``weights``; if
    there is none it is lost (kept + moved then sums to less than 1: that freight is
    diverted). Whether the moved freight finds slots there is the market's loading
    (:func:`corridors.loading.offer`, which runs this rule in its kernel).
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
    out = np.array(shares, dtype=np.float64)
    for i in range(out.shape[0]):
        _apply_caps_row(out[i], np.asarray(cap[i], dtype=np.float64), np.asarray(target[i], dtype=np.float64))
    return out


# --------------------------------------------------------------------------- agents


class ShipperAgent(CorridorAgent):
    """Freight of one origin, market, commodity and direction, standing for many firms.

    State: the agent's row ``index`` of the shippers' :class:`ShipperArrays` (contract
    shares, memory of money cost, transit time and its variability per corridor, three
    value-of-time segments, contract renewal rate), so that the decisions of all shippers
    can run as one batch. The state-controlled part of the flow (``state_share``) is routed
    by the shipper's :class:`CountryAgent`.
    """

    def __init__(
        self, model: mesa.Model, *, index: int, arrays: ShipperArrays, origin: str, market: str,
        commodity: str, direction: str, country: str, tonnes_2019: float, growth_per_year: float,
        value_usd_per_t: float, state_share: float,
    ) -> None:  # fmt: skip
        super().__init__(model)
        self.index = index
        self.arrays = arrays
        self.origin = origin
        self.market = market
        self.commodity = commodity
        self.direction = direction
        self.country = country
        self.tonnes_2019 = tonnes_2019
        self.growth_per_year = growth_per_year
        self.value_usd_per_t = value_usd_per_t
        self.state_share = state_share

    @property
    def shares(self) -> np.ndarray:
        """Contracted share of the private freight per corridor (sums to 1 or 0)."""
        return self.arrays.shares[self.index]

    @property
    def memory_money(self) -> np.ndarray:
        return self.arrays.memory_money[self.index]

    @property
    def memory_time(self) -> np.ndarray:
        return self.arrays.memory_time[self.index]

    @property
    def vot(self) -> np.ndarray:
        """Value of time of the three segments, USD per tonne-day."""
        return self.arrays.vot[self.index]

    def volume_t(self, view: QuarterView) -> float:
        """Trend tonnes of this flow in the view's quarter (before offtake deals and crude diversion)."""
        return float(view.layout.trend_volumes(view.t)[self.index])

    def choose(self, view: QuarterView, terms: ChoiceTerms, cargo: StateCargo, params: Parameters) -> None:
        """Renew a part of the contracts at the target shares (:func:`choose_shares` on this row)."""
        choose_shares(self.arrays, cargo, view, terms, params, np.array([self.index]))

    def remember(self, view: QuarterView, params: Parameters) -> None:
        """Update the memory of the corridors used this quarter (:func:`remember_costs` on this row)."""
        remember_costs(self.arrays, view, params, np.array([self.index]))


def best_project(view: QuarterView, funders: tuple[str, ...], savings_usd_m: float,
                 project_vot: float) -> tuple[str, float] | None:  # fmt: skip
    """The affordable project naming one of ``funders`` with the best benefit per dollar.

    Benefit: the value of time saved on the project's links at today's loads (queue wait
    removed by capacity, travel time cut), four quarters a year over ten years, at
    ``project_vot`` USD per tonne-day; funded only if it exceeds the cost. Projects that
    open new links (CKU, Trans-Afghan) have no load to measure yet: they enter through
    scenario events (pledges), not this rule.
    """
    L = view.layout
    best: tuple[float, str, float] | None = None
    waits = times = None
    year, done, funders = view.year, view.done_projects, set(funders)
    for i, row in enumerate(L.projects):
        if row.project in done or row.earliest_year > year or row.effect == "open":
            continue
        if row.feeder_only:  # the feeder fleet is the Caspian operator's decision
            continue
        if funders.isdisjoint(row.funders):
            continue
        cost = float(row.cost_usd_m)
        if cost > savings_usd_m:
            continue
        if waits is None:
            waits, times = view.project_savings()
        benefit = 4 * 10 * project_vot * (waits[i] + times[i]) / 1e6
        if benefit > cost and (best is None or benefit / cost > best[0]):
            best = (benefit / cost, row.project, cost)
    return None if best is None else (best[1], best[2])


class CountryAgent(CorridorAgent):
    """A C5 government: routes state-controlled cargo, sets fees and borders, funds projects."""

    def __init__(self, model: mesa.Model, *, country: str, budget_usd_m_per_year: float, state_rows: np.ndarray,
                 cargo: StateCargo) -> None:  # fmt: skip
        super().__init__(model)
        self.country = country
        self.budget_usd_m_per_year = budget_usd_m_per_year
        self.state_rows = state_rows
        self.cargo = cargo
        self.savings_usd_m = 0.0
        self.to_bloc_usd_m = 0.0  # handed to the bloc this quarter
        self.port_fee_factor = 1.0
        self.border_factor = 1.0
        self.funded: list[str] = []
        self.crude_diversion_t_per_quarter = 0.0

    def route_state_flows(
        self, view: QuarterView, terms: ChoiceTerms, sh: ShipperArrays, params: Parameters
    ) -> None:
        """Allocate the state's cargo: cost, diversification (HHI of power exposure), alignment.

        See :func:`route_state_cargo`, which runs this rule for all five states at once.
        """
        rows = self.state_rows
        route_state_cargo(self.cargo, sh, view, terms, params, rows, np.zeros(rows.size, dtype=np.int64),
                          countries=(self.country,))  # fmt: skip

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

    def decide(self, view: QuarterView, params: Parameters, project_vot: float) -> None:
        """Once a year: port fees and border efficiency from congestion; save and fund projects.

        Busy ports (utilisation above 0.9) raise their fees and push border reform (dwell
        down 5% a year, to 60% at most); idle ports (below 0.5) cut fees to attract cargo.
        In the bloc the five pool their budgets (:class:`BlocAgent`).
        """
        self.to_bloc_usd_m = 0.0
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
        income = self.budget_usd_m_per_year * params.project_budget_share
        if view.in_bloc:  # the bloc pools this year's budget and whatever the state had saved
            self.to_bloc_usd_m = income + self.savings_usd_m
            self.savings_usd_m = 0.0
        else:
            self.savings_usd_m += income
            self.fund_projects(view, project_vot)

    def fund_projects(self, view: QuarterView, project_vot: float) -> None:
        """Fund the affordable project that saves the shippers most per dollar, if worth it."""
        best = best_project(view, (self.country,), self.savings_usd_m, project_vot)
        if best is not None:
            project, cost = best
            self.savings_usd_m -= cost
            self.funded.append(project)


class BlocAgent(CorridorAgent):
    """The five acting as one bloc (from ``bloc_from_year``): each year they hand over their
    budgets (``CountryAgent.to_bloc_usd_m``) and the bloc funds the best project naming any
    of them."""

    def __init__(self, model: mesa.Model, *, members: tuple[CountryAgent, ...]) -> None:
        super().__init__(model)
        self.members = members
        self.savings_usd_m = 0.0
        self.funded: list[str] = []

    def decide(self, view: QuarterView, params: Parameters, project_vot: float) -> None:
        if not (view.in_bloc and view.t % 4 == 3):
            return
        for member in self.members:
            self.savings_usd_m += member.to_bloc_usd_m
        best = best_project(view, C5, self.savings_usd_m, project_vot)
        if best is not None:
            project, cost = best
            self.savings_usd_m -= cost
            self.funded.append(project)


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

    def __init__(self, model: mesa.Model, *, power: str) -> None:
        super().__init__(model)
        self.power = power
        self.tariff_factor = 1.0
        self.subsidy_usd_per_t = 0.0
        self.secondary_premium_usd_per_t = 0.0
        self.reference: float | None = None
        self.savings_usd_m = 0.0
        self.funded: list[str] = []

    def _reference(self, value: float, t: int) -> float | None:
        """Smoothed 2019-2021 level of an indicator; ``None`` while still learning it."""
        if t < 12:
            self.reference = value if self.reference is None else 0.75 * self.reference + 0.25 * value
            return None
        return self.reference if self.reference is not None else value

    def decide(self, view: QuarterView, params: Parameters, project_vot: float) -> None:
        self.respond(view, params)
        self.fund_projects(view, params, project_vot)

    def respond(self, view: QuarterView, p: Parameters) -> None:
        """The power's own lever, from the state of the corridors this quarter."""
        if self.power == "RU" and p.russia_tariff_response:
            share = view.transit_share("russian")
            ref = self._reference(share, view.t)
            if ref is None:
                return
            if share < 0.8 * ref:
                self.tariff_factor = max(self.tariff_factor - 0.05, 1.0 - p.russia_max_tariff_cut)
            elif share > ref:
                self.tariff_factor = min(self.tariff_factor + 0.05, 1.0)
        elif self.power == "CN" and p.china_subsidy_response:
            share = view.rail_share_of_transit()
            ref = self._reference(share, view.t)
            if ref is None:
                return
            gap = max(ref - share, 0.0) / max(ref, 1e-9)
            self.subsidy_usd_per_t = min(
                p.china_max_subsidy_usd_per_t, p.china_max_subsidy_usd_per_t * 2.0 * gap
            )
        elif self.power == "US" and p.us_secondary_sanctions:
            share = view.c5_russian_share()
            ref = self._reference(share, view.t)
            if ref is not None and share > (1.0 + p.us_secondary_trigger) * ref:
                self.secondary_premium_usd_per_t = min(self.secondary_premium_usd_per_t + 10.0, 100.0)

    def fund_projects(self, view: QuarterView, params: Parameters, project_vot: float) -> None:
        """Once a year, spend this power's budget on the best project that names it as funder."""
        budget = params.power_budgets_usd_m.get(self.power, 0.0)
        if budget <= 0 or view.t % 4 != 3:
            return
        self.savings_usd_m += budget
        best = best_project(view, (self.power,), self.savings_usd_m, project_vot)
        if best is not None:
            project, cost = best
            self.savings_usd_m -= cost
            self.funded.append(project)


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

    def decide(self, view: QuarterView, p: Parameters, project_vot: float = 0.0) -> None:
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
        return self.vessels / max(self.base_vessels, 1)


class TransitStateAgent(CorridorAgent):
    """Azerbaijan, Georgia or Turkey: sets handling fees to raise transit revenue, within bounds."""

    def __init__(self, model: mesa.Model, *, country: str) -> None:
        super().__init__(model)
        self.country = country
        self.fee_factor = 1.0
        self.direction = 1.0
        self.last_revenue: float | None = None

    def decide(self, view: QuarterView, p: Parameters, project_vot: float = 0.0) -> None:
        """Yearly hill climb: keep moving the fee the way that raised revenue, else turn back."""
        if not p.transit_fee_response or view.t % 4 != 3:
            return
        revenue = view.transit_revenue(self.country)
        if self.last_revenue is not None and revenue < self.last_revenue:
            self.direction = -self.direction
        self.last_revenue = revenue
        lo, hi = p.transit_fee_bounds
        self.fee_factor = float(min(max(self.fee_factor * (1.0 + 0.05 * self.direction), lo), hi))
