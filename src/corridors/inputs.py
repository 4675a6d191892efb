"""Demand, projects and sea rates: the model's packaged inputs besides the network."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from corridors.errors import DataError
from corridors.network import Network, default_data_dir, packaged_network
from corridors.tables import Col, choice, integer, number, read_table, source_keys, text
from corridors.vocabulary import BASE_YEAR, COMMODITIES, DIRECTIONS, LAST_OBSERVED_YEAR, LAST_YEAR, step_year

__all__ = ["Inputs", "load_inputs", "packaged_inputs"]


TRADE_COLUMNS = (
    Col("origin", text),
    Col("market", text),
    Col("commodity", choice(COMMODITIES)),
    Col("direction", choice(DIRECTIONS)),
    Col("tonnes_2019", number(0.0)),
    Col("growth_per_year", number(-0.5)),
    Col("state_controlled_share", number(0.0)),
    Col("value_usd_per_t", number(positive=True)),
    Col("source", text),
    Col("demand_index", text, required=False),
)
# A year-by-year demand index (demand_index.csv): a factor on a row's 2019 tonnes for each year
# 2019-2023 (observed years only); trade rows name one in their demand_index column.
DEMAND_INDEX_COLUMNS = (
    Col("index", text),
    Col("year", integer(BASE_YEAR, LAST_OBSERVED_YEAR)),
    Col("factor", number(positive=True)),
    Col("source", text),
)
PROJECT_COLUMNS = (
    Col("project", text),
    Col("name", text),
    Col("edges", text),
    Col("effect", choice(("capacity", "time", "capacity_time", "open"))),
    Col("capacity_factor", number(positive=True)),
    Col("time_factor", number(positive=True)),
    Col("cost_usd_m", number(0.0)),
    Col("lag_quarters", integer(0, 200)),
    Col("earliest_year", integer(BASE_YEAR, LAST_YEAR)),
    Col("funder_hint", text),
    Col("source", text),
    Col("known_completion", text, required=False),
)
PIPELINE_COLUMNS = (
    Col("pipeline", text),
    Col("edge", integer(0, 10**7)),
    Col("volume_t_per_year", number(0.0)),
    Col("growth_per_year", number(-0.5)),
    Col("source", text),
)
SEA_RATE_COLUMNS = (
    Col("year", integer(BASE_YEAR, LAST_YEAR)),
    Col("quarter", integer(1, 4)),
    Col("usd_per_feu", number(positive=True)),
    Col("cape_detour_days", number(0.0)),
    Col("confidence", choice(("H", "M", "L"))),
    Col("source", text),
)


class TablesKey:
    """The identity of an :class:`Inputs`' trade, projects, pipelines and demand index.

    Copies that differ only in their sea rates (:meth:`Inputs.with_sea_rates`) share it, so
    what is built from those tables alone (a :class:`~corridors.layout.Layout`) is built once
    for all of them.
    """

    __slots__ = ("__weakref__",)


@dataclass(eq=False)
class Inputs:
    """Trade flows, projects and quarterly sea rates, checked against the network.

    ``demand_index`` holds the year-by-year demand indices (columns index, year, factor,
    source; years from 2019 without gaps) that rows of ``trade`` name in their
    ``demand_index`` column (None: the row follows its trend growth alone).
    """

    trade: pd.DataFrame
    projects: pd.DataFrame
    sea_rates: pd.DataFrame
    pipelines: pd.DataFrame
    demand_index: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"index": [], "year": [], "factor": [], "source": []})
    )
    # a new key for every Inputs built (dataclasses.replace too): only with_sea_rates shares it
    tables_key: TablesKey = field(default_factory=TablesKey, init=False, repr=False)

    def demand_factors(self) -> tuple[np.ndarray, np.ndarray]:
        """Each trade row's demand index as factors on its 2019 tonnes, one column per year.

        Returns
        -------
        factors : numpy.ndarray
            ``(rows, years)``: the factor of the row's index in each year from 2019 (1 past
            the index's last year and for rows without an index).
        years : numpy.ndarray
            ``(rows,)``: how many years from 2019 the row's index covers (0 without one).
        """
        table = {
            name: grp.sort_values("year")["factor"].to_numpy(float)
            for name, grp in self.demand_index.groupby("index", sort=False)
        }
        names = [n if isinstance(n, str) and n else None for n in self.trade["demand_index"]]
        width = max((len(table[n]) for n in names if n is not None), default=0)
        factors = np.ones((len(names), width))
        years = np.zeros(len(names), dtype=np.int64)
        for i, name in enumerate(names):
            if name is not None:
                f = table[name]
                factors[i, : f.size] = f
                years[i] = f.size
        return factors, years

    def sea_rate(self, step: int) -> tuple[float, float]:
        """(USD per FEU, Cape detour days) for a quarter; the last known quarter after the data."""
        rates = self._sea_arrays
        i = min(step, len(rates[0]) - 1)
        return float(rates[0][i]), float(rates[1][i])

    @cached_property
    def _sea_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        rates = self.sea_rates
        return rates["usd_per_feu"].to_numpy(float), rates["cape_detour_days"].to_numpy(float)

    def with_sea_rates(self, overrides: dict[int, tuple[float, float]]) -> Inputs:
        """Return a copy whose quarterly sea rates are replaced or extended by ``overrides``.

        ``overrides`` maps a step (0 = 2019Q1) to (USD per FEU, Cape detour days) from that
        quarter on; quarters after the data's end hold the last known values until then.
        """
        if not overrides:
            return self
        usd, cape = self._sea_arrays
        last = max(usd.size - 1, *overrides)
        usd = np.concatenate([usd, np.full(last + 1 - usd.size, usd[-1])])
        cape = np.concatenate([cape, np.full(last + 1 - cape.size, cape[-1])])
        source = np.concatenate(
            [self.sea_rates["source"].to_numpy(object), np.full(last + 1 - len(self.sea_rates), "held")]
        )
        for step in sorted(overrides):
            usd[step:], cape[step:] = overrides[step]
            source[step:] = "scenario"
        steps = np.arange(last + 1)
        sea = pd.DataFrame(
            {
                "year": step_year(steps),
                "quarter": steps % 4 + 1,
                "usd_per_feu": usd,
                "cape_detour_days": cape,
                "source": source,
            }
        )
        out = Inputs(
            trade=self.trade,
            projects=self.projects,
            sea_rates=sea,
            pipelines=self.pipelines,
            demand_index=self.demand_index,
        )
        out.tables_key = self.tables_key  # the same tables: the same layout
        return out


def _check_sources(
    path: Path, column: list[str], lines: list[int], keys: set[str], sources_path: Path
) -> None:
    for cell, line in zip(column, lines, strict=True):
        unknown = [k.strip() for k in cell.split(";") if k.strip() and k.strip() not in keys]
        if unknown:
            raise DataError(
                path, f"line {line}, column source", f"{unknown} not found as headings in {sources_path}"
            )


def _load_demand_index(path: Path, keys: set[str], sources_path: Path) -> pd.DataFrame:
    """Read ``demand_index.csv``: each index's years run from 2019 without gaps, its 2019 factor is 1."""
    raw, lines = read_table(path, DEMAND_INDEX_COLUMNS)
    _check_sources(path, raw["source"], lines, keys, sources_path)
    last: dict[str, int] = {}
    for name, year, factor, line in zip(raw["index"], raw["year"], raw["factor"], lines, strict=True):
        expected = last.get(name, BASE_YEAR - 1) + 1
        if year != expected:
            raise DataError(
                path,
                f"line {line}, column year",
                f"index {name!r}: expected {expected} (years run from {BASE_YEAR} in order, without gaps)",
            )
        if year == BASE_YEAR and factor != 1.0:
            raise DataError(
                path,
                f"line {line}, column factor",
                f"index {name!r}: the {BASE_YEAR} factor must be 1, got {factor:g}",
            )
        last[name] = year
    return pd.DataFrame(raw)


def load_inputs(net: Network, data_dir: str | Path | None = None) -> Inputs:
    """Load the packaged demand, projects, pipelines and sea rates, checked against ``net``.

    Reads ``trade.csv``, ``demand_index.csv``, ``projects.csv``, ``pipelines.csv`` and
    ``sea_rates.csv`` from ``data_dir`` (default: the packaged data); any error raises
    :class:`~corridors.errors.DataError` naming the file, line and column.
    """
    root = default_data_dir() if data_dir is None else Path(data_dir)
    sources_path = root / "SOURCES.md"
    keys = source_keys(sources_path)

    path = root / "trade.csv"
    raw, lines = read_table(path, TRADE_COLUMNS)
    _check_sources(path, raw["source"], lines, keys, sources_path)
    kinds = net.nodes.set_index("name")["kind"]
    seen: set[tuple[str, str, str, str]] = set()
    for i, line in enumerate(lines):
        for col in ("origin", "market"):
            if raw[col][i] not in kinds.index:
                raise DataError(path, f"line {line}, column {col}", f"unknown node {raw[col][i]!r}")
        if raw["state_controlled_share"][i] > 1:
            raise DataError(path, f"line {line}, column state_controlled_share", "must be <= 1")
        key = (raw["origin"][i], raw["market"][i], raw["commodity"][i], raw["direction"][i])
        if key in seen:
            raise DataError(path, f"line {line}", f"duplicate flow {key}")
        seen.add(key)
    trade = pd.DataFrame(raw)
    trade_path, trade_lines, trade_index = path, lines, raw["demand_index"]

    path = root / "projects.csv"
    raw, lines = read_table(path, PROJECT_COLUMNS)
    _check_sources(path, raw["source"], lines, keys, sources_path)
    edge_lists = []
    for i, line in enumerate(lines):
        try:
            ids = tuple(int(x) for x in raw["edges"][i].split(";") if x.strip())
        except ValueError:
            raise DataError(
                path, f"line {line}, column edges", f"{raw['edges'][i]!r} is not a ';'-list of edge ids"
            ) from None
        bad = [e for e in ids if not 0 <= e < net.n_edges]
        if bad or not ids:
            raise DataError(path, f"line {line}, column edges", f"edge ids {bad or ids} not in edges.csv")
        edge_lists.append(ids)
    projects = pd.DataFrame(raw)
    projects["edges"] = edge_lists
    if projects["project"].duplicated().any():
        dup = projects["project"][projects["project"].duplicated()].iloc[0]
        raise DataError(path, "column project", f"duplicate project {dup!r}")

    path = root / "pipelines.csv"
    raw, lines = read_table(path, PIPELINE_COLUMNS)
    _check_sources(path, raw["source"], lines, keys, sources_path)
    for edge, line in zip(raw["edge"], lines, strict=True):
        if not edge < net.n_edges or net.edges["mode"].iloc[edge] != "pipeline":
            raise DataError(path, f"line {line}, column edge", f"edge {edge} is not a pipeline of edges.csv")
    pipelines = pd.DataFrame(raw)

    path = root / "sea_rates.csv"
    raw, lines = read_table(path, SEA_RATE_COLUMNS)
    _check_sources(path, raw["source"], lines, keys, sources_path)
    sea = pd.DataFrame(raw)
    steps = (sea["year"] - BASE_YEAR) * 4 + sea["quarter"] - 1
    if not np.array_equal(steps.to_numpy(), np.arange(len(sea))):
        raise DataError(path, "columns year, quarter", "quarters must run from 2019Q1 without gaps, in order")

    # read last: the trade rows' index names are checked against it
    demand_index = _load_demand_index(root / "demand_index.csv", keys, sources_path)
    names = set(demand_index["index"])
    for index, line in zip(trade_index, trade_lines, strict=True):
        if index is not None and index not in names:
            raise DataError(
                trade_path,
                f"line {line}, column demand_index",
                f"{index!r} is not an index of demand_index.csv",
            )
    return Inputs(
        trade=trade, projects=projects, sea_rates=sea, pipelines=pipelines, demand_index=demand_index
    )


@functools.cache
def packaged_inputs() -> Inputs:
    """Return the packaged demand, projects, pipelines and sea rates, loaded once per process.

    Returns
    -------
    Inputs
        :func:`load_inputs` of the packaged data on :func:`~corridors.network.packaged_network`.
    """
    return load_inputs(packaged_network())
