"""TOML for scenario files: the line of each key (for error messages), and a writer.

Hand-written, not tomlkit: tomlkit keeps no line numbers for keys, so finding a key's line
would mean re-counting lines through its document tree (super tables, arrays of tables) with
no less code, and its writer lays out multi-line strings and tables inside arrays of tables
differently, so the written files would change. Reading stays with :mod:`tomllib`.
"""

import math
import re
import tomllib
from collections.abc import Mapping
from typing import Any

__all__ = ["show", "toml_dumps", "toml_entries", "toml_type", "toml_value"]

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*(\]\]?)\s*(?:#.*)?$")
_KEYLINE = re.compile(rf"^\s*({_DOTTED})\s*=")
_KEYPART = re.compile(_KEY)


def _split_key(dotted: str) -> tuple[str, ...]:
    out = []
    for part in _KEYPART.findall(dotted):
        if part.startswith('"'):
            out.append(tomllib.loads(f"k = {part}")["k"])
        elif part.startswith("'"):
            out.append(part[1:-1])
        else:
            out.append(part)
    return tuple(out)


def _scan(line: str, ml: str | None, depth: int) -> tuple[str | None, int]:
    """Carry multi-line strings and open brackets from one line to the next."""
    i, n = 0, len(line)
    while i < n:
        if ml is not None:
            if ml == '"""' and line[i] == "\\":
                i += 2
            elif line.startswith(ml, i):
                i, ml = i + 3, None
            else:
                i += 1
            continue
        c = line[i]
        if c == "#":
            break
        if line.startswith('"""', i) or line.startswith("'''", i):
            ml, i = line[i : i + 3], i + 3
            continue
        if c == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
            continue
        if c == "'":
            j = line.find("'", i + 1)
            i = n if j < 0 else j + 1
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        i += 1
    return ml, max(depth, 0)


def toml_entries(text: str) -> list[tuple[tuple, int]]:
    """Where each table header and key of a TOML text stands.

    Parameters
    ----------
    text : str
        Valid TOML (:mod:`tomllib` has read it).

    Returns
    -------
    list of (tuple, int)
        (key path, line from 1), in the order of the text; a ``[[table]]`` entry's path holds
        its index (``("events", 2, "start")``), and dotted keys are split.
    """
    entries: list[tuple[tuple, int]] = []
    table: tuple = ()
    arrays: dict[tuple, int] = {}
    ml: str | None = None
    depth = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if ml is not None or depth > 0:
            ml, depth = _scan(line, ml, depth)
            continue
        m = _HEADER.match(line)
        if m and len(m.group(1)) == len(m.group(3)):
            parts = _split_key(m.group(2))
            path: tuple = ()
            for k, part in enumerate(parts):
                path = (*path, part)
                if k == len(parts) - 1 and m.group(1) == "[[":
                    arrays[path] = arrays.get(path, -1) + 1
                    path = (*path, arrays[path])
                elif path in arrays:
                    path = (*path, arrays[path])
            table = path
            entries.append((table, lineno))
            continue
        m = _KEYLINE.match(line)
        if m:
            entries.append(((*table, *_split_key(m.group(1))), lineno))
            ml, depth = _scan(line[m.end() :], None, 0)
    return entries


def toml_dumps(data: Mapping[str, Any]) -> str:
    """TOML text of a table: plain keys first, then sub-tables, then arrays of tables.

    Parameters
    ----------
    data : mapping
        Strings to booleans, integers, finite floats, strings, arrays, tables and arrays of
        tables; a multi-line string outside an array is written as a multi-line basic string.

    Returns
    -------
    str
        The text, ending in one newline; :func:`tomllib.loads` gives ``data`` back.

    Raises
    ------
    ValueError
        A float is not finite.
    TypeError
        A value has no TOML form.
    """
    lines: list[str] = []
    _write_table(lines, (), data)
    return "\n".join(lines).strip() + "\n"


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _write_table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    plain = [(k, v) for k, v in table.items() if not isinstance(v, Mapping) and not _is_table_array(v)]
    subtables = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
    arrays = [(k, v) for k, v in table.items() if _is_table_array(v)]
    if path and (plain or not (subtables or arrays)):
        lines += ["", f"[{'.'.join(_toml_key(p) for p in path)}]"]
    lines += [f"{_toml_key(k)} = {toml_value(v, multiline=True)}" for k, v in plain]
    for k, v in subtables:
        _write_table(lines, (*path, k), v)
    for k, items in arrays:
        for item in items:
            lines += ["", f"[[{'.'.join(_toml_key(p) for p in (*path, k))}]]"]
            lines += [f"{_toml_key(ik)} = {toml_value(iv, multiline=True)}" for ik, iv in item.items()]


def _toml_key(key: str) -> str:
    return key if re.fullmatch(_BARE, key) else _toml_string(key)


def _toml_string(text: str, *, multiline: bool = False) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n" and multiline:
            out.append(ch)
        elif ch in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    body = "".join(out)
    return '"""\n' + body + '"""' if multiline else '"' + body + '"'


def toml_value(value: Any, *, multiline: bool = False) -> str:
    """Return the TOML literal of a value (inline: arrays and tables on one line).

    Parameters
    ----------
    value : bool, int, float, str, list, tuple or mapping
        What to write.
    multiline : bool, default False
        Write a string holding a newline as a multi-line string.

    Returns
    -------
    str
        The literal.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML writer: {value} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value, multiline=multiline and "\n" in value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"TOML writer: cannot write {type(value).__name__}")


def toml_type(value: Any) -> str:
    """Return the TOML word for a value's type (``"integer"``, ``"table"``...), for error messages.

    Parameters
    ----------
    value : object
        A value as :mod:`tomllib` reads it (or an override's value).

    Returns
    -------
    str
        The word.
    """
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "table"
    return "date/time" if hasattr(value, "isoformat") else type(value).__name__


def show(value: Any) -> str:
    """Quote a value as an error message does: short, tables and arrays elided.

    Parameters
    ----------
    value : object
        The value.

    Returns
    -------
    str
        At most 60 characters.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Mapping):
        return "{...}"
    if isinstance(value, list | tuple):
        return "[...]"
    text = (
        repr(value)
        if isinstance(value, str)
        else toml_value(value)
        if isinstance(value, bool)
        else str(value)
    )
    return text if len(text) <= 60 else text[:57] + "..."
