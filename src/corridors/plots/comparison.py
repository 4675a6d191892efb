"""Runs and ensembles side by side: :func:`compare`, the public ``corridors.compare``.

It draws single runs with :func:`compare_plot` and ensembles with :func:`fan_chart`.

Runs and ensembles are duck-typed: this package never imports :mod:`corridors.results` at
run time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from corridors.plots.frames import active_corridors, annual_by_corridor
from corridors.plots.style import (
    CORRIDOR_COLOURS,
    HISTORY_SHADE,
    corridor_handles,
    corridor_label,
    shade_observed,
    year_axis,
)
from corridors.vocabulary import BASE_YEAR, CORRIDORS, LAST_OBSERVED_YEAR

if TYPE_CHECKING:  # never at run time: results must not import plots, nor plots results
    from corridors.results import Results

__all__ = ["MIN_FAN_RUNS", "compare", "compare_plot", "fan_chart"]

MIN_FAN_RUNS = 30
"""Fewer runs than this: a fan chart warns that its bands (5% and 95% quantiles) are rough."""


def compare_plot(results: Sequence[Results], labels: Sequence[str]) -> Figure:
    """Draw runs side by side: annual freight by corridor, one column per run, shared axes.

    With two or more runs a bottom row shows each run minus the first (Mt/yr); the cell under
    the first run holds the legend.

    Parameters
    ----------
    results : sequence of Results
        The runs; their ``corridors`` tables are read. Runs of different lengths are
        compared over the years they share.
    labels : sequence of str
        One title per run.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure: one column per run, the differences below.

    Raises
    ------
    ValueError
        If there is no run, or not one label per run.
    """
    results, labels = list(results), list(labels)
    if not results:
        raise ValueError("compare_plot: no runs given")
    if len(labels) != len(results):
        raise ValueError(f"compare_plot: {len(results)} runs but {len(labels)} labels")
    vols = [annual_by_corridor(r) for r in results]
    all_years = sorted(set().union(*(v.index for v in vols)))
    active = [c for c in CORRIDORS if any(c in active_corridors(v) for v in vols)]
    n = len(results)
    diff_row = n >= 2
    fig = Figure(figsize=(max(7.0, 4.3 * n + 0.6), 7.6 if diff_row else 4.8), layout="constrained")
    gs = fig.add_gridspec(2 if diff_row else 1, n, height_ratios=[1.5, 1.0] if diff_row else None)
    top: list = []
    for i, (vol, label) in enumerate(zip(vols, labels, strict=True)):
        ax = fig.add_subplot(gs[0, i], sharex=top[0] if top else None, sharey=top[0] if top else None)
        top.append(ax)
        for c in active:
            ax.plot(
                vol.index.to_numpy(),
                vol[c].to_numpy(),
                color=CORRIDOR_COLOURS[c],
                lw=2.0,
                label=corridor_label(c),
            )
        ax.set_title(label, fontsize=11)
        year_axis(ax, all_years, max_ticks=6)
        if i == 0:
            ax.set_ylabel("freight (Mt/yr)")
        else:
            ax.tick_params(labelleft=False)
        if not diff_row:
            ax.set_xlabel("year")
    top[0].set_ylim(bottom=0)
    if diff_row:
        holder = fig.add_subplot(gs[1, 0])
        holder.axis("off")
        holder.legend(
            handles=corridor_handles(active),
            loc="upper center",
            fontsize=9,
            frameon=False,
            title="corridor",
            title_fontsize=9,
        )
        holder.text(
            0.5,
            0.08,
            f"bottom row: each run minus\n'{labels[0]}', same years only",
            ha="center",
            va="bottom",
            fontsize=9,
            transform=holder.transAxes,
            color="#444444",
        )
        base = vols[0]
        diff_axes: list = []
        for i in range(1, n):
            ax = fig.add_subplot(gs[1, i], sharex=top[0], sharey=diff_axes[0] if diff_axes else None)
            diff_axes.append(ax)
            common = vols[i].index.intersection(base.index)
            d = vols[i].loc[common] - base.loc[common]
            ax.axhline(0.0, color="#333333", lw=0.8)
            for c in active:
                ax.plot(
                    common.to_numpy(),
                    d[c].to_numpy(),
                    color=CORRIDOR_COLOURS[c],
                    lw=1.8,
                    label=corridor_label(c),
                )
            ax.set_title(f"{labels[i]} minus {labels[0]}", fontsize=10)
            ax.set_xlabel("year")
            year_axis(ax, all_years, max_ticks=6)
            if i == 1:
                ax.set_ylabel("difference (Mt/yr)")
            else:
                ax.tick_params(labelleft=False)
        for ax in top:
            ax.tick_params(labelbottom=True)
    else:
        top[0].legend(loc="upper left", fontsize=9, frameon=False)
    fig.suptitle("Freight by corridor, run by run", fontsize=12)
    return fig


# ---------------------------------------------------------------------------- ensembles

_STYLES = ("-", "--", ":", "-.")
# Each item also has its own shade of the corridor's colour (the hue still names the corridor),
# a marker on its median, and a grey of its own in the overtaking panel: items whose lines
# overlap stay told apart.
_SHADES = (0.0, -0.45, 0.45, -0.7)  # towards black (< 0) or white (> 0)
_MARKERS = ("o", "s", "^", "D")
_GREYS = ("#222222", "#777777", "#000000", "#AAAAAA")


def _shade(colour: str, amount: float) -> tuple[float, float, float]:
    """Mix a colour with black (``amount`` < 0) or white (> 0)."""
    rgb = np.array(mpl.colors.to_rgb(colour))
    target = 0.0 if amount < 0 else 1.0
    return tuple(rgb + (target - rgb) * abs(amount))


def _runs_text(runs: int) -> str:
    return f"{runs} run" if runs == 1 else f"{runs} runs"


def _fan_data(item) -> tuple[pd.DataFrame, int]:
    """Quantiles of annual volume by year and corridor (Mt/yr), and the number of runs."""
    if hasattr(item, "quantiles"):  # an EnsembleResults
        q = item.quantiles("volume_t")
        runs = item.runs
    else:  # one run: every quantile is its line
        v = item.annual_volumes()
        q = v[["year", "corridor"]].copy()
        for name in ("q0.05", "q0.25", "q0.5", "q0.75", "q0.95"):
            q[name] = v["volume_t"].to_numpy()
        runs = 1
    cols = [c for c in q.columns if c.startswith("q")]
    q[cols] = q[cols] / 1e6
    return q, runs


def _overtaking(item, a: str, b: str) -> pd.DataFrame:
    """year, p_overtaken_by: the share of runs in which ``a`` carried more than ``b`` by then."""
    if hasattr(item, "exceedance"):
        return item.exceedance(a, b)[["year", "p_overtaken_by"]]
    w = item.annual_volumes().pivot(index="year", columns="corridor", values="volume_t")
    ever = (w[a] > w[b]).cummax().astype(float)
    return pd.DataFrame({"year": w.index.to_numpy(), "p_overtaken_by": ever.to_numpy()})


def fan_chart(
    items: Sequence, labels: Sequence[str], *, overtake: tuple[str, str] = ("middle", "russian")
) -> Figure:
    """Ensembles (or single runs) as fan charts: one panel per corridor, and overtaking odds.

    Each corridor panel shows every item's median with its 50% and 90% bands (darker and
    lighter); items differ in line style, marker and shade of the corridor's colour, so
    that overlapping ones stay apart. The last panel shows the probability that corridor
    ``overtake[0]`` has carried more than ``overtake[1]`` in some year up to each year.
    The title says how many runs the bands rest on; an ensemble of fewer than
    :data:`MIN_FAN_RUNS` runs gets a warning in red above the legend.

    Parameters
    ----------
    items : sequence of EnsembleResults or Results
        At most four; an ensemble's ``quantiles`` and ``exceedance`` are read, a single
        run's ``annual_volumes`` (its every quantile is its line).
    labels : sequence of str
        One per item, in the legend.
    overtake : (str, str)
        The corridors of the overtaking panel.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of one panel per corridor that carries anything, and the overtaking panel.

    Raises
    ------
    ValueError
        If there is nothing to draw, more than four items, or not one label per item.
    """
    items, labels = list(items), list(labels)
    if not items:
        raise ValueError("fan_chart: nothing to draw")
    if len(labels) != len(items):
        raise ValueError(f"fan_chart: {len(items)} items but {len(labels)} labels")
    if len(items) > len(_STYLES):
        raise ValueError(f"fan_chart: at most {len(_STYLES)} ensembles in one figure, got {len(items)}")
    fans = [_fan_data(it) for it in items]
    active = [c for c in CORRIDORS if any((q.loc[q["corridor"] == c, "q0.95"] > 0).any() for q, _ in fans)]
    n_panels = len(active) + 1
    ncols = min(3, n_panels)
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(4.4 * ncols, 3.4 * nrows + 0.9), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    years = sorted(set().union(*(set(q["year"]) for q, _ in fans)))
    span = (years[0] - 0.5, years[-1] + 0.5)
    for ax, c in zip(axes, active, strict=False):
        top = 0.0
        for i, (q, _) in enumerate(fans):
            colour = _shade(CORRIDOR_COLOURS[c], _SHADES[i])
            k = q[q["corridor"] == c].sort_values("year")
            x = k["year"].to_numpy()
            ax.fill_between(x, k["q0.05"], k["q0.95"], color=colour, alpha=0.15, lw=0)
            ax.fill_between(x, k["q0.25"], k["q0.75"], color=colour, alpha=0.3, lw=0)
            ax.plot(x, k["q0.5"], color=colour, lw=2.0, ls=_STYLES[i], marker=_MARKERS[i], ms=4)
            top = max(top, float(k["q0.95"].max()))
        ax.set_title(corridor_label(c), fontsize=11, color=CORRIDOR_COLOURS[c])
        ax.set_ylabel("freight (Mt/yr)")
        ax.set_ylim(0, top * 1.08 if top > 0 else 1.0)  # room above the highest band
        year_axis(ax, years, max_ticks=6)
        shade_observed(ax)
        ax.set_xlim(*span)
    ax = axes[len(active)]
    a, b = overtake
    for i, (item, label) in enumerate(zip(items, labels, strict=False)):
        p = _overtaking(item, a, b)
        ax.step(
            p["year"], p["p_overtaken_by"], where="mid", color=_GREYS[i], lw=2.0, ls=_STYLES[i], label=label
        )
        ax.plot(p["year"], p["p_overtaken_by"], ls="none", marker=_MARKERS[i], ms=5, color=_GREYS[i])
    ax.set_ylim(-0.04, 1.04)
    ax.set_ylabel("probability")
    ax.set_title(f"P({corridor_label(a)} has passed {corridor_label(b)})", fontsize=11)
    year_axis(ax, years, max_ticks=6)
    ax.set_xlim(*span)
    for extra in axes[len(active) + 1 :]:
        extra.axis("off")
    handles = [
        Line2D(
            [],
            [],
            color=_GREYS[i],
            lw=2.0,
            ls=_STYLES[i],
            marker=_MARKERS[i],
            ms=5,
            label=f"{label} ({_runs_text(runs)})",
        )
        for i, ((_, runs), label) in enumerate(zip(fans, labels, strict=False))
    ]
    handles += [
        mpl.patches.Patch(color="#555555", alpha=0.5, label="50% of runs (darker band)"),
        mpl.patches.Patch(color="#555555", alpha=0.25, label="90% of runs (lighter band)"),
        mpl.patches.Patch(
            facecolor=HISTORY_SHADE,
            edgecolor="#999999",
            label=f"observed years ({BASE_YEAR}-{LAST_OBSERVED_YEAR})",
        ),
    ]
    counts = [runs for (_, runs), item in zip(fans, items, strict=True) if hasattr(item, "quantiles")]
    rests = " and ".join(_runs_text(n) for n in counts) if counts else "single runs (no bands)"
    few = [
        (label, runs)
        for (_, runs), item, label in zip(fans, items, labels, strict=True)
        if hasattr(item, "quantiles") and runs < MIN_FAN_RUNS
    ]
    warning = None
    if few:
        named = "; ".join(f"{label}: {_runs_text(runs)}" for label, runs in few)
        warning = f"Warning: too few runs for reliable bands ({named}; {MIN_FAN_RUNS} or more needed)"
    legend = fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 3),
        fontsize=9,
        frameon=False,
        title=warning,
        title_fontproperties={"size": 10, "weight": "bold"},
    )
    if warning:
        legend.get_title().set_color("#B00000")
    fig.suptitle(f"Freight by corridor: median, 50% and 90% bands over {rests}", fontsize=12)
    return fig


def compare(
    items: Sequence, labels: Sequence[str] | None = None, *, overtake: tuple[str, str] = ("middle", "russian")
) -> Figure:
    """Compare runs or ensembles in one figure.

    Parameters
    ----------
    items : sequence of Results or EnsembleResults
        Single runs only: :func:`compare_plot` (two or more runs side by side). With any
        ensemble: :func:`fan_chart` (median and bands per corridor, overtaking odds).
    labels : sequence of str, optional
        One per item (default: each one's scenario name, or its position).
    overtake : (str, str)
        The corridors of the overtaking panel of a fan chart: the probability that the first
        has passed the second by each year.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure (nothing touches pyplot); save it with ``fig.savefig`` or
        :func:`corridors.plots.png_bytes`.

    Raises
    ------
    ValueError
        No item, not one label per item, or (with ensembles) more ensembles than the fan
        chart has line styles.

    Examples
    --------
    >>> import corridors
    >>> base = corridors.run("baseline", seed=7, end_year=2021)
    >>> bloc = corridors.run("c5_bloc", seed=7, end_year=2021)
    >>> fig = corridors.compare([base, bloc])
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['baseline', 'c5_bloc']
    """
    items = list(items)
    if labels is None:
        labels = [str(getattr(it, "meta", {}).get("scenario") or f"#{i + 1}") for i, it in enumerate(items)]
        if len(set(labels)) < len(labels):
            labels = [f"{lab} #{i + 1}" for i, lab in enumerate(labels)]
    if any(hasattr(it, "quantiles") for it in items):
        return fan_chart(items, labels, overtake=overtake)
    return compare_plot(items, labels)
