"""The agents' rules as batches over plain arrays (Numba kernels), and the state they act on.

The shippers' state is held as rows of one :class:`ShipperArrays` and the governments'
routing of their state cargo in one :class:`StateCargo`, so that each rule runs for every
agent in one kernel call; an agent's own method runs the same rule on its rows (tests show
the two agree). :func:`relative_cost_logit`, :func:`ban_split` and :func:`apply_caps` are
the rules' array forms, for reading and testing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from corridors.parameters import Parameters
from corridors.view import QuarterView
from corridors.vocabulary import C5, POWERS

__all__ = [
    "ChoiceTerms",
    "ShipperArrays",
    "StateCargo",
    "apply_caps",
    "ban_split",
    "choose_shares",
    "observe_quotes",
    "relative_cost_logit",
    "remember_costs",
    "route_state_cargo",
    "target_shares",
]

_kernel = njit(cache=True, error_model="numpy")


@dataclass(eq=False)
class ShipperArrays:
    """The shippers' state, one row per :class:`ShipperAgent` (its ``index``).

    ``shares`` are the contracted shares of the private freight per corridor (rows sum to 1
    or 0); ``target`` the shares the last choice aimed at; ``memory_*`` the remembered money
    (USD/t), time (days) and its variance per corridor (NaN: never known); ``vot`` the value
    of time of four segments (USD per tonne-day) and ``weight`` each segment's share of the
    flow (rows sum to 1); ``renewal_rate`` the share of contracts renewed a quarter.
    """

    shares: np.ndarray
    target: np.ndarray
    memory_money: np.ndarray
    memory_time: np.ndarray
    memory_time_var: np.ndarray
    vot: np.ndarray
    weight: np.ndarray
    renewal_rate: np.ndarray

    @property
    def vot_mid(self) -> np.ndarray:
        """The middle segment's value of time (the governments value their cargo's time at it)."""
        if getattr(self, "_vot_mid", None) is None:  # vot is set once, when the shippers are created
            self._vot_mid = np.ascontiguousarray(self.vot[:, 1])
        return self._vot_mid

    @classmethod
    def create(
        cls,
        params: Parameters,
        value_usd_per_t: np.ndarray,
        is_bulk_or_crude: np.ndarray,
        K: int,
        is_container: np.ndarray | None = None,
    ) -> ShipperArrays:
        """Return the shippers' starting state: empty memories, no contracts yet.

        Three value-of-time segments at the 1/6, 1/2 and 5/6 quantiles of a log-normal around
        ``value * carrying_cost_per_year / 365``, and a fourth of time-sensitive shippers at
        ``value * time_sensitive_vot_per_day``, who own ``time_sensitive_share`` of each
        container flow (``is_container``) and nothing of the others; annual contracts for
        containers and critical minerals, two-year contracts for bulk (A-contracts).
        """
        S = value_usd_per_t.size
        base_vot = value_usd_per_t * params.carrying_cost_per_year / 365.0
        carrying = base_vot[:, None] * np.exp(params.vot_spread * np.array([-0.967, 0.0, 0.967]))[None, :]
        sensitive = value_usd_per_t * params.time_sensitive_vot_per_day
        theta = params.time_sensitive_share * (
            np.zeros(S) if is_container is None else np.asarray(is_container, dtype=float)
        )
        weight = np.column_stack([np.repeat(((1.0 - theta) / 3.0)[:, None], 3, axis=1), theta])
        return cls(
            shares=np.zeros((S, K)),
            target=np.zeros((S, K)),
            memory_money=np.full((S, K), np.nan),
            memory_time=np.full((S, K), np.nan),
            memory_time_var=np.zeros((S, K)),
            vot=np.ascontiguousarray(np.column_stack([carrying, sensitive])),
            weight=np.ascontiguousarray(weight),
            renewal_rate=params.renewal_rate * np.where(is_bulk_or_crude, 0.5, 1.0),
        )


@dataclass(eq=False)
class StateCargo:
    """The governments' allocation of each shipper's state-controlled freight per corridor ``(S, K)``.

    Written by the :class:`CountryAgent` rule (rows sum to 1, or 0 where a state controls none
    of the flow).
    """

    alloc: np.ndarray
    alignment: dict = field(default_factory=dict, repr=False)  # the states' alignment rows, per set of states


@dataclass(frozen=True, eq=False)
class ChoiceTerms:
    """The parts of a shipper's generalised cost that are not its memory.

    Per shipper and corridor (USD/t): sanction ``premium``, ``subsidy``, ``political`` cost and
    the corridor ``constant``; and the reliability penalty per corridor in days
    ``penalty_days`` (K,).
    """

    premium: np.ndarray
    subsidy: np.ndarray
    political: np.ndarray
    constant: np.ndarray
    penalty_days: np.ndarray

    @classmethod
    def of(cls, view: QuarterView, constant: np.ndarray, penalty_days: np.ndarray) -> ChoiceTerms:
        """Return the terms of this quarter's ``view``, with the corridor constants and penalties."""
        return cls(view.premium, view.subsidy, view.political, constant, penalty_days)

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The USD/t terms for the kernels: premium, subsidy, political, constant."""
        return self.premium, self.subsidy, self.political, self.constant


# --------------------------------------------------------------------------- batched rules


@_kernel
def _cost(s, k, mm, terms, mt, mv, vot, penalty, reliability_weight):
    """Return the generalised cost of one shipper, segment and corridor.

    Remembered money plus terms, remembered time plus a reliability margin and penalty, valued
    at the segment's value of time; NaN memories give +inf, +inf gives the largest float (as
    ``nan_to_num``).
    """
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
def _target_row(
    s, available, ban_cap, mm, mt, mv, vot, weight, terms_money, penalty, rw, elasticity, out, g, w
):
    """Write the relative-cost logit averaged over the value-of-time segments (by ``weight``) into ``out``.

    ``g`` and ``w`` are scratch rows (K,), allocated once by the caller for all its rows.
    """
    K = out.shape[0]
    for k in range(K):
        out[k] = 0.0
    for seg in range(vot.shape[1]):
        share = weight[s, seg]
        if share == 0.0:
            continue
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
        for k in range(K):
            avail = available[s, k] and np.isfinite(mm[s, k]) and ban_cap[s, k] > 0
            w[k] = np.exp(-elasticity * np.log(g[k] / gmin)) if avail and np.isfinite(gmin) else 0.0
            total += w[k]
        for k in range(K):
            out[k] += share * (w[k] / total) if total > 0 else 0.0


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
def _observe_rows(rows, quote_money, quote_time, mm, mt):
    """:func:`_observe_row` at the start, for every shipper of ``rows``, in one call."""
    used = np.zeros(mm.shape[1], dtype=np.bool_)
    for s in rows:
        _observe_row(s, quote_money, quote_time, used, mm, mt, 1.0, True)


@_kernel
def _target_rows(
    rows, available, ban_cap, mm, mt, mv, vot, weight, terms_money, penalty, rw, elasticity, out
):
    """:func:`_target_row` for every shipper of ``rows`` into the rows of ``out``, in one call."""
    g, w = np.empty(out.shape[1]), np.empty(out.shape[1])
    for i in range(rows.shape[0]):
        _target_row(
            rows[i],
            available,
            ban_cap,
            mm,
            mt,
            mv,
            vot,
            weight,
            terms_money,
            penalty,
            rw,
            elasticity,
            out[i],
            g,
            w,
        )


@_kernel
def _choose_kernel(
    rows,
    quote_money,
    quote_time,
    available,
    ban_cap,
    terms_money,
    penalty,
    shares,
    alloc,
    target,
    mm,
    mt,
    mv,
    vot,
    weight,
    renewal,
    info_weight,
    rw,
    elasticity,
    quoted,
):
    """:func:`choose_shares` for ``rows``."""
    K = shares.shape[1]
    used = np.empty(K, dtype=np.bool_)
    new = np.empty(K)
    goal = np.empty(K)
    cap = np.empty(K)
    g, w, room = np.empty(K), np.empty(K), np.empty(K)  # scratch rows, one allocation for all rows
    for s in rows:
        for k in range(K):
            used[k] = (shares[s, k] + alloc[s, k]) > 0
        _observe_row(s, quote_money, quote_time, used, mm, mt, info_weight, False)
        if quoted:  # money is this quarter's quote: published tariffs and spot sea rates
            for k in range(K):
                if np.isfinite(quote_money[s, k]):
                    mm[s, k] = quote_money[s, k]
        _target_row(
            s, available, ban_cap, mm, mt, mv, vot, weight, terms_money, penalty, rw, elasticity, goal, g, w
        )
        old_sum = 0.0
        for k in range(K):
            old_sum += shares[s, k]
        rate = renewal[s]
        for k in range(K):
            new[k] = (1.0 - rate) * shares[s, k] + rate * goal[k] if old_sum > 0 else goal[k]
            cap[k] = 1.0 if available[s, k] and ban_cap[s, k] > 0 else 0.0
            target[s, k] = goal[k]
        _apply_caps_row(new, cap, goal, room)
        for k in range(K):
            shares[s, k] = new[k]


@_kernel
def _apply_caps_row(shares, cap, target, room):
    """:func:`apply_caps` on one row, in place; ``room`` is a scratch row (K,) the caller allocates once."""
    K = shares.shape[0]
    excess_sum = 0.0
    room_sum = 0.0
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
    rows,
    owner,
    n_owners,
    align,
    vols,
    bs,
    available,
    ban_cap,
    mm,
    mt,
    mv,
    vot_mid,
    terms_money,
    penalty,
    rw,
    elasticity,
    alloc,
):
    """:func:`route_state_cargo` for ``rows`` owned by ``owner`` (index into ``align``)."""
    n = rows.shape[0]
    K = alloc.shape[1]
    P = bs.shape[2]
    avail = np.zeros((n, K), dtype=np.bool_)
    log_rel = np.zeros((n, K))
    affinity = np.zeros((n, K))
    cur = np.empty((n, K))
    g = np.empty(K)
    util = np.empty(K)
    for i in range(n):
        s = rows[i]
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


def choose_shares(
    sh: ShipperArrays,
    cargo: StateCargo,
    view: QuarterView,
    terms: ChoiceTerms,
    params: Parameters,
    rows: np.ndarray,
) -> None:
    """Make the shippers' contract decision for ``rows`` (see :meth:`ShipperAgent.choose`).

    Each learns the published quotes of corridors it does not use (and, with
    ``quoted_money``, takes every corridor's money cost from this quarter's quote: tariffs
    and spot sea rates are published; time and reliability are learnt), computes target shares
    by the relative-cost logit over its three value-of-time segments, renews
    ``renewal_rate`` of its contracts at them; contracts on corridors no longer available,
    or wholly banned, lapse at once (a partial ban splits the flow when it is loaded).
    """
    _choose_kernel(
        rows,
        view.quote_money,
        view.quote_time,
        view.available,
        view.ban_cap,
        terms.arrays,
        terms.penalty_days,
        sh.shares,
        cargo.alloc,
        sh.target,
        sh.memory_money,
        sh.memory_time,
        sh.memory_time_var,
        sh.vot,
        sh.weight,
        sh.renewal_rate,
        params.market_info_weight,
        params.reliability_weight,
        params.cost_elasticity,
        params.quoted_money,
    )


def observe_quotes(sh: ShipperArrays, view: QuarterView, rows: np.ndarray) -> None:
    """Learn every quote at the start (the memories of corridors never used are the quotes)."""
    _observe_rows(
        np.asarray(rows, dtype=np.int64), view.quote_money, view.quote_time, sh.memory_money, sh.memory_time
    )


def target_shares(
    sh: ShipperArrays, view: QuarterView, terms: ChoiceTerms, params: Parameters, rows: np.ndarray
) -> np.ndarray:
    """Mean over the value-of-time segments (weighted by their shares) of the relative-cost logit ``(n, K)``."""
    out = np.empty((rows.size, sh.shares.shape[1]))
    _target_rows(
        np.asarray(rows, dtype=np.int64),
        view.available,
        view.ban_cap,
        sh.memory_money,
        sh.memory_time,
        sh.memory_time_var,
        sh.vot,
        sh.weight,
        terms.arrays,
        terms.penalty_days,
        float(params.reliability_weight),
        float(params.cost_elasticity),
        out,
    )
    return out


def remember_costs(sh: ShipperArrays, view: QuarterView, params: Parameters, rows: np.ndarray) -> None:
    """Exponential smoothing of experienced money, time and time variance on used corridors."""
    _remember_kernel(
        rows,
        view.served,
        view.exp_money,
        view.exp_time,
        sh.memory_money,
        sh.memory_time,
        sh.memory_time_var,
        params.memory_weight,
    )


def route_state_cargo(
    cargo: StateCargo,
    sh: ShipperArrays,
    view: QuarterView,
    terms: ChoiceTerms,
    params: Parameters,
    rows: np.ndarray,
    owner: np.ndarray,
    *,
    countries: tuple[str, ...] = C5,
) -> None:
    """Route the governments' state-controlled cargo, for ``rows`` owned by ``countries[owner]``.

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
        rows,
        owner,
        len(countries),
        align,
        vols,
        view.bloc_share,
        view.available,
        view.ban_cap,
        sh.memory_money,
        sh.memory_time,
        sh.memory_time_var,
        sh.vot_mid,
        terms.arrays,
        terms.penalty_days,
        params.reliability_weight,
        params.cost_elasticity,
        cargo.alloc,
    )


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
    """Split a flow when part of it is banned from some corridors: return (kept, moved).

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
    room = np.empty(out.shape[1:])
    for i in range(out.shape[0]):
        _apply_caps_row(
            out[i], np.asarray(cap[i], dtype=np.float64), np.asarray(target[i], dtype=np.float64), room
        )
    return out


# --------------------------------------------------------------------------- agents
