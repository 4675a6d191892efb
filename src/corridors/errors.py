"""The error types a user can act on, each naming the file, the place and the reason."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CorridorsError", "DataError", "ScenarioError"]


class CorridorsError(ValueError):
    """Base of the errors raised for bad input.

    The message is ``"file: where: reason"``, leaving out the parts that are ``None`` or
    empty (just ``reason`` when both are). It is a :class:`ValueError`, so code that catches
    those catches it too.

    Parameters
    ----------
    file : str or Path or None
        The file at fault, if there is one.
    where : str or None
        The place in it (a line, a column, a field), if known.
    reason : str
        What is wrong.

    Attributes
    ----------
    file : str or None
        ``file`` as a string.
    where : str or None
        ``where``, as given.
    reason : str
        ``reason``, as given.

    Examples
    --------
    >>> str(CorridorsError("baseline.toml", "line 3", "unknown key 'x'"))
    "baseline.toml: line 3: unknown key 'x'"
    >>> str(CorridorsError(None, None, "no file"))
    'no file'
    """

    def __init__(self, file: str | Path | None, where: str | None, reason: str) -> None:
        self.file = None if file is None else str(file)
        self.where = where
        self.reason = reason
        parts = [p for p in (self.file, where) if p]
        super().__init__(f"{': '.join(parts)}: {reason}" if parts else reason)


class DataError(CorridorsError):
    """A packaged or user-supplied data file is malformed (file, row, column, reason).

    Parameters
    ----------
    file : str or Path or None
        The data file.
    where : str or None
        The place in it, such as ``"line 4, column year"``.
    reason : str
        What is wrong.
    """


class ScenarioError(CorridorsError):
    """A scenario file or override is invalid (file, line or field, reason).

    Parameters
    ----------
    file : str or Path or None
        The scenario file.
    where : str or None
        The line or the field at fault.
    reason : str
        What is wrong.
    """
