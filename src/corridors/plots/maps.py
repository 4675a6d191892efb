"""Maps: the network (:func:`network_map`) and one year's freight flows (:func:`flow_map`).

Both show the whole network with its long sea lanes beside a close-up of Central Asia, the
Caspian and the Caucasus, on the Natural Earth base map shipped in the package data.
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

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

# Drawing waypoints of the long sea lanes, so that they follow the sea on the map instead
# of a straight line across Asia. Geometry for the picture only; the model uses edges.csv.
_SUEZ_LANE = [
    (122.0, 30.0),
    (110.0, 12.0),
    (104.0, 1.5),
    (95.0, 5.5),
    (80.5, 5.5),
    (57.0, 13.0),
    (43.5, 12.6),
    (38.0, 20.0),
    (32.6, 29.6),
    (32.3, 31.3),
    (20.0, 34.5),
    (11.0, 37.3),
    (-5.6, 36.0),
    (-9.5, 38.5),
    (-9.5, 43.5),
    (-5.0, 48.5),
    (1.5, 51.0),
    (4.0, 51.9),
]
_CAPE_LANE = [
    (122.0, 30.0),
    (110.0, 12.0),
    (104.0, 1.5),
    (95.0, 5.5),
    (80.5, 5.5),
    (60.0, -10.0),
    (35.0, -30.0),
    (18.5, -35.0),
    (8.0, -20.0),
    (-10.0, 5.0),
    (-18.0, 20.0),
    (-12.0, 36.0),
    (-9.5, 43.5),
    (-5.0, 48.5),
    (1.5, 51.0),
    (4.0, 51.9),
]

_BOSPORUS_LANE = [(29.0, 41.2), (26.3, 40.1), (23.5, 36.0), (19.0, 39.8)]
_BALTIC_LANE = [(22.0, 59.5), (19.0, 56.0), (12.5, 55.5), (10.6, 57.8), (7.0, 54.0)]

_WORLD = (-20.0, 135.0, -40.0, 66.0)  # (lon0, lon1, lat0, lat1) of the whole network
_ZOOM = (26.0, 90.0, 30.0, 57.0)  # and of the Central Asia close-up
_PIPELINE_STYLE = {"color": PIPELINE_COLOUR, "lw": 1.0, "ls": (0, (1, 1.5))}


@cache
def _basemap() -> dict:
    path = default_data_dir() / "basemap_countries.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _draw_countries(ax) -> None:
    for country in _basemap()["countries"]:
        c5 = country["iso_a3"] in C5_ISO3
        for ring in country["rings"]:
            xy = np.asarray(ring)
            ax.fill(
                xy[:, 0],
                xy[:, 1],
                facecolor="#F1EAD8" if c5 else "#EFEFEF",
                edgecolor="#FFFFFF",
                linewidth=0.6,
                zorder=0,
            )
    ax.set_facecolor("#DCEAF2")


def _lane(net: Network, edge) -> np.ndarray:
    """Coordinates to draw one edge: a straight segment, or a sea lane's waypoints."""
    a = net.nodes.loc[edge.tail_id, ["lon", "lat"]].to_numpy(float)
    b = net.nodes.loc[edge.head_id, ["lon", "lat"]].to_numpy(float)
    if edge.mode != "sea":
        return np.vstack([a, b])
    east, west = (a, b) if a[0] > b[0] else (b, a)
    if east[0] > 95 and west[0] < 20:  # East Asia - Europe: round Africa or through Suez
        points = np.asarray(_CAPE_LANE if edge.via == "cape" else _SUEZ_LANE)[1:-1]
    elif east[0] > 95:  # within Asia: through the Strait of Malacca towards the west
        points = np.asarray([p for p in _SUEZ_LANE[1:5] if p[0] > west[0]])
    elif west[0] < 20 and east[0] > 25 and east[1] > 55:  # Baltic
        points = np.asarray(_BALTIC_LANE)
    elif west[0] < 20 and east[1] > 40.5 and 27 < east[0] < 42:  # Black Sea - Mediterranean
        points = np.asarray(_BOSPORUS_LANE)
    elif west[0] < 20 and east[0] > 30 and east[1] < 38:  # Levant - Adriatic
        points = np.asarray(_BOSPORUS_LANE[2:])
    else:
        return np.vstack([a, b])
    xy = np.vstack([east, points, west])
    return xy if a[0] > b[0] else xy[::-1]


def _draw_edges(ax, net: Network) -> None:
    seen: set[tuple] = set()
    order = net.edges.assign(rank=(net.edges["gateway"] >= 0).astype(int)).sort_values("rank", kind="stable")
    for edge in order.itertuples():
        key = _link_key(edge)
        if key in seen:  # draw a two-way link once
            continue
        seen.add(key)
        xy = _lane(net, edge)
        if edge.mode == "pipeline":
            style = {**_PIPELINE_STYLE, "zorder": 2}
        elif edge.gateway >= 0:
            corridor = CORRIDORS[edge.gateway]
            enabled = net.corridors[corridor].enabled
            style = {
                "color": CORRIDOR_COLOURS[corridor],
                "lw": 2.6,
                "ls": "-" if enabled else "--",
                "zorder": 3,
            }
        else:
            closed = not pd.isna(edge.opens_year)
            style = {"color": FEEDER_COLOUR, "lw": 1.1, "ls": ":" if closed else "-", "zorder": 2}
        if edge.mode in ("sea", "ferry") and edge.gateway < 0:
            style["ls"] = "--"
        ax.plot(xy[:, 0], xy[:, 1], solid_capstyle="round", **style)


def _draw_nodes(ax, net: Network, *, labels: bool, extent) -> None:
    x0, x1, y0, y1 = extent
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
        if not labels and kind != "market":
            continue
        for n in sub.itertuples():
            if x0 <= n.lon <= x1 and y0 <= n.lat <= y1:
                text = n.name.removeprefix("market_").replace("_", " ")
                ax.annotate(
                    text,
                    (n.lon, n.lat),
                    xytext=(3, 3),
                    textcoords="offset points",
                    fontsize=6.5 if kind != "market" else 8,
                    fontweight="bold" if kind == "market" else "normal",
                    zorder=6,
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


def _link_key(edge) -> tuple:
    """One key for both directions of a link (of one mode, through one gateway)."""
    return (min(edge.tail_id, edge.head_id), max(edge.tail_id, edge.head_id), edge.gateway, edge.mode)


def _two_maps(fig: Figure) -> tuple:
    """Set up the world map and the close-up side by side; the close-up's extent outlined on the world."""
    world_ax, zoom_ax = fig.subplots(1, 2, width_ratios=[1.05, 1.0])
    x0, x1, y0, y1 = _ZOOM
    world_ax.add_patch(
        mpl.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=0.8, ec="#444444", zorder=7)
    )
    return world_ax, zoom_ax


def _credit(fig: Figure) -> None:
    fig.text(
        1.0,
        0.0,
        "Basemap: Natural Earth 1:110m (public domain)",
        ha="right",
        va="bottom",
        fontsize=6,
        color="#666666",
    )


def network_map(net: Network) -> Figure:
    """Map of the network: the whole of it with the sea lanes, and a Central Asia close-up.

    Gateway links in their corridor's colour (dashed where the corridor starts closed),
    feeders grey (dotted where the link opens later), pipelines black dots; node kinds by
    marker, markets as gold stars.

    Parameters
    ----------
    net : Network
        The network to draw (its nodes, edges and corridors).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of two maps and a legend.
    """
    fig = Figure(figsize=(16, 7.2), layout="constrained")
    world_ax, zoom_ax = _two_maps(fig)
    for ax, extent, labels, title in (
        (world_ax, _WORLD, False, "The corridor network"),
        (zoom_ax, _ZOOM, True, "Central Asia, the Caspian and the Caucasus"),
    ):
        _draw_countries(ax)
        _draw_edges(ax, net)
        _draw_nodes(ax, net, labels=labels, extent=extent)
        _frame(ax, extent, title)
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
    handles += [
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
    fig.legend(handles=handles, loc="outside lower center", ncol=8, fontsize=8, frameon=False)
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


def _label_busiest(ax, net: Network, through: dict[int, float], extent, most: int = 30) -> None:
    """Name the seaports and then the busiest nodes in view, skipping labels that would overlap.

    Label boxes are estimated in degrees for 7-point text on the close-up map.
    """
    x0, x1, y0, y1 = extent
    boxes: list[tuple[float, float, float, float]] = []
    for n in net.nodes[net.nodes["kind"] == "market"].itertuples():  # _draw_nodes names the markets
        boxes.append((n.lon, n.lon + 0.75 * len(n.name.removeprefix("market_")) + 0.5, n.lat, n.lat + 1.2))
    kind = net.nodes["kind"]
    order = sorted(through.items(), key=lambda kv: (kind.iloc[kv[0]] != "seaport", -kv[1]))  # ports first
    for node, _ in order:
        n = net.nodes.loc[node]
        if n["kind"] == "market" or not (x0 <= n["lon"] <= x1 and y0 <= n["lat"] <= y1):
            continue
        text = n["name"].replace("_", " ")
        box = (n["lon"] + 0.2, n["lon"] + 0.55 * len(text) + 0.5, n["lat"] + 0.1, n["lat"] + 0.95)
        if any(box[0] < b[1] and b[0] < box[1] and box[2] < b[3] and b[2] < box[3] for b in boxes):
            continue
        boxes.append(box)
        ax.annotate(
            text,
            (n["lon"], n["lat"]),
            xytext=(3, 2),
            textcoords="offset points",
            fontsize=7,
            zorder=6,
            bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.6},
        )
        if len(boxes) >= most:
            break


def flow_map(res: Results, net: Network, year: int | None = None) -> Figure:
    """Map of one year's freight: line width proportional to the flow on each link.

    Flows are ``res.edges.flow_t`` summed over the year's quarters and over both directions of
    a link; gateway links in their corridor's colour, feeders grey, links with no flow as thin
    light lines, pipelines (exogenous, not to scale) dotted. The close-up names the seaports
    and the busiest nodes.

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
        A new figure of two maps, a colour legend and a width legend.

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

    through: dict[int, float] = {}  # node -> Mt/yr on the links that touch it
    for edge, mt in links.values():
        if edge.mode != "pipeline" and mt > 0:
            for node in (edge.tail_id, edge.head_id):
                through[node] = through.get(node, 0.0) + mt

    fig = Figure(figsize=(16, 6.9), layout="constrained")
    world_ax, zoom_ax = _two_maps(fig)
    used: set[str] = set()
    for ax, extent, title in (
        (world_ax, _WORLD, "The whole network"),
        (zoom_ax, _ZOOM, "Central Asia, the Caspian and the Caucasus"),
    ):
        _draw_countries(ax)
        for edge, mt in sorted(links.values(), key=lambda x: -x[1]):
            xy = _lane(net, edge)
            if edge.mode == "pipeline":
                ax.plot(xy[:, 0], xy[:, 1], **_PIPELINE_STYLE, zorder=2)
                continue
            corridor = CORRIDORS[edge.gateway] if edge.gateway >= 0 else ""
            if mt <= 0:
                ax.plot(xy[:, 0], xy[:, 1], color="#BBBBBB", lw=0.5, zorder=1)
                continue
            used.add(corridor)
            ax.plot(
                xy[:, 0],
                xy[:, 1],
                color=CORRIDOR_COLOURS.get(corridor, FEEDER_COLOUR),
                lw=max(0.8, mt * scale),
                solid_capstyle="butt",
                alpha=0.85,
                zorder=3,
            )
        _draw_nodes(ax, net, labels=False, extent=extent)
        _frame(ax, extent, title)
    _label_busiest(zoom_ax, net, through, _ZOOM)
    handles = corridor_handles([c for c in CORRIDORS if c in used], lw=4)
    handles += [Line2D([], [], color=FEEDER_COLOUR, lw=4, label="feeder (shared)")]
    handles += [
        Line2D([], [], color="#BBBBBB", lw=0.5, label="no flow"),
        Line2D([], [], **_PIPELINE_STYLE, label="pipeline (not to scale)"),
    ]
    widths = sorted({_nice(peak * f) for f in (0.08, 0.3, 1.0)} - {0.0})
    width_handles = [
        Line2D([], [], color="#444444", lw=max(0.8, w * scale), solid_capstyle="butt", label=f"{w:g} Mt/yr")
        for w in widths
    ]
    fig.legend(
        handles=handles,
        loc="outside lower left",
        ncol=4,
        fontsize=8,
        frameon=False,
        title="colour: corridor",
        title_fontsize=8,
    )
    fig.legend(
        handles=width_handles,
        loc="outside lower right",
        ncol=len(width_handles),
        fontsize=8,
        frameon=False,
        title="width: freight on the link, both directions",
        title_fontsize=8,
        handlelength=4,
    )
    fig.suptitle(
        f"Freight flows by link, {year}: width proportional to Mt/yr ({run_title(res)})", fontsize=12
    )
    _credit(fig)
    return fig
