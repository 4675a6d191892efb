"""Naming saved runs and ensembles in legends and tables: their scenario and overrides, not their folders."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["directory_labels"]


def _manifest(path: Path) -> dict[str, Any]:
    """Return the directory's manifest, else its metadata (meta.json or ensemble.json), else nothing."""
    for name in ("manifest.json", "meta.json", "ensemble.json"):
        try:
            value = json.loads((path / name).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(value, dict):
            return value
    return {}


def _value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def directory_labels(paths: Sequence[str | Path]) -> list[str]:
    """Name run or ensemble directories by scenario and overrides, for legends and tables.

    Each label is the scenario's name, then the overrides (``--set``) that not every
    directory shares, ``parameters.`` left out: ``"baseline (cost_elasticity=3.5)"``.
    Labels that are still alike get the seed, then the directory's name.

    Parameters
    ----------
    paths : sequence of str or Path
        Directories written by ``corridors run`` (with or without ``--replicates``),
        ``sweep`` or ``sensitivity``; their ``manifest.json`` is read (a directory without
        one is named by its metadata, or by its folder).

    Returns
    -------
    list of str
        One distinct label per directory, in order (for directories given twice, the
        same folder name twice).

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     dirs = [pathlib.Path(tmp) / n for n in ("a", "b")]
    ...     for d, over in zip(dirs, ({}, {"parameters.cost_elasticity": 3.5})):
    ...         d.mkdir()
    ...         _ = (d / "manifest.json").write_text(json.dumps({"scenario": "baseline", "overrides": over}))
    ...     directory_labels(dirs)
    ['baseline', 'baseline (cost_elasticity=3.5)']
    """
    paths = [Path(p) for p in paths]
    manifests = [_manifest(p) for p in paths]
    overrides = [
        {str(k): _value(v) for k, v in (m.get("overrides") or {}).items()}
        if isinstance(m.get("overrides"), dict)
        else {}
        for m in manifests
    ]
    shared = set.intersection(*(set(o.items()) for o in overrides)) if overrides and len(paths) > 1 else set()
    labels = []
    for path, m, over in zip(paths, manifests, overrides, strict=True):
        name = str(m.get("scenario") or path.name)
        changed = [f"{k.removeprefix('parameters.')}={v}" for k, v in over.items() if (k, v) not in shared]
        labels.append(f"{name} ({', '.join(changed)})" if changed else name)
    if len(set(labels)) == len(labels):
        return labels
    seeded = [
        f"{label}, seed {m['seed']}" if m.get("seed") is not None else label
        for label, m in zip(labels, manifests, strict=True)
    ]
    if len(set(seeded)) == len(seeded):
        return seeded
    return [f"{label} [{p.name}]" for label, p in zip(labels, paths, strict=True)]
