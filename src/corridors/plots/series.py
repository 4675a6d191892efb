"""One run over time: volumes against the history, route shares, dependence, bottlenecks.

The corridor volumes against the observed history, the countries' route shares, their
dependence on Russia, and the bottlenecks with their backlog.

Each function takes a run's Results (duck-typed: this package never imports
:mod:`corridors.results` at run time) and returns a new Figure; nothing touches pyplot or
global state.
"""

from __future__ import annotations

import math
import re
import textwrap
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from corridors.history import definition, load_history, observed
from corridors.network import Network
from corridors.plots.frames import active_corridors, annual_by_corridor, country_shares, quarter_time
from corridors.plots.style import (
    CORRIDOR_COLOURS,
    COUNTRY_NAMES,
    COUNTRY_STYLES,
    FEEDER_COLOUR,
    corridor_label,
    inch_grid,
    run_title,
    shade_observed,
    year_axis,
)
from corridors.vocabulary import C5, CORRIDORS

if TYPE_CHECKING:  # never at run time: results must not import plots, nor plots results
    from corridors.results import Results

__all__ = ["bottleneck_plot", "country_shares_plot", "dependence_plot", "volumes_plot"]

# ---------------------------------------------------------------------------- volumes


def _observed_label(history: pd.DataFrame, name: str) -> str:
    """'observed: <publisher> [source keys]' from a series' scope and source cells."""
    rows = history[history["series"] == name]
    keys = sorted({k.strip() for cell in rows["source"] for k in cell.split(";") if k.strip()})
    match = re.search(r"\(([^()]*)\)\s*$", definition(rows["scope"].iloc[0]))
    who = f" {match.group(1)}" if match else ""
    return f"observed:{who} [{', '.join(keys)}]"


def volumes_plot(res: Results, history: pd.DataFrame | None = None) -> Figure:
    """Annual freight by corridor, and the model against the observed history 2019-2023.

    Left: Mt/yr by corridor (corridors that never carry anything are left out). Right: the
    modelled Middle Corridor tonnes across the Caspian and the Northern (1520) China-EU
    transit in kTEU, with the observed series as black markers and the observed window shaded.

    Parameters
    ----------
    res : Results
        A run; its ``corridors`` table and its observables ``middle_corridor_t`` and
        ``northern_transit_teu`` are read.
    history : pandas.DataFrame, optional
        The observed history (default: the packaged ``history.csv``); its series with no
        points are left out of the right-hand panels.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of three axes: all corridors, the Middle Corridor, the Northern route.
    """
    history = load_history() if history is None else history
    vol = annual_by_corridor(res)
    years = vol.index.to_numpy()
    fig = Figure(figsize=(14, 7.2))
    gs = inch_grid(
        fig, 2, 2, left=0.75, right=0.15, top=0.68, bottom=0.6, wgap=0.95, hgap=0.5, width_ratios=[1.5, 1.0]
    )
    ax = fig.add_subplot(gs[:, 0])
    ax_mid = fig.add_subplot(gs[0, 1])
    ax_north = fig.add_subplot(gs[1, 1], sharex=ax_mid)

    shade_observed(ax, label="observed window 2019-2023")
    for c in active_corridors(vol):
        ax.plot(years, vol[c], color=CORRIDOR_COLOURS[c], lw=2.2, marker="o", ms=3.5, label=corridor_label(c))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("year")
    ax.set_ylabel("freight (Mt/yr)")
    ax.set_title("Freight by corridor (annual, pipelines excluded)", loc="left", fontsize=11)
    ax.legend(loc="upper left", fontsize=9, ncol=2, frameon=False)
    year_axis(ax, years)

    panels = (
        (ax_mid, "middle_corridor_t", 1e6, "Mt/yr", "middle",
         "Middle Corridor: freight across the Caspian from and to Kazakhstan",
         "model: both directions, Aktau and Kuryk, crude included"),
        (ax_north, "northern_transit_teu", 1e3, "kTEU/yr", "russian",
         "Northern route: China-EU transit on 1520 track", "model: transit by the russian corridor"),
    )  # fmt: skip
    for a, name, div, unit, corridor, title, model_label in panels:
        shade_observed(a)
        model = res.observable(name) / div
        a.plot(
            model.index,
            model.to_numpy(),
            color=CORRIDOR_COLOURS[corridor],
            lw=2.2,
            marker="o",
            ms=3.5,
            label=model_label,
        )
        obs = observed(history, name) / div
        if len(obs):
            a.plot(
                obs.index,
                obs.to_numpy(),
                ls="",
                marker="D",
                ms=6.5,
                color="#000000",
                zorder=5,
                label=_observed_label(history, name),
            )
        top = max(np.nanmax(model.to_numpy(), initial=0.0), obs.max() if len(obs) else 0.0)
        a.set_ylim(0, 1.45 * top if top > 0 else 1.0)  # headroom for the legend
        a.set_ylabel(unit)
        a.set_title(title, loc="left", fontsize=10)
        a.legend(loc="upper left", fontsize=8, frameon=False)
        year_axis(a, years)
    ax_north.set_xlabel("year")
    ax_mid.tick_params(labelbottom=False)
    fig.suptitle(f"Corridor volumes and the observed history ({run_title(res)})", fontsize=12)
    return fig


# ---------------------------------------------------------------------------- countries


def country_shares_plot(res: Results) -> Figure:
    """Route shares of each Central Asian state's freight (exports and imports), stacked, annual.

    Parameters
    ----------
    res : Results
        A run; its ``countries`` table is read.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of one panel per state of ``C5`` on a shared 0-1 axis, and a legend of
        the corridors that carry some of the states' freight.
    """
    shares = country_shares(res)
    active = [c for c in CORRIDORS if (shares[c] > 0).any()]
    fig = Figure(figsize=(16, 4.8))
    grid = inch_grid(fig, 1, len(C5), left=0.65, right=0.15, top=0.62, bottom=0.9, wgap=0.35)
    axes = grid.subplots(sharex=True, sharey=True)
    for ax, code in zip(axes, C5, strict=True):
        if code in shares.index.get_level_values("country"):
            s = shares.loc[code]
            ax.stackplot(
                s.index.to_numpy(),
                *(s[c].to_numpy() for c in active),
                colors=[CORRIDOR_COLOURS[c] for c in active],
                lw=0,
            )
            years = s.index.to_numpy()
            ax.set_xlim(years[0], years[-1])
            year_axis(ax, years, max_ticks=5)
            ax.grid(False)
        else:
            ax.text(0.5, 0.5, "no freight", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(f"{COUNTRY_NAMES[code]} ({code})", fontsize=10)
        ax.set_xlabel("year")
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel("share of the country's freight (0-1)")
    fig.legend(
        handles=[mpl.patches.Patch(color=CORRIDOR_COLOURS[c], label=corridor_label(c)) for c in active],
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=len(active),
        fontsize=9,
        frameon=False,
    )
    fig.suptitle(f"Route shares by country: exports and imports by tonnage ({run_title(res)})", fontsize=12)
    return fig


def _end_labels(ax, items: list[tuple[float, str, str, float]], gap: float) -> None:
    """Label lines at their right ends (value, text, colour, x), pushed apart by ``gap``."""
    placed: list[float] = []
    for y, label, colour, x in sorted(items):
        y_text = max(y, placed[-1] + gap) if placed else y
        placed.append(y_text)
        ax.annotate(
            label,
            (x, y),
            xytext=(x + 0.35, y_text),
            textcoords="data",
            va="center",
            fontsize=8,
            color=colour,
            fontweight="bold",
        )


def dependence_plot(res: Results) -> Figure:
    """Per state: the share of its freight that goes through Russia, and the Herfindahl index.

    Parameters
    ----------
    res : Results
        A run; the route shares are those of :func:`country_shares_plot`.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels, the Russian share and the Herfindahl index of the corridor shares (1: a
        single route), a line per state labelled at its right end.
    """
    shares = country_shares(res)
    fig = Figure(figsize=(13.5, 5.2))
    ax_ru, ax_hhi = inch_grid(fig, 1, 2, left=0.65, right=0.15, top=0.72, bottom=0.9, wgap=0.85).subplots(
        sharex=True
    )
    ends: dict = {ax_ru: [], ax_hhi: []}
    for code in C5:
        if code not in shares.index.get_level_values("country"):
            continue
        s = shares.loc[code]
        years = s.index.to_numpy()
        style = {**COUNTRY_STYLES[code], "lw": 1.8, "ms": 4.5, "label": f"{COUNTRY_NAMES[code]} ({code})"}
        for ax, values in ((ax_ru, s["russian"].to_numpy()), (ax_hhi, (s**2).sum(axis=1).to_numpy())):
            ax.plot(years, values, **style)
            ends[ax].append((float(values[-1]), code, style["color"], float(years[-1])))
    for ax, items in ends.items():
        _end_labels(ax, items, gap=0.035)
    ax_ru.set_ylim(0, 1.02)
    ax_ru.set_ylabel("share of the country's freight via Russia (0-1)")
    ax_ru.set_title("Dependence on Russian transit", loc="left", fontsize=11)
    ax_hhi.set_ylim(0, 1.02)
    ax_hhi.axhline(1 / len(CORRIDORS), color="#999999", lw=0.8, ls="--")
    ax_hhi.annotate(
        f"1/{len(CORRIDORS)}: equal shares on all {len(CORRIDORS)} corridors",
        (0.01, 1 / len(CORRIDORS)),
        xycoords=("axes fraction", "data"),
        xytext=(0, 3),
        textcoords="offset points",
        fontsize=7,
        color="#777777",
    )
    ax_hhi.set_ylabel("Herfindahl index of corridor shares (1 = one route)")
    ax_hhi.set_title("Route diversification (lower = more diverse)", loc="left", fontsize=11)
    years = sorted(shares.index.get_level_values("year").unique())
    for ax in (ax_ru, ax_hhi):
        ax.set_xlabel("year")
        year_axis(ax, years)
        ax.set_xlim(years[0] - 0.3, years[-1] + 1.2)
    handles, labels = ax_ru.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=len(handles),
        fontsize=9,
        frameon=False,
    )
    fig.suptitle(
        f"Dependence and diversification, exports and imports by tonnage ({run_title(res)})", fontsize=12
    )
    return fig


# ---------------------------------------------------------------------------- bottlenecks


def _link_name(net: Network, edge: int) -> str:
    e = net.edges.loc[edge]
    return f"{e['tail']} > {e['head']}"


def link_service(edge) -> str:
    """Name what a link is and carries: a rail ferry, a container feeder, a crude tanker, ...

    Parameters
    ----------
    edge : pandas.Series or namedtuple
        A row of ``Network.edges`` (``mode``, ``commodities``, ``capacity_hard``).

    Returns
    -------
    str
        ``"rail ferry"``, ``"crude tanker"``, ``"container feeder"`` (a Caspian or Black Sea
        container ship of limited capacity), ``"bulk ship"``, ``"cargo ship"``, or the mode
        (``"rail"``, ``"road"``, ``"pipeline"``).
    """
    goods = set(edge["commodities"] if isinstance(edge, pd.Series) else edge.commodities)
    hard = bool(edge["capacity_hard"] if isinstance(edge, pd.Series) else edge.capacity_hard)
    mode = edge["mode"] if isinstance(edge, pd.Series) else edge.mode
    if mode == "ferry":
        return "rail ferry"
    if mode != "sea":
        return mode
    if goods == {"crude"}:
        return "crude tanker"
    if "containers" in goods:
        return "container feeder" if hard else "cargo ship"
    return "bulk ship"


def _link_kind(net: Network, edge: int) -> str:
    e = net.edges.loc[edge]
    corridor = f"{corridor_label(e['corridor'])} corridor" if e["corridor"] else "feeder link"
    carried = set(e["commodities"])
    everything = set(net.edges["commodities"].explode().dropna()) - {"crude"}
    goods = (
        "all but crude" if carried == everything else ", ".join(c.replace("_", " ") for c in e["commodities"])
    )
    return f"{corridor}, edge {edge}, carries {goods}"


_LINKS_TOP = 1.3  # inches above the link panels: the figure's titles, a panel's title of up to three lines
_LINK_H = 2.1  # inches: a link panel's height
_LINK_GAP = 1.0  # inches between rows of link panels: tick labels, x label, the next titles
_LINK_TITLE_CHARS = 58  # a panel title's lines wrap here, so as not to run into the next panel


def bottleneck_plot(res: Results, net: Network, top: int = 6) -> Figure:
    """Utilisation and load ratio of the most loaded hard-capacity links, and backlog, quarterly.

    One small panel per link for the ``top`` hard-capacity links (ports, ferries, borders,
    transshipment yards) with the highest peak load ratio (offered load / capacity), in the
    link's corridor colour (feeders grey): utilisation (served / capacity) as a filled area, the
    load ratio as a line, capacity (1) dashed. Below, the backlog by corridor: freight left
    waiting at the end of each quarter.

    Parameters
    ----------
    res : Results
        A run; its ``edges`` and ``corridors`` tables are read.
    net : Network
        The network the run ran on (which links have a hard capacity).
    top : int
        How many links to show.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of ``top`` link panels and a backlog panel.
    """
    e = res.edges
    hard = net.edges.index[net.edges["capacity_hard"] & net.edges["capacity_t_per_quarter"].notna()]
    peak = e[e["edge"].isin(hard)].groupby("edge")["load_ratio"].max()
    links = [int(i) for i in peak.sort_values(ascending=False, kind="stable").index[:top]]
    ncol = 3
    nrow = max(1, math.ceil(len(links) / ncol))
    # Fixed places, in inches from the top: the titles, the link panels (two-line titles), their
    # legend, then the backlog panel.
    height = 3.0 * nrow + 4.6
    links_end = _LINKS_TOP + nrow * _LINK_H + (nrow - 1) * _LINK_GAP
    fig = Figure(figsize=(14, height))
    gs = inch_grid(
        fig,
        nrow,
        ncol,
        left=0.75,
        right=0.15,
        top=_LINKS_TOP,
        bottom=height - links_end,
        wgap=0.75,
        hgap=_LINK_GAP,
    )
    c = res.corridors
    years = sorted(c["year"].unique())
    first = None
    for i, edge in enumerate(links):
        ax = fig.add_subplot(gs[i // ncol, i % ncol], sharex=first)
        first = first or ax
        rows = e[e["edge"] == edge].sort_values("step")
        t = quarter_time(rows).to_numpy()
        colour = CORRIDOR_COLOURS.get(net.edges.loc[edge, "corridor"], FEEDER_COLOUR)
        ax.fill_between(
            t,
            rows["utilisation"].to_numpy(),
            color=colour,
            alpha=0.35,
            lw=0,
            step="post",
            label="utilisation (served / capacity)",
        )
        ax.plot(
            t,
            rows["load_ratio"].to_numpy(),
            color=colour,
            lw=1.4,
            drawstyle="steps-post",
            label="load ratio (offered / capacity)",
        )
        ax.axhline(1.0, color="#333333", lw=0.8, ls="--", label="capacity")
        ax.set_ylim(0, max(1.2, 1.08 * float(rows["load_ratio"].max())))
        ax.set_title(
            f"{_link_name(net, edge)}: {link_service(net.edges.loc[edge])}\n"
            + textwrap.fill(_link_kind(net, edge), _LINK_TITLE_CHARS),
            loc="left",
            fontsize=8.5,
        )
        year_axis(ax, years, max_ticks=5)
        if i % ncol == 0:
            ax.set_ylabel("ratio to capacity")
        if i // ncol == nrow - 1 or i + ncol >= len(links):
            ax.set_xlabel("year (quarterly)", fontsize=8)
    fig.text(
        0.01,
        1 - 0.55 / height,
        f"The {len(links)} hard-capacity links with the highest peak load ratio, quarterly",
        ha="left",
        va="center",
        fontsize=11,
    )
    if first is not None:
        handles, labels = first.get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, 1 - (links_end + 0.5) / height),
            ncol=3,
            fontsize=9,
            frameon=False,
        )
    backlog = inch_grid(fig, 1, 1, left=0.75, right=0.15, top=links_end + 1.25, bottom=0.6)
    ax_b = fig.add_subplot(backlog[0, 0], sharex=first)
    active = [k for k in CORRIDORS if (c.loc[c["corridor"] == k, "backlog_t"] > 0).any()]
    for k in active:
        rows = c[c["corridor"] == k].sort_values("step")
        ax_b.plot(
            quarter_time(rows).to_numpy(),
            rows["backlog_t"].to_numpy() / 1e3,
            color=CORRIDOR_COLOURS[k],
            lw=1.7,
            drawstyle="steps-post",
            label=corridor_label(k),
        )
    ax_b.set_ylim(bottom=0)
    ax_b.set_ylabel("backlog (kt at quarter end)")
    ax_b.set_title(
        "Freight waiting for capacity at the end of each quarter, by corridor", loc="left", fontsize=11
    )
    ax_b.set_xlabel("year (quarterly steps)")
    if active:
        ax_b.legend(
            loc="upper left", fontsize=8, frameon=False, title="corridor", title_fontsize=8, ncol=len(active)
        )
    else:
        ax_b.text(0.5, 0.5, "no backlog in this run", ha="center", va="center", transform=ax_b.transAxes)
        ax_b.legend(handles=[], title="no corridor has a backlog", frameon=False, fontsize=8)
    year_axis(ax_b, years)
    fig.suptitle(f"Bottlenecks and backlog ({run_title(res)})", fontsize=12)
    return fig
