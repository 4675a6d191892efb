"""A run's timeline: its events, their quarters parsed once, pledges resolved, each quarter's links' state.

:class:`Timeline` turns a scenario's events into what a run acts on: pledges (investments
with a ``delivery_probability`` below 1) drawn once as delivered or not and how late,
the projects already completed (``projects.csv`` ``known_completion``) added as
investments, the bans an offtake deal's terms of delivery imply, and the C5 bloc's border
agreement. Each quarter it answers which events
are active (by kind) and what state the links are in (:func:`corridors.events.apply_edge_events`,
recomputed only when the set of events acting on links changes).
"""

from __future__ import annotations

import weakref
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from corridors.events import (
    BorderAgreement,
    EdgeState,
    Event,
    Investment,
    OfftakeDeal,
    RouteClosure,
    RouteOpening,
    Shock,
    TariffChange,
    apply_edge_events,
)
from corridors.network import Network
from corridors.parameters import Parameters
from corridors.vocabulary import C5, quarter_index, quarter_label

__all__ = ["Project", "Timeline", "load_projects"]

_EDGE_KINDS = (Investment, Shock, TariffChange, BorderAgreement, RouteOpening, RouteClosure)
# the links each event selects, per network (events are frozen: equal events select equal links)
_SELECTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class Project:
    """A row of projects.csv, as plain Python for the yearly funding decisions."""

    project: str
    name: str
    edges: tuple[int, ...]
    effect: str
    capacity_factor: float
    time_factor: float
    cost_usd_m: float
    lag_quarters: int
    earliest_year: int
    funder_hint: str
    source: str
    known_completion: str | None
    funders: tuple[str, ...]
    edge_ids: np.ndarray
    feeder_only: bool = False  # only Caspian feeder links: the operator's decision, not a project's

    def investment(self, *, start: str, funder: str, lag: int) -> Investment:
        """Return the project as an investment starting in quarter ``start``."""
        return Investment(
            start=start,
            funder=funder,
            project=self.project,
            edges=tuple(self.edges),
            amount_usd_m=float(self.cost_usd_m),
            capacity_factor=float(self.capacity_factor),
            time_factor=float(self.time_factor),
            opens=self.effect == "open",
            lag_quarters=lag,
            note=self.name,
        )


def load_projects(projects: pd.DataFrame) -> tuple[Project, ...]:
    """Return the project catalogue of an :class:`~corridors.inputs.Inputs`."""
    return tuple(
        Project(**r, funders=tuple(r["funder_hint"].split(";")), edge_ids=np.array(r["edges"]))
        for r in projects.to_dict(orient="records")
    )


class Timeline:
    """The events a run acts on, in order, with their quarters parsed once.

    Parameters
    ----------
    net : Network
    events : sequence of Event
        The scenario's timeline.
    projects : tuple of Project
        The catalogue; completed projects (``known_completion``) join the timeline.
    params : Parameters
        ``bloc_from_year`` and ``bloc_border_factor`` add the bloc's border agreement.
    rng : numpy Generator
        One draw, in every run alike, seeds each pledge's own generator.
    stochastic : bool
        False: a pledge is delivered, on time, when its probability is at least 0.5.
    """

    def __init__(
        self,
        net: Network,
        events: Sequence[Event],
        *,
        projects: tuple[Project, ...],
        params: Parameters,
        rng: np.random.Generator,
        stochastic: bool,
    ) -> None:
        self.net = net
        self.decisions: list[dict] = []
        known = [
            row.investment(start=row.known_completion, funder=row.funder_hint, lag=0)
            for row in projects
            if isinstance(row.known_completion, str) and row.known_completion
        ]
        self.events: list[Event] = []
        self._spans: list[tuple[int, float]] = []
        for ev in self._resolve_pledges([*events, *known], rng, stochastic):
            self.add(ev)
        for ev in events:  # an offtake deal's terms of delivery: bans on the routes it avoids
            if isinstance(ev, OfftakeDeal):
                for ban in ev.routing_bans():
                    self.add(ban)
        if params.bloc_from_year is not None:  # the bloc harmonises its borders
            self.add(
                BorderAgreement(
                    start=str(params.bloc_from_year),
                    countries=C5,
                    dwell_factor=params.bloc_border_factor,
                    note="the C5 bloc",
                )
            )
        self._selection: dict = _SELECTIONS.setdefault(net, {})  # event -> links, shared by runs on net
        self._edge_key: tuple | None = None
        self._edge_state: EdgeState | None = None
        self._edge_valid = (0, -1)  # steps [lo, hi) over which the links' state holds
        self._done: set[str] = set()
        self._done_valid = (0, -1)
        self._active_t = -1
        self._active: dict[type, list] = {}
        self.cache: dict = {}  # what the run's events imply, keyed by their ids (they live as long as it)

    def add(self, ev: Event) -> None:
        """Append an event (a project funded during the run)."""
        first = ev.first_step + ev.lag_quarters if isinstance(ev, Investment) else ev.first_step
        self.events.append(ev)
        self._spans.append((first, ev.last_step))
        self._active_t = -1
        self._edge_valid = self._done_valid = (0, -1)

    def fund(self, project: Project, *, step: int, funder: str) -> None:
        """Add a project funded in quarter ``step``: it starts next quarter, after its lag."""
        self.add(
            project.investment(start=quarter_label(step + 1), funder=funder, lag=int(project.lag_quarters))
        )
        self.decisions.append({"step": step, "agent": funder, "decision": "fund", "detail": project.project})

    def active(self, kind: type, step: int) -> list:
        """Return, in order, the events of ``kind`` active at step ``step`` (investments: after their lag)."""
        if step != self._active_t:
            self._active = {}
            for ev, (first, last) in zip(self.events, self._spans, strict=True):
                if first <= step <= last:
                    self._active.setdefault(type(ev), []).append(ev)
            self._active_t = step
        return self._active.get(kind, [])

    def done_projects(self, step: int) -> set[str]:
        """Projects whose investment has started by quarter ``step`` (lags aside); never modify it."""
        lo, hi = self._done_valid
        if not lo <= step < hi:
            firsts = [
                (ev.first_step, ev.project) for ev in self.events if isinstance(ev, Investment) and ev.project
            ]
            self._done = {project for first, project in firsts if first <= step}
            later = [first for first, _ in firsts if first > step]
            earlier = [first for first, _ in firsts if first <= step]
            self._done_valid = (max(earlier, default=-(10**9)), min(later, default=10**9))
        return self._done

    def edge_state(self, step: int) -> EdgeState:
        """Return the links' state in quarter ``step``.

        It is the same object while the events acting on links stay the same: never modify it.
        """
        lo, hi = self._edge_valid
        if lo <= step < hi:
            return self._edge_state
        spans = [
            span for ev, span in zip(self.events, self._spans, strict=True) if isinstance(ev, _EDGE_KINDS)
        ]
        key = tuple(
            i
            for i, (ev, (first, last)) in enumerate(zip(self.events, self._spans, strict=True))
            if isinstance(ev, _EDGE_KINDS) and first <= step <= last
        )
        if key != self._edge_key:
            state = EdgeState.base(self.net)
            apply_edge_events(self.net, state, [self.events[i] for i in key], step, cache=self._selection)
            self._edge_key, self._edge_state = key, state
        # the state holds until an event starts or ends
        starts = [first for first, _ in spans] + [last + 1 for _, last in spans if last != np.inf]
        self._edge_valid = (
            max((x for x in starts if x <= step), default=-(10**9)),
            min((x for x in starts if x > step), default=10**9),
        )
        return self._edge_state

    def _resolve_pledges(
        self, events: list[Event], rng: np.random.Generator, stochastic: bool
    ) -> list[Event]:
        """Draw once whether each pledge is delivered and how late (geometric extra delay).

        Each pledge draws from its own generator, keyed by the run's seed and the pledge
        itself, so adding a pledge to a scenario changes neither the other pledges' draws nor
        the weather and disruptions of the years before it.
        """
        out: list[Event] = []
        root = int(rng.integers(2**63))  # one draw, in every run alike
        for ev in events:
            if isinstance(ev, Investment) and ev.delivery_probability < 1:
                if stochastic:
                    key = zlib.crc32(repr(ev.to_dict()).encode())
                    draw = np.random.default_rng([root, key])
                    delivered = draw.random() < ev.delivery_probability
                    extra = int(draw.geometric(0.25)) - 1 if delivered else 0
                else:
                    delivered, extra = ev.delivery_probability >= 0.5, 0
                if delivered:
                    out.append(replace(ev, delivery_probability=1.0, lag_quarters=ev.lag_quarters + extra))
                self.decisions.append(
                    {
                        "step": quarter_index(ev.start),
                        "agent": ev.funder,
                        "decision": "pledge",
                        "detail": f"{ev.project or 'links'} {'delivered' if delivered else 'not delivered'}"
                        f" (+{extra} quarters)",
                    }
                )
            else:
                out.append(ev)
        return out
