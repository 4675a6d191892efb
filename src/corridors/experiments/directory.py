"""The directory of an ensemble, a sweep or a sensitivity analysis: it survives interruption.

With ``out``, :func:`corridors.run_ensemble`, :func:`corridors.sweep` and
:func:`corridors.sensitivity` write::

    out/manifest.json        what was asked (scenario, seed, design, executor) and its status
    out/scenario.toml        the resolved scenario
    out/design.parquet       every run: run, point, replicate and its parameter values
    out/runs/run-000042.parquet        one small file per finished run (annual tables)
    out/runs/run-000042.error.json     or the error of a run that raised
    out/corridors.parquet, observables.parquet, outcomes.parquet, failures.json, ensemble.json
                             the merged tables (corridors.load_ensemble reads them)

Every file is written atomically. Running the same command again skips the finished runs
and retries the failed ones: the manifest's fingerprint (:meth:`Plan.fingerprint
<corridors.experiments.plans.Plan.fingerprint>`) says whether a directory holds the same runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from corridors.atomic import write_bytes_atomic, write_dir_atomic
from corridors.experiments.plans import Plan, jsonable
from corridors.results import EnsembleResults, parquet_bytes

if TYPE_CHECKING:
    from corridors.experiments.executors import Executor

__all__ = [
    "finish_directory",
    "finished_runs",
    "open_directory",
    "read_runs",
    "run_path",
    "save_run",
    "write_json",
]


def run_path(directory: Path, run: int, suffix: str) -> Path:
    """Name the file of one run: ``runs/run-000042.parquet`` or ``.error.json``.

    Parameters
    ----------
    directory : Path
        The ensemble directory.
    run : int
        The run's number.
    suffix : str
        ``".parquet"`` or ``".error.json"``.

    Returns
    -------
    Path
        The file's path (which may not exist).
    """
    return directory / "runs" / f"run-{run:06d}{suffix}"


def finished_runs(directory: Path) -> set[int]:
    """Find the runs a directory holds the tables of.

    Parameters
    ----------
    directory : Path
        The ensemble directory.

    Returns
    -------
    set of int
        The numbers of the finished runs.
    """
    return {int(p.name[4:10]) for p in (directory / "runs").glob("run-*.parquet")}


def open_directory(path: Path, plan: Plan, ex: Executor, *, force: bool) -> Path:
    """Create the directory (atomically), or check that an existing one holds this plan.

    Parameters
    ----------
    path : Path
        The directory (``out``).
    plan : Plan
        The runs it is for.
    ex : Executor
        What runs them, for the manifest.
    force : bool
        Replace an existing directory that holds something else.

    Returns
    -------
    Path
        The directory, with its manifest, scenario and design, and a ``runs`` folder.

    Raises
    ------
    FileExistsError
        ``path`` exists and is not an ensemble directory, or holds other runs (other
        scenario, seed or design), and ``force`` is False.
    """
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
            kind = old.get("kind", "ensemble")
            msg = (
                f"out: {path} holds a different {kind} (other scenario, seed or design); "
                "use --force to replace it"
            )
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
    plan: Plan, ex: Executor, fingerprint: str, status: str = "running", **more: Any
) -> dict[str, Any]:
    """Describe what was asked and where it came from, for ``manifest.json``."""
    from corridors._version import __version__
    from corridors.experiments.runs import _git_revision

    return jsonable(
        {
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
        }
    )


def save_run(directory: Path, run: int, record: dict[str, Any]) -> None:
    """Write what a run left: its table, or its error (a table removes an earlier error).

    Parameters
    ----------
    directory : Path
        The ensemble directory.
    run : int
        The run's number.
    record : dict
        What :func:`~corridors.experiments.plans.execute` returned: a ``"table"`` or an
        ``"error"``.
    """
    if "error" in record:
        write_json(run_path(directory, run, ".error.json"), record["error"])
    else:
        write_bytes_atomic(run_path(directory, run, ".parquet"), parquet_bytes(record["table"]))
        run_path(directory, run, ".error.json").unlink(missing_ok=True)


def read_runs(directory: Path, design: pd.DataFrame) -> tuple[dict[int, pd.DataFrame], dict[int, dict]]:
    """Read the tables and errors of the design's runs that a directory holds.

    Parameters
    ----------
    directory : Path
        The ensemble directory.
    design : pandas.DataFrame
        The runs, with a ``run`` column.

    Returns
    -------
    tuple of (dict, dict)
        The finished runs' tables and the failed runs' errors, by run number.
    """
    tables, errors = {}, {}
    for run in design["run"]:
        run = int(run)
        table = run_path(directory, run, ".parquet")
        if table.is_file():
            tables[run] = pd.read_parquet(table)
            continue
        error = run_path(directory, run, ".error.json")
        if error.is_file():
            errors[run] = json.loads(error.read_text())
    return tables, errors


def finish_directory(directory: Path, ens: EnsembleResults, plan: Plan) -> None:
    """Write the merged tables and mark the manifest complete or incomplete.

    Parameters
    ----------
    directory : Path
        The ensemble directory.
    ens : EnsembleResults
        The merged runs.
    plan : Plan
        The runs asked for (complete: all of them finished, none failed).
    """
    for name, data in ens.files().items():
        write_bytes_atomic(directory / name, data)
    manifest = json.loads((directory / "manifest.json").read_text())
    missing = len(plan.design) - len(ens.outcomes) - len(ens.failures)
    manifest.update(
        {
            "status": "complete" if ens.failures.empty and missing == 0 else "incomplete",
            "finished": len(ens.outcomes),
            "failed": len(ens.failures),
            "updated_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    write_json(directory / "manifest.json", manifest)


def write_json(path: Path, value: Any) -> None:
    """Write a value as indented JSON, atomically (NaN and inf as null).

    Parameters
    ----------
    path : Path
        The file.
    value : object
        Anything :func:`~corridors.experiments.plans.jsonable` converts.
    """
    write_bytes_atomic(path, json.dumps(jsonable(value), indent=2).encode())
