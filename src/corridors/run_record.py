"""What a finished run hands over: its recorded arrays and the static facts needed to read them.

:meth:`corridors.model.CorridorModel.run` returns a :class:`RunRecord`;
:meth:`corridors.results.Results.from_record` turns it into tables. The record carries
plain arrays and labels only, so the results layer needs nothing of the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from corridors.vocabulary import CORRIDORS

if TYPE_CHECKING:
    from corridors.network import Network

__all__ = [
    "OBSERVED_EDGE_SETS",
    "SHIPPER_KEYS",
    "STEP_ARRAYS",
    "RunRecord",
    "allocate_steps",
    "observed_edges",
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
        The links each observed series counts (:func:`observed_edges`, by the names of
        :data:`OBSERVED_EDGE_SETS`); ``None``: :meth:`corridors.results.Results.from_record`
        computes them from the packaged network when the record's links are its links.
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


OBSERVED_EDGE_SETS: dict[str, str] = {
    "kz_caspian_crude": "the crude-only Caspian crossings from or to a Kazakh seaport (the Aktau tankers)",
    "baku_caspian": "the Caspian crossings from or to an Azerbaijani seaport (Baku-Alat): ferries, feeders, tankers",
    "az_rail_transit": "the rail links where freight leaves Azerbaijan's railway: to another state or onto the sea at "
    "an Azerbaijani seaport (baku_alat -> tbilisi, tbilisi -> baku_alat)",
    "ge_rail_transit": "the rail links where freight leaves Georgia's railway: to another state or onto the sea at a "
    "Georgian seaport (tbilisi -> baku_alat, akhalkalaki -> kars, tbilisi -> poti, tbilisi -> batumi)",
    "kz_cn_rail": "the Kazakhstan-China rail crossings, both directions (Dostyk-Alashankou, Altynkol-Khorgos)",
    "kz_entries": "every link entering Kazakhstan from a node outside it (borders, Caspian arrivals, connectors)",
    "iran_route": "the Turkmenistan-Iran rail crossing of the Kazakhstan-Turkmenistan-Iran line (Etrek-Tehran), "
    "both directions",
}
"""The edge sets of the observables (:data:`corridors.results.OBSERVABLES`), by name: what each
holds. Computed from the network's node countries, kinds and names and the links' modes by
:func:`observed_edges`."""

IRAN_ROUTE_NODE = "etrek"
"""The Turkmen border node of the Kazakhstan-Turkmenistan-Iran line (Bolashak - Bereket - Etrek)."""


def observed_edges(net: Network) -> dict[str, tuple[int, ...]]:
    """Compute the links each observed series counts, from the network.

    Parameters
    ----------
    net : Network
        The run's network.

    Returns
    -------
    dict of str to tuple of int
        For each name of :data:`OBSERVED_EDGE_SETS`, the indices of its links (sorted).

    Notes
    -----
    A Caspian crossing is a sea or ferry link of the Middle Corridor's gateways (as in
    :class:`corridors.layout.Layout`). A state's rail transit is counted once per tonne, where it
    leaves the state's railway: on a rail link that touches the state and either ends outside
    it or ends at one of its seaports (onto the sea). No freight in the model is loaded or
    unloaded on those links inside Azerbaijan or Georgia, other than at a market node's
    connector, so what they carry is transit.
    """
    e, nodes = net.edges, net.nodes.set_index("name")
    tail, head = e["tail"].to_numpy(str), e["head"].to_numpy(str)
    country, kind = nodes["country"], nodes["kind"]
    tc, hc = e["tail"].map(country).to_numpy(str), e["head"].map(country).to_numpy(str)
    tk, hk = e["tail"].map(kind).to_numpy(str), e["head"].map(kind).to_numpy(str)
    mode = e["mode"].to_numpy(str)
    rail = mode == "rail"
    caspian = (e["gateway"].to_numpy() == CORRIDORS.index("middle")) & np.isin(mode, ("ferry", "sea"))
    crude_only = e["commodities"].map(lambda c: tuple(c) == ("crude",)).to_numpy(bool)

    def port_end(c: str) -> np.ndarray:
        return ((tc == c) & (tk == "seaport")) | ((hc == c) & (hk == "seaport"))

    def rail_exits(c: str) -> np.ndarray:
        touches = (tc == c) | (hc == c)
        return rail & touches & ((hc != c) | (hk == "seaport"))

    sets = {
        "kz_caspian_crude": caspian & port_end("KZ") & crude_only,
        "baku_caspian": caspian & port_end("AZ"),
        "az_rail_transit": rail_exits("AZ"),
        "ge_rail_transit": rail_exits("GE"),
        "kz_cn_rail": rail & (((tc == "KZ") & (hc == "CN")) | ((tc == "CN") & (hc == "KZ"))),
        "kz_entries": (tc != "KZ") & (hc == "KZ"),
        "iran_route": rail
        & (((tail == IRAN_ROUTE_NODE) & (hc == "IR")) | ((head == IRAN_ROUTE_NODE) & (tc == "IR"))),
    }
    return {name: tuple(np.flatnonzero(mask).tolist()) for name, mask in sets.items()}


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
