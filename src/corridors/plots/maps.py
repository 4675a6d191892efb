"""Maps: the network (:func:`network_map`) and one year's freight flows (:func:`flow_map`).

Both show the whole network with its long sea lanes beside a close-up of Central Asia, the
Caspian and the Caucasus, on the Natural Earth base map shipped in the package data. The
close-up names the capitals and the main gateways, placed so that no two labels overlap
(:func:`place_labels`). Links are drawn as one collection per kind, not one artist per link:
a run directory's map is drawn in a fraction of the time.
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

from corridors.network import Network, default_data_dir
from corridors.plots.style import (
    C5_ISO3,
    CORRIDOR_COLOURS,
    FEEDER_COLOUR,
    NODE_MARKERS,
    PIPELINE_COLOUR,
    corridor_handles,
    run_title,
)
from corridors.vocabulary import CORRIDORS

if TYPE_CHECKING:  # never at run time: results must not import plots, nor plots results
    from corridors.results import Results

__all__ = ["flow_map", "network_map"]

# Drawing geometry, not model data (the model uses edges.csv): the water points each sea lane
# is drawn through, so that it follows the sea on the Natural Earth 1:110m map instead of a
# straight line across land (SOURCES.md, A-geo-map-lanes; tests/test_plots.py checks that no
# lane crosses land). Each chain runs from the first-named port towards the second.
_EAST_CHINA = [(123.5, 30.0), (123.0, 25.5), (121.8, 21.3), (118.5, 20.0)]
_TO_SRI_LANKA = [
    (110.0, 12.0),
    (105.5, 3.5),
    (104.6, 1.2),
    (103.6, 0.95),
    (102.9, 1.5),
    (100.8, 2.6),
    (97.5, 5.9),
    (94.0, 6.3),
    (80.5, 5.2),
]
_SUEZ = [(57.0, 13.0), (51.0, 12.3), (43.4, 12.5), (38.5, 19.5),
    (34.2, 27.3), (33.65, 27.75), (33.35, 28.0), (33.1, 28.3), (32.9, 28.6), (32.75, 29.0), (32.55, 29.3),
    (32.45, 29.6), (32.4, 29.8), (32.35, 31.25), (32.3, 31.6),
]  # fmt: skip
_MED_WEST = [
    (20.0, 34.5),
    (11.5, 37.4),
    (5.0, 37.6),
    (-2.0, 36.3),
    (-4.5, 35.85),
    (-6.5, 35.9),
    (-10.0, 36.5),
]
_CAPE = [
    (60.0, -10.0),
    (35.0, -30.0),
    (18.5, -35.5),
    (8.0, -20.0),
    (-10.0, 5.0),
    (-18.0, 20.0),
    (-13.0, 36.0),
]
_TO_ROTTERDAM = [
    (-10.0, 43.5),
    (-5.5, 48.6),
    (-3.0, 49.9),
    (0.0, 50.4),
    (1.2, 50.8),
    (2.2, 51.3),
    (3.3, 51.8),
]
_AEGEAN_TO_TRIESTE = [(26.2, 40.0), (25.0, 38.5), (23.3, 35.7), (19.5, 37.5), (18.8, 40.2), (14.5, 44.3)]
_BLACK_SEA_TO_BOSPORUS = [(29.4, 41.5), (28.99, 41.1), (28.0, 40.7), (26.6, 40.3)]
_SEA_LANES: dict[tuple[str, str, str], list[tuple[float, float]]] = {
    ("shanghai", "rotterdam", "suez"): [*_EAST_CHINA, *_TO_SRI_LANKA, *_SUEZ, *_MED_WEST, *_TO_ROTTERDAM],
    ("shanghai", "rotterdam", "cape"): [*_EAST_CHINA, *_TO_SRI_LANKA, *_CAPE, *_TO_ROTTERDAM],
    ("lianyungang", "rotterdam", "suez"): [(121.8, 34.0), *_EAST_CHINA, *_TO_SRI_LANKA, *_SUEZ, *_MED_WEST, *_TO_ROTTERDAM],
    ("lianyungang", "rotterdam", "cape"): [(121.8, 34.0), *_EAST_CHINA, *_TO_SRI_LANKA, *_CAPE, *_TO_ROTTERDAM],
    ("shanghai", "karachi", ""): [*_EAST_CHINA, *_TO_SRI_LANKA, (76.5, 7.0), (72.0, 14.0), (66.3, 23.5)],
    ("shanghai", "bandar_abbas", ""): [*_EAST_CHINA, *_TO_SRI_LANKA, (76.5, 7.0), (61.0, 21.5), (58.0, 24.8), (56.6, 26.4)],
    ("st_petersburg", "rotterdam", ""): [(27.0, 59.9), (22.5, 59.4), (19.5, 57.5), (16.0, 55.2), (14.0, 54.9), (12.0, 54.6), (10.8, 55.3), (10.8, 56.0), (11.2, 56.3), (11.3, 57.6), (10.5, 58.0), (7.5, 57.3), (5.0, 53.8)],
    ("novorossiysk", "trieste", ""): [(34.0, 43.2), (30.5, 42.3), *_BLACK_SEA_TO_BOSPORUS, *_AEGEAN_TO_TRIESTE],
    ("batumi", "trieste", ""): [(38.5, 42.4), (33.5, 42.5), (30.5, 42.0), *_BLACK_SEA_TO_BOSPORUS, *_AEGEAN_TO_TRIESTE],
    ("ceyhan", "trieste", ""): [(35.4, 36.2), (33.5, 35.5), (28.5, 35.0), (26.0, 34.6), (23.5, 34.7), (22.3, 35.8), (19.5, 37.5), (18.8, 40.2), (14.5, 44.3)],
}  # fmt: skip

_WORLD = (-20.0, 135.0, -40.0, 66.0)  # (lon0, lon1, lat0, lat1) of the whole network
_ZOOM = (26.0, 90.0, 30.0, 57.0)  # and of the Central Asia close-up
_PIPELINE_STYLE = {"color": PIPELINE_COLOUR, "lw": 1.0, "ls": (0, (1, 1.5))}
_NO_FLOW = "#BBBBBB"
# The capitals named on the close-up (labelled before the gateways). Drawing, not model data.
_CAPITALS = (
    "astana", "bishkek", "dushanbe", "tashkent", "ashgabat",
    "kabul", "tehran", "tbilisi", "ankara", "moscow", "minsk",
)  # fmt: skip
# Where each label may go, tried in this order: offset (points), alignment.
_LABEL_SPOTS = (
    (3, 3, "left", "bottom"),
    (3, -3, "left", "top"),
    (-3, 3, "right", "bottom"),
    (-3, -3, "right", "top"),
    (0, 5, "center", "bottom"),
    (0, -5, "center", "top"),
    (6, 0, "left", "center"),
    (-6, 0, "right", "center"),
)


@cache
def _basemap() -> dict:
    path = default_data_dir() / "basemap_countries.json"
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _basemap_polygons() -> tuple[list[np.ndarray], list[str]]:
    """Return the base map's rings as arrays and their fill colours (the five in sand), read once."""
    rings, colours = [], []
    for country in _basemap()["countries"]:
        colour = "#F1EAD8" if country["iso_a3"] in C5_ISO3 else "#EFEFEF"
        for ring in country["rings"]:
            rings.append(np.asarray(ring, dtype=float))
            colours.append(colour)
    return rings, colours


def _draw_countries(ax) -> None:
    rings, colours = _basemap_polygons()
    ax.add_collection(
        PolyCollection(rings, facecolors=colours, edgecolors="#FFFFFF", linewidths=0.6, zorder=0),
        autolim=False,
    )
    ax.set_facecolor("#DCEAF2")


def _coords(net: Network) -> dict:
    """Each node's (lon, lat), by node id: looked up once per map, not once per link."""
    return dict(zip(net.nodes.index, net.nodes[["lon", "lat"]].to_numpy(float), strict=True))


def _lane(net: Network, edge, coords: dict | None = None) -> np.ndarray:
    """Coordinates to draw one edge: a straight segment, or a sea lane through its water points.

    ``coords`` is :func:`_coords` of ``net``, passed by callers that draw many links.
    """
    coords = _coords(net) if coords is None else coords
    a, b = coords[edge.tail_id], coords[edge.head_id]
    via = edge.via if isinstance(edge.via, str) else ""
    points = _SEA_LANES.get((edge.tail, edge.head, via))
    if points is not None:
        return np.vstack([a, points, b])
    points = _SEA_LANES.get((edge.head, edge.tail, via))
    if points is not None:
        return np.vstack([a, points[::-1], b])
    return np.vstack([a, b])


def _link_key(edge) -> tuple:
    """One key for both directions of a link (of one mode, through one gateway)."""
    return (min(edge.tail_id, edge.head_id), max(edge.tail_id, edge.head_id), edge.gateway, edge.mode)


def _add_lines(ax, lines: list[tuple[np.ndarray, dict]], zorder: float) -> None:
    """Draw many polylines as one collection: ``lines`` holds (xy, style) with color, lw and ls."""
    if not lines:
        return
    ax.add_collection(
        LineCollection(
            [xy for xy, _ in lines],
            colors=[st["color"] for _, st in lines],
            linewidths=[st["lw"] for _, st in lines],
            linestyles=[st.get("ls", "-") for _, st in lines],
            capstyle="butt",
            zorder=zorder,
        ),
        autolim=False,
    )


def _network_lines(net: Network) -> dict[float, list]:
    """Return the network map's links by z-order: pipelines and feeders below, gateway links above."""
    out: dict[float, list] = {2: [], 3: []}
    seen: set[tuple] = set()
    coords = _coords(net)
    for edge in net.edges.itertuples():
        key = _link_key(edge)
        if key in seen:  # draw a two-way link once
            continue
        seen.add(key)
        if edge.mode == "pipeline":
            style = dict(_PIPELINE_STYLE)
        elif edge.gateway >= 0:
            corridor = CORRIDORS[edge.gateway]
            enabled = net.corridors[corridor].enabled
            style = {"color": CORRIDOR_COLOURS[corridor], "lw": 2.6, "ls": "-" if enabled else "--"}
        else:
            closed = not pd.isna(edge.opens_year)
            style = {"color": FEEDER_COLOUR, "lw": 1.1, "ls": ":" if closed else "-"}
        if edge.mode in ("sea", "ferry") and edge.gateway < 0:
            style["ls"] = "--"
        out[3 if edge.gateway >= 0 and edge.mode != "pipeline" else 2].append(
            (_lane(net, edge, coords), style)
        )
    return out


def _draw_nodes(ax, net: Network) -> None:
    for kind, (marker, size) in NODE_MARKERS.items():
        sub = net.nodes[net.nodes["kind"] == kind]
        ax.scatter(
            sub["lon"],
            sub["lat"],
            marker=marker,
            s=size,
            c="#FFD700" if kind == "market" else "#222222",
            edgecolors="#222222",
            linewidths=0.6,
            zorder=5,
        )


def _label_text(name: str) -> str:
    return name.removeprefix("market_").replace("_", " ")


def _label_order(net: Network) -> list[int]:
    """Return the nodes the close-up names, most important first: markets, the five's capitals, gateways, other capitals.

    A gateway is a seaport or border crossing on a hard-capacity link or a corridor's
    gateway link (the Caspian ports, the China and Afghan border crossings, ...).
    """
    nodes, edges = net.nodes, net.edges
    on_key_links = edges[edges["capacity_hard"] | (edges["gateway"] >= 0)]
    touched = set(on_key_links["tail_id"]) | set(on_key_links["head_id"])
    by_name = {n: i for i, n in nodes["name"].items()}
    capitals = [by_name[c] for c in _CAPITALS if c in by_name]
    c5 = [i for i in capitals if nodes.loc[i, "country"] in ("KZ", "KG", "TJ", "TM", "UZ")]
    markets = list(nodes.index[nodes["kind"] == "market"])
    gateways = [
        i for i in nodes.index if nodes.loc[i, "kind"] in ("seaport", "border_crossing") and i in touched
    ]
    order: list[int] = []
    for i in [*markets, *c5, *gateways, *capitals]:
        if i not in order:
            order.append(i)
    return order


def place_labels(ax, points: list[tuple[float, float, str, dict]]) -> list:
    """Name points on a map so that no two labels overlap, nor leave the axes; greedy, in order.

    Each label tries the spots around its point in turn (above right, below right, above
    left, ...) and takes the first whose box, measured on the drawn text, overlaps no label
    placed before it; a label that fits nowhere is left out. Earlier points win.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The map; its figure must have a canvas that can measure text (Agg).
    points : list of (lon, lat, text, style)
        The points to name, most important first; ``style`` holds extra text properties.

    Returns
    -------
    list of matplotlib.text.Annotation
        The labels placed.
    """
    renderer = ax.figure.canvas.get_renderer()
    ax.apply_aspect()
    frame = ax.get_window_extent(renderer)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    placed: list[Bbox] = []
    labels = []
    for lon, lat, text, style in points:
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            continue
        for dx, dy, ha, va in _LABEL_SPOTS:
            label = ax.annotate(
                text,
                (lon, lat),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                zorder=6,
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.65},
                **style,
            )
            box = label.get_window_extent(renderer).padded(1.0)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(box.overlaps(b) for b in placed):
                placed.append(box)
                labels.append(label)
                break
            label.remove()
    return labels


def _name_places(ax, net: Network) -> None:
    points = []
    for i in _label_order(net):
        n = net.nodes.loc[i]
        market = n["kind"] == "market"
        style = {"fontsize": 8 if market else 7, "fontweight": "bold" if market else "normal"}
        points.append((float(n["lon"]), float(n["lat"]), _label_text(n["name"]), style))
    place_labels(ax, points)


def _name_markets(ax, net: Network) -> None:
    """Name the markets on the world map, and nothing else: where the freight goes."""
    markets = net.nodes[net.nodes["kind"] == "market"]
    place_labels(
        ax,
        [
            (float(n.lon), float(n.lat), _label_text(n.name), {"fontsize": 8, "fontweight": "bold"})
            for n in markets.itertuples()
        ],
    )


def _frame(ax, extent, title: str) -> None:
    x0, x1, y0, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / math.cos(math.radians((y0 + y1) / 2)))
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.tick_params(labelsize=8)


def _two_maps(fig: Figure) -> tuple:
    """Set up the world map and the close-up side by side, the close-up's extent outlined on the world.

    At fixed places: a layout engine would lay the figure out again at every save.
    """
    FigureCanvasAgg(fig)  # labels are placed by measuring their text
    grid = fig.add_gridspec(1, 2, width_ratios=[1.05, 1.0], left=0.045, right=0.985, bottom=0.19, top=0.9)
    world_ax, zoom_ax = grid.subplots()
    x0, x1, y0, y1 = _ZOOM
    world_ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=0.8, ec="#444444", zorder=7))
    return world_ax, zoom_ax


def _credit(fig: Figure) -> None:
    fig.text(
        0.995,
        0.005,
        "Basemap: Natural Earth 1:110m (public domain)",
        ha="right",
        va="bottom",
        fontsize=6,
        color="#666666",
    )


def _node_handles() -> list[Line2D]:
    """Return legend entries for the node kinds: the marker of each."""
    return [
        Line2D(
            [],
            [],
            ls="",
            marker=m,
            markersize=math.sqrt(s),
            color="#FFD700" if k == "market" else "#222222",
            markeredgecolor="#222222",
            label=k.replace("_", " "),
        )
        for k, (m, s) in NODE_MARKERS.items()
    ]


def network_map(net: Network) -> Figure:
    """Map of the network: the whole of it with the sea lanes, and a Central Asia close-up.

    Gateway links in their corridor's colour (dashed where the corridor starts closed),
    feeders grey (dotted where the link opens later), pipelines black dots; node kinds by
    marker, markets as gold stars. The close-up names the capitals and the main gateways.

    Parameters
    ----------
    net : Network
        The network to draw (its nodes, edges and corridors).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of two maps and a legend.
    """
    fig = Figure(figsize=(16, 7.2))
    world_ax, zoom_ax = _two_maps(fig)
    lines = _network_lines(net)
    for ax, extent, title in (
        (world_ax, _WORLD, "The corridor network"),
        (zoom_ax, _ZOOM, "Central Asia, the Caspian and the Caucasus"),
    ):
        _draw_countries(ax)
        for z, group in lines.items():
            _add_lines(ax, group, z)
        _draw_nodes(ax, net)
        _frame(ax, extent, title)
    _name_markets(world_ax, net)
    _name_places(zoom_ax, net)
    handles = [
        Line2D(
            [],
            [],
            color=CORRIDOR_COLOURS[c],
            lw=2.6,
            ls="-" if net.corridors[c].enabled else "--",
            label=c.replace("_", "-") + ("" if net.corridors[c].enabled else " (closed at start)"),
        )
        for c in CORRIDORS
    ]
    handles += [
        Line2D([], [], color=FEEDER_COLOUR, lw=1.1, label="feeder (shared by all)"),
        Line2D([], [], color=FEEDER_COLOUR, lw=1.1, ls=":", label="feeder opening later"),
        Line2D([], [], **_PIPELINE_STYLE, label="pipeline (exogenous)"),
    ]
    fig.legend(
        handles=handles, loc="lower left", bbox_to_anchor=(0.01, 0.02), ncol=5, fontsize=8, frameon=False,
        title="links", title_fontsize=8,
    )  # fmt: skip
    fig.legend(
        handles=_node_handles(), loc="lower right", bbox_to_anchor=(0.99, 0.02), ncol=3, fontsize=8,
        frameon=False, title="node kinds", title_fontsize=8,
    )  # fmt: skip
    _credit(fig)
    return fig


def _nice(value: float) -> float:
    """Round down to the largest of 1, 2, 5 x 10^k not above ``value``."""
    if value <= 0:
        return 0.0
    k = math.floor(math.log10(value))
    for m in (5, 2, 1):
        if m * 10**k <= value:
            return m * 10**k
    return 10**k


def _flow_lines(
    net: Network, links: dict, scale: float, carrier: dict | None = None
) -> tuple[list, list, list, set[str]]:
    """Return the flow map's links: (pipelines, no flow, with flow widest first, the corridors drawn).

    A link is drawn in the colour of ``carrier[link]``, the corridor carrying most on it, where
    given; else in its gateway corridor's colour, grey for a feeder.
    """
    pipes, idle, busy, used = [], [], [], set()
    coords = _coords(net)
    for key, (edge, mt) in sorted(links.items(), key=lambda x: -x[1][1]):
        xy = _lane(net, edge, coords)
        if edge.mode == "pipeline":
            pipes.append((xy, _PIPELINE_STYLE))
        elif mt <= 0:
            idle.append((xy, {"color": _NO_FLOW, "lw": 0.5}))
        else:
            if carrier is not None and key in carrier:
                corridor = carrier[key]
            else:
                corridor = CORRIDORS[edge.gateway] if edge.gateway >= 0 else ""
            used.add(corridor)
            busy.append(
                (xy, {"color": CORRIDOR_COLOURS.get(corridor, FEEDER_COLOUR), "lw": max(0.8, mt * scale)})
            )
    return pipes, idle, busy, used


def _carriers(res: Results, net: Network, year: int) -> dict | None:
    """Return the corridor carrying most freight on each link in ``year``, both directions together.

    From the run's ``link_corridors`` table; ``None`` for a run saved without it (before
    results format 5), whose links keep their gateway colours.
    """
    table = getattr(res, "link_corridors", None)
    if table is None:
        return None
    rows = table[table["year"] == year]
    totals: dict[tuple, dict[str, float]] = {}
    keys = {e.Index: _link_key(e) for e in net.edges.itertuples()}
    for edge, corridor, tonnes in zip(rows["edge"], rows["corridor"], rows["flow_t"], strict=True):
        by = totals.setdefault(keys[int(edge)], {})
        by[corridor] = by.get(corridor, 0.0) + float(tonnes)
    # the largest; ties go to the corridor listed first in CORRIDORS
    return {key: max(CORRIDORS, key=lambda c: by.get(c, 0.0)) for key, by in totals.items()}


def flow_map(res: Results, net: Network, year: int | None = None) -> Figure:
    """Map of one year's freight: line width proportional to the flow on each link.

    Flows are ``res.edges.flow_t`` summed over the year's quarters and over both directions of
    a link; each link in the colour of the corridor that carries most freight on it that year
    (``res.link_corridors``; a run saved without it: gateway links in their corridor's colour,
    feeders grey), links with no flow as thin light lines, pipelines (exogenous, not to
    scale) dotted. The close-up names the capitals
    and the main gateways; a legend gives the node kinds.

    Parameters
    ----------
    res : Results
        A run; its ``edges`` table (``year``, ``edge``, ``flow_t``) is read.
    net : Network
        The network the run ran on.
    year : int, optional
        The year to draw (default: the run's last).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of two maps, a colour legend, a node legend and a width legend.

    Raises
    ------
    ValueError
        If ``year`` is not in the run.
    """
    e = res.edges
    years = sorted(e["year"].unique())
    year = int(years[-1] if year is None else year)
    if year not in years:
        raise ValueError(f"flow_map: year {year} is not in the run ({years[0]}-{years[-1]})")
    flow = e[e["year"] == year].groupby("edge")["flow_t"].sum().reindex(net.edges.index, fill_value=0.0)
    links: dict[tuple, list] = {}  # undirected link -> [a representative edge, Mt/yr]
    for edge in net.edges.itertuples():
        entry = links.setdefault(_link_key(edge), [edge, 0.0])
        entry[1] += float(flow.iloc[edge.Index]) / 1e6
    peak = max((mt for _, mt in links.values()), default=0.0)
    max_lw = 14.0
    scale = max_lw / peak if peak > 0 else 0.0  # points per Mt/yr
    pipes, idle, busy, used = _flow_lines(net, links, scale, _carriers(res, net, year))

    fig = Figure(figsize=(16, 6.9))
    world_ax, zoom_ax = _two_maps(fig)
    for ax, extent, title in (
        (world_ax, _WORLD, "The whole network"),
        (zoom_ax, _ZOOM, "Central Asia, the Caspian and the Caucasus"),
    ):
        _draw_countries(ax)
        _add_lines(ax, idle, 1)
        _add_lines(ax, pipes, 2)
        _add_lines(ax, busy, 3)
        _draw_nodes(ax, net)
        _frame(ax, extent, title)
    _name_markets(world_ax, net)
    _name_places(zoom_ax, net)
    handles = corridor_handles([c for c in CORRIDORS if c in used], lw=4)
    if "" in used:
        handles += [Line2D([], [], color=FEEDER_COLOUR, lw=4, label="feeder (shared)")]
    handles += [
        Line2D([], [], color=_NO_FLOW, lw=0.5, label="no flow"),
        Line2D([], [], **_PIPELINE_STYLE, label="pipeline (not to scale)"),
    ]
    widths = sorted({_nice(peak * f) for f in (0.08, 0.3, 1.0)} - {0.0})
    width_handles = [
        Line2D([], [], color="#444444", lw=max(0.8, w * scale), solid_capstyle="butt", label=f"{w:g} Mt/yr")
        for w in widths
    ]
    legend = {"fontsize": 8, "frameon": False, "title_fontsize": 8}
    fig.legend(
        handles=handles, loc="lower left", bbox_to_anchor=(0.01, 0.015), ncol=3,
        title="colour: the corridor carrying most on the link", **legend,
    )  # fmt: skip
    fig.legend(
        handles=_node_handles(), loc="lower center", bbox_to_anchor=(0.52, 0.015), ncol=3,
        title="node kinds", **legend,
    )  # fmt: skip
    fig.legend(
        handles=width_handles, loc="lower right", bbox_to_anchor=(0.99, 0.03), ncol=len(width_handles),
        title="width: freight on the link, both directions", handlelength=4, **legend,
    )  # fmt: skip
    fig.suptitle(
        f"Freight flows by link, {year}: width proportional to Mt/yr ({run_title(res)})", fontsize=12, y=0.975
    )
    _credit(fig)
    return fig
