"""Meaning checks of a validated scenario, and the typed events built from it.

The schema checks each field alone; these check what needs more: fields against one another
(``report_from <= end_year``, an event's end after its start), names against the packaged
network, inputs and SOURCES.md, and distributions against their parameter's bounds (from the
field's metadata in :class:`corridors.parameters.Parameters`).
"""

import difflib
import functools
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from corridors.errors import ScenarioError
from corridors.events import EVENT_TYPES, Event
from corridors.network import default_data_dir
from corridors.observables import COMPARISONS, MEASURES, QUALIFIERS
from corridors.parameters import BUDGET_POWERS, Parameters
from corridors.scenario.locate import PARAMETERS_LISTED, Origins, Source, dotted, fail, locate_in, where_of
from corridors.scenario.schema import SELECTOR_FIELDS, SHIPPER_COUNTRIES, ParameterRef
from corridors.uncertainty import NUMERIC_PARAMETERS
from corridors.vocabulary import C5, quarter_index, step_year

__all__ = [
    "BLOC_FUNDER",
    "CLAIM_COUNTRIES",
    "NAMED_EVENT_FIELDS",
    "Vocabulary",
    "build_event",
    "check_event",
    "check_semantics",
    "check_unique_quarters",
    "known_sources",
    "parallel_link_notes",
    "vocabulary",
    "year_of",
]


BLOC_FUNDER = "C5"
"""The funder the five's bloc records its projects under (the model's ``BlocAgent``)."""

CLAIM_COUNTRIES: tuple[str, ...] = (*SHIPPER_COUNTRIES, BLOC_FUNDER)
"""The countries a claim may name: the shippers' countries, and ``C5`` for the five together."""


@dataclass(frozen=True)
class Vocabulary:
    """What the packaged network and inputs know: the names a scenario file may use.

    Attributes
    ----------
    nodes, markets : frozenset of str
        Node names of nodes.csv, and those of kind ``market``.
    links : frozenset of str
        ``"tail>head"`` of every link of edges.csv.
    countries, controllers : frozenset of str
        Country codes of the nodes (``XX``, the markets' placeholder, left out), and of the
        links' controllers.
    funders : frozenset of str
        Who may pay for an investment or a subsidy: the powers with a budget (RU, CN, US,
        EU), the five states, their bloc (``C5``) and every funder of projects.csv's
        ``funder_hint``.
    sanctioners : frozenset of str
        Who may impose a sanction: the powers with a budget and every state of the network.
    n_edges : int
        Links of edges.csv (ids ``0..n_edges - 1``).
    projects : dict
        Each project of projects.csv: its links and effects.
    parallel : dict of str to tuple of str
        Each ``"tail>head"`` naming several parallel links (Aktau -> Baku-Alat: the rail
        ferry, the container feeder, the crude tanker, the bulk ships): one description of
        each, ``"edge 122: ferry carrying metals_ores, ..."``, in edge order.
    """

    nodes: frozenset[str]
    markets: frozenset[str]
    links: frozenset[str]
    countries: frozenset[str]
    controllers: frozenset[str]
    funders: frozenset[str]
    sanctioners: frozenset[str]
    n_edges: int
    projects: dict[str, dict[str, Any]]
    parallel: dict[str, tuple[str, ...]]


@functools.cache
def vocabulary() -> Vocabulary:
    """Return what the packaged network and inputs know (read once)."""
    from corridors.inputs import load_inputs
    from corridors.network import load_network

    net = load_network()
    inputs = load_inputs(net)
    nodes, edges = net.nodes, net.edges
    projects = {
        row["project"]: {
            "edges": list(row["edges"]),
            "capacity_factor": float(row["capacity_factor"]),
            "time_factor": float(row["time_factor"]),
            "opens": row["effect"] == "open",
            "amount_usd_m": float(row["cost_usd_m"]),
            "lag_quarters": int(row["lag_quarters"]),
        }
        for row in inputs.projects.to_dict(orient="records")
    }
    countries = frozenset(nodes["country"]) - {"XX"}
    controllers = frozenset(edges["controller"])
    hinted = {f.strip() for hint in inputs.projects["funder_hint"] for f in str(hint).split(";") if f.strip()}
    names = edges["tail"] + ">" + edges["head"]
    described: dict[str, list[str]] = {}
    for i, (name, mode, carries) in enumerate(zip(names, edges["mode"], edges["commodities"], strict=True)):
        goods = ", ".join(carries.split(";") if isinstance(carries, str) else carries) or "all freight"
        described.setdefault(name, []).append(f"edge {i}: {mode} carrying {goods}")
    return Vocabulary(
        nodes=frozenset(nodes["name"]),
        markets=frozenset(nodes.loc[nodes["kind"] == "market", "name"]),
        links=frozenset(edges["tail"] + ">" + edges["head"]),
        countries=countries,
        controllers=controllers,
        funders=frozenset({*BUDGET_POWERS, *C5, BLOC_FUNDER, *hinted}),
        sanctioners=frozenset({*BUDGET_POWERS, *countries, *controllers}),
        n_edges=net.n_edges,
        projects=projects,
        parallel={name: tuple(d) for name, d in described.items() if len(d) > 1},
    )


def parallel_link_notes(sc: BaseModel, origins: Origins) -> list[str]:
    """Return a note for each link name of a scenario's events and claims that selects parallel links.

    ``links = ["aktau>baku_alat"]`` selects the rail ferry, the container feeder, the crude
    tanker and the bulk ships alike; a writer who meant one of them gives its ``edges``
    instead. Not an error: selecting them all is often what is meant.

    Parameters
    ----------
    sc : Scenario
        The resolved scenario.
    origins : Origins
        Where its events came from, for the file and line of each note.

    Returns
    -------
    list of str
        ``"file: line 40, events[3].links[0]: 'aktau>baku_alat' selects 4 parallel links
        (edge 122: ferry carrying ...; ...); give edges = [...] to select some of them"``.
    """
    parallel = vocabulary().parallel
    notes = []
    places = [(("events", i), spec) for i, spec in enumerate(sc.event_specs)]
    places += [(("expect", i), claim) for i, claim in enumerate(sc.expect)]
    for loc, item in places:
        for j, link in enumerate(getattr(item, "links", None) or ()):
            if link in parallel:
                path, _, where = origins.locate((*loc, "links", j))
                ids = [d.split(":")[0].removeprefix("edge ") for d in parallel[link]]
                notes.append(
                    f"{path}: {where}: {link!r} selects {len(parallel[link])} parallel links "
                    f"({'; '.join(parallel[link])}); give edges = [{', '.join(ids)}] or some of them "
                    "to select fewer"
                )
    return notes


@functools.cache
def known_sources() -> frozenset[str]:
    """Return the source keys a scenario may cite: the headings of the packaged SOURCES.md."""
    from corridors.tables import source_keys

    return frozenset(source_keys(default_data_dir() / "SOURCES.md"))


def check_semantics(sc: BaseModel, origins: Origins, *, claims_period: BaseModel | None = None) -> None:
    """Check what the schema cannot check of a validated :class:`~corridors.scenario.Scenario`.

    Parameters
    ----------
    sc : Scenario
        The scenario, validated field by field.
    origins : Origins
        Where its parts came from, for the error's file and line.
    claims_period : Period, optional
        The period the claims' years must lie in (default ``sc.period``): the files' own,
        so that an override shortening the run drops the later claims instead of refusing
        the file.

    Raises
    ------
    ScenarioError
        The first problem: ``report_from`` after ``end_year``, an unknown source key, bounds
        in the wrong order, an event naming what the network does not know (a node, link,
        market, country, controller, funder, sanctioning party or project; see
        :class:`Vocabulary`) or selecting no links, a distribution outside its parameter's
        bounds, a claim of ``[[expect]]`` that is not well formed (:func:`check_claim`).
    """
    if sc.period.report_from > sc.period.end_year:
        fail(
            origins,
            ("period", "report_from"),
            f"must be <= period.end_year ({sc.period.end_year}), got {sc.period.report_from}",
        )
    known = known_sources()
    for j, key in enumerate(sc.sources):
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            fail(origins, ("sources", j), f"unknown source {key!r}: not a heading of SOURCES.md{hint}")
    bounds = sc.parameter_values.transit_fee_bounds
    if bounds is not None and bounds[0] > bounds[1]:
        fail(origins, ("parameters", "transit_fee_bounds"), f"lower bound above upper bound: {bounds}")
    for i, spec in enumerate(sc.event_specs):
        check_event(spec, ("events", i), origins)
    for name, dist in sc.uncertainty.items():
        _check_uncertainty(name, dist, origins)
    for i, claim in enumerate(sc.expect):
        check_claim(claim, ("expect", i), claims_period or sc.period, origins)


def check_claim(claim: BaseModel, loc: tuple, period: BaseModel, origins: Origins) -> None:
    """Check a claim of ``[[expect]]``: a known measure with the qualifiers it takes, one comparison.

    Parameters
    ----------
    claim : Claim
        The claim, validated field by field.
    loc : tuple
        Its key path (``("expect", 0)``), for the error's line.
    period : Period
        The scenario's period: the years compared must lie in it.
    origins : Origins
        Where the scenario's parts came from.

    Raises
    ------
    ScenarioError
        An unknown measure, a qualifier the measure does not take or one it needs missing,
        an unknown name (country, market, link, project, funder), no comparison or more than
        one, a year outside the reported period or ``to_year`` before ``year``.
    """
    measure = MEASURES.get(claim.observable)
    if measure is None:
        fail(
            origins,
            (*loc, "observable"),
            _not_known("observable", claim.observable, MEASURES, "see `corridors schema`"),
        )
    given = [q for q in QUALIFIERS if getattr(claim, q) is not None]
    for q in given:
        if q not in measure.takes:
            takes = f"it takes {', '.join(measure.takes)}" if measure.takes else "it takes no qualifier"
            fail(origins, (*loc, q), f"observable {measure.name!r} takes no {q}; {takes}")
    for q in measure.needs:
        if q not in given:
            fail(origins, loc, f"observable {measure.name!r} needs {q}")
    if measure.one_of and sum(q in given for q in measure.one_of) != 1:
        both = [q for q in measure.one_of if q in given]
        where = (*loc, both[-1]) if len(both) > 1 else loc
        fail(origins, where, f"observable {measure.name!r} needs exactly one of {', '.join(measure.one_of)}")
    for q in given:
        value = getattr(claim, q)
        if q not in _CLAIM_NAMES:
            continue
        allowed_of, label, see = _CLAIM_NAMES[q]
        if isinstance(value, list):
            if not value:
                fail(origins, (*loc, q), f"{q} is empty: give at least one")
            for j, v in enumerate(value):
                if v not in allowed_of():
                    form = "; links are 'tail>head' with node names" if q == "links" else ""
                    fail(origins, (*loc, q, j), _not_known(label, v, allowed_of(), see) + form)
        elif value not in allowed_of():
            fail(origins, (*loc, q), _not_known(label, value, allowed_of(), see))
    comparisons = claim.comparisons()
    if not comparisons:
        fail(origins, loc, f"no comparison: give one of {', '.join(COMPARISONS)}")
    if len(comparisons) > 1:
        names = list(comparisons)
        fail(
            origins,
            (*loc, names[1]),
            f"two comparisons ({' and '.join(names[:2])}): a claim makes exactly one",
        )
    first, last = period.report_from, period.end_year
    for field in ("year", "to_year"):
        value = getattr(claim, field)
        if value is not None and not first <= value <= last:
            fail(origins, (*loc, field), f"year {value} is outside the reported period {first}-{last}")
    if claim.to_year is not None and claim.to_year < claim.year:
        fail(origins, (*loc, "to_year"), f"to_year {claim.to_year} is before year {claim.year}")


def _check_uncertainty(name: str, dist: Any, origins: Origins) -> None:
    """Check a distribution of a numeric parameter: consistent, and within the parameter's bounds."""
    loc = ("uncertainty", name)
    if name not in NUMERIC_PARAMETERS:
        fail(origins, loc, _not_known("numeric parameter", name, NUMERIC_PARAMETERS, PARAMETERS_LISTED))
    problem = dist.problem()
    if problem is not None:
        fail(origins, (*loc, problem[0]), problem[1])
    bounds = Parameters.bounds(name)
    checks = {
        "ge": ("low", lambda v, b: v >= b),
        "gt": ("low", lambda v, b: v > b),
        "le": ("high", lambda v, b: v <= b),
        "lt": ("high", lambda v, b: v < b),
    }
    for kind, bound in bounds.items():
        side, ok = checks[kind]
        value = getattr(dist, side)
        if not ok(value, bound):
            reason = f"must be {_BOUND_WORDS_SHORT[kind]} {bound:g} (the bounds of parameters.{name}), got {value:g}"
            fail(origins, (*loc, side), reason)


_BOUND_WORDS_SHORT = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def check_event(spec: BaseModel, loc: tuple, origins: Origins) -> None:
    """Check one event of a file against the others' rules: its dates, references, names and links.

    Raises
    ------
    ScenarioError
        The first problem, at the event's field (see :func:`check_semantics`).
    """
    kind = spec.kind
    start = quarter_index(spec.start)
    if spec.end is not None and quarter_index(spec.end, end=True) < start:
        fail(origins, (*loc, "end"), f"end {spec.end} is before start {spec.start}")
    for name in type(spec).model_fields:
        value = getattr(spec, name)
        if isinstance(value, ParameterRef) and value.parameter not in NUMERIC_PARAMETERS:
            reason = _not_known("numeric parameter", value.parameter, NUMERIC_PARAMETERS, PARAMETERS_LISTED)
            fail(origins, (*loc, name, "parameter"), reason)
    _check_names(spec, loc, origins)
    edges = getattr(spec, "edges", None) or []
    for j, e in enumerate(edges):
        n = vocabulary().n_edges
        if e >= n:
            fail(origins, (*loc, "edges", j), f"edge id {e} out of range 0..{n - 1}")
    if "links" in type(spec).model_fields:  # an EdgeSelector event must select something
        has_selector = any(getattr(spec, f) for f in SELECTOR_FIELDS)
        if kind in ("route_opening", "route_closure"):
            has_selector = has_selector or bool(spec.corridor)
        if kind == "investment":
            has_selector = has_selector or bool(spec.project)
        if not has_selector:
            need = ", ".join(SELECTOR_FIELDS) + (", corridor" if kind.startswith("route_") else "")
            need += ", project" if kind == "investment" else ""
            fail(origins, loc, f"{kind} selects no links: give one of {need}")


# Event fields that name something, -> (the known names, what one is called, where to find
# them when they are too many to list). Value sets fixed in code (commodities, corridors,
# modes, directions) are the schema's (``Literal``); these depend on the packaged data.
_NameSet = Callable[[], frozenset[str] | tuple[str, ...]]
_NAMED_LISTS: dict[str, tuple[_NameSet, str, str]] = {
    "links": (lambda: vocabulary().links, "link", "see the links of edges.csv"),
    "nodes": (lambda: vocabulary().nodes, "node", "see the names of nodes.csv"),
    "controllers": (lambda: vocabulary().controllers, "controller", ""),
    "avoid_transit": (lambda: vocabulary().controllers, "controller", ""),
    "markets": (lambda: vocabulary().markets, "market node", "see the nodes of kind market in nodes.csv"),
    "shipper_countries": (lambda: SHIPPER_COUNTRIES, "shipper country", ""),
    "countries": (lambda: vocabulary().countries, "country", ""),
}
_NAMED_FIELDS: dict[str, tuple[_NameSet, str, str]] = {
    "funder": (lambda: vocabulary().funders, "funder", ""),
    "imposed_by": (lambda: vocabulary().sanctioners, "sanctioning state or bloc", ""),
    "transit": (lambda: vocabulary().controllers, "controller", ""),
    "buyer": (lambda: vocabulary().markets, "market node", "see the nodes of kind market in nodes.csv"),
    "country": (lambda: SHIPPER_COUNTRIES, "shipper country", ""),
    "project": (lambda: tuple(vocabulary().projects), "project of projects.csv", "see projects.csv"),
}
# A claim's qualifiers that name something, as above; corridor, commodity and direction are the schema's.
_CLAIM_NAMES: dict[str, tuple[_NameSet, str, str]] = {
    "country": (lambda: CLAIM_COUNTRIES, "country", ""),
    "market": _NAMED_FIELDS["buyer"],
    "links": _NAMED_LISTS["links"],
    "project": _NAMED_FIELDS["project"],
    "funder": _NAMED_FIELDS["funder"],
}
NAMED_EVENT_FIELDS: tuple[str, ...] = (*_NAMED_LISTS, *_NAMED_FIELDS)
"""The event fields checked against the packaged network and inputs by :func:`check_semantics`."""


def _check_names(spec: BaseModel, loc: tuple, origins: Origins) -> None:
    """Check every name an event gives is known; an optional name left empty (``project = ""``) is unset."""
    fields = type(spec).model_fields
    for name, (allowed_of, label, see) in _NAMED_LISTS.items():
        for j, v in enumerate(getattr(spec, name, None) or ()):
            if v not in allowed_of():
                form = "; links are 'tail>head' with node names" if name == "links" else ""
                fail(origins, (*loc, name, j), _not_known(label, v, allowed_of(), see) + form)
    for name, (allowed_of, label, see) in _NAMED_FIELDS.items():
        if name not in fields:
            continue
        value = getattr(spec, name)
        if value == "" and not fields[name].is_required():
            continue
        if value not in allowed_of():
            fail(origins, (*loc, name), _not_known(label, value, allowed_of(), see))


def _not_known(label: str, value: Any, allowed: Any, see: str = "") -> str:
    """Return why a name is unknown: the closest known one, else all of them, else where they are."""
    allowed = sorted(allowed)
    close = difflib.get_close_matches(str(value), allowed, n=1)
    if close:
        return f"unknown {label} {value!r} (did you mean {close[0]!r}?)"
    if len(", ".join(allowed)) <= 200:  # ten market nodes still fit on one line
        return f"unknown {label} {value!r}; expected one of {', '.join(allowed)}"
    return f"unknown {label} {value!r}" + (f"; {see}" if see else "")


def build_event(spec: BaseModel, i: int, params: Parameters, origins: Origins) -> Event:
    """Build the typed event of a spec: references resolved, lists as tuples, projects filled in.

    Parameters
    ----------
    spec : BaseModel
        The event as the file gives it (a model of ``EVENT_MODELS``).
    i : int
        Its index in the scenario's events, for errors.
    params : Parameters
        What ``{ parameter = "name" }`` references resolve to.
    origins : Origins
        Where the event came from, for errors.

    Returns
    -------
    Event
        The dataclass of :mod:`corridors.events`.

    Raises
    ------
    ScenarioError
        A reference to an unset parameter or of the wrong kind, or a value the event's
        dataclass refuses.
    """
    loc = ("events", i)
    cls = EVENT_TYPES[spec.kind]
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name in type(spec).model_fields:
        if name == "kind":
            continue
        value = getattr(spec, name)
        if isinstance(value, ParameterRef):
            if value.parameter not in NUMERIC_PARAMETERS:
                fail(origins, (*loc, name, "parameter"), f"unknown numeric parameter {value.parameter!r}")
            ref, value = value.parameter, getattr(params, value.parameter)
            if value is None:
                fail(origins, (*loc, name, "parameter"), f"parameter {ref!r} is not set")
            if hints[name] is int:
                if float(value) != int(value):
                    fail(origins, (*loc, name), f"parameter gives {value}, not a whole number")
                value = int(value)
        kwargs[name] = tuple(value) if isinstance(value, list) else value
    if spec.kind == "investment" and spec.project:
        row = vocabulary().projects.get(spec.project)
        if row is not None:
            selects = any(f in spec.model_fields_set for f in SELECTOR_FIELDS)
            for name, value in row.items():
                if name == "edges" and selects:
                    continue
                if name not in spec.model_fields_set:
                    kwargs[name] = tuple(value) if isinstance(value, list) else value
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        body = msg.split(":", 1)[1] if msg.startswith(f"{spec.kind}:") else msg
        names = [n for n in type(spec).model_fields if n != "kind"]
        hits = [(m.start(), n) for n in names if (m := re.search(rf"\b{re.escape(n)}\b", body))]
        where = (*loc, min(hits)[1]) if hits else loc
        fail(origins, where, body.strip())


def year_of(when: Any) -> int:
    """Return the year of a quarter label or a year."""
    return step_year(quarter_index(when))


def check_unique_quarters(src: Source) -> None:
    """Each quarter at most once in a file's ``sea_rates``."""
    seen: dict[int, int] = {}
    for i, r in enumerate(src.data.get("sea_rates", [])):
        step = quarter_index(r["quarter"])
        if step in seen:
            loc = ("sea_rates", i, "quarter")
            line = locate_in([src], loc)
            raise ScenarioError(
                src.path,
                where_of(line, dotted(loc)),
                f"quarter {r['quarter']} already given in sea_rates[{seen[step]}]",
            )
        seen[step] = i
