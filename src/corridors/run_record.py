"""What a finished run hands over: its recorded arrays and the static facts needed to read them.

:meth:`corridors.model.CorridorModel.run` returns a :class:`RunRecord`;
:meth:`corridors.results.Results.from_record` turns it into tables. The record carries
plain arrays and labels only, so the results layer needs nothing of the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["SHIPPER_KEYS", "STEP_ARRAYS", "RunRecord"]

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

    @property
    def n_edges(self) -> int:
        """Links of the network."""
        return int(self.gateway.size)
