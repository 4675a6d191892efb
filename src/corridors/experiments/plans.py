"""What an ensemble, a sweep or a sensitivity analysis runs: its plan, one task per run.

Every run of an ensemble is a row of its *design*: a run number, a sample point, a
replicate and the parameter values it uses (swept values, and the replicate's draws of the
scenario's ``[uncertainty]``). Replicate ``r`` is seeded from
``SeedSequence(seed).spawn(n)[r]`` (:mod:`corridors.uncertainty`), so no result depends on
which worker ran it or when, and replicate 0 of seed ``S`` is ``corridors.run(sc, seed=S)``.

A :class:`Plan` holds the scenario, the seed and the design; :meth:`Plan.tasks` gives one
small, picklable :class:`RunTask` per run, which :func:`execute` runs in a worker. The
checks of the arguments the public functions share (:func:`resolve_scenario`,
:func:`check_count`, :func:`resolve_execution`, ...) raise before anything runs or is
written.
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridors.experiments.executors import Execution
from corridors.experiments.records import run_table
from corridors.posterior import read_posterior
from corridors.uncertainty import draw_parameters, parameter_values
from corridors.vocabulary import LAST_YEAR

if TYPE_CHECKING:
    from corridors.scenario import Scenario

__all__ = [
    "Plan",
    "RunTask",
    "check_count",
    "check_end_year",
    "check_ranges_in_scenario",
    "error_record",
    "execute",
    "jsonable",
    "plan_design",
    "resolve_execution",
    "resolve_scenario",
]


# ----------------------------------------------------------------------- one task


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (picklable, and small).

    Parameters
    ----------
    run : int
        The run's number in the design.
    replicate : int
        Which child of the root seed seeds the run.
    seed : int
        The root seed of the ensemble.
    values : dict
        The parameter values of the run (swept values and uncertain draws).
    end_year : int or None
        The last year, if it replaces the scenario's.
    stochastic : bool
        False: no random draws.
    scenario_toml : str
        The resolved scenario, as a scenario file's text.
    """

    run: int
    replicate: int
    seed: int
    values: dict[str, float | int]
    end_year: int | None
    stochastic: bool
    scenario_toml: str


@functools.lru_cache(maxsize=8)
def _scenario_from_toml(text: str) -> Scenario:
    """Load the resolved scenario a task carries, once per worker process."""
    from corridors.scenario import load_scenario

    with tempfile.TemporaryDirectory(prefix="corridors-") as tmp:
        path = Path(tmp) / "scenario.toml"
        path.write_text(text)
        return load_scenario(path)


def execute(task: RunTask) -> dict[str, Any]:
    """Run one task in a worker, never raising.

    Parameters
    ----------
    task : RunTask
        The run to make.

    Returns
    -------
    dict
        ``{"run", "table", "seconds"}`` (the run's small annual record, see
        :func:`~corridors.experiments.records.run_table`), or ``{"run", "error", "seconds"}``
        (see :func:`error_record`) if the run raised.
    """
    from corridors.experiments.executors import prepare_worker
    from corridors.experiments.runs import run

    t0 = time.perf_counter()
    try:
        prepare_worker()
        sc = _scenario_from_toml(task.scenario_toml)
        params = sc.parameters().with_values(task.values)
        res = run(
            sc,
            seed=task.seed,
            replicate=task.replicate,
            params=params,
            events=sc.events(params),
            end_year=task.end_year,
            stochastic=task.stochastic,
        )
        return {"run": task.run, "table": run_table(res), "seconds": time.perf_counter() - t0}
    except Exception as exc:
        return {"run": task.run, "error": error_record(task, exc), "seconds": time.perf_counter() - t0}


def error_record(task: RunTask, exc: BaseException) -> dict[str, Any]:
    """Describe the error of a run that raised, as its ``.error.json`` file keeps it.

    Parameters
    ----------
    task : RunTask
        The run that raised.
    exc : BaseException
        What it raised (or how its worker crashed).

    Returns
    -------
    dict
        The run, its replicate and parameter values, the error's type, its message on one
        line (naming ``scenario.toml`` rather than the worker's temporary copy) and the
        traceback.
    """
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
class Plan:
    """The runs of an ensemble, a sweep or a sensitivity analysis, before any of them runs.

    Parameters
    ----------
    kind : str
        ``"ensemble"``, ``"sweep"`` or ``"sensitivity"``.
    sc : Scenario
        The resolved scenario.
    seed : int
        The root seed.
    design : pandas.DataFrame
        One row per run: ``run``, ``point``, ``replicate`` and its parameter values
        (:func:`plan_design`).
    end_year : int or None
        The last year, if it replaces the scenario's.
    stochastic : bool
        False: no random draws.
    extra : dict
        What else the manifest and the metadata record (design, samples, ranges, method).
    """

    kind: str
    sc: Scenario
    seed: int
    design: pd.DataFrame  # run, point, replicate, parameter values
    end_year: int | None
    stochastic: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def tasks(self) -> list[RunTask]:
        """Make one task per row of the design.

        Returns
        -------
        list of RunTask
            In the order of the design; a missing (NaN) value leaves the scenario's.
        """
        text = self.sc.to_toml()
        names = [c for c in self.design.columns if c not in ("run", "point", "replicate")]
        out = []
        # records, not itertuples: a posterior's columns are dotted names ("corridor_constants.russian")
        for row in self.design.to_dict(orient="records"):
            values = parameter_values({n: row[n] for n in names if not _missing(row[n])})
            out.append(
                RunTask(
                    int(row["run"]),
                    int(row["replicate"]),
                    self.seed,
                    values,
                    self.end_year,
                    self.stochastic,
                    text,
                )
            )
        return out

    def fingerprint(self) -> str:
        """Hash what the plan runs: the same fingerprint, the same runs (so a directory can be resumed).

        Returns
        -------
        str
            The SHA-256 of the kind, scenario, seed, end year, randomness, design and extras.
        """
        design = jsonable(self.design.to_dict(orient="split"))
        blob = json.dumps(
            [
                self.kind,
                self.sc.to_toml(),
                self.seed,
                self.end_year,
                self.stochastic,
                design,
                jsonable(self.extra),
            ],
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def plan_design(points: pd.DataFrame, replicates: int, sc: Scenario, seed: int) -> pd.DataFrame:
    """Make the runs: points x replicates, each replicate with its draws.

    A replicate draws the scenario's ``[uncertainty]`` and, if the scenario names a
    ``posterior``, one particle of it (:meth:`corridors.posterior.Posterior.draw`), both
    from streams spawned from the replicate's seed sequence.

    Parameters
    ----------
    points : pandas.DataFrame
        One row per sample point, one column per swept parameter (empty: one point, the
        scenario's values).
    replicates : int
        Runs per point.
    sc : Scenario
        The scenario, whose ``[uncertainty]`` and ``posterior`` are drawn per replicate.
    seed : int
        The root seed of the draws.

    Returns
    -------
    pandas.DataFrame
        ``run``, ``point``, ``replicate`` and the parameter values; a swept value wins over
        the draw of the same parameter.
    """
    rows = []
    swept = list(points.columns)
    posterior = None if sc.posterior is None else read_posterior(sc.posterior)
    for p, point in enumerate(points.to_dict(orient="records") or [{}]):
        for r in range(replicates):
            drawn = draw_parameters(sc.uncertainty, seed, r)
            if posterior is not None:
                drawn |= posterior.draw(seed, r)
            draws = {k: v for k, v in drawn.items() if k not in swept}
            rows.append({"run": len(rows), "point": p, "replicate": r, **parameter_values(point), **draws})
    out = pd.DataFrame(rows)
    return out.astype({"run": "int64", "point": "int64", "replicate": "int64"})


def resolve_scenario(
    scenario: Scenario | str | Path | None,
    overrides: Mapping[str, Any] | None,
    seed: int | None,
    end_year: int | None,
) -> tuple[Scenario, int]:
    """Load the scenario and settle the root seed, checking both and the end year.

    Parameters
    ----------
    scenario : Scenario, path or name, optional
        As for :func:`corridors.run`; ``None`` is the baseline.
    overrides : mapping, optional
        Dotted scenario overrides.
    seed : int, optional
        The root seed (default: the scenario's, else fresh entropy).
    end_year : int, optional
        The last year, if it replaces the scenario's.

    Returns
    -------
    tuple of (Scenario, int)
        The scenario and the root seed.

    Raises
    ------
    ValueError
        A seed that is not an integer >= 0, or an end year out of range.
    """
    from corridors.experiments.runs import _scenario

    sc = _scenario(scenario, overrides)
    check_end_year(sc, end_year)
    if seed is None:
        seed = sc.seed if sc.seed is not None else int(np.random.SeedSequence().entropy % 2**63)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        msg = f"seed: must be an integer >= 0, got {seed!r}"
        raise ValueError(msg)
    return sc, int(seed)


def check_end_year(sc: Scenario, end_year: int | None) -> None:
    """Check an end year: None, or an integer from the scenario's ``period.report_from`` to 2100.

    Parameters
    ----------
    sc : Scenario
        The scenario.
    end_year : int or None
        The year to check.

    Raises
    ------
    ValueError
        Naming ``end_year`` and its range.
    """
    if end_year is None:
        return
    first = sc.period.report_from
    if (
        isinstance(end_year, bool)
        or not isinstance(end_year, int | np.integer)
        or not first <= end_year <= LAST_YEAR
    ):
        msg = f"end_year: must be an integer from the scenario's period.report_from ({first}) to {LAST_YEAR}, got {end_year!r}"
        raise ValueError(msg)


def check_count(name: str, value: Any, minimum: int = 1) -> int:
    """Check a count (replicates, samples): an integer, not a bool, at least ``minimum``.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The value given.
    minimum : int
        The least value allowed.

    Returns
    -------
    int
        ``value`` as an int.

    Raises
    ------
    ValueError
        Naming the argument, the minimum and the value given.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        msg = f"{name}: must be an integer >= {minimum}, got {value!r}"
        raise ValueError(msg)
    return int(value)


def check_ranges_in_scenario(sc: Scenario, ranges: Mapping[str, tuple[float, float]]) -> None:
    """Check that both ends of every range are valid values of the scenario.

    Parameters
    ----------
    sc : Scenario
        The scenario the ranges vary.
    ranges : mapping
        Parameter names to ``(low, high)``.

    Raises
    ------
    ScenarioError
        An end the scenario refuses, as loading it with that value would say.
    """
    from corridors.scenario import load_scenario

    for name, (low, high) in ranges.items():
        for v in (low, high):
            load_scenario(
                sc.path, overrides={**sc.overrides, f"parameters.{name}": parameter_values({name: v})[name]}
            )


def resolve_execution(execution: Execution | None, workers: int | None) -> Execution:
    """Settle the ``execution=`` argument, with the ``workers=`` shorthand folded in, checked.

    Parameters
    ----------
    execution : Execution, optional
        Where the runs execute.
    workers : int, optional
        Shorthand for ``Execution(workers=workers)``; not with ``execution``.

    Returns
    -------
    Execution
        ``execution``, else ``Execution(workers=workers)``.

    Raises
    ------
    ValueError
        ``execution`` is not an :class:`Execution`, or both arguments are given.
    """
    if execution is None:
        return Execution(workers=workers)
    if not isinstance(execution, Execution):
        msg = f"execution: must be a corridors.Execution, got {execution!r}"
        raise ValueError(msg)
    if workers is not None:
        msg = f"workers: give it in execution=Execution(workers={workers!r}, ...), not beside it"
        raise ValueError(msg)
    return execution


def jsonable(value: Any) -> Any:
    """Turn a value into one JSON can write: NumPy numbers, paths, tuples; NaN and inf as None.

    Parameters
    ----------
    value : object
        Dicts, lists and tuples are converted item by item (keys as strings).

    Returns
    -------
    object
        The value with only JSON's types.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Path):
        return os.fspath(value)
    return value
