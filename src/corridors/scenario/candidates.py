"""Candidate investments from a file: ``[[events]]`` of kind ``investment``, as in scenario files.

A candidates file holds only investment events, written as a scenario's timeline writes
them (a project of projects.csv by name, or links with their effect), each a candidate of
``corridors robust``::

    [[events]]
    kind = "investment"
    start = "2026Q1"
    funder = "KZ"
    project = "sarzha_terminal_kuryk"      # its links, effect, cost and lag from projects.csv

    [[events]]
    kind = "investment"
    start = "2026Q1"
    funder = "KZ"
    note = "khorgos_yard_x2"               # the candidate's name (else its project)
    links = ["khorgos>altynkol"]
    capacity_factor = 2.0
    amount_usd_m = 60.0

A candidate's name is its ``note``, else its ``project``; names are unique. The file is
checked as a scenario's events are (names, links, dates), and a problem raises one
:class:`~corridors.errors.ScenarioError` naming the file, the line, the field and the reason.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError

from corridors.events import Investment
from corridors.parameters import Parameters
from corridors.scenario.checks import build_event, check_event
from corridors.scenario.locate import Origins, fail, raise_first, read_source
from corridors.scenario.schema import EventSpec, StrictModel

__all__ = ["CandidatesFile", "load_candidates"]


class CandidatesFile(StrictModel):
    """A file of candidate investments: investment events only, at least one."""

    events: list[EventSpec] = Field(min_length=1, description="The candidates, as investment events.")


def load_candidates(path: str | Path) -> dict[str, Investment]:
    """Read a candidates file: each ``[[events]]`` entry, by its name.

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    dict of str to Investment
        The candidates in the file's order, by name (``note``, else ``project``). Parameter
        references (``{ parameter = "..." }``) resolve against the default parameters.

    Raises
    ------
    ScenarioError
        The file is missing or not TOML, holds other keys or an event of another kind, an
        event a scenario would refuse, one with neither ``note`` nor ``project``, or two
        with the same name.
    """
    path = Path(path)
    src = read_source(path, role="candidates")
    try:
        cf = CandidatesFile.model_validate(src.data)
    except ValidationError as exc:
        raise_first(exc, src.data, lambda loc: Origins(leaf=path, sources=[src]).locate(loc))
    origins = Origins(leaf=path, sources=[src], events=[(src, i) for i in range(len(cf.events))])
    params = Parameters()
    out: dict[str, Investment] = {}
    for i, spec in enumerate(cf.events):
        loc = ("events", i)
        if spec.kind != "investment":
            fail(origins, (*loc, "kind"), f"a candidate is an investment, got {spec.kind!r}")
        check_event(spec, loc, origins)
        name = spec.note.strip() or spec.project
        if not name:
            fail(origins, loc, "a candidate needs a name: give note (or project)")
        if name in out:
            fail(
                origins, (*loc, "note" if spec.note.strip() else "project"), f"candidate {name!r} given twice"
            )
        event = build_event(spec, i, params, origins)
        assert isinstance(event, Investment)
        out[name] = event
    return out
