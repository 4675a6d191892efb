"""The standard figures of one run: what ``corridors run`` writes into a run directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from corridors.network import Network
from corridors.plots.maps import flow_map
from corridors.plots.series import bottleneck_plot, country_shares_plot, dependence_plot, volumes_plot

if TYPE_CHECKING:  # never at run time: results must not import plots, nor plots results
    from matplotlib.figure import Figure

    from corridors.results import Results

__all__ = ["run_plots"]


def run_plots(res: Results, net: Network, *, year: int | None = None) -> dict[str, Figure]:
    """Draw the standard figures of one run, keyed by the PNG file name to write them to.

    Parameters
    ----------
    res : Results
        The run.
    net : Network
        The network it ran on.
    year : int, optional
        The flow map's year (default: the run's last).

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        ``volumes.png``, ``country_shares.png``, ``dependence.png``, ``bottlenecks.png`` and
        ``flow_map.png``, each a new figure.
    """
    return {
        "volumes.png": volumes_plot(res),
        "country_shares.png": country_shares_plot(res),
        "dependence.png": dependence_plot(res),
        "bottlenecks.png": bottleneck_plot(res, net),
        "flow_map.png": flow_map(res, net, year),
    }
