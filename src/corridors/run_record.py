"""What a finished run hands over: its recorded arrays and the static facts needed to read them.

:meth:`corridors.model.CorridorModel.run` returns a :class:`RunRecord`;
:meth:`corridors.results.Results.from_record` turns it into tables. The record carries
plain arrays and labels only, so the results layer needs nothing of the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numba import njit

__all__ = [
    "CHOICE_ARRAYS",
    "SHIPPER_KEYS",
    "STEP_ARRAYS",
    "YEAR_ARRAY",
    "ChoiceLog",
    "Choices",
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
market or is wholly banned; a ban's cap where one applies).

They are kept only for the shipper-corridor pairs that some contract or state cargo
intended or that were open to the shipper in some quarter (:class:`ChoiceLog`): the others,
most pairs (a flow reaches its market by few corridors), hold nothing a shipper compared."""

_CHOICE_FILL = tuple(0.0 if name in ("intended", "open_share") else np.nan for name in CHOICE_ARRAYS)
"""What :meth:`Choices.dense` shows where nothing was recorded: the pair was neither intended
nor open, so its intended share and open share are 0 and no term was compared (NaN)."""

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
shipper, ``(T, E)`` per link, ``(T, len(policy_columns))`` and ``(T, len(pipelines))``.
The choice terms (:data:`CHOICE_ARRAYS`) are kept apart, compactly (:class:`Choices`)."""

YEAR_ARRAY = "corridor_link_flow"
"""The one per-year array of a record: ``(years, K, E)`` served tonnes of each corridor's freight
on each link, summed over the year's quarters (what the flow map colours links by)."""

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
class Choices:
    """What the shippers compared when they chose (:data:`CHOICE_ARRAYS`), for the pairs recorded.

    A shipper-corridor pair is recorded from the first quarter in which some of the
    shipper's freight was intended for the corridor or the corridor was open to it
    (:class:`ChoiceLog`); :meth:`dense` gives the ``(T, S, K)`` array of a term.

    Attributes
    ----------
    cells : numpy.ndarray
        ``(P,)``: the recorded pairs, as ``shipper * n_corridors + corridor``.
    values : numpy.ndarray
        ``(T, len(CHOICE_ARRAYS), P)``: each quarter's terms of the recorded pairs, in the
        order of :data:`CHOICE_ARRAYS`.
    n_shippers, n_corridors : int
        The shape of a quarter's terms.
    """

    cells: np.ndarray
    values: np.ndarray
    n_shippers: int
    n_corridors: int

    def dense(self, name: str) -> np.ndarray:
        """Return the ``(T, S, K)`` array of the term ``name`` (one of :data:`CHOICE_ARRAYS`).

        Pairs not recorded in a quarter (never intended nor open until then) hold 0 in
        ``intended`` and ``open_share``, which is what they were, and NaN in the terms
        nobody compared.
        """
        j = CHOICE_ARRAYS.index(name)
        T = self.values.shape[0]
        out = np.full((T, self.n_shippers * self.n_corridors), _CHOICE_FILL[j])
        out[:, self.cells] = self.values[:, j, :]
        return out.reshape(T, self.n_shippers, self.n_corridors)


@dataclass(frozen=True, eq=False)
class RunRecord:
    """A run's recorded arrays, trimmed to the steps it ran, and what they are indexed by.

    Attributes
    ----------
    arrays : mapping of str to numpy.ndarray
        Every name of :data:`STEP_ARRAYS`, with ``n_steps`` rows, and :data:`YEAR_ARRAY` with
        a row per year begun (absent in a record made without it).
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
    choices : Choices, optional
        What the shippers compared when they chose, ``n_steps`` quarters; ``None``: not
        recorded (the record has no cost breakdown).
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
    choices: Choices | None = None

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
    for name in ("money", "time"):
        arrays[name] = np.full((T, S, K), np.nan)
    arrays[YEAR_ARRAY] = np.zeros(((T + 3) // 4, K, E))
    return arrays


class ChoiceLog:
    """The choice terms of a run as it goes: each quarter's terms of the pairs recorded so far.

    A pair (shipper, corridor) joins the log in the first quarter in which it is intended
    or open (:data:`CHOICE_ARRAYS`); its earlier quarters keep :meth:`Choices.dense`'s
    fill, which is what they were for ``intended`` and ``open_share``. The pairs are few and
    change only when an event opens a route, so the log holds about a quarter of the
    ``(T, S, K)`` arrays, and a quarter is written by one kernel call.

    Parameters
    ----------
    n_steps, n_shippers, n_corridors : int
        The quarters, shippers and corridors of the run.
    """

    def __init__(self, n_steps: int, n_shippers: int, n_corridors: int) -> None:
        self.n_shippers, self.n_corridors = n_shippers, n_corridors
        self.column = np.full(n_shippers * n_corridors, -1, dtype=np.int64)  # each pair's column, -1: none
        self.cells = np.empty(0, dtype=np.int64)
        self.values = np.empty((n_steps, len(CHOICE_ARRAYS), 0))

    def upto(self, n_steps: int) -> Choices:
        """Return the terms of the first ``n_steps`` quarters (views: later quarters do not change them)."""
        return Choices(self.cells, self.values[:n_steps], self.n_shippers, self.n_corridors)

    def _add(self, cells: np.ndarray) -> None:
        """Record the pairs ``cells`` (flat indices) from now on."""
        T, J, P = self.values.shape
        values = np.empty((T, J, P + cells.size))
        values[:, :, :P] = self.values
        values[:, :, P:] = np.array(_CHOICE_FILL)[None, :, None]
        self.column[cells] = np.arange(P, P + cells.size)
        self.cells = np.concatenate([self.cells, cells])
        self.values = values


def write_choices(log: ChoiceLog, t: int, sh, cargo, state_share, view, quote_wait) -> None:
    """Write what the shippers compared in quarter ``t`` when they chose, and what they chose.

    Called after the shippers' choice and the governments' routing, before the loading:
    the memories are those the choice read (the money of this quarter's quote, with
    ``quoted_money``), and ``intended`` the freight share contracts and state cargo put on
    each corridor before bans split it.

    Parameters
    ----------
    log : ChoiceLog
        The run's choice terms.
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
    args = (
        sh.shares,
        cargo.alloc,
        state_share,
        sh.memory_money,
        sh.memory_time,
        sh.memory_time_var,
        quote_wait,
        view.premium,
        view.subsidy,
        view.political,
        view.ban_cap,
        view.available,
    )
    if _write_choices(t, *args, log.column, log.values):
        ss = state_share[:, None]
        intended = (1.0 - ss) * sh.shares + ss * cargo.alloc
        recorded = (intended != 0.0) | (view.ban_cap * view.available != 0.0)
        log._add(np.flatnonzero(recorded.ravel() & (log.column < 0)))
        if _write_choices(t, *args, log.column, log.values):
            raise AssertionError("write_choices: a pair to record has no column")  # unreachable


@njit(cache=True, error_model="numpy")
def _write_choices(
    t,
    shares,
    alloc,
    state_share,
    memory_money,
    memory_time,
    memory_time_var,
    quote_wait,
    premium,
    subsidy,
    political,
    ban_cap,
    available,
    column,
    out,
):
    """Write quarter ``t``'s terms of the recorded pairs into ``out`` (in :data:`CHOICE_ARRAYS`' order).

    Returns the number of pairs intended or open this quarter that have no column yet
    (nothing is lost: the caller adds them and writes the quarter again). Each term is
    computed as numpy computed it: ``(1 - ss) * shares + ss * alloc`` and
    ``ban_cap * available``.
    """
    S, K = shares.shape
    row = out[t]
    missing = 0
    for s in range(S):
        ss = state_share[s]
        for k in range(K):
            intended = (1.0 - ss) * shares[s, k] + ss * alloc[s, k]
            open_share = ban_cap[s, k] * (1.0 if available[s, k] else 0.0)
            c = column[s * K + k]
            if c < 0:
                if intended != 0.0 or open_share != 0.0:
                    missing += 1
                continue
            row[0, c] = intended
            row[1, c] = memory_money[s, k]
            row[2, c] = memory_time[s, k]
            row[3, c] = np.sqrt(memory_time_var[s, k])
            row[4, c] = quote_wait[s, k]
            row[5, c] = premium[s, k]
            row[6, c] = subsidy[s, k]
            row[7, c] = political[s, k]
            row[8, c] = open_share
    return missing


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
    r[YEAR_ARRAY][t // 4] += o.corridor_flow_e
