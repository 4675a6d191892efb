"""Sweep figures: outcomes against each swept parameter (:func:`corridors.experiments.ensemble.sweep`).

A sweep's runs are design points, not draws of an uncertainty: they are drawn as points
(and, on a grid, the mean at each value), never as bands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

from corridors.plots.style import y_grid

__all__ = ["SWEEP_OUTCOMES", "sweep_plot"]

# (outcome of corridors.experiments.records.outcomes, axis label, factor to the label's unit)
SWEEP_OUTCOMES: tuple[tuple[str, str, float], ...] = (
    ("middle_volume_t", "Middle Corridor (Mt/yr)", 1e-6),
    ("russian_volume_t", "Russian route (Mt/yr)", 1e-6),
    ("middle_share", "Middle Corridor share (%)", 100.0),
    ("middle_transit_days", "Middle Corridor transit (days)", 1.0),
)
"""The outcomes a sweep figure draws by default: name, axis label, factor to its unit."""


def sweep_plot(
    outcomes: pd.DataFrame,
    params: Sequence[str],
    *,
    measures: Sequence[tuple[str, str, float]] = SWEEP_OUTCOMES,
    grid: bool = False,
    title: str = "Sweep",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Draw outcomes against each swept parameter: one panel per (outcome, parameter), one point per run.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        One row per run with the swept parameters' values and the outcomes, as
        ``EnsembleResults.outcomes`` of a sweep.
    params : sequence of str
        The swept parameters, one column of panels each.
    measures : sequence of (str, str, float)
        The outcomes, one row of panels each: the column, the axis label and the factor to
        its unit. Outcomes the table lacks are left out.
    grid : bool
        The design is a grid: a line joins the mean at each value of the parameter (over
        the replicates and the other parameters' values).
    title : str
        The figure's title.
    labels : mapping, optional
        Axis labels of the parameters (default: their names).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure; its points are the runs, with no bands (the runs of a sweep are
        design points, not draws of an uncertainty).

    Raises
    ------
    ValueError
        No parameter, or a parameter or every outcome missing from ``outcomes``.
    """
    params = list(params)
    if not params:
        raise ValueError("sweep_plot: no parameter to draw")
    missing = [p for p in params if p not in outcomes.columns]
    if missing:
        raise ValueError(f"sweep_plot: the outcomes table has no column {', '.join(missing)}")
    rows = [m for m in measures if m[0] in outcomes.columns]
    if not rows:
        raise ValueError("sweep_plot: none of the outcomes to draw is in the table")
    fig = Figure(figsize=(max(6.4, 3.6 * len(params) + 0.8), 2.5 * len(rows) + 1.0), layout="constrained")
    axes = fig.subplots(len(rows), len(params), squeeze=False, sharex="col")
    for i, (name, label, factor) in enumerate(rows):
        for j, param in enumerate(params):
            ax = axes[i, j]
            x, y = outcomes[param], outcomes[name] * factor
            ax.scatter(x, y, s=18, color="#0072B2", alpha=0.75, lw=0, label="one run")
            if grid:
                mean = y.groupby(x).mean()
                ax.plot(
                    mean.index,
                    mean.to_numpy(),
                    color="#333333",
                    lw=1.4,
                    marker="o",
                    ms=3,
                    label="mean at each value",
                )
            y_grid(ax)
            ax.tick_params(labelsize=8)
            if j == 0:
                ax.set_ylabel(label, fontsize=9)
            if i == len(rows) - 1:
                ax.set_xlabel((labels or {}).get(param, param), fontsize=9)
    axes[0, 0].legend(loc="best", fontsize=8, frameon=False)
    fig.suptitle(f"{title}\n{len(outcomes)} runs, one point each: outcomes in the last year", fontsize=12)
    return fig
