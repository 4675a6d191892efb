"""Helpers shared by the benchmark scripts: table layout, argument parsing, versions."""

from __future__ import annotations

import argparse
from importlib import metadata

__all__ = ["columns", "positive_int", "version"]


def columns(table: list[tuple[str, ...]], left: set[int], indent: str = "") -> list[str]:
    """Lines of ``table`` (header first) in aligned columns; ``left`` columns are left-aligned."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]

    def line(row: tuple[str, ...]) -> str:
        cells = (
            v.ljust(w) if i in left else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        return (indent + "  ".join(cells)).rstrip()

    return [line(table[0]), indent + "  ".join("-" * w for w in widths), *map(line, table[1:])]


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def version(name: str) -> str:
    """The installed version of a distribution, or "not installed"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
