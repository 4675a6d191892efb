"""The calibration report's figures: observed against modelled, and the loss profiles.

:func:`corridors.experiments.calibrate.write_report` writes them as ``observed_vs_modelled.png`` and
``loss_profiles.png``. The fit and the cross-validation are duck-typed (plots sit below the
calibration in the package's layers and never import it): only the attributes named in each
docstring are read.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from corridors.history import load_history, observed
from corridors.vocabulary import BASE_YEAR, LAST_OBSERVED_YEAR

__all__ = ["SERIES_LABELS", "profile_figure", "series_figure"]

SERIES_LABELS = {
    "middle_corridor_t": ("Middle Corridor through Kazakhstan", "Mt/yr", 1e-6),
    "northern_transit_teu": ("China-EU transit on 1520 track", "thousand TEU/yr", 1e-3),
    "middle_kz_share": ("Kazakh share of the Middle Corridor", "share", 1.0),
    "middle_transit_days": ("Middle Corridor transit time, China-Europe", "days", 1.0),
    "middle_teu": ("Containers on the Middle Corridor", "thousand TEU/yr", 1e-3),
    "middle_oil_share": ("Oil share of the Middle Corridor", "share", 1.0),
    "aktau_oil_t": ("Kazakh crude, Aktau to Baku", "Mt/yr", 1e-6),
    "baku_port_no_trucks_t": ("Baku port less ro-ro trucks", "Mt/yr", 1e-6),
    "baku_port_teu": ("Baku port, containers", "thousand TEU/yr", 1e-3),
    "ady_east_west_t": ("Azerbaijan Railways East-West transit", "Mt/yr", 1e-6),
    "gr_transit_t": ("Georgian Railway transit", "Mt/yr", 1e-6),
    "kz_china_rail_t": ("Kazakhstan-China rail, both directions", "Mt/yr", 1e-6),
    "kz_transit_t": ("Transit through Kazakhstan", "Mt/yr", 1e-6),
    "iran_route_t": ("Kazakhstan-Turkmenistan-Iran route", "Mt/yr", 1e-6),
}
"""Observable -> (panel title, unit, factor from the observable's unit to the panel's)."""

_COLUMNS = 5  # panels to a row of the observed-against-modelled figure


def series_figure(fit: Any, history: pd.DataFrame | None = None, cv: Any = None) -> Figure:
    """Draw a panel per observed series: observed points, the fitted run, the rolling origin's predictions.

    Parameters
    ----------
    fit : FitResult
        The full fit (:class:`corridors.experiments.calibrate.FitResult`); its ``modelled`` series (by
        observable, indexed by year) and its ``loss`` are read.
    history : pandas.DataFrame, optional
        The observed history (default: the packaged ``history.csv``).
    cv : CrossValidation, optional
        The cross-validation (:class:`corridors.experiments.calibrate.CrossValidation`); with it, each
        panel adds the rolling-origin fit's run and its predictions (``cv.fit.modelled``).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of one panel per series of :data:`SERIES_LABELS` (five to a row) and a
        legend cell, the last axes.
    """
    history = load_history() if history is None else history
    n = len(SERIES_LABELS)
    cols = _COLUMNS
    rows = math.ceil((n + 1) / cols)
    fig = Figure(figsize=(3.9 * cols, 3.1 * rows), layout="constrained")
    axes = list(fig.subplots(rows, cols).ravel())
    for ax in axes[n:-1]:  # the legend takes the last cell; no empty cells between
        fig.delaxes(ax)
    axes = axes[:n] + axes[-1:]
    for ax, (name, (title, unit, scale)) in zip(axes, SERIES_LABELS.items(), strict=False):
        m = fit.modelled.get(name)  # a fit made before the series existed has none
        o = observed(history, name)
        if m is not None:
            ax.plot(m.index, m.to_numpy() * scale, "-o", color="#0072B2", label="modelled (fit 2019-2023)")
        ax.plot(o.index, o.to_numpy() * scale, "s", color="#000000", ms=7, label="observed")
        if cv is not None and name in cv.fit.modelled:
            c = cv.fit.modelled[name]
            ax.plot(c.index, c.to_numpy() * scale, "--", color="#E69F00", lw=1.2, label=f"fit {cv.fit_label}")
            ahead = [y for y in c.index if y >= cv.holdout]
            ax.plot(
                ahead,
                [c.get(y, np.nan) * scale for y in ahead],
                "D",
                color="#E69F00",
                ms=7,
                label=f"{cv.predicted_label} predicted",
            )
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit)
        ax.set_xticks(range(BASE_YEAR, LAST_OBSERVED_YEAR + 1))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    axes[-1].axis("off")
    axes[-1].legend(handles, labels, loc="center", frameon=False)
    fig.suptitle(f"Observed and modelled, 2019-2023 (loss {fit.loss:.2f})")
    return fig


def profile_figure(fit: Any) -> Figure:
    """Draw the loss along each parameter's bounds with the others at the optimum.

    Parameters
    ----------
    fit : FitResult
        The fit (:class:`corridors.experiments.calibrate.FitResult`); its ``free`` parameters (``name``,
        ``lower``, ``upper``), ``profiles`` (by name, a table of ``value`` and ``loss``),
        ``values`` and ``loss`` are read.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of one panel per free parameter, three to a row; a profile whose loss
        spans more than a factor 20 on a log scale.
    """
    n = len(fit.free)
    cols = min(n, 3)
    rows = max(1, math.ceil(n / cols))
    fig = Figure(figsize=(4.3 * cols, 3.3 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, p in zip(axes, fit.free, strict=False):
        prof = fit.profiles.get(p.name)
        if prof is not None and len(prof):
            ax.plot(prof["value"], prof["loss"], "-o", color="#0072B2", ms=4)
        ax.axvline(fit.values[p.name], color="#D55E00", lw=1, ls="--", label="optimum")
        ax.plot([fit.values[p.name]], [fit.loss], "o", color="#D55E00")
        ax.set_xlim(p.lower, p.upper)
        ax.set_title(p.name, fontsize=10)
        ax.set_ylabel("loss")
        if (
            prof is not None
            and len(prof)
            and prof["loss"].min() > 0
            and prof["loss"].max() / prof["loss"].min() > 20
        ):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in axes[n:]:
        ax.axis("off")
    fig.suptitle("Loss profiles (others at the optimum)")
    return fig
