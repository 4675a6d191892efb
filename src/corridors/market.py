"""The market of a quarter: the links, the policy terms and the freight offered.

The links' prices, times and capacities, the policy terms on each shipper's corridors, and
the freight offered, by functions over plain arrays of a :class:`~corridors.layout.Layout`.
Each quarter the model calls, in order:

1. :func:`quarter_links`: money (tariffs and handling, with every lever on them), time
   (travel, dwell at borders, the Red Sea detour) and capacity (season, events, fleet,
   weather and disruptions) of every link;
2. :mod:`corridors.quotes` for the least-cost paths and their quotes;
3. :func:`policy_terms`: sanction premiums and bans, subsidies, political costs;
4. :func:`offered_volumes`: the tonnes each shipper offers (trend, crude diversion,
   offtake deals).

Agents read all this through a :class:`~corridors.view.QuarterView`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
from numba import njit

from corridors.events import EdgeState, OfftakeDeal, Sanction, Subsidy
from corridors.layout import Layout
from corridors.vocabulary import C5, CORRIDORS, POWERS, TRANSIT_STATES

__all__ = ["Links", "PolicyTerms", "offered_volumes", "pipeline_flows", "policy_terms", "quarter_links"]

_RUSSIAN = CORRIDORS.index("russian")
_MIDDLE = CORRIDORS.index("middle")
_RAIL = np.array([_RUSSIAN, _MIDDLE], dtype=np.int64)  # the corridors China supports
_OPEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # EdgeState -> (open links, open corridors)


@dataclass(frozen=True, eq=False)
class Links:
    """The links' money (USD/t), time (h) and capacity (t a quarter) this quarter, edge order."""

    money: np.ndarray
    time: np.ndarray
    capacity: np.ndarray
    open: np.ndarray
    corridor_open: np.ndarray
    sea_rate_usd_per_feu: float
    cape_detour_days: float


def quarter_links(
    layout: Layout,
    state: EdgeState,
    t: int,
    *,
    sea_rate: tuple[float, float],
    russia_tariff_factor: float,
    transit_fee_factors: dict[str, float],
    port_fee_factors: dict[str, float],
    border_factors: dict[str, float],
    feeder_factor: float,
    weather: float | None = None,
    disrupted: np.ndarray | None = None,
) -> Links:
    """Prices, times and capacities of every link in quarter ``t``.

    Prices: events, Russia's 1520 tariff, the transit states' handling fees, the five's
    port fees, the sea rate on the sea gateway. Times: events, border efficiency, the Red
    Sea detour on Suez links. Capacity: season, events, the Caspian feeder fleet, and in a
    stochastic run the Caspian's ``weather`` factor and halved capacity on ``disrupted``
    border links.
    """
    L = layout
    usd_per_feu, detour_days = sea_rate
    fees = np.array([transit_fee_factors[c] for c in TRANSIT_STATES])
    ports = np.array([port_fee_factors[c] for c in C5])
    borders = np.array([border_factors[c] for c in C5])
    n = L.n_edges
    money, time, cap = np.empty(n), np.empty(n), np.empty(n)
    _links_kernel(
        L.link_arrays,
        state.tariff_factor,
        state.handling_factor,
        state.time_factor,
        state.dwell_factor,
        state.capacity_factor,
        t % 4,
        float(russia_tariff_factor),
        usd_per_feu / L.t_per_feu,
        float(detour_days),
        fees,
        ports,
        borders,
        float(feeder_factor),
        np.nan if weather is None else float(weather),
        np.zeros(0, dtype=bool) if disrupted is None else disrupted,
        money,
        time,
        cap,
    )
    # links that do not exist yet (opens_year: CKU, Trans-Afghan rail) open only when an
    # investment that opens them is delivered, whatever the year
    opened = _OPEN.get(state)
    if opened is None:  # the same for as long as the links' state holds
        opened = _OPEN[state] = (
            ~state.closed & ((L.opens_year == 0) | state.opened),
            np.array([state.corridor_open[c] for c in CORRIDORS]),
        )
    open_e, corridor_open = opened
    return Links(money, time, cap, open_e, corridor_open, usd_per_feu, detour_days)


@njit(cache=True, error_model="numpy")
def _links_kernel(
    arrays,
    tariff_factor,
    handling_factor,
    time_factor,
    dwell_factor,
    capacity_factor,
    q,
    russia,
    sea_usd_per_t,
    detour_days,
    fees,
    ports,
    borders,
    feeder_factor,
    weather,
    disrupted,
    money,
    time,
    cap,
):
    """:func:`quarter_links` into ``money``, ``time`` and ``cap`` (the same operations in the same order)."""
    (
        base_tariff,
        base_handling,
        travel_h,
        dwell_h,
        base_capacity,
        season,
        ru_rail,
        sea_gateway,
        suez,
        feeder,
        caspian,
        fee_ptr,
        fee_idx,
        port_ptr,
        port_idx,
        border_ptr,
        border_idx,
    ) = arrays
    n = base_tariff.shape[0]
    handling = np.empty(n)
    border_factor = np.ones(n)
    for e in range(n):
        handling[e] = base_handling[e] * handling_factor[e]
    for c in range(fees.shape[0]):  # handling at the transit states' ports, yards and borders
        if fees[c] != 1.0:
            for i in range(fee_ptr[c], fee_ptr[c + 1]):
                handling[fee_idx[i]] *= fees[c]
    for c in range(ports.shape[0]):
        if ports[c] != 1.0:
            for i in range(port_ptr[c], port_ptr[c + 1]):
                handling[port_idx[i]] *= ports[c]
        if borders[c] != 1.0:
            for i in range(border_ptr[c], border_ptr[c + 1]):
                e = border_idx[i]
                border_factor[e] = min(border_factor[e], borders[c])
    for e in range(n):
        tariff = base_tariff[e] * tariff_factor[e]
        if ru_rail[e]:
            tariff = tariff * russia
        if sea_gateway[e]:
            tariff = sea_usd_per_t
        money[e] = tariff + handling[e]
        t = travel_h[e] * time_factor[e] + dwell_h[e] * dwell_factor[e] * border_factor[e]
        time[e] = t + 24.0 * detour_days if suez[e] else t
        c = base_capacity[e] * season[e, q] * capacity_factor[e]
        if feeder[e]:
            c = c * feeder_factor
        if caspian[e] and not np.isnan(weather):
            c = c * weather
        if disrupted.shape[0] and disrupted[e]:
            c = c * 0.5
        cap[e] = c


def pipeline_flows(
    layout: Layout, state: EdgeState, capacity: np.ndarray, t: int, diverted: dict[str, float]
) -> np.ndarray:
    """Return the tonnes each pipeline carries in quarter ``t``.

    That is its trend volume less the crude its state ``diverted`` to Caspian tankers, within
    capacity; none when closed.
    """
    L = layout
    out = np.empty(L.pipe_edges.size)
    less = {i: diverted.get(c, 0.0) for c, i in L.pipe_of.items()}
    for i, e in enumerate(L.pipe_edges.tolist()):  # a few pipelines: plain floats, numpy's operations
        want = max(
            float(L.pipe_volume[i]) * (1.0 + float(L.pipe_growth[i])) ** (t / 4.0) / 4.0 - less.get(i, 0.0),
            0.0,
        )
        cap = float(capacity[e])
        out[i] = 0.0 if state.closed[e] else min(want, np.inf if np.isnan(cap) else cap)
    return out


# --------------------------------------------------------------------------- policy terms


@dataclass(frozen=True, eq=False)
class PolicyTerms:
    """USD/t terms per shipper and corridor (premium, subsidy, political cost), and ban shares.

    ``ban_cap`` is the share of each flow a ban leaves.
    """

    premium: np.ndarray
    subsidy: np.ndarray
    ban_cap: np.ndarray
    political: np.ndarray


@njit(cache=True, error_model="numpy")
def _policy_kernel(
    sn_hit,
    sn_bloc,
    sn_ban,
    sn_share,
    sn_premium,
    sb_hit,
    sb_k,
    sb_usd,
    sb_share,
    quote_money,
    bloc_share,
    is_transit,
    is_c5,
    china,
    us,
    russia,
    rail,
    misalignment,
    weight,
    premium,
    subsidy,
    ban_cap,
    political,
):
    """:func:`policy_terms` into ``premium``, ``subsidy``, ``ban_cap`` and ``political``."""
    S, K = quote_money.shape
    P = bloc_share.shape[2]
    premium[:] = 0.0
    subsidy[:] = 0.0
    ban_cap[:] = 1.0
    for i in range(sn_hit.shape[0]):
        b = sn_bloc[i]
        for s in range(S):
            for k in range(K):
                affected = sn_hit[i, s] and bloc_share[s, k, b] > 0
                if sn_ban[i]:
                    if affected:
                        ban_cap[s, k] = ban_cap[s, k] * (1.0 - sn_share[i])
                else:
                    premium[s, k] += sn_premium[i] * sn_share[i] if affected else 0.0
    for i in range(sb_hit.shape[0]):
        k = sb_k[i]
        for s in range(S):
            q = quote_money[s, k] if np.isfinite(quote_money[s, k]) else 0.0
            subsidy[s, k] += min(sb_usd[i], sb_share[i] * q) if sb_hit[i, s] else 0.0
    if china > 0:  # China's own response: support for China-Europe transit by rail
        for k in rail:
            for s in range(S):
                q = quote_money[s, k] if np.isfinite(quote_money[s, k]) else 0.0
                subsidy[s, k] += min(china, 0.3 * q) if is_transit[s] else 0.0
    if us > 0:  # US secondary sanctions on the five's trade through Russia
        for s in range(S):
            for k in range(K):
                premium[s, k] += us if is_c5[s] and bloc_share[s, k, russia] > 0 else 0.0
    for s in range(S):
        for k in range(K):
            acc = 0.0
            for b in range(P):
                acc += bloc_share[s, k, b] * misalignment[s, b]
            political[s, k] = weight * acc


def policy_terms(
    layout: Layout,
    sanctions: list[Sanction],
    subsidies: list[Subsidy],
    *,
    quote_money: np.ndarray,
    bloc_share: np.ndarray,
    china_subsidy_usd_per_t: float,
    us_secondary_premium_usd_per_t: float,
    misalignment: np.ndarray,
    political_weight: float,
    cache: dict,
    evolving_share: float = 1.0,
) -> PolicyTerms:
    """Sanction premiums and bans, subsidies and political costs per shipper and corridor.

    A sanction acts on the shippers its filters select, on the corridors whose route
    crosses the sanctioned state's bloc; a ban caps the flow at ``1 - share``, otherwise a
    premium of ``premium_usd_per_t * share``. An ``evolving`` sanction's share this quarter
    is ``evolving_share`` (the EU agent's avoidance of Russian transit), at most its own. A
    subsidy pays up to its USD/t, within its share of the quoted price. China's own subsidy supports China-Europe transit by rail
    (within 30% of the price); the US secondary sanctions price the five's trade through
    Russia. The political cost is ``political_weight`` USD/t per unit of the route's
    tonne-km share in blocs the shipper's state is not aligned with (``misalignment``).
    """
    S, K = quote_money.shape
    ev = layout.event_arrays(sanctions, subsidies, cache)
    evolving = [i for i, sn in enumerate(sanctions) if sn.evolving]
    if evolving:  # the cached shares stay as they are: this quarter's go in a copy
        shares = ev[3].copy()
        shares[evolving] = np.minimum(shares[evolving], evolving_share)
        ev = (*ev[:3], shares, *ev[4:])
    out = PolicyTerms(np.empty((S, K)), np.empty((S, K)), np.empty((S, K)), np.empty((S, K)))
    _policy_kernel(
        *ev,
        quote_money,
        bloc_share,
        layout.is_transit,
        layout.is_c5,
        float(china_subsidy_usd_per_t),
        float(us_secondary_premium_usd_per_t),
        POWERS.index("russia"),
        _RAIL,
        misalignment,
        float(political_weight),
        out.premium,
        out.subsidy,
        out.ban_cap,
        out.political,
    )
    return out


# --------------------------------------------------------------------------- volumes


def offered_volumes(
    layout: Layout, t: int, deals: list[OfftakeDeal], crude_diversion: dict[str, float]
) -> np.ndarray:
    """Tonnes offered per shipper in quarter ``t``: demand index and trend, diverted crude, offtake deals.

    The base is :meth:`~corridors.layout.Layout.trend_volumes` (each row's 2019 tonnes times its
    demand index of ``demand_index.csv`` in 2019-2023, its trend growth after that or without one).

    An offtake deal moves ``share`` of a country's exports of a commodity to the buyer's
    market, taken proportionally from its other markets.
    """
    a = layout.shipper
    vol = layout.trend_volumes(t)
    for c, row in layout.crude_rows.items():  # crude the government took off the pipeline
        vol[row] += crude_diversion.get(c, 0.0)
    for deal in deals:
        rows = (
            (a["country"] == deal.country) & (a["commodity"] == deal.commodity) & (a["direction"] == "export")
        )
        buyer = rows & (a["market"] == deal.buyer)
        others = rows & ~buyer
        total = vol[rows].sum()
        if total <= 0 or not buyer.any():
            continue
        moved = deal.share * total
        current = vol[buyer].sum()
        extra = max(moved - current, 0.0)
        if extra <= 0 or vol[others].sum() <= 0:
            continue
        take = min(extra, vol[others].sum())
        vol[others] *= 1.0 - take / vol[others].sum()
        vol[buyer] += take * vol[buyer] / current if current > 0 else take / buyer.sum()
    return vol


# --------------------------------------------------------------------------- the view
