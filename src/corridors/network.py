"""The corridor network: packaged data -> validated :class:`Network` for the routing core.

Reads ``nodes.csv``, ``edges.csv``, ``corridors.toml``, ``units.toml`` and ``SOURCES.md``
from a data directory (by default the one packaged in ``corridors/data``), validates every
row, and builds the CSR arrays, attribute arrays and one edge mask per corridor. Any data
error raises :class:`corridors.errors.DataError` naming the file, row and column.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridors import routing
from corridors.errors import DataError
from corridors.tables import (
    Col,
    boolean,
    check_ids,
    choice,
    country,
    integer,
    multi_choice,
    number,
    read_table,
    read_toml,
    source_keys,
    text,
)
from corridors.vocabulary import BASE_YEAR, C5, COMMODITIES, CORRIDORS, LAST_YEAR

__all__ = [
    "Corridor",
    "Network",
    "caspian_and_crude_only",
    "default_data_dir",
    "load_network",
    "packaged_network",
]

NODE_KINDS: tuple[str, ...] = ("city", "rail_hub", "border_crossing", "seaport", "dry_port", "market")
MODES: tuple[str, ...] = ("rail", "road", "ferry", "sea", "pipeline", "connector")
# Assumption used only for the free-flow skims of `Network.skim` (the model's shippers carry
# their own values of time): USD 0.10 per tonne-hour, about USD 2.4 per tonne-day, in the
# range of the time value of containerised manufactures (see SOURCES.md, A-value-of-time).
DEFAULT_VALUE_OF_TIME = 0.10


def caspian_and_crude_only(edges: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return the Caspian crossings (the Middle Corridor's sea and ferry gateways) and the crude-only links.

    Parameters
    ----------
    edges : pandas.DataFrame
        A network's edges (:attr:`Network.edges`): ``gateway``, ``mode`` and ``commodities``.

    Returns
    -------
    tuple of numpy.ndarray
        Two boolean masks in edge order. The Caspian crossings that are not crude-only are
        the rail ferries and container feeders, whose capacity is their fleet's sailings.
    """
    mode = edges["mode"].to_numpy(str)
    caspian = (edges["gateway"].to_numpy() == CORRIDORS.index("middle")) & np.isin(mode, ("ferry", "sea"))
    return caspian, edges["commodities"].map(lambda c: tuple(c) == ("crude",)).to_numpy(bool)


def default_data_dir() -> Path:
    """Return the data directory packaged with corridors."""
    return Path(str(files("corridors") / "data"))


NODE_COLUMNS = (
    Col("id", integer(0, 10**6)),
    Col("name", text),
    Col("country", country),
    Col("kind", choice(NODE_KINDS)),
    Col("lon", number(-180.0)),
    Col("lat", number(-90.0)),
)

EDGE_COLUMNS = (
    Col("id", integer(0, 10**7)),
    Col("tail", text),
    Col("head", text),
    Col("mode", choice(MODES)),
    Col("length_km", number(0.0), required=False),
    Col("speed_kmh", number(positive=True), required=False),
    Col("time_h", number(0.0), required=False),
    Col("tariff_usd_per_t", number(0.0)),
    Col("handling_usd_per_t", number(0.0)),
    Col("dwell_h", number(0.0)),
    Col("capacity_t_per_quarter", number(positive=True), required=False),
    Col("capacity_hard", boolean),
    Col("season_q1", number(0.0)),
    Col("season_q2", number(0.0)),
    Col("season_q3", number(0.0)),
    Col("season_q4", number(0.0)),
    Col("border", boolean),
    Col("gauge_change", boolean),
    Col("controller", text),
    Col("financier", text),
    Col("commodities", multi_choice(COMMODITIES)),
    Col("source", text),
    Col("opens_year", integer(BASE_YEAR, LAST_YEAR), required=False),
    Col("via", choice(("suez", "cape")), required=False),
)


# ------------------------------------------------------------------------ network


@dataclass(frozen=True)
class Corridor:
    """A corridor: the gateway links that define the way freight leaves the region."""

    name: str
    description: str
    enabled: bool
    gateways: tuple[int, ...]
    markets: tuple[str, ...]
    rationale: str = ""


@dataclass(frozen=True, eq=False)
class Network:
    """The validated network with CSR arrays for :mod:`corridors.routing`.

    Edge attribute arrays (``edges`` columns and the properties below) are in original
    edge-id order; :meth:`to_slots` reorders any of them into CSR slot order, which is
    what kernels and masks use. Build one with :func:`load_network`, which validates the
    data and makes the CSR arrays; the fields are its parameters.

    Parameters
    ----------
    nodes : pandas.DataFrame
        The rows of ``nodes.csv``, indexed by node id.
    edges : pandas.DataFrame
        The rows of ``edges.csv`` with the derived columns (``free_flow_time_h``,
        ``price_usd_per_t``, ``tail_id``, ``head_id``, ``gateway``, ``corridor``).
    corridors : dict of str to Corridor
        The corridors of ``corridors.toml``, in the order of :data:`CORRIDORS`.
    units : dict
        The conversion factors of ``units.toml``, by name.
    indptr, indices : numpy.ndarray
        The CSR arrays of the graph: node ``v``'s outgoing slots are
        ``indptr[v]:indptr[v + 1]``, ``indices`` their head nodes.
    perm : numpy.ndarray
        The edge id of each CSR slot.
    data_dir : Path
        The directory the data was read from.
    _node_ids : dict of str to int
        Node ids by name.

    Examples
    --------
    >>> net = load_network()
    >>> net.enabled_corridors
    ('russian', 'chinese', 'middle', 'sea')
    >>> net.unit("t_per_teu_loaded")
    10.0
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    corridors: dict[str, Corridor]
    units: dict[str, dict[str, Any]]
    indptr: np.ndarray
    indices: np.ndarray
    perm: np.ndarray
    data_dir: Path
    _node_ids: dict[str, int] = field(repr=False)

    # -- sizes and lookups
    @property
    def n_nodes(self) -> int:
        """The number of nodes."""
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        """The number of edges (links)."""
        return len(self.edges)

    def node_id(self, name: str) -> int:
        """Id of the node called ``name``."""
        try:
            return self._node_ids[name]
        except KeyError:
            raise KeyError(f"no node named {name!r} in {self.data_dir / 'nodes.csv'}") from None

    def node_ids(self, names: Iterable[str]) -> np.ndarray:
        """Return the ids of the nodes called ``names``, as an int64 array."""
        return np.array([self.node_id(n) for n in names], dtype=np.int64)

    def unit(self, name: str) -> float:
        """Return a conversion factor from ``units.toml`` (for example ``t_per_teu``)."""
        try:
            return float(self.units[name]["value"])
        except KeyError:
            raise KeyError(f"no unit {name!r} in {self.data_dir / 'units.toml'}") from None

    def to_slots(self, values: np.ndarray) -> np.ndarray:
        """Reorder a per-edge array (original order) into CSR slot order."""
        return np.ascontiguousarray(np.asarray(values)[self.perm])

    # -- attributes, original edge order
    @property
    def free_flow_time_h(self) -> np.ndarray:
        """Travel time plus dwell, hours."""
        return self.edges["free_flow_time_h"].to_numpy()

    @property
    def price_usd_per_t(self) -> np.ndarray:
        """Tariff plus handling, USD per tonne."""
        return self.edges["price_usd_per_t"].to_numpy()

    @property
    def length_km(self) -> np.ndarray:
        """Length, km; 0 where ``edges.csv`` gives none."""
        return self.edges["length_km"].fillna(0.0).to_numpy()

    @property
    def capacity_t_per_quarter(self) -> np.ndarray:
        """Capacity per quarter; ``inf`` where unconstrained."""
        return self.edges["capacity_t_per_quarter"].fillna(np.inf).to_numpy()

    @property
    def through_mask(self) -> np.ndarray:
        """False at market nodes: paths may end there but not pass through."""
        return (self.nodes["kind"] != "market").to_numpy()

    @property
    def gateway_of(self) -> np.ndarray:
        """Index into :data:`CORRIDORS` of the corridor each edge is a gateway of, -1 if none."""
        return self.edges["gateway"].to_numpy()

    # -- masks, CSR slot order
    def edge_mask(
        self, corridor: str, *, commodity: str | None = None, year: int | None = None
    ) -> np.ndarray:
        """Slots a flow leaving by ``corridor`` may use.

        Its own gateways and every feeder (no corridor's gateway); never pipelines; only
        links that carry ``commodity`` and that are open in ``year`` (``opens_year``).
        """
        if corridor not in self.corridors:
            raise ValueError(f"corridor: {corridor!r} is not one of {', '.join(self.corridors)}")
        e = self.edges
        gw = e["gateway"].to_numpy()
        allowed = (gw == -1) | (gw == CORRIDORS.index(corridor))
        allowed &= (e["mode"] != "pipeline").to_numpy()
        if commodity is not None:
            if commodity not in COMMODITIES:
                raise ValueError(f"commodity: {commodity!r} is not one of {', '.join(COMMODITIES)}")
            allowed &= e["commodities"].map(lambda c: commodity in c).to_numpy(dtype=bool)
        if year is not None:
            opens = e["opens_year"].fillna(BASE_YEAR).to_numpy()
            allowed &= opens <= year
        return self.to_slots(allowed)

    def edge_masks(
        self, corridors: Sequence[str] | None = None, *, commodity: str | None = None, year: int | None = None
    ) -> np.ndarray:
        """``(K, n_slots)`` masks, one row per corridor (default: the enabled ones)."""
        names = self.enabled_corridors if corridors is None else tuple(corridors)
        return np.array([self.edge_mask(c, commodity=commodity, year=year) for c in names], dtype=bool)

    @property
    def enabled_corridors(self) -> tuple[str, ...]:
        """The names of the enabled corridors, in the order of :data:`CORRIDORS`."""
        return tuple(name for name, c in self.corridors.items() if c.enabled)

    # -- free-flow skims
    def skim(
        self,
        origins: Sequence[str],
        markets: Sequence[str],
        *,
        corridors: Sequence[str] | None = None,
        commodity: str = "containers",
        year: int = BASE_YEAR,
        value_of_time: float = DEFAULT_VALUE_OF_TIME,
    ) -> pd.DataFrame:
        """Free-flow least-cost route of each corridor for each origin-market pair.

        Returns a long DataFrame: origin, market, corridor, time_days, price_usd_per_t,
        price_usd_per_teu, distance_km (``inf`` where the corridor cannot reach).
        """
        names = self.enabled_corridors if corridors is None else tuple(corridors)
        pairs = [(o, m) for o in origins for m in markets]
        o_ids = self.node_ids(p[0] for p in pairs)
        m_ids = self.node_ids(p[1] for p in pairs)
        t = self.to_slots(self.free_flow_time_h)
        price = self.to_slots(self.price_usd_per_t)
        result = routing.assign(
            self.indptr,
            self.indices,
            price + value_of_time * t,
            o_ids,
            m_ids,
            np.zeros((len(names), len(pairs))),
            edge_mask=self.edge_masks(names, commodity=commodity, year=year),
            through_mask=self.through_mask,
            time=t,
            distance=self.to_slots(self.length_km),
        )
        t_per_teu = self.unit("t_per_teu_loaded") if "t_per_teu_loaded" in self.units else np.nan
        rows = []
        for k, corridor in enumerate(names):
            for j, (o, m) in enumerate(pairs):
                reached = np.isfinite(result.cost[k, j])
                fare = result.cost[k, j] - value_of_time * result.time[k, j] if reached else np.inf
                rows.append(
                    {
                        "origin": o,
                        "market": m,
                        "corridor": corridor,
                        "time_days": result.time[k, j] / 24.0,
                        "price_usd_per_t": fare,
                        "price_usd_per_teu": fare * t_per_teu,
                        "distance_km": result.distance[k, j],
                    }
                )
        return pd.DataFrame(rows)


def load_network(data_dir: str | Path | None = None) -> Network:
    """Load and validate the network data.

    Parameters
    ----------
    data_dir : path, optional
        A directory with ``nodes.csv``, ``edges.csv``, ``corridors.toml``, ``units.toml``
        and ``SOURCES.md``; default the packaged data.

    Returns
    -------
    Network
        The validated network, its CSR arrays built; every enabled corridor reaches each
        of its markets from the region.

    Raises
    ------
    DataError
        Naming the file, row and column of the first problem found.

    Examples
    --------
    >>> net = load_network()
    >>> int(net.node_ids(["aktau"])[0]) == net.node_id("aktau")
    True
    """
    root = default_data_dir() if data_dir is None else Path(data_dir)
    nodes_path, edges_path = root / "nodes.csv", root / "edges.csv"
    sources = source_keys(root / "SOURCES.md")

    raw_nodes, node_lines = read_table(nodes_path, NODE_COLUMNS)
    check_ids(nodes_path, raw_nodes["id"], node_lines)
    node_ids: dict[str, int] = {}
    for name, line in zip(raw_nodes["name"], node_lines, strict=True):
        if name in node_ids:
            raise DataError(nodes_path, f"line {line}, column name", f"duplicate node name {name!r}")
        node_ids[name] = len(node_ids)
    for col, hi in (("lon", 180.0), ("lat", 90.0)):
        for value, line in zip(raw_nodes[col], node_lines, strict=True):
            if value > hi:
                raise DataError(nodes_path, f"line {line}, column {col}", f"must be <= {hi:g}, got {value}")

    raw, lines = read_table(edges_path, EDGE_COLUMNS)
    check_ids(edges_path, raw["id"], lines)
    n_e = len(lines)
    for i in range(n_e):
        where = f"line {lines[i]}"
        for col in ("tail", "head"):
            if raw[col][i] not in node_ids:
                raise DataError(edges_path, f"{where}, column {col}", f"unknown node {raw[col][i]!r}")
        if raw["tail"][i] == raw["head"][i]:
            raise DataError(edges_path, f"{where}, column head", "an edge must join two different nodes")
        has_speed = raw["speed_kmh"][i] is not None
        if has_speed == (raw["time_h"][i] is not None):
            raise DataError(edges_path, f"{where}, column time_h", "give exactly one of speed_kmh and time_h")
        if has_speed and raw["length_km"][i] is None:
            raise DataError(edges_path, f"{where}, column length_km", "speed_kmh needs length_km")
        keys = [k.strip() for k in raw["source"][i].split(";") if k.strip()]
        if not keys:
            raise DataError(
                edges_path, f"{where}, column source", "no source key given: name a heading of SOURCES.md"
            )
        unknown = [k for k in keys if k not in sources]
        if unknown:
            raise DataError(
                edges_path,
                f"{where}, column source",
                f"source key(s) {unknown or keys} not found as headings in {root / 'SOURCES.md'}",
            )
    nodes = pd.DataFrame(raw_nodes).set_index("id", drop=False)
    edges = pd.DataFrame(raw)
    for col in ("length_km", "speed_kmh", "time_h", "capacity_t_per_quarter"):
        edges[col] = edges[col].astype(float)
    edges["opens_year"] = edges["opens_year"].astype("Int64")
    travel_h = edges["time_h"].fillna(edges["length_km"] / edges["speed_kmh"])
    edges["free_flow_time_h"] = travel_h + edges["dwell_h"]
    edges["price_usd_per_t"] = edges["tariff_usd_per_t"] + edges["handling_usd_per_t"]
    edges["tail_id"] = edges["tail"].map(node_ids).astype(np.int64)
    edges["head_id"] = edges["head"].map(node_ids).astype(np.int64)

    corridors, gateway = _load_corridors(root / "corridors.toml", n_e, node_ids, nodes)
    edges["gateway"] = gateway
    edges["corridor"] = [CORRIDORS[g] if g >= 0 else "" for g in gateway]
    units = _load_units(root / "units.toml", sources)
    indptr, indices, perm = routing.csr_from_edges(
        edges["tail_id"].to_numpy(), edges["head_id"].to_numpy(), len(node_ids)
    )
    net = Network(nodes, edges, corridors, units, indptr, indices, perm, root, node_ids)
    _check_reachability(net, root / "corridors.toml")
    return net


def _load_corridors(
    path: Path, n_edges: int, node_ids: dict[str, int], nodes: pd.DataFrame
) -> tuple[dict[str, Corridor], np.ndarray]:
    doc = read_toml(path)
    gateway = np.full(n_edges, -1, dtype=np.int64)
    corridors: dict[str, Corridor] = {}
    for name, table in doc.items():
        if name not in CORRIDORS:
            raise DataError(path, f"[{name}]", f"unknown corridor; expected one of {', '.join(CORRIDORS)}")
        if not isinstance(table, dict):
            raise DataError(path, f"[{name}]", "must be a table")
        extra = set(table) - {"description", "enabled", "gateways", "markets", "rationale"}
        if extra:
            raise DataError(path, f"[{name}]", f"unknown field(s): {', '.join(sorted(extra))}")
        enabled = table.get("enabled", True)
        if not isinstance(enabled, bool):
            raise DataError(path, f"[{name}].enabled", "must be true or false")
        gws = table.get("gateways")
        if (
            not isinstance(gws, list)
            or not gws
            or not all(isinstance(g, int) and not isinstance(g, bool) for g in gws)
        ):
            raise DataError(path, f"[{name}].gateways", "must be a non-empty list of edge ids")
        for g in gws:
            if not 0 <= g < n_edges:
                raise DataError(path, f"[{name}].gateways", f"edge id {g} out of range (0..{n_edges - 1})")
            if gateway[g] != -1:
                other = CORRIDORS[gateway[g]]
                raise DataError(path, f"[{name}].gateways", f"edge {g} is already a gateway of {other!r}")
            gateway[g] = CORRIDORS.index(name)
        markets = table.get("markets", [])
        if not isinstance(markets, list) or not all(isinstance(m, str) for m in markets):
            raise DataError(path, f"[{name}].markets", "must be a list of market node names")
        for m in markets:
            if m not in node_ids or nodes.loc[node_ids[m], "kind"] != "market":
                raise DataError(path, f"[{name}].markets", f"{m!r} is not a market node of nodes.csv")
        corridors[name] = Corridor(
            name=name,
            description=str(table.get("description", "")),
            enabled=enabled,
            gateways=tuple(gws),
            markets=tuple(markets),
            rationale=str(table.get("rationale", "")),
        )
    missing = [c for c in CORRIDORS if c not in corridors]
    if missing:
        raise DataError(path, None, f"missing corridor(s): {', '.join(missing)}")
    return {c: corridors[c] for c in CORRIDORS}, gateway


def _load_units(path: Path, sources: set[str]) -> dict[str, dict[str, Any]]:
    doc = read_toml(path)
    for name, entry in doc.items():
        if not isinstance(entry, dict):
            raise DataError(path, f"[{name}]", "must be a table with value, unit and source")
        value = entry.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not (0 < value < float("inf")):
            raise DataError(path, f"[{name}].value", f"must be a finite positive number, got {value!r}")
        for key in ("unit", "source"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise DataError(path, f"[{name}].{key}", "missing")
        unknown = [k for k in entry["source"].split(";") if k.strip() and k.strip() not in sources]
        if unknown:
            raise DataError(path, f"[{name}].source", f"{unknown} not found as headings in SOURCES.md")
    return doc


def _check_reachability(net: Network, path: Path) -> None:
    """Each enabled corridor must reach each of its markets from the region."""
    region = net.nodes.index[net.nodes["country"].isin(C5)].to_numpy()
    if region.size == 0:
        raise DataError(net.data_dir / "nodes.csv", None, "no node in the five Central Asian states")
    w = net.to_slots(net.free_flow_time_h)
    for name in net.enabled_corridors:
        corridor = net.corridors[name]
        if not corridor.markets:
            continue
        with routing.single_thread():
            dist, _ = routing.shortest_paths(
                net.indptr,
                net.indices,
                w,
                region,
                edge_mask=net.edge_mask(name),
                through_mask=net.through_mask,
            )
        for market in corridor.markets:
            if not np.isfinite(dist[:, net.node_id(market)]).any():
                raise DataError(path, f"[{name}].markets", f"no path from the region to {market!r}")


@functools.cache
def packaged_network() -> Network:
    """Return the packaged network, loaded and checked once per process (it is never modified).

    Returns
    -------
    Network
        :func:`load_network` of the packaged data, shared by every caller in the process.
    """
    return load_network()
