"""The figures of an ensemble, sweep or sensitivity directory, drawn into it.

Each kind of directory gets the figure that fits what its runs are:

- an ensemble (``corridors run --replicates``): ``fan_chart.png``, the median and bands of
  each corridor's freight over the replicates, which says how many runs it rests on;
- a sweep: ``sweep.png``, the outcomes against each swept parameter, one point per run
  (design points are not an uncertainty: no bands);
- a sensitivity analysis: ``sensitivity.png``, Morris ``mu*`` and ``sigma``, or Sobol'
  S1 and ST with their confidence intervals.

Legends and titles name the scenario and its overrides, not the folder
(:func:`corridors.results.labels.directory_labels`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from corridors import plots
from corridors.atomic import write_bytes_atomic
from corridors.results import EnsembleResults, load_ensemble
from corridors.results.labels import directory_labels

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FIGURES", "SENSITIVITY_OUTCOMES", "ensemble_figures", "write_ensemble_figures"]

FIGURES = {"ensemble": "fan_chart.png", "sweep": "sweep.png", "sensitivity": "sensitivity.png"}
"""The figure of each kind of directory (``meta["kind"]``), by file name."""

SENSITIVITY_OUTCOMES = ("middle_share", "russian_share", "middle_volume_t")
"""The outcomes a sensitivity figure draws (those that have indices)."""


def ensemble_figures(
    ens: EnsembleResults, *, label: str, indices: pd.DataFrame | None = None
) -> dict[str, Figure]:
    """Draw the figure of an ensemble, sweep or sensitivity analysis, by file name.

    Parameters
    ----------
    ens : EnsembleResults
        The runs; ``meta["kind"]`` says which figure (:data:`FIGURES`).
    label : str
        The scenario and its overrides, for the legend and title.
    indices : pandas.DataFrame, optional
        A sensitivity analysis's indices (``Sensitivity.indices``); without them a
        sensitivity directory gets no figure.

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        The figure by its file name; empty when there is nothing to draw (no finished
        run, or a sensitivity analysis without indices).
    """
    kind = ens.meta.get("kind", "ensemble")
    if ens.outcomes.empty:
        return {}
    if kind == "sweep":
        params = list(ens.meta.get("ranges", {}))
        grid = ens.meta.get("design") == "grid"
        return {FIGURES[kind]: plots.sweep_plot(ens.outcomes, params, grid=grid, title=f"Sweep of {label}")}
    if kind == "sensitivity":
        if indices is None or indices.empty:
            return {}
        method = ens.meta.get("method", "morris")
        shown = [o for o in SENSITIVITY_OUTCOMES if o in set(indices["outcome"])]
        if not shown:
            return {}
        runs = f"{ens.runs} runs"
        if method == "sobol":
            fig = plots.sobol_plot(indices, shown, title=f"Sobol' indices of {label} ({runs})")
        else:
            fig = plots.morris_plot(indices, shown, title=f"Morris screening of {label} ({runs})")
        return {FIGURES[kind]: fig}
    return {FIGURES["ensemble"]: plots.fan_chart([ens], [label])}


def write_ensemble_figures(directory: str | Path, ens: EnsembleResults | None = None) -> list[Path]:
    """Draw a directory's figure (:func:`ensemble_figures`) and write it there as PNG, atomically.

    Parameters
    ----------
    directory : str or Path
        An ensemble, sweep or sensitivity directory.
    ens : EnsembleResults, optional
        Its runs (default: read from the directory); a sensitivity analysis's indices are
        read from its ``sensitivity.parquet``.

    Returns
    -------
    list of Path
        The files written (none when there is nothing to draw).
    """
    directory = Path(directory)
    if ens is None:
        ens = load_ensemble(directory)
    indices_file = directory / "sensitivity.parquet"
    indices = pd.read_parquet(indices_file) if indices_file.is_file() else None
    label = directory_labels([directory])[0]
    written = []
    for name, fig in ensemble_figures(ens, label=label, indices=indices).items():
        write_bytes_atomic(directory / name, plots.png_bytes(fig, dpi=120))
        written.append(directory / name)
    return written
