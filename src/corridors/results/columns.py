"""Building and reading the result tables' columns.

Text columns from few values, masks, sums by year and by group that reproduce numpy and
pandas to the bit, JSON of the metadata.
"""

from __future__ import annotations

import functools
import io
import json
import threading
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from corridors.vocabulary import CORRIDORS, step_year

if TYPE_CHECKING:
    from collections.abc import Mapping


FORMAT_VERSION = 5  # of a saved run or ensemble directory (3: meta "observed_edges"; 4: costs, refusals; 5: link_corridors)
KEY_COLUMNS = ("country", "commodity", "market", "direction")  # of the countries table, before the corridor
TEXT_DTYPE = pd.Series(["text"]).dtype  # of a column of Python strings: "str" with pandas 3

_MASKS: dict[tuple[int, str], tuple[weakref.ref, np.ndarray]] = {}
_MASKS_SIZE = 64
_MASKS_LOCK = threading.Lock()


def _nan_to_num(x: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(x)`` (NaN to 0, infinities to the largest numbers), quicker without infinities."""
    return np.nan_to_num(x) if np.isinf(x).any() else np.where(np.isnan(x), 0.0, x)


def _frame(step: np.ndarray) -> dict[str, np.ndarray]:
    return {"step": step, "year": step_year(step), "quarter": step % 4 + 1}


class _Columns:
    """The columns of a table as arrays, each read once, and masks of its text columns' values."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table
        self._arrays: dict[str, np.ndarray] = {}
        self._equal: dict[tuple[str, str], np.ndarray] = {}

    def array(self, name: str) -> np.ndarray:
        """``table[name].to_numpy()``."""
        if name not in self._arrays:
            self._arrays[name] = self.table[name].to_numpy()
        return self._arrays[name]

    def equal(self, **values: str) -> np.ndarray:
        """Return the rows where each named text column holds its value (read-only).

        That is, ``(table[a] == x) & (table[b] == y) & ...``.
        """
        mask = None
        for column, value in values.items():
            key = (column, value)
            if key not in self._equal:
                self._equal[key] = _text_equal(self.table[column], value)
            mask = self._equal[key] if mask is None else mask & self._equal[key]
        return mask if mask is not None else np.ones(len(self.table), dtype=bool)


def _text_equal(column: pd.Series, value: str) -> np.ndarray:
    """``(column == value).to_numpy()``, read-only.

    An Arrow-backed column is compared by Arrow (a null, a missing value, is not equal,
    as pandas' NaN), and the mask kept for its Arrow array while that lives: Arrow arrays
    are immutable, and the runs of one shape share their text columns (see
    :func:`_tiled_text`), so the runs of an ensemble compare each once.
    """
    dtype = column.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        mask = (column == value).to_numpy(dtype=bool, na_value=False)
        mask.flags.writeable = False
        return mask
    chunks = column.array.__arrow_array__()
    key = (id(chunks), value)
    kept = _MASKS.get(key)
    if kept is not None and kept[0]() is chunks:
        return kept[1]
    mask = _bool_array(pc.fill_null(pc.equal(chunks, pa.scalar(value, chunks.type)), False))
    mask.flags.writeable = False
    with _MASKS_LOCK:
        while len(_MASKS) >= _MASKS_SIZE:
            del _MASKS[next(iter(_MASKS))]
        _MASKS[key] = (weakref.ref(chunks), mask)
    return mask


def _bool_array(mask: pa.ChunkedArray) -> np.ndarray:
    """Convert an Arrow boolean array without nulls to NumPy, its bits unpacked (faster than ``to_numpy``)."""
    parts = [np.zeros(0, dtype=bool)]
    for chunk in mask.chunks:
        if len(chunk):
            bits = np.frombuffer(chunk.buffers()[1], dtype=np.uint8)
            flags = np.unpackbits(bits, count=chunk.offset + len(chunk), bitorder="little")
            parts.append(flags[chunk.offset :].view(bool))
    return parts[-1] if len(parts) == 2 else np.concatenate(parts)


def _year_sums(year: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.Series(values).groupby(year).sum()`` as arrays (its years, its sums), the same numbers.

    pandas (3.1) adds the rows of each year with ``np.add.reduceat`` when the years are
    sorted and no value is NaN, as here; otherwise (Kahan summation, NaN skipped) pandas
    adds them.
    """
    if not len(year):
        return year, values
    if (
        values.dtype.kind == "f"
        and _pandas_reduceat()
        and not np.isnan(values).any()
        and (year[1:] >= year[:-1]).all()
    ):
        starts = np.flatnonzero(year[1:] != year[:-1]) + 1
        starts = np.concatenate([np.zeros(1, dtype=starts.dtype), starts])
        return year[starts], np.add.reduceat(values, starts)
    s = pd.Series(values).groupby(year).sum()
    return s.index.to_numpy(), s.to_numpy()


@functools.cache
def _pandas_reduceat() -> bool:
    """Return whether pandas' groupby adds sorted groups without NaN with ``np.add.reduceat``.

    It does with pandas 3.1, earlier versions with Kahan summation; asked once, of numbers
    the two add differently.
    """
    values = np.random.default_rng(0).standard_normal(64) * 10.0 ** np.tile(np.arange(-8, 8), 4)
    sums = np.add.reduceat(values, np.arange(0, 64, 16))
    with np.errstate(invalid="ignore"):
        kahan = _kahan(values.reshape(4, 16).T, skipna=True)[0]
    by_pandas = pd.Series(values).groupby(np.repeat(np.arange(4), 16)).sum().to_numpy()
    return bool(np.array_equal(by_pandas, sums) and not np.array_equal(sums, kahan))


def _on_years(year: np.ndarray, values: np.ndarray, years: np.ndarray, fill: float) -> np.ndarray:
    """``pd.Series(values, index=year).reindex(years, fill_value=fill)`` for sorted distinct ``year``."""
    out = np.full(len(years), fill)
    if len(year) and len(years):
        pos = np.searchsorted(year, years).clip(max=len(year) - 1)
        hit = year[pos] == years
        out[hit] = values[pos[hit]]
    return out


def _country_keys(shippers: Mapping[str, list[str]]) -> tuple[dict[str, list[str]], np.ndarray]:
    """Return the keys of the country table and the key of each shipper.

    Returns
    -------
    keys : dict
        ``country``, ``commodity``, ``market`` (the foreign end: the origin of an import)
        and ``direction`` of each distinct key, in order of first appearance.
    group : numpy.ndarray
        The number of each shipper's key.
    """
    number: dict[tuple[str, ...], int] = {}
    rows = zip(
        shippers["country"],
        shippers["commodity"],
        shippers["origin"],
        shippers["market"],
        shippers["direction"],
        strict=True,
    )
    group = np.array(
        [
            number.setdefault(
                (country, commodity, origin if direction == "import" else market, direction), len(number)
            )
            for country, commodity, origin, market, direction in rows
        ],
        dtype=np.int64,
    )
    keys = {c: [k[i] for k in number] for i, c in enumerate(KEY_COLUMNS)}
    return keys, group


def _group_sums(group: np.ndarray, n_groups: int, *values: np.ndarray) -> list[np.ndarray]:
    """Add ``(T, S, K)`` arrays over the shippers of each group: ``(T, G, K)`` arrays.

    The first shipper of each group is taken, then the second of the groups that have
    one is added, and so on: each group's shippers are added in their order, as
    ``np.add.at`` adds them, so the sums are the same to the bit.
    """
    order = np.argsort(group, kind="stable")
    first = np.searchsorted(group[order], np.arange(n_groups))
    size = np.diff(np.append(first, len(group)))
    out = []
    for v in values:
        total = v.take(order[first], axis=1)
        for j in range(1, int(size.max(initial=1))):
            more = size > j
            total[:, more] += v[:, order[first[more] + j]]
        out.append(total)
    return out


def _country_table(
    steps: np.ndarray, keys: dict[str, list[str]], agg: np.ndarray, days: np.ndarray
) -> pd.DataFrame:
    """Per-step volumes by country, commodity, foreign market, direction and corridor.

    ``agg`` holds the tonnes and ``days`` the tonne-days of each step, key and corridor
    (``(T, G, K)``). ``time_days`` is the volume-weighted experienced transit time (NaN
    where nothing moves).
    """
    T, G, K = agg.shape
    tot = agg.sum(axis=2, keepdims=True)
    share = np.divide(agg, tot, out=np.zeros_like(agg), where=tot > 0)
    days = np.divide(days, agg, out=np.full_like(agg, np.nan), where=agg > 0)
    return _table(
        steps,
        G * K,
        {
            **{c: _tiled_text(keys[c], T, inner=K) for c in KEY_COLUMNS},
            "corridor": _tiled_text(CORRIDORS, T * G),
            "volume_t": agg.ravel(),
            "share": share.ravel(),
            "time_days": days.ravel(),
        },
    )


def _table(steps: np.ndarray, n: int, columns: dict[str, Any]) -> pd.DataFrame:
    """Return a long table of ``n`` rows a step: step, year, quarter, then ``columns``.

    The columns are not copied: each must be an array nothing else will write.
    """
    return pd.DataFrame({**{c: np.repeat(v, n) for c, v in _frame(steps).items()}, **columns}, copy=False)


def _tiled_text(values: Any, reps: int, inner: int = 1) -> Any:
    """``np.tile(np.repeat(values, inner), reps)`` as a text column.

    Its dtype is the one pandas gives a column of Python strings. The column depends only
    on the shape of a run (corridors, shippers, steps), which repeats from run to run, so
    it is built once (:func:`_text_column`) and shared: Arrow arrays are immutable, and each
    table gets its own (shallow) copy. Without pandas' Arrow-backed ``str`` dtype, and for
    no rows or values other than strings, it is the object array pandas converts itself.
    """
    values = tuple(values)
    if (
        getattr(TEXT_DTYPE, "storage", None) != "pyarrow"
        or not (values and reps and inner)
        or not all(isinstance(v, str) for v in values)
    ):
        return np.tile(np.repeat(np.array(values, dtype=object), inner), reps)
    return _text_column(values, reps, inner).copy()


@functools.lru_cache(maxsize=32)
def _text_column(values: tuple[str, ...], reps: int, inner: int) -> Any:
    """Assemble the Arrow-backed column of :func:`_tiled_text` from the bytes of its values.

    The offsets and data buffers are built from the few distinct values, much faster than
    converting an object array of Python strings.
    """
    encoded = [v.encode() for v in values]
    size = np.repeat([len(b) for b in encoded], inner)
    start = np.zeros(len(size) + 1, dtype=np.int64)  # of each value in the bytes of one period
    np.cumsum(size, out=start[1:])
    offsets = np.empty(len(size) * reps + 1, dtype=np.int64)
    np.add((np.arange(reps) * start[-1])[:, None], start[:-1], out=offsets[:-1].reshape(reps, len(size)))
    offsets[-1] = start[-1] * reps
    data = b"".join(b * inner for b in encoded) * reps
    arrow = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))
    return pd.array(arrow, dtype=TEXT_DTYPE)


def _kahan(values: np.ndarray, *, skipna: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Add along the first axis, and count, as pandas' groupby sum and mean add.

    pandas compensates the sums of a groupby (Kahan summation, NaN skipped) unless the
    groups are sorted. Adding the same numbers in the same order the same way,
    :func:`_summary` gives the numbers of :meth:`Results.indicators` to the bit.

    Parameters
    ----------
    values : numpy.ndarray
        The numbers to add, along the first axis (finite unless ``skipna``).
    skipna : bool
        Skip NaN, and count the numbers added.

    Returns
    -------
    total, count : numpy.ndarray
        The sums and the numbers added (counted only with ``skipna``).
    """
    total, comp, y, t = (np.zeros(values.shape[1:]) for _ in range(4))
    count = np.zeros(values.shape[1:], dtype=np.int64)
    for v in values:
        np.subtract(v, comp, out=y)
        np.add(total, y, out=t)
        if skipna:
            ok = ~np.isnan(v)
            count += ok
            c = (t - total) - y
            comp = np.where(ok, np.where(np.isnan(c), 0.0, c), comp)  # NaN after an infinity
            total = np.where(ok, t, total)
        else:
            np.subtract(t, total, out=comp)
            comp -= y
            total, t = t, total
    return total, count


def _kahan_sum(values: list[float]) -> float:
    """:func:`_kahan` of one sequence of finite numbers, in Python (quicker for a long one)."""
    total = comp = 0.0
    for v in values:
        y = v - comp
        t = total + y
        comp = (t - total) - y
        total = t
    return total


def _corridor_order(col: pd.Series) -> pd.Series:
    return col.map({c: i for i, c in enumerate(CORRIDORS)}) if col.name == "corridor" else col


def _strict_json(value: Any) -> str:
    """JSON that any parser reads: NaN and infinities become null."""
    return json.dumps(_finite(value), indent=2, default=_json_default, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer | np.floating):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


# ----------------------------------------------------------------------- ensembles


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Return a table as the bytes of a Parquet file (no index), for atomic writes."""
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()
