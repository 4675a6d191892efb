"""The market of a quarter: the links' prices, times and capacities, the policy terms on
each shipper's corridors, the freight offered, and the view agents decide from.

Functions over plain arrays. :class:`Layout` holds what never changes in a run (the
network's links and the trade flows as arrays, in edge order and in CSR slot order); it
is built once per network and inputs. Each quarter the model calls, in order:

1. :func:`quarter_links`: money (tariffs and handling, with every lever on them), time
   (travel, dwell at borders, the Red Sea detour) and capacity (season, events, fleet,
   weather and disruptions) of every link;
2. :mod:`corridors.quotes` for the least-cost paths and their quotes;
3. :func:`policy_terms`: sanction premiums and bans, subsidies, political costs;
4. :func:`offered_volumes`: the tonnes each shipper offers (trend, crude diversion,
   offtake deals).

:class:`QuarterView` is the typed, read-only view of all this that agents decide from.
"""

from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from corridors import routing
from corridors.events import BASE_YEAR, EdgeState, OfftakeDeal, Sanction, Subsidy
from corridors.inputs import Inputs
from corridors.network import COMMODITIES, CORRIDORS, Network
from corridors.parameters import C5, CONTROLLER_BLOC, POWERS
from corridors.routes import Routes
from corridors.timeline import Project, load_projects

__all__ = [
    "BULK_COMMODITIES",
    "TRANSIT_STATES",
    "Layout",
    "Links",
    "PolicyTerms",
    "QuarterView",
    "offered_volumes",
    "pipeline_flows",
    "policy_terms",
    "quarter_links",
]

TRANSIT_STATES = ("AZ", "GE", "TR")
BULK_COMMODITIES = ("metals_ores", "grain_cotton")  # wagonload freight: Parameters.bulk_corridor_constants
_RUSSIAN = CORRIDORS.index("russian")
_MIDDLE = CORRIDORS.index("middle")
_RAIL = np.array([_RUSSIAN, _MIDDLE], dtype=np.int64)  # the corridors China supports


@njit(cache=True)
def _block(a, lo, n):
    """numpy's pairwise sum of up to 128 numbers: 8 accumulators, then the rest in order."""
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
    """``numpy.sum`` of ``a[lo:lo + n]`` (contiguous float64), bit for bit: numpy's pairwise
    summation (8 accumulators in blocks of up to 128, halves rounded down to a multiple of
    8 above), so that kernels give the sums the array code they replaced gave."""
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
def _project_sums(ptr, edges, capacity_factor, time_factor, load, wait, flow, time):
    """Per project: tonne-days of queue its capacity would remove and of travel its time cut
    would save, at this quarter's loads (see :func:`corridors.agents.best_project`)."""
    n = ptr.shape[0] - 1
    waits = np.empty(n)
    times = np.empty(n)
    tmp = np.empty(edges.shape[0])
    tmp2 = np.empty(edges.shape[0])
    for p in range(n):
        for i in range(ptr[p], ptr[p + 1]):
            e = edges[i]
            tmp[i] = load[e] * wait[e] * (1.0 - 1.0 / capacity_factor[p])
            tmp2[i] = flow[e] * time[e] / 24.0 * (1.0 - time_factor[p])
        waits[p] = pairwise_sum(tmp, ptr[p], ptr[p + 1] - ptr[p])
        times[p] = pairwise_sum(tmp2, ptr[p], ptr[p + 1] - ptr[p])
    return waits, times


_CONTROLLERS = (*C5, "AZ", "GE", "TR")  # C5 and TRANSIT_STATES: whose links earn transit revenue
_IND_CASPIAN = 2 + 2 * len(CORRIDORS)
_IND_PORT = _IND_CASPIAN + 1
_IND_REVENUE = _IND_PORT + len(C5)
_IND_TANKER = _IND_REVENUE + len(_CONTROLLERS)


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
    """The quarter's indicators, with numpy's sums bit for bit: transit tonnes served in all
    and per corridor, the same for the five's own trade, the Caspian feeders' and each
    state's ports' highest utilisation, each controller's transit revenue, and each state's
    Caspian tanker capacity."""
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


def _readonly(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.setflags(write=False)


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True, eq=False)
class Layout:
    """What never changes in a run: links and trade flows as arrays (read-only).

    Edge arrays are in the network's edge order; ``*_s`` copies are in CSR slot order
    (slot ``k`` holds edge ``slot[k]``). Shipper arrays have one row per trade flow of
    ``inputs.trade`` (a :class:`~corridors.agents.ShipperAgent`).
    """

    n_edges: int
    slot: np.ndarray
    base_tariff: np.ndarray
    base_handling: np.ndarray
    travel_h: np.ndarray
    dwell_h: np.ndarray
    base_capacity: np.ndarray
    hard: np.ndarray
    season: np.ndarray
    controller: np.ndarray
    gateway: np.ndarray
    border: np.ndarray
    opens_year: np.ndarray
    tail_country: np.ndarray
    caspian: np.ndarray
    feeder: np.ndarray
    tanker: np.ndarray
    ru_rail: np.ndarray
    sea_gateway: np.ndarray
    suez: np.ndarray
    bloc_km_s: np.ndarray
    t_per_feu: float
    fee_links: dict[str, np.ndarray]
    port_links: dict[str, np.ndarray]
    border_links: dict[str, np.ndarray]
    hard_port_links: dict[str, np.ndarray]
    pipe_edges: np.ndarray
    pipe_volume: np.ndarray
    pipe_growth: np.ndarray
    pipe_of: dict[str, int]
    pipeline_routes: dict[str, tuple[int, np.ndarray]]
    # the trade flows
    shipper: dict[str, np.ndarray]
    tonnes_2019: np.ndarray
    growth_per_year: np.ndarray
    value_usd_per_t: np.ndarray
    state_share: np.ndarray
    is_transit: np.ndarray
    is_bulk: np.ndarray
    is_c5: np.ndarray
    state_rows: dict[str, np.ndarray]
    crude_rows: dict[str, int]
    projects: tuple[Project, ...]
    fee_index: dict[str, np.ndarray]
    feeder_index: np.ndarray
    tanker_index: dict[str, np.ndarray]
    controlled_index: dict[str, np.ndarray]
    hard_port_index: dict[str, np.ndarray]
    port_index: dict[str, np.ndarray]
    border_index: dict[str, np.ndarray]
    groups: tuple[dict[str, Any], ...]
    routes: Routes
    graph: routing.Graph
    link_arrays: tuple
    project_arrays: tuple
    indicator_arrays: tuple
    _hits: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, net: Network, inputs: Inputs) -> Layout:
        """The layout of ``net`` and ``inputs``, built once and kept while both live."""
        by_inputs = _LAYOUTS.setdefault(net, weakref.WeakKeyDictionary())
        layout = by_inputs.get(inputs)
        if layout is None:
            layout = by_inputs[inputs] = cls._build(net, inputs)
        return layout

    @classmethod
    def _build(cls, net: Network, inputs: Inputs) -> Layout:
        e = net.edges
        base_capacity = net.capacity_t_per_quarter
        hard = e["capacity_hard"].to_numpy(bool) & np.isfinite(base_capacity)
        controller = e["controller"].to_numpy()
        mode = e["mode"].to_numpy()
        gateway = e["gateway"].to_numpy()
        border = e["border"].to_numpy(bool)
        via = e["via"].fillna("").to_numpy()
        node_country = net.nodes.set_index("name")["country"]
        node_kind = net.nodes.set_index("name")["kind"]
        tail_country = e["tail"].map(node_country).to_numpy()
        head_country = e["head"].map(node_country).to_numpy()
        tail_kind = e["tail"].map(node_kind).to_numpy()
        caspian = (gateway == _MIDDLE) & np.isin(mode, ("ferry", "sea"))
        carries_containers = e["commodities"].map(lambda c: "containers" in c).to_numpy(bool)
        is_crude_only = e["commodities"].map(lambda c: tuple(c) == ("crude",)).to_numpy(bool)
        tanker_exit = (mode == "sea") & is_crude_only
        bloc_of = np.array([CONTROLLER_BLOC.get(c, "neutral") for c in controller])
        km = np.maximum(net.length_km, 1.0)
        bloc_km = np.array([np.where(bloc_of == b, km, 0.0) for b in POWERS])
        pipes = inputs.pipelines
        pipe_edges = pipes["edge"].to_numpy(int)
        pipeline_routes: dict[str, tuple[int, np.ndarray]] = {}
        pipe_of: dict[str, int] = {}
        for i, edge in enumerate(pipe_edges):  # each state's pipeline and the crude tankers leaving its port
            country = tail_country[edge]
            pipe_of.setdefault(country, i)
            if country not in pipeline_routes:
                exits = np.flatnonzero((e["tail"] == e["head"].iat[edge]).to_numpy() & tanker_exit)
                pipeline_routes[country] = (int(edge), exits)
        touches = {c: (tail_country == c) | (head_country == c) for c in (*C5, *TRANSIT_STATES)}
        ports = np.isin(tail_kind, ("seaport", "dry_port"))
        trade = inputs.trade
        country = _shipper_countries(net, trade)
        attrs = {
            "origin": trade["origin"].to_numpy(str),
            "market": trade["market"].to_numpy(str),
            "commodity": trade["commodity"].to_numpy(str),
            "direction": trade["direction"].to_numpy(str),
            "country": country,
        }
        state_share = trade["state_controlled_share"].to_numpy(float)
        crude = (attrs["commodity"] == "crude") & (attrs["direction"] == "export") & (state_share >= 1.0)
        out = cls(
            n_edges=net.n_edges,
            slot=net.perm,
            base_tariff=e["tariff_usd_per_t"].to_numpy(float),
            base_handling=e["handling_usd_per_t"].to_numpy(float),
            travel_h=(e["free_flow_time_h"] - e["dwell_h"]).to_numpy(float),
            dwell_h=e["dwell_h"].to_numpy(float),
            base_capacity=base_capacity,
            hard=hard,
            season=e[["season_q1", "season_q2", "season_q3", "season_q4"]].to_numpy(float),
            controller=controller,
            gateway=gateway,
            border=border,
            opens_year=e["opens_year"].fillna(0).to_numpy(int),
            tail_country=tail_country,
            caspian=caspian,
            feeder=(feeder := caspian & (mode == "sea") & carries_containers),
            tanker=caspian & is_crude_only,
            ru_rail=(controller == "RU") & (mode == "rail"),
            sea_gateway=gateway == CORRIDORS.index("sea"),
            suez=via == "suez",
            bloc_km_s=np.ascontiguousarray(bloc_km[:, net.perm]),
            t_per_feu=net.unit("t_per_feu_loaded"),
            fee_links={c: touches[c] for c in TRANSIT_STATES},
            port_links={c: (tail_country == c) & ports for c in C5},
            border_links={c: border & touches[c] for c in C5},
            hard_port_links={c: hard & (tail_country == c) for c in C5},
            pipe_edges=pipe_edges,
            pipe_volume=pipes["volume_t_per_year"].to_numpy(float),
            pipe_growth=pipes["growth_per_year"].to_numpy(float),
            pipe_of=pipe_of,
            pipeline_routes=pipeline_routes,
            shipper=attrs,
            tonnes_2019=trade["tonnes_2019"].to_numpy(float),
            growth_per_year=trade["growth_per_year"].to_numpy(float),
            value_usd_per_t=trade["value_usd_per_t"].to_numpy(float),
            state_share=state_share,
            is_transit=attrs["direction"] == "transit",
            is_bulk=np.isin(attrs["commodity"], BULK_COMMODITIES),
            is_c5=np.isin(country, C5),
            state_rows={c: np.flatnonzero((country == c) & (state_share > 0)) for c in C5},
            crude_rows={
                c: int(np.flatnonzero(crude & (country == c))[0])
                for c in C5
                if (crude & (country == c)).any()
            },
            projects=tuple(
                dataclasses.replace(row, feeder_only=bool(feeder[row.edge_ids].all()))
                for row in load_projects(inputs.projects)
            ),
            fee_index={c: np.flatnonzero(touches[c]) for c in TRANSIT_STATES},
            feeder_index=np.flatnonzero(caspian & (mode == "sea") & carries_containers),
            tanker_index={c: np.flatnonzero(caspian & is_crude_only & (tail_country == c)) for c in C5},
            controlled_index={c: np.flatnonzero(controller == c) for c in (*C5, *TRANSIT_STATES)},
            hard_port_index={c: np.flatnonzero(hard & (tail_country == c)) for c in C5},
            port_index={c: np.flatnonzero((tail_country == c) & ports) for c in C5},
            border_index={c: np.flatnonzero(border & touches[c]) for c in C5},
            groups=(groups := _commodity_groups(net, attrs)),
            routes=Routes.build(groups, len(trade), len(CORRIDORS)),
            graph=routing.Graph(net.indptr, net.indices, net.through_mask),
            link_arrays=(),
            project_arrays=(),
            indicator_arrays=(),
        )
        object.__setattr__(out, "indicator_arrays", (
            np.flatnonzero(out.is_transit), np.flatnonzero(out.is_c5), out.feeder_index,
            *_csr([out.hard_port_index[c] for c in C5]), *_csr([out.controlled_index[c] for c in _CONTROLLERS]),
            *_csr([out.tanker_index[c] for c in C5])))  # fmt: skip
        projects = out.projects
        ptr, edges = _csr([p.edge_ids for p in projects])
        object.__setattr__(out, "project_arrays", (
            ptr, edges, np.array([p.capacity_factor for p in projects], dtype=np.float64),
            np.array([p.time_factor for p in projects], dtype=np.float64)))  # fmt: skip
        fee_ptr, fee_idx = _csr([out.fee_index[c] for c in TRANSIT_STATES])
        port_ptr, port_idx = _csr([out.port_index[c] for c in C5])
        border_ptr, border_idx = _csr([out.border_index[c] for c in C5])
        object.__setattr__(out, "link_arrays", (
            out.base_tariff, out.base_handling, out.travel_h, out.dwell_h, out.base_capacity,
            np.ascontiguousarray(out.season), out.ru_rail, out.sea_gateway, out.suez, out.feeder, out.caspian,
            fee_ptr, fee_idx, port_ptr, port_idx, border_ptr, border_idx))  # fmt: skip
        arrays = [v for v in vars(out).values() if isinstance(v, np.ndarray)]
        arrays += [v for d in (out.fee_links, out.port_links, out.border_links, out.hard_port_links, out.shipper,
                               out.state_rows, out.fee_index, out.port_index, out.border_index, out.tanker_index,
                               out.controlled_index, out.hard_port_index)
                   for v in d.values()]  # fmt: skip
        _readonly(*arrays)
        return out

    @property
    def n_shippers(self) -> int:
        return self.tonnes_2019.size

    def trend_volumes(self, t: int) -> np.ndarray:
        """Tonnes per shipper in quarter ``t`` from the 2019 flow and its trend growth alone."""
        return self.tonnes_2019 * (1.0 + self.growth_per_year) ** (t / 4.0) / 4.0

    def event_arrays(self, sanctions: list[Sanction], subsidies: list[Subsidy], cache: dict) -> tuple:
        """The active sanctions and subsidies as arrays for the policy kernel, kept in ``cache``
        per set of events (a run's own cache: its events live as long as it does, so their
        ids name them)."""
        key = ("policy", *map(id, sanctions), None, *map(id, subsidies))
        out = cache.get(key)
        if out is None:
            S = self.n_shippers
            out = (
                np.array([self.shippers_hit(sn) for sn in sanctions], dtype=bool).reshape(-1, S),
                np.array(
                    [POWERS.index(CONTROLLER_BLOC.get(sn.transit, "neutral")) for sn in sanctions],
                    dtype=np.int64,
                ),
                np.array([sn.ban for sn in sanctions], dtype=bool),
                np.array([sn.share for sn in sanctions], dtype=np.float64),
                np.array([sn.premium_usd_per_t for sn in sanctions], dtype=np.float64),
                np.array([self.shippers_hit(sb) for sb in subsidies], dtype=bool).reshape(-1, S),
                np.array([CORRIDORS.index(sb.corridor) for sb in subsidies], dtype=np.int64),
                np.array([sb.usd_per_t for sb in subsidies], dtype=np.float64),
                np.array([sb.share_of_price for sb in subsidies], dtype=np.float64),
            )
            cache[key] = out
        return out

    def shippers_hit(self, ev: Sanction | Subsidy | OfftakeDeal) -> np.ndarray:
        """Shippers an event's filters select (cached per event: the filters never change)."""
        hit = self._hits.get(ev)
        if hit is None:
            a = self.shipper
            hit = np.ones(self.n_shippers, dtype=bool)
            if ev.commodities:
                hit &= np.isin(a["commodity"], ev.commodities)
            if ev.directions:
                hit &= np.isin(a["direction"], ev.directions)
            if isinstance(ev, Sanction):
                if ev.markets:
                    hit &= np.isin(a["market"], ev.markets) | np.isin(a["origin"], ev.markets)
                if ev.shipper_countries:
                    hit &= np.isin(a["country"], ev.shipper_countries)
            hit.setflags(write=False)
            self._hits[ev] = hit
        return hit


_LAYOUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_OPEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # EdgeState -> (open links, open corridors)


def _csr(lists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)
    return ptr, np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])


def _commodity_groups(net: Network, a: dict[str, np.ndarray]) -> tuple[dict[str, Any], ...]:
    """Commodity groups for routing: each commodity's shippers and their origin-market pairs
    (sorted), with the links each corridor may use for the commodity (slot order)."""
    groups = []
    for m in COMMODITIES:
        idx = np.flatnonzero(a["commodity"] == m)
        if idx.size == 0:
            continue
        pairs = sorted({(a["origin"][i], a["market"][i]) for i in idx})
        od = {pair: j for j, pair in enumerate(pairs)}
        groups.append({
            "commodity": m, "shippers": idx,
            "od_of": np.array([od[(a["origin"][i], a["market"][i])] for i in idx]),
            "origins": net.node_ids(o for o, _ in pairs), "markets": net.node_ids(d for _, d in pairs),
            "masks": net.edge_masks(CORRIDORS, commodity=m),
        })  # fmt: skip
    return tuple(groups)


def _shipper_countries(net: Network, trade) -> np.ndarray:
    """The C5 state of each trade flow (its origin's or market's), else China (transit)."""
    node_country = net.nodes.set_index("name")["country"]
    out = []
    for origin, market in zip(trade["origin"], trade["market"], strict=True):
        ends = [node_country[origin], node_country[market]]
        out.append(next((c for c in ends if c in C5), "CN"))
    return np.array(out)


# --------------------------------------------------------------------------- links


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
        L.link_arrays, state.tariff_factor, state.handling_factor, state.time_factor, state.dwell_factor,
        state.capacity_factor, t % 4, float(russia_tariff_factor), usd_per_feu / L.t_per_feu, float(detour_days),
        fees, ports, borders, float(feeder_factor), np.nan if weather is None else float(weather),
        np.zeros(0, dtype=bool) if disrupted is None else disrupted, money, time, cap,
    )  # fmt: skip
    # links that do not exist yet (opens_year: CKU, Trans-Afghan rail) open only when an
    # investment that opens them is delivered, whatever the year
    opened = _OPEN.get(state)
    if opened is None:  # the same for as long as the links' state holds
        opened = _OPEN[state] = (~state.closed & ((L.opens_year == 0) | state.opened),
                                 np.array([state.corridor_open[c] for c in CORRIDORS]))  # fmt: skip
    open_e, corridor_open = opened
    return Links(money, time, cap, open_e, corridor_open, usd_per_feu, detour_days)


@njit(cache=True, error_model="numpy")
def _links_kernel(
    arrays, tariff_factor, handling_factor, time_factor, dwell_factor, capacity_factor, q, russia, sea_usd_per_t,
    detour_days, fees, ports, borders, feeder_factor, weather, disrupted, money, time, cap,
):  # fmt: skip
    """:func:`quarter_links` into ``money``, ``time`` and ``cap`` (the same operations in the same order)."""
    (base_tariff, base_handling, travel_h, dwell_h, base_capacity, season, ru_rail, sea_gateway, suez, feeder,
     caspian, fee_ptr, fee_idx, port_ptr, port_idx, border_ptr, border_idx) = arrays  # fmt: skip
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
    """Tonnes each pipeline carries in quarter ``t``: its trend volume less the crude its
    state ``diverted`` to Caspian tankers, within capacity; none when closed."""
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
    """USD/t terms per shipper and corridor (premium, subsidy, political cost), and the
    share of each flow a ban leaves."""

    premium: np.ndarray
    subsidy: np.ndarray
    ban_cap: np.ndarray
    political: np.ndarray


@njit(cache=True, error_model="numpy")
def _policy_kernel(
    sn_hit, sn_bloc, sn_ban, sn_share, sn_premium, sb_hit, sb_k, sb_usd, sb_share, quote_money, bloc_share,
    is_transit, is_c5, china, us, russia, rail, misalignment, weight, premium, subsidy, ban_cap, political,
):  # fmt: skip
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
) -> PolicyTerms:
    """Sanction premiums and bans, subsidies and political costs per shipper and corridor.

    A sanction acts on the shippers its filters select, on the corridors whose route
    crosses the sanctioned state's bloc; a ban caps the flow at ``1 - share``, otherwise a
    premium of ``premium_usd_per_t * share``. A subsidy pays up to its USD/t, within its
    share of the quoted price. China's own subsidy supports China-Europe transit by rail
    (within 30% of the price); the US secondary sanctions price the five's trade through
    Russia. The political cost is ``political_weight`` USD/t per unit of the route's
    tonne-km share in blocs the shipper's state is not aligned with (``misalignment``).
    """
    S, K = quote_money.shape
    ev = layout.event_arrays(sanctions, subsidies, cache)
    out = PolicyTerms(np.empty((S, K)), np.empty((S, K)), np.empty((S, K)), np.empty((S, K)))
    _policy_kernel(*ev, quote_money, bloc_share, layout.is_transit, layout.is_c5, float(china_subsidy_usd_per_t),
                   float(us_secondary_premium_usd_per_t), POWERS.index("russia"), _RAIL, misalignment,
                   float(political_weight), out.premium, out.subsidy, out.ban_cap, out.political)  # fmt: skip
    return out


# --------------------------------------------------------------------------- volumes


def offered_volumes(
    layout: Layout, t: int, deals: list[OfftakeDeal], crude_diversion: dict[str, float]
) -> np.ndarray:
    """Tonnes offered per shipper in quarter ``t``: trend growth, diverted crude, offtake deals.

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


@dataclass(frozen=True, eq=False)
class QuarterView:
    """What agents see of a quarter: read-only arrays and a few facts (never the model).

    Per shipper and corridor ``(S, K)``: ``quote_money`` (USD/t, inf where the corridor
    cannot reach the market), ``quote_time`` (days), ``available``, ``ban_cap``,
    ``premium``, ``subsidy``, ``political``; ``bloc_share`` ``(S, K, P)``; per shipper
    ``volumes`` (t this quarter). Per link (edge order): ``money``, ``time`` (h) and
    ``capacity`` of the quarter. After the quarter's loading (``loaded``), also ``served``,
    ``exp_money``, ``exp_time`` ``(S, K)`` and per link ``flow`` (served t), ``load``
    (offered t) and ``wait_days``; before it those are the last quarter's.
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
    cache: dict = field(default_factory=dict)  # the run's own cache of what its events imply
    loaded: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _readonly(*(v for v in vars(self).values() if isinstance(v, np.ndarray)))

    @property
    def year(self) -> int:
        return BASE_YEAR + self.t // 4

    # ---------------------------------------------------------------- indicators agents read

    def _indicators(self) -> np.ndarray:
        """The indicators agents read, computed in one kernel once per view (see :func:`_indicators`)."""
        ind = self.extra.get("indicators")
        if ind is None:
            ind = self.extra["indicators"] = _indicators(self.layout.indicator_arrays, self.served, self.load,
                                                         self.flow, self.money, self.capacity)  # fmt: skip
        return ind

    def transit_share(self, corridor: str) -> float:
        """Share of ``corridor`` in China-Europe transit served this quarter."""
        ind = self._indicators()
        total = ind[0]
        return float(ind[1 + CORRIDORS.index(corridor)] / total) if total > 0 else 0.0

    def rail_share_of_transit(self) -> float:
        return self.transit_share("russian") + self.transit_share("middle")

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
        return float(self._indicators()[_IND_REVENUE + _CONTROLLERS.index(country)])

    def pipeline_route_cost(self, country: str) -> float:
        """USD/t of the country's crude by its pipeline and on by tanker to the EU, plus the
        premium sanctions put on EU-bound freight through Russia this quarter."""
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
        row = L.crude_rows[country]
        base = L.tonnes_2019[row] * (1.0 + L.growth_per_year[row]) ** (self.t / 4.0) / 4.0
        return float(max(self._indicators()[_IND_TANKER + C5.index(country)] - base, 0.0))

    def project_savings(self) -> tuple[np.ndarray, np.ndarray]:
        """Per project of the catalogue: tonne-days of queue and of travel it would save a
        quarter at this quarter's loads (computed once per view)."""
        if "projects" not in self.extra:
            self.extra["projects"] = _project_sums(*self.layout.project_arrays, self.load, self.wait_days,
                                                   self.flow, self.time)  # fmt: skip
        return self.extra["projects"]

    def loaded_with(self, **arrays: np.ndarray) -> QuarterView:
        """This view after the quarter's loading: the same quotes with the loading's arrays."""
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.__dict__.update(arrays, loaded=True, extra={})
        _readonly(*arrays.values())
        return out
