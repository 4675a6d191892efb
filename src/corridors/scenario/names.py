"""The names a scenario file may use, one line each: what ``corridors list`` prints.

Nodes, links (``"tail>head"``), market nodes, projects of projects.csv and parameters
(numeric ones, and the keys of tables of numbers such as ``reliability_penalty_days.middle``),
each with a short description or its unit, from the packaged data and the parameters'
metadata: the same sets :mod:`~corridors.scenario.checks` checks a file against.
"""

from __future__ import annotations

from corridors.parameters import Parameters
from corridors.scenario.checks import vocabulary
from corridors.uncertainty import MAPPED_PARAMETERS, NUMERIC_PARAMETERS

__all__ = ["NAME_KINDS", "scenario_names"]

NAME_KINDS: tuple[str, ...] = ("nodes", "links", "markets", "projects", "parameters")
"""What ``corridors list`` lists."""

_DOC_CHARS = 90  # a parameter's description is cut to its first sentence, at most this long


def scenario_names(kind: str) -> list[tuple[str, str]]:
    """Return the names of one kind a scenario may use, each with a one-line description.

    Parameters
    ----------
    kind : {"nodes", "links", "markets", "projects", "parameters"}
        What to list.

    Returns
    -------
    list of (str, str)
        ``(name, description)`` sorted by name (parameters in their order of declaration,
        then the tables' keys; each with its default, the baseline's fitted value where it
        differs, its bounds and its meaning). A link names every parallel link between its nodes,
        and says so.

    Raises
    ------
    ValueError
        An unknown kind, naming the kinds.
    """
    if kind not in NAME_KINDS:
        msg = f"unknown kind {kind!r}; expected one of {', '.join(NAME_KINDS)}"
        raise ValueError(msg)
    return {
        "nodes": _nodes,
        "links": _links,
        "markets": _markets,
        "projects": _projects,
        "parameters": _parameters,
    }[kind]()


def _node_table():
    from corridors.network import packaged_network

    return packaged_network().nodes


def _nodes() -> list[tuple[str, str]]:
    nodes = _node_table()
    return sorted(
        (r.name, f"{r.kind.replace('_', ' ')}, {'market' if r.country == 'XX' else r.country}")
        for r in nodes.itertuples()
    )


def _markets() -> list[tuple[str, str]]:
    what = "market node outside the region (a destination of exports, an origin of imports)"
    return [(name, what) for name in sorted(vocabulary().markets)]


def _links() -> list[tuple[str, str]]:
    from corridors.network import packaged_network

    edges = packaged_network().edges
    parallel = vocabulary().parallel
    out = []
    for name in sorted(vocabulary().links):
        if name in parallel:
            kinds = "; ".join(d.split(": ", 1)[1] for d in parallel[name])
            out.append((name, f"{len(parallel[name])} parallel links: {kinds}"))
            continue
        row = edges[edges["tail"] + ">" + edges["head"] == name].iloc[0]
        km = row["length_km"]
        length = f", {km:,.0f} km" if km == km else ""  # NaN: a link given by time only
        out.append((name, f"{row['mode']}{length}, controller {row['controller']}"))
    return out


def _projects() -> list[tuple[str, str]]:
    out = []
    for name, p in sorted(vocabulary().projects.items()):
        effect = (
            "opens links" if p["opens"] else f"capacity x{p['capacity_factor']:g}, time x{p['time_factor']:g}"
        )
        cost = f"USD {p['amount_usd_m']:,.0f} m, lag {p['lag_quarters']} quarters"
        out.append((name, f"{effect}; {cost}; links {', '.join(map(str, p['edges']))}"))
    return out


def _parameters() -> list[tuple[str, str]]:
    from corridors.scenario.resolve import find_scenario, load_scenario

    default = Parameters()
    baseline = load_scenario(find_scenario("baseline")).parameters()  # its fitted values
    out = []
    for name in (*NUMERIC_PARAMETERS, *MAPPED_PARAMETERS):
        head, _, key = name.partition(".")
        values = [getattr(p, head) for p in (default, baseline)]
        if key:
            values = [v.get(key, 0.0) for v in values]
        shown = f"default {_value(values[0])}"
        if values[1] != values[0]:
            shown += f", baseline {_value(values[1])}"
        what = f"one key of {head}: " if key else ""
        out.append((name, f"{shown}{_bounds(head)}: {what}{_first_sentence(head)}"))
    return out


def _value(value) -> str:
    return "none" if value is None else f"{value:.4g}"


def _bounds(name: str) -> str:
    words = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    bounds = Parameters.bounds(name)
    return f" ({', '.join(f'{words[k]} {v:g}' for k, v in bounds.items())})" if bounds else ""


def _first_sentence(name: str) -> str:
    text = Parameters.description(name)
    first = text.split(". ")[0].rstrip(".")
    return first if len(first) <= _DOC_CHARS else first[: _DOC_CHARS - 3].rstrip() + "..."
