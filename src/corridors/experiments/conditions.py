"""The conditions of scenario discovery: ``middle_corridor_t[2030] > 8e6 and russian_share[2030] < 0.33``.

A condition compares series of a run in given years with numbers, ``SERIES[YEAR] OP NUMBER``
with ``OP`` one of ``<``, ``<=``, ``>``, ``>=``, joined by ``and`` and ``or`` (``and`` binds
tighter) and grouped by parentheses. :func:`parse_condition` reads one (a small recursive
descent parser: nothing is evaluated as Python); :func:`check_condition` checks its series and
years against what the runs recorded; :func:`evaluate` says, run by run, whether it holds.

The runs' series are a table with one row per run and one column per (series, year), as
:func:`corridors.experiments.discovery.run_series` builds it from an ensemble. A comparison
with a missing value (NaN: a time in a year when nothing moved) is false.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from corridors.errors import CorridorsError

__all__ = [
    "Comparison",
    "Condition",
    "Junction",
    "check_condition",
    "comparisons",
    "evaluate",
    "parse_condition",
]

OPERATORS = ("<=", ">=", "<", ">")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><=|>=|==|!=|=|<|>)
      | (?P<punct>[\[\]()])
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Comparison:
    """One comparison, ``series[year] op value``.

    Parameters
    ----------
    series : str
        The name of a series the runs record (an observable, or ``<corridor>_<variable>``).
    year : int
        The year compared.
    op : str
        One of ``<``, ``<=``, ``>``, ``>=``.
    value : float
        The number compared with.
    number : str
        The number as written (``8e6``), to write the comparison back; ``value`` if empty.
    """

    series: str
    year: int
    op: str
    value: float
    number: str = field(default="", compare=False)

    def __str__(self) -> str:
        """Write it back as the condition language does."""
        return f"{self.series}[{self.year}] {self.op} {self.number or format(self.value, 'g')}"


@dataclass(frozen=True)
class Junction:
    """Conditions joined by ``and`` or ``or``.

    Parameters
    ----------
    op : str
        ``"and"`` or ``"or"``.
    parts : tuple of Condition
        Two or more conditions.
    """

    op: str
    parts: tuple[Condition, ...]

    def __str__(self) -> str:
        """Write it back, parenthesising the junctions inside it."""
        return f" {self.op} ".join(f"({p})" if isinstance(p, Junction) else str(p) for p in self.parts)


Condition = Comparison | Junction


def _error(text: str, reason: str) -> CorridorsError:
    return CorridorsError(None, "where", f"{text!r}: {reason}")


def _tokens(text: str) -> list[tuple[str, str]]:
    """Split a condition into (kind, text) tokens; a character of no token is an error."""
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:  # trailing blanks
            continue
        token = m.group(kind)
        if kind == "bad":
            raise _error(text, f"unexpected character {token!r}")
        if kind == "op" and token not in OPERATORS:
            raise _error(text, f"unknown comparison {token!r}; use one of {', '.join(OPERATORS)}")
        if kind == "name" and token in ("and", "or"):
            kind = token
        out.append((kind, token))
    return out


class _Parser:
    """Recursive descent over the tokens: or_expr := and_expr ('or' and_expr)*, and so on."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, what: str, text: str | None = None) -> str:
        """Consume the next token if it is of this kind (and this text); else say what was expected."""
        token = self.peek()
        if token is None or token[0] != kind or (text is not None and token[1] != text):
            found = "the end" if token is None else repr(token[1])
            raise _error(self.text, f"expected {what}, found {found}")
        self.i += 1
        return token[1]

    def parse(self) -> Condition:
        if not self.tokens:
            raise _error(self.text, "empty condition; e.g. 'middle_corridor_t[2030] > 8e6'")
        cond = self.junction("or")
        if self.peek() is not None:
            raise _error(self.text, f"expected 'and', 'or' or the end, found {self.peek()[1]!r}")
        return cond

    def junction(self, op: str) -> Condition:
        part = self.junction("and") if op == "or" else self.factor()
        parts = [part]
        while self.peek() is not None and self.peek()[0] == op:
            self.i += 1
            parts.append(self.junction("and") if op == "or" else self.factor())
        return parts[0] if len(parts) == 1 else Junction(op, tuple(parts))

    def factor(self) -> Condition:
        token = self.peek()
        if token is not None and token[1] == "(":
            self.i += 1
            cond = self.junction("or")
            self.take("punct", "')'", ")")
            return cond
        series = self.take("name", "a series name such as middle_corridor_t")
        self.take("punct", f"'[' and a year after {series}", "[")
        year_text = self.take("number", f"a year in {series}[...]")
        if not re.fullmatch(r"\d{4}", year_text):
            raise _error(self.text, f"{series}[{year_text}]: the year must be a whole year such as 2030")
        self.take("punct", f"']' after {series}[{year_text}", "]")
        op = self.take("op", f"a comparison ({', '.join(OPERATORS)}) after {series}[{year_text}]")
        number = self.take("number", f"a number after {series}[{year_text}] {op}")
        value = float(number)
        if not math.isfinite(value):
            raise _error(self.text, f"{series}[{year_text}] {op}: the number must be finite")
        return Comparison(series, int(year_text), op, value, number.lstrip("+"))


def parse_condition(text: str) -> Condition:
    """Read a condition such as ``"middle_corridor_t[2030] > 8e6 and russian_share[2030] < 0.33"``.

    Parameters
    ----------
    text : str
        Comparisons ``SERIES[YEAR] OP NUMBER`` (``OP`` one of ``<``, ``<=``, ``>``, ``>=``),
        joined by ``and`` / ``or`` (``and`` first), with parentheses if needed.

    Returns
    -------
    Condition
        A :class:`Comparison`, or a :class:`Junction` of conditions.

    Raises
    ------
    corridors.errors.CorridorsError
        A malformed condition: the message (``where: ...``) quotes it and says what was
        expected where.

    Examples
    --------
    >>> str(parse_condition("middle_corridor_t[2030] > 8e6 or (russian_share[2030] < 0.33)"))
    'middle_corridor_t[2030] > 8e6 or russian_share[2030] < 0.33'
    """
    return _Parser(text).parse()


def comparisons(cond: Condition) -> list[Comparison]:
    """Return the comparisons of a condition, left to right.

    Parameters
    ----------
    cond : Condition
        A parsed condition.

    Returns
    -------
    list of Comparison
        Every comparison it holds.
    """
    if isinstance(cond, Comparison):
        return [cond]
    return [c for part in cond.parts for c in comparisons(part)]


def check_condition(cond: Condition, series: pd.DataFrame) -> None:
    """Check that the runs recorded every series and year a condition compares.

    Parameters
    ----------
    cond : Condition
        A parsed condition.
    series : pandas.DataFrame
        One row per run, columns ``(series, year)``.

    Raises
    ------
    corridors.errors.CorridorsError
        A series the runs do not record (the message lists those they do), or a year
        outside the runs (the message gives their first and last year).
    """
    names = list(dict.fromkeys(series.columns.get_level_values(0)))
    for c in comparisons(cond):
        if c.series not in names:
            raise CorridorsError(
                None, "where", f"unknown series {c.series!r}; the runs record: {', '.join(names)}"
            )
        years = sorted(series[c.series].columns)
        if c.year not in years:
            raise CorridorsError(
                None, "where", f"{c.series}[{c.year}]: the runs cover the years {years[0]}-{years[-1]}"
            )


def evaluate(cond: Condition, series: pd.DataFrame) -> np.ndarray:
    """Say, run by run, whether a condition holds.

    Parameters
    ----------
    cond : Condition
        A condition that :func:`check_condition` accepts for ``series``.
    series : pandas.DataFrame
        One row per run, columns ``(series, year)``.

    Returns
    -------
    numpy.ndarray of bool
        One per row of ``series``; a comparison with a missing value is false.
    """
    if isinstance(cond, Comparison):
        values = series[(cond.series, cond.year)].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            if cond.op == "<":
                return values < cond.value
            if cond.op == "<=":
                return values <= cond.value
            if cond.op == ">":
                return values > cond.value
            return values >= cond.value
    parts = [evaluate(p, series) for p in cond.parts]
    return np.logical_and.reduce(parts) if cond.op == "and" else np.logical_or.reduce(parts)
