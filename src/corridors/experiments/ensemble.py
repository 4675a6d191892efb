"""Replicates, sweeps and sensitivity analysis, on local processes or a Dask cluster.

Every run of an ensemble is a row of its *design*: a run number, a sample point, a
replicate and the parameter values it uses (swept values, and the replicate's draws of the
scenario's ``[uncertainty]``). Replicate ``r`` is seeded from
``SeedSequence(seed).spawn(n)[r]`` (:mod:`corridors.uncertainty`), so no result depends on
which worker ran it or when, and replicate 0 of seed ``S`` is ``corridors.run(sc, seed=S)``.

With ``out``, the ensemble is a directory that survives interruption::

    out/manifest.json        what was asked (scenario, seed, design, executor) and its status
    out/scenario.toml        the resolved scenario
    out/design.parquet       every run: run, point, replicate and its parameter values
    out/runs/run-000042.parquet        one small file per finished run (annual tables)
    out/runs/run-000042.error.json     or the error of a run that raised
    out/corridors.parquet, observables.parquet, outcomes.parquet, failures.json, ensemble.json
                             the merged tables (corridors.load_ensemble reads them)

Every file is written atomically. Running the same command again skips the finished runs
and retries the failed ones.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from corridors.atomic import write_bytes_atomic, write_dir_atomic
from corridors.experiments import designs
from corridors.experiments.executors import Execution, Executor
from corridors.experiments.records import merge_runs, outcomes, run_table
from corridors.results import EnsembleResults, parquet_bytes
from corridors.uncertainty import NUMERIC_PARAMETERS, draw_parameters, parameter_values

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


# ----------------------------------------------------------------------- one task


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (picklable, and small)."""

    run: int
    replicate: int
    seed: int
    values: dict[str, float | int]
    end_year: int | None
    stochastic: bool
    scenario_toml: str


@functools.lru_cache(maxsize=8)
def _scenario_from_toml(text: str) -> Scenario:
    """The resolved scenario a task carries, loaded once per worker process."""
    from corridors.scenario import load_scenario

    with tempfile.TemporaryDirectory(prefix="corridors-") as tmp:
        path = Path(tmp) / "scenario.toml"
        path.write_text(text)
        return load_scenario(path)


def execute(task: RunTask) -> dict[str, Any]:
    """Run one task in a worker: ``{"run", "table"}`` or ``{"run", "error"}``, never raising."""
    from corridors.experiments.executors import prepare_worker
    from corridors.experiments.runs import run

    t0 = time.perf_counter()
    try:
        prepare_worker()
        sc = _scenario_from_toml(task.scenario_toml)
        params = sc.parameters().replace(**task.values)
        res = run(sc, seed=task.seed, replicate=task.replicate, params=params, events=sc.events(params),
                  end_year=task.end_year, stochastic=task.stochastic)  # fmt: skip
        return {"run": task.run, "table": run_table(res), "seconds": time.perf_counter() - t0}
    except Exception as exc:
        return {"run": task.run, "error": _error_record(task, exc), "seconds": time.perf_counter() - t0}


def _error_record(task: RunTask, exc: BaseException) -> dict[str, Any]:
    from corridors.errors import CorridorsError

    message = str(exc)
    if isinstance(exc, CorridorsError) and exc.file is not None:
        # the worker read the resolved scenario from a temporary file: name its copy instead
        message = ": ".join(p for p in ("scenario.toml", exc.where, exc.reason) if p)
    return {
        "run": task.run,
        "replicate": task.replicate,
        "values": dict(task.values),
        "error": type(exc).__name__,
        "message": " ".join(message.split()),
        "traceback": "".join(traceback.format_exception(exc)),
    }


# ----------------------------------------------------------------------- plans


@dataclass
class _Plan:
    kind: str
    sc: Scenario
    seed: int
    design: pd.DataFrame  # run, point, replicate, parameter values
    end_year: int | None
    stochastic: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def tasks(self) -> list[RunTask]:
        text = self.sc.to_toml()
        names = [c for c in self.design.columns if c not in ("run", "point", "replicate")]
        out = []
        for row in self.design.itertuples(index=False):
            values = parameter_values({n: getattr(row, n) for n in names if not _missing(getattr(row, n))})
            out.append(
                RunTask(
                    int(row.run), int(row.replicate), self.seed, values, self.end_year, self.stochastic, text
                )
            )
        return out

    def fingerprint(self) -> str:
        """Same fingerprint: the same runs (a directory with it can be resumed)."""
        design = _jsonable(self.design.to_dict(orient="split"))
        blob = json.dumps([self.kind, self.sc.to_toml(), self.seed, self.end_year, self.stochastic, design,
                           _jsonable(self.extra)], sort_keys=True)  # fmt: skip
        return hashlib.sha256(blob.encode()).hexdigest()


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _design(points: pd.DataFrame, replicates: int, sc: Scenario, seed: int) -> pd.DataFrame:
    """Runs = points x replicates; each replicate's uncertain draws, swept values winning."""
    rows = []
    swept = list(points.columns)
    for p, point in enumerate(points.to_dict(orient="records") or [{}]):
        for r in range(replicates):
            draws = {k: v for k, v in draw_parameters(sc.uncertainty, seed, r).items() if k not in swept}
            rows.append({"run": len(rows), "point": p, "replicate": r, **parameter_values(point), **draws})
    out = pd.DataFrame(rows)
    return out.astype({"run": "int64", "point": "int64", "replicate": "int64"})


def _resolve(scenario: Scenario | str | Path | None, overrides: Mapping[str, Any] | None,
             seed: int | None, end_year: int | None) -> tuple[Scenario, int]:  # fmt: skip
    from corridors.experiments.runs import _scenario

    sc = _scenario(scenario, overrides)
    _check_end_year(sc, end_year)
    if seed is None:
        seed = sc.seed if sc.seed is not None else int(np.random.SeedSequence().entropy % 2**63)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        msg = f"seed: must be an integer >= 0, got {seed!r}"
        raise ValueError(msg)
    return sc, int(seed)


def _check_end_year(sc: Scenario, end_year: int | None) -> None:
    if end_year is None:
        return
    first = sc.period.report_from
    if (
        isinstance(end_year, bool)
        or not isinstance(end_year, int | np.integer)
        or not first <= end_year <= 2100
    ):
        msg = f"end_year: must be an integer from the scenario's period.report_from ({first}) to 2100, got {end_year!r}"
        raise ValueError(msg)


def _check_count(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        msg = f"{name}: must be an integer >= {minimum}, got {value!r}"
        raise ValueError(msg)
    return int(value)


def _check_ranges_in_scenario(sc: Scenario, ranges: Mapping[str, tuple[float, float]]) -> None:
    """Both ends of every range are valid values of the scenario (ScenarioError otherwise)."""
    from corridors.scenario import load_scenario

    for name, (low, high) in ranges.items():
        for v in (low, high):
            load_scenario(
                sc.path, overrides={**sc.overrides, f"parameters.{name}": parameter_values({name: v})[name]}
            )


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
    """
    execution = _execution(execution, workers)
    replicates = _check_count("replicates", replicates)
    sc, seed = _resolve(scenario, overrides, seed, end_year)
    plan = _Plan("ensemble", sc, seed, _design(pd.DataFrame(), replicates, sc, seed), end_year)
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
    params : mapping
        Parameter names to ``(low, high)``.
    samples : int
        ``design="grid"``: evenly spaced values of each parameter, ends included
        (``samples ** k`` points); ``"lhs"``: points in all.
    design : {"grid", "lhs"}
        A full grid, or a Latin hypercube drawn from ``seed``.
    replicates : int
        Runs per point, with common random numbers (replicate ``r`` has the same seed at
        every point).
    scenario, seed, overrides, end_year, execution, workers, out, force, on_progress
        As for :func:`run_ensemble`.

    Returns
    -------
    EnsembleResults
        As for :func:`run_ensemble`; ``outcomes`` holds each run's parameter values and
        scalar outcomes.
    """
    execution = _execution(execution, workers)
    ranges = designs.check_ranges(params)
    samples, replicates = _check_count("samples", samples), _check_count("replicates", replicates)
    if design not in designs.DESIGNS:
        msg = f"design: must be 'grid' or 'lhs', got {design!r}"
        raise ValueError(msg)
    sc, seed = _resolve(scenario, overrides, seed, end_year)
    _check_ranges_in_scenario(sc, ranges)
    points = (
        designs.grid_design(ranges, samples)
        if design == "grid"
        else designs.lhs_design(ranges, samples, seed)
    )
    extra = {"design": design, "samples": samples, "ranges": {k: list(v) for k, v in ranges.items()}}
    plan = _Plan("sweep", sc, seed, _design(points, replicates, sc, seed), end_year, extra=extra)
    return _execute(plan, execution, out=out, force=force, on_progress=on_progress)


@dataclass(eq=False)
class Sensitivity:
    """A sensitivity analysis: its runs, and one row of indices per (outcome, parameter)."""

    ensemble: EnsembleResults
    indices: pd.DataFrame
    method: str

    def ranking(self, outcome: str) -> list[str]:
        """Parameters from most to least influential on ``outcome`` (mu* or total index)."""
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
    """Global sensitivity of every scalar outcome to the parameters in ``params`` (SALib).

    Parameters
    ----------
    params : mapping
        Parameter names to ``(low, high)``.
    method : {"morris", "sobol"}
        ``"morris"``: ``samples`` trajectories, ``samples * (k + 1)`` runs, elementary
        effects (``mu_star`` ranks). ``"sobol"``: Saltelli's scheme, ``samples * (k + 2)``
        runs, first-order and total indices.
    samples : int
        Morris trajectories, or Sobol' base samples (a power of 2); at least 2.
    replicates : int
        Runs per point, whose outcomes are averaged (common random numbers).
    scenario, seed, overrides, end_year, execution, workers, out, force, on_progress
        As for :func:`run_ensemble`; with ``out``, ``sensitivity.parquet`` holds the
        indices too.

    Returns
    -------
    Sensitivity
        The runs (``ensemble``) and one row of indices per outcome and parameter.
    """
    execution = _execution(execution, workers)
    ranges = designs.check_ranges(params)
    samples, replicates = _check_count("samples", samples, 2), _check_count("replicates", replicates)
    if method not in designs.METHODS:
        msg = f"method: must be 'morris' or 'sobol', got {method!r}"
        raise ValueError(msg)
    sc, seed = _resolve(scenario, overrides, seed, end_year)
    _check_ranges_in_scenario(sc, ranges)
    points = designs.sensitivity_design(ranges, method, samples, seed)
    extra = {"method": method, "samples": samples, "ranges": {k: list(v) for k, v in ranges.items()}}
    plan = _Plan("sensitivity", sc, seed, _design(points, replicates, sc, seed), end_year, extra=extra)
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
    """Run the model once with parameters given as keywords; its named scalar outcomes.

    Any field of :class:`corridors.Parameters` is a keyword (``cost_elasticity=3.5``), so
    EMA Workbench, SALib or ``scipy.optimize`` can drive the model::

        corridors.run_one(cost_elasticity=3.5, end_year=2030)["middle_share"]

    Integer parameters given as floats (by an optimiser) are rounded. Returns the dict of
    :func:`outcomes` (floats; NaN where an outcome did not occur).
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


def _execution(execution: Execution | None, workers: int | None) -> Execution:
    """The ``execution=`` argument, with the ``workers=`` shorthand folded in, checked."""
    if execution is None:
        return Execution(workers=workers)
    if not isinstance(execution, Execution):
        msg = f"execution: must be a corridors.Execution, got {execution!r}"
        raise ValueError(msg)
    if workers is not None:
        msg = f"workers: give it in execution=Execution(workers={workers!r}, ...), not beside it"
        raise ValueError(msg)
    return execution


def _execute(
    plan: _Plan, execution: Execution, *, out, force, on_progress: ProgressFn | None
) -> EnsembleResults:
    ex = execution.make_executor()
    tasks = plan.tasks()
    total = len(tasks)
    directory = None if out is None else _open_directory(Path(out), plan, ex, force=force)
    tables: dict[int, pd.DataFrame] = {}
    errors: dict[int, dict[str, Any]] = {}
    done = set() if directory is None else _finished(directory)
    todo = [t for t in tasks if t.run not in done]
    failed = 0
    if on_progress is not None:
        on_progress(len(done), 0, total)
    t0 = time.perf_counter()
    if todo:
        with ex:
            for i, result, crash in ex.imap_unordered(execute, todo):
                task = todo[i]
                record = result if crash is None else {"run": task.run, "error": _error_record(task, crash)}
                if "error" in record:
                    failed += 1
                    if directory is None:
                        errors[task.run] = record["error"]
                    else:
                        _write_json(_run_path(directory, task.run, ".error.json"), record["error"])
                else:
                    done.add(task.run)
                    if directory is None:
                        tables[task.run] = record["table"]
                    else:
                        write_bytes_atomic(
                            _run_path(directory, task.run, ".parquet"), parquet_bytes(record["table"])
                        )
                        _run_path(directory, task.run, ".error.json").unlink(missing_ok=True)
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
        tables, errors = _read_runs(directory, plan.design)
    ens = merge_runs(plan.design, tables, errors, meta)
    if directory is not None:
        _finish_directory(directory, ens, plan)
    return ens


# ----------------------------------------------------------------------- the directory


def _run_path(directory: Path, run: int, suffix: str) -> Path:
    return directory / "runs" / f"run-{run:06d}{suffix}"


def _finished(directory: Path) -> set[int]:
    return {int(p.name[4:10]) for p in (directory / "runs").glob("run-*.parquet")}


def _open_directory(path: Path, plan: _Plan, ex: Executor, *, force: bool) -> Path:
    """Create the directory (atomically), or check that an existing one holds this plan."""
    fingerprint = plan.fingerprint()
    if path.exists() and not force:
        manifest = path / "manifest.json"
        try:
            old = json.loads(manifest.read_text()) if manifest.is_file() else None
        except (OSError, ValueError):
            old = None
        if old is None:
            msg = f"out: {path} exists and is not an ensemble directory (use --force to replace it)"
            raise FileExistsError(msg)
        if old.get("fingerprint") != fingerprint:
            msg = (f"out: {path} holds a different {old.get('kind', 'ensemble')} (other scenario, seed or design); "
                   "use --force to replace it")  # fmt: skip
            raise FileExistsError(msg)
        for stale in (path / "runs").glob(".run-*"):  # temporary files of a killed coordinator
            stale.unlink(missing_ok=True)
        return path

    def fill(tmp: Path) -> None:
        (tmp / "runs").mkdir()
        (tmp / "scenario.toml").write_text(plan.sc.to_toml())
        (tmp / "design.parquet").write_bytes(parquet_bytes(plan.design))
        (tmp / "manifest.json").write_text(json.dumps(_manifest(plan, ex, fingerprint), indent=2))

    return write_dir_atomic(path, fill, force=True)  # an existing one here is replaced (--force)


def _manifest(
    plan: _Plan, ex: Executor, fingerprint: str, status: str = "running", **more: Any
) -> dict[str, Any]:
    from corridors._version import __version__
    from corridors.experiments.runs import _git_revision

    return _jsonable({
        "kind": plan.kind,
        "status": status,
        "scenario": plan.sc.name,
        "scenario_file": str(plan.sc.path),
        "overrides": dict(plan.sc.overrides),
        "seed": plan.seed,
        "seeding": "replicate r: numpy.random.SeedSequence(seed).spawn(n)[r]",
        "runs": len(plan.design),
        "end_year": plan.end_year if plan.end_year is not None else plan.sc.period.end_year,
        "stochastic": plan.stochastic,
        "uncertainty": {k: v.model_dump() for k, v in plan.sc.uncertainty.items()},
        **plan.extra,
        **ex.describe(),
        "fingerprint": fingerprint,
        "corridors_version": __version__,
        "git_revision": _git_revision(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        **more,
    })  # fmt: skip


def _read_runs(directory: Path, design: pd.DataFrame) -> tuple[dict[int, pd.DataFrame], dict[int, dict]]:
    tables, errors = {}, {}
    for run in design["run"]:
        run = int(run)
        table = _run_path(directory, run, ".parquet")
        if table.is_file():
            tables[run] = pd.read_parquet(table)
            continue
        error = _run_path(directory, run, ".error.json")
        if error.is_file():
            errors[run] = json.loads(error.read_text())
    return tables, errors


def _finish_directory(directory: Path, ens: EnsembleResults, plan: _Plan) -> None:
    for name, data in ens.files().items():
        write_bytes_atomic(directory / name, data)
    manifest = json.loads((directory / "manifest.json").read_text())
    missing = len(plan.design) - len(ens.outcomes) - len(ens.failures)
    manifest.update({
        "status": "complete" if ens.failures.empty and missing == 0 else "incomplete",
        "finished": len(ens.outcomes),
        "failed": len(ens.failures),
        "updated_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    })  # fmt: skip
    _write_json(directory / "manifest.json", manifest)


def _write_json(path: Path, value: Any) -> None:
    write_bytes_atomic(path, json.dumps(_jsonable(value), indent=2).encode())


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Path):
        return os.fspath(value)
    return value
