"""What a report is made from: run and ensemble directories, read and checked, with their provenance.

:func:`open_items` reads the directories given to ``corridors report``: each a run
directory (``corridors run``: ``meta.json``, tables, ``scenario.toml``, ``manifest.json``)
or an ensemble directory (``corridors run --replicates``: ``ensemble.json``, merged tables,
``scenario.toml``, ``manifest.json``), all of one kind. Bad input raises a
:class:`~corridors.errors.CorridorsError` naming the directory, what is wrong and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from corridors.errors import CorridorsError
from corridors.results import EnsembleResults, Results, load_ensemble, load_results
from corridors.scenario import Scenario, load_scenario

__all__ = ["MAX_ITEMS", "ReportItem", "open_items", "report_years"]

MAX_ITEMS = 6
"""The most directories one report compares (the line styles that tell them apart)."""

_ARGUMENT = "RUN_OR_ENSEMBLE"


@dataclass(eq=False)
class ReportItem:
    """One directory of a report: its results, scenario, manifest and the name the report gives it.

    Parameters
    ----------
    path : Path
        The directory.
    kind : {"run", "ensemble"}
        A run directory or an ensemble directory.
    results : Results or EnsembleResults
        Its tables.
    manifest : dict
        Its ``manifest.json`` (empty if it has none).
    scenario : Scenario or None
        Its resolved ``scenario.toml`` (``None`` if missing or unreadable: see ``notes``).
    label : str
        How tables and legends name it (scenario and seed; the directory's name where two
        would share one).
    notes : list of str
        What could not be read, for the report to say.
    """

    path: Path
    kind: Literal["run", "ensemble"]
    results: Results | EnsembleResults
    manifest: dict[str, Any]
    scenario: Scenario | None
    label: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def scenario_name(self) -> str:
        """The scenario's name as the results record it."""
        return str(self.results.meta.get("scenario") or self.path.name)

    @property
    def seed(self) -> int | None:
        """The seed the directory records."""
        seed = self.results.meta.get("seed", self.manifest.get("seed"))
        return None if seed is None else int(seed)

    def years(self) -> list[int]:
        """Return the reported years of its tables."""
        return sorted(int(y) for y in self.results.corridors["year"].unique())


def _read(path: Path) -> ReportItem:
    """Read one directory as a run or an ensemble; bad input raises a CorridorsError naming it."""
    if not path.exists():
        raise CorridorsError(path, _ARGUMENT, "no such directory")
    if not path.is_dir():
        raise CorridorsError(path, _ARGUMENT, "not a directory (give a run or ensemble directory)")
    if (path / "ensemble.json").is_file():
        kind: Literal["run", "ensemble"] = "ensemble"
        load = load_ensemble
    elif (path / "meta.json").is_file():
        kind, load = "run", load_results
    else:
        raise CorridorsError(
            path,
            _ARGUMENT,
            "not a run or ensemble directory (no meta.json or ensemble.json; an ensemble still "
            "running has neither: run the same command again to finish it)",
        )
    try:
        results = load(path)
    except json.JSONDecodeError as exc:
        raise CorridorsError(path, kind, f"a JSON file is corrupt ({exc})") from None
    except (OSError, ValueError, KeyError) as exc:
        raise CorridorsError(path, kind, f"cannot be read ({type(exc).__name__}: {exc})") from None
    item = ReportItem(path=path, kind=kind, results=results, manifest={}, scenario=None)
    manifest = path / "manifest.json"
    if manifest.is_file():
        try:
            item.manifest = json.loads(manifest.read_text())
        except (OSError, ValueError) as exc:
            item.notes.append(f"manifest.json could not be read ({exc})")
    else:
        item.notes.append("no manifest.json: version and input hashes unknown")
    toml = path / "scenario.toml"
    if toml.is_file():
        try:
            item.scenario = load_scenario(toml)
        except (CorridorsError, OSError) as exc:
            item.notes.append(f"scenario.toml could not be read ({exc})")
    else:
        item.notes.append("no scenario.toml: title, description, article and claims unknown")
    return item


def _label(items: list[ReportItem]) -> None:
    """Name each item by scenario and seed, or by directory where two names would be the same."""
    for it in items:
        it.label = it.scenario_name + ("" if it.seed is None else f", seed {it.seed}")
    if len({it.label for it in items}) < len(items):
        for it in items:
            it.label = f"{it.label} ({it.path.name})"
    if len({it.label for it in items}) < len(items):
        for i, it in enumerate(items, 1):
            it.label = f"{it.label} #{i}"


def open_items(paths: list[Path]) -> list[ReportItem]:
    """Read the directories of a report: all runs, or all ensembles.

    Parameters
    ----------
    paths : list of Path
        Run directories or ensemble directories, at most :data:`MAX_ITEMS`.

    Returns
    -------
    list of ReportItem
        One per path, in order, each labelled.

    Raises
    ------
    CorridorsError
        If no path is given, more than :data:`MAX_ITEMS`, a path is not a run or ensemble
        directory (or cannot be read), or runs and ensembles are mixed.
    """
    if not paths:
        raise CorridorsError(None, _ARGUMENT, "give at least one run or ensemble directory")
    if len(paths) > MAX_ITEMS:
        raise CorridorsError(
            None, _ARGUMENT, f"at most {MAX_ITEMS} directories in one report, got {len(paths)}"
        )
    items = [_read(Path(p)) for p in paths]
    kinds = {it.kind for it in items}
    if len(kinds) > 1:
        runs = ", ".join(str(it.path) for it in items if it.kind == "run")
        ensembles = ", ".join(str(it.path) for it in items if it.kind == "ensemble")
        raise CorridorsError(
            None,
            _ARGUMENT,
            f"runs ({runs}) and ensembles ({ensembles}) mixed: report runs together, or ensembles together",
        )
    _label(items)
    return items


def report_years(items: list[ReportItem], year: int | None) -> tuple[int, list[int]]:
    """Choose the year of the Sankey, flow map, tables and claims, and the years all items share.

    Parameters
    ----------
    items : list of ReportItem
        The report's directories.
    year : int, optional
        The year asked for (``--year``); default 2030 when every item reports it, else the
        last year they all report.

    Returns
    -------
    tuple of (int, list of int)
        The year, and the years every item reports.

    Raises
    ------
    CorridorsError
        If the items share no year, or ``year`` is not one of the shared years.
    """
    shared = sorted(set.intersection(*(set(it.years()) for it in items)))
    if not shared:
        spans = "; ".join(f"{it.label}: {it.years()[0]}-{it.years()[-1]}" for it in items)
        raise CorridorsError(None, _ARGUMENT, f"the directories share no year ({spans})")
    if year is None:
        return (2030 if 2030 in shared else shared[-1]), shared
    if year not in shared:
        raise CorridorsError(
            None,
            "--year",
            f"{year} is not a year of every directory given (they share {shared[0]}-{shared[-1]})",
        )
    return year, shared
