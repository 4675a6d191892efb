"""Where a scenario's parts come from, and its errors as one line: the file, the line, the field.

A :class:`Source` is one file read (its text, for the line of each key); :class:`Origins`
records which file (and which entry of it) each part of the merged scenario came from, so
that an error in an inherited event names the parent's file and line, and an error from an
override names the override. :func:`raise_first` turns a pydantic ``ValidationError`` into
a :class:`~corridors.errors.ScenarioError` for the earliest line.
"""

import difflib
import functools
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError

from corridors.errors import ScenarioError
from corridors.scenario._toml import show, toml_entries, toml_type
from corridors.scenario.schema import (
    EVENT_MODELS,
    AgentSettings,
    Claim,
    ParameterRef,
    ParametersTable,
    Period,
    ScenarioFile,
    SeaRate,
)
from corridors.uncertainty import DISTRIBUTIONS, NUMERIC_PARAMETERS
from corridors.vocabulary import C5

__all__ = [
    "Origins",
    "Source",
    "allowed_keys",
    "dotted",
    "fail",
    "locate_in",
    "one_line",
    "raise_first",
    "read_source",
    "unknown_key",
    "validate_source",
    "where_of",
]

# ----------------------------------------------------------------------- reading files


@dataclass(eq=False)
class Source:
    """One file read: its text for line numbers, its data."""

    path: Path
    text: str
    data: dict[str, Any]
    role: str = "scenario"  # or "parameters", "candidates"

    @functools.cached_property
    def entries(self) -> list[tuple[tuple, int]]:
        """Where each table header and key of the text stands: (key path, line from 1)."""
        return toml_entries(self.text)

    def line_of(self, loc: tuple, *, exact: bool) -> tuple[int, int] | None:
        """(line, rank) of ``loc``: exact or a descendant (rank big), else the longest ancestor."""
        if exact:
            for path, line in self.entries:
                if path[: len(loc)] == loc:
                    return line, 10**6
            return None
        best = None
        for path, line in self.entries:
            if loc[: len(path)] == path and (best is None or len(path) > best[1]):
                best = (line, len(path))
        return best


@dataclass(eq=False)
class Origins:
    """Where each part of the merged scenario came from, to report the file and line."""

    leaf: Path
    sources: list[Source] = field(default_factory=list)  # priority order: leaf first
    events: list[tuple[Source, int]] = field(default_factory=list)
    sea_rates: list[tuple[Source, int]] = field(default_factory=list)
    overrides: list[tuple[tuple, str]] = field(default_factory=list)
    # events after period.end_year: (source, index in it, index in the merged timeline)
    ignored_events: list[tuple[Source, int, int]] = field(default_factory=list)

    @classmethod
    def bare(cls, leaf: Path) -> "Origins":
        """Return the origins of a scenario known only by its file ``leaf`` (no sources read)."""
        return cls(leaf=leaf)

    def locate(self, loc: tuple) -> tuple[Path, int | None, str]:
        """(file, line, where) of a field of the merged scenario."""
        name = dotted(loc)
        for parts, key in reversed(self.overrides):
            if loc[: len(parts)] == parts:
                return self.leaf, None, f"override {key}" + (f", {name}" if name != key else "")
        if len(loc) >= 2 and loc[0] in ("events", "sea_rates") and isinstance(loc[1], int):
            table = self.events if loc[0] == "events" else self.sea_rates
            if loc[1] < len(table):
                src, local = table[loc[1]]
                found = locate_in([src], (loc[0], local, *loc[2:]))
                return src.path, found, where_of(found, name)
        found_src, found = None, None
        for exact in (True, False):
            best = None
            for src in self.sources:
                hit = src.line_of(loc, exact=exact)
                if hit and (best is None or hit[1] > best[1][1]):
                    best = (src, hit)
            if best:
                found_src, found = best[0], best[1][0]
                break
        path = found_src.path if found_src else self.leaf
        return path, found, where_of(found, name)


def locate_in(sources: list[Source], loc: tuple) -> int | None:
    """Return the line of a field in the first of ``sources`` that has it, else of its nearest table.

    Parameters
    ----------
    sources : list of Source
        The files to look in, in order.
    loc : tuple
        The field's key path (``("events", 0, "start")``), indices local to the file.

    Returns
    -------
    int or None
        The line (from 1), or None if no file has the field or a table holding it.
    """
    for exact in (True, False):
        for src in sources:
            hit = src.line_of(loc, exact=exact)
            if hit:
                return hit[0]
    return None


def where_of(line: int | None, name: str) -> str:
    """``"line 7, parameters.renewal_rate"``: the line where known, and the dotted field."""
    parts = [f"line {line}" if line else "", name]
    return ", ".join(p for p in parts if p)


def read_source(path: Path, role: str = "scenario") -> Source:
    """Read a scenario or parameters file: UTF-8 TOML, not empty.

    Parameters
    ----------
    path : Path
        The file.
    role : {"scenario", "parameters", "candidates"}
        What the file is, for the messages.

    Returns
    -------
    Source
        Its text and data.

    Raises
    ------
    ScenarioError
        Missing, a directory, unreadable, not UTF-8, not TOML (with its line and column),
        or empty.
    """
    if not path.exists():
        raise ScenarioError(path, None, "file not found")
    if path.is_dir():
        raise ScenarioError(path, None, f"is a directory, not a {role} file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ScenarioError(path, f"line {line}", f"not UTF-8 text (byte {exc.start} of the file)") from None
    except OSError as exc:
        raise ScenarioError(path, None, f"cannot read: {exc.strerror or exc}") from None
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)", msg)
        where = f"line {m.group(1)}, column {m.group(2)}" if m else None
        reason = msg[: m.start()] + msg[m.end() :] if m else msg
        raise ScenarioError(path, where, f"not valid TOML: {one_line(reason)}") from None
    if not data:
        what = {
            "scenario": "name and title",
            "candidates": "[[events]] of kind investment",
        }.get(role, "a [parameters] table")
        raise ScenarioError(path, None, f"empty file: nothing but comments or blanks (it needs {what})")
    return Source(path=path, text=text, data=data, role=role)


def validate_source(src: Source, model: type[BaseModel]) -> None:
    """Validate one file's data alone, before it is merged (errors name that file's lines).

    Parameters
    ----------
    src : Source
        The file read.
    model : type of BaseModel
        ``ScenarioFile`` or ``ParametersFile``.

    Raises
    ------
    ScenarioError
        The error of the earliest line (:func:`raise_first`).
    """
    try:
        model.model_validate(src.data)
    except ValidationError as exc:
        raise_first(exc, src.data, lambda loc: _locate_single(src, loc))


def _locate_single(src: Source, loc: tuple) -> tuple[Path, int | None, str]:
    line = locate_in([src], loc)
    return src.path, line, where_of(line, dotted(loc))


# ----------------------------------------------------------------------- validation errors


# (table, depth) -> the keys it may hold, where they do not depend on the data.
_FIXED_KEYS: dict[tuple[str, int], Any] = {
    ("period", 1): Period.model_fields,
    ("parameters", 1): ParametersTable.model_fields,
    ("agents", 1): C5,
    ("agents", 2): AgentSettings.model_fields,
    ("sea_rates", 2): SeaRate.model_fields,
    ("expect", 2): Claim.model_fields,
    ("uncertainty", 1): NUMERIC_PARAMETERS,
}


def allowed_keys(loc: tuple, data: Any) -> list[str] | None:
    """Return the keys a table may hold.

    Parameters
    ----------
    loc : tuple
        The table's key path (``()`` for the top, ``("events", 3)`` for an event).
    data : object
        The scenario's data, for tables whose keys depend on it (an event's kind, a
        distribution's ``dist``).

    Returns
    -------
    list of str or None
        The keys, or None if the table is free (or its kind unknown).
    """
    n = len(loc)
    if n == 0:
        return list(ScenarioFile.model_fields)
    head = loc[0]
    fixed = _FIXED_KEYS.get((head, n))
    if fixed is not None:
        return list(fixed)
    if head == "uncertainty" and n == 2:
        try:
            dist = data["uncertainty"][loc[1]]["dist"]
        except (KeyError, TypeError):
            return None
        model = DISTRIBUTIONS.get(dist) if isinstance(dist, str) else None
        return list(model.model_fields) if model else None
    if head == "events" and n in (2, 3) and isinstance(loc[1], int):
        if n == 3:
            return list(ParameterRef.model_fields)
        try:
            kind = data["events"][loc[1]]["kind"]
        except (KeyError, IndexError, TypeError):
            return None
        model = EVENT_MODELS.get(kind) if isinstance(kind, str) else None
        return list(model.model_fields) if model else None
    return None


def unknown_key(parent: tuple, key: Any, allowed: list[str]) -> str:
    """Return the reason for an unknown key: the keys allowed if few, else the closest one.

    Parameters
    ----------
    parent : tuple
        The key path of the table holding it.
    key : object
        The unknown key.
    allowed : list of str
        The keys the table may hold.

    Returns
    -------
    str
        ``"unknown state 'KX'; expected one of KZ, KG, TJ, TM, UZ"`` or
        ``"unknown parameter 'x' (did you mean 'y'?)"``.
    """
    what = (
        "state"
        if parent == ("agents",)
        else "parameter"
        if parent in (("parameters",), ("uncertainty",))
        else "key"
    )
    close = difflib.get_close_matches(str(key), allowed, n=1)
    if len(allowed) <= 8 or (not close and len(allowed) <= 20):
        return f"unknown {what} {key!r}; expected one of {', '.join(allowed)}"
    if close:
        return f"unknown {what} {key!r} (did you mean {close[0]!r}?)"
    return f"unknown {what} {key!r}" + (f"; {PARAMETERS_LISTED}" if what == "parameter" else "")


PARAMETERS_LISTED = "see `corridors schema` for the parameters"
"""Where the parameters' names are listed, for an unknown one with no close match."""


_TYPE_WORDS = {
    "float_type": "a number",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}
_BOUND_WORDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


def _explain(err: Mapping[str, Any], data: Any) -> tuple[tuple, str]:
    """(clean dotted location, readable reason) of one pydantic error."""
    loc = list(err["loc"])
    if len(loc) >= 3 and loc[0] == "events" and isinstance(loc[1], int) and loc[2] in EVENT_MODELS:
        del loc[2]
    if len(loc) >= 3 and loc[0] == "uncertainty" and loc[2] in DISTRIBUTIONS:
        del loc[2]
    loc = [p for p in loc if p not in ("number", "reference")]
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    key_error = bool(loc) and loc[-1] == "[key]"
    if key_error:
        loc.pop()
    loc_t = tuple(loc)
    if kind == "extra_forbidden":
        allowed = allowed_keys(loc_t[:-1], data) or []
        return loc_t, unknown_key(loc_t[:-1], loc_t[-1], allowed)
    if kind == "missing":
        return loc_t, f"missing required key {loc_t[-1]!r}" if loc_t else "missing required key"
    if kind in ("union_tag_invalid", "union_tag_not_found") and loc_t[:1] == ("uncertainty",):
        dists = ", ".join(DISTRIBUTIONS)
        if kind == "union_tag_not_found":
            return (*loc_t, "dist"), f"missing required key 'dist' (one of {dists})"
        return (*loc_t, "dist"), f"unknown distribution {ctx.get('tag')!r}; expected one of {dists}"
    if kind == "union_tag_invalid":
        kinds = ", ".join(EVENT_MODELS)
        return (*loc_t, "kind"), f"unknown event kind {ctx.get('tag')!r}; expected one of {kinds}"
    if kind == "union_tag_not_found":
        return (*loc_t, "kind"), f"missing required key 'kind' (one of {', '.join(EVENT_MODELS)})"
    if key_error and kind == "literal_error":
        return loc_t, f"unknown key {loc_t[-1]!r}; expected one of {ctx.get('expected')}"
    if kind == "finite_number":
        return loc_t, f"must be a finite number, got {show(value)}"
    if kind in _TYPE_WORDS:
        return loc_t, f"expected {_TYPE_WORDS[kind]}, got {toml_type(value)} {show(value)}"
    if kind in _BOUND_WORDS:
        bound = next(iter(ctx.values()), "?")
        return loc_t, f"must be {_BOUND_WORDS[kind]} {bound:g}, got {show(value)}"
    if kind == "literal_error":
        return loc_t, f"must be one of {ctx.get('expected')}, got {show(value)}"
    if kind == "string_pattern_mismatch":
        if loc_t == ("name",):
            return (
                loc_t,
                f"must be lower-case letters, digits and '_', starting with a letter, got {show(value)}",
            )
        return loc_t, f"must match {ctx.get('pattern')}, got {show(value)}"
    if kind == "string_too_short":
        return loc_t, "must not be empty"
    if kind == "value_error":
        return loc_t, str(ctx.get("error", err["msg"]))
    if kind in ("too_short", "too_long"):
        limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        words = "at least" if kind == "too_short" else "at most"
        return loc_t, f"must have {words} {limit} items, got {ctx.get('actual_length')}"
    msg = err["msg"].replace("Input should be", "must be")
    return loc_t, f"{msg}, got {show(value)}"


def raise_first(
    exc: ValidationError, data: Any, locate: Callable[[tuple], tuple[Path, int | None, str]]
) -> NoReturn:
    """Raise the pydantic error of the earliest line as one-line :class:`ScenarioError`.

    Parameters
    ----------
    exc : ValidationError
        What pydantic found.
    data : object
        The data validated (to list the keys a table may hold).
    locate : callable
        Key path -> (file, line or None, where), e.g. :meth:`Origins.locate`.

    Raises
    ------
    ScenarioError
        Always: the error of the earliest line, unknown keys before the missing keys they
        explain, with a readable reason (``must be <= 1, got 1.2``).
    """
    best = None
    for order, err in enumerate(exc.errors(include_url=False)):
        loc, reason = _explain(err, data)
        path, line, where = locate(loc)
        key = (line if line is not None else math.inf, err["type"] == "missing", order)
        if best is None or key < best[0]:
            best = (key, path, where, reason)
    assert best is not None
    raise ScenarioError(best[1], best[2] or None, one_line(best[3]))


def fail(origins: Origins, loc: tuple, reason: str) -> NoReturn:
    """Raise a :class:`ScenarioError` at a field of the merged scenario.

    Parameters
    ----------
    origins : Origins
        Where the merged scenario's parts came from.
    loc : tuple
        The field's key path in the merged scenario.
    reason : str
        What is wrong (made one line).

    Raises
    ------
    ScenarioError
        Always, naming the file and line the field came from.
    """
    path, _, where = origins.locate(loc)
    raise ScenarioError(path, where or None, one_line(reason))


def dotted(loc: tuple) -> str:
    """Write a key path as messages do: ``("events", 0, "start")`` -> ``"events[0].start"``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def one_line(text: str) -> str:
    """Text with its whitespace, newlines too, collapsed to single spaces."""
    return " ".join(str(text).split())
