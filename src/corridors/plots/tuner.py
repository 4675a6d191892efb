"""The figure of :class:`corridors.tuning.Tuner`: corridor volumes and shares, redrawn in place.

:class:`TunerFigure` builds one :class:`~matplotlib.figure.Figure` with the reference run
dashed and the tuned run solid, and :meth:`TunerFigure.update` replaces the tuned lines'
data: no new figure, axes or artists per update, and a fixed layout (constrained layout
would take longer than the model's run to redraw), so that a slider's redraw stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from corridors.plots.style import CORRIDOR_COLOURS, corridor_label, y_grid
from corridors.vocabulary import CORRIDORS

if TYPE_CHECKING:  # never at run time: results must not import plots, nor plots results
    from corridors.results import Results

__all__ = ["TunerFigure", "tuner_series"]

EVENTS_FROM = 2026  # the shipped scenarios' own events start in 2026 (after the 2025 C5+1 summit)


def tuner_series(res: Results) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Take what the tuner draws of a run: annual freight and shares by corridor.

    Parameters
    ----------
    res : Results
        A run; its ``annual_volumes()`` is read.

    Returns
    -------
    years : numpy.ndarray
        The run's years.
    volumes : dict of str to numpy.ndarray
        Mt/yr by corridor, every corridor of ``CORRIDORS``.
    shares : dict of str to numpy.ndarray
        % of the year's freight by corridor (0 in a year with no freight).
    """
    vol = res.annual_volumes().pivot(index="year", columns="corridor", values="volume_t")
    vol = vol.reindex(columns=list(CORRIDORS), fill_value=0.0).fillna(0.0)
    total = vol.sum(axis=1).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = {c: np.where(total > 0, vol[c].to_numpy() / total * 100.0, 0.0) for c in CORRIDORS}
    return vol.index.to_numpy(), {c: vol[c].to_numpy() / 1e6 for c in CORRIDORS}, share


class TunerFigure:
    """Corridor volumes and shares of a tuned run against a reference run, in one figure.

    Parameters
    ----------
    reference : Results
        The run drawn dashed ("scenario as it is"), and the first tuned run; only the
        corridors that carry freight in it get lines.
    heading : str
        The start of the title, e.g. ``"baseline to 2030"``.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The figure, the same object for the life of this instance.
    """

    def __init__(self, reference: Results, heading: str) -> None:
        self.heading = heading
        years, mt, share = tuner_series(reference)
        shown = [c for c in CORRIDORS if (mt[c] > 0).any()]
        # A fixed layout: constrained layout would take longer than the model to redraw.
        fig = Figure(figsize=(11.5, 5.0))
        fig.subplots_adjust(left=0.06, right=0.99, bottom=0.2, top=0.87, wspace=0.18)
        ax_vol, ax_share = fig.subplots(1, 2)
        lines = {}
        for ax, data, key in ((ax_vol, mt, "volume"), (ax_share, share, "share")):
            for c in shown:
                colour = CORRIDOR_COLOURS[c]
                ax.plot(years, data[c], color=colour, lw=1.2, ls="--", alpha=0.7)
                (lines[key, c],) = ax.plot(
                    years, data[c], color=colour, lw=2.4, marker="o", ms=3, label=corridor_label(c)
                )
            if years[-1] >= EVENTS_FROM:
                ax.axvline(EVENTS_FROM - 0.5, color="#888888", lw=0.8, ls=":")
                ax.text(
                    EVENTS_FROM - 0.4,
                    0.98,
                    f"scenario events from {EVENTS_FROM}",
                    transform=ax.get_xaxis_transform(),
                    fontsize=7,
                    color="#666666",
                    va="top",
                )
            ax.set_xlabel("year")
            y_grid(ax)
            ax.set_ylim(bottom=0)
        ax_vol.set_ylabel("freight (Mt/yr, pipelines excluded)")
        ax_vol.set_title("Freight by corridor", loc="left", fontsize=11)
        ax_share.set_ylabel("share of the year's freight (%)")
        ax_share.set_title("Corridor shares", loc="left", fontsize=11)
        handles = [lines["volume", c] for c in shown]
        handles += [
            Line2D([], [], color="#444444", lw=2.4, label="tuned run"),
            Line2D([], [], color="#444444", lw=1.2, ls="--", label="scenario as it is"),
        ]
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9, frameon=False)
        fig.suptitle(self.title({}), fontsize=10)
        self.figure = fig
        self._axes = (ax_vol, ax_share)
        self._lines = lines

    def title(self, changed: Mapping[str, float]) -> str:
        """Write the figure's title: the heading and the levers that differ from their defaults.

        Parameters
        ----------
        changed : mapping of str to float
            Lever label -> value, for the levers changed (empty: every lever at its default).

        Returns
        -------
        str
            ``"<heading>, deterministic: <label> <value>, ..."``.
        """
        what = ", ".join(f"{label} {value:.3g}" for label, value in changed.items())
        return f"{self.heading}, deterministic: {what or 'every lever at its default'}"

    def update(self, res: Results, changed: Mapping[str, float]) -> Figure:
        """Redraw the tuned run in place: new line data, rescaled axes, a new title.

        Parameters
        ----------
        res : Results
            The tuned run.
        changed : mapping of str to float
            Lever label -> value, for the title (see :meth:`title`).

        Returns
        -------
        matplotlib.figure.Figure
            :attr:`figure`, the same object as before.
        """
        years, mt, share = tuner_series(res)
        for (key, c), line in self._lines.items():
            line.set_data(years, (mt if key == "volume" else share)[c])
        for ax in self._axes:
            ax.relim()
            ax.autoscale_view()
            ax.set_ylim(bottom=0)
        self.figure.suptitle(self.title(changed), fontsize=10)
        return self.figure
