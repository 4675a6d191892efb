"""Sensitivity figures of :func:`corridors.experiments.ensemble.sensitivity`: Morris and Sobol' indices."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["morris_plot", "sobol_plot"]


def morris_plot(indices: pd.DataFrame, outcomes: Sequence[str], *, title: str = "Morris screening") -> Figure:
    """Draw the parameters ranked by Morris ``mu*``, and ``mu*`` against ``sigma``, per outcome.

    Parameters
    ----------
    indices : pandas.DataFrame
        One row per (outcome, parameter) with ``mu_star``, ``mu_star_conf`` and ``sigma``, as
        ``Sensitivity.indices`` of a Morris analysis.
    outcomes : sequence of str
        The outcomes to draw, one column each.
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure: per outcome, bars of ``mu*`` (with its confidence interval) above a
        scatter of ``sigma`` against ``mu*`` with the diagonal (``sigma = mu*``) dashed.
    """
    fig = Figure(figsize=(5.2 * len(outcomes), 6.4), layout="constrained")
    axes = fig.subplots(2, len(outcomes), squeeze=False)
    for j, outcome in enumerate(outcomes):
        rows = indices[indices["outcome"] == outcome].sort_values("mu_star")
        bars, scatter = axes[0, j], axes[1, j]
        bars.barh(rows["parameter"], rows["mu_star"], xerr=rows["mu_star_conf"], color="#0072B2", alpha=0.85)
        bars.set_title(outcome, fontsize=11)
        bars.set_xlabel("mu* (mean |elementary effect|)")
        bars.tick_params(labelsize=8)
        scatter.scatter(rows["mu_star"], rows["sigma"], color="#D55E00")
        for r in rows.itertuples():
            scatter.annotate(
                r.parameter, (r.mu_star, r.sigma), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
        top = max(rows["mu_star"].max(), rows["sigma"].max(), 1e-12) * 1.15
        scatter.plot([0, top], [0, top], color="#999999", lw=0.8, ls="--")
        scatter.set_xlim(0, top)
        scatter.set_ylim(0, top)
        scatter.set_xlabel("mu*")
        scatter.set_ylabel("sigma")
    fig.suptitle(title, fontsize=12)
    return fig


def sobol_plot(indices: pd.DataFrame, outcomes: Sequence[str], *, title: str = "Sobol' indices") -> Figure:
    """Draw each parameter's first-order (S1) and total (ST) Sobol' index, with confidence intervals.

    Parameters
    ----------
    indices : pandas.DataFrame
        One row per (outcome, parameter) with ``S1``, ``S1_conf``, ``ST`` and ``ST_conf``, as
        ``Sensitivity.indices`` of a Sobol' analysis.
    outcomes : sequence of str
        The outcomes to draw, one panel each.
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure: per outcome, paired horizontal bars of S1 and ST per parameter (ranked
        by ST, largest on top), each with its 95% confidence interval as an error bar, and
        the lines 0 and 1 that the indices lie between.
    """
    fig = Figure(
        figsize=(max(5.2, 4.6 * len(outcomes)), 1.2 + 0.55 * _n_parameters(indices) + 1.2),
        layout="constrained",
    )
    axes = fig.subplots(1, len(outcomes), squeeze=False)[0]
    height = 0.38
    for ax, outcome in zip(axes, outcomes, strict=True):
        rows = indices[indices["outcome"] == outcome].sort_values("ST").reset_index(drop=True)
        y = np.arange(len(rows))
        for offset, key, colour, label in (
            (height / 2, "ST", "#0072B2", "total (ST)"),
            (-height / 2, "S1", "#E69F00", "first order (S1)"),
        ):
            ax.barh(
                y + offset,
                rows[key],
                height=height,
                color=colour,
                label=label,
                xerr=rows[f"{key}_conf"],
                error_kw={"ecolor": "#333333", "capsize": 3, "lw": 1},
            )
        ax.set_yticks(y, rows["parameter"])
        for x in (0.0, 1.0):
            ax.axvline(x, color="#999999", lw=0.8, ls="--")
        # indices lie in [0, 1]; a wide interval (few samples) is cut at the panel's edge
        low = min(
            -0.1, float((rows[["S1", "ST"]].to_numpy() - rows[["S1_conf", "ST_conf"]].to_numpy()).min())
        )
        high = max(
            1.1, float((rows[["S1", "ST"]].to_numpy() + rows[["S1_conf", "ST_conf"]].to_numpy()).max())
        )
        ax.set_xlim(max(low, -0.5) - 0.02, min(high, 1.5) + 0.02)
        ax.set_title(outcome, fontsize=11)
        ax.set_xlabel("share of the outcome's variance")
        ax.tick_params(labelsize=8)
    axes[0].legend(loc="lower right", fontsize=8, frameon=False)
    fig.suptitle(f"{title}\n(error bars: 95% confidence intervals, cut at -0.5 and 1.5)", fontsize=12)
    return fig


def _n_parameters(indices: pd.DataFrame) -> int:
    return int(indices["parameter"].nunique()) if len(indices) else 1
