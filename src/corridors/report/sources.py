"""What a report is made from: run and ensemble directories and analyses, read and checked.

:func:`open_items` reads the directories given to ``corridors report``: run directories
(``corridors run``: ``meta.json``, tables, ``scenario.toml``, ``manifest.json``) or ensemble
directories (``corridors run --replicates``: ``ensemble.json``, merged tables,
``scenario.toml``, ``manifest.json``), not both; and beside them, or alone, the output
directories of ``discover``, ``criticality`` and ``robust``
(:mod:`~corridors.report.analyses`). Bad input raises a
:class:`~corridors.errors.CorridorsError` naming the directory, what is wrong and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from corridors.errors import CorridorsError, DataError
from corridors.report.analyses import ANALYSIS_KINDS, Analysis, analysis_kind, read_analysis
from corridors.results import EnsembleResults, Results, load_ensemble, load_results
from corridors.scenario import Scenario, load_scenario

__all__ = ["MAX_ITEMS", "DirectoryKind", "ReportItem", "directory_kind", "open_items", "report_years"]

MAX_ITEMS = 6
"""The most run or ensemble directories one report compares (the line styles that tell them apart)."""

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


DirectoryKind = Literal["run", "ensemble", "discovery", "criticality", "robust"]


def directory_kind(path: Path) -> DirectoryKind:
    """Say what a directory given to the report is, by the files its command writes.

    Parameters
    ----------
    path : Path
        A directory given to ``corridors report``.

    Returns
    -------
    {"run", "ensemble", "discovery", "criticality", "robust"}

    Raises
    ------
    CorridorsError
        It does not exist, is not a directory, or is none of these kinds (the message names
        the files each kind has).
    """
    if not path.exists():
        raise CorridorsError(path, _ARGUMENT, "no such directory")
    if not path.is_dir():
        raise CorridorsError(
            path,
            _ARGUMENT,
            "not a directory (give a run, ensemble, discovery, criticality or robust directory)",
        )
    if (path / "ensemble.json").is_file():
        return "ensemble"
    if (path / "meta.json").is_file():
        return "run"
    analysis = analysis_kind(path)
    if analysis is not None:
        return analysis
    expected = "; ".join(f"{k}: {v}" for k, v in ANALYSIS_KINDS.items())
    raise CorridorsError(
        path,
        _ARGUMENT,
        "not a run, ensemble, discovery, criticality or robust directory (expected meta.json for a "
        f"run, ensemble.json for an ensemble; {expected}; an ensemble still running has none of "
        "them: run the same command again to finish it)",
    )


def _read(path: Path, kind: Literal["run", "ensemble"]) -> ReportItem:
    """Read one directory as a run or an ensemble; bad input raises a CorridorsError naming it."""
    load = load_ensemble if kind == "ensemble" else load_results
    try:
        results = load(path)
    except json.JSONDecodeError as exc:
        raise CorridorsError(path, kind, f"a JSON file is corrupt ({exc})") from None
    except DataError as exc:  # results.reading names the file and what is wrong with it
        raise CorridorsError(path, kind, f"cannot be read: {exc}") from None
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


def open_items(paths: list[Path]) -> tuple[list[ReportItem], list[Analysis]]:
    """Read the directories of a report: runs or ensembles (not both), and analyses.

    Parameters
    ----------
    paths : list of Path
        Run directories or ensemble directories, at most :data:`MAX_ITEMS`, and any
        discovery, criticality or robust directories, in any order.

    Returns
    -------
    tuple of (list of ReportItem, list of Analysis)
        The runs or ensembles, in order, each labelled; the analyses, in order.

    Raises
    ------
    CorridorsError
        If no path is given, more than :data:`MAX_ITEMS` runs or ensembles, a path is none
        of the known kinds of directory (or cannot be read), or runs and ensembles are mixed.
    """
    if not paths:
        raise CorridorsError(
            None, _ARGUMENT, "give at least one run, ensemble, discovery, criticality or robust directory"
        )
    kinds = [(Path(p), directory_kind(Path(p))) for p in paths]
    runs = [(p, k) for p, k in kinds if k in ("run", "ensemble")]
    if len(runs) > MAX_ITEMS:
        raise CorridorsError(
            None,
            _ARGUMENT,
            f"at most {MAX_ITEMS} directories of runs or ensembles in one report, got {len(runs)}",
        )
    items = [_read(p, k) for p, k in runs]  # type: ignore[arg-type]
    analyses = [read_analysis(p, k) for p, k in kinds if k not in ("run", "ensemble")]  # type: ignore[arg-type]
    if len({it.kind for it in items}) > 1:
        runs = ", ".join(str(it.path) for it in items if it.kind == "run")
        ensembles = ", ".join(str(it.path) for it in items if it.kind == "ensemble")
        raise CorridorsError(
            None,
            _ARGUMENT,
            f"runs ({runs}) and ensembles ({ensembles}) mixed: report runs together, or ensembles together",
        )
    _label(items)
    return items, analyses


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
