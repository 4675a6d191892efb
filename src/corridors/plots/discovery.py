"""Scenario discovery figures: PRIM's peeling trajectory and the chosen box's limits."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["box_limits_plot", "trajectory_plot"]

_BOX = "#0072B2"  # blue (Okabe and Ito): the box
_RANGE = "#D9D9D9"  # the sampled range
_CHOSEN = "#D55E00"  # vermillion: the chosen box


def _title(fig: Figure, head: str, condition: str) -> None:
    """Title a figure: what it shows, then the condition on lines of its own."""
    lines = [head, *textwrap.wrap(condition, 70)] if condition else [head]
    fig.suptitle("\n".join(lines), fontsize=11)


def trajectory_plot(trajectory: pd.DataFrame, *, title: str = "") -> Figure:
    """Draw PRIM's peeling trajectory: coverage against density, the chosen box marked.

    Parameters
    ----------
    trajectory : pandas.DataFrame
        One row per box: ``box``, ``coverage``, ``density``, ``restricted`` and ``chosen``,
        as ``Discovery.trajectory``.
    title : str
        The figure's title (the condition).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure: the boxes in order of peeling, coloured by the number of restricted
        inputs, the chosen one ringed and labelled with its coverage and density.
    """
    fig = Figure(figsize=(6.4, 5.0), layout="constrained")
    ax = fig.subplots()
    t = trajectory
    ax.plot(t["coverage"], t["density"], color="#999999", lw=0.8, zorder=1)
    n_max = max(int(t["restricted"].max()), 1)
    points = ax.scatter(
        t["coverage"], t["density"], c=t["restricted"], cmap="viridis", vmin=0, vmax=n_max, s=28, zorder=2
    )
    bar = fig.colorbar(points, ax=ax, ticks=range(n_max + 1))
    bar.set_label("inputs restricted")
    chosen = t[t["chosen"]]
    if not chosen.empty:
        row = chosen.iloc[0]
        ax.scatter(
            [row["coverage"]], [row["density"]], s=160, facecolors="none", edgecolors=_CHOSEN, lw=2, zorder=3
        )
        label = f"box {int(row['box'])}\ncoverage {row['coverage']:.2f}\ndensity {row['density']:.2f}"
        right = row["coverage"] > 0.5
        ax.annotate(
            label,
            (row["coverage"], row["density"]),
            xytext=(-14 if right else 14, -10),
            textcoords="offset points",
            ha="right" if right else "left",
            va="top",
            fontsize=9,
            color=_CHOSEN,
        )
    low = max(0.0, min(float(t["density"].min()), float(t["coverage"].min())) - 0.05)
    ax.set_xlim(low, 1.02)
    ax.set_ylim(low, 1.02)
    ax.set_xlabel("coverage (share of the cases inside the box)")
    ax.set_ylabel("density (share of the box's runs that are cases)")
    ax.grid(color="#EEEEEE", lw=0.6)
    _title(fig, "PRIM peeling trajectory", title)
    return fig


def box_limits_plot(limits: pd.DataFrame, box: Mapping[str, float], *, title: str = "") -> Figure:
    """Draw a PRIM box: each input's box against its sampled range, with quasi-p-values.

    Parameters
    ----------
    limits : pandas.DataFrame
        One row per input: ``input``, ``lower``, ``upper``, ``sampled_min``, ``sampled_max``,
        ``restricted``, ``qp_lower``, ``qp_upper``, as ``Discovery.limits``.
    box : mapping
        The box's ``coverage``, ``density`` and ``mass``.
    title : str
        The figure's title (the condition).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure: one row per input (restricted inputs first), the sampled range in
        grey scaled to 0-1, the box in blue with its limits written at its ends, and the
        quasi-p-values of the restricted sides on the right.
    """
    rows = limits.sort_values("restricted", ascending=False, kind="stable").reset_index(drop=True)
    n = len(rows)
    fig = Figure(figsize=(7.6, 1.6 + 0.55 * n), layout="constrained")
    ax = fig.subplots()
    for i, r in enumerate(rows.itertuples()):
        y = n - 1 - i
        span = r.sampled_max - r.sampled_min
        lo = (r.lower - r.sampled_min) / span if span > 0 else 0.0
        hi = (r.upper - r.sampled_min) / span if span > 0 else 1.0
        ax.barh(y, 1.0, left=0.0, height=0.5, color=_RANGE, zorder=1)
        ax.barh(y, hi - lo, left=lo, height=0.5, color=_BOX if r.restricted else "#9DBBD6", zorder=2)
        ax.text(lo, y + 0.3, f"{r.lower:.3g}", ha="left" if lo < 0.05 else "right", va="bottom", fontsize=8)
        ax.text(hi, y + 0.3, f"{r.upper:.3g}", ha="right" if hi > 0.95 else "left", va="bottom", fontsize=8)
        ax.text(1.04, y, _qp_text(r.qp_lower, r.qp_upper), ha="left", va="center", fontsize=8)
    ax.set_yticks(np.arange(n)[::-1], rows["input"])
    ax.set_ylim(-0.6, n - 0.1)
    ax.set_xlim(-0.04, 1.04)
    ax.set_xticks([0.0, 1.0], ["sampled min", "sampled max"])
    ax.tick_params(axis="x", labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.text(1.04, n - 0.3, "quasi-p\n(lower, upper)", ha="left", va="bottom", fontsize=8, color="#555555")
    stats = f"coverage {box['coverage']:.2f}, density {box['density']:.2f}, mass {box['mass']:.2f}"
    _title(fig, f"PRIM box: {stats}", title)
    return fig


def _qp_text(lower: float, upper: float) -> str:
    def one(p: float) -> str:
        return "none" if math.isnan(p) else f"{p:.1g}" if p < 0.001 else f"{p:.3f}"

    if math.isnan(lower) and math.isnan(upper):
        return "not restricted"
    return f"{one(lower)}, {one(upper)}"
