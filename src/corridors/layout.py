"""What never changes in a run: the network's links and the trade flows as arrays.

:class:`Layout` holds them in edge order and in CSR slot order, with the commodity groups
the routing flattens (:class:`~corridors.routes.Routes`), the links each actor controls, and
the arrays the quarter's kernels take; it is built once per network and inputs
(:meth:`Layout.of`).
"""

from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from corridors import routing
from corridors.events import OfftakeDeal, Sanction, Subsidy, fleet_crossings
from corridors.inputs import Inputs
from corridors.network import Network, caspian_and_crude_only
from corridors.routes import Routes
from corridors.timeline import Project, load_projects
from corridors.vocabulary import C5, COMMODITIES, CONTROLLER_BLOC, CORRIDORS, POWERS, TRANSIT_STATES

__all__ = [
    "BULK_COMMODITIES",
    "OBSERVED_EDGE_SETS",
    "REVENUE_CONTROLLERS",
    "ROUTED_WITH",
    "Layout",
    "observed_edges",
    "read_only",
]

BULK_COMMODITIES = (
    "metals_ores",
    "grain_cotton",
    "oil_products",
)  # wagonload freight: Parameters.bulk_corridor_constants
# Commodities routed on their partner's trees: oil products and fertilisers ride the same
# links as grain and cotton (wagonload on rail and the Caspian ferries, tank trucks on the
# roads), so one set of shortest-path trees serves both (each group costs trees per origin and
# corridor every round; A-demand-oil-products).
ROUTED_WITH: dict[str, str] = {"oil_products": "grain_cotton"}
REVENUE_CONTROLLERS = (*C5, *TRANSIT_STATES)  # whose links earn transit revenue (an indicator)
_MIDDLE = CORRIDORS.index("middle")


def read_only(*arrays: np.ndarray) -> None:
    """Make ``arrays`` read-only (what agents read cannot be written)."""
    for a in arrays:
        a.setflags(write=False)


@dataclass(frozen=True, eq=False)
class Layout:
    """What never changes in a run: links and trade flows as arrays (read-only).

    Edge arrays are in the network's edge order; ``*_s`` copies are in CSR slot order
    (slot ``k`` holds edge ``slot[k]``); ``observed_edges`` are the links each observed
    series counts (:func:`observed_edges`) and ``edge_names`` each link as ``"tail -> head"``.
    Shipper arrays have one row per trade flow of ``inputs.trade`` (a
    :class:`~corridors.agents.ShipperAgent`).
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
    kz_port_exits: np.ndarray
    kz_port_ends: np.ndarray
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
    index_factor: np.ndarray
    index_years: np.ndarray
    index_last: np.ndarray
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
    observed_edges: dict[str, tuple[int, ...]]
    edge_names: tuple[str, ...]  # each link as "tail -> head", for the run's record
    _hits: dict = field(default_factory=dict, repr=False)
    _trends: dict = field(default_factory=dict, repr=False)  # quarter -> trend_volumes, read-only

    @classmethod
    def of(cls, net: Network, inputs: Inputs) -> Layout:
        """Return the layout of ``net`` and ``inputs``, built once and kept while both live.

        A layout reads the inputs' trade, projects, pipelines and demand index, never their
        sea rates: inputs that differ only in sea rates (a scenario's overrides, the tuner's
        sea-rate lever) share one (:class:`~corridors.inputs.TablesKey`).
        """
        by_inputs = _LAYOUTS.setdefault(net, weakref.WeakKeyDictionary())
        layout = by_inputs.get(inputs.tables_key)
        if layout is None:
            layout = by_inputs[inputs.tables_key] = cls._build(net, inputs)
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
        head_kind = e["head"].map(node_kind).to_numpy()
        caspian, is_crude_only = caspian_and_crude_only(e)
        carries_containers = e["commodities"].map(lambda c: "containers" in c).to_numpy(bool)
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
        index_factor, index_years = inputs.demand_factors()
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
            # the Caspian crossings leaving a Kazakh seaport (the Middle Corridor series of the
            # Kazakh ministry counts them), and those leaving or reaching one
            kz_port_exits=np.flatnonzero(caspian & (tail_country == "KZ") & (tail_kind == "seaport")),
            kz_port_ends=np.flatnonzero(
                caspian
                & (
                    ((tail_country == "KZ") & (tail_kind == "seaport"))
                    | ((head_country == "KZ") & (head_kind == "seaport"))
                )
            ),
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
            index_factor=np.ascontiguousarray(index_factor.T),  # (years, shippers)
            index_years=index_years,
            index_last=np.array(
                [index_factor[i, n - 1] if n else 1.0 for i, n in enumerate(index_years)], dtype=np.float64
            ),
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
            observed_edges=observed_edges(net),
            edge_names=tuple(f"{a} -> {b}" for a, b in zip(e["tail"], e["head"], strict=True)),
        )
        object.__setattr__(
            out,
            "indicator_arrays",
            (
                np.flatnonzero(out.is_transit),
                np.flatnonzero(out.is_c5),
                out.feeder_index,
                *_csr([out.hard_port_index[c] for c in C5]),
                *_csr([out.controlled_index[c] for c in REVENUE_CONTROLLERS]),
                *_csr([out.tanker_index[c] for c in C5]),
            ),
        )
        projects = out.projects
        ptr, edges = _csr([p.edge_ids for p in projects])
        # each link's capacity factor: a time cut on a fleet crossing adds sailings, as
        # events.apply_edge_events applies it
        fleet = fleet_crossings(net)
        link_capacity = np.concatenate(
            [[0.0]]
            + [
                np.where(fleet[p.edge_ids], p.capacity_factor / p.time_factor, p.capacity_factor)
                for p in projects
            ]
        )[1:]
        object.__setattr__(
            out,
            "project_arrays",
            (
                ptr,
                edges,
                link_capacity.astype(np.float64),
                np.array([p.time_factor for p in projects], dtype=np.float64),
            ),
        )
        fee_ptr, fee_idx = _csr([out.fee_index[c] for c in TRANSIT_STATES])
        port_ptr, port_idx = _csr([out.port_index[c] for c in C5])
        border_ptr, border_idx = _csr([out.border_index[c] for c in C5])
        object.__setattr__(
            out,
            "link_arrays",
            (
                out.base_tariff,
                out.base_handling,
                out.travel_h,
                out.dwell_h,
                out.base_capacity,
                np.ascontiguousarray(out.season),
                out.ru_rail,
                out.sea_gateway,
                out.suez,
                out.feeder,
                out.caspian,
                fee_ptr,
                fee_idx,
                port_ptr,
                port_idx,
                border_ptr,
                border_idx,
            ),
        )
        arrays = [v for v in vars(out).values() if isinstance(v, np.ndarray)]
        arrays += [
            v
            for d in (
                out.fee_links,
                out.port_links,
                out.border_links,
                out.hard_port_links,
                out.shipper,
                out.state_rows,
                out.fee_index,
                out.port_index,
                out.border_index,
                out.tanker_index,
                out.controlled_index,
                out.hard_port_index,
            )
            for v in d.values()
        ]
        read_only(*arrays)
        return out

    @property
    def n_shippers(self) -> int:
        """The number of shippers (trade flows)."""
        return self.tonnes_2019.size

    def trend_volumes(self, t: int) -> np.ndarray:
        """Tonnes per shipper in quarter ``t`` from the 2019 flow, its demand index and its trend.

        A row with a demand index (``demand_index.csv``) has its 2019 tonnes times the index's
        factor of the quarter's year in each year the index covers, and grows at its
        ``growth_per_year`` from the index's last factor after that; a row without one grows at
        ``growth_per_year`` from 2019.

        Parameters
        ----------
        t : int
            The quarter (0 = 2019Q1).

        Returns
        -------
        numpy.ndarray
            A new array of tonnes per shipper in the quarter (a quarter of the yearly flow).
        """
        return self._trend(t).copy()

    def trend_volume(self, t: int, row: int) -> float:
        """Return :meth:`trend_volumes` of one shipper ``row`` in quarter ``t``."""
        return float(self._trend(t)[row])

    def _trend(self, t: int) -> np.ndarray:
        """:meth:`trend_volumes`, computed once per quarter (read-only): it depends on ``t`` alone."""
        out = self._trends.get(t)
        if out is None:
            n = self.index_years
            factor = self.index_last * (1.0 + self.growth_per_year) ** ((t - 4 * n) / 4.0)
            year = t // 4
            if year < self.index_factor.shape[0]:
                factor = np.where(year < n, self.index_factor[year], factor)
            out = self.tonnes_2019 * factor / 4.0
            out.setflags(write=False)
            self._trends[t] = out
        return out

    def event_arrays(self, sanctions: list[Sanction], subsidies: list[Subsidy], cache: dict) -> tuple:
        """Return the active sanctions and subsidies as arrays for the policy kernel.

        They are kept in ``cache`` per set of events (a run's own cache: its events live as
        long as it does, so their ids name them).
        """
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


OBSERVED_EDGE_SETS: dict[str, str] = {
    "kz_caspian_crude": "the crude-only Caspian crossings from or to a Kazakh seaport (the Aktau tankers)",
    "baku_caspian": "the Caspian crossings from or to an Azerbaijani seaport (Baku-Alat): ferries, feeders, tankers",
    "az_rail_transit": "the rail links where freight leaves Azerbaijan's railway: to another state or onto the sea at "
    "an Azerbaijani seaport (baku_alat -> tbilisi, tbilisi -> baku_alat)",
    "ge_rail_transit": "the rail links where freight leaves Georgia's railway: to another state or onto the sea at a "
    "Georgian seaport (tbilisi -> baku_alat, akhalkalaki -> kars, tbilisi -> poti, tbilisi -> batumi)",
    "kz_cn_rail": "the Kazakhstan-China rail crossings, both directions (Dostyk-Alashankou, Altynkol-Khorgos)",
    "kz_entries": "every link entering Kazakhstan from a node outside it (borders, Caspian arrivals, connectors)",
    "iran_route": "the Turkmenistan-Iran rail crossing of the Kazakhstan-Turkmenistan-Iran line (Etrek-Tehran), "
    "both directions",
}
"""The edge sets of the observables (:data:`corridors.results.OBSERVABLES`), by name: what each
holds. Computed from the network's node countries, kinds and names and the links' modes by
:func:`observed_edges`."""

IRAN_ROUTE_NODE = "etrek"
"""The Turkmen border node of the Kazakhstan-Turkmenistan-Iran line (Bolashak - Bereket - Etrek)."""


def observed_edges(net: Network) -> dict[str, tuple[int, ...]]:
    """Compute the links each observed series counts, from the network.

    Parameters
    ----------
    net : Network
        The run's network.

    Returns
    -------
    dict of str to tuple of int
        For each name of :data:`OBSERVED_EDGE_SETS`, the indices of its links (sorted).

    Notes
    -----
    A Caspian crossing is a sea or ferry link of the Middle Corridor's gateways (as in
    :class:`corridors.layout.Layout`). A state's rail transit is counted once per tonne, where it
    leaves the state's railway: on a rail link that touches the state and either ends outside
    it or ends at one of its seaports (onto the sea). No freight in the model is loaded or
    unloaded on those links inside Azerbaijan or Georgia, other than at a market node's
    connector, so what they carry is transit.
    """
    e, nodes = net.edges, net.nodes.set_index("name")
    tail, head = e["tail"].to_numpy(str), e["head"].to_numpy(str)
    country, kind = nodes["country"], nodes["kind"]
    tc, hc = e["tail"].map(country).to_numpy(str), e["head"].map(country).to_numpy(str)
    tk, hk = e["tail"].map(kind).to_numpy(str), e["head"].map(kind).to_numpy(str)
    mode = e["mode"].to_numpy(str)
    rail = mode == "rail"
    caspian, crude_only = caspian_and_crude_only(e)

    def port_end(c: str) -> np.ndarray:
        return ((tc == c) & (tk == "seaport")) | ((hc == c) & (hk == "seaport"))

    def rail_exits(c: str) -> np.ndarray:
        touches = (tc == c) | (hc == c)
        return rail & touches & ((hc != c) | (hk == "seaport"))

    sets = {
        "kz_caspian_crude": caspian & port_end("KZ") & crude_only,
        "baku_caspian": caspian & port_end("AZ"),
        "az_rail_transit": rail_exits("AZ"),
        "ge_rail_transit": rail_exits("GE"),
        "kz_cn_rail": rail & (((tc == "KZ") & (hc == "CN")) | ((tc == "CN") & (hc == "KZ"))),
        "kz_entries": (tc != "KZ") & (hc == "KZ"),
        "iran_route": rail
        & (((tail == IRAN_ROUTE_NODE) & (hc == "IR")) | ((head == IRAN_ROUTE_NODE) & (tc == "IR"))),
    }
    return {name: tuple(np.flatnonzero(mask).tolist()) for name, mask in sets.items()}


_LAYOUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _csr(lists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)
    return ptr, np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])


def _commodity_groups(net: Network, a: dict[str, np.ndarray]) -> tuple[dict[str, Any], ...]:
    """Return the commodity groups for routing.

    Each commodity's shippers and their origin-market pairs (sorted), with the links each
    corridor may use for the commodity (slot order). A commodity of :data:`ROUTED_WITH`
    joins its partner's group (one set of trees for both) when the two may use the same
    links; otherwise it has a group of its own.
    """
    masks = {m: net.edge_masks(CORRIDORS, commodity=m) for m in COMMODITIES}
    members: dict[str, list[str]] = {}
    for m in COMMODITIES:
        partner = ROUTED_WITH.get(m)
        if partner in members and np.array_equal(masks[m], masks[partner]):
            members[partner].append(m)
        else:
            members[m] = [m]
    groups = []
    for m, names in members.items():
        idx = np.flatnonzero(np.isin(a["commodity"], names))
        if idx.size == 0:
            continue
        pairs = sorted({(a["origin"][i], a["market"][i]) for i in idx})
        od = {pair: j for j, pair in enumerate(pairs)}
        groups.append(
            {
                "commodity": m,
                "commodities": tuple(names),
                "shippers": idx,
                "od_of": np.array([od[(a["origin"][i], a["market"][i])] for i in idx]),
                "origins": net.node_ids(o for o, _ in pairs),
                "markets": net.node_ids(d for _, d in pairs),
                "masks": masks[m],
            }
        )
    return tuple(groups)


def _shipper_countries(net: Network, trade) -> np.ndarray:
    """Return the C5 state of each trade flow (its origin's or market's), else China (transit)."""
    node_country = net.nodes.set_index("name")["country"]
    out = []
    for origin, market in zip(trade["origin"], trade["market"], strict=True):
        ends = [node_country[origin], node_country[market]]
        out.append(next((c for c in ends if c in C5), "CN"))
    return np.array(out)


# --------------------------------------------------------------------------- links
