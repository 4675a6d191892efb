"""The analyses a report may hold beside runs: discovery, criticality and robust directories, read.

Each is the output directory of a command, recognised by the file the command writes last:

- ``corridors discover``: ``discovery.json`` beside ``trajectory.parquet``,
  ``box_limits.parquet`` and ``runs.parquet``;
- ``corridors criticality``: ``manifest.json`` of kind ``criticality`` and the ranked
  ``criticality.parquet`` (written once every run has finished);
- ``corridors robust``: ``robust.json`` beside ``benefits.parquet``, ``summary.parquet`` and
  ``annual.parquet``.

:func:`analysis_kind` says which one a directory is, :func:`read_analysis` reads its saved
tables into an :class:`Analysis`; nothing is run again. Bad input raises a
:class:`~corridors.errors.CorridorsError` naming the directory, its kind and the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from corridors.errors import CorridorsError

__all__ = ["ANALYSIS_KINDS", "Analysis", "analysis_kind", "read_analysis"]

AnalysisKind = Literal["discovery", "criticality", "robust"]

ANALYSIS_KINDS: dict[str, str] = {
    "discovery": "discovery.json (corridors discover)",
    "criticality": "criticality.parquet and a criticality manifest.json (corridors criticality)",
    "robust": "robust.json (corridors robust)",
}
"""Each kind of analysis directory and what marks it, as the report's errors name them."""

_TABLES: dict[str, tuple[str, ...]] = {
    "discovery": ("trajectory", "box_limits", "runs"),
    "criticality": ("criticality",),
    "robust": ("benefits", "summary", "annual"),
}
_META = {"discovery": "discovery.json", "criticality": "manifest.json", "robust": "robust.json"}


@dataclass(eq=False)
class Analysis:
    """The saved output of ``discover``, ``criticality`` or ``robust``: its tables and what was asked.

    Parameters
    ----------
    path : Path
        The directory.
    kind : {"discovery", "criticality", "robust"}
        The command that wrote it.
    tables : dict of str to pandas.DataFrame
        Its Parquet tables by name (``trajectory``, ``box_limits``, ``runs``; ``criticality``;
        ``benefits``, ``summary``, ``annual``).
    meta : dict
        ``discovery.json``, the criticality ``manifest.json`` or ``robust.json``.
    notes : list of str
        What could not be read, for the report to say.
    """

    path: Path
    kind: AnalysisKind
    tables: dict[str, pd.DataFrame]
    meta: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _manifest_kind(path: Path) -> str | None:
    try:
        return json.loads((path / "manifest.json").read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return None


def analysis_kind(path: Path) -> AnalysisKind | None:
    """Say which analysis a directory holds, by the files its command writes (``None``: none).

    Parameters
    ----------
    path : Path
        A directory.

    Returns
    -------
    {"discovery", "criticality", "robust"} or None

    Raises
    ------
    CorridorsError
        A criticality directory whose runs have not all finished (no ``criticality.parquet``).
    """
    if (path / "discovery.json").is_file():
        return "discovery"
    if (path / "robust.json").is_file():
        return "robust"
    if (path / "criticality.parquet").is_file():
        return "criticality"
    if (path / "manifest.json").is_file() and _manifest_kind(path) == "criticality":
        msg = (
            "a criticality analysis not finished (no criticality.parquet): run the same "
            "`corridors criticality` command again to finish it"
        )
        raise CorridorsError(path, "criticality", msg)
    return None


def read_analysis(path: Path, kind: AnalysisKind) -> Analysis:
    """Read an analysis directory's tables and its JSON record.

    Parameters
    ----------
    path : Path
        The directory (:func:`analysis_kind` gave ``kind``).
    kind : {"discovery", "criticality", "robust"}
        What it holds.

    Returns
    -------
    Analysis

    Raises
    ------
    CorridorsError
        A table or the JSON record is missing, corrupt, or lacks what the report needs.
    """
    try:
        meta = json.loads((path / _META[kind]).read_text())
        tables = {name: pd.read_parquet(path / f"{name}.parquet") for name in _TABLES[kind]}
    except json.JSONDecodeError as exc:
        raise CorridorsError(path, kind, f"{_META[kind]} is corrupt ({exc})") from None
    except (OSError, ValueError) as exc:
        raise CorridorsError(path, kind, f"cannot be read ({type(exc).__name__}: {exc})") from None
    if not isinstance(meta, dict):
        raise CorridorsError(path, kind, f"{_META[kind]} is not a JSON object")
    if kind == "criticality" and meta.get("kind") != "criticality":
        msg = "criticality.parquet without a criticality manifest.json (scenario, seed and closure unknown)"
        raise CorridorsError(path, kind, msg)
    item = Analysis(path, kind, tables, meta)
    _check(item)
    return item


_NEEDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("discovery", "trajectory"): ("box", "coverage", "density", "mass", "restricted", "chosen"),
    ("discovery", "box_limits"): ("input", "lower", "upper", "sampled_min", "sampled_max", "restricted"),
    ("criticality", "criticality"): (
        "rank",
        "link",
        "edges",
        "corridor",
        "extra_cost_usd",
        "not_delivered_t",
    ),
    ("robust", "benefits"): ("candidate", "future", "net_benefit_usd_m", "regret_usd_m"),
    ("robust", "summary"): ("candidate", "expected_net_usd_m", "max_regret_usd_m", "minimax_regret"),
}
_META_NEEDS = {
    "discovery": ("where", "chosen_box", "rule"),
    "criticality": ("scenario", "closure"),
    "robust": ("futures", "minimax_regret", "best_expected"),
}


def _check(item: Analysis) -> None:
    """Refuse a directory whose tables or record lack a column or key the report reads."""
    for (kind, name), columns in _NEEDS.items():
        if kind == item.kind:
            missing = [c for c in columns if c not in item.tables[name].columns]
            if missing:
                msg = f"{name}.parquet has no column {missing[0]!r} (written by another version?)"
                raise CorridorsError(item.path, item.kind, msg)
    missing = [k for k in _META_NEEDS[item.kind] if k not in item.meta]
    if missing:
        raise CorridorsError(item.path, item.kind, f"{_META[item.kind]} has no {missing[0]!r}")
    if item.kind == "discovery" and not item.tables["trajectory"]["chosen"].any():
        raise CorridorsError(item.path, item.kind, "trajectory.parquet marks no chosen box")
