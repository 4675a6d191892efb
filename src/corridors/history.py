"""The observed history, 2019-2023: the series the model is calibrated to and plotted against.

``history.csv`` (packaged data) has one row per series and year: ``series, year, value,
unit, scope, source``. Series are named as the model's observables
(``corridors.results.OBSERVABLES``) so that a series and its modelled counterpart meet by
name. ``scope`` is the series' one definition, the same on every row of the series,
optionally followed by a bracketed ``[note: ...]`` about that row; ``source`` holds keys of
``SOURCES.md``.

Only 2019-2023 is observed history here: a later year is a :class:`DataError`, because
out-of-sample figures must never enter the calibration data.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from corridors.errors import DataError
from corridors.network import default_data_dir
from corridors.tables import Col, number, read_table, source_keys, text
from corridors.vocabulary import BASE_YEAR, LAST_OBSERVED_YEAR

__all__ = ["definition", "load_history", "observed"]

_NOTE = re.compile(r"\s*\[note:[^\]]*\]\s*$")


def _series_name(cell: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", cell):
        raise ValueError(f"{cell!r} is not a series name (lower case, digits and '_')")
    return cell


def _observed_year(cell: str) -> int:
    try:
        year = int(cell)
    except ValueError:
        raise ValueError(f"{cell!r} is not an integer year") from None
    if year > LAST_OBSERVED_YEAR:
        raise ValueError(
            f"{year} is after {LAST_OBSERVED_YEAR}: the observed history covers "
            f"{BASE_YEAR}-{LAST_OBSERVED_YEAR} only; out-of-sample figures must not enter the data"
        )
    if year < BASE_YEAR:
        raise ValueError(f"{year} is before {BASE_YEAR}, the model's first year")
    return year


HISTORY_COLUMNS = (
    Col("series", _series_name),
    Col("year", _observed_year),
    Col("value", number(0.0)),
    Col("unit", text),
    Col("scope", text),
    Col("source", text),
)


def definition(scope: str) -> str:
    """Return a row's scope without its trailing ``[note: ...]``: the series' definition."""
    return _NOTE.sub("", scope).strip()


def load_history(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Read and check ``history.csv``.

    Parameters
    ----------
    data_dir : path, optional
        A directory with ``history.csv`` and ``SOURCES.md``; default the packaged data.

    Returns
    -------
    pandas.DataFrame
        Columns ``series, year, value, unit, scope, source``, sorted by series and year.

    Raises
    ------
    DataError
        Naming the file, line and column of the first problem: a malformed cell, a year
        outside 2019-2023, a share above 1, a duplicate series-year, a unit or definition that
        changes within a series, or a source key that is not a heading of ``SOURCES.md``.
    """
    root = default_data_dir() if data_dir is None else Path(data_dir)
    path, sources_path = root / "history.csv", root / "SOURCES.md"
    keys = source_keys(sources_path)
    raw, lines = read_table(path, HISTORY_COLUMNS)
    first: dict[str, int] = {}  # series -> index of its first row
    seen: set[tuple[str, int]] = set()
    for i, line in enumerate(lines):
        series, year = raw["series"][i], raw["year"][i]
        if (series, year) in seen:
            raise DataError(path, f"line {line}, column year", f"duplicate {series} for {year}")
        seen.add((series, year))
        if raw["unit"][i] == "share" and raw["value"][i] > 1:
            raise DataError(
                path, f"line {line}, column value", f"a share must be <= 1, got {raw['value'][i]}"
            )
        j = first.setdefault(series, i)
        if raw["unit"][i] != raw["unit"][j]:
            raise DataError(
                path,
                f"line {line}, column unit",
                f"{series} is in {raw['unit'][j]!r} on line {lines[j]}, here {raw['unit'][i]!r}: one unit per series",
            )
        if definition(raw["scope"][i]) != definition(raw["scope"][j]):
            raise DataError(
                path,
                f"line {line}, column scope",
                f"{series} is defined differently on line {lines[j]}: one definition per series "
                "(row notes go in a trailing '[note: ...]')",
            )
        cited = [k.strip() for k in raw["source"][i].split(";") if k.strip()]
        unknown = [k for k in cited if k not in keys]
        if unknown or not cited:
            raise DataError(
                path,
                f"line {line}, column source",
                f"{unknown or 'no key'} not found as headings in {sources_path}",
            )
    out = pd.DataFrame(raw)
    return out.sort_values(["series", "year"], kind="stable").reset_index(drop=True)


def observed(history: pd.DataFrame, series: str) -> pd.Series:
    """One observed series from :func:`load_history`, indexed by year (empty if absent)."""
    rows = history[history["series"] == series]
    out = pd.Series(rows["value"].to_numpy(float), index=rows["year"].to_numpy(int), name=series)
    out.index.name = "year"
    return out
