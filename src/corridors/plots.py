"""Matplotlib figures. One fixed, colour-blind-safe colour per corridor everywhere."""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from corridors.history import definition, load_history, observed
from corridors.network import Network, default_data_dir
from corridors.vocabulary import BASE_YEAR, C5, CORRIDORS, LAST_OBSERVED_YEAR

if TYPE_CHECKING:  # never at run time: results must not import plots, nor plots results
    from corridors.results import Results

__all__ = [
    "CORRIDOR_COLOURS",
    "FEEDER_COLOUR",
    "bottleneck_plot",
    "compare",
    "compare_plot",
    "country_shares_plot",
    "dependence_plot",
    "fan_chart",
    "flow_map",
    "network_map",
    "png_bytes",
    "run_plots",
    "volumes_plot",
]

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
C5_ISO3 = ("KAZ", "KGZ", "TJK", "TKM", "UZB")  # the five on the base map (its ISO 3166 alpha-3 codes)

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


def png_bytes(fig: Figure, *, dpi: int = 120) -> bytes:
    """A figure rendered as PNG, in memory (callers write it atomically)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


@cache
def _basemap() -> dict:
    path = default_data_dir() / "basemap_countries.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _draw_countries(ax) -> None:
    for country in _basemap()["countries"]:
        c5 = country["iso_a3"] in C5_ISO3
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


# ============================================================================ result plots
#
# Each function takes a run's Results (duck-typed: this module never imports corridors.results
# at run time) and returns a new Figure; nothing touches pyplot or global state.

COUNTRY_NAMES = {
    "KZ": "Kazakhstan",
    "KG": "Kyrgyzstan",
    "TJ": "Tajikistan",
    "TM": "Turkmenistan",
    "UZ": "Uzbekistan",
}
# Countries are not corridors: they are drawn in neutral tones and told apart by marker and dash,
# so that a colour always means a corridor.
COUNTRY_STYLES: dict[str, dict] = {
    "KZ": {"color": "#000000", "marker": "o", "ls": "-"},
    "KG": {"color": "#6E6E6E", "marker": "s", "ls": "--"},
    "TJ": {"color": "#000000", "marker": "^", "ls": ":"},
    "TM": {"color": "#6E6E6E", "marker": "D", "ls": "-."},
    "UZ": {"color": "#A8A8A8", "marker": "v", "ls": "-"},
}
HISTORY_SHADE = "#E4E4E4"


def _name(corridor: str) -> str:
    return corridor.replace("_", "-")


def _run_title(res: Results) -> str:
    meta = getattr(res, "meta", {}) or {}
    name = next((v for v in (meta.get("scenario"), meta.get("name")) if isinstance(v, str) and v), "run")
    seed = meta.get("seed")
    return f"{name}, seed {seed}" if seed is not None else str(name)


def _annual_by_corridor(res: Results) -> pd.DataFrame:
    """Mt per year: index year, one column per corridor in CORRIDORS order."""
    vol = res.corridors.groupby(["year", "corridor"])["volume_t"].sum().unstack(fill_value=0.0)
    return vol.reindex(columns=list(CORRIDORS), fill_value=0.0) / 1e6


def _active(volumes: pd.DataFrame) -> list[str]:
    """Corridors that carry anything (closed corridors with no volume are left out)."""
    return [c for c in CORRIDORS if c in volumes.columns and (volumes[c] > 0).any()]


def _quarter_time(table: pd.DataFrame) -> pd.Series:
    return table["year"] + (table["quarter"] - 1) / 4.0


def _corridor_handles(corridors: Sequence[str], lw: float = 2.2) -> list[Line2D]:
    return [Line2D([], [], color=CORRIDOR_COLOURS[c], lw=lw, label=_name(c)) for c in corridors]


def _shade_observed(ax, *, label: str | None = None, annual: bool = True) -> None:
    """Grey band over the observed window 2019-2023 (annual points sit on whole years)."""
    lo, hi = (
        (BASE_YEAR - 0.5, LAST_OBSERVED_YEAR + 0.5)
        if annual
        else (float(BASE_YEAR), LAST_OBSERVED_YEAR + 1.0)
    )
    ax.axvspan(lo, hi, color=HISTORY_SHADE, zorder=0, lw=0, label=label)


def _year_axis(ax, years, *, max_ticks: int = 10) -> None:
    years = np.asarray(sorted(years))
    step = next(s for s in (1, 2, 4, 5, 10, 20, 50) if len(years) <= s * max_ticks or s == 50)
    ticks = [y for y in years if (y - years[0]) % step == 0]
    ax.set_xticks(ticks)
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", color="#DDDDDD", lw=0.6)
    ax.set_axisbelow(True)


def _country_shares(res: Results) -> pd.DataFrame:
    """Annual share of each corridor in each Central Asian country's freight (all directions).

    Index (country, year), one column per corridor; pipelines are not in the country table.
    """
    c = res.countries[res.countries["country"].isin(C5)]
    g = c.groupby(["country", "year", "corridor"])["volume_t"].sum().unstack(fill_value=0.0)
    g = g.reindex(columns=list(CORRIDORS), fill_value=0.0)
    total = g.sum(axis=1)
    return g.div(total.where(total > 0), axis=0).fillna(0.0)


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
    transit in kTEU, with the observed series (``history``, default the packaged
    ``history.csv``) as black markers and the observed window shaded.
    """
    history = load_history() if history is None else history
    vol = _annual_by_corridor(res)
    years = vol.index.to_numpy()
    fig = Figure(figsize=(14, 7.2), layout="constrained")
    gs = fig.add_gridspec(2, 2, width_ratios=[1.5, 1.0])
    ax = fig.add_subplot(gs[:, 0])
    ax_mid = fig.add_subplot(gs[0, 1])
    ax_north = fig.add_subplot(gs[1, 1], sharex=ax_mid)

    _shade_observed(ax, label="observed window 2019-2023")
    for c in _active(vol):
        ax.plot(years, vol[c], color=CORRIDOR_COLOURS[c], lw=2.2, marker="o", ms=3.5, label=_name(c))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("year")
    ax.set_ylabel("freight (Mt/yr)")
    ax.set_title("Freight by corridor (annual, pipelines excluded)", loc="left", fontsize=11)
    ax.legend(loc="upper left", fontsize=9, ncol=2, frameon=False)
    _year_axis(ax, years)

    panels = (
        (ax_mid, "middle_corridor_t", 1e6, "Mt/yr", "middle",
         "Middle Corridor: freight across the Caspian from Kazakhstan", "model: westbound from Aktau and Kuryk"),
        (ax_north, "northern_transit_teu", 1e3, "kTEU/yr", "russian",
         "Northern route: China-EU transit on 1520 track", "model: transit by the russian corridor"),
    )  # fmt: skip
    for a, name, div, unit, corridor, title, model_label in panels:
        _shade_observed(a)
        model = res.observable(name) / div
        a.plot(model.index, model.to_numpy(), color=CORRIDOR_COLOURS[corridor], lw=2.2, marker="o", ms=3.5,
               label=model_label)  # fmt: skip
        obs = observed(history, name) / div
        if len(obs):
            a.plot(obs.index, obs.to_numpy(), ls="", marker="D", ms=6.5, color="#000000", zorder=5,
                   label=_observed_label(history, name))  # fmt: skip
        top = max(np.nanmax(model.to_numpy(), initial=0.0), obs.max() if len(obs) else 0.0)
        a.set_ylim(0, 1.45 * top if top > 0 else 1.0)  # headroom for the legend
        a.set_ylabel(unit)
        a.set_title(title, loc="left", fontsize=10)
        a.legend(loc="upper left", fontsize=8, frameon=False)
        _year_axis(a, years)
    ax_north.set_xlabel("year")
    ax_mid.tick_params(labelbottom=False)
    fig.suptitle(f"Corridor volumes and the observed history ({_run_title(res)})", fontsize=12)
    return fig


# ---------------------------------------------------------------------------- countries


def country_shares_plot(res: Results) -> Figure:
    """Route shares of each Central Asian state's freight (exports and imports), stacked, annual."""
    shares = _country_shares(res)
    active = [c for c in CORRIDORS if (shares[c] > 0).any()]
    fig = Figure(figsize=(16, 4.8), layout="constrained")
    axes = fig.subplots(1, len(C5), sharex=True, sharey=True)
    for ax, code in zip(axes, C5, strict=True):
        if code in shares.index.get_level_values("country"):
            s = shares.loc[code]
            ax.stackplot(s.index.to_numpy(), *(s[c].to_numpy() for c in active),
                         colors=[CORRIDOR_COLOURS[c] for c in active], lw=0)  # fmt: skip
            years = s.index.to_numpy()
            ax.set_xlim(years[0], years[-1])
            _year_axis(ax, years, max_ticks=5)
            ax.grid(False)
        else:
            ax.text(0.5, 0.5, "no freight", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(f"{COUNTRY_NAMES[code]} ({code})", fontsize=10)
        ax.set_xlabel("year")
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel("share of the country's freight (0-1)")
    fig.legend(handles=[mpl.patches.Patch(color=CORRIDOR_COLOURS[c], label=_name(c)) for c in active],
               loc="outside lower center", ncol=len(active), fontsize=9, frameon=False)  # fmt: skip
    fig.suptitle(f"Route shares by country: exports and imports by tonnage ({_run_title(res)})", fontsize=12)
    return fig


def _end_labels(ax, items: list[tuple[float, str, str, float]], gap: float) -> None:
    """Label lines at their right ends (value, text, colour, x), pushed apart by ``gap``."""
    placed: list[float] = []
    for y, label, colour, x in sorted(items):
        y_text = max(y, placed[-1] + gap) if placed else y
        placed.append(y_text)
        ax.annotate(label, (x, y), xytext=(x + 0.35, y_text), textcoords="data", va="center", fontsize=8,
                    color=colour, fontweight="bold")  # fmt: skip


def dependence_plot(res: Results) -> Figure:
    """Per state: the share of its freight that goes through Russia, and the Herfindahl index."""
    shares = _country_shares(res)
    fig = Figure(figsize=(13.5, 5.2), layout="constrained")
    ax_ru, ax_hhi = fig.subplots(1, 2, sharex=True)
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
    ax_hhi.annotate(f"1/{len(CORRIDORS)}: equal shares on all {len(CORRIDORS)} corridors", (0.01, 1 / len(CORRIDORS)), xycoords=("axes fraction", "data"),
                    xytext=(0, 3), textcoords="offset points", fontsize=7, color="#777777")  # fmt: skip
    ax_hhi.set_ylabel("Herfindahl index of corridor shares (1 = one route)")
    ax_hhi.set_title("Route diversification (lower = more diverse)", loc="left", fontsize=11)
    years = sorted(shares.index.get_level_values("year").unique())
    for ax in (ax_ru, ax_hhi):
        ax.set_xlabel("year")
        _year_axis(ax, years)
        ax.set_xlim(years[0] - 0.3, years[-1] + 1.2)
    handles, labels = ax_ru.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(handles), fontsize=9, frameon=False)
    fig.suptitle(f"Dependence and diversification, exports and imports by tonnage ({_run_title(res)})",
                 fontsize=12)  # fmt: skip
    return fig


# ---------------------------------------------------------------------------- bottlenecks


def _link_name(net: Network, edge: int) -> str:
    e = net.edges.loc[edge]
    return f"{e['tail']} > {e['head']}"


def _link_kind(net: Network, edge: int) -> str:
    e = net.edges.loc[edge]
    corridor = _name(e["corridor"]) if e["corridor"] else "feeder"
    return f"{corridor}, {e['mode']}, edge {edge}"


def bottleneck_plot(res: Results, net: Network, top: int = 6) -> Figure:
    """Utilisation and load ratio of the most loaded hard-capacity links, and backlog, quarterly.

    One small panel per link for the ``top`` hard-capacity links (ports, ferries, borders,
    transshipment yards) with the highest peak load ratio (offered load / capacity), in the
    link's corridor colour (feeders grey): utilisation (served / capacity) as a filled area, the
    load ratio as a line, capacity (1) dashed. Below, the backlog by corridor: freight left
    waiting at the end of each quarter.
    """
    e = res.edges
    hard = net.edges.index[net.edges["capacity_hard"] & net.edges["capacity_t_per_quarter"].notna()]
    peak = e[e["edge"].isin(hard)].groupby("edge")["load_ratio"].max()
    links = [int(i) for i in peak.sort_values(ascending=False, kind="stable").index[:top]]
    ncol = 3
    nrow = max(1, math.ceil(len(links) / ncol))
    fig = Figure(figsize=(14, 3.0 * nrow + 4.4), layout="constrained")
    sf_links, sf_backlog = fig.subfigures(2, 1, height_ratios=[3.0 * nrow + 0.9, 3.5])
    gs = sf_links.add_gridspec(nrow, ncol)
    c = res.corridors
    years = sorted(c["year"].unique())
    first = None
    for i, edge in enumerate(links):
        ax = sf_links.add_subplot(gs[i // ncol, i % ncol], sharex=first)
        first = first or ax
        rows = e[e["edge"] == edge].sort_values("step")
        t = _quarter_time(rows).to_numpy()
        colour = CORRIDOR_COLOURS.get(net.edges.loc[edge, "corridor"], FEEDER_COLOUR)
        ax.fill_between(t, rows["utilisation"].to_numpy(), color=colour, alpha=0.35, lw=0, step="post",
                        label="utilisation (served / capacity)")  # fmt: skip
        ax.plot(t, rows["load_ratio"].to_numpy(), color=colour, lw=1.4, drawstyle="steps-post",
                label="load ratio (offered / capacity)")  # fmt: skip
        ax.axhline(1.0, color="#333333", lw=0.8, ls="--", label="capacity")
        ax.set_ylim(0, max(1.2, 1.08 * float(rows["load_ratio"].max())))
        ax.set_title(f"{_link_name(net, edge)}\n({_link_kind(net, edge)})", loc="left", fontsize=9)
        _year_axis(ax, years, max_ticks=5)
        if i % ncol == 0:
            ax.set_ylabel("ratio to capacity")
        if i // ncol == nrow - 1 or i + ncol >= len(links):
            ax.set_xlabel("year (quarterly)", fontsize=8)
    sf_links.suptitle(f"The {len(links)} hard-capacity links with the highest peak load ratio, quarterly",
                      x=0.01, ha="left", fontsize=11)  # fmt: skip
    if first is not None:
        handles, labels = first.get_legend_handles_labels()
        sf_links.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=9, frameon=False)
    ax_b = sf_backlog.add_subplot(1, 1, 1, sharex=first)
    active = [k for k in CORRIDORS if (c.loc[c["corridor"] == k, "backlog_t"] > 0).any()]
    for k in active:
        rows = c[c["corridor"] == k].sort_values("step")
        ax_b.plot(_quarter_time(rows).to_numpy(), rows["backlog_t"].to_numpy() / 1e3, color=CORRIDOR_COLOURS[k],
                  lw=1.7, drawstyle="steps-post", label=_name(k))  # fmt: skip
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
    _year_axis(ax_b, years)
    fig.suptitle(f"Bottlenecks and backlog ({_run_title(res)})", fontsize=12)
    return fig


# ---------------------------------------------------------------------------- flow map


def _nice(value: float) -> float:
    """The largest of 1, 2, 5 x 10^k not above ``value``."""
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
        ax.annotate(text, (n["lon"], n["lat"]), xytext=(3, 2), textcoords="offset points", fontsize=7, zorder=6,
                    bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.6})  # fmt: skip
        if len(boxes) >= most:
            break


def flow_map(res: Results, net: Network, year: int | None = None) -> Figure:
    """Map of one year's freight: line width proportional to the flow on each link.

    Flows are ``res.edges.flow_t`` summed over the year's quarters and over both directions of
    a link; gateway links in their corridor's colour, feeders grey, links with no flow as thin
    light lines, pipelines (exogenous, not to scale) dotted. Default year: the last.
    """
    e = res.edges
    years = sorted(e["year"].unique())
    year = int(years[-1] if year is None else year)
    if year not in years:
        raise ValueError(f"flow_map: year {year} is not in the run ({years[0]}-{years[-1]})")
    flow = e[e["year"] == year].groupby("edge")["flow_t"].sum().reindex(net.edges.index, fill_value=0.0)
    links: dict[tuple, list] = {}  # undirected link -> [a representative edge, Mt/yr]
    for edge in net.edges.itertuples():
        key = (min(edge.tail_id, edge.head_id), max(edge.tail_id, edge.head_id), edge.gateway, edge.mode)
        entry = links.setdefault(key, [edge, 0.0])
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
    world_ax, zoom_ax = fig.subplots(1, 2, width_ratios=[1.05, 1.0])
    world = (-20.0, 135.0, -40.0, 66.0)
    zoom = (26.0, 90.0, 30.0, 57.0)
    used: set[str] = set()
    for ax, extent, title in (
        (world_ax, world, "The whole network"),
        (zoom_ax, zoom, "Central Asia, the Caspian and the Caucasus"),
    ):
        _draw_countries(ax)
        for edge, mt in sorted(links.values(), key=lambda x: -x[1]):
            xy = _lane(net, edge)
            if edge.mode == "pipeline":
                ax.plot(xy[:, 0], xy[:, 1], color=PIPELINE_COLOUR, lw=1.0, ls=(0, (1, 1.5)), zorder=2)
                continue
            corridor = CORRIDORS[edge.gateway] if edge.gateway >= 0 else ""
            if mt <= 0:
                ax.plot(xy[:, 0], xy[:, 1], color="#BBBBBB", lw=0.5, zorder=1)
                continue
            used.add(corridor)
            ax.plot(xy[:, 0], xy[:, 1], color=CORRIDOR_COLOURS.get(corridor, FEEDER_COLOUR),
                    lw=max(0.8, mt * scale), solid_capstyle="butt", alpha=0.85, zorder=3)  # fmt: skip
        _draw_nodes(ax, net, labels=False, extent=extent)
        _frame(ax, extent, title)
    _label_busiest(zoom_ax, net, through, zoom)
    x0, x1, y0, y1 = zoom
    world_ax.add_patch(
        mpl.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=0.8, ec="#444444", zorder=7)
    )
    handles = _corridor_handles([c for c in CORRIDORS if c in used], lw=4)
    handles += [Line2D([], [], color=FEEDER_COLOUR, lw=4, label="feeder (shared)")]
    handles += [
        Line2D([], [], color="#BBBBBB", lw=0.5, label="no flow"),
        Line2D([], [], color=PIPELINE_COLOUR, lw=1.0, ls=(0, (1, 1.5)), label="pipeline (not to scale)"),
    ]
    widths = sorted({_nice(peak * f) for f in (0.08, 0.3, 1.0)} - {0.0})
    width_handles = [
        Line2D([], [], color="#444444", lw=max(0.8, w * scale), solid_capstyle="butt", label=f"{w:g} Mt/yr")
        for w in widths
    ]
    fig.legend(handles=handles, loc="outside lower left", ncol=4, fontsize=8, frameon=False, title="colour: corridor",
               title_fontsize=8)  # fmt: skip
    fig.legend(handles=width_handles, loc="outside lower right", ncol=len(width_handles), fontsize=8,
               frameon=False, title="width: freight on the link, both directions", title_fontsize=8,
               handlelength=4)  # fmt: skip
    fig.suptitle(
        f"Freight flows by link, {year}: width proportional to Mt/yr ({_run_title(res)})", fontsize=12
    )
    fig.text(1.0, 0.0, "Basemap: Natural Earth 1:110m (public domain)", ha="right", va="bottom", fontsize=6,
             color="#666666")  # fmt: skip
    return fig


# ---------------------------------------------------------------------------- comparison


def compare_plot(results: Sequence[Results], labels: Sequence[str]) -> Figure:
    """Runs side by side: annual freight by corridor, one column per run, shared axes.

    With two or more runs a bottom row shows each run minus the first (Mt/yr); the cell under
    the first run holds the legend.
    """
    results, labels = list(results), list(labels)
    if not results:
        raise ValueError("compare_plot: no runs given")
    if len(labels) != len(results):
        raise ValueError(f"compare_plot: {len(results)} runs but {len(labels)} labels")
    vols = [_annual_by_corridor(r) for r in results]
    all_years = sorted(set().union(*(v.index for v in vols)))
    active = [c for c in CORRIDORS if any(c in _active(v) for v in vols)]
    n = len(results)
    diff_row = n >= 2
    fig = Figure(figsize=(max(7.0, 4.3 * n + 0.6), 7.6 if diff_row else 4.8), layout="constrained")
    gs = fig.add_gridspec(2 if diff_row else 1, n, height_ratios=[1.5, 1.0] if diff_row else None)
    top: list = []
    for i, (vol, label) in enumerate(zip(vols, labels, strict=True)):
        ax = fig.add_subplot(gs[0, i], sharex=top[0] if top else None, sharey=top[0] if top else None)
        top.append(ax)
        for c in active:
            ax.plot(
                vol.index.to_numpy(), vol[c].to_numpy(), color=CORRIDOR_COLOURS[c], lw=2.0, label=_name(c)
            )
        ax.set_title(label, fontsize=11)
        _year_axis(ax, all_years, max_ticks=6)
        if i == 0:
            ax.set_ylabel("freight (Mt/yr)")
        else:
            ax.tick_params(labelleft=False)
        if not diff_row:
            ax.set_xlabel("year")
    top[0].set_ylim(bottom=0)
    if diff_row:
        holder = fig.add_subplot(gs[1, 0])
        holder.axis("off")
        holder.legend(handles=_corridor_handles(active), loc="upper center", fontsize=9, frameon=False,
                      title="corridor", title_fontsize=9)  # fmt: skip
        holder.text(0.5, 0.08, f"bottom row: each run minus\n'{labels[0]}', same years only", ha="center",
                    va="bottom", fontsize=9, transform=holder.transAxes, color="#444444")  # fmt: skip
        base = vols[0]
        diff_axes: list = []
        for i in range(1, n):
            ax = fig.add_subplot(gs[1, i], sharex=top[0], sharey=diff_axes[0] if diff_axes else None)
            diff_axes.append(ax)
            common = vols[i].index.intersection(base.index)
            d = vols[i].loc[common] - base.loc[common]
            ax.axhline(0.0, color="#333333", lw=0.8)
            for c in active:
                ax.plot(common.to_numpy(), d[c].to_numpy(), color=CORRIDOR_COLOURS[c], lw=1.8, label=_name(c))
            ax.set_title(f"{labels[i]} minus {labels[0]}", fontsize=10)
            ax.set_xlabel("year")
            _year_axis(ax, all_years, max_ticks=6)
            if i == 1:
                ax.set_ylabel("difference (Mt/yr)")
            else:
                ax.tick_params(labelleft=False)
        for ax in top:
            ax.tick_params(labelbottom=True)
    else:
        top[0].legend(loc="upper left", fontsize=9, frameon=False)
    fig.suptitle("Freight by corridor, run by run", fontsize=12)
    return fig


# ---------------------------------------------------------------------------- ensembles

_STYLES = ("-", "--", ":", "-.")


def _fan_data(item) -> tuple[pd.DataFrame, int]:
    """Quantiles of annual volume by year and corridor (Mt/yr), and the number of runs."""
    if hasattr(item, "quantiles"):  # an EnsembleResults
        q = item.quantiles("volume_t")
        runs = item.runs
    else:  # one run: every quantile is its line
        v = item.annual_volumes()
        q = v[["year", "corridor"]].copy()
        for name in ("q0.05", "q0.25", "q0.5", "q0.75", "q0.95"):
            q[name] = v["volume_t"].to_numpy()
        runs = 1
    cols = [c for c in q.columns if c.startswith("q")]
    q[cols] = q[cols] / 1e6
    return q, runs


def _overtaking(item, a: str, b: str) -> pd.DataFrame:
    """year, p_overtaken_by: the share of runs in which ``a`` carried more than ``b`` by then."""
    if hasattr(item, "exceedance"):
        return item.exceedance(a, b)[["year", "p_overtaken_by"]]
    w = item.annual_volumes().pivot(index="year", columns="corridor", values="volume_t")
    ever = (w[a] > w[b]).cummax().astype(float)
    return pd.DataFrame({"year": w.index.to_numpy(), "p_overtaken_by": ever.to_numpy()})


def fan_chart(
    items: Sequence, labels: Sequence[str], *, overtake: tuple[str, str] = ("middle", "russian")
) -> Figure:
    """Ensembles (or single runs) as fan charts: one panel per corridor, and overtaking odds.

    Each corridor panel shows every item's median (line style by item) with its 50% and
    90% bands (darker and lighter); the last panel the probability that corridor
    ``overtake[0]`` has carried more than ``overtake[1]`` in some year up to each year.
    """
    items, labels = list(items), list(labels)
    if not items:
        raise ValueError("fan_chart: nothing to draw")
    if len(labels) != len(items):
        raise ValueError(f"fan_chart: {len(items)} items but {len(labels)} labels")
    if len(items) > len(_STYLES):
        raise ValueError(f"fan_chart: at most {len(_STYLES)} ensembles in one figure, got {len(items)}")
    fans = [_fan_data(it) for it in items]
    active = [c for c in CORRIDORS if any((q.loc[q["corridor"] == c, "q0.95"] > 0).any() for q, _ in fans)]
    n_panels = len(active) + 1
    ncols = min(3, n_panels)
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(4.4 * ncols, 3.4 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    years = sorted(set().union(*(set(q["year"]) for q, _ in fans)))
    for ax, c in zip(axes, active, strict=False):
        colour = CORRIDOR_COLOURS[c]
        for (q, _), style in zip(fans, _STYLES, strict=False):
            k = q[q["corridor"] == c].sort_values("year")
            x = k["year"].to_numpy()
            ax.fill_between(x, k["q0.05"], k["q0.95"], color=colour, alpha=0.15, lw=0)
            ax.fill_between(x, k["q0.25"], k["q0.75"], color=colour, alpha=0.3, lw=0)
            ax.plot(x, k["q0.5"], color=colour, lw=2.0, ls=style)
        ax.set_title(_name(c), fontsize=11, color=colour)
        ax.set_ylabel("freight (Mt/yr)")
        ax.set_ylim(bottom=0)
        _year_axis(ax, years, max_ticks=6)
        _shade_observed(ax)
    ax = axes[len(active)]
    a, b = overtake
    for item, style, label in zip(items, _STYLES, labels, strict=False):
        p = _overtaking(item, a, b)
        ax.step(p["year"], p["p_overtaken_by"], where="mid", color="#333333", lw=2.0, ls=style, label=label)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("probability")
    ax.set_title(f"P({_name(a)} has passed {_name(b)})", fontsize=11)
    _year_axis(ax, years, max_ticks=6)
    for extra in axes[len(active) + 1 :]:
        extra.axis("off")
    handles = [Line2D([], [], color="#333333", lw=2.0, ls=style, label=f"{label} ({runs} runs)")
               for (_, runs), style, label in zip(fans, _STYLES, labels, strict=False)]  # fmt: skip
    handles += [mpl.patches.Patch(color="#777777", alpha=0.45, label="50% of runs"),
                mpl.patches.Patch(color="#777777", alpha=0.15, label="90% of runs")]  # fmt: skip
    fig.legend(
        handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=9, frameon=False
    )
    fig.suptitle("Freight by corridor: median, 50% and 90% bands over the runs", fontsize=12)
    return fig


def compare(items: Sequence, labels: Sequence[str] | None = None, *,
            overtake: tuple[str, str] = ("middle", "russian")) -> Figure:  # fmt: skip
    """Compare runs or ensembles in one figure.

    Parameters
    ----------
    items : sequence of Results or EnsembleResults
        Single runs only: :func:`compare_plot` (two or more runs side by side). With any
        ensemble: :func:`fan_chart` (median and bands per corridor, overtaking odds).
    labels : sequence of str, optional
        One per item (default: each one's scenario name, or its position).
    overtake : (str, str)
        The corridors of the overtaking panel of a fan chart.
    """
    items = list(items)
    if labels is None:
        labels = [str(getattr(it, "meta", {}).get("scenario") or f"#{i + 1}") for i, it in enumerate(items)]
        if len(set(labels)) < len(labels):
            labels = [f"{lab} #{i + 1}" for i, lab in enumerate(labels)]
    if any(hasattr(it, "quantiles") for it in items):
        return fan_chart(items, labels, overtake=overtake)
    return compare_plot(items, labels)


# ---------------------------------------------------------------------------- all of a run


def run_plots(res: Results, net: Network) -> dict[str, Figure]:
    """The standard figures of one run, keyed by the PNG file name to write them to."""
    return {
        "volumes.png": volumes_plot(res),
        "country_shares.png": country_shares_plot(res),
        "dependence.png": dependence_plot(res),
        "bottlenecks.png": bottleneck_plot(res, net),
        "flow_map.png": flow_map(res, net),
    }
