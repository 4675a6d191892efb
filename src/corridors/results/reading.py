"""Reading run and ensemble directories back: each way one can be wrong gets its own message.

A folder that does not exist, a file that is not a folder, a folder that holds no run, an
ensemble interrupted before its tables were merged (its ``manifest.json`` says
``"status": "running"``), a JSON file that does not parse, a table that is missing: each
is named with its path and what to do about it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from corridors.errors import DataError

__all__ = ["check_directory", "read_json", "read_table"]


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: "an ensemble directory", "a run directory"."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def check_directory(path: Path, marker: str, what: str) -> None:
    """Check that ``path`` is a directory holding ``marker``, else say what it is instead.

    Parameters
    ----------
    path : Path
        The directory given.
    marker : str
        The file that makes it one (``"meta.json"`` for a run, ``"ensemble.json"`` for an
        ensemble).
    what : str
        What it should be, for the message (``"run directory"``).

    Raises
    ------
    FileNotFoundError
        No such folder; a file, not a folder; an ensemble, sweep or sensitivity interrupted
        before it finished ("run the same command again to resume"); or a folder without
        ``marker``.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such folder (expected {_a(what)})")
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: a file, not {_a(what)}")
    if (path / marker).is_file():
        return
    manifest = path / "manifest.json"
    try:
        record = json.loads(manifest.read_text()) if manifest.is_file() else {}
    except (OSError, ValueError):
        record = {}
    status = record.get("status") if isinstance(record, dict) else None
    if status is not None:
        kind = record.get("kind", "ensemble")
        if status == "running":
            msg = (
                f"{path}: an interrupted {kind} (manifest.json says status 'running'; "
                "its finished runs are kept): run the same command again to resume"
            )
        else:
            msg = f"{path}: {_a(kind)} directory with no {marker} (manifest.json says status {status!r})"
        raise FileNotFoundError(msg)
    raise FileNotFoundError(f"{path}: not {_a(what)} (no {marker})")


def read_json(path: Path) -> Any:
    """Return the content of a JSON file of a run or ensemble directory.

    Raises
    ------
    FileNotFoundError
        The file is missing (its path named).
    DataError
        It is not valid JSON: the file, the line and column, the reason.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: missing") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise DataError(path, where, f"not valid JSON ({exc.msg}); the directory is damaged") from None
    except UnicodeDecodeError:
        raise DataError(path, None, "not UTF-8 text; the directory is damaged") from None


def read_table(path: Path) -> pd.DataFrame:
    """Return a Parquet table of a run or ensemble directory.

    Raises
    ------
    FileNotFoundError
        The table is missing: its path, and that the directory is incomplete.
    DataError
        It is not a Parquet file it can read.
    """
    if not path.is_file():
        msg = f"{path}: missing (the directory is incomplete: write it again, e.g. with `corridors run`)"
        raise FileNotFoundError(msg)
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(path, None, f"not a readable Parquet table ({exc})") from None
