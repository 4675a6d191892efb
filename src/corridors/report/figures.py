"""The report's figures: interactive plotly figures, and the package's matplotlib maps as SVG.

The plotly figures read the tables through the package's own functions
(:func:`corridors.plots.frames.annual_by_corridor`, :func:`~corridors.plots.frames.country_shares`,
:meth:`Results.observable <corridors.results.Results.observable>`,
:meth:`EnsembleResults.quantiles <corridors.results.EnsembleResults.quantiles>`,
:func:`corridors.history.observed`) and draw in the corridor colours of
:mod:`corridors.plots.style`. The flow map and the bottlenecks are the matplotlib figures
of :mod:`corridors.plots`, written as SVG (:func:`svg_data_uri`). Nothing here fetches
anything: the HTML page embeds plotly.js once (:mod:`corridors.report.build`).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from corridors.history import observed
from corridors.observables import OBSERVABLES
from corridors.plots.frames import active_corridors, annual_by_corridor, country_shares
from corridors.plots.style import (
    CORRIDOR_COLOURS,
    COUNTRY_NAMES,
    HISTORY_SHADE,
    corridor_label,
    svg_text_bytes,
)
from corridors.results import EnsembleResults, Results
from corridors.vocabulary import BASE_YEAR, C5, CORRIDORS, LAST_OBSERVED_YEAR

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DASHES",
    "fan_figure",
    "history_figure",
    "sankey_figure",
    "shares_figure",
    "svg_data_uri",
    "volumes_figure",
]

DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
"""Line styles that tell the report's runs apart (colour always means a corridor)."""

_FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", "size": 12}
_MODEL_GREY = "#444444"


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        height=height,
        font=_FONT,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
        legend={"orientation": "h", "yanchor": "top", "y": -0.08, "x": 0.0},
    )
    return fig


def _shade_history(fig: go.Figure, **where) -> None:
    """Grey band over the observed window 2019-2023 (annual points sit on whole years)."""
    fig.add_vrect(
        x0=BASE_YEAR - 0.5, x1=LAST_OBSERVED_YEAR + 0.5, fillcolor=HISTORY_SHADE, opacity=0.6,
        line_width=0, layer="below", **where,
    )  # fmt: skip


def volumes_figure(runs: Sequence[Results], labels: Sequence[str]) -> go.Figure:
    """Freight by corridor per year, every run in its own line style.

    Parameters
    ----------
    runs : sequence of Results
        The runs (at most ``len(DASHES)``); their ``corridors`` tables are read.
    labels : sequence of str
        One per run.

    Returns
    -------
    plotly.graph_objects.Figure
        Mt/yr by year, a line per corridor that carries anything and per run.
    """
    fig = go.Figure()
    _shade_history(fig)
    for res, label, dash in zip(runs, labels, DASHES, strict=False):
        vol = annual_by_corridor(res)
        for c in active_corridors(vol):
            fig.add_trace(
                go.Scatter(
                    x=vol.index.to_list(), y=vol[c].round(4).to_list(), mode="lines+markers",
                    name=f"{corridor_label(c)} ({label})" if len(runs) > 1 else corridor_label(c),
                    legendgroup=label, line={"color": CORRIDOR_COLOURS[c], "dash": dash, "width": 2.4},
                    marker={"size": 5},
                    hovertemplate=f"{corridor_label(c)}, {label}<br>%{{x}}: %{{y:.2f}} Mt/yr<extra></extra>",
                )
            )  # fmt: skip
    fig.update_yaxes(title_text="freight (Mt/yr)", rangemode="tozero")
    fig.update_xaxes(title_text="year (grey: the observed window 2019-2023)", dtick=1)
    return _layout(fig, "Freight by corridor (annual, pipelines excluded)", 480)


def _history_series(history: pd.DataFrame) -> list[str]:
    """Return the observed series with points, in the order of OBSERVABLES."""
    have = set(history["series"])
    return [name for name in OBSERVABLES if name in have]


def _scale(unit: str) -> tuple[float, str]:
    """Return a divisor and unit that keep tick labels short (Mt, kTEU)."""
    if unit == "t/yr":
        return 1e6, "Mt/yr"
    if unit == "TEU/yr":
        return 1e3, "kTEU/yr"
    return 1.0, unit


def history_figure(
    items: Sequence[Results | EnsembleResults], labels: Sequence[str], history: pd.DataFrame
) -> go.Figure:
    """Every observed series 2019-2023 against its modelled counterpart, one panel each.

    A run draws its observable (:meth:`Results.observable`); an ensemble its median over
    the runs with the band of 90% of them (its ``observables`` table). The observed
    values are black diamonds.

    Parameters
    ----------
    items : sequence of Results or EnsembleResults
        The runs or ensembles.
    labels : sequence of str
        One per item.
    history : pandas.DataFrame
        The observed history (:func:`corridors.history.load_history`).

    Returns
    -------
    plotly.graph_objects.Figure
        One panel per observed series with points.
    """
    names = _history_series(history)
    ncols = 3
    nrows = max(1, math.ceil(len(names) / ncols))
    units = {name: _scale(OBSERVABLES[name].unit) for name in names}
    fig = make_subplots(
        rows=nrows, cols=ncols, subplot_titles=[f"{n} ({units[n][1]})" for n in names],
        horizontal_spacing=0.07, vertical_spacing=0.3 / nrows,
    )  # fmt: skip
    for i, name in enumerate(names):
        row, col = i // ncols + 1, i % ncols + 1
        div = units[name][0]
        for it, label, dash in zip(items, labels, DASHES, strict=False):
            if isinstance(it, EnsembleResults):
                table = it.observables.groupby("year")[name]
                lo, mid, hi = (table.quantile(q) / div for q in (0.05, 0.5, 0.95))
                x = mid.index.to_list()
                fig.add_trace(
                    go.Scatter(
                        x=x + x[::-1], y=hi.to_list() + lo.to_list()[::-1], fill="toself",
                        fillcolor="rgba(68,68,68,0.15)", line={"width": 0}, hoverinfo="skip",
                        name="90% of runs", legendgroup="band", showlegend=i == 0 and dash == DASHES[0],
                    ),
                    row=row, col=col,
                )  # fmt: skip
                y = mid
            else:
                try:
                    y = it.observable(name) / div
                except KeyError:  # a run saved in an older format lacks what it needs
                    continue
            fig.add_trace(
                go.Scatter(
                    x=y.index.to_list(), y=y.round(6).to_list(), mode="lines",
                    line={"color": _MODEL_GREY, "dash": dash, "width": 2}, name=f"model: {label}",
                    legendgroup=label, showlegend=i == 0,
                    hovertemplate=f"model, {label}<br>%{{x}}: %{{y:.3g}}<extra>{name}</extra>",
                ),
                row=row, col=col,
            )  # fmt: skip
        obs = observed(history, name) / div
        fig.add_trace(
            go.Scatter(
                x=obs.index.to_list(), y=obs.to_list(), mode="markers", name="observed",
                marker={"symbol": "diamond", "size": 8, "color": "#000000"}, legendgroup="observed",
                showlegend=i == 0, hovertemplate=f"observed<br>%{{x}}: %{{y:.3g}}<extra>{name}</extra>",
            ),
            row=row, col=col,
        )  # fmt: skip
        _shade_history(fig, row=row, col=col)  # after the traces: add_vrect skips empty subplots
        fig.update_yaxes(rangemode="tozero", row=row, col=col)
    fig.update_annotations(font_size=11)
    _layout(fig, "The observed history 2019-2023 (black) and the model", 260 * nrows + 120)
    fig.update_layout(legend={"y": -0.04})
    return fig


def shares_figure(res: Results) -> go.Figure:
    """Route shares of each Central Asian state's freight, stacked, by year.

    Parameters
    ----------
    res : Results
        A run; its ``countries`` table is read (:func:`corridors.plots.frames.country_shares`).

    Returns
    -------
    plotly.graph_objects.Figure
        One panel per state of ``C5`` on a shared 0-100% axis.
    """
    shares = country_shares(res)
    active = [c for c in CORRIDORS if (shares[c] > 0).any()]
    fig = make_subplots(
        rows=1, cols=len(C5), shared_yaxes=True, horizontal_spacing=0.02,
        subplot_titles=[f"{COUNTRY_NAMES[c]} ({c})" for c in C5],
    )  # fmt: skip
    present = set(shares.index.get_level_values("country"))
    for j, code in enumerate(C5, 1):
        if code not in present:
            continue
        s = shares.loc[code]
        for c in active:
            fig.add_trace(
                go.Scatter(
                    x=s.index.to_list(), y=(100 * s[c]).round(3).to_list(), stackgroup=code, mode="none",
                    fillcolor=CORRIDOR_COLOURS[c], name=corridor_label(c), legendgroup=c, showlegend=j == 1,
                    hovertemplate=f"{code}, {corridor_label(c)}<br>%{{x}}: %{{y:.1f}}%<extra></extra>",
                ),
                row=1, col=j,
            )  # fmt: skip
    fig.update_yaxes(range=[0, 100], ticksuffix="%")
    fig.update_yaxes(title_text="share of the country's freight", row=1, col=1)
    fig.update_annotations(font_size=12)
    return _layout(fig, "Route shares by country: exports and imports by tonnage", 380)


def _market_label(market: str) -> str:
    return market.removeprefix("market_").replace("_", " ")


def sankey_figure(res: Results, year: int) -> go.Figure:
    """Draw the year's freight from the shippers' country through the corridors to the markets.

    Nodes: on the left the shipper's country (one of the five, or CN for the China-Europe
    transit), in the middle the corridor (in its colour), on the right the market traded
    with (exports, imports and transit together). Widths in Mt.

    Parameters
    ----------
    res : Results
        A run; its ``countries`` table is read.
    year : int
        The year.

    Returns
    -------
    plotly.graph_objects.Figure
        A Sankey diagram.
    """
    c = res.countries[res.countries["year"] == year]
    by = c.groupby(["country", "corridor", "market"], observed=True)["volume_t"].sum() / 1e6
    by = by[by > 1e-6]
    countries = sorted(by.index.get_level_values("country").unique(), key=lambda k: (k not in C5, k))
    corridors = [k for k in CORRIDORS if k in set(by.index.get_level_values("corridor"))]
    markets = sorted(by.index.get_level_values("market").unique())
    nodes = (
        [f"{COUNTRY_NAMES.get(k, 'China-Europe transit' if k == 'CN' else k)} ({k})" for k in countries]
        + [corridor_label(k) for k in corridors]
        + [_market_label(m) for m in markets]
    )
    index = {("country", k): i for i, k in enumerate(countries)}
    index |= {("corridor", k): len(countries) + i for i, k in enumerate(corridors)}
    index |= {("market", m): len(countries) + len(corridors) + i for i, m in enumerate(markets)}
    colours = (
        ["#9A9A9A"] * len(countries) + [CORRIDOR_COLOURS[k] for k in corridors] + ["#6E6E6E"] * len(markets)
    )
    first = by.groupby(level=["country", "corridor"]).sum()
    second = by.groupby(level=["corridor", "market"]).sum()
    source = [index["country", a] for a, _ in first.index] + [index["corridor", a] for a, _ in second.index]
    target = [index["corridor", b] for _, b in first.index] + [index["market", b] for _, b in second.index]
    link_colour = [_rgba(CORRIDOR_COLOURS[k], 0.45) for _, k in first.index]
    link_colour += [_rgba(CORRIDOR_COLOURS[k], 0.45) for k, _ in second.index]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            valueformat=".2f",
            valuesuffix=" Mt",
            node={"label": nodes, "color": colours, "pad": 14, "thickness": 16},
            link={
                "source": source,
                "target": target,
                "value": [round(float(v), 6) for v in (*first.to_list(), *second.to_list())],
                "color": link_colour,
            },
        )
    )
    total = float(first.sum())
    return _layout(
        fig,
        f"Freight in {year}: shipper's country -> corridor -> market ({total:,.1f} Mt, "
        "exports, imports and transit)",
        max(420, 26 * len(markets) + 120),
    )


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def fan_figure(ensembles: Sequence[EnsembleResults], labels: Sequence[str]) -> go.Figure:
    """Fan charts of ensembles: per corridor the median and the bands of 50% and 90% of the runs.

    Parameters
    ----------
    ensembles : sequence of EnsembleResults
        The ensembles (at most ``len(DASHES)``); their ``quantiles`` are read.
    labels : sequence of str
        One per ensemble; the legend adds the number of runs.

    Returns
    -------
    plotly.graph_objects.Figure
        One panel per corridor that carries anything in some run.
    """
    fans = [(ens.quantiles("volume_t"), ens.runs) for ens in ensembles]
    active = [c for c in CORRIDORS if any((q.loc[q["corridor"] == c, "q0.95"] > 0).any() for q, _ in fans)]
    ncols = min(3, max(1, len(active)))
    nrows = max(1, math.ceil(len(active) / ncols))
    fig = make_subplots(
        rows=nrows, cols=ncols, subplot_titles=[corridor_label(c) for c in active],
        horizontal_spacing=0.07, vertical_spacing=0.5 / nrows,
    )  # fmt: skip
    for i, c in enumerate(active):
        row, col = i // ncols + 1, i % ncols + 1
        for (q, runs), label, dash in zip(fans, labels, DASHES, strict=False):
            k = q[q["corridor"] == c].sort_values("year")
            x = k["year"].to_list()
            for lo, hi, alpha, band in (("q0.05", "q0.95", 0.15, "90%"), ("q0.25", "q0.75", 0.3, "50%")):
                fig.add_trace(
                    go.Scatter(
                        x=x + x[::-1], y=((k[hi] / 1e6).to_list() + (k[lo] / 1e6).to_list()[::-1]),
                        fill="toself", fillcolor=_rgba(CORRIDOR_COLOURS[c], alpha), line={"width": 0},
                        hoverinfo="skip", name=f"{band} of runs", showlegend=False, legendgroup=label,
                    ),
                    row=row, col=col,
                )  # fmt: skip
            fig.add_trace(
                go.Scatter(
                    x=x, y=(k["q0.5"] / 1e6).round(4).to_list(), mode="lines",
                    line={"color": CORRIDOR_COLOURS[c], "dash": dash, "width": 2.2},
                    name=f"{label} ({runs} runs): median", legendgroup=label, showlegend=i == 0,
                    hovertemplate=f"{corridor_label(c)}, {label}<br>%{{x}}: median %{{y:.2f}} Mt/yr<extra></extra>",
                ),
                row=row, col=col,
            )  # fmt: skip
        _shade_history(fig, row=row, col=col)
        fig.update_yaxes(rangemode="tozero", row=row, col=col)
        if col == 1:
            fig.update_yaxes(title_text="freight (Mt/yr)", row=row, col=col)
    fewest = min(runs for _, runs in fans)
    warning = f" (few runs: {fewest}; bands need 30 or more to be read)" if fewest < 30 else ""
    return _layout(
        fig,
        f"Freight by corridor over the runs: median, bands of 50% and 90% of the runs{warning}",
        300 * nrows + 140,
    )


def svg_data_uri(fig: Figure) -> str:
    """Write a matplotlib figure as an SVG ``data:`` URI, to embed in an ``<img>`` (no request).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.

    Returns
    -------
    str
        ``data:image/svg+xml;base64,...``; text stays text (``svg.fonttype = none``).
    """
    return "data:image/svg+xml;base64," + base64.b64encode(svg_text_bytes(fig)).decode("ascii")
