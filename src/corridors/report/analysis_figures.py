"""The report's interactive figures of the analyses: PRIM's trajectory, ranked links, net benefits.

Each is drawn from an analysis directory's saved tables (:mod:`corridors.report.analyses`),
nothing is run again, in the report's plotly style (:mod:`corridors.report.figures`). The
box limits and the criticality map stay the package's matplotlib figures
(:func:`corridors.plots.box_limits_plot`, :func:`corridors.plots.criticality.criticality_map`),
embedded as SVG by :mod:`corridors.report.build`.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from corridors.plots.style import CORRIDOR_COLOURS, FEEDER_COLOUR, corridor_label
from corridors.report.figures import _layout

__all__ = ["criticality_figure", "net_benefit_figure", "trajectory_figure"]

_CHOSEN = "#D55E00"  # vermilion, as the matplotlib figures of discovery and robust mark a choice


def _legend_below_axis_title(fig: go.Figure) -> go.Figure:
    """Move the legend just under the x axis' title (the report's layout puts it where the title is).

    The legend's place is a share of the plot's height: 75 px below the plot, whatever its height.
    """
    bottom = 110
    plot = fig.layout.height - fig.layout.margin.t - bottom
    return fig.update_layout(legend={"y": -75 / plot, "yanchor": "top"}, margin={"b": bottom})


def trajectory_figure(trajectory: pd.DataFrame, where: str) -> go.Figure:
    """PRIM's peeling trajectory: each box's coverage against its density, the chosen box ringed.

    Parameters
    ----------
    trajectory : pandas.DataFrame
        ``trajectory.parquet`` of a discovery: ``box``, ``coverage``, ``density``, ``mass``,
        ``restricted``, ``chosen`` (and ``runs``, ``cases`` if saved).
    where : str
        The condition, for the title.

    Returns
    -------
    plotly.graph_objects.Figure
        The boxes in order of peeling, joined by a line and coloured by how many inputs they
        restrict; the chosen box ringed and labelled.
    """
    t = trajectory.sort_values("box")
    restricted = t["restricted"].astype(int)
    extra = [c for c in ("runs", "cases") if c in t.columns]
    hover = (
        "box %{customdata[0]}<br>coverage %{x:.3f}<br>density %{y:.3f}<br>mass %{customdata[1]:.3f}"
        "<br>inputs restricted %{customdata[2]}"
        + "".join(f"<br>{c} %{{customdata[{3 + i}]}}" for i, c in enumerate(extra))
        + "<extra></extra>"
    )
    fig = go.Figure(
        go.Scatter(
            x=t["coverage"].round(6).to_list(), y=t["density"].round(6).to_list(), mode="lines+markers",
            line={"color": "#999999", "width": 1}, name="boxes of the trajectory",
            marker={
                "size": 9, "color": restricted.to_list(), "colorscale": "Viridis", "cmin": 0,
                "cmax": max(int(restricted.max()), 1),
                "colorbar": {"title": {"text": "inputs<br>restricted"}, "dtick": 1, "thickness": 14},
            },
            customdata=t[["box", "mass", "restricted", *extra]].to_numpy().tolist(),
            hovertemplate=hover,
        )
    )  # fmt: skip
    chosen = t[t["chosen"].astype(bool)].iloc[0]
    fig.add_trace(
        go.Scatter(
            x=[round(float(chosen["coverage"]), 6)], y=[round(float(chosen["density"]), 6)], mode="markers",
            marker={"size": 20, "color": "rgba(0,0,0,0)", "line": {"color": _CHOSEN, "width": 3}},
            name=f"chosen: box {int(chosen['box'])}", hoverinfo="skip",
        )
    )  # fmt: skip
    right = float(chosen["coverage"]) > 0.5
    fig.add_annotation(
        x=float(chosen["coverage"]), y=float(chosen["density"]), xanchor="right" if right else "left",
        yanchor="top", ax=-40 if right else 40, ay=40, font={"color": _CHOSEN},
        text=f"box {int(chosen['box'])}: coverage {chosen['coverage']:.2f}, density {chosen['density']:.2f}",
        arrowcolor=_CHOSEN,
    )  # fmt: skip
    low = max(0.0, min(float(t["density"].min()), float(t["coverage"].min())) - 0.05)
    fig.update_xaxes(title_text="coverage (share of the cases inside the box)", range=[low, 1.02])
    fig.update_yaxes(title_text="density (share of the box's runs that are cases)", range=[low, 1.02])
    return _legend_below_axis_title(_layout(fig, f"PRIM peeling trajectory: {where}", 520))


def criticality_figure(table: pd.DataFrame, *, top: int = 15) -> go.Figure:
    """Draw the ``top`` most critical links as bars: the five's extra generalised cost of each closure.

    Parameters
    ----------
    table : pandas.DataFrame
        ``criticality.parquet``, ranked (``rank``, ``link``, ``corridor``, ``extra_cost_usd``,
        ``not_delivered_t``, ``rerouted_t``).
    top : int
        How many links.

    Returns
    -------
    plotly.graph_objects.Figure
        One horizontal bar per link, most critical on top, coloured by the link's corridor
        (grey: a feeder shared by all), in million USD; hover: the freight not delivered
        and rerouted.
    """
    rows = table.sort_values("rank").head(top)
    corridor = rows["corridor"].astype(str).str.split(";").str[0]
    names = [link.replace(">", " \u2192 ").replace("_", " ") for link in rows["link"]]
    fig = go.Figure()
    for c in dict.fromkeys(corridor):
        mine = (corridor == c).to_numpy()
        r = rows[mine]
        label = corridor_label(c) if c in CORRIDOR_COLOURS else "feeder (shared)"
        fig.add_trace(
            go.Bar(
                y=[n for n, m in zip(names, mine, strict=True) if m], x=(r["extra_cost_usd"] / 1e6).round(4).to_list(),
                orientation="h", name=label, marker={"color": CORRIDOR_COLOURS.get(c, FEEDER_COLOUR)},
                customdata=(r[["not_delivered_t", "rerouted_t"]] / 1e3).round(3).to_numpy().tolist(),
                hovertemplate="%{y}<br>extra cost %{x:,.2f} M USD<br>not delivered %{customdata[0]:,.0f} kt"
                "<br>rerouted %{customdata[1]:,.0f} kt<extra>" + label + "</extra>",
            )
        )  # fmt: skip
    fig.update_yaxes(categoryorder="array", categoryarray=names[::-1], title_text="")
    fig.update_xaxes(
        title_text="extra generalised transport cost of the five's freight over the closure (M USD)"
    )
    fig.add_vline(x=0, line_width=1, line_color="#333333")
    title = f"The {len(rows)} most critical links, one closed at a time"
    return _legend_below_axis_title(_layout(fig, title, max(340, 34 * len(rows) + 210)))


def net_benefit_figure(net: pd.DataFrame, choices: dict[str, str]) -> go.Figure:
    """Heatmap of net benefit to the five, candidates x futures, blue above 0 and red below.

    Parameters
    ----------
    net : pandas.DataFrame
        Net benefit in USD m (present value), one row per candidate, one column per future.
    choices : dict
        ``{"minimax_regret": name, "best_expected": name}``, marked on the rows' labels.

    Returns
    -------
    plotly.graph_objects.Figure
        The value written in each cell.
    """
    marks = {name: [] for name in net.index}
    for rule, name in (
        ("minimax regret", choices["minimax_regret"]),
        ("best expected", choices["best_expected"]),
    ):
        if name in marks:
            marks[name].append(rule)
    labels = [f"{c} ({', '.join(marks[c])})" if marks[c] else str(c) for c in net.index]
    values = net.to_numpy(dtype=float)
    span = max(float(abs(values).max()) if values.size else 0.0, 1e-9)
    fig = go.Figure(
        go.Heatmap(
            z=values.round(4).tolist(), x=[str(f) for f in net.columns], y=labels, colorscale="RdBu",
            zmid=0.0, zmin=-span, zmax=span, texttemplate="%{z:,.1f}", textfont={"size": 12},
            colorbar={"title": {"text": "USD m"}, "thickness": 14}, xgap=2, ygap=2,
            hovertemplate="%{y}<br>future %{x}<br>net benefit %{z:,.2f} USD m<extra></extra>",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title_text="candidate")
    fig.update_xaxes(title_text="future", side="bottom")
    return _layout(
        fig, "Net benefit to the five by candidate and future (USD m, present value)", 46 * len(labels) + 200
    )
