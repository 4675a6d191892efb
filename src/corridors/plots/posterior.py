"""The Bayesian calibration report's figures: marginals, pairs, generations, predictive checks.

Every function takes plain tables (the posterior, the generations, the predictive
intervals): plots never import the calibration above them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from corridors.plots.calibration import SERIES_LABELS

__all__ = ["generations_figure", "marginals_figure", "pairs_figure", "predictive_figure"]

_INK = "#0072B2"
_PRIOR = "#999999"
_OBSERVED = "#D55E00"


def marginals_figure(
    posterior: pd.DataFrame, names: list[str], priors: Mapping[str, tuple[float, float, Callable]]
) -> Figure:
    """Draw each parameter's weighted posterior histogram over its prior density.

    ``priors`` maps a name to ``(low, high, pdf)``; the x axis spans the prior's bounds, so a
    posterior piled against a bound shows as such.
    """
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows), layout="constrained")
    w = posterior["weight"].to_numpy(float)
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        low, high, pdf = priors[name]
        bins = np.linspace(low, high, 31)
        ax.hist(posterior[name].to_numpy(float), bins=bins, weights=w, density=True, color=_INK, alpha=0.7)
        grid = np.linspace(low, high, 200)
        ax.plot(grid, pdf(grid), color=_PRIOR, lw=1.5, label="prior")
        ax.set_title(name, fontsize=9)
        ax.set_xlim(low, high)
        ax.set_yticks([])
        if i == 0:
            ax.legend(fontsize=8)
    fig.suptitle("Posterior marginals (bars) against the priors (grey), on the priors' bounds", fontsize=10)
    return fig


def pairs_figure(posterior: pd.DataFrame, names: list[str]) -> Figure:
    """Draw every pair of parameters as a scatter of the particles, sized by weight."""
    n = len(names)
    fig = Figure(figsize=(2.0 * n + 1, 2.0 * n + 1), layout="constrained")
    w = posterior["weight"].to_numpy(float)
    size = 4 + 60 * w / max(w.max(), 1e-12)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = fig.add_subplot(n, n, i * n + j + 1)
            if i == j:
                ax.hist(posterior[a].to_numpy(float), bins=20, weights=w, color=_INK, alpha=0.7)
                ax.set_yticks([])
            else:
                ax.scatter(posterior[b], posterior[a], s=size, color=_INK, alpha=0.4, lw=0)
            if i == n - 1:
                ax.set_xlabel(b, fontsize=7)
            else:
                ax.set_xticklabels([])
            if j == 0:
                ax.set_ylabel(a, fontsize=7)
            elif i != j:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=6)
    fig.suptitle("Posterior pairs (particles sized by weight)", fontsize=10)
    return fig


def generations_figure(generations: pd.DataFrame) -> Figure:
    """Draw the effective sample size and the acceptance rate of each generation."""
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    t = generations["generation"].to_numpy()
    ax = fig.add_subplot(1, 2, 1)
    ax.plot(t, generations["ess"], "o-", color=_INK, label="effective sample size")
    ax.plot(t, generations["particles"], "--", color=_PRIOR, label="particles")
    ax.set_xlabel("generation")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax = fig.add_subplot(1, 2, 2)
    ax.plot(t, generations["acceptance"], "o-", color=_OBSERVED)
    ax.set_xlabel("generation")
    ax.set_ylabel("acceptance rate")
    ax.set_ylim(0, 1.05)
    return fig


def predictive_figure(intervals: pd.DataFrame, predictive: pd.DataFrame) -> Figure:
    """Draw each series' posterior predictive 50% and 90% bands and median, with the history.

    ``intervals`` holds the observed points (series, year, observed); ``predictive`` one row
    per draw with ``series/year`` columns.
    """
    series = list(dict.fromkeys(intervals["series"]))
    cols = 3
    rows = math.ceil(len(series) / cols)
    fig = Figure(figsize=(12, 2.8 * rows), layout="constrained")
    for i, name in enumerate(series):
        ax = fig.add_subplot(rows, cols, i + 1)
        title, unit, factor = SERIES_LABELS.get(name, (name, "", 1.0))
        keys = sorted(
            (c for c in predictive.columns if c.startswith(f"{name}/")), key=lambda c: int(c.split("/")[1])
        )
        years = np.array([int(k.split("/")[1]) for k in keys])
        values = predictive[keys].to_numpy(float) * factor
        q = np.nanquantile(values, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        ax.fill_between(years, q[0], q[4], color=_INK, alpha=0.15, lw=0, label="90%")
        ax.fill_between(years, q[1], q[3], color=_INK, alpha=0.3, lw=0, label="50%")
        ax.plot(years, q[2], color=_INK, lw=1.5, label="median")
        obs = intervals[intervals["series"] == name]
        if {"q05", "q95"} <= set(obs.columns):  # the 90% interval of what the series would report
            ax.vlines(
                obs["year"], obs["q05"] * factor, obs["q95"] * factor, color=_INK, lw=3, alpha=0.35,
                label="90% with observation error",
            )  # fmt: skip
        ax.plot(obs["year"], obs["observed"] * factor, "o", color=_OBSERVED, label="observed")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(unit, fontsize=8)
        ax.set_xticks(years)
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.legend(fontsize=7)
    fig.suptitle(
        "Posterior predictive checks: the model's 50% and 90% bands, the 90% interval of the observations "
        "(with their error) at each observed year, and the history",
        fontsize=10,
    )
    return fig
