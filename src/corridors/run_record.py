"""What a finished run hands over: its recorded arrays and the static facts needed to read them.

:meth:`corridors.model.CorridorModel.run` returns a :class:`RunRecord`;
:meth:`corridors.results.Results.from_record` turns it into tables. The record carries
plain arrays and labels only, so the results layer needs nothing of the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SHIPPER_KEYS",
    "STEP_ARRAYS",
    "RunRecord",
    "allocate_steps",
    "write_loading",
]

STEP_ARRAYS = (
    "served",
    "offered",
    "backlog",
    "diverted",
    "demand",
    "money",
    "time",
    "edge_flow",
    "edge_container_flow",
    "edge_load",
    "edge_capacity",
    "edge_time_h",
    "edge_wait_days",
    "policy",
    "pipeline",
)
"""The per-step arrays of a record: ``(T, S, K)`` per shipper and corridor, ``(T, S)`` per
shipper, ``(T, E)`` per link, ``(T, len(policy_columns))`` and ``(T, len(pipelines))``."""

SHIPPER_KEYS = ("origin", "market", "commodity", "direction", "country")


@dataclass(frozen=True, eq=False)
class RunRecord:
    """A run's recorded arrays, trimmed to the steps it ran, and what they are indexed by.

    Attributes
    ----------
    arrays : mapping of str to numpy.ndarray
        Every name of :data:`STEP_ARRAYS`, with ``n_steps`` rows.
    n_steps : int
        Quarters run (from 2019Q1).
    end_year : int
        Last year of the horizon.
    stochastic : bool
        Whether the run drew random numbers.
    shippers : mapping of str to list of str
        For each of :data:`SHIPPER_KEYS`, each shipper's value, in shipper order.
    policy_columns : tuple of str
        The columns of ``arrays["policy"]``.
    pipelines : tuple of str
        The columns of ``arrays["pipeline"]``.
    decisions : list of tuple
        ``(step, agent, decision, detail)`` of every discrete decision.
    gateway : numpy.ndarray
        Per link, the corridor (index into ``CORRIDORS``) it belongs to, or -1.
    hard : numpy.ndarray
        Per link, whether its capacity is hard (queues form).
    middle_caspian_edges, kz_caspian_edges : tuple of int
        The Caspian crossings leaving a Kazakh port, and those leaving or reaching one.
    t_per_teu : float
        Tonnes in a loaded TEU.
    observed_edges : mapping of str to tuple of int, optional
        The links each observed series counts (:func:`corridors.layout.observed_edges`, by the
        names of :data:`corridors.layout.OBSERVED_EDGE_SETS`); ``None``: none, and the
        observables that need them raise a ``KeyError``.
    """

    arrays: Mapping[str, np.ndarray]
    n_steps: int
    end_year: int
    stochastic: bool
    shippers: Mapping[str, list[str]]
    policy_columns: tuple[str, ...]
    pipelines: tuple[str, ...]
    decisions: list[tuple]
    gateway: np.ndarray
    hard: np.ndarray
    middle_caspian_edges: tuple[int, ...]
    kz_caspian_edges: tuple[int, ...]
    t_per_teu: float
    observed_edges: Mapping[str, tuple[int, ...]] | None = None

    @property
    def n_edges(self) -> int:
        """Links of the network."""
        return int(self.gateway.size)


def allocate_steps(
    n_steps: int, n_shippers: int, n_corridors: int, n_edges: int, n_policy: int, n_pipelines: int
) -> dict[str, np.ndarray]:
    """Allocate the per-step arrays of a run (:data:`STEP_ARRAYS`), zero, or NaN for costs.

    Parameters
    ----------
    n_steps, n_shippers, n_corridors, n_edges : int
        The axes: quarters, shippers, corridors, links.
    n_policy, n_pipelines : int
        Columns of the policy levers and of the pipelines.

    Returns
    -------
    dict of str to numpy.ndarray
        One array per name of :data:`STEP_ARRAYS`, steps first.
    """
    T, S, K, E = n_steps, n_shippers, n_corridors, n_edges
    shapes = {
        "served": (T, S, K),
        "offered": (T, S, K),
        "backlog": (T, S, K),
        "diverted": (T, S),
        "demand": (T, S),
    }
    shapes |= {name: (T, E) for name in STEP_ARRAYS if name.startswith("edge_")}
    shapes |= {"policy": (T, n_policy), "pipeline": (T, n_pipelines)}
    arrays = {name: np.zeros(shape) for name, shape in shapes.items()}
    arrays["money"] = np.full((T, S, K), np.nan)
    arrays["time"] = np.full((T, S, K), np.nan)
    return arrays


def write_loading(arrays: Mapping[str, np.ndarray], t: int, view, outcome, new, diverted, slot) -> None:
    """Write quarter ``t``'s loading into the run's arrays.

    Parameters
    ----------
    arrays : mapping of str to numpy.ndarray
        The run's arrays (:func:`allocate_steps`).
    t : int
        The quarter.
    view : QuarterView
        The quarter's view before the loading (volumes, premiums, subsidies, capacities).
    outcome : Settled
        What the loading gave (:class:`corridors.settling.Settled`).
    new, diverted : numpy.ndarray
        Freight booked this quarter ``(S, K)`` and diverted per shipper ``(S,)``.
    slot : numpy.ndarray
        The links in CSR slot order (``outcome.box_flows`` is in that order).
    """
    o, v, r = outcome, view, arrays
    r["served"][t] = o.served
    r["offered"][t] = new
    r["backlog"][t] = o.backlog
    r["diverted"][t] = diverted
    r["demand"][t] = v.volumes
    r["money"][t] = o.exp_money - v.subsidy + v.premium
    r["time"][t] = o.exp_time
    r["edge_flow"][t] = o.flow_e
    r["edge_container_flow"][t, slot] = o.box_flows
    r["edge_load"][t] = o.load_e
    r["edge_capacity"][t] = v.capacity
    r["edge_time_h"][t] = o.time_e
    r["edge_wait_days"][t] = o.wait_e
