"""Every figure of the package, drawn on :class:`matplotlib.figure.Figure` (never pyplot).

One fixed, colour-blind-safe colour per corridor everywhere. The modules, from the bottom
up (each imports only modules listed before it; maps, series, comparison, calibration,
sensitivity, discovery, sweeps and tuner none of one another):

- :mod:`~corridors.plots.style`: colours, markers, axes helpers, the writers
  :func:`png_bytes` and :func:`figure_bytes` (PNG, PDF, SVG);
- :mod:`~corridors.plots.frames`: the tables the run figures draw, from a run's Results;
- :mod:`~corridors.plots.maps`: :func:`network_map` and :func:`flow_map`;
- :mod:`~corridors.plots.series`: one run over time (:func:`volumes_plot`,
  :func:`country_shares_plot`, :func:`dependence_plot`, :func:`bottleneck_plot`);
- :mod:`~corridors.plots.comparison`: runs and ensembles side by side (:func:`compare`,
  the public ``corridors.compare``; :func:`compare_plot`, :func:`fan_chart`);
- :mod:`~corridors.plots.calibration`: the calibration report's :func:`series_figure` and
  :func:`profile_figure`;
- :mod:`~corridors.plots.posterior`: the Bayesian calibration's :func:`marginals_figure`,
  :func:`pairs_figure`, :func:`generations_figure` and :func:`predictive_figure`;
- :mod:`~corridors.plots.sensitivity`: :func:`morris_plot`, a Morris screening, and
  :func:`sobol_plot`, Sobol' indices with their confidence intervals;
- :mod:`~corridors.plots.sweeps`: :func:`sweep_plot`, a sweep's outcomes against each
  swept parameter;
- :mod:`~corridors.plots.discovery`: scenario discovery's :func:`trajectory_plot` and
  :func:`box_limits_plot`;
- :mod:`~corridors.plots.tuner`: :class:`TunerFigure`, the tuning sliders' figure,
  redrawn in place;
- :mod:`~corridors.plots.standard`: :func:`run_plots`, the figures of a run directory.

The other colours, markers and line styles are in :mod:`~corridors.plots.style`. Results,
ensembles and fits are duck-typed: plots never import :mod:`corridors.results` (nor
anything above it) at run time.
"""

from __future__ import annotations

from corridors.plots.calibration import SERIES_LABELS, profile_figure, series_figure
from corridors.plots.comparison import MIN_FAN_RUNS, compare, compare_plot, fan_chart
from corridors.plots.criticality import criticality_bars, criticality_map
from corridors.plots.discovery import box_limits_plot, trajectory_plot
from corridors.plots.maps import flow_map, network_map
from corridors.plots.posterior import generations_figure, marginals_figure, pairs_figure, predictive_figure
from corridors.plots.robust import robust_figure
from corridors.plots.sensitivity import morris_plot, sobol_plot
from corridors.plots.series import bottleneck_plot, country_shares_plot, dependence_plot, volumes_plot
from corridors.plots.standard import run_plots
from corridors.plots.style import (
    CORRIDOR_COLOURS,
    COUNTRY_NAMES,
    FEEDER_COLOUR,
    FIGURE_FORMATS,
    figure_bytes,
    png_bytes,
    svg_text_bytes,
)
from corridors.plots.sweeps import sweep_plot
from corridors.plots.tuner import TunerFigure

__all__ = [
    "CORRIDOR_COLOURS",
    "COUNTRY_NAMES",
    "FEEDER_COLOUR",
    "FIGURE_FORMATS",
    "MIN_FAN_RUNS",
    "SERIES_LABELS",
    "TunerFigure",
    "bottleneck_plot",
    "box_limits_plot",
    "compare",
    "compare_plot",
    "country_shares_plot",
    "criticality_bars",
    "criticality_map",
    "dependence_plot",
    "fan_chart",
    "figure_bytes",
    "flow_map",
    "generations_figure",
    "marginals_figure",
    "morris_plot",
    "network_map",
    "pairs_figure",
    "png_bytes",
    "predictive_figure",
    "profile_figure",
    "robust_figure",
    "run_plots",
    "series_figure",
    "sobol_plot",
    "svg_text_bytes",
    "sweep_plot",
    "trajectory_plot",
    "volumes_plot",
]
