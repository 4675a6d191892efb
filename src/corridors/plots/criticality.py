"""Figures of a criticality analysis: the ranked links as bars, and a map coloured by criticality.

Both read the table of :func:`corridors.experiments.criticality.criticality` (duck-typed: a
DataFrame with ``link``, ``edges``, ``corridor``, ``extra_cost_usd`` and
``not_delivered_t``). The map is :func:`~corridors.plots.maps.network_map` with its links
faded and the closed links drawn over it in a sequential colour scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from corridors.network import Network
from corridors.plots.maps import _lane, network_map
from corridors.plots.style import CORRIDOR_COLOURS, FEEDER_COLOUR, corridor_handles

__all__ = ["criticality_bars", "criticality_map"]

_CMAP = "YlOrRd"  # sequential, readable with any colour vision and in grey


def _title(meta: Mapping[str, Any]) -> str:
    closure = meta.get("closure") or ["?", "?"]
    mode = "stochastic" if meta.get("stochastic") else "deterministic"
    return f"{meta.get('scenario', 'scenario')}, seed {meta.get('seed')}, {mode}; closed {closure[0]}-{closure[1]}"


def criticality_bars(table: pd.DataFrame, meta: Mapping[str, Any] | None = None, *, top: int = 15) -> Figure:
    """Bar chart of the ``top`` most critical links: the five's extra generalised cost.

    Each bar is one closed link, coloured by its corridor (grey: a feeder shared by all),
    labelled with the freight of the five not delivered in the window.

    Parameters
    ----------
    table : pandas.DataFrame
        The ranked criticality table.
    meta : mapping, optional
        The analysis' ``meta`` (scenario, seed, closure), for the title.
    top : int
        How many links to show.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = table.head(top).iloc[::-1]
    fig = Figure(figsize=(10, 0.38 * len(rows) + 1.8), layout="constrained")
    ax = fig.subplots()
    corridor = rows["corridor"].str.split(";").str[0]
    colours = [CORRIDOR_COLOURS.get(c, FEEDER_COLOUR) for c in corridor]
    musd = rows["extra_cost_usd"].to_numpy() / 1e6
    y = np.arange(len(rows))
    ax.barh(y, musd, color=colours, edgecolor="#333333", linewidth=0.4)
    ax.set_yticks(y, [link.replace(">", " \u2192 ").replace("_", " ") for link in rows["link"]], fontsize=8)
    ax.axvline(0, color="#333333", lw=0.6)
    span = max(float(np.nanmax(np.abs(musd))) if len(musd) else 0.0, 1e-9)
    for yi, v, lost in zip(y, musd, rows["not_delivered_t"].to_numpy(), strict=True):
        if abs(lost) >= 500:
            ax.annotate(
                f"{lost / 1e3:,.0f} kt not delivered",
                (max(v, 0.0) + 0.01 * span, yi),
                va="center",
                fontsize=7,
                color="#444444",
            )
    ax.set_xlim(min(0.0, float(np.nanmin(musd)) * 1.05 if len(musd) else 0.0), span * 1.3)
    ax.set_xlabel("extra generalised transport cost of the five's freight over the closure (million USD)")
    ax.grid(axis="x", color="#DDDDDD", lw=0.6)
    ax.set_axisbelow(True)
    used = [c for c in dict.fromkeys(corridor) if c in CORRIDOR_COLOURS]
    handles = corridor_handles(used, lw=6)
    if any(c not in CORRIDOR_COLOURS for c in corridor):
        handles.append(mpl.lines.Line2D([], [], color=FEEDER_COLOUR, lw=6, label="feeder (shared)"))
    ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=False, title="link's corridor")
    ax.set_title(f"Most critical links, one closed at a time ({_title(meta or {})})", fontsize=10, loc="left")
    return fig


def criticality_map(table: pd.DataFrame, net: Network, meta: Mapping[str, Any] | None = None) -> Figure:
    """Map of the network with each closed link coloured by the five's extra cost of its closure.

    The network map (:func:`~corridors.plots.maps.network_map`) is drawn faded; each link
    of the table is drawn over it in a sequential colour scale (both directions of a link:
    the dearer of the two closures), wider the dearer. Links whose closure cost nothing or
    saved money are drawn thin and pale.

    Parameters
    ----------
    table : pandas.DataFrame
        The criticality table (``edges`` holds each link's edge ids, ``;``-separated).
    net : Network
        The network the analysis ran on.
    meta : mapping, optional
        The analysis' ``meta``, for the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = network_map(net)
    axes = fig.axes[:2]
    for ax in axes:
        for line in ax.lines:
            line.set_alpha(0.25)
    cost: dict[tuple, tuple[Any, float]] = {}  # undirected link -> (an edge, million USD)
    for row in table.itertuples():
        for i in str(row.edges).split(";"):
            edge = next(net.edges.loc[[int(i)]].itertuples())
            key = (min(edge.tail_id, edge.head_id), max(edge.tail_id, edge.head_id), edge.mode, edge.via)
            value = float(row.extra_cost_usd) / 1e6
            if key not in cost or value > cost[key][1]:
                cost[key] = (edge, value)
    peak = max((v for _, v in cost.values()), default=0.0)
    norm = mpl.colors.Normalize(vmin=0.0, vmax=peak if peak > 0 else 1.0)
    cmap = mpl.colors.ListedColormap(mpl.colormaps[_CMAP](np.linspace(0.25, 1.0, 256)))  # no near-white
    for edge, value in sorted(cost.values(), key=lambda x: x[1]):
        xy = _lane(net, edge)
        if value <= 0:
            style = {"color": "#9E9E9E", "lw": 1.2, "alpha": 0.9}
        else:
            style = {"color": cmap(norm(value)), "lw": 2.0 + 5.0 * norm(value)}
        for ax in axes:
            ax.plot(xy[:, 0], xy[:, 1], solid_capstyle="round", zorder=4, **style)
    for ax, title in zip(
        axes, ("Criticality of the links closed", "Central Asia, the Caspian and the Caucasus"), strict=True
    ):
        ax.set_title(title, fontsize=11, loc="left")
    bar = fig.colorbar(
        mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, location="right", shrink=0.7, pad=0.01
    )
    bar.set_label("five's extra generalised cost of the closure (million USD)", fontsize=8)
    fig.suptitle(
        f"Chokepoint criticality: each link closed alone ({_title(meta or {})}); grey: no extra cost",
        fontsize=12,
    )
    return fig
