"""Matplotlib figures. One fixed, colour-blind-safe colour per corridor everywhere."""

from __future__ import annotations

import json
import math
from functools import cache

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from corridors.network import CORRIDORS, Network, default_data_dir

__all__ = ["CORRIDOR_COLOURS", "FEEDER_COLOUR", "network_map"]

# Okabe and Ito (2008), "Color Universal Design": distinguishable with any colour vision.
CORRIDOR_COLOURS: dict[str, str] = {
    "russian": "#D55E00",  # vermillion
    "chinese": "#CC79A7",  # reddish purple
    "middle": "#0072B2",  # blue
    "sea": "#56B4E9",  # sky blue
    "iranian": "#E69F00",  # orange
    "trans_afghan": "#009E73",  # bluish green
}
FEEDER_COLOUR = "#7F7F7F"
PIPELINE_COLOUR = "#000000"
NODE_MARKERS: dict[str, tuple[str, float]] = {
    "city": ("o", 22),
    "rail_hub": ("D", 18),
    "border_crossing": ("^", 26),
    "seaport": ("s", 24),
    "dry_port": ("p", 30),
    "market": ("*", 140),
}
C5 = ("KAZ", "KGZ", "TJK", "TKM", "UZB")

# Drawing waypoints of the long sea lanes, so that they follow the sea on the map instead
# of a straight line across Asia. Geometry for the picture only; the model uses edges.csv.
_SUEZ_LANE = [(122.0, 30.0), (110.0, 12.0), (104.0, 1.5), (95.0, 5.5), (80.5, 5.5), (57.0, 13.0),
              (43.5, 12.6), (38.0, 20.0), (32.6, 29.6), (32.3, 31.3), (20.0, 34.5), (11.0, 37.3),
              (-5.6, 36.0), (-9.5, 38.5), (-9.5, 43.5), (-5.0, 48.5), (1.5, 51.0), (4.0, 51.9)]  # fmt: skip
_CAPE_LANE = [(122.0, 30.0), (110.0, 12.0), (104.0, 1.5), (95.0, 5.5), (80.5, 5.5), (60.0, -10.0),
              (35.0, -30.0), (18.5, -35.0), (8.0, -20.0), (-10.0, 5.0), (-18.0, 20.0), (-12.0, 36.0),
              (-9.5, 43.5), (-5.0, 48.5), (1.5, 51.0), (4.0, 51.9)]  # fmt: skip

_BOSPORUS_LANE = [(29.0, 41.2), (26.3, 40.1), (23.5, 36.0), (19.0, 39.8)]
_BALTIC_LANE = [(22.0, 59.5), (19.0, 56.0), (12.5, 55.5), (10.6, 57.8), (7.0, 54.0)]


@cache
def _basemap() -> dict:
    path = default_data_dir() / "basemap_countries.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _draw_countries(ax) -> None:
    for country in _basemap()["countries"]:
        c5 = country["iso_a3"] in C5
        for ring in country["rings"]:
            xy = np.asarray(ring)
            ax.fill(xy[:, 0], xy[:, 1], facecolor="#F1EAD8" if c5 else "#EFEFEF",
                    edgecolor="#FFFFFF", linewidth=0.6, zorder=0)  # fmt: skip
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
    seen: set[tuple[int, int]] = set()
    order = net.edges.assign(rank=(net.edges["gateway"] >= 0).astype(int)).sort_values("rank", kind="stable")
    for edge in order.itertuples():
        key = (min(edge.tail_id, edge.head_id), max(edge.tail_id, edge.head_id), edge.gateway, edge.mode)
        if key in seen:  # draw a two-way link once
            continue
        seen.add(key)
        xy = _lane(net, edge)
        if edge.mode == "pipeline":
            style = {"color": PIPELINE_COLOUR, "lw": 1.0, "ls": (0, (1, 1.5)), "zorder": 2}
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
        ax.scatter(sub["lon"], sub["lat"], marker=marker, s=size, c="#FFD700" if kind == "market" else "#222222",
                   edgecolors="#222222", linewidths=0.6, zorder=5)  # fmt: skip
        if not labels and kind != "market":
            continue
        for n in sub.itertuples():
            if x0 <= n.lon <= x1 and y0 <= n.lat <= y1:
                text = n.name.removeprefix("market_").replace("_", " ")
                ax.annotate(text, (n.lon, n.lat), xytext=(3, 3), textcoords="offset points",
                            fontsize=6.5 if kind != "market" else 8,
                            fontweight="bold" if kind == "market" else "normal", zorder=6)  # fmt: skip


def _frame(ax, extent, title: str) -> None:
    x0, x1, y0, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / math.cos(math.radians((y0 + y1) / 2)))
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.tick_params(labelsize=8)


def network_map(net: Network) -> Figure:
    """Map of the network: the whole of it with the sea lanes, and a Central Asia close-up.

    Gateway links in their corridor's colour (dashed where the corridor starts closed),
    feeders grey (dotted where the link opens later), pipelines black dots; node kinds by
    marker, markets as gold stars.
    """
    fig = Figure(figsize=(16, 7.2), layout="constrained")
    world_ax, zoom_ax = fig.subplots(1, 2, width_ratios=[1.05, 1.0])
    world = (-20.0, 135.0, -40.0, 66.0)
    zoom = (26.0, 90.0, 30.0, 57.0)
    for ax, extent, labels, title in (
        (world_ax, world, False, "The corridor network"),
        (zoom_ax, zoom, True, "Central Asia, the Caspian and the Caucasus"),
    ):
        _draw_countries(ax)
        _draw_edges(ax, net)
        _draw_nodes(ax, net, labels=labels, extent=extent)
        _frame(ax, extent, title)
    x0, x1, y0, y1 = zoom
    world_ax.add_patch(
        mpl.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=0.8, ec="#444444", zorder=7)
    )
    handles = [
        Line2D([], [], color=CORRIDOR_COLOURS[c], lw=2.6, ls="-" if net.corridors[c].enabled else "--",
               label=c.replace("_", "-") + ("" if net.corridors[c].enabled else " (closed at start)"))
        for c in CORRIDORS
    ]  # fmt: skip
    handles += [
        Line2D([], [], color=FEEDER_COLOUR, lw=1.1, label="feeder (shared by all)"),
        Line2D([], [], color=FEEDER_COLOUR, lw=1.1, ls=":", label="feeder opening later"),
        Line2D([], [], color=PIPELINE_COLOUR, lw=1.0, ls=(0, (1, 1.5)), label="pipeline (exogenous)"),
    ]
    handles += [
        Line2D([], [], ls="", marker=m, markersize=math.sqrt(s), color="#FFD700" if k == "market" else "#222222",
               markeredgecolor="#222222", label=k.replace("_", " "))
        for k, (m, s) in NODE_MARKERS.items()
    ]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncol=8, fontsize=8, frameon=False)
    fig.text(1.0, 0.0, "Basemap: Natural Earth 1:110m (public domain)", ha="right", va="bottom", fontsize=6,
             color="#666666")  # fmt: skip
    return fig
