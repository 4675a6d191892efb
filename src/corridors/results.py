"""Results of a run: long-format tables, indicators, observables; saving and loading.

Tables (pandas, long format, one row per step and key):

- ``corridors``: step, year, quarter, corridor, volume_t, demand_t, backlog_t, share,
  cost_usd_per_t, time_days, utilisation
- ``countries``: step, year, quarter, country, commodity, market, direction, corridor,
  volume_t, share
- ``edges``: step, year, quarter, edge, flow_t, load_t, capacity_t, utilisation, time_h,
  wait_days
- ``policy``: step, year, quarter and the agents' levers (tariff factors, subsidies, fleet)
- ``decisions``: the agents' discrete decisions (projects funded, pledges delivered)
"""

from __future__ import annotations

import functools
import io
import json
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from corridors.atomic import write_dir_atomic
from corridors.network import CORRIDORS

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from corridors.run_record import RunRecord

__all__ = ["OBSERVABLES", "EnsembleResults", "Results", "load_ensemble", "load_results"]

TABLES = ("corridors", "countries", "edges", "policy", "decisions", "pipelines")
FORMAT_VERSION = 2
KEY_COLUMNS = ("country", "commodity", "market", "direction")  # of the countries table, before the corridor
TEXT_DTYPE = pd.Series(["text"]).dtype  # of a column of Python strings: "str" with pandas 3


@dataclass(frozen=True)
class Observable:
    """A modelled counterpart of an observed series: its unit and scope."""

    name: str
    unit: str
    scope: str


OBSERVABLES: dict[str, Observable] = {
    o.name: o
    for o in (
        Observable("middle_corridor_t", "t/yr", "freight shipped across the Caspian from Aktau and Kuryk "
                   "(westbound), crude tankers included (KZ Ministry of Transport series)"),
        Observable("northern_transit_teu", "TEU/yr", "China-EU-China transit by the Russian corridor (1520 track), "
                   "tonnes / t_per_teu_loaded (ERAI definition)"),
        Observable("middle_kz_share", "share", "Kazakh exports by the Middle Corridor over the freight shipped "
                   "across the Caspian from Aktau and Kuryk (the scope of middle_corridor_t)"),
        Observable("middle_transit_days", "days", "China-to-Europe transit time on the Middle Corridor: "
                   "volume-weighted experienced time of westbound transit (NaN in a year when none moves)"),
        Observable("middle_teu", "TEU/yr", "containers shipped across the Caspian from and to Aktau and Kuryk, "
                   "both directions, tonnes / t_per_teu_loaded (the TITR count, the Turkmen route excluded)"),
    )
}  # fmt: skip


def _nan_to_num(x: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(x)`` (NaN to 0, infinities to the largest numbers), quicker without infinities."""
    return np.nan_to_num(x) if np.isinf(x).any() else np.where(np.isnan(x), 0.0, x)


def _frame(step: np.ndarray) -> dict[str, np.ndarray]:
    return {"step": step, "year": 2019 + step // 4, "quarter": step % 4 + 1}


@dataclass(eq=False)
class Results:
    """The outcome of one run (see the module docstring for the tables)."""

    corridors: pd.DataFrame
    countries: pd.DataFrame
    edges: pd.DataFrame
    policy: pd.DataFrame
    decisions: pd.DataFrame
    pipelines: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    # ---------------------------------------------------------------- building

    @classmethod
    def from_record(cls, record: RunRecord, *, meta: dict[str, Any] | None = None) -> Results:
        """Turn a run's record (what :meth:`corridors.model.CorridorModel.run` returns) into tables.

        The columns are built from the arrays directly (each text column from its few
        distinct values) and the summary from the same arrays by :func:`_summary`, which
        gives the numbers :meth:`indicators` computes from the tables (and which it
        computes when some volume is not finite).

        Parameters
        ----------
        record : RunRecord
            The recorded arrays and what they are indexed by.
        meta : dict, optional
            Added to the results' metadata (seed, scenario, ...).

        Returns
        -------
        Results
        """
        r = record.arrays
        T = record.n_steps
        K = len(CORRIDORS)
        served, backlog, offered = r["served"][:T], r["backlog"][:T], r["offered"][:T]
        steps = np.arange(T)
        vol = served.sum(axis=1)  # (T, K)
        total = vol.sum(axis=1, keepdims=True)
        # finite volumes: every tonne is finite, so none of the products below is NaN
        finite_volumes = bool(np.isfinite(vol).all())
        add = np.sum if finite_volumes else np.nansum
        usd = _nan_to_num(r["money"][:T])
        usd *= served
        tonne_days = _nan_to_num(r["time"][:T])
        tonne_days *= served
        with np.errstate(invalid="ignore", divide="ignore"):
            money = add(usd, axis=1) / vol
            time = add(tonne_days, axis=1) / vol
            share = np.where(total > 0, vol / total, 0.0)
        util = np.zeros((T, K))
        pressure = np.zeros((T, K))
        load, cap, flow = r["edge_load"][:T], r["edge_capacity"][:T], r["edge_flow"][:T]
        gateway = record.gateway
        with np.errstate(invalid="ignore", divide="ignore"):
            finite = (cap > 0) & np.isfinite(cap)
            edge_util = np.where(finite, flow / cap, 0.0)
            edge_pressure = np.where(finite, load / cap, 0.0)
        for k in range(K):
            sel = (gateway == k) & record.hard
            if sel.any():
                util[:, k] = edge_util[:, sel].max(axis=1)
                pressure[:, k] = edge_pressure[:, sel].max(axis=1)
        backlog_t = backlog.sum(axis=1)
        corridors = _table(steps, K, {
            "corridor": _tiled_text(CORRIDORS, T),
            "volume_t": vol.ravel(),
            "demand_t": offered.sum(axis=1).ravel(),
            "backlog_t": backlog_t.ravel(),
            "share": share.ravel(),
            "cost_usd_per_t": money.ravel(),
            "time_days": time.ravel(),
            "utilisation": util.ravel(),
            "load_ratio": pressure.ravel(),
        })  # fmt: skip
        keys, group = _country_keys(record.shippers)
        agg, days = _group_sums(group, len(keys["country"]), served, tonne_days)
        countries = _country_table(steps, keys, agg, days)
        E = record.n_edges
        edges = _table(steps, E, {
            "edge": np.tile(np.arange(E), T),
            "flow_t": flow.ravel().copy(),
            "container_flow_t": r["edge_container_flow"][:T].ravel().copy(),
            "load_t": load.ravel().copy(),
            "capacity_t": cap.ravel().copy(),
            "utilisation": edge_util.ravel(),
            "load_ratio": edge_pressure.ravel(),
            "time_h": r["edge_time_h"][:T].ravel().copy(),
            "wait_days": r["edge_wait_days"][:T].ravel().copy(),
        })  # fmt: skip
        policy = pd.DataFrame(
            {**_frame(steps), **dict(zip(record.policy_columns, r["policy"][:T].T, strict=True))}
        )
        decisions = pd.DataFrame(record.decisions, columns=["step", "agent", "decision", "detail"])
        P = len(record.pipelines)
        pipelines = _table(steps, P, {
            "pipeline": _tiled_text(np.array(record.pipelines, dtype=object), T),
            "volume_t": r["pipeline"][:T].ravel().copy(),
        })  # fmt: skip
        shippers = record.shippers
        n_shippers = len(next(iter(shippers.values()), []))
        meta = {
            "format_version": FORMAT_VERSION,
            "end_year": record.end_year,
            "stochastic": record.stochastic,
            "t_per_teu": record.t_per_teu,
            "middle_caspian_edges": list(record.middle_caspian_edges),
            "kz_caspian_edges": list(record.kz_caspian_edges),
            "shippers": {"index": list(range(n_shippers)), **{c: list(v) for c, v in shippers.items()}},
            **(meta or {}),
        }
        res = cls(corridors, countries, edges, policy, decisions, pipelines, meta)
        res.summary = _finite(
            _summary(vol, backlog_t, time, keys, agg) if finite_volumes else res.indicators()
        )
        return res

    def trimmed(self, report_from: int) -> Results:
        """The same run reported from ``report_from`` (every run starts in 2019)."""
        if report_from <= 2019:
            return self
        keep = {name: getattr(self, name) for name in TABLES if name != "decisions"}
        keep = {name: t[t["year"] >= report_from].reset_index(drop=True) for name, t in keep.items()}
        first_step = (report_from - 2019) * 4
        decisions = self.decisions[self.decisions["step"] >= first_step].reset_index(drop=True)
        res = Results(**keep, decisions=decisions, meta={**self.meta, "report_from": report_from})
        res.summary = _finite(res.indicators())
        return res

    # ---------------------------------------------------------------- views

    def annual_volumes(self) -> pd.DataFrame:
        """Tonnes per year by corridor: year, corridor, volume_t."""
        out = self.corridors.groupby(["year", "corridor"], sort=False, as_index=False)["volume_t"].sum()
        return out.sort_values(["year", "corridor"], key=_corridor_order).reset_index(drop=True)

    def annual_shares(self) -> pd.DataFrame:
        """Share of each corridor in each year's volume: year, corridor, share."""
        vol = self.annual_volumes()
        vol["share"] = vol["volume_t"] / vol.groupby("year")["volume_t"].transform("sum")
        return vol[["year", "corridor", "share"]]

    def observable(self, name: str) -> pd.Series:
        """The modelled counterpart of an observed series, by year (see :data:`OBSERVABLES`)."""
        if name not in OBSERVABLES:
            raise KeyError(f"observable: {name!r} is not one of {', '.join(OBSERVABLES)}")
        years, values = self._observable_values((name,))
        return pd.Series(values[name], index=pd.Index(years, name="year"), name=name)

    def _observable_values(self, names: Iterable[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The observables ``names`` as arrays: the years (those of the corridors table) and
        each observable's values in those years.

        Each observable is the pandas computation it describes (filter the countries or
        edges table, add the rows of each year, divide), done with NumPy masks and
        :func:`_year_sums`, which adds the rows of each year as pandas' groupby does: the
        numbers are the same to the bit. The masks and columns shared by several
        observables are computed once.
        """
        t_per_teu = self.meta["t_per_teu"]
        countries, edges = _Columns(self.countries), _Columns(self.edges)
        years = np.unique(self.corridors["year"].to_numpy())
        out: dict[str, np.ndarray] = {}

        def by_year(table: _Columns, mask: np.ndarray, column: str) -> tuple[np.ndarray, np.ndarray]:
            return _year_sums(table.array("year")[mask], table.array(column)[mask])

        def across_caspian() -> np.ndarray:
            if "middle_corridor_t" not in out:
                on = np.isin(edges.array("edge"), self.meta["middle_caspian_edges"])
                out["middle_corridor_t"] = _on_years(*by_year(edges, on, "flow_t"), years, 0.0)
            return out["middle_corridor_t"]

        for name in names:
            if name in out:
                continue
            if name == "middle_corridor_t":
                across_caspian()
            elif name == "northern_transit_teu":
                on = countries.equal(direction="transit", corridor="russian")
                y, tonnes = by_year(countries, on, "volume_t")
                out[name] = _on_years(y, tonnes / t_per_teu, years, 0.0)
            elif name == "middle_kz_share":
                on = countries.equal(corridor="middle", country="KZ", direction="export")
                kz = _on_years(*by_year(countries, on, "volume_t"), years, 0.0)
                across = across_caspian()
                with np.errstate(invalid="ignore", divide="ignore"):
                    s = kz / np.where(across > 0, across, np.nan)
                s = np.where(s > 1.0, 1.0, s)  # Series.clip(upper=1.0): NaN stays NaN
                out[name] = np.where(np.isnan(s), 0.0, s)
            elif name == "middle_transit_days":
                on = countries.equal(direction="transit", corridor="middle", market="market_eu")
                year, w = countries.array("year")[on], countries.array("volume_t")[on]
                days = countries.array("time_days")[on]
                with np.errstate(invalid="ignore", divide="ignore"):
                    y, tonne_days = _year_sums(year, np.where(np.isnan(days), 0.0, days) * w)
                    s = tonne_days / _year_sums(year, w)[1]
                out[name] = _on_years(y, np.where(np.isfinite(s), s, np.nan), years, np.nan)
            elif name == "middle_teu":
                if "container_flow_t" not in self.edges or "kz_caspian_edges" not in self.meta:
                    raise KeyError(
                        "observable: middle_teu needs the edges table's container_flow_t (results format 2 or later)"
                    )
                on = np.isin(edges.array("edge"), self.meta["kz_caspian_edges"])
                y, tonnes = by_year(edges, on, "container_flow_t")
                out[name] = _on_years(y, tonnes / t_per_teu, years, 0.0)
            else:
                raise KeyError(f"observable: {name!r} is not one of {', '.join(OBSERVABLES)}")
        return years, {name: out[name] for name in names}

    def indicators(self) -> dict[str, Any]:
        """Headline indicators (pipelines excluded from every share)."""
        c = self.countries
        years = sorted(c["year"].unique())
        last = years[-1]
        annual = self.annual_volumes()
        by_year = annual.pivot(index="year", columns="corridor", values="volume_t")
        out: dict[str, Any] = {
            "first_year": int(years[0]),
            "last_year": int(last),
            "volume_t_last_year": {k: float(v) for k, v in by_year.loc[last].items()},
            "share_last_year": {
                k: float(v) for k, v in (by_year.loc[last] / by_year.loc[last].sum()).items()
            },
        }
        overtakes = by_year.index[by_year["middle"] > by_year["russian"]]
        out["middle_overtakes_russian_year"] = int(overtakes[0]) if len(overtakes) else None
        own = c[(c["year"] == last) & c["country"].isin(("KZ", "KG", "TJ", "TM", "UZ"))]
        g = own.groupby(["country", "corridor"])["volume_t"].sum().unstack(fill_value=0.0)
        shares = g.div(g.sum(axis=1), axis=0)
        out["russian_dependence_last_year"] = {k: float(v) for k, v in shares.get("russian", 0.0).items()}
        out["herfindahl_last_year"] = {k: float(v) for k, v in (shares**2).sum(axis=1).items()}
        crit = c[(c["commodity"] == "critical_minerals") & (c["direction"] == "export")]
        west = crit[crit["market"] == "market_eu"].groupby("year")["volume_t"].sum()
        out["critical_minerals_to_west_t_last_year"] = float(west.get(last, 0.0))
        k = self.corridors[self.corridors["year"] == last]
        out["mean_time_days_last_year"] = {r.corridor: float(r.time_days) for r in
                                           k.groupby("corridor", as_index=False)["time_days"].mean().itertuples()}  # fmt: skip
        out["max_backlog_t"] = float(self.corridors["backlog_t"].max())
        return out

    # ---------------------------------------------------------------- disk

    def save(
        self, path: str | Path, *, extra_files: dict[str, bytes] | None = None, force: bool = False
    ) -> Path:
        """Write the run directory atomically: a temporary sibling, then a rename.

        Holds the tables as Parquet, ``summary.json`` and ``meta.json`` (no pickles), plus
        ``extra_files`` (name -> bytes). An existing directory is an error unless ``force``.
        """

        def fill(tmp: Path) -> None:
            for name in TABLES:
                getattr(self, name).to_parquet(tmp / f"{name}.parquet", index=False)
            (tmp / "summary.json").write_text(_strict_json(self.summary))
            (tmp / "meta.json").write_text(_strict_json(self.meta))
            for name, data in (extra_files or {}).items():
                (tmp / name).write_bytes(data)

        return write_dir_atomic(path, fill, force=force)


def load_results(path: str | Path) -> Results:
    """Read a run directory written by :meth:`Results.save`."""
    path = Path(path)
    if not (path / "meta.json").is_file():
        raise FileNotFoundError(f"{path}: not a run directory (no meta.json)")
    tables = {name: pd.read_parquet(path / f"{name}.parquet") for name in TABLES}
    meta = json.loads((path / "meta.json").read_text())
    summary = json.loads((path / "summary.json").read_text())
    return Results(**tables, meta=meta, summary=summary)


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
        """The rows where each named text column holds its value: ``(table[a] == x) & (table[b] == y) & ...``
        (read-only)."""
        mask = None
        for column, value in values.items():
            key = (column, value)
            if key not in self._equal:
                self._equal[key] = _text_equal(self.table[column], value)
            mask = self._equal[key] if mask is None else mask & self._equal[key]
        return mask if mask is not None else np.ones(len(self.table), dtype=bool)


_MASKS: dict[tuple[int, str], tuple[weakref.ref, np.ndarray]] = {}
_MASKS_SIZE = 64
_MASKS_LOCK = threading.Lock()


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
    """An Arrow boolean array without nulls as a NumPy one, its bits unpacked (quicker than ``to_numpy``)."""
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
    """Whether pandas' groupby adds sorted groups without NaN with ``np.add.reduceat``
    (pandas 3.1) rather than with Kahan summation (earlier versions), asked once of
    numbers the two add differently."""
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
    """The keys of the country table and the key of each shipper.

    Returns
    -------
    keys : dict
        ``country``, ``commodity``, ``market`` (the foreign end: the origin of an import)
        and ``direction`` of each distinct key, in order of first appearance.
    group : numpy.ndarray
        The number of each shipper's key.
    """
    number: dict[tuple[str, ...], int] = {}
    rows = zip(shippers["country"], shippers["commodity"], shippers["origin"], shippers["market"],
               shippers["direction"], strict=True)  # fmt: skip
    group = np.array([number.setdefault((country, commodity, origin if direction == "import" else market, direction),
                                        len(number)) for country, commodity, origin, market, direction in rows],
                     dtype=np.int64)  # fmt: skip
    keys = {c: [k[i] for k in number] for i, c in enumerate(KEY_COLUMNS)}
    return keys, group


def _group_sums(group: np.ndarray, n_groups: int, *values: np.ndarray) -> list[np.ndarray]:
    """Sums of ``(T, S, K)`` arrays over the shippers of each group: ``(T, G, K)`` arrays.

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
    return _table(steps, G * K, {
        **{c: _tiled_text(keys[c], T, inner=K) for c in KEY_COLUMNS},
        "corridor": _tiled_text(CORRIDORS, T * G),
        "volume_t": agg.ravel(),
        "share": share.ravel(),
        "time_days": days.ravel(),
    })  # fmt: skip


def _table(steps: np.ndarray, n: int, columns: dict[str, Any]) -> pd.DataFrame:
    """A long table of ``n`` rows a step: step, year, quarter, then ``columns``.

    The columns must be new arrays (they are not copied).
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
    """See :func:`_tiled_text`: an Arrow-backed column assembled from the bytes of the few
    distinct values (its offsets and data buffers), much faster than converting an object
    array of Python strings.
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
    """Sums and counts along the first axis, added as pandas' groupby sum and mean add.

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


def _summary(
    vol: np.ndarray, backlog: np.ndarray, time: np.ndarray, keys: dict[str, list[str]], agg: np.ndarray
) -> dict[str, Any]:
    """:meth:`Results.indicators` computed from the arrays behind the tables.

    Parameters
    ----------
    vol, backlog, time : numpy.ndarray
        ``volume_t``, ``backlog_t`` and ``time_days`` of the corridors table, ``(T, K)``.
    keys, agg : dict, numpy.ndarray
        The keys of the country table and its ``volume_t``, ``(T, G, K)``.

    Returns
    -------
    dict
        The same numbers, in the same order, as :meth:`Results.indicators` (to the bit
        with pandas 3.1, which adds the rows of a group with Kahan summation, or with
        ``np.add.reduceat`` when the groups are sorted; to rounding with other versions).
    """
    T, K = vol.shape
    Y = (T + 3) // 4
    years = 2019 + np.arange(Y)
    last = int(years[-1])
    first_of_last = 4 * (Y - 1)
    names = list(CORRIDORS)
    alpha = sorted(range(K), key=names.__getitem__)  # pandas sorts the corridors by name
    sorted_names = [names[k] for k in alpha]
    quarters = np.full((4 * Y, K), np.nan)  # (a short last year padded with NaN, skipped)
    quarters[:T] = vol
    by_year = _kahan(quarters.reshape(Y, 4, K).swapaxes(0, 1), skipna=True)[0][:, alpha]
    row = by_year[-1]
    out: dict[str, Any] = {
        "first_year": int(years[0]),
        "last_year": last,
        "volume_t_last_year": {k: float(v) for k, v in zip(sorted_names, row, strict=True)},
        "share_last_year": {k: float(v) for k, v in zip(sorted_names, row / row.sum(), strict=True)},
    }
    middle, russian = sorted_names.index("middle"), sorted_names.index("russian")
    overtakes = years[by_year[:, middle] > by_year[:, russian]]
    out["middle_overtakes_russian_year"] = int(overtakes[0]) if len(overtakes) else None
    # the last year's rows of the country table, step by step and key by key
    rows = agg[first_of_last:]
    country = np.array(keys["country"], dtype=object)
    own = sorted(set(keys["country"]) & {"KZ", "KG", "TJ", "TM", "UZ"})
    if own:
        # each country's rows in the order of the table (step by step, key by key)
        g = np.array([[_kahan_sum(x) for x in rows[:, country == c].reshape(-1, K).T.tolist()] for c in own])
        g = g[:, alpha]
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = g / g.sum(axis=1, keepdims=True)
        out["russian_dependence_last_year"] = {
            c: float(v) for c, v in zip(own, shares[:, russian], strict=True)
        }
        out["herfindahl_last_year"] = {c: float(v) for c, v in zip(own, (shares**2).sum(axis=1), strict=True)}
    else:
        out["russian_dependence_last_year"] = {}
        out["herfindahl_last_year"] = {}
    west = np.array([(c, m, d) == ("critical_minerals", "market_eu", "export") for c, m, d in
                     zip(keys["commodity"], keys["market"], keys["direction"], strict=True)])  # fmt: skip
    # one group of rows sorted by year: pandas adds them with np.add.reduceat
    out["critical_minerals_to_west_t_last_year"] = (
        float(np.add.reduceat(rows[:, west].reshape(-1), [0])[0]) if west.any() else 0.0
    )
    total, count = _kahan(time[first_of_last:], skipna=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    out["mean_time_days_last_year"] = {names[k]: float(mean[k]) for k in alpha}
    out["max_backlog_t"] = float(backlog.max())
    return out


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

ENSEMBLE_TABLES = ("corridors", "observables", "outcomes", "design")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(eq=False)
class EnsembleResults:
    """The outcome of many runs (an ensemble, a sweep, a sensitivity analysis).

    Tables, each with ``run`` and ``replicate`` columns and sorted by run:

    - ``corridors``: run, replicate, year, corridor, volume_t, share, cost_usd_per_t,
      time_days, utilisation, backlog_t (annual: sums of volumes, volume-weighted costs and
      times, mean utilisation and backlog)
    - ``observables``: run, replicate, year and one column per :data:`OBSERVABLES`
    - ``outcomes``: the ``design`` row of each finished run, then its scalar outcomes
    - ``design``: every planned run: run, point, replicate and its parameter values
    - ``failures``: run, replicate, error, message of the runs that raised
    """

    corridors: pd.DataFrame
    observables: pd.DataFrame
    outcomes: pd.DataFrame
    design: pd.DataFrame
    failures: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        """Number of finished runs."""
        return int(self.outcomes["run"].nunique())

    def annual_volumes(self) -> pd.DataFrame:
        """Tonnes per year by run and corridor: run, replicate, year, corridor, volume_t."""
        return self.corridors[["run", "replicate", "year", "corridor", "volume_t"]].reset_index(drop=True)

    def quantiles(self, variable: str = "volume_t", q: tuple[float, ...] = QUANTILES) -> pd.DataFrame:
        """Quantiles over runs of a corridor variable: year, corridor, then one column per q."""
        if variable not in self.corridors.columns or variable in ("run", "replicate", "year", "corridor"):
            raise KeyError(f"quantiles: {variable!r} is not a variable of the corridors table")
        g = self.corridors.groupby(["year", "corridor"], sort=False)[variable]
        out = g.quantile(list(q)).unstack()
        out.columns = [f"q{x:g}" for x in q]
        out = out.reset_index()
        return out.sort_values(["year", "corridor"], key=_corridor_order).reset_index(drop=True)

    def exceedance(self, a: str, b: str, variable: str = "volume_t") -> pd.DataFrame:
        """How likely corridor ``a`` carries more than ``b``, by year, over the runs.

        Columns: year, ``p_exceeds`` (share of runs where ``a > b`` that year) and
        ``p_overtaken_by`` (share of runs where ``a > b`` in that year or any earlier one).
        """
        known = set(self.corridors["corridor"])
        for name, c in (("a", a), ("b", b)):
            if c not in known:
                raise KeyError(
                    f"exceedance: {name}={c!r} is not a corridor; expected one of {', '.join(CORRIDORS)}"
                )
        wide = self.corridors.pivot_table(
            index=["run", "year"], columns="corridor", values=variable, aggfunc="first"
        )
        above = (wide[a] > wide[b]).unstack("year").sort_index(axis=1)
        ever = above.cummax(axis=1)
        return pd.DataFrame({
            "year": above.columns.astype("int64"),
            "p_exceeds": above.mean(axis=0).to_numpy(),
            "p_overtaken_by": ever.mean(axis=0).to_numpy(),
        })  # fmt: skip

    def files(self) -> dict[str, bytes]:
        """The merged tables as files (Parquet, JSON), by name."""
        out = {f"{name}.parquet": parquet_bytes(getattr(self, name)) for name in ENSEMBLE_TABLES}
        out["failures.json"] = _strict_json(self.failures.to_dict(orient="records")).encode()
        out["ensemble.json"] = _strict_json({"format_version": FORMAT_VERSION, **self.meta}).encode()
        return out

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the merged tables to a new directory atomically (no pickles)."""

        def fill(tmp: Path) -> None:
            for name, data in self.files().items():
                (tmp / name).write_bytes(data)

        return write_dir_atomic(path, fill, force=force)


def load_ensemble(path: str | Path) -> EnsembleResults:
    """Read the merged tables of an ensemble, sweep or sensitivity directory."""
    path = Path(path)
    if not (path / "ensemble.json").is_file():
        raise FileNotFoundError(f"{path}: not an ensemble directory (no ensemble.json; is it still running?)")
    tables = {name: pd.read_parquet(path / f"{name}.parquet") for name in ENSEMBLE_TABLES}
    failures = pd.DataFrame(json.loads((path / "failures.json").read_text()),
                            columns=["run", "replicate", "error", "message"])  # fmt: skip
    meta = json.loads((path / "ensemble.json").read_text())
    return EnsembleResults(**tables, failures=failures, meta=meta)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """A table as the bytes of a Parquet file (no index), for atomic writes."""
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()
