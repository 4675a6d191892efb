"""Replicates, sweeps and sensitivity analysis, on local processes or a Dask cluster.

Every run of an ensemble is a row of its *design* (:mod:`~corridors.experiments.plans`):
a run number, a sample point, a replicate and the parameter values it uses (swept values,
and the replicate's draws of the scenario's ``[uncertainty]``). Replicate ``r`` is seeded
from ``SeedSequence(seed).spawn(n)[r]`` (:mod:`corridors.uncertainty`), so no result
depends on which worker ran it or when, and replicate 0 of seed ``S`` is
``corridors.run(sc, seed=S)``.

With ``out``, the ensemble is a directory that survives interruption
(:mod:`~corridors.experiments.directory`): every file is written atomically, and running
the same command again skips the finished runs and retries the failed ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from corridors.atomic import write_bytes_atomic
from corridors.experiments import designs
from corridors.experiments.directory import (
    finish_directory,
    finished_runs,
    open_directory,
    read_runs,
    save_run,
)
from corridors.experiments.executors import Execution
from corridors.experiments.plans import (
    Plan,
    check_count,
    check_ranges_in_scenario,
    error_record,
    execute,
    plan_design,
    resolve_execution,
    resolve_scenario,
)
from corridors.experiments.records import merge_runs, outcomes, run_table
from corridors.results import EnsembleResults, parquet_bytes
from corridors.uncertainty import NUMERIC_PARAMETERS, parameter_values

if TYPE_CHECKING:
    from corridors.scenario import Scenario

__all__ = [
    "Sensitivity",
    "execute",
    "outcomes",
    "run_ensemble",
    "run_one",
    "run_table",
    "sensitivity",
    "sweep",
]

FORMAT_VERSION = 1
ProgressFn = Callable[[int, int, int], None]


# ----------------------------------------------------------------------- the public API


def run_ensemble(
    scenario: Scenario | str | Path | None = None,
    *,
    replicates: int = 10,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    end_year: int | None = None,
    execution: Execution | None = None,
    workers: int | None = None,
    out: str | Path | None = None,
    force: bool = False,
    on_progress: ProgressFn | None = None,
) -> EnsembleResults:
    """Run ``replicates`` replicates of a scenario in parallel.

    Parameters
    ----------
    scenario : Scenario, path or name, optional
        As for :func:`corridors.run`; ``None`` is the baseline. Its ``[uncertainty]`` table,
        if any, is drawn once per replicate.
    replicates : int
        Number of runs; replicate ``r`` is seeded from ``SeedSequence(seed).spawn(n)[r]``.
    seed : int, optional
        Root seed (default: the scenario's, else fresh entropy recorded in the results).
    overrides : mapping, optional
        Dotted scenario overrides, as for :func:`corridors.load_scenario`.
    end_year : int, optional
        Replace the scenario's last year.
    execution : Execution, optional
        Where the runs execute (:class:`corridors.experiments.executors.Execution`: worker processes,
        an embedded Dask cluster or an existing one). Default: ``Execution()``, local
        processes on every core, or the Dask scheduler in ``DASK_SCHEDULER_ADDRESS``.
    workers : int, optional
        Shorthand for ``execution=Execution(workers=workers)``; not with ``execution``.
    out : path, optional
        Write the ensemble directory here (resumable, see the module docstring).
    force : bool
        Replace an existing ``out`` that holds a different ensemble.
    on_progress : callable, optional
        Called as ``on_progress(completed, failed, total)`` as runs finish.

    Returns
    -------
    EnsembleResults
        Tables with ``run`` and ``replicate`` columns, sorted by run; runs that raised are
        in ``failures`` (they never stop the others).

    Raises
    ------
    ValueError
        A count, seed or end year out of range, or a bad ``execution`` (or ``workers``
        beside it), before anything runs or is written.
    ScenarioError
        If the scenario file, its name or an override is invalid.
    FileExistsError
        ``out`` exists and is not an ensemble directory, or holds a different one, and
        ``force`` is False.
    ExecutorError
        The executor cannot start (an unreachable Dask scheduler, say).

    Examples
    --------
    >>> ens = run_ensemble("baseline", replicates=2, seed=7, end_year=2020, workers=1)
    >>> ens.meta["runs"], sorted(ens.corridors["replicate"].unique().tolist())
    (2, [0, 1])
    >>> ens.failures.empty
    True
    """
    execution = resolve_execution(execution, workers)
    replicates = check_count("replicates", replicates)
    sc, seed = resolve_scenario(scenario, overrides, seed, end_year)
    plan = Plan("ensemble", sc, seed, plan_design(pd.DataFrame(), replicates, sc, seed), end_year)
    return _execute(plan, execution, out=out, force=force, on_progress=on_progress)


def sweep(
    scenario: Scenario | str | Path | None = None,
    *,
    params: Mapping[str, tuple[float, float]],
    samples: int = 10,
    design: Literal["grid", "lhs"] = "lhs",
    replicates: int = 1,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    end_year: int | None = None,
    execution: Execution | None = None,
    workers: int | None = None,
    out: str | Path | None = None,
    force: bool = False,
    on_progress: ProgressFn | None = None,
) -> EnsembleResults:
    """Sweep numeric parameters over ranges: a grid or a Latin hypercube, times replicates.

    Parameters
    ----------
    scenario : Scenario, path or name, optional
        As for :func:`run_ensemble`; ``None`` is the baseline.
    params : mapping
        Parameter names to ``(low, high)``; both ends must be valid values of the scenario.
    samples : int
        ``design="grid"``: evenly spaced values of each parameter, ends included
        (``samples ** k`` points); ``"lhs"``: points in all.
    design : {"grid", "lhs"}
        A full grid, or a Latin hypercube drawn from ``seed``.
    replicates : int
        Runs per point, with common random numbers (replicate ``r`` has the same seed at
        every point).
    seed : int, optional
        Root seed (default: the scenario's, else fresh entropy recorded in the results).
    overrides : mapping, optional
        Dotted scenario overrides, as for :func:`corridors.load_scenario`.
    end_year : int, optional
        Replace the scenario's last year.
    execution : Execution, optional
        Where the runs execute, as for :func:`run_ensemble`.
    workers : int, optional
        Shorthand for ``execution=Execution(workers=workers)``; not with ``execution``.
    out : path, optional
        Write the sweep directory here (resumable: :mod:`corridors.experiments.directory`).
    force : bool
        Replace an existing ``out`` that holds a different sweep.
    on_progress : callable, optional
        Called as ``on_progress(completed, failed, total)`` as runs finish.

    Returns
    -------
    EnsembleResults
        As for :func:`run_ensemble`; ``outcomes`` holds each run's parameter values and
        scalar outcomes.

    Raises
    ------
    ValueError
        No range, a malformed one or one of a name that is not a numeric parameter, an
        unknown ``design``, or a count, seed, end year or execution as for
        :func:`run_ensemble`; before anything runs.
    ScenarioError
        An invalid scenario or override, or a range end the scenario refuses.
    FileExistsError
        As for :func:`run_ensemble`.

    Examples
    --------
    >>> sw = sweep("baseline", params={"cost_elasticity": (2.0, 6.0)}, samples=3, design="grid",
    ...            seed=7, end_year=2020, workers=1)
    >>> sw.outcomes["cost_elasticity"].tolist()
    [2.0, 4.0, 6.0]
    """
    execution = resolve_execution(execution, workers)
    ranges = designs.check_ranges(params)
    samples, replicates = check_count("samples", samples), check_count("replicates", replicates)
    if design not in designs.DESIGNS:
        msg = f"design: must be 'grid' or 'lhs', got {design!r}"
        raise ValueError(msg)
    sc, seed = resolve_scenario(scenario, overrides, seed, end_year)
    check_ranges_in_scenario(sc, ranges)
    points = (
        designs.grid_design(ranges, samples)
        if design == "grid"
        else designs.lhs_design(ranges, samples, seed)
    )
    extra = {"design": design, "samples": samples, "ranges": {k: list(v) for k, v in ranges.items()}}
    plan = Plan("sweep", sc, seed, plan_design(points, replicates, sc, seed), end_year, extra=extra)
    return _execute(plan, execution, out=out, force=force, on_progress=on_progress)


@dataclass(eq=False)
class Sensitivity:
    """A sensitivity analysis: its runs, and one row of indices per (outcome, parameter).

    Made by :func:`sensitivity`.

    Parameters
    ----------
    ensemble : EnsembleResults
        The runs of the design, with their parameter values and outcomes.
    indices : pandas.DataFrame
        One row per outcome and parameter: ``outcome``, ``parameter`` and, for Morris,
        ``mu``, ``mu_star``, ``sigma``, ``mu_star_conf``; for Sobol', ``S1``, ``S1_conf``,
        ``ST``, ``ST_conf``. Outcomes with a missing value (a failed run, an outcome that
        did not occur) are left out and listed in ``indices.attrs["skipped"]``.
    method : {"morris", "sobol"}
        The method of the indices.

    Examples
    --------
    >>> sens = sensitivity("baseline", params={"cost_elasticity": (2.0, 6.0), "renewal_rate": (0.1, 0.5)},
    ...                    samples=2, seed=7, end_year=2020, workers=1)
    >>> sens.method, len(sens.ensemble.outcomes)  # 2 trajectories x (2 parameters + 1) runs
    ('morris', 6)
    >>> sorted(sens.ranking("middle_share"))
    ['cost_elasticity', 'renewal_rate']
    """

    ensemble: EnsembleResults
    indices: pd.DataFrame
    method: str

    def ranking(self, outcome: str) -> list[str]:
        """Rank the parameters from most to least influential on ``outcome``.

        Parameters
        ----------
        outcome : str
            An outcome of the indices (``"middle_share"``, say).

        Returns
        -------
        list of str
            Parameter names by Morris ``mu_star`` or Sobol' total index ``ST``, largest first.

        Raises
        ------
        KeyError
            ``outcome`` has no indices (the message lists the skipped outcomes).
        """
        key = "mu_star" if self.method == "morris" else "ST"
        rows = self.indices[self.indices["outcome"] == outcome]
        if rows.empty:
            msg = f"outcome: {outcome!r} has no indices (skipped: {', '.join(self.indices.attrs.get('skipped', []))})"
            raise KeyError(msg)
        return rows.sort_values(key, ascending=False)["parameter"].tolist()


def sensitivity(
    scenario: Scenario | str | Path | None = None,
    *,
    params: Mapping[str, tuple[float, float]],
    method: Literal["morris", "sobol"] = "morris",
    samples: int = 8,
    replicates: int = 1,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    end_year: int | None = None,
    execution: Execution | None = None,
    workers: int | None = None,
    out: str | Path | None = None,
    force: bool = False,
    on_progress: ProgressFn | None = None,
) -> Sensitivity:
    """Analyse the global sensitivity of every scalar outcome to the parameters in ``params`` (SALib).

    Parameters
    ----------
    scenario : Scenario, path or name, optional
        As for :func:`run_ensemble`; ``None`` is the baseline.
    params : mapping
        Parameter names to ``(low, high)``; both ends must be valid values of the scenario.
    method : {"morris", "sobol"}
        ``"morris"``: ``samples`` trajectories, ``samples * (k + 1)`` runs, elementary
        effects (``mu_star`` ranks). ``"sobol"``: Saltelli's scheme, ``samples * (k + 2)``
        runs, first-order and total indices.
    samples : int
        Morris trajectories, or Sobol' base samples (a power of 2); at least 2.
    replicates : int
        Runs per point, whose outcomes are averaged (common random numbers).
    seed : int, optional
        Root seed of the runs and of the design (default: the scenario's, else fresh
        entropy recorded in the results).
    overrides : mapping, optional
        Dotted scenario overrides, as for :func:`corridors.load_scenario`.
    end_year : int, optional
        Replace the scenario's last year.
    execution : Execution, optional
        Where the runs execute, as for :func:`run_ensemble`.
    workers : int, optional
        Shorthand for ``execution=Execution(workers=workers)``; not with ``execution``.
    out : path, optional
        Write the directory here (resumable, as for :func:`run_ensemble`); once every run
        has finished without failure, ``sensitivity.parquet`` holds the indices too.
    force : bool
        Replace an existing ``out`` that holds a different analysis.
    on_progress : callable, optional
        Called as ``on_progress(completed, failed, total)`` as runs finish.

    Returns
    -------
    Sensitivity
        The runs (``ensemble``) and one row of indices per outcome and parameter.

    Raises
    ------
    ValueError
        No range or a malformed one, an unknown ``method``, fewer than 2 samples (or, for
        Sobol', not a power of 2), or a count, seed, end year or execution as for
        :func:`run_ensemble`; before anything runs.
    ScenarioError
        An invalid scenario or override, or a range end the scenario refuses.
    FileExistsError
        As for :func:`run_ensemble`.

    Examples
    --------
    See :class:`Sensitivity`.
    """
    execution = resolve_execution(execution, workers)
    ranges = designs.check_ranges(params)
    samples, replicates = check_count("samples", samples, 2), check_count("replicates", replicates)
    if method not in designs.METHODS:
        msg = f"method: must be 'morris' or 'sobol', got {method!r}"
        raise ValueError(msg)
    sc, seed = resolve_scenario(scenario, overrides, seed, end_year)
    check_ranges_in_scenario(sc, ranges)
    points = designs.sensitivity_design(ranges, method, samples, seed)
    extra = {"method": method, "samples": samples, "ranges": {k: list(v) for k, v in ranges.items()}}
    plan = Plan("sensitivity", sc, seed, plan_design(points, replicates, sc, seed), end_year, extra=extra)
    ens = _execute(plan, execution, out=out, force=force, on_progress=on_progress)
    indices = _indices(ens, ranges, points, method, seed)
    if out is not None and ens.failures.empty:
        write_bytes_atomic(Path(out) / "sensitivity.parquet", parquet_bytes(indices))
    return Sensitivity(ens, indices, method)


def _indices(ens: EnsembleResults, ranges, points: pd.DataFrame, method: str, seed: int) -> pd.DataFrame:
    names = [c for c in ens.outcomes.columns if c not in ("run", "point", "replicate", *ranges)]
    by_point = ens.outcomes.groupby("point")[names].mean()
    by_point = by_point.reindex(range(len(points)))  # failed points: NaN, so the outcome is skipped
    outputs = {n: by_point[n].to_numpy() for n in names}
    return designs.sensitivity_indices(ranges, points, outputs, method, seed=seed)


def run_one(
    *,
    scenario: Scenario | str | Path | None = None,
    seed: int | None = None,
    end_year: int | None = None,
    **params: float,
) -> dict[str, float]:
    """Run the model once with parameters given as keywords; return its named scalar outcomes.

    Any field of :class:`corridors.Parameters` is a keyword (``cost_elasticity=3.5``), so
    EMA Workbench, SALib or ``scipy.optimize`` can drive the model::

        corridors.run_one(cost_elasticity=3.5, end_year=2030)["middle_share"]

    Parameters
    ----------
    scenario : Scenario, path or name, optional
        As for :func:`corridors.run`; ``None`` is the baseline.
    seed : int, optional
        Random seed (default: the scenario's).
    end_year : int, optional
        Replace the scenario's last year.
    **params : float
        Fields of :class:`corridors.Parameters` replacing the scenario's values. Integer
        parameters given as floats (by an optimiser) are rounded.

    Returns
    -------
    dict of str to float
        The dict of :func:`outcomes` (floats; NaN where an outcome did not occur):
        ``middle_share``, ``russian_volume_t``, ``middle_overtakes_russian_year``, ...

    Raises
    ------
    TypeError
        A keyword that is not a field of :class:`corridors.Parameters` (the message starts
        with ``run_one:``).
    ScenarioError
        If the scenario file or its name is invalid.

    Examples
    --------
    >>> out = run_one(cost_elasticity=3.5, seed=7, end_year=2021)
    >>> 0.0 <= out["middle_share"] <= 1.0
    True
    """
    from corridors.experiments.runs import _scenario, run

    sc = _scenario(scenario, None)
    numeric = parameter_values({k: v for k, v in params.items() if k in NUMERIC_PARAMETERS})
    try:
        p = sc.parameters().replace(**{**params, **numeric})
    except TypeError as exc:
        raise TypeError(f"run_one: {exc}") from None
    res = run(sc, seed=seed, params=p, events=sc.events(p), end_year=end_year)
    return outcomes(res)


# ----------------------------------------------------------------------- executing a plan


def _execute(
    plan: Plan, execution: Execution, *, out, force, on_progress: ProgressFn | None
) -> EnsembleResults:
    """Run a plan's runs (those not finished in ``out`` yet) and merge them."""
    ex = execution.make_executor()
    tasks = plan.tasks()
    total = len(tasks)
    directory = None if out is None else open_directory(Path(out), plan, ex, force=force)
    tables: dict[int, pd.DataFrame] = {}
    errors: dict[int, dict[str, Any]] = {}
    done = set() if directory is None else finished_runs(directory)
    todo = [t for t in tasks if t.run not in done]
    failed = 0
    if on_progress is not None:
        on_progress(len(done), 0, total)
    t0 = time.perf_counter()
    if todo:
        with ex:
            for i, result, crash in ex.imap_unordered(execute, todo):
                task = todo[i]
                record = result if crash is None else {"run": task.run, "error": error_record(task, crash)}
                if "error" in record:
                    failed += 1
                    if directory is None:
                        errors[task.run] = record["error"]
                else:
                    done.add(task.run)
                    if directory is None:
                        tables[task.run] = record["table"]
                if directory is not None:
                    save_run(directory, task.run, record)
                if on_progress is not None:
                    on_progress(len(done), failed, total)
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": plan.kind,
        "scenario": plan.sc.name,
        "seed": plan.seed,
        "runs": total,
        "end_year": plan.end_year if plan.end_year is not None else plan.sc.period.end_year,
        "report_from": plan.sc.period.report_from,
        **plan.extra,
        **ex.describe(),
        "seconds": round(time.perf_counter() - t0, 3),
        "runs_this_session": len(todo),
    }
    if directory is not None:
        tables, errors = read_runs(directory, plan.design)
    ens = merge_runs(plan.design, tables, errors, meta)
    if directory is not None:
        finish_directory(directory, ens, plan)
    return ens
