"""The figure of ``corridors robust``: net benefit by candidate and future, and each candidate's worst regret."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

__all__ = ["robust_figure"]

_CHOICE = "#D55E00"  # vermilion: the choices (Okabe-Ito, as the corridor colours)
_OTHER = "#0072B2"


def _usd(value: float) -> str:
    """USD m as a reader wants them in a cell: ``1,234``, ``-56``, ``0.4``."""
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.2g}"


def robust_figure(
    net: pd.DataFrame, summary: pd.DataFrame, *, title: str = "Investments against futures"
) -> Figure:
    """Draw a heatmap of net benefit (candidates x futures) beside bars of each candidate's worst regret.

    Parameters
    ----------
    net : pandas.DataFrame
        Net benefit in USD m, one row per candidate, one column per future.
    summary : pandas.DataFrame
        Indexed by candidate: ``max_regret_usd_m``, ``expected_net_usd_m``,
        ``minimax_regret`` and ``best_expected`` (``RobustResults.summary``).
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        Left: net benefit, blue above 0 and red below, the value in each cell. Right: the
        worst regret over the futures, the minimax-regret choice in vermilion, the
        best-expected choice's label marked.
    """
    rows, cols = net.shape
    width = min(4.5 + 0.9 * cols, 16.0)
    fig = Figure(figsize=(width + 4.6, 2.0 + 0.45 * rows), layout="constrained")
    heat, bars = fig.subplots(1, 2, width_ratios=[width, 4.6])
    values = net.to_numpy(dtype=float)
    span = max(float(np.nanmax(np.abs(values))), 1e-9)
    image = heat.imshow(values, cmap="RdBu", norm=TwoSlopeNorm(0.0, -span, span), aspect="auto")
    heat.set_xticks(
        range(cols),
        [str(c) for c in net.columns],
        rotation=30 if cols > 3 else 0,
        ha="right" if cols > 3 else "center",
        fontsize=8,
    )
    heat.set_yticks(range(rows), [str(c) for c in net.index], fontsize=8)
    if rows * cols <= 300:
        for (i, j), v in np.ndenumerate(values):
            dark = abs(v) > 0.6 * span
            heat.text(j, i, _usd(v), ha="center", va="center", fontsize=7, color="white" if dark else "black")
    heat.set_title("Net benefit to the five (USD m, present value)", fontsize=10)
    fig.colorbar(image, ax=heat, shrink=0.8, label="USD m")
    order = list(net.index)
    s = summary.reindex(order)
    colours = [_CHOICE if pick else _OTHER for pick in s["minimax_regret"]]
    y = np.arange(len(order))
    regret = s["max_regret_usd_m"].to_numpy(dtype=float)
    bars.barh(y, regret, color=colours, alpha=0.9)
    # a zero bar is invisible: a marker at 0 shows the colour, the value is written beside
    bars.scatter(np.zeros(len(y)), y, color=colours, marker="|", s=200, lw=3, zorder=3, clip_on=False)
    top = max(float(regret.max()), 1e-9)
    for yi, v in zip(y, regret, strict=True):
        bars.text(v + 0.02 * top, yi, _usd(v), va="center", fontsize=7)
    bars.set_xlim(0, top * 1.2)
    labels = [f"{c} *" if best else str(c) for c, best in zip(order, s["best_expected"], strict=True)]
    bars.set_yticks(y, labels, fontsize=8)
    bars.invert_yaxis()  # the same order top-down as the heatmap
    bars.set_xlabel("worst regret over the futures (USD m)")
    bars.set_title("Worst regret\nvermilion: minimax-regret choice; *: best expected", fontsize=9)
    bars.grid(axis="x", color="#DDDDDD", lw=0.6)
    bars.set_axisbelow(True)
    fig.suptitle(title, fontsize=12)
    return fig
