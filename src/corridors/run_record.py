"""What a finished run hands over: its recorded arrays and the static facts needed to read them.

:meth:`corridors.model.CorridorModel.run` returns a :class:`RunRecord`;
:meth:`corridors.results.Results.from_record` turns it into tables. The record carries
plain arrays and labels only, so the results layer needs nothing of the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "CHOICE_ARRAYS",
    "SHIPPER_KEYS",
    "STEP_ARRAYS",
    "CostTerms",
    "RunRecord",
    "allocate_steps",
    "write_choices",
    "write_loading",
]

CHOICE_ARRAYS = (
    "intended",
    "memory_money",
    "memory_time",
    "memory_time_sd",
    "quote_wait",
    "premium",
    "subsidy",
    "political",
    "open_share",
)
"""The ``(T, S, K)`` arrays of what the shippers compared when they chose (:func:`write_choices`):
the freight their contracts and the state cargo allocate to each corridor before bans (a
share of the shipper's freight), the remembered money (USD/t), time and its standard
deviation (days), the queue wait in the quoted time (days), the policy terms (USD/t) and
the share of the flow that may use the corridor (0 where it is closed, cannot reach the
market or is wholly banned; a ban's cap where one applies)."""

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
    *CHOICE_ARRAYS,
)
"""The per-step arrays of a record: ``(T, S, K)`` per shipper and corridor, ``(T, S)`` per
shipper, ``(T, E)`` per link, ``(T, len(policy_columns))`` and ``(T, len(pipelines))``."""

SHIPPER_KEYS = ("origin", "market", "commodity", "direction", "country")


@dataclass(frozen=True, eq=False)
class CostTerms:
    """The fixed parts of the generalised cost the shippers compare (:func:`corridors.agents.rules._cost`).

    Attributes
    ----------
    vot_usd_per_t_day : numpy.ndarray
        ``(S,)``: each shipper's value of time averaged over its segments by their shares of
        its freight (the cost is linear in it, so this is the cost averaged over segments).
    constant : numpy.ndarray
        ``(S, K)``: the corridor constants, USD/t.
    penalty_days : numpy.ndarray
        ``(K,)``: the reliability penalty of each corridor, days.
    reliability_weight : float
        Days of cost per day of standard deviation of the remembered time.
    """

    vot_usd_per_t_day: np.ndarray
    constant: np.ndarray
    penalty_days: np.ndarray
    reliability_weight: float


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
    cost_terms : CostTerms, optional
        The fixed parts of the shippers' generalised cost; ``None``: the record has no cost
        breakdown.
    refusals : list of tuple
        ``(step, agent, "refuse", reason)`` of every yearly project review that funded nothing.
    edge_names : tuple of str, optional
        Each link as ``"tail -> head"``.
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
    cost_terms: CostTerms | None = None
    refusals: list[tuple] = field(default_factory=list)
    edge_names: tuple[str, ...] | None = None

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
    shapes |= dict.fromkeys(CHOICE_ARRAYS, (T, S, K))
    arrays = {name: np.zeros(shape) for name, shape in shapes.items()}
    for name in ("money", "time", "memory_money", "memory_time", "memory_time_sd"):
        arrays[name] = np.full((T, S, K), np.nan)
    return arrays


def write_choices(arrays: Mapping[str, np.ndarray], t: int, sh, cargo, state_share, view, quote_wait) -> None:
    """Write what the shippers compared in quarter ``t`` when they chose, and what they chose.

    Called after the shippers' choice and the governments' routing, before the loading:
    the memories are those the choice read (the money of this quarter's quote, with
    ``quoted_money``), and ``intended`` the freight share contracts and state cargo put on
    each corridor before bans split it.

    Parameters
    ----------
    arrays : mapping of str to numpy.ndarray
        The run's arrays (:func:`allocate_steps`).
    t : int
        The quarter.
    sh : ShipperArrays
        The shippers' state after their choice.
    cargo : StateCargo
        The governments' allocation of their state cargo.
    state_share : numpy.ndarray
        ``(S,)``: the share of each flow the state controls.
    view : QuarterView
        The quarter's view (policy terms, ban caps).
    quote_wait : numpy.ndarray
        ``(S, K)``: the queue wait in each quoted time, days.
    """
    r, ss = arrays, state_share[:, None]
    np.multiply(1.0 - ss, sh.shares, out=r["intended"][t])
    r["intended"][t] += ss * cargo.alloc
    r["memory_money"][t] = sh.memory_money
    r["memory_time"][t] = sh.memory_time
    np.sqrt(sh.memory_time_var, out=r["memory_time_sd"][t])
    r["quote_wait"][t] = quote_wait
    r["premium"][t] = view.premium
    r["subsidy"][t] = view.subsidy
    r["political"][t] = view.political
    np.multiply(view.ban_cap, view.available, out=r["open_share"][t])


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
