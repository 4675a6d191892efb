"""Typed events, and how each changes the network and the agents.

An event is a frozen dataclass with a ``start`` and an optional ``end`` (quarter labels
such as ``"2022Q1"``; a bare year means its first quarter for a start and its last for an
end). Each quarter the model rebuilds the edge state from the network's base values and
applies every event active in that quarter (:func:`apply_edge_events`), so a run is a pure
function of the network, the events and the random draws. Events that act on agents
(sanctions, subsidies, offtake deals) are read by the agents through the helpers here.

The baseline's known events 2019-2025 are :func:`corridors.known_events.baseline_events`; scenario files
(``corridors.scenario``) give every event a TOML form.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np

from corridors.network import Network, caspian_and_crude_only
from corridors.vocabulary import COMMODITIES, CONTROLLER_BLOC, CORRIDORS, DIRECTIONS, quarter_index

__all__ = [
    "BorderAgreement",
    "EdgeState",
    "Event",
    "Investment",
    "OfftakeDeal",
    "RouteClosure",
    "RouteOpening",
    "Sanction",
    "Shock",
    "Subsidy",
    "TariffChange",
    "apply_edge_events",
    "fleet_crossings",
]

# ----------------------------------------------------------------------- the events


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happens from ``start`` to ``end`` (inclusive; ``None``: for good).

    The base of the typed events (:class:`Sanction`, :class:`Investment`, ...); each subclass
    names its ``kind`` and adds its own fields. Every field is keyword-only.

    Parameters
    ----------
    start : str or int
        The first quarter, a label such as ``"2022Q1"`` or a year (its first quarter).
    end : str or int or None
        The last quarter, a label or a year (its last quarter); ``None``: for good.
    note : str
        Free text, typically the source key and what the event stands for.

    Attributes
    ----------
    kind : str
        The event's type as scenario files name it (``"event"`` for the base class).

    Raises
    ------
    ValueError
        If ``start`` or ``end`` is not a quarter or a year within 2019-2100, or ``end`` is
        before ``start``.

    Examples
    --------
    >>> ev = Event(start="2022Q1", end=2023)
    >>> ev.first_step, ev.last_step
    (12, 19)
    >>> ev.active(15)
    True
    >>> ev.to_dict()
    {'kind': 'event', 'start': '2022Q1', 'end': 2023}
    """

    start: str | int
    end: str | int | None = None
    note: str = ""
    kind: ClassVar[str] = "event"

    def __post_init__(self) -> None:
        """Check ``start`` and ``end`` are quarters or years and ``end`` is not before ``start``."""
        first = quarter_index(self.start)
        if self.end is not None and quarter_index(self.end, end=True) < first:
            raise ValueError(f"{self.kind}: end {self.end} is before start {self.start}")

    @property
    def first_step(self) -> int:
        """The step of ``start``."""
        return quarter_index(self.start)

    @property
    def last_step(self) -> float:
        """The step of ``end`` (its last quarter if a year); ``inf`` if the event lasts for good."""
        return np.inf if self.end is None else quarter_index(self.end, end=True)

    def active(self, step: int) -> bool:
        """Return whether the event is in force at ``step``.

        Parameters
        ----------
        step : int
            A quarter, as steps since 2019Q1.

        Returns
        -------
        bool
            ``first_step <= step <= last_step``.
        """
        return self.first_step <= step <= self.last_step

    def to_dict(self) -> dict:
        """Plain fields, for manifests and TOML."""
        out = {"kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value == () or (f.name in ("note", "evolving") and not value):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, kw_only=True)
class EdgeSelector:
    """Which links an event touches: ids, ``"tail>head"`` names, nodes, controllers, modes, corridors.

    Criteria combine with AND; an empty selector selects nothing.
    """

    edges: tuple[int, ...] = ()
    links: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    controllers: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    corridors: tuple[str, ...] = ()

    def select(self, net: Network) -> np.ndarray:
        """Boolean mask over edges in original order."""
        e = net.edges
        if not (self.edges or self.links or self.nodes or self.controllers or self.modes or self.corridors):
            return np.zeros(net.n_edges, dtype=bool)
        mask = np.ones(net.n_edges, dtype=bool)
        if self.edges:
            bad = [i for i in self.edges if not 0 <= i < net.n_edges]
            if bad:
                raise ValueError(f"edges: {bad} out of range 0..{net.n_edges - 1}")
            mask &= np.isin(np.arange(net.n_edges), self.edges)
        if self.links:
            names = (e["tail"] + ">" + e["head"]).to_numpy()
            unknown = [x for x in self.links if x not in set(names)]
            if unknown:
                raise ValueError(f"links: no link {unknown[0]!r} (write 'tail>head' with node names)")
            mask &= np.isin(names, self.links)
        if self.nodes:
            for n in self.nodes:
                net.node_id(n)
            mask &= (e["tail"].isin(self.nodes) | e["head"].isin(self.nodes)).to_numpy()
        if self.controllers:
            mask &= e["controller"].isin(self.controllers).to_numpy()
        if self.modes:
            mask &= e["mode"].isin(self.modes).to_numpy()
        if self.corridors:
            unknown = [c for c in self.corridors if c not in CORRIDORS]
            if unknown:
                raise ValueError(f"corridors: unknown corridor {unknown[0]!r}")
            mask &= e["corridor"].isin(self.corridors).to_numpy()
        return mask


@dataclass(frozen=True, kw_only=True)
class Sanction(Event):
    """A premium (USD/t) or a ban on freight crossing ``transit`` (a controller state).

    Filters (empty: all): ``commodities``, ``directions`` (export, import, transit),
    ``markets`` (origin or destination market node), ``shipper_countries``. ``share`` is
    the part of a matching flow that is affected (sensitive goods only, for instance).
    ``evolving``: the share is not constant but the avoidance of Russian transit that the
    EU's :class:`~corridors.agents.PowerAgent` holds each quarter (it rises with new
    sanctions and fades, ``russia_avoidance_share``, ``avoidance_half_life_quarters``);
    ``share`` is then its ceiling.
    """

    imposed_by: str
    transit: str
    commodities: tuple[str, ...] = ()
    directions: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()
    shipper_countries: tuple[str, ...] = ()
    premium_usd_per_t: float = 0.0
    ban: bool = False
    share: float = 1.0
    evolving: bool = False
    kind: ClassVar[str] = "sanction"

    def __post_init__(self) -> None:
        """Check the dates, the filters, ``premium_usd_per_t >= 0`` and ``share`` in [0, 1]."""
        super().__post_init__()
        _check_members("commodities", self.commodities, COMMODITIES)
        _check_members("directions", self.directions, DIRECTIONS)
        if self.premium_usd_per_t < 0:
            raise ValueError(f"sanction: premium_usd_per_t must be >= 0, got {self.premium_usd_per_t}")
        if not 0 <= self.share <= 1:
            raise ValueError(f"sanction: share must be in [0, 1], got {self.share}")

    def applies(self, *, country: str, commodity: str, direction: str, market: str) -> bool:
        """Return whether a flow passes the sanction's filters (an empty filter passes all)."""
        return (
            (not self.commodities or commodity in self.commodities)
            and (not self.directions or direction in self.directions)
            and (not self.markets or market in self.markets)
            and (not self.shipper_countries or country in self.shipper_countries)
        )


@dataclass(frozen=True, kw_only=True)
class Investment(EdgeSelector, Event):
    """Money for links or a project of ``projects.csv``: capacity or time changes after a lag.

    ``time_factor`` scales the whole time of the selected links: their travel and their
    dwell (the handling, transshipment and border time where most of a crossing's time
    sits), as projects' benefits are valued. On a Caspian ferry or feeder crossing, whose
    capacity is its fleet's sailings, it divides the capacity too: the same ships turn
    round in that much less time and sail that much more often (:func:`fleet_crossings`).
    ``delivery_probability`` < 1 makes a pledge:
    the model draws once whether it is delivered and how late (``lag_quarters`` plus a
    geometric delay).
    """

    funder: str
    project: str = ""
    amount_usd_m: float = 0.0
    capacity_factor: float = 1.0
    time_factor: float = 1.0
    opens: bool = False
    lag_quarters: int = 0
    delivery_probability: float = 1.0
    kind: ClassVar[str] = "investment"

    def __post_init__(self) -> None:
        """Check the dates, factors > 0, ``delivery_probability`` in [0, 1], lag and amount >= 0."""
        super().__post_init__()
        if self.capacity_factor <= 0 or self.time_factor <= 0:
            raise ValueError("investment: capacity_factor and time_factor must be > 0")
        if not 0 <= self.delivery_probability <= 1:
            raise ValueError("investment: delivery_probability must be in [0, 1]")
        if self.lag_quarters < 0 or self.amount_usd_m < 0:
            raise ValueError("investment: lag_quarters and amount_usd_m must be >= 0")


@dataclass(frozen=True, kw_only=True)
class BorderAgreement(Event):
    """Faster borders between ``countries``: dwell at their border links times ``dwell_factor``."""

    countries: tuple[str, ...]
    dwell_factor: float = 0.7
    kind: ClassVar[str] = "border_agreement"

    def __post_init__(self) -> None:
        """Check the dates and that ``dwell_factor`` is in (0, 5]."""
        super().__post_init__()
        if not 0 < self.dwell_factor <= 5:
            raise ValueError(f"border_agreement: dwell_factor must be in (0, 5], got {self.dwell_factor}")


@dataclass(frozen=True, kw_only=True)
class _RouteChange(EdgeSelector, Event):
    """A whole corridor (``corridor``) and/or selected links change state."""

    corridor: str = ""

    def __post_init__(self) -> None:
        """Check the dates and that ``corridor`` is empty or a known corridor."""
        super().__post_init__()
        if self.corridor and self.corridor not in CORRIDORS:
            raise ValueError(f"{self.kind}: unknown corridor {self.corridor!r}")


@dataclass(frozen=True, kw_only=True)
class RouteOpening(_RouteChange):
    """Opens a corridor (``corridor``) and/or links that start closed (``opens_year``)."""

    kind: ClassVar[str] = "route_opening"


@dataclass(frozen=True, kw_only=True)
class RouteClosure(_RouteChange):
    """Closes a corridor and/or links."""

    kind: ClassVar[str] = "route_closure"


@dataclass(frozen=True, kw_only=True)
class Shock(EdgeSelector, Event):
    """Capacity of the selected links times ``capacity_factor`` (0 closes them) for a while.

    ``time_factor`` scales their whole time, travel and dwell, and a fleet crossing's
    capacity by its inverse, as an investment's does.
    """

    capacity_factor: float = 0.5
    time_factor: float = 1.0
    kind: ClassVar[str] = "shock"

    def __post_init__(self) -> None:
        """Check the dates, ``capacity_factor >= 0`` and ``time_factor > 0``."""
        super().__post_init__()
        if self.capacity_factor < 0 or self.time_factor <= 0:
            raise ValueError("shock: capacity_factor must be >= 0 and time_factor > 0")


@dataclass(frozen=True, kw_only=True)
class TariffChange(EdgeSelector, Event):
    """Tariff and/or handling charges of the selected links times a factor."""

    tariff_factor: float = 1.0
    handling_factor: float = 1.0
    kind: ClassVar[str] = "tariff_change"

    def __post_init__(self) -> None:
        """Check the dates and that both factors are >= 0."""
        super().__post_init__()
        if self.tariff_factor < 0 or self.handling_factor < 0:
            raise ValueError("tariff_change: factors must be >= 0")


@dataclass(frozen=True, kw_only=True)
class Subsidy(Event):
    """A payment per tonne by ``funder`` to freight on ``corridor`` (filters as for sanctions).

    ``share_of_price`` caps it at that share of the corridor's price (China's rail rule).
    """

    funder: str
    corridor: str
    usd_per_t: float
    commodities: tuple[str, ...] = ()
    directions: tuple[str, ...] = ()
    share_of_price: float = 1.0
    kind: ClassVar[str] = "subsidy"

    def __post_init__(self) -> None:
        """Check the dates, the corridor, the filters, ``usd_per_t >= 0`` and ``share_of_price`` in [0, 1]."""
        super().__post_init__()
        if self.corridor not in CORRIDORS:
            raise ValueError(f"subsidy: unknown corridor {self.corridor!r}")
        _check_members("commodities", self.commodities, COMMODITIES)
        _check_members("directions", self.directions, DIRECTIONS)
        if self.usd_per_t < 0 or not 0 <= self.share_of_price <= 1:
            raise ValueError("subsidy: usd_per_t must be >= 0 and share_of_price in [0, 1]")


@dataclass(frozen=True, kw_only=True)
class OfftakeDeal(Event):
    """``buyer`` (a market node) takes ``share`` of ``country``'s exports of ``commodity``.

    ``avoid_transit``: link controllers (``"RU"``, ``"CN"``) whose territory the deal's cargo
    may not cross, the buyer's terms of delivery. The deal then bans the country's exports of
    the commodity to the buyer's market from every corridor whose route crosses their blocs
    (:meth:`routing_bans`), so the cargo the deal moves also takes the buyer's route.
    """

    buyer: str
    country: str
    commodity: str
    share: float
    avoid_transit: tuple[str, ...] = ()
    kind: ClassVar[str] = "offtake_deal"

    def __post_init__(self) -> None:
        """Check the dates, the commodity and that ``share`` is in [0, 1]."""
        super().__post_init__()
        _check_members("commodity", (self.commodity,), COMMODITIES)
        if not 0 <= self.share <= 1:
            raise ValueError(f"offtake_deal: share must be in [0, 1], got {self.share}")
        _check_members("avoid_transit", self.avoid_transit, tuple(CONTROLLER_BLOC))

    def routing_bans(self) -> tuple[Sanction, ...]:
        """Return the deal's terms of delivery as bans, one per state in ``avoid_transit``.

        Each bans the whole of the country's exports of the commodity to the buyer's market
        (``share`` 1) from the corridors crossing that state's bloc, over the deal's dates:
        once the deal holds, the buyer's rows carry at least the deal's share of the exports
        and the buyer contracts all of them on its terms.
        """
        return tuple(
            Sanction(
                start=self.start,
                end=self.end,
                note=f"offtake deal terms: {self.country} {self.commodity} to {self.buyer} avoid {state}",
                imposed_by=self.buyer,
                transit=state,
                commodities=(self.commodity,),
                directions=("export",),
                markets=(self.buyer,),
                shipper_countries=(self.country,),
                ban=True,
            )
            for state in self.avoid_transit
        )


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        Sanction,
        Investment,
        BorderAgreement,
        RouteOpening,
        RouteClosure,
        Shock,
        TariffChange,
        Subsidy,
        OfftakeDeal,
    )
}


def _check_members(name: str, values: Iterable[str], allowed: Sequence[str]) -> None:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValueError(f"{name}: {bad[0]!r} is not one of {', '.join(allowed)}")


# --------------------------------------------------------------- edge state per step


@dataclass(eq=False)
class EdgeState:
    """Per-edge multipliers and flags for one quarter (original edge order)."""

    capacity_factor: np.ndarray
    time_factor: np.ndarray
    dwell_factor: np.ndarray
    tariff_factor: np.ndarray
    handling_factor: np.ndarray
    closed: np.ndarray
    opened: np.ndarray
    corridor_open: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def base(cls, net: Network) -> EdgeState:
        """Return the state before any event: factors 1, no link closed or opened, enabled corridors open."""
        n = net.n_edges
        return cls(
            capacity_factor=np.ones(n),
            time_factor=np.ones(n),
            dwell_factor=np.ones(n),
            tariff_factor=np.ones(n),
            handling_factor=np.ones(n),
            closed=np.zeros(n, dtype=bool),
            opened=np.zeros(n, dtype=bool),
            corridor_open={c: net.corridors[c].enabled for c in CORRIDORS},
        )


def apply_edge_events(
    net: Network, state: EdgeState, events: Iterable[Event], step: int, *, cache: dict | None = None
) -> None:
    """Apply every event active at ``step`` that changes links or corridors, in list order.

    Investments act from ``start + lag_quarters`` on; pledges must have been resolved into
    delivered investments (``delivery_probability == 1``) by the model before this.
    ``cache`` (event -> selected links) saves selecting the same links every quarter.
    """
    cache = {} if cache is None else cache

    def selected(ev) -> np.ndarray:
        if ev not in cache:
            cache[ev] = (
                _border_links(net, ev.countries) if isinstance(ev, BorderAgreement) else ev.select(net)
            )
        return cache[ev]

    for ev in events:
        if isinstance(ev, Investment):
            if ev.delivery_probability < 1 or step < ev.first_step + ev.lag_quarters or step > ev.last_step:
                continue
            sel = selected(ev)
            state.capacity_factor[sel] *= ev.capacity_factor
            _scale_time(net, state, sel, ev.time_factor)
            if ev.opens:
                state.opened |= sel
            continue
        if not ev.active(step):
            continue
        if isinstance(ev, Shock):
            sel = selected(ev)
            state.capacity_factor[sel] *= ev.capacity_factor
            _scale_time(net, state, sel, ev.time_factor)
        elif isinstance(ev, TariffChange):
            sel = selected(ev)
            state.tariff_factor[sel] *= ev.tariff_factor
            state.handling_factor[sel] *= ev.handling_factor
        elif isinstance(ev, BorderAgreement):
            state.dwell_factor[selected(ev)] *= ev.dwell_factor
        elif isinstance(ev, RouteOpening):
            if ev.corridor:
                state.corridor_open[ev.corridor] = True
            state.opened |= selected(ev)
        elif isinstance(ev, RouteClosure):
            if ev.corridor:
                state.corridor_open[ev.corridor] = False
            state.closed |= selected(ev)


_FLEETS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Network -> fleet_crossings(net)


def fleet_crossings(net: Network) -> np.ndarray:
    """Return the links whose capacity is a fleet's sailings: the Caspian rail ferries and container feeders.

    Their capacity is ships x load x round trips (A-ferry-split, A-feeder-capacity), and a
    round trip is the crossing's time, sailing and port stays, both ways: a time factor on
    such a link scales the ships' turnaround as much as the cargo's crossing. Not the crude
    tankers, whose capacity is an agreed throughput (A-tanker-capacity), nor the tanker and bulk
    links without a capacity (A-caspian-bulk-links): no fleet of theirs is modelled.

    Parameters
    ----------
    net : Network

    Returns
    -------
    numpy.ndarray
        A boolean mask in edge order.
    """
    caspian, crude_only = caspian_and_crude_only(net.edges)
    return caspian & ~crude_only & np.isfinite(net.capacity_t_per_quarter)


def _scale_time(net: Network, state: EdgeState, sel: np.ndarray, factor: float) -> None:
    """Scale the whole time of the links ``sel``, travel and dwell, and a fleet crossing's capacity by its inverse."""
    if factor == 1.0:
        return
    fleet = _FLEETS.get(net)
    if fleet is None:
        fleet = _FLEETS[net] = fleet_crossings(net)
    state.time_factor[sel] *= factor
    state.dwell_factor[sel] *= factor
    state.capacity_factor[sel & fleet] /= factor


def _border_links(net: Network, countries: Sequence[str]) -> np.ndarray:
    """Border links whose both ends lie in ``countries``."""
    country = net.nodes.set_index("name")["country"]
    both = net.edges["tail"].map(country).isin(countries) & net.edges["head"].map(country).isin(countries)
    return net.edges["border"].to_numpy(dtype=bool) & both.to_numpy()


NON_CRUDE: tuple[str, ...] = tuple(c for c in COMMODITIES if c != "crude")
"""Every commodity but crude, whose route out through Russia is the CPC pipeline (its own risk)."""


def active_of(events: Iterable[Event], kind: type[Event], step: int) -> list:
    """Return the events of one type active at ``step``."""
    return [ev for ev in events if isinstance(ev, kind) and ev.active(step)]
