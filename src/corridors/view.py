"""The view agents decide from: the quarter's market, read-only, and the indicators they read.

:class:`QuarterView` is a frozen dataclass of read-only arrays (quotes, policy terms,
volumes, link prices, times, capacities; after the loading, the served freight, experienced
costs, loads and queues). Its indicators are computed in one kernel once per view, with
numpy's pairwise sums reproduced bit for bit (:func:`pairwise_sum`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from corridors.events import Sanction
from corridors.layout import REVENUE_CONTROLLERS, Layout, read_only
from corridors.vocabulary import BASE_YEAR, C5, CONTROLLER_BLOC, CORRIDORS, QUARTER_DAYS

__all__ = ["QuarterView", "pairwise_sum"]

_RUSSIAN = CORRIDORS.index("russian")
_IND_CASPIAN = 2 + 2 * len(CORRIDORS)
_IND_PORT = _IND_CASPIAN + 1
_IND_REVENUE = _IND_PORT + len(C5)
_IND_TANKER = _IND_REVENUE + len(REVENUE_CONTROLLERS)


@njit(cache=True)
def _block(a, lo, n):
    """Add up to 128 numbers as numpy's pairwise sum does: 8 accumulators, then the rest in order."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0 = a[lo]
    r1 = a[lo + 1]
    r2 = a[lo + 2]
    r3 = a[lo + 3]
    r4 = a[lo + 4]
    r5 = a[lo + 5]
    r6 = a[lo + 6]
    r7 = a[lo + 7]
    m = n - n % 8
    for i in range(lo + 8, lo + m, 8):
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(lo + m, lo + n):
        res += a[i]
    return res


@njit(cache=True)
def pairwise_sum(a, lo, n):
    """Return ``numpy.sum`` of ``a[lo:lo + n]`` (contiguous float64), bit for bit.

    It is numpy's pairwise summation (8 accumulators in blocks of up to 128, halves rounded
    down to a multiple of 8 above), so that kernels give the sums the array code they
    replaced gave.
    """
    if n <= 128:
        return _block(a, lo, n)
    # numpy's recursion (halves rounded down to a multiple of 8) with an explicit stack
    f_lo = np.empty(64, dtype=np.int64)
    f_n = np.empty(64, dtype=np.int64)
    f_left = np.empty(64)
    f_state = np.zeros(64, dtype=np.int64)  # 0: left not done, 1: right not done
    top = 0
    f_lo[0] = lo
    f_n[0] = n
    f_state[0] = 0
    r = 0.0
    have = False  # r holds a child's result to deliver
    while True:
        if have:
            if top < 0:
                return r
            if f_state[top] == 0:
                f_left[top] = r
                f_state[top] = 1
                have = False
                n2 = f_n[top] // 2
                n2 -= n2 % 8
                nl, nn = f_lo[top] + n2, f_n[top] - n2
            else:
                r = f_left[top] + r
                top -= 1
                continue
        else:
            n2 = f_n[top] // 2
            n2 -= n2 % 8
            nl, nn = f_lo[top], n2
        if nn <= 128:
            r = _block(a, nl, nn)
            have = True
        else:
            top += 1
            f_lo[top] = nl
            f_n[top] = nn
            f_state[top] = 0


@njit(cache=True)
def _project_benefits(ptr, edges, capacity_factor, time_factor, load, wait, flow, time, capacity, vot):
    """Return per project the USD a quarter its users would save, in three parts.

    On each of a project's links ``e`` (``capacity_factor`` aligned with ``edges``,
    ``time_factor`` per project), at this quarter's offered ``load``, served ``flow``, queue
    ``wait`` (days), travel ``time`` (h) and ``capacity``, each tonne valued at ``vot`` (USD
    per tonne-day, per link: the value of time of the freight on it):

    - queue: the offered tonnes times the wait the capacity removes, ``W - W'`` with
      ``W' = max(L / (kappa C) - 1, 0)`` quarters (the queue of :func:`corridors.settling.settle`);
    - travel: the served tonnes times the travel time the time factor cuts;
    - kept away: by the rule of half, half the wait removed on the tonnes the binding capacity
      holds back today and the new capacity lets through, ``min(L, kappa C) - C`` (backlogged,
      and in part giving up to other corridors or the sea).
    """
    n = ptr.shape[0] - 1
    queue = np.empty(n)
    travel = np.empty(n)
    kept = np.empty(n)
    tmp = np.empty((3, edges.shape[0]))
    for p in range(n):
        for i in range(ptr[p], ptr[p + 1]):
            e = edges[i]
            k = capacity_factor[i]
            saved = 0.0
            through = 0.0
            if wait[e] > 0.0 and capacity[e] > 0.0 and k > 1.0:
                after = max(load[e] / (k * capacity[e]) - 1.0, 0.0) * QUARTER_DAYS
                saved = max(wait[e] - after, 0.0)
                through = max(min(load[e], k * capacity[e]) - capacity[e], 0.0)
            tmp[0, i] = vot[e] * load[e] * saved
            tmp[1, i] = vot[e] * flow[e] * time[e] / 24.0 * (1.0 - time_factor[p])
            tmp[2, i] = 0.5 * vot[e] * through * saved
        queue[p] = pairwise_sum(tmp[0], ptr[p], ptr[p + 1] - ptr[p])
        travel[p] = pairwise_sum(tmp[1], ptr[p], ptr[p + 1] - ptr[p])
        kept[p] = pairwise_sum(tmp[2], ptr[p], ptr[p + 1] - ptr[p])
    return queue, travel, kept


@njit(cache=True)
def _max_ratio(load, cap, idx):
    """Highest ``load / cap`` over the links ``idx`` with positive capacity (0 if none)."""
    out = -np.inf
    for e in idx:
        if cap[e] > 0:
            out = max(out, load[e] / cap[e])
    return out if out > -np.inf else 0.0


@njit(cache=True)
def _indicators(arrays, served, load, flow, money, capacity):
    """Compute the quarter's indicators, with numpy's sums bit for bit.

    Transit tonnes served in all and per corridor, the same for the five's own trade, the
    Caspian feeders' and each state's ports' highest utilisation, each controller's transit
    revenue, and each state's Caspian tanker capacity.
    """
    transit_rows, c5_rows, feeder, ports_ptr, ports, own_ptr, own, tank_ptr, tank = arrays
    K = served.shape[1]
    out = np.zeros(_IND_TANKER + (tank_ptr.shape[0] - 1))
    for g, rows in enumerate((transit_rows, c5_rows)):
        n = rows.shape[0]
        flat = np.empty(n * K)
        col = np.empty(n)
        for i in range(n):
            for k in range(K):
                flat[i * K + k] = served[rows[i], k]
        out[g * (1 + K)] = pairwise_sum(flat, 0, n * K)
        for k in range(K):
            for i in range(n):
                col[i] = served[rows[i], k]
            out[g * (1 + K) + 1 + k] = pairwise_sum(col, 0, n)
    out[_IND_CASPIAN] = _max_ratio(load, capacity, feeder)
    for c in range(ports_ptr.shape[0] - 1):
        out[_IND_PORT + c] = _max_ratio(load, capacity, ports[ports_ptr[c] : ports_ptr[c + 1]])
    for c in range(own_ptr.shape[0] - 1):
        idx = own[own_ptr[c] : own_ptr[c + 1]]
        prod = np.empty(idx.shape[0])
        for i in range(idx.shape[0]):
            prod[i] = flow[idx[i]] * money[idx[i]]
        out[_IND_REVENUE + c] = pairwise_sum(prod, 0, idx.shape[0])
    for c in range(tank_ptr.shape[0] - 1):
        idx = tank[tank_ptr[c] : tank_ptr[c + 1]]
        vals = np.empty(idx.shape[0])
        for i in range(idx.shape[0]):
            v = capacity[idx[i]]
            vals[i] = 0.0 if np.isnan(v) else v
        out[_IND_TANKER + c] = pairwise_sum(vals, 0, idx.shape[0])
    return out


@njit(cache=True)
def _cost_ratio(rows, available, quote_money, premium, subsidy, volumes, russian):
    """:meth:`QuarterView.russian_cost_ratio` over the shippers ``rows``.

    The volume-weighted geometric mean, over the rows with a finite Russian cost and a finite
    alternative, of the cheapest alternative's cost over the Russian route's (1.0 if none):
    ``numpy.average`` of the logs, its two sums numpy's (:func:`pairwise_sum`).
    """
    K = quote_money.shape[1]
    logs = np.empty(rows.shape[0])
    weights = np.empty(rows.shape[0])
    n = 0
    for i in range(rows.shape[0]):
        s = rows[i]
        own = quote_money[s, russian] + premium[s, russian] - subsidy[s, russian]
        if not (available[s, russian] and np.isfinite(own)):
            continue
        alt = np.inf
        for k in range(K):
            if k != russian and available[s, k]:
                alt = min(alt, quote_money[s, k] + premium[s, k] - subsidy[s, k])
        if not np.isfinite(alt):
            continue
        logs[n] = np.log(max(alt, 1e-9) / max(own, 1e-9))
        weights[n] = volumes[s]
        n += 1
    if n == 0:
        return 1.0
    total = pairwise_sum(weights, 0, n)
    if total <= 0:
        return 1.0
    for i in range(n):
        logs[i] *= weights[i]
    return np.exp(pairwise_sum(logs, 0, n) / total)


@njit(cache=True)
def _open_share(rows, served, ban_cap, k):
    """:meth:`QuarterView.open_transit_share` over the shippers ``rows`` and corridor ``k``.

    Its sums are numpy's (:func:`pairwise_sum`), and the freight free to use ``k`` a dot
    product as numpy's ``@`` (BLAS).
    """
    n, K = rows.shape[0], served.shape[1]
    totals = np.empty(n)
    caps = np.empty(n)
    on_k = np.empty(n)
    row = np.empty(K)
    for i in range(n):
        s = rows[i]
        for c in range(K):
            row[c] = served[s, c]
        totals[i] = pairwise_sum(row, 0, K)
        caps[i] = ban_cap[s, k]
        on_k[i] = served[s, k]
    free = np.dot(totals, caps)
    return pairwise_sum(on_k, 0, n) / free if free > 0 else 0.0


@dataclass(frozen=True, eq=False)
class QuarterView:
    """What agents see of a quarter: read-only arrays and a few facts (never the model).

    Per shipper and corridor ``(S, K)``: ``quote_money`` (USD/t, inf where the corridor
    cannot reach the market), ``quote_time`` (days), ``available``, ``ban_cap``,
    ``premium``, ``subsidy``, ``political``; ``bloc_share`` ``(S, K, P)``; per shipper
    ``volumes`` (t this quarter). Per link (edge order): ``money``, ``time`` (h) and
    ``capacity`` of the quarter. After the quarter's loading (``loaded``), also ``served``,
    ``exp_money``, ``exp_time`` ``(S, K)``, per link ``flow`` (served t), ``load``
    (offered t) and ``wait_days``, and ``group_flow`` ``(G, E)`` (served t of each commodity
    group); before it those are the last quarter's.
    """

    t: int
    in_bloc: bool
    layout: Layout
    quote_money: np.ndarray
    quote_time: np.ndarray
    available: np.ndarray
    ban_cap: np.ndarray
    premium: np.ndarray
    subsidy: np.ndarray
    political: np.ndarray
    bloc_share: np.ndarray
    volumes: np.ndarray
    money: np.ndarray
    time: np.ndarray
    capacity: np.ndarray
    sanctions: tuple[Sanction, ...]
    done_projects: set[str]
    served: np.ndarray
    exp_money: np.ndarray
    exp_time: np.ndarray
    flow: np.ndarray
    load: np.ndarray
    wait_days: np.ndarray
    group_flow: np.ndarray
    cache: dict = field(default_factory=dict)  # the run's own cache of what its events imply
    loaded: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Make every array of the view read-only."""
        read_only(*(v for v in vars(self).values() if isinstance(v, np.ndarray)))

    @property
    def year(self) -> int:
        """The year of the quarter ``t``."""
        return BASE_YEAR + self.t // 4

    # ---------------------------------------------------------------- indicators agents read

    def _indicators(self) -> np.ndarray:
        """Return the indicators agents read, computed once per view in one kernel (:func:`_indicators`)."""
        ind = self.extra.get("indicators")
        if ind is None:
            ind = self.extra["indicators"] = _indicators(
                self.layout.indicator_arrays, self.served, self.load, self.flow, self.money, self.capacity
            )
        return ind

    def transit_share(self, corridor: str) -> float:
        """Share of ``corridor`` in China-Europe transit served this quarter."""
        ind = self._indicators()
        total = ind[0]
        return float(ind[1 + CORRIDORS.index(corridor)] / total) if total > 0 else 0.0

    def rail_share_of_transit(self) -> float:
        """Share of the rail corridors (Russian and Middle) in China-Europe transit served this quarter."""
        return self.transit_share("russian") + self.transit_share("middle")

    def open_transit_share(self, corridor: str) -> float:
        """Share of ``corridor`` in the China-Europe transit still free to use it this quarter.

        Served transit on the corridor over the transit served on all corridors times each
        flow's ban cap on the corridor (``ban_cap``): the part a bans' avoidance has not
        taken off it, which is all a price can win back.
        """
        rows = self.layout.indicator_arrays[0]  # the transit shippers
        return float(_open_share(rows, self.served, self.ban_cap, CORRIDORS.index(corridor)))

    def russian_cost_ratio(self, hit: np.ndarray) -> float:
        """Money cost of the cheapest alternative over the Russian route's, for the flows ``hit``.

        Quotes with premiums less subsidies, weighted by this quarter's volumes, over the
        flows (boolean mask over shippers) that can use both; 1.0 if none can.
        """
        return float(
            _cost_ratio(
                np.flatnonzero(hit), self.available, self.quote_money, self.premium, self.subsidy,
                self.volumes, _RUSSIAN,
            )
        )  # fmt: skip

    def c5_russian_share(self) -> float:
        """Share of the five's own trade served through Russia this quarter."""
        ind = self._indicators()
        K = len(CORRIDORS)
        total = ind[1 + K]
        return float(ind[2 + K + _RUSSIAN] / total) if total > 0 else 0.0

    def caspian_utilisation(self) -> float:
        """Highest load over capacity on the Caspian container-feeder links this quarter."""
        return float(self._indicators()[_IND_CASPIAN])

    def port_utilisation(self, country: str) -> float:
        """Highest load over capacity on the country's hard-capacity links this quarter."""
        return float(self._indicators()[_IND_PORT + C5.index(country)])

    def transit_revenue(self, country: str) -> float:
        """USD the links ``country`` controls earned on this quarter's served freight."""
        return float(self._indicators()[_IND_REVENUE + REVENUE_CONTROLLERS.index(country)])

    def pipeline_route_cost(self, country: str) -> float:
        """Return the USD/t of the country's crude by its pipeline and on by tanker to the EU.

        Plus the premium sanctions put on EU-bound freight through Russia this quarter.
        """
        route = self.layout.pipeline_routes.get(country)
        if route is None:
            return np.inf
        edge, exits = route
        cost = self.money[edge] + (min(self.money[exits]) if exits.size else 0.0)
        key = ("crude premium", country, *map(id, self.sanctions))
        premium = self.cache.get(key)
        if premium is None:
            premium = 0.0
            for sn in self.sanctions:
                if CONTROLLER_BLOC.get(sn.transit) == "russia" and sn.applies(
                    country=country, commodity="crude", direction="export", market="market_eu"
                ):
                    premium += sn.premium_usd_per_t * sn.share
            self.cache[key] = premium
        return float(cost + premium)

    def tanker_headroom(self, country: str) -> float:
        """Tonnes a quarter the Caspian crude tankers from ``country`` could still carry."""
        L = self.layout
        if not L.tanker_index[country].size:
            return 0.0
        base = L.trend_volume(self.t, L.crude_rows[country])  # the crude the pipeline would carry
        return float(max(self._indicators()[_IND_TANKER + C5.index(country)] - base, 0.0))

    def link_vot(self, shipper_vot: np.ndarray) -> np.ndarray:
        """Return per link the value of time of the freight it served this quarter, USD per tonne-day.

        Each commodity group's served tonnes on the link (``group_flow``) at the group's value
        of time: its shippers' ``shipper_vot`` weighted by this quarter's volumes. A link
        that served nothing gets the mean over all the freight.

        Parameters
        ----------
        shipper_vot : numpy.ndarray
            ``(S,)`` each shipper's value of time, USD per tonne-day (its segments' values
            weighted by their shares of the flow).
        """
        groups = self.layout.groups
        vol = self.volumes
        group_vot = np.empty(len(groups))
        for g, grp in enumerate(groups):
            idx = grp["shippers"]
            w = vol[idx]
            total = float(w.sum())
            group_vot[g] = (
                float(w @ shipper_vot[idx]) / total if total > 0 else float(shipper_vot[idx].mean())
            )
        total = float(vol.sum())
        mean = float(vol @ shipper_vot) / total if total > 0 else float(shipper_vot.mean())
        flow = self.group_flow.sum(axis=0)
        valued = group_vot @ self.group_flow
        return np.where(flow > 0, valued / np.where(flow > 0, flow, 1.0), mean)

    def project_benefits(self, shipper_vot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return, per project of the catalogue, the USD a quarter its users would save at this quarter's loads.

        Queue wait removed, travel time cut, and the rule-of-half surplus of the freight the
        binding capacity keeps away (:func:`_project_benefits`), each tonne at the value of
        time of the freight on the link (:meth:`link_vot`). Computed once per view.
        """
        if "projects" not in self.extra:
            self.extra["projects"] = _project_benefits(
                *self.layout.project_arrays,
                self.load,
                self.wait_days,
                self.flow,
                self.time,
                self.capacity,
                self.link_vot(shipper_vot),
            )
        return self.extra["projects"]

    @classmethod
    def before_loading(cls, *, links, terms, outcome, **fields: Any) -> QuarterView:
        """Build the view of a quarter before its loading.

        Parameters
        ----------
        links : Links
            The quarter's links (:func:`corridors.market.quarter_links`): their money, time
            and capacity.
        terms : PolicyTerms
            The policy terms (:func:`corridors.market.policy_terms`): ban caps, premiums,
            subsidies and political costs.
        outcome : Settled
            The last quarter's loading (:class:`corridors.settling.Settled`): what the view
            shows as served, experienced, loaded and waited until this quarter is loaded.
        **fields
            The other fields: ``t``, ``in_bloc``, ``layout``, the quotes, ``available``,
            ``bloc_share``, ``volumes``, ``sanctions``, ``done_projects``, ``cache``.

        Returns
        -------
        QuarterView
        """
        return cls(
            ban_cap=terms.ban_cap,
            premium=terms.premium,
            subsidy=terms.subsidy,
            political=terms.political,
            money=links.money,
            time=links.time,
            capacity=links.capacity,
            **_loading_arrays(outcome),
            **fields,
        )

    def loaded_by(self, outcome) -> QuarterView:
        """Return the view after the quarter's loading ``outcome`` (a :class:`~corridors.settling.Settled`)."""
        return self.loaded_with(**_loading_arrays(outcome))

    def loaded_with(self, **arrays: np.ndarray) -> QuarterView:
        """Return the view after the quarter's loading: the same quotes with the loading's arrays."""
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.__dict__.update(arrays, loaded=True, extra={})
        read_only(*arrays.values())
        return out


def _loading_arrays(outcome) -> dict[str, np.ndarray]:
    """Return a loading's arrays under the names of the view's fields."""
    o = outcome
    return {
        "served": o.served,
        "exp_money": o.exp_money,
        "exp_time": o.exp_time,
        "flow": o.flow_e,
        "load": o.load_e,
        "wait_days": o.wait_e,
        "group_flow": o.group_flow_e,
    }
