"""Sensitivity figures: the Morris screening of :func:`corridors.experiments.ensemble.sensitivity`."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

__all__ = ["morris_plot"]


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
