"""Investments against futures: which candidates pay off for the five whatever happens.

For each future (a shipped scenario, a scenario file, or a sample of uncertain inputs) the
future runs once without any candidate and once with each candidate investment added to its
timeline, with the same seed and mode, so that the difference is the candidate's alone.
Each candidate's benefit to the five (C5) in a future is:

- the change in the generalised cost of their trade
  (:func:`corridors.results.costs.trade_cost_usd`: freight times the cost it sees: money,
  time, queues, reliability, premiums), a year, from the candidate's start year, discounted
  as the governments appraise projects (``appraisal_discount_rate`` over
  ``appraisal_years``, end of year, :mod:`corridors.agents.states`). Years of the appraisal
  after the run's last year count the last year's saving again (the appraisal's own
  convention: a year's saving as an annuity); ``benefit_in_run_usd_m`` and
  ``benefit_after_run_usd_m`` keep the two apart;
- the change in their Russian-route dependence (the share of their trade on the
  ``russian`` corridor, in the last year), reported beside it.

Net benefit = benefit - cost (projects.csv ``cost_usd_m``, or the event's
``amount_usd_m``), in USD m. The regret table and the choices come from
:mod:`corridors.experiments.regret`; doing nothing (net 0) is a candidate unless told
otherwise. The runs go through the executors of sweeps (local processes or Dask).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridors.atomic import write_dir_atomic
from corridors.events import Investment
from corridors.experiments.designs import check_ranges, lhs_design
from corridors.experiments.executors import Execution
from corridors.experiments.plans import (
    RunTask,
    _scenario_from_toml,
    check_count,
    check_end_year,
    error_record,
    jsonable,
    plan_design,
    resolve_execution,
)
from corridors.experiments.regret import future_weights, regret_summary, regret_table
from corridors.experiments.runs import _scenario, run
from corridors.inputs import packaged_inputs
from corridors.results import parquet_bytes
from corridors.results.costs import trade_cost_usd
from corridors.results.measures import measure
from corridors.vocabulary import quarter_index, step_year

if TYPE_CHECKING:
    from corridors.results import Results
    from corridors.scenario import Scenario

__all__ = [
    "NOTHING",
    "Candidate",
    "Future",
    "RobustResults",
    "candidates_from",
    "project_candidates",
    "robust",
    "sample_futures",
    "scenario_futures",
]

NOTHING = "nothing"
"""The name of the do-nothing choice (net benefit 0 in every future)."""
DEFAULT_START = "2026Q1"
"""Candidates start in the first quarter after the known history of 2019-2025 (baseline.toml)."""
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Candidate:
    """A candidate investment: its name, the event added to each future, its cost (USD m)."""

    name: str
    event: Investment
    cost_usd_m: float

    @property
    def start_year(self) -> int:
        """The year of the quarter the investment starts (its lag counts from there)."""
        return int(step_year(quarter_index(self.event.start)))


@dataclass(frozen=True)
class Future:
    """A future: a scenario, the parameter values that differ (samples), and the seed."""

    name: str
    scenario: Scenario
    values: dict[str, float | int]
    seed: int


def project_candidates(names: Sequence[str] | None = None, *, start: str = DEFAULT_START) -> list[Candidate]:
    """Return projects of projects.csv as candidates, each starting at ``start`` (or its ``earliest_year``).

    Parameters
    ----------
    names : sequence of str, optional
        The projects (default: every project not already completed, ``known_completion``).
    start : str
        The quarter the candidates start, ``"2026Q1"``; a project that cannot start before
        its ``earliest_year`` starts in that year's first quarter.

    Raises
    ------
    ValueError
        An unknown project, one completed in the known history, or a bad ``start``.
    """
    quarter_index(start)  # a bad quarter raises ValueError naming it
    table = packaged_inputs().projects.set_index("project")
    done = table["known_completion"].fillna("").astype(str).str.len() > 0
    if names is None:
        names = [p for p in table.index if not done[p]]
    out = []
    for name in names:
        if name not in table.index:
            msg = f"candidates: unknown project {name!r} (projects.csv has {', '.join(table.index)})"
            raise ValueError(msg)
        row = table.loc[name]
        if done[name]:
            msg = f"candidates: {name} was completed in {row['known_completion']} (projects.csv): it is in every future already"
            raise ValueError(msg)
        first = max(quarter_index(start), quarter_index(f"{int(row['earliest_year'])}Q1"))
        label = f"{step_year(first)}Q{first % 4 + 1}"
        event = Investment(
            start=label,
            funder=str(row["funder_hint"]).split(";")[0],
            project=name,
            edges=tuple(int(e) for e in row["edges"]),
            amount_usd_m=float(row["cost_usd_m"]),
            capacity_factor=float(row["capacity_factor"]),
            time_factor=float(row["time_factor"]),
            opens=row["effect"] == "open",
            lag_quarters=int(row["lag_quarters"]),
            note=str(row["name"]),
        )
        out.append(Candidate(name, event, float(row["cost_usd_m"])))
    return out


def candidates_from(items: Sequence[str], *, start: str = DEFAULT_START) -> list[Candidate]:
    """Return the candidates the command line names: ``projects`` (all), project names, candidates files.

    Parameters
    ----------
    items : sequence of str
        Each ``"projects"`` (every project not yet completed), a project of projects.csv,
        or a TOML file of investment events (:func:`corridors.scenario.candidates.load_candidates`;
        their own ``start``, cost ``amount_usd_m``).
    start : str
        The start of the projects named (not of a file's events).

    Raises
    ------
    ValueError
        No candidate, a name given twice, or what :func:`project_candidates` refuses.
    ScenarioError
        A candidates file that is not valid.
    """
    from corridors.scenario.candidates import load_candidates

    out: list[Candidate] = []
    for item in items:
        if item == "projects":
            out.extend(project_candidates(start=start))
        elif item.endswith(".toml") or Path(item).exists():
            events = load_candidates(item)
            out.extend(Candidate(n, ev, float(ev.amount_usd_m)) for n, ev in events.items())
        else:
            out.extend(project_candidates([item], start=start))
    if not out:
        msg = "candidates: give at least one (projects, a project of projects.csv, or a TOML file)"
        raise ValueError(msg)
    seen: set[str] = set()
    for c in out:
        if c.name in seen or c.name == NOTHING:
            msg = (
                f"candidates: {c.name!r} given twice"
                if c.name in seen
                else f"candidates: {NOTHING!r} is reserved"
            )
            raise ValueError(msg)
        seen.add(c.name)
    return out


def scenario_futures(
    names: Sequence[str | Path | Scenario],
    *,
    overrides: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> list[Future]:
    """Return shipped scenarios (by name), scenario files or scenarios as futures.

    Each runs with ``seed``, else its own seed, else 0.

    Raises
    ------
    ScenarioError
        A scenario that does not load.
    ValueError
        A future given twice.
    """
    out: list[Future] = []
    for name in names:
        sc = _scenario(name, overrides)
        if any(f.name == sc.name for f in out):
            msg = f"futures: {sc.name!r} given twice"
            raise ValueError(msg)
        out.append(Future(sc.name, sc, {}, seed if seed is not None else (sc.seed or 0)))
    return out


def sample_futures(
    scenario: Scenario | str | Path | None,
    ranges: Mapping[str, tuple[float, float]],
    samples: int,
    *,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
) -> list[Future]:
    """Return ``samples`` futures: a Latin hypercube over ``ranges`` (and the scenario's ``[uncertainty]``).

    Parameters
    ----------
    scenario : Scenario, path or name, optional
        The scenario the samples vary (default: the baseline).
    ranges : mapping
        Parameter ranges ``{name: (low, high)}``, as for sweeps; may be empty if the
        scenario has an ``[uncertainty]`` block to draw from.
    samples : int
        How many futures.
    seed : int
        The seed of the design and of every run (common random numbers).

    Raises
    ------
    ValueError
        A bad range or count, or nothing to sample.
    """
    samples = check_count("samples", samples)
    sc = _scenario(scenario, overrides)
    if ranges:
        points = lhs_design(check_ranges(ranges), samples, seed)
        design = plan_design(points, 1, sc, seed)
    elif sc.uncertainty:
        design = plan_design(pd.DataFrame(), samples, sc, seed)
    else:
        msg = (
            f"samples: give parameter ranges (--param) or a scenario with [uncertainty] ({sc.name} has none)"
        )
        raise ValueError(msg)
    names = [c for c in design.columns if c not in ("run", "point", "replicate")]
    out = []
    for i, row in enumerate(design.to_dict(orient="records")):
        values = {n: row[n] for n in names}
        out.append(Future(f"{sc.name}#{i}", sc, values, seed))
    return out


# ----------------------------------------------------------------------- the runs


@dataclass(frozen=True)
class RobustTask:
    """One run of the grid: a future, with one candidate (``candidate`` >= 0) or none (-1)."""

    task: RunTask
    future: int
    candidate: int
    event: Investment | None


def evaluate(job: RobustTask) -> dict[str, Any]:
    """Run one task in a worker, never raising: the five's yearly trade cost and Russian share.

    Returns
    -------
    dict
        ``{"years", "trade_cost_usd", "russian_share", "rate", "appraisal_years"}``, or
        ``{"error": ...}`` (:func:`~corridors.experiments.plans.error_record`).
    """
    from corridors.experiments.executors import prepare_worker

    task = job.task
    try:
        prepare_worker()
        sc = _scenario_from_toml(task.scenario_toml)
        params = sc.parameters().with_values(task.values)
        events = sc.events(params) + ([job.event] if job.event is not None else [])
        res = run(
            sc,
            seed=task.seed,
            replicate=task.replicate,
            params=params,
            events=events,
            end_year=task.end_year,
            stochastic=task.stochastic,
        )
        return {
            **_c5_record(res),
            "rate": params.appraisal_discount_rate,
            "appraisal_years": params.appraisal_years,
        }
    except Exception as exc:
        return {"error": error_record(task, exc)}


def _c5_record(res: Results) -> dict[str, list]:
    cost = trade_cost_usd(res.costs, res.meta["shippers"])
    share = measure(res, "russian_dependence", country="C5").reindex(cost.index)
    return {
        "years": [int(y) for y in cost.index],
        "trade_cost_usd": [float(v) for v in cost.to_numpy()],
        "russian_share": [float(v) for v in share.to_numpy()],
    }


def discounted_benefit(
    savings: pd.Series, start_year: int, *, rate: float, years: int
) -> tuple[float, float]:
    """Return the present value at ``start_year`` of yearly savings: (within the run, after it).

    Years ``start_year .. start_year + years - 1`` count, each discounted at the end of its
    year, ``(1 + rate) ** -(year - start_year + 1)``. Years after the last of ``savings``
    count the last year's saving again.

    Examples
    --------
    >>> s = pd.Series([0.0, 10.0, 20.0], index=[2025, 2026, 2027])
    >>> discounted_benefit(s, 2026, rate=0.0, years=4)
    (30.0, 40.0)
    """
    last_year = int(savings.index.max())
    window = np.arange(start_year, start_year + years)
    factor = (1.0 + rate) ** -(window - start_year + 1.0)
    inside = window <= last_year
    values = savings.reindex(window[inside], fill_value=0.0).to_numpy(dtype=float)
    in_run = float(values @ factor[inside])
    after = float(savings.loc[last_year]) * float(factor[~inside].sum())
    return in_run, after


# ----------------------------------------------------------------------- the results


@dataclass
class RobustResults:
    """The candidates x futures grid: benefits, regret, the choices, and the runs' yearly values.

    Attributes
    ----------
    benefits : pandas.DataFrame
        One row per candidate and future: candidate, future, start_year, cost_usd_m,
        benefit_in_run_usd_m, benefit_after_run_usd_m, benefit_usd_m, net_benefit_usd_m,
        russian_share_without, russian_share_with, russian_share_change (last year),
        regret_usd_m.
    summary : pandas.DataFrame
        One row per candidate (``nothing`` too, unless left out): expected_net_usd_m,
        worst_net_usd_m, max_regret_usd_m, worst_future, minimax_regret, best_expected.
    annual : pandas.DataFrame
        One row per run and year: future, candidate (``nothing`` for the run without),
        year, trade_cost_usd, russian_share.
    meta : dict
        Futures, candidates, seeds, weights, end year, mode, executor, choices.
    """

    benefits: pd.DataFrame
    summary: pd.DataFrame
    annual: pd.DataFrame
    meta: dict[str, Any]

    @property
    def minimax_regret(self) -> str:
        """The candidate with the least worst regret."""
        return str(self.summary.index[self.summary["minimax_regret"]][0])

    @property
    def best_expected(self) -> str:
        """The candidate with the greatest expected net benefit."""
        return str(self.summary.index[self.summary["best_expected"]][0])

    def net(self) -> pd.DataFrame:
        """Net benefits (USD m), candidates x futures, ``nothing`` included if it was."""
        wide = self.benefits.pivot(index="candidate", columns="future", values="net_benefit_usd_m")
        order = [c for c in self.summary.index if c in wide.index]
        wide = wide.reindex(index=order, columns=self.meta["futures"])
        if NOTHING in self.summary.index:
            wide.loc[NOTHING] = 0.0
        return wide

    def save(self, out: str | Path, *, force: bool = False) -> Path:
        """Write the directory ``out`` atomically: Parquet tables, robust.json, robust.png.

        Raises
        ------
        FileExistsError
            ``out`` exists and ``force`` is False.
        """
        from corridors.plots import png_bytes
        from corridors.plots.robust import robust_figure

        summary = self.summary.rename_axis("candidate").reset_index()
        png = png_bytes(robust_figure(self.net(), self.summary), dpi=130)

        def fill(tmp: Path) -> None:
            (tmp / "benefits.parquet").write_bytes(parquet_bytes(self.benefits))
            (tmp / "summary.parquet").write_bytes(parquet_bytes(summary))
            (tmp / "annual.parquet").write_bytes(parquet_bytes(self.annual))
            (tmp / "robust.json").write_text(json.dumps(jsonable(self.meta), indent=2))
            (tmp / "robust.png").write_bytes(png)

        return write_dir_atomic(out, fill, force=force)


def _check_candidates(candidates: Sequence[Candidate], futures: Sequence[Future], end_year: int) -> None:
    known = packaged_inputs().projects
    completed = set(known.loc[known["known_completion"].fillna("").astype(str) != "", "project"])
    for f in futures:
        planned = {ev.project for ev in f.scenario.events() if isinstance(ev, Investment) and ev.project}
        for c in candidates:
            if c.start_year > end_year:
                msg = f"candidates: {c.name} starts in {c.event.start}, after the last year {end_year}"
                raise ValueError(msg)
            project = c.event.project
            if project and (project in planned or project in completed):
                msg = f"candidates: {c.name}: project {project} is already in future {f.name}'s timeline"
                raise ValueError(msg)


def robust(
    candidates: Sequence[Candidate],
    futures: Sequence[Future],
    *,
    end_year: int | None = None,
    stochastic: bool = False,
    weights: Mapping[str, float] | None = None,
    include_nothing: bool = True,
    execution: Execution | None = None,
    workers: int | None = None,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> RobustResults:
    """Run every future with and without each candidate and weigh the candidates' net benefits.

    Parameters
    ----------
    candidates : sequence of Candidate
        :func:`project_candidates` or :func:`candidates_from`.
    futures : sequence of Future
        :func:`scenario_futures` and/or :func:`sample_futures`.
    end_year : int, optional
        The last year of every run (default: each future's ``period.end_year``).
    stochastic : bool
        Random draws (weather, disruptions, pledges); False (the default) compares the
        candidates' mechanisms rather than one draw. Either way the runs with and without a
        candidate share their seed.
    weights : mapping, optional
        A weight per future for the expected net benefit (default: equal).
    include_nothing : bool
        Count doing nothing (net 0) as a choice.
    execution, workers : optional
        Where the runs execute, as for :func:`corridors.sweep`.
    on_progress : callable, optional
        ``on_progress(done, failed, total)`` as runs finish.

    Returns
    -------
    RobustResults

    Raises
    ------
    ValueError
        No candidate or future, a bad end year or weight, a candidate starting after the
        last year or already in a future's timeline.
    RuntimeError
        Runs failed (the first error's message).

    Examples
    --------
    >>> cands = project_candidates(["altynkol_khorgos_upgrade"], start="2019Q1")  # doctest: +SKIP
    >>> res = robust(cands, scenario_futures(["baseline"]), end_year=2021, workers=1)  # doctest: +SKIP
    >>> res.minimax_regret  # doctest: +SKIP
    """
    if not candidates or not futures:
        msg = "robust: needs at least one candidate and one future"
        raise ValueError(msg)
    names = [f.name for f in futures]
    if len(set(names)) < len(names):
        msg = "futures: two futures share a name"
        raise ValueError(msg)
    w = future_weights(names, weights)
    for f in futures:
        check_end_year(f.scenario, end_year)
    last = end_year if end_year is not None else min(f.scenario.period.end_year for f in futures)
    _check_candidates(candidates, futures, last)
    execution = resolve_execution(execution, workers)
    jobs: list[RobustTask] = []
    for i, f in enumerate(futures):
        base = RunTask(len(jobs), 0, f.seed, dict(f.values), end_year, stochastic, f.scenario.to_toml())
        jobs.append(RobustTask(base, i, -1, None))
        for j, c in enumerate(candidates):
            jobs.append(RobustTask(replace(base, run=len(jobs)), i, j, c.event))
    records: dict[int, dict] = {}
    failed: list[dict] = []
    total = len(jobs)
    if on_progress is not None:
        on_progress(0, 0, total)
    t0 = time.perf_counter()
    ex = execution.make_executor()
    with ex:
        for i, result, crash in ex.imap_unordered(evaluate, jobs):
            record = result if crash is None else {"error": error_record(jobs[i].task, crash)}
            if "error" in record:
                failed.append(record["error"])
            else:
                records[i] = record
            if on_progress is not None:
                on_progress(len(records), len(failed), total)
    if failed:
        first = min(failed, key=lambda e: e["run"])
        msg = (
            f"{len(failed)} of {total} runs failed; run {first['run']}: {first['error']}: {first['message']}"
        )
        raise RuntimeError(msg)
    annual = _annual(jobs, records, futures, candidates)
    benefits = _benefits(jobs, records, futures, candidates)
    net = benefits.pivot(index="candidate", columns="future", values="net_benefit_usd_m")
    net = net.reindex(index=[c.name for c in candidates], columns=names)
    if include_nothing:
        net.loc[NOTHING] = 0.0
    regret = regret_table(net)
    benefits["regret_usd_m"] = [
        regret.at[c, f] for c, f in zip(benefits["candidate"], benefits["future"], strict=True)
    ]
    summary = regret_summary(net, dict(w)).rename(
        columns={
            "expected_net": "expected_net_usd_m",
            "worst_net": "worst_net_usd_m",
            "max_regret": "max_regret_usd_m",
        }
    )
    summary.index.name = "candidate"
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": "robust",
        "futures": names,
        "weights": dict(w),
        "seeds": {f.name: f.seed for f in futures},
        "future_values": {f.name: f.values for f in futures if f.values},
        "future_scenarios": {f.name: f.scenario.name for f in futures},
        "candidates": {c.name: {"cost_usd_m": c.cost_usd_m, **c.event.to_dict()} for c in candidates},
        "end_year": end_year,
        "stochastic": stochastic,
        "include_nothing": include_nothing,
        "minimax_regret": str(summary.index[summary["minimax_regret"]][0]),
        "best_expected": str(summary.index[summary["best_expected"]][0]),
        "runs": total,
        "seconds": round(time.perf_counter() - t0, 3),
        **ex.describe(),
    }
    return RobustResults(benefits, summary, annual, meta)


def _annual(jobs, records, futures, candidates) -> pd.DataFrame:
    frames = []
    for i, job in enumerate(jobs):
        r = records[i]
        who = NOTHING if job.candidate < 0 else candidates[job.candidate].name
        frames.append(
            pd.DataFrame(
                {
                    "future": futures[job.future].name,
                    "candidate": who,
                    "year": np.asarray(r["years"], dtype="int64"),
                    "trade_cost_usd": r["trade_cost_usd"],
                    "russian_share": r["russian_share"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _benefits(jobs, records, futures, candidates) -> pd.DataFrame:
    without = {job.future: records[i] for i, job in enumerate(jobs) if job.candidate < 0}
    rows = []
    for i, job in enumerate(jobs):
        if job.candidate < 0:
            continue
        c, base, mine = candidates[job.candidate], without[job.future], records[i]
        years = pd.Index(base["years"])
        saving = pd.Series(base["trade_cost_usd"], index=years) - pd.Series(
            mine["trade_cost_usd"], index=years
        )
        in_run, after = discounted_benefit(
            saving, c.start_year, rate=mine["rate"], years=mine["appraisal_years"]
        )
        benefit = (in_run + after) / 1e6
        share_without, share_with = base["russian_share"][-1], mine["russian_share"][-1]
        rows.append(
            {
                "candidate": c.name,
                "future": futures[job.future].name,
                "start_year": c.start_year,
                "cost_usd_m": c.cost_usd_m,
                "benefit_in_run_usd_m": in_run / 1e6,
                "benefit_after_run_usd_m": after / 1e6,
                "benefit_usd_m": benefit,
                "net_benefit_usd_m": benefit - c.cost_usd_m,
                "russian_share_without": share_without,
                "russian_share_with": share_with,
                "russian_share_change": share_with - share_without
                if not (math.isnan(share_with) or math.isnan(share_without))
                else math.nan,
            }
        )
    return pd.DataFrame(rows)
