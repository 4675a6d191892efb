"""Chokepoint criticality: one run per closed link against the scenario without the closure.

:func:`criticality` closes each chosen link (a ``"tail>head"`` name, all its parallel links
at once) for a period with the timeline's own :class:`~corridors.events.RouteClosure`, runs
the scenario to the period's last year, and compares every run with the reference run of
the same scenario, seed and stochastic mode without the closure. Each run is a task for the
executors of the ensembles (local processes or Dask); with ``out`` the runs are kept in a
resumable directory (:mod:`~corridors.experiments.directory`).

What is compared, over the closure's quarters only (the *window*), for the freight of the
five (the shippers whose country is KZ, KG, TJ, TM or UZ; China-Europe transit is left out):

- ``extra_cost_usd``: the five's extra generalised transport cost, the sum of two parts.
  ``delivered_cost_usd``: the change of ``sum(served_t * total_usd_per_t)`` over the
  window's quarters, shippers and corridors, ``total_usd_per_t`` being the generalised
  cost each shipper compares (:mod:`corridors.results.costs`: money, time, queue,
  reliability, sanction premium, subsidy, political term, corridor constant).
  ``not_delivered_cost_usd``: each shipper's extra tonnes not delivered in the window,
  valued at what delivering them cost it per tonne in the reference (its freight's average
  generalised cost there: the cargo still has to move) plus the waiting a shipper accepts
  before it gives up, its value of time times ``queue_patience_quarters`` (the model's rule
  for diverting a backlog): a lower bound, taken from the run's own parameters.
- ``not_delivered_t``: the change of the five's freight offered in the window but not
  delivered in it (``demand_t - served_t``: diverted, given up or still waiting).
- ``rerouted_t``: the five's freight moved from one corridor to another, per shipper
  ``(sum_k |d served_k| - |sum_k d served_k|) / 2``.
- ``<corridor>_volume_change_t``: the change of each corridor's volume (all freight, as
  the corridors table counts it).

The links are ranked by ``extra_cost_usd``, largest first.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridors.atomic import write_bytes_atomic
from corridors.events import RouteClosure
from corridors.experiments.directory import (
    finished_runs,
    open_directory,
    read_runs,
    save_run,
    write_json,
)
from corridors.experiments.executors import Execution
from corridors.experiments.plans import (
    Plan,
    _scenario_from_toml,
    error_record,
    resolve_execution,
    resolve_scenario,
)
from corridors.network import Network, packaged_network
from corridors.results import parquet_bytes
from corridors.vocabulary import C5, CORRIDORS, QUARTER_DAYS, quarter_index, quarter_label, step_year

if TYPE_CHECKING:
    from corridors.results import Results
    from corridors.scenario import Scenario

__all__ = [
    "CRITICALITY_COLUMNS",
    "ClosureTask",
    "Criticality",
    "candidate_links",
    "check_links",
    "closure_window",
    "compare_runs",
    "criticality",
    "execute_closure",
    "window_table",
]

ProgressFn = Callable[[int, int, int], None]

CRITICALITY_COLUMNS = (
    "rank",
    "link",
    "edges",
    "mode",
    "corridor",
    "controller",
    "extra_cost_usd",
    "delivered_cost_usd",
    "not_delivered_cost_usd",
    "not_delivered_t",
    "rerouted_t",
    *(f"{c}_volume_change_t" for c in CORRIDORS),
)
"""The columns of the criticality table, one row per closed link (see the module docstring)."""


# ----------------------------------------------------------------------- the links


def candidate_links(net: Network) -> tuple[str, ...]:
    """Return every hard-capacity link and border crossing, as ``"tail>head"`` names.

    Parallel links (one name, several modes or lanes) are one name; pipelines, exogenous
    and never a route choice, are left out.

    Parameters
    ----------
    net : Network
        The network.

    Returns
    -------
    tuple of str
        The names, in the order of edges.csv.
    """
    e = net.edges
    keep = (e["capacity_hard"].astype(bool) | e["border"].astype(bool)) & (e["mode"] != "pipeline")
    names = (e["tail"] + ">" + e["head"])[keep]
    return tuple(dict.fromkeys(names))


def check_links(links: Sequence[str], net: Network) -> tuple[str, ...]:
    """Check link names, ``"tail>head"`` with node names as scenario files write them.

    Parameters
    ----------
    links : sequence of str
        The names asked for.
    net : Network
        The network they must be links of.

    Returns
    -------
    tuple of str
        The names, each once, in the order given.

    Raises
    ------
    ValueError
        Naming ``links``, the unknown name and the closest known one; or no name given.
    """
    if isinstance(links, str) or not links:
        msg = "links: give at least one link as 'tail>head' with node names, e.g. 'kuryk>baku_alat'"
        raise ValueError(msg)
    known = set(net.edges["tail"] + ">" + net.edges["head"])
    for name in links:
        if name not in known:
            close = difflib.get_close_matches(str(name), sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            msg = f"links: no link {name!r}{hint}; links are 'tail>head' with node names of nodes.csv"
            raise ValueError(msg)
    return tuple(dict.fromkeys(links))


def closure_window(sc: Scenario, start: str | int, quarters: int) -> tuple[int, int]:
    """Return the closure's first and last step, checked against the scenario's period.

    Parameters
    ----------
    sc : Scenario
        The scenario: the window must lie within ``period.report_from`` to ``period.end_year``.
    start : str or int
        The first quarter closed, ``"2027Q1"`` (a year: its first quarter).
    quarters : int
        How many quarters the link stays closed (at least 1).

    Returns
    -------
    tuple of (int, int)
        The first and last closed steps (quarters since 2019Q1).

    Raises
    ------
    ValueError
        Naming ``start`` or ``quarters`` and the reason.
    """
    try:
        first = quarter_index(start)
    except ValueError as exc:
        raise ValueError(f"start: {exc}") from None
    if isinstance(quarters, bool) or not isinstance(quarters, int | np.integer) or quarters < 1:
        msg = f"quarters: must be an integer >= 1, got {quarters!r}"
        raise ValueError(msg)
    last = first + int(quarters) - 1
    p = sc.period
    lo, hi = quarter_index(p.report_from), quarter_index(p.end_year, end=True)
    if first < lo or last > hi:
        msg = (
            f"start: the closure {quarter_label(first)}-{quarter_label(last)} is outside the run of "
            f"scenario {sc.name!r} ({p.report_from}Q1-{p.end_year}Q4, its period.report_from and end_year)"
        )
        raise ValueError(msg)
    return first, last


# ----------------------------------------------------------------------- one run


@dataclass(frozen=True)
class ClosureTask:
    """One run of a criticality analysis: the scenario with one link closed, or the reference.

    Parameters
    ----------
    run : int
        The run's number (0: the reference, without a closure).
    link : str
        The ``"tail>head"`` name closed; empty for the reference.
    first_step, last_step : int
        The window: the closure's quarters (steps since 2019Q1).
    seed : int
        The seed of every run (replicate 0 of it).
    stochastic : bool
        False: no random draws.
    scenario_toml : str
        The resolved scenario, as a scenario file's text.
    replicate : int
        Always 0 (for :func:`~corridors.experiments.plans.error_record`).
    values : dict
        Always empty: no parameter varies (for :func:`~corridors.experiments.plans.error_record`).
    """

    run: int
    link: str
    first_step: int
    last_step: int
    seed: int
    stochastic: bool
    scenario_toml: str
    replicate: int = 0
    values: dict = field(default_factory=dict)


def execute_closure(task: ClosureTask) -> dict[str, Any]:
    """Make one run of a criticality analysis in a worker, never raising.

    The run ends with the window's last year; a closure is a
    :class:`~corridors.events.RouteClosure` of the link's name over the window, added to the
    scenario's timeline.

    Parameters
    ----------
    task : ClosureTask
        The run to make.

    Returns
    -------
    dict
        ``{"run", "table", "seconds"}`` (the table of :func:`window_table`) or
        ``{"run", "error", "seconds"}`` if the run raised.
    """
    from corridors.experiments.executors import prepare_worker
    from corridors.experiments.runs import run

    t0 = time.perf_counter()
    try:
        prepare_worker()
        sc = _scenario_from_toml(task.scenario_toml)
        params = sc.parameters()
        events = sc.events(params)
        if task.link:
            events = [
                *events,
                RouteClosure(
                    start=quarter_label(task.first_step),
                    end=quarter_label(task.last_step),
                    links=(task.link,),
                    note="criticality: the link closed",
                ),
            ]
        res = run(
            sc,
            seed=task.seed,
            params=params,
            events=events,
            end_year=step_year(task.last_step),
            stochastic=task.stochastic,
        )
        table = window_table(res, task.first_step, task.last_step)
        return {"run": task.run, "table": table, "seconds": time.perf_counter() - t0}
    except Exception as exc:
        return {"run": task.run, "error": error_record(task, exc), "seconds": time.perf_counter() - t0}


def window_table(res: Results, first_step: int, last_step: int) -> pd.DataFrame:
    """Sum a run's freight and generalised cost over a window, by shipper and corridor.

    Parameters
    ----------
    res : Results
        A run (its ``costs`` table and ``meta["shippers"]`` are read).
    first_step, last_step : int
        The window's first and last steps.

    Returns
    -------
    pandas.DataFrame
        One row per shipper and corridor: shipper, country, corridor, served_t,
        cost_usd (``sum(served_t * total_usd_per_t)``; nothing where nothing was served),
        demand_t (the shipper's freight over the window, on each of its rows) and
        vot_usd_per_t_day.

    Raises
    ------
    ValueError
        The run has no costs table, or no quarter of the window.
    """
    costs = res.costs
    if costs is None:
        raise ValueError("window_table: the run has no costs table")
    rows = costs[(costs["step"] >= first_step) & (costs["step"] <= last_step)]
    if rows["step"].nunique() != last_step - first_step + 1:
        msg = f"window_table: the run does not hold every quarter {quarter_label(first_step)}-{quarter_label(last_step)}"
        raise ValueError(msg)
    served = rows["served_t"].to_numpy()
    cost = np.where(served > 0, served * rows["total_usd_per_t"].to_numpy(), 0.0)
    frame = pd.DataFrame(
        {
            "shipper": rows["shipper"].to_numpy(),
            "corridor": rows["corridor"].to_numpy(),
            "served_t": served,
            "cost_usd": cost,
            "demand_t": rows["demand_t"].to_numpy(),
            "vot_usd_per_t_day": rows["vot_usd_per_t_day"].to_numpy(),
        }
    )
    out = frame.groupby(["shipper", "corridor"], sort=False).agg(
        served_t=("served_t", "sum"),
        cost_usd=("cost_usd", "sum"),
        demand_t=("demand_t", "sum"),
        vot_usd_per_t_day=("vot_usd_per_t_day", "first"),
    )
    out = out.reset_index()
    country = np.asarray(res.meta["shippers"]["country"], dtype=object)
    out.insert(1, "country", country[out["shipper"].to_numpy()])
    return out


# ----------------------------------------------------------------------- the comparison


def compare_runs(reference: pd.DataFrame, closed: pd.DataFrame, *, patience_days: float) -> dict[str, float]:
    """Compare a closure's run with the reference over the window (see the module docstring).

    Parameters
    ----------
    reference, closed : pandas.DataFrame
        The :func:`window_table` of the reference run and of the run with the closure.
    patience_days : float
        How long a shipper waits before it gives up freight: ``queue_patience_quarters``
        in days.

    Returns
    -------
    dict of str to float
        extra_cost_usd, delivered_cost_usd, not_delivered_cost_usd, not_delivered_t,
        rerouted_t and ``<corridor>_volume_change_t`` for each corridor.
    """
    key = ["shipper", "corridor"]
    both = reference.set_index(key).merge(
        closed.set_index(key), left_index=True, right_index=True, how="outer", suffixes=("", "_c")
    )
    both = both.fillna({"served_t": 0.0, "served_t_c": 0.0, "cost_usd": 0.0, "cost_usd_c": 0.0})
    volume = both.groupby(level="corridor")[["served_t", "served_t_c"]].sum()
    change = (volume["served_t_c"] - volume["served_t"]).reindex(list(CORRIDORS), fill_value=0.0)
    five = both[both["country"].isin(C5)]
    per = five.groupby(level="shipper").agg(
        served=("served_t", "sum"),
        served_c=("served_t_c", "sum"),
        cost=("cost_usd", "sum"),
        cost_c=("cost_usd_c", "sum"),
        demand=("demand_t", "first"),
        demand_c=("demand_t_c", "first"),
        vot=("vot_usd_per_t_day", "first"),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        unit_cost = np.where(per["served"] > 0, per["cost"] / per["served"], 0.0)
    lost = (per["demand_c"] - per["served_c"]) - (per["demand"] - per["served"])
    lost_cost = float((lost * (unit_cost + per["vot"] * patience_days)).sum())
    delivered = float((per["cost_c"] - per["cost"]).sum())
    d = five["served_t_c"] - five["served_t"]
    moved = (d.abs().groupby(level="shipper").sum() - d.groupby(level="shipper").sum().abs()) / 2
    return {
        "extra_cost_usd": delivered + lost_cost,
        "delivered_cost_usd": delivered,
        "not_delivered_cost_usd": lost_cost,
        "not_delivered_t": float(lost.sum()),
        "rerouted_t": float(moved.sum()),
        **{f"{c}_volume_change_t": float(change[c]) for c in CORRIDORS},
    }


def _link_rows(net: Network, links: Sequence[str]) -> pd.DataFrame:
    """Each link name's edge ids, modes, gateway corridor and controllers."""
    e = net.edges.assign(link=net.edges["tail"] + ">" + net.edges["head"])
    rows = []
    for name in links:
        sel = e[e["link"] == name]
        rows.append(
            {
                "link": name,
                "edges": ";".join(str(i) for i in sel.index),
                "mode": ";".join(dict.fromkeys(sel["mode"])),
                "corridor": ";".join(dict.fromkeys(c if c else "feeder" for c in sel["corridor"])),
                "controller": ";".join(dict.fromkeys(sel["controller"])),
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------- the analysis


@dataclass(eq=False)
class Criticality:
    """A criticality analysis: one row per closed link, ranked.

    Made by :func:`criticality`.

    Parameters
    ----------
    table : pandas.DataFrame
        The columns of :data:`CRITICALITY_COLUMNS`, ranked by ``extra_cost_usd`` (rank 1:
        the closure that costs the five most).
    failures : pandas.DataFrame
        The runs that raised: run, link, error, message.
    meta : dict
        What was run: scenario, seed, stochastic, the window, the value of patience.

    Examples
    --------
    >>> crit = criticality("baseline", links=["baku_alat>tbilisi", "kuryk>baku_alat"],
    ...                    start="2022Q1", quarters=4, workers=1)  # doctest: +SKIP
    >>> crit.table["link"].tolist()  # doctest: +SKIP
    ['baku_alat>tbilisi', 'kuryk>baku_alat']
    """

    table: pd.DataFrame
    failures: pd.DataFrame
    meta: dict[str, Any]

    def top(self, n: int = 10) -> pd.DataFrame:
        """Return the ``n`` most critical links (the first rows of :attr:`table`)."""
        return self.table.head(n)


def criticality(
    scenario: Scenario | str | Path | None = None,
    *,
    links: Sequence[str] | None = None,
    start: str | int = "2027Q1",
    quarters: int = 4,
    seed: int | None = None,
    stochastic: bool = False,
    overrides: Mapping[str, Any] | None = None,
    execution: Execution | None = None,
    workers: int | None = None,
    out: str | Path | None = None,
    force: bool = False,
    on_progress: ProgressFn | None = None,
) -> Criticality:
    """Rank links by what closing each for a while costs the five.

    One run per link with the link closed from ``start`` for ``quarters`` quarters, and one
    reference run without the closure, all with the same scenario, seed and stochastic mode
    (deterministic by default), each ending with the closure's last year. The module
    docstring defines the measures.

    Parameters
    ----------
    scenario : Scenario, path or name, optional
        As for :func:`corridors.run`; ``None`` is the baseline.
    links : sequence of str, optional
        ``"tail>head"`` names (all parallel links of a name close together); default: every
        hard-capacity link and border crossing (:func:`candidate_links`).
    start : str or int
        The first quarter closed (default ``"2027Q1"``).
    quarters : int
        Quarters closed (default 4: one year).
    seed : int, optional
        The seed of every run (default: the scenario's, else fresh entropy, recorded).
    stochastic : bool
        True: the scenario's random draws (weather, disruptions, pledges), the same seed in
        every run; False (default): no random draws.
    overrides : mapping, optional
        Dotted scenario overrides.
    execution : Execution, optional
        Where the runs execute, as for :func:`corridors.sweep`.
    workers : int, optional
        Shorthand for ``execution=Execution(workers=workers)``.
    out : path, optional
        Keep the runs in this directory (resumable: the same call again skips finished
        runs) and write ``criticality.parquet`` there once every run has finished.
    force : bool
        Replace an existing ``out`` holding another analysis.
    on_progress : callable, optional
        Called as ``on_progress(completed, failed, total)`` as runs finish.

    Returns
    -------
    Criticality
        The ranked table, the failed runs and what was run.

    Raises
    ------
    ValueError
        An unknown link, a window outside the scenario's period, a bad seed or execution;
        before anything runs or is written.
    ScenarioError
        An invalid scenario or override.
    FileExistsError
        ``out`` holds something else and ``force`` is False.
    RuntimeError
        The reference run failed (nothing can be compared).
    """
    execution = resolve_execution(execution, workers)
    sc, seed = resolve_scenario(scenario, overrides, seed, None)
    net = packaged_network()
    names = candidate_links(net) if links is None else check_links(links, net)
    first, last = closure_window(sc, start, quarters)
    patience_days = float(sc.parameters().queue_patience_quarters) * QUARTER_DAYS
    text = sc.to_toml()
    tasks = [
        ClosureTask(i, name, first, last, seed, bool(stochastic), text) for i, name in enumerate(("", *names))
    ]
    extra = {
        "links": list(names),
        "closure": [quarter_label(first), quarter_label(last)],
        "patience_days": patience_days,
    }
    design = pd.DataFrame({"run": range(len(tasks)), "point": range(len(tasks)), "replicate": 0})
    design["link"] = ["", *names]
    end_year = step_year(last)
    plan = Plan("criticality", sc, seed, design, end_year, bool(stochastic), extra)
    tables, errors = _run_tasks(
        plan, tasks, execution, out=None if out is None else Path(out), force=force, on_progress=on_progress
    )
    if 0 not in tables:
        reason = errors.get(0, {}).get("message", "it did not finish")
        raise RuntimeError(f"criticality: the reference run without a closure failed: {reason}")
    info = _link_rows(net, names)
    rows = []
    for task in tasks[1:]:
        if task.run in tables:
            rows.append(
                {"link": task.link, **compare_runs(tables[0], tables[task.run], patience_days=patience_days)}
            )
    table = info.merge(pd.DataFrame(rows, columns=["link", *CRITICALITY_COLUMNS[6:]]), on="link")
    table = table.sort_values(["extra_cost_usd", "link"], ascending=[False, True], kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table = table[list(CRITICALITY_COLUMNS)].reset_index(drop=True)
    failures = pd.DataFrame(
        [
            {"run": r, "link": tasks[r].link, "error": e.get("error", ""), "message": e.get("message", "")}
            for r, e in sorted(errors.items())
        ],
        columns=["run", "link", "error", "message"],
    )
    meta = {
        "kind": "criticality",
        "scenario": sc.name,
        "seed": seed,
        "stochastic": bool(stochastic),
        "end_year": end_year,
        **extra,
        "runs": len(tasks),
    }
    if out is not None and failures.empty:
        _finish(Path(out), table, meta)
    return Criticality(table, failures, meta)


def _run_tasks(
    plan: Plan,
    tasks: list[ClosureTask],
    execution: Execution,
    *,
    out: Path | None,
    force: bool,
    on_progress: ProgressFn | None,
) -> tuple[dict[int, pd.DataFrame], dict[int, dict]]:
    """Run the tasks not finished in ``out`` yet; return the tables and errors by run."""
    ex = execution.make_executor()
    directory = None if out is None else open_directory(out, plan, ex, force=force)
    tables: dict[int, pd.DataFrame] = {}
    errors: dict[int, dict] = {}
    done = set() if directory is None else finished_runs(directory)
    todo = [t for t in tasks if t.run not in done]
    failed = 0
    if on_progress is not None:
        on_progress(len(done), 0, len(tasks))
    if todo:
        with ex:
            for i, result, crash in ex.imap_unordered(execute_closure, todo):
                task = todo[i]
                record = result if crash is None else {"run": task.run, "error": error_record(task, crash)}
                if "error" in record:
                    failed += 1
                    errors[task.run] = record["error"]
                else:
                    done.add(task.run)
                    tables[task.run] = record["table"]
                if directory is not None:
                    save_run(directory, task.run, record)
                if on_progress is not None:
                    on_progress(len(done), failed, len(tasks))
    if directory is not None:
        tables, errors = read_runs(directory, plan.design)
    return tables, errors


def _finish(directory: Path, table: pd.DataFrame, meta: dict[str, Any]) -> None:
    """Write the ranked table and mark the directory's manifest complete."""
    write_bytes_atomic(directory / "criticality.parquet", parquet_bytes(table))
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest.update(
        {**meta, "status": "complete", "updated_utc": datetime.now(UTC).isoformat(timespec="seconds")}
    )
    write_json(directory / "manifest.json", manifest)
