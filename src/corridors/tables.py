"""Reading and checking the packaged CSV and TOML files: every error names file, line, column."""

from __future__ import annotations

import csv
import io
import math
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corridors.errors import DataError


@dataclass(frozen=True)
class Col:
    """A column of a CSV file: its header, the parser of its cells, and whether a cell may be empty."""

    name: str
    parse: Callable[[str], Any]
    required: bool = True


def number(lo: float = -math.inf, *, positive: bool = False) -> Callable[[str], float]:
    """Return a parser of finite numbers of at least ``lo`` (above zero if ``positive``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number")
        if positive and value <= 0:
            raise ValueError(f"must be > 0, got {text}")
        if value < lo:
            raise ValueError(f"must be >= {lo:g}, got {text}")
        return value

    return parse


def integer(lo: int, hi: int) -> Callable[[str], int]:
    """Return a parser of integers between ``lo`` and ``hi`` inclusive."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi}, got {value}")
        return value

    return parse


def boolean(text: str) -> bool:
    """Parse ``true``/``1``/``yes`` or ``false``/``0``/``no`` (any case, blanks around allowed)."""
    low = text.strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise ValueError(f"{text!r} is not true or false")


def choice(options: Sequence[str]) -> Callable[[str], str]:
    """Return a parser of one of ``options``, exactly as written."""

    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"{text!r} is not one of {', '.join(options)}")
        return text

    return parse


def text(text: str) -> str:
    """Keep a cell as it is."""
    return text


def country(text: str) -> str:
    """Check a cell is an ISO 3166 alpha-2 code (two capital letters) and keep it."""
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise ValueError(f"{text!r} is not an ISO 3166 alpha-2 code")
    return text


def multi_choice(options: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """Return a parser of a non-empty ``;``-separated subset of ``options``."""

    def parse(cell: str) -> tuple[str, ...]:
        items = tuple(s.strip() for s in cell.split(";") if s.strip())
        bad = [s for s in items if s not in options]
        if bad or not items:
            raise ValueError(f"{cell!r}: must be ';'-separated values from {', '.join(options)}")
        return items

    return parse


def read_text(path: Path) -> str:
    """Read a whole UTF-8 text file (a byte-order mark is allowed); errors name the file."""
    if not path.is_file():
        raise DataError(path, None, "file not found")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(path, f"byte {exc.start}", "not UTF-8 text") from None


def read_table(path: Path, columns: Sequence[Col]) -> tuple[dict[str, list[Any]], list[int]]:
    """Read a CSV file, parsing each cell; errors name the file, line and column."""
    out: dict[str, list[Any]] = {c.name: [] for c in columns}
    lines: list[int] = []
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    header = reader.fieldnames or []
    missing = [c.name for c in columns if c.name not in header]
    if missing:
        raise DataError(path, "header", f"missing column(s): {', '.join(missing)}")
    for row in reader:
        where_line = reader.line_num
        if None in row:
            raise DataError(path, f"line {where_line}", f"more cells than the {len(header)} columns")
        for col in columns:
            cell = (row.get(col.name) or "").strip()
            if cell == "":
                if col.required:
                    raise DataError(path, f"line {where_line}, column {col.name}", "missing value")
                out[col.name].append(None)
                continue
            try:
                out[col.name].append(col.parse(cell))
            except ValueError as exc:
                raise DataError(path, f"line {where_line}, column {col.name}", str(exc)) from None
        lines.append(where_line)
    if not lines:
        raise DataError(path, None, "no rows")
    return out, lines


def check_ids(path: Path, ids: list[int], lines: list[int]) -> None:
    """Check the ids of a table's rows run 0, 1, 2, ... in order; an error names the line."""
    for pos, (value, line) in enumerate(zip(ids, lines, strict=True)):
        if value != pos:
            raise DataError(
                path, f"line {line}, column id", f"ids must run 0, 1, 2, ... in order; got {value}"
            )


def source_keys(path: Path) -> set[str]:
    """Return the source keys (``S-...``, ``A-...``) of the level 2-4 headings of a Markdown file."""
    if not path.is_file():
        raise DataError(path, None, "file not found")
    return set(re.findall(r"^#{2,4}\s+([SA]-[A-Za-z0-9_.-]+)", read_text(path), re.M))


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file; errors name the file."""
    if not path.is_file():
        raise DataError(path, None, "file not found")
    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise DataError(path, None, f"not valid TOML: {exc}") from None
