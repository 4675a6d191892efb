"""The results of one run: its tables, observables, indicators and summary; saving and loading."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridors.atomic import write_dir_atomic
from corridors.observables import OBSERVABLES, Observable
from corridors.run_record import YEAR_ARRAY
from corridors.vocabulary import BASE_YEAR, C5, CORRIDORS

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from corridors.results.explain import Explanation
    from corridors.run_record import RunRecord


from corridors.results.columns import (
    FORMAT_VERSION,
    TEXT_DTYPE,
    _Columns,
    _corridor_order,
    _country_keys,
    _country_table,
    _finite,
    _frame,
    _group_sums,
    _kahan,
    _kahan_sum,
    _nan_to_num,
    _on_years,
    _strict_json,
    _table,
    _tiled_text,
    _year_sums,
)
from corridors.results.costs import cost_table
from corridors.results.reading import check_directory, read_json, read_table

__all__ = ["EXPLAIN_TABLES", "MAP_TABLES", "OBSERVABLES", "TABLES", "Observable", "Results", "load_results"]

TABLES = ("corridors", "countries", "edges", "policy", "decisions", "pipelines")
EXPLAIN_TABLES = ("costs", "refusals")
MAP_TABLES = ("link_corridors",)
"""The tables the flow map reads besides :data:`TABLES`: each corridor's freight on each link
and year (``None`` for a run saved before format 5)."""
"""The tables :meth:`Results.explain` reads besides :data:`TABLES`: the parts of the shippers'
generalised cost (:mod:`corridors.results.costs`) and the yearly project reviews that funded
nothing. Runs saved before format 4 have none."""

_EDGE_SET_OF = {
    "aktau_oil_t": "kz_caspian_crude",
    "baku_port_no_trucks_t": "baku_caspian",
    "baku_port_teu": "baku_caspian",
    "ady_east_west_t": "az_rail_transit",
    "gr_transit_t": "ge_rail_transit",
    "kz_china_rail_t": "kz_cn_rail",
    "kz_transit_t": "kz_entries",
    "iran_route_t": "iran_route",
}
"""The edge set (:data:`corridors.layout.OBSERVED_EDGE_SETS`) of each observable that sums
the edges table's ``flow_t`` (or ``container_flow_t``) on one."""


class _LazyTable:
    """A table built when first read: set it to a table, ``None``, or a function that builds it.

    The ``costs`` table of a run is built from its record only if someone reads it (an
    explanation, a save), so that runs that never need it (ensembles, tuning) pay nothing.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = f"_{name}"

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return None  # the dataclass field's default
        value = obj.__dict__.get(self.attr)
        if callable(value):
            value = obj.__dict__[self.attr] = value()
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.attr] = value


@dataclass(eq=False)
class Results:
    """The outcome of one run (see the module docstring for the tables).

    Made by :func:`corridors.run` (through :meth:`from_record`) or read back by
    :func:`load_results`. Every table is long, one row per step and key, and starts with
    step, year and quarter.

    Parameters
    ----------
    corridors : pandas.DataFrame
        By corridor: volume_t, demand_t, backlog_t, share, cost_usd_per_t, time_days,
        utilisation, load_ratio.
    countries : pandas.DataFrame
        By country, commodity, market, direction and corridor: volume_t, share, time_days.
    edges : pandas.DataFrame
        By edge: flow_t, container_flow_t, load_t, capacity_t, utilisation, load_ratio,
        time_h, wait_days.
    policy : pandas.DataFrame
        The agents' levers (tariff factors, subsidies, fleet), one column each.
    decisions : pandas.DataFrame
        The agents' discrete decisions: step, agent, decision, detail.
    pipelines : pandas.DataFrame
        By pipeline: volume_t.
    meta : dict
        What the tables need to be read (seed, scenario, the shippers, ...).
    summary : dict
        The headline indicators (:meth:`indicators`).
    costs : pandas.DataFrame, optional
        By shipper and corridor: the parts of the generalised cost the shippers compare and
        the freight (:func:`corridors.results.costs.cost_table`); ``None`` for a run saved
        before format 4.
    refusals : pandas.DataFrame, optional
        The yearly project reviews that funded nothing: step, agent, decision ("refuse"),
        detail (why); ``None`` for a run saved before format 4.
    link_corridors : pandas.DataFrame, optional
        By year, edge and corridor: flow_t, the served tonnes of the corridor's freight on the
        link in the year (rows with freight only); what the flow map colours links by.
        ``None`` for a run saved before format 5.

    Examples
    --------
    >>> import corridors
    >>> res = corridors.run(end_year=2020, seed=7)
    >>> res.annual_volumes().columns.tolist()
    ['year', 'corridor', 'volume_t']
    >>> res.observable("middle_corridor_t").index.tolist()
    [2019, 2020]
    """

    corridors: pd.DataFrame
    countries: pd.DataFrame
    edges: pd.DataFrame
    policy: pd.DataFrame
    decisions: pd.DataFrame
    pipelines: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    costs: pd.DataFrame | None = _LazyTable()  # type: ignore[assignment]
    refusals: pd.DataFrame | None = None
    link_corridors: pd.DataFrame | None = _LazyTable()  # type: ignore[assignment]

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
        with np.errstate(invalid="ignore", divide="ignore"):
            money = add(usd, axis=1) / vol
        del usd  # the (T, S, K) temporaries go as soon as they are summed: they set the peak
        tonne_days = _nan_to_num(r["time"][:T])
        tonne_days *= served
        with np.errstate(invalid="ignore", divide="ignore"):
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
        corridors = _table(
            steps,
            K,
            {
                "corridor": _tiled_text(CORRIDORS, T),
                "volume_t": vol.ravel(),
                "demand_t": offered.sum(axis=1).ravel(),
                "backlog_t": backlog_t.ravel(),
                "share": share.ravel(),
                "cost_usd_per_t": money.ravel(),
                "time_days": time.ravel(),
                "utilisation": util.ravel(),
                "load_ratio": pressure.ravel(),
            },
        )
        keys, group = _country_keys(record.shippers)
        agg, days = _group_sums(group, len(keys["country"]), served, tonne_days)
        del tonne_days
        countries = _country_table(steps, keys, agg, days)
        del days
        E = record.n_edges
        # the recorded link arrays are the columns themselves, not copies: the model never
        # writes a recorded quarter again, and nothing else reads them
        edges = _table(
            steps,
            E,
            {
                "edge": np.tile(np.arange(E), T),
                "flow_t": flow.reshape(-1),
                "container_flow_t": r["edge_container_flow"][:T].reshape(-1),
                "load_t": load.reshape(-1),
                "capacity_t": cap.reshape(-1),
                "utilisation": edge_util.ravel(),
                "load_ratio": edge_pressure.ravel(),
                "time_h": r["edge_time_h"][:T].reshape(-1),
                "wait_days": r["edge_wait_days"][:T].reshape(-1),
            },
        )
        policy = pd.DataFrame(
            {**_frame(steps), **dict(zip(record.policy_columns, r["policy"][:T].T, strict=True))}
        )
        decisions = pd.DataFrame(record.decisions, columns=["step", "agent", "decision", "detail"])
        P = len(record.pipelines)
        pipelines = _table(
            steps,
            P,
            {
                "pipeline": _tiled_text(np.array(record.pipelines, dtype=object), T),
                "volume_t": r["pipeline"][:T].ravel().copy(),
            },
        )
        shippers = record.shippers
        n_shippers = len(next(iter(shippers.values()), []))
        meta = {
            "format_version": FORMAT_VERSION,
            "end_year": record.end_year,
            "stochastic": record.stochastic,
            "t_per_teu": record.t_per_teu,
            "middle_caspian_edges": list(record.middle_caspian_edges),
            "kz_caspian_edges": list(record.kz_caspian_edges),
            **_observed_edges_meta(record),
            **_edges_meta(record),
            "shippers": {"index": list(range(n_shippers)), **{c: list(v) for c, v in shippers.items()}},
            **(meta or {}),
        }
        refusals = pd.DataFrame(record.refusals, columns=["step", "agent", "decision", "detail"])
        res = cls(corridors, countries, edges, policy, decisions, pipelines, meta)
        res.costs, res.refusals = functools.partial(cost_table, record), refusals
        res.link_corridors = functools.partial(_link_corridor_table, record)
        res.summary = _finite(
            _summary(vol, backlog_t, time, keys, agg) if finite_volumes else res.indicators()
        )
        return res

    def trimmed(self, report_from: int) -> Results:
        """Return the same run reported from ``report_from`` (every run starts in 2019).

        Parameters
        ----------
        report_from : int
            The first year to keep; the tables' rows and the decisions before it are
            dropped and the summary recomputed.

        Returns
        -------
        Results
            ``self`` if ``report_from`` is 2019 or earlier, else a new one whose ``meta``
            records ``report_from``.
        """
        if report_from <= BASE_YEAR:
            return self
        keep = {name: getattr(self, name) for name in TABLES if name != "decisions"}
        keep = {name: t[t["year"] >= report_from].reset_index(drop=True) for name, t in keep.items()}
        first_step = (report_from - BASE_YEAR) * 4
        steps = {
            name: None if t is None else t[t["step"] >= first_step].reset_index(drop=True)
            for name, t in (("decisions", self.decisions), ("refusals", self.refusals))
        }
        res = Results(**keep, **steps, meta={**self.meta, "report_from": report_from})
        res.costs = functools.partial(_from_year, self, "costs", report_from)
        res.link_corridors = functools.partial(_from_year, self, "link_corridors", report_from)
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
        """Return the modelled counterpart of an observed series, by year (see :data:`OBSERVABLES`).

        Parameters
        ----------
        name : str
            A key of :data:`OBSERVABLES`.

        Returns
        -------
        pandas.Series
            The values, indexed by year (the years of the corridors table), named ``name``.

        Raises
        ------
        KeyError
            If ``name`` is not an observable, or the results (saved in an older format) lack
            what it needs: container flows (``middle_teu``, ``baku_port_teu``: format 2) or the
            observed edge sets (``meta["observed_edges"]``: format 3).
        """
        if name not in OBSERVABLES:
            raise KeyError(f"observable: {name!r} is not one of {', '.join(OBSERVABLES)}")
        years, values = self._observable_values((name,))
        return pd.Series(values[name], index=pd.Index(years, name="year"), name=name)

    def _observable_values(self, names: Iterable[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Return the observables ``names`` as arrays.

        The years (those of the corridors table) and each observable's values in those years.
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

        def edge_set(name: str) -> list[int]:
            sets = self.meta.get("observed_edges")
            if sets is None or _EDGE_SET_OF[name] not in sets:
                raise KeyError(
                    f"observable: {name} needs the run's observed edge sets "
                    f"(meta 'observed_edges', results format 3 or later)"
                )
            return sets[_EDGE_SET_OF[name]]

        def on_edges(edge_ids: list[int], column: str = "flow_t") -> np.ndarray:
            if column not in self.edges:
                raise KeyError(f"observable: needs the edges table's {column} (results format 2 or later)")
            on = np.isin(edges.array("edge"), edge_ids)
            return _on_years(*by_year(edges, on, column), years, 0.0)

        def across_caspian() -> np.ndarray:
            if "middle_corridor_t" not in out:
                out["middle_corridor_t"] = on_edges(self.meta["kz_caspian_edges"])
            return out["middle_corridor_t"]

        def share_of_across(part: np.ndarray) -> np.ndarray:
            across = across_caspian()
            with np.errstate(invalid="ignore", divide="ignore"):
                s = part / np.where(across > 0, across, np.nan)
            s = np.where(s > 1.0, 1.0, s)  # Series.clip(upper=1.0): NaN stays NaN
            return np.where(np.isnan(s), 0.0, s)

        def flow_of(name: str) -> np.ndarray:
            if name not in out:
                out[name] = on_edges(edge_set(name))
            return out[name]

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
                out[name] = share_of_across(_on_years(*by_year(countries, on, "volume_t"), years, 0.0))
            elif name == "middle_oil_share":
                out[name] = share_of_across(flow_of("aktau_oil_t"))
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
                out[name] = on_edges(self.meta["kz_caspian_edges"], "container_flow_t") / t_per_teu
            elif name == "baku_port_teu":
                out[name] = on_edges(edge_set(name), "container_flow_t") / t_per_teu
            elif name == "kz_transit_t":
                entering = on_edges(edge_set(name))
                on = countries.equal(country="KZ", direction="import")
                out[name] = entering - _on_years(*by_year(countries, on, "volume_t"), years, 0.0)
            elif name in _EDGE_SET_OF:
                flow_of(name)
            else:
                raise KeyError(f"observable: {name!r} is not one of {', '.join(OBSERVABLES)}")
        return years, {name: out[name] for name in names}

    def cost_breakdown(
        self,
        *,
        corridors: Sequence[str] | None = None,
        years: Sequence[int] | None = None,
        group: Mapping[str, str] | None = None,
        by: Sequence[str] = ("direction", "commodity"),
    ) -> pd.DataFrame:
        """Return the generalised cost the shippers compare, split into its parts, by year, group and corridor.

        See :mod:`corridors.results.costs` for the parts (tariff and handling, time, queue,
        reliability, sanction premium, subsidy, political cost, corridor constant): each
        averaged over the group's tonnes where the corridor is open to them.

        Parameters
        ----------
        corridors, years : sequence, optional
            Keep only these (default: all).
        group : mapping of str to str, optional
            Only the shippers with these attributes, e.g. ``{"direction": "transit"}``.
        by : sequence of str
            The shipper attributes that make a group (origin, market, commodity, direction,
            country).

        Returns
        -------
        pandas.DataFrame
            year, the ``by`` columns, corridor, demand_t, served_t, ``<part>_usd_per_t`` and
            total_usd_per_t (the sum of the parts).

        Raises
        ------
        ValueError
            If the run has no costs table (saved before format 4), or ``group`` or ``by``
            names an unknown attribute or value.

        Examples
        --------
        >>> import corridors
        >>> res = corridors.run(end_year=2020, stochastic=False)
        >>> t = res.cost_breakdown(corridors=["middle"], years=[2020], group={"direction": "transit"})
        >>> bool((t.filter(like="_usd_per_t").drop(columns="total_usd_per_t").sum(axis=1)
        ...       - t["total_usd_per_t"]).abs().max() < 1e-9)
        True
        """
        from corridors.results.costs import cost_breakdown

        if self.costs is None:
            raise ValueError(
                "cost_breakdown: a run saved before results format 4 has no costs table; run it again"
            )
        return cost_breakdown(
            self.costs, self.meta["shippers"], by=by, corridors=corridors, years=years, group=group
        )

    def explain(
        self,
        other: Results | None = None,
        *,
        year: int | None = None,
        corridors: Sequence[str] | None = None,
        group: Mapping[str, str] | None = None,
        by: Sequence[str] = ("direction", "commodity"),
    ) -> Explanation:
        """Explain why this run differs from ``other``, or (alone) why its corridors carry what they carry.

        Parameters
        ----------
        other : Results, optional
            The reference run (default: this run itself).
        year : int, optional
            The year explained (default: the run's last).
        corridors : sequence of str, optional
            The corridors of the cost table and the binding links (default: all).
        group : mapping of str to str, optional
            Only the shippers with these attributes.
        by : sequence of str
            The shipper attributes the cost table and the shifts are grouped by.

        Returns
        -------
        Explanation
            The cost parts and their changes, the volume change by cause, the shifts by
            group, the binding links, the projects funded or refused, and the decisions
            and levers that differ; ``str()`` gives them as text.

        Raises
        ------
        ValueError
            If a corridor is unknown, the year outside a run, a group matches no shipper,
            or a run has no costs table.
        """
        from corridors.results.explain import explain

        return explain(self, other, year=year, corridors=corridors, group=group, by=by)

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
        own = c[(c["year"] == last) & c["country"].isin(C5)]
        g = own.groupby(["country", "corridor"])["volume_t"].sum().unstack(fill_value=0.0)
        shares = g.div(g.sum(axis=1), axis=0)
        out["russian_dependence_last_year"] = {k: float(v) for k, v in shares.get("russian", 0.0).items()}
        out["herfindahl_last_year"] = {k: float(v) for k, v in (shares**2).sum(axis=1).items()}
        crit = c[(c["commodity"] == "critical_minerals") & (c["direction"] == "export")]
        west = crit[crit["market"] == "market_eu"].groupby("year")["volume_t"].sum()
        out["critical_minerals_to_west_t_last_year"] = float(west.get(last, 0.0))
        k = self.corridors[self.corridors["year"] == last]
        out["mean_time_days_last_year"] = {
            r.corridor: float(r.time_days)
            for r in k.groupby("corridor", as_index=False)["time_days"].mean().itertuples()
        }
        out["max_backlog_t"] = float(self.corridors["backlog_t"].max())
        return out

    # ---------------------------------------------------------------- disk

    def save(
        self, path: str | Path, *, extra_files: dict[str, bytes] | None = None, force: bool = False
    ) -> Path:
        """Write the run directory atomically: a temporary sibling, then a rename.

        Holds the tables as Parquet (:data:`TABLES`, and :data:`EXPLAIN_TABLES` and
        :data:`MAP_TABLES` when the run has them), ``summary.json`` and ``meta.json`` (no pickles), plus
        ``extra_files`` (name -> bytes). An existing directory is an error unless ``force``.

        Parameters
        ----------
        path : str or Path
            The run directory to write.
        extra_files : dict of str to bytes, optional
            More files to write into it, by name.
        force : bool
            Replace an existing ``path`` whole.

        Returns
        -------
        Path
            ``path``.

        Raises
        ------
        FileExistsError
            If ``path`` exists and not ``force``.
        """

        def fill(tmp: Path) -> None:
            for name in (*TABLES, *EXPLAIN_TABLES, *MAP_TABLES):
                if getattr(self, name) is not None:
                    getattr(self, name).to_parquet(tmp / f"{name}.parquet", index=False)
            (tmp / "summary.json").write_text(_strict_json(self.summary))
            (tmp / "meta.json").write_text(_strict_json(self.meta))
            for name, data in (extra_files or {}).items():
                (tmp / name).write_bytes(data)

        return write_dir_atomic(path, fill, force=force)


def _observed_edges_meta(record: RunRecord) -> dict[str, Any]:
    """Return the record's observed edge sets as ``{"observed_edges": {name: [edge, ...]}}``.

    A record made without them (:attr:`RunRecord.observed_edges` is ``None``) has none, and the
    observables that need them raise a ``KeyError``.
    """
    sets = record.observed_edges
    if sets is None:
        return {}
    return {"observed_edges": {name: [int(i) for i in edges] for name, edges in sets.items()}}


def _link_corridor_table(record: RunRecord) -> pd.DataFrame | None:
    """Return each corridor's served tonnes per link and year (rows with freight), or ``None``.

    From the record's :data:`~corridors.run_record.YEAR_ARRAY`; ``None`` for a record made
    without it.
    """
    flows = record.arrays.get(YEAR_ARRAY)
    if flows is None:
        return None
    year, k, edge = np.nonzero(flows > 0)
    return pd.DataFrame(
        {
            "year": (BASE_YEAR + year).astype(np.int64),
            "edge": edge.astype(np.int64),
            "corridor": pd.array(np.array(CORRIDORS, dtype=object)[k], dtype=TEXT_DTYPE),
            "flow_t": flows[year, k, edge],
        }
    )


def _from_year(res: Results, name: str, year: int) -> pd.DataFrame | None:
    """Return the rows of ``res``'s table ``name`` from ``year`` on (``None`` if it has none)."""
    table = getattr(res, name)
    return None if table is None else table[table["year"] >= year].reset_index(drop=True)


def _edges_meta(record: RunRecord) -> dict[str, Any]:
    """Return the links' names and corridors as ``{"edge_names": [...], "edge_corridors": [...]}``.

    A link's corridor is the gateway it belongs to, ``""`` for a feeder link shared by all.
    """
    if record.edge_names is None:
        return {}
    corridor = [CORRIDORS[g] if g >= 0 else "" for g in record.gateway.tolist()]
    return {"edge_names": list(record.edge_names), "edge_corridors": corridor}


def load_results(path: str | Path) -> Results:
    """Read a run directory written by :meth:`Results.save`.

    Parameters
    ----------
    path : str or Path
        The run directory.

    Returns
    -------
    Results
        The tables, ``meta`` and ``summary`` as saved (``costs`` and ``refusals`` ``None``
        in a directory saved before format 4).

    Raises
    ------
    FileNotFoundError
        No such folder, a folder that is not a run directory (no ``meta.json``; an
        interrupted ensemble is named as one), or a table missing (:mod:`~corridors.results.reading`).
    DataError
        A JSON file or table that does not parse, named with its path.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import corridors
    >>> res = corridors.run(end_year=2020, seed=7)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     back = load_results(res.save(pathlib.Path(tmp) / "run"))
    >>> back.annual_volumes().equals(res.annual_volumes())
    True
    """
    path = Path(path)
    check_directory(path, "meta.json", "run directory")
    tables = {name: read_table(path / f"{name}.parquet") for name in TABLES}
    tables |= {
        name: read_table(path / f"{name}.parquet")
        for name in (*EXPLAIN_TABLES, *MAP_TABLES)
        if (path / f"{name}.parquet").is_file()
    }
    meta = read_json(path / "meta.json")
    summary = read_json(path / "summary.json")
    return Results(**tables, meta=meta, summary=summary)


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
    years = BASE_YEAR + np.arange(Y)
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
    own = sorted(set(keys["country"]) & set(C5))
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
    west = np.array(
        [
            (c, m, d) == ("critical_minerals", "market_eu", "export")
            for c, m, d in zip(keys["commodity"], keys["market"], keys["direction"], strict=True)
        ]
    )
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
