"""Exporting a run or ensemble directory's tables as CSV files or one Excel workbook.

The tables keep the names they have in the Parquet files, units and all (``volume_t``,
``cost_usd_per_t``, ``time_days``): the export reads like the API. Beside them:

- ``summary``: the headline indicators of ``summary.json``, one row each (``indicator``,
  ``key``, ``value``, ``unit``); for an ensemble, the last year's quantiles of volume;
- ``columns``: every column of every table with its unit (:func:`column_unit`);
- ``about``: where the directory came from (its manifest, or its metadata), one key a row.

The edges table gains the links' names and corridors (from the run's metadata) beside
their numbers.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from corridors.atomic import write_bytes_atomic, write_dir_atomic
from corridors.errors import CorridorsError
from corridors.results.ensemble import ENSEMBLE_TABLES
from corridors.results.run import EXPLAIN_TABLES, TABLES

__all__ = ["EXPORT_FORMATS", "column_unit", "export_run", "export_tables"]

EXPORT_FORMATS = ("csv", "xlsx")

# The unit a column's name ends in, longest first (units in column names: data/units.toml).
_SUFFIX_UNITS = (
    ("_usd_per_t_day", "USD per tonne per day"),
    ("_usd_per_feu", "USD per FEU (40-foot container)"),
    ("_usd_per_t", "USD per tonne"),
    ("_t_per_quarter", "tonnes per quarter"),
    ("_days", "days"),
    ("_teu", "TEU (20-foot containers) per year"),
    ("_km", "km"),
    ("_t", "tonnes"),
    ("_h", "hours"),
    ("_factor", "factor (1 = unchanged)"),
    ("_share", "fraction (0-1)"),
)
_NAMED_UNITS = {
    "step": "quarter since 2019Q1 (0 = 2019Q1)",
    "year": "year",
    "first_year": "year",
    "last_year": "year",
    "quarter": "quarter of the year (1-4)",
    "share": "fraction (0-1)",
    "open_share": "fraction (0-1)",
    "utilisation": "fraction of capacity (flow / capacity)",
    "load_ratio": "ratio (demand on the link / capacity)",
    "caspian_vessels": "vessels",
    "cape_detour_days": "days",
    "middle_overtakes_russian_year": "year",
    "russian_dependence": "fraction (0-1)",
    "herfindahl": "index (0-1)",
    "run": "run number",
    "point": "design point",
    "replicate": "replicate number",
    "mu": "elementary effect (outcome's unit)",
    "mu_star": "mean |elementary effect| (outcome's unit)",
    "mu_star_conf": "95% confidence half-width of mu_star",
    "sigma": "standard deviation of the elementary effects",
    "S1": "first-order Sobol' index (fraction of variance)",
    "S1_conf": "95% confidence half-width of S1",
    "ST": "total Sobol' index (fraction of variance)",
    "ST_conf": "95% confidence half-width of ST",
}


def column_unit(name: str) -> str:
    """Return the unit of a column, read from its name.

    Parameters
    ----------
    name : str
        A column of a result table (``volume_t``, ``cost_usd_per_t``, ``fee_factor_AZ``).

    Returns
    -------
    str
        The unit (``"USD per tonne"``), or ``""`` for a text column or one without a unit.

    Examples
    --------
    >>> column_unit("cost_usd_per_t"), column_unit("share"), column_unit("fee_factor_AZ")
    ('USD per tonne', 'fraction (0-1)', 'factor (1 = unchanged)')
    """
    name = name.removesuffix("_last_year")
    if name in _NAMED_UNITS:
        return _NAMED_UNITS[name]
    for prefix in ("russian_dependence_", "herfindahl_"):
        if name.startswith(prefix):
            return _NAMED_UNITS[prefix[:-1]]
    stem = name
    for suffix in ("_KZ", "_KG", "_TJ", "_TM", "_UZ", "_AZ", "_GE", "_TR"):
        stem = stem.removesuffix(suffix)
    if stem.startswith(("port_fee_factor", "fee_factor", "border_factor", "russia_tariff_factor")):
        return "factor (1 = unchanged)"
    for suffix, unit in _SUFFIX_UNITS:
        if stem.endswith(suffix):
            return unit
    return ""


def _unit(column: str, per_step: bool) -> str:
    """:func:`column_unit`, with the period of tonnes: a quarter in per-step tables, else a year."""
    unit = column_unit(column)
    if unit == "tonnes":
        return "tonnes per quarter" if per_step else "tonnes per year"
    return unit


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CorridorsError(path, None, f"cannot read it: {exc}") from None


def _flatten(value: Any, key: str = "") -> list[tuple[str, Any]]:
    """Nested dicts and lists as (dotted key, scalar) rows, lists of scalars as JSON text."""
    if isinstance(value, Mapping):
        return [row for k, v in value.items() for row in _flatten(v, f"{key}.{k}" if key else str(k))]
    if isinstance(value, list | tuple):
        return [(key, json.dumps(value))]
    return [(key, value)]


def _summary_rows(summary: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for indicator, value in summary.items():
        items = value.items() if isinstance(value, Mapping) else [("", value)]
        for key, v in items:
            rows.append((indicator, key, v, _unit(indicator, per_step=False)))
    return pd.DataFrame(rows, columns=["indicator", "key", "value", "unit"])


def _about(path: Path, fallback: Mapping[str, Any]) -> pd.DataFrame:
    manifest = path / "manifest.json"
    meta = _read_json(manifest) if manifest.is_file() else fallback
    return pd.DataFrame(
        [(k, "" if v is None else str(v)) for k, v in _flatten(meta)], columns=["key", "value"]
    )


def _with_edge_names(edges: pd.DataFrame, meta: Mapping[str, Any]) -> pd.DataFrame:
    names, corridors = meta.get("edge_names"), meta.get("edge_corridors")
    if not names or edges.empty:
        return edges
    out = edges.copy()
    at = out.columns.get_loc("edge") + 1
    out.insert(at, "edge_name", pd.Series(names, dtype=object).reindex(out["edge"]).to_numpy())
    if corridors:
        gateway = pd.Series(corridors, dtype=object).reindex(out["edge"]).to_numpy()
        out.insert(at + 1, "edge_corridor", [c or "feeder (shared)" for c in gateway])
    return out


def export_tables(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read a run or ensemble directory's tables for export, with ``summary``, ``columns`` and ``about``.

    Parameters
    ----------
    path : str or Path
        A run directory (``corridors run``) or an ensemble, sweep or sensitivity directory.

    Returns
    -------
    dict of str to pandas.DataFrame
        The tables by name, in the order of the export: ``summary``, the directory's tables
        (as saved, units in their column names; the edges table with ``edge_name`` and
        ``edge_corridor``), ``columns`` (table, column, unit) and ``about``.

    Raises
    ------
    CorridorsError
        ``path`` is missing, is not a run or ensemble directory, or a table or JSON file in
        it cannot be read (the message names the file).
    """
    path = Path(path)
    if not path.is_dir():
        raise CorridorsError(path, None, "no such directory (expected a run or ensemble directory)")
    ensemble = (path / "ensemble.json").is_file()
    if not ensemble and not (path / "meta.json").is_file():
        raise CorridorsError(
            path, None, "not a run directory (no meta.json) nor an ensemble one (no ensemble.json)"
        )
    meta = _read_json(path / ("ensemble.json" if ensemble else "meta.json"))
    names = (*ENSEMBLE_TABLES, "sensitivity") if ensemble else (*TABLES, *EXPLAIN_TABLES)
    tables: dict[str, pd.DataFrame] = {}
    for name in names:
        file = path / f"{name}.parquet"
        if not file.is_file():
            if name in (*EXPLAIN_TABLES, "sensitivity"):  # optional: older runs, unfinished analyses
                continue
            raise CorridorsError(file, None, "missing: the directory is incomplete")
        try:
            tables[name] = pd.read_parquet(file)
        except (OSError, ValueError) as exc:
            raise CorridorsError(file, None, f"cannot read it: {exc}") from None
    if "edges" in tables:
        tables["edges"] = _with_edge_names(tables["edges"], meta)
    if ensemble:
        summary = _ensemble_summary(tables["corridors"])
    else:
        summary = _summary_rows(_read_json(path / "summary.json"))
    columns = pd.DataFrame(
        [(t, c, _unit(c, "step" in frame.columns)) for t, frame in tables.items() for c in frame.columns],
        columns=["table", "column", "unit"],
    )
    return {"summary": summary, **tables, "columns": columns, "about": _about(path, meta)}


def _ensemble_summary(corridors: pd.DataFrame) -> pd.DataFrame:
    """Summarise the last year's volume by corridor over the runs: median, 5% and 95% quantiles (t/yr)."""
    if corridors.empty:
        return pd.DataFrame(columns=["year", "corridor", "runs"])
    last = corridors[corridors["year"] == corridors["year"].max()]
    g = last.groupby("corridor", sort=False)["volume_t"]
    out = g.quantile([0.05, 0.5, 0.95]).unstack()
    out.columns = ["volume_t_q0.05", "volume_t_median", "volume_t_q0.95"]
    out.insert(0, "runs", g.size())
    out.insert(0, "year", int(last["year"].iloc[0]))
    return out.reset_index()


def _cell(value: Any) -> Any:
    """Return a value as an Excel cell holds it: NaN empty, infinities as text (Excel has none)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    return value


def _xlsx_bytes(tables: Mapping[str, pd.DataFrame]) -> bytes:
    """One sheet per table, header frozen; openpyxl's write-only mode (several times quicker)."""
    from openpyxl import Workbook  # only for this export: not imported by the command's start-up

    book = Workbook(write_only=True)
    for name, frame in tables.items():
        sheet = book.create_sheet(name)
        sheet.freeze_panes = "A2"
        sheet.append(list(frame.columns))
        columns = [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame.columns]
        for row in zip(*columns, strict=True):
            sheet.append([_cell(v) for v in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def export_run(
    path: str | Path, out: str | Path, *, fmt: Literal["csv", "xlsx"], force: bool = False
) -> Path:
    """Write a run or ensemble directory's tables as CSV files or an Excel workbook, atomically.

    Parameters
    ----------
    path : str or Path
        The run or ensemble directory.
    out : str or Path
        ``fmt="csv"``: the directory to write, one ``<table>.csv`` per table of
        :func:`export_tables`; ``fmt="xlsx"``: the workbook (``.xlsx``), one sheet per table.
    fmt : {"csv", "xlsx"}
        The format.
    force : bool
        Replace an existing ``out``.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    CorridorsError
        An unknown ``fmt``, an ``out`` that does not fit it (an ``.xlsx`` workbook; a
        directory for CSV) or that exists (and not ``force``), or a bad ``path``
        (:func:`export_tables`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import corridors
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run = corridors.run(end_year=2020, seed=7).save(pathlib.Path(tmp) / "run")
    ...     out = export_run(run, pathlib.Path(tmp) / "run-csv", fmt="csv")
    ...     sorted(p.name for p in out.iterdir())[:3]
    ['about.csv', 'columns.csv', 'corridors.csv']
    """
    out = Path(out)
    if fmt not in EXPORT_FORMATS:
        raise CorridorsError(None, "format", f"must be csv or xlsx, got {fmt!r}")  # --format in the CLI
    if fmt == "xlsx" and out.suffix.lower() != ".xlsx":
        raise CorridorsError(None, "out", f"{out}: an Excel workbook must end in .xlsx")
    if fmt == "csv" and out.suffix.lower() in (".csv", ".xlsx", ".xls"):
        raise CorridorsError(None, "out", f"{out}: CSV export writes one file per table: give a directory")
    if out.exists() and not force:
        raise CorridorsError(None, "out", f"{out} already exists (use --force to replace it)")
    tables = export_tables(path)
    if fmt == "xlsx":
        write_bytes_atomic(out, _xlsx_bytes(tables))
        return out

    def fill(tmp: Path) -> None:
        for name, frame in tables.items():
            frame.to_csv(tmp / f"{name}.csv", index=False)

    return write_dir_atomic(out, fill, force=force)
