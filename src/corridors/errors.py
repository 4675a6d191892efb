"""The error types a user can act on, each naming the file, the place and the reason."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CorridorsError", "DataError", "ScenarioError"]


class CorridorsError(ValueError):
    """Base of the errors raised for bad input."""

    def __init__(self, file: str | Path | None, where: str | None, reason: str) -> None:
        self.file = None if file is None else str(file)
        self.where = where
        self.reason = reason
        parts = [p for p in (self.file, where) if p]
        super().__init__(f"{': '.join(parts)}: {reason}" if parts else reason)


class DataError(CorridorsError):
    """A packaged or user-supplied data file is malformed (file, row, column, reason)."""


class ScenarioError(CorridorsError):
    """A scenario file or override is invalid (file, line or field, reason)."""
