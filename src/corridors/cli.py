"""The ``corridors`` command. The only module that prints.

Every long command runs its work inside :func:`_guarded`: a progress bar on stderr,
SIGTERM stopping it like Ctrl-C (through the cleanup code, so temporary files are removed
and nothing half-written stays), and one line on stderr for whatever stopped it. Exit
codes: 0 ok, 1 the run failed, 2 bad input, 128 + the signal's number when interrupted
(130 for Ctrl-C, 143 for SIGTERM).

The imports are at the top: ``import corridors.cli`` imports the package (its
``__init__``), which loads almost all of them already; the rest (rich.progress,
corridors.experiments.calibrate, corridors.demo) add about 11 ms to ``corridors --help`` (measured with
``python -X importtime``). Only ``corridors.model`` (with Mesa, for ``warmup``) stays in its
command; Solara runs in a process of its own.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from corridors import plots, routing
from corridors._version import __version__
from corridors.atomic import write_bytes_atomic
from corridors.demo import route_cost_demo
from corridors.errors import CorridorsError
from corridors.experiments import calibrate as cal
from corridors.experiments import ensemble, runs
from corridors.experiments.designs import parse_range
from corridors.experiments.executors import Execution, ExecutorError
from corridors.history import load_history
from corridors.network import CORRIDORS, load_network
from corridors.results import load_ensemble, load_results
from corridors.scenario import find_scenario, load_scenario, parse_override, scenario_dir, scenario_schema

app = typer.Typer(
    name="corridors",
    help="Simulate the competition between Central Asia's trade routes.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
stdout = Console()
err = Console(stderr=True)


EXIT_FAILURE, EXIT_BAD_INPUT = 1, 2
# Where the runs of an ensemble, sweep or sensitivity execute (corridors.experiments.executors.Execution).
Workers = Annotated[int | None, typer.Option(min=1, help="Worker processes (default: this machine's cores).")]
ExecutorName = Annotated[
    str | None,
    typer.Option(
        help="Where runs execute: local (processes, the default) or dask (an embedded LocalCluster)."
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(help="An existing Dask scheduler, tcp://HOST:PORT (default: $DASK_SCHEDULER_ADDRESS)."),
]

# Main origin-market pairs of the `network` table: China-Europe transit, the five's exports.
MAIN_PAIRS = (
    ("xian", "market_eu"),
    ("khorgos", "market_eu"),
    ("astana", "market_eu"),
    ("tashkent", "market_eu"),
    ("almaty", "market_china"),
    ("tashkent", "market_turkey"),
    ("ashgabat", "market_iran_gulf"),
    ("tashkent", "market_south_asia"),
)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C's KeyboardInterrupt: the same code unwinds and cleans up."""


def _terminate(signum, frame) -> None:
    """SIGTERM (kill, timeout, a scheduler, CI cancelling a job) stops the command like Ctrl-C.

    A second SIGTERM while the first unwinds is ignored, so the cleanup finishes.
    """
    signal.signal(signal.SIGTERM, lambda *_: None)
    raise _Terminated


@contextmanager
def _guarded(
    what: str,
    *counts: str | ProgressColumn,
    eta: bool = False,
    note: str = "",
    bad_input: tuple[type[Exception], ...] = (CorridorsError,),
    stop_ok: bool = False,
) -> Iterator[Progress]:
    """Run a long command's work: a progress bar, SIGTERM as Ctrl-C, one line for what stopped it.

    Parameters
    ----------
    what : str
        The work, as the messages name it ("run", "sweep", "calibration").
    *counts : str or ProgressColumn
        The progress bar's columns between the bar and the elapsed time (text columns for
        strings); none: no progress bar.
    eta : bool
        Also show the estimated time left.
    note : str
        Said after a failure or an interruption (e.g. where the finished runs are kept).
    bad_input : tuple of exception types
        Errors that are the user's input: one line and exit code 2.
    stop_ok : bool
        Ctrl-C and SIGTERM are the normal way to stop (a server): exit 0, quietly.

    Returns
    -------
    contextmanager of Progress
        The progress bar, on stderr, cleared when the block ends. Leaving the block, an
        error of the executor or any other exception prints one line and exits 1; input in
        ``bad_input`` exits 2; Ctrl-C or SIGTERM exits 128 + the signal's number.
    """
    columns = (
        (TextColumn("[bold]{task.description}"), BarColumn(),
         *(TextColumn(c) if isinstance(c, str) else c for c in counts), TimeElapsedColumn(),
         *((TextColumn("eta"), TimeRemainingColumn()) if eta else ()))
        if counts
        else ()
    )  # fmt: skip
    suffix = f" ({note})" if note else ""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with Progress(*columns, console=err, transient=True, disable=not counts) as progress:
            yield progress
    except (typer.Exit, typer.Abort):
        raise
    except KeyboardInterrupt as exc:
        if stop_ok:
            raise typer.Exit(0) from None
        signum = signal.SIGTERM if isinstance(exc, _Terminated) else signal.SIGINT
        how = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
        err.print(f"[bold red]{what} interrupted[/bold red] by {how}{escape(suffix)}", soft_wrap=True)
        raise typer.Exit(128 + signum) from None
    except ExecutorError as exc:  # the executor could not start: not the input's fault
        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILURE) from None
    except bad_input as exc:
        raise _bad_input(exc) from None
    except Exception as exc:  # a failure of the work itself: say what and exit 1
        reason = f"{type(exc).__name__}: {exc}{suffix}"
        err.print(f"[bold red]{what} failed:[/bold red] {escape(reason)}", soft_wrap=True)
        raise typer.Exit(EXIT_FAILURE) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _bad_input(exc: Exception) -> typer.Exit:
    """One line on stderr naming what is wrong, and the exit code for bad input."""
    err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _save_figure(fig, path: Path) -> None:
    """Write a figure atomically: a temporary file in the same folder, then a rename."""
    write_bytes_atomic(path, plots.png_bytes(fig, dpi=150))


def _version(value: bool) -> None:
    if value:
        stdout.print(f"corridors {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Simulate the competition between Central Asia's trade routes."""


def _load(scenario: str, sets: list[str] | None = None):
    """A scenario by name or path with ``--set`` overrides; bad input exits with code 2."""
    try:
        overrides = dict(parse_override(item) for item in sets or [])
        return load_scenario(find_scenario(scenario), overrides=overrides)
    except (CorridorsError, OSError) as exc:
        raise _bad_input(exc) from None


@app.command("run")
def run_command(
    scenario: Annotated[
        str, typer.Argument(help="A scenario file, or the name of a shipped one (see `corridors scenarios`).")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="The run directory to write (default results/<scenario>-<time>)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing run directory.")] = False,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a field: --set parameters.cost_elasticity=3.5 (repeatable)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Random seed (default: the scenario's).")] = None,
    plots: Annotated[
        bool, typer.Option("--plots/--no-plots", help="Draw the PNG plots into the run directory.")
    ] = True,
    replicates: Annotated[
        int | None,
        typer.Option(min=1, help="Run an ensemble of N replicates instead (seeded from --seed)."),
    ] = None,
    workers: Workers = None,
    executor: ExecutorName = None,
    scheduler: Scheduler = None,
) -> None:
    """Run a scenario and write its run directory (tables, summary, manifest, plots).

    With --replicates N, run N replicates in parallel (replicate 0 is the single run of the
    same seed) and write an ensemble directory; run the same command again to finish an
    interrupted one.

    Example: [bold]corridors run baseline --seed 7 --out results/baseline-7[/bold]
    Example: [bold]corridors run baseline --replicates 100 --workers 2 --out results/baseline-ens[/bold]
    """
    if replicates is None and (workers is not None or executor is not None or scheduler is not None):
        raise _bad_input(
            ValueError("--workers, --executor and --scheduler apply to ensembles: add --replicates N")
        )
    execution = _execution(workers, executor, scheduler)
    sc = _load(scenario, sets)
    if replicates is not None:
        _run_many("ensemble", ensemble.run_ensemble, sc, out, force=force, execution=execution,
                  replicates=replicates, seed=seed)  # fmt: skip
        return
    target = out or Path("results") / f"{sc.name}-{datetime.now():%Y%m%d-%H%M%S}"
    if target.exists() and not force:
        raise _bad_input(FileExistsError(f"--out: {target} already exists (use --force to replace it)"))
    with _guarded("run", MofNCompleteColumn(), "quarters") as progress:
        task = progress.add_task(f"running {sc.name}", total=None)
        res = runs.run(
            sc, seed=seed, on_step=lambda done, total: progress.update(task, completed=done, total=total)
        )
        progress.update(task, description=f"writing {target}")
        path = runs.write_run(res, sc, target, force=force, plots=plots)
    _print_summary(res)
    stdout.print(f"results: {path.resolve()}")
    if plots:
        stdout.print(f"plots:   {', '.join(sorted(p.name for p in path.glob('*.png')))}")


def _print_summary(res) -> None:
    s = res.summary
    table = Table(title=f"{res.meta.get('scenario', 'run')}: corridors in {s['last_year']}")
    for col in ("corridor", "Mt/yr", "share", "days"):
        table.add_column(col, justify="left" if col == "corridor" else "right")
    for corridor, vol in s["volume_t_last_year"].items():
        if vol <= 0:
            continue
        days = s["mean_time_days_last_year"].get(corridor)
        table.add_row(corridor, f"{vol / 1e6:,.1f}", f"{s['share_last_year'][corridor]:.0%}",
                      "-" if days is None else f"{days:.0f}")  # fmt: skip
    stdout.print(table)
    year = s.get("middle_overtakes_russian_year")
    stdout.print(
        f"Middle Corridor passes the Russian route: {year if year else 'not by ' + str(s['last_year'])}"
    )


@app.command()
def validate(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario files or names.")],
) -> None:
    """Check scenario files without running them; one line per file.

    Example: [bold]corridors validate scenarios/*.toml[/bold]
    """
    bad = 0
    for item in scenarios:
        try:
            sc = load_scenario(find_scenario(item))
            sc.events(sc.parameters())
        except (CorridorsError, OSError) as exc:
            err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            bad += 1
        else:
            stdout.print(f"ok  {sc.name}  ({sc.path})", highlight=False, soft_wrap=True)
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command("scenarios")
def list_scenarios() -> None:
    """List the shipped scenarios, one line each.

    Example: [bold]corridors scenarios[/bold]
    """
    for path in sorted(scenario_dir().glob("*.toml")):
        try:
            sc = load_scenario(path)
        except CorridorsError as exc:
            err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", soft_wrap=True)
            continue
        stdout.print(f"[bold]{sc.name:22}[/bold] {escape(sc.title)}", soft_wrap=True)


@app.command()
def compare(
    run_dirs: Annotated[
        list[Path], typer.Argument(help="Run directories, or ensemble directories (one or more).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the figure (PNG).")] = Path(
        "results/compare.png"
    ),
    overtake: Annotated[
        str,
        typer.Option(help="With ensembles: the probability that corridor A passes B by each year, as A:B."),
    ] = "middle:russian",
) -> None:
    """Draw runs side by side: volumes by corridor and their differences against the first.

    Given ensemble directories (corridors run --replicates, sweep, sensitivity), draw fan
    charts instead (median, 50% and 90% bands per corridor) and the probability that one
    corridor overtakes another by each year.

    Example: [bold]corridors compare results/baseline-7 results/c5_bloc-7 --out results/bloc.png[/bold]
    Example: [bold]corridors compare results/baseline-ens results/bloc-ens --out results/fan.png[/bold]
    """
    if out.suffix.lower() != ".png":
        raise _bad_input(ValueError(f"--out: {out} must end in .png"))
    pair = overtake.split(":")
    if len(pair) != 2 or not all(c in CORRIDORS for c in pair) or pair[0] == pair[1]:
        raise _bad_input(
            ValueError(f"--overtake: expected A:B, two of {', '.join(CORRIDORS)}, got {overtake!r}")
        )
    try:
        items = [load_ensemble(d) if (d / "ensemble.json").is_file() else load_results(d) for d in run_dirs]
    except (OSError, ValueError) as exc:
        raise _bad_input(exc) from None
    ensembles = any(not hasattr(r, "countries") for r in items)
    if len(items) < 2 and not ensembles:
        raise _bad_input(ValueError("compare: give at least two run directories, or an ensemble directory"))
    labels = [r.meta.get("scenario") or d.name for r, d in zip(items, run_dirs, strict=True)]
    if len(set(labels)) < len(labels):
        labels = [d.name for d in run_dirs]
    _save_figure(plots.compare(items, labels, overtake=(pair[0], pair[1])), out)
    err.print(f"figure written to {out.resolve()}")


# ----------------------------------------------------------------------- ensembles, sweeps, sensitivity


def _execution(workers: int | None, executor: str | None, scheduler: str | None) -> Execution:
    """The ``--workers``, ``--executor`` and ``--scheduler`` options; bad ones exit 2 naming the option."""
    try:
        return Execution(workers=workers, executor=executor, scheduler=scheduler)
    except ValueError as exc:  # "executor: must be ...": the option is --executor
        raise _bad_input(ValueError(f"--{exc}")) from None


def _run_many(kind: str, fn: Callable[..., Any], sc, out: Path | None, *, force: bool, execution: Execution,
              **kwargs: Any) -> Any:  # fmt: skip
    """Run an ensemble, sweep or sensitivity with a progress bar; exit 1 if any run failed."""
    target = out or Path("results") / f"{sc.name}-{kind}-{datetime.now():%Y%m%d-%H%M%S}"
    counts = "{task.fields[done]} done, {task.fields[failed]} failed, {task.fields[left]} left"
    resume = f"finished runs are kept in {target}; run the same command again to resume"
    with _guarded(kind, counts, eta=True, note=resume,
                  bad_input=(CorridorsError, ValueError, FileExistsError)) as progress:  # fmt: skip
        where = execution.scheduler_address()
        label = f"{kind} {sc.name}" + (f" on {where}" if where else "")
        task = progress.add_task(label, total=None, done=0, failed=0, left="?")

        def on_progress(done: int, failed: int, total: int) -> None:
            left = total - done - failed
            progress.update(task, completed=done + failed, total=total, done=done, failed=failed, left=left)

        result = fn(sc, out=target, force=force, execution=execution, on_progress=on_progress, **kwargs)
    ens = getattr(result, "ensemble", result)
    _print_ensemble(ens)
    if hasattr(result, "indices"):
        _print_indices(result)
    stdout.print(f"results: {target.resolve()}")
    if not ens.failures.empty:
        n, total = len(ens.failures), int(ens.meta.get("runs", 0))
        err.print(f"[bold red]{n} of {total} runs failed[/bold red] (errors in {target / 'runs'}/*.error.json; "
                  "run the same command again to retry them):", soft_wrap=True)  # fmt: skip
        for row in ens.failures.head(5).itertuples():
            err.print(
                f"  run {row.run}: {escape(row.error)}: {escape(row.message)}",
                highlight=False,
                soft_wrap=True,
            )
        if n > 5:
            err.print(f"  ... and {n - 5} more")
        raise typer.Exit(EXIT_FAILURE)
    return result


def _print_ensemble(ens) -> None:
    if ens.corridors.empty:
        return
    last = int(ens.corridors["year"].max())
    q = ens.quantiles()
    q = q[q["year"] == last]
    table = Table(
        title=f"{ens.meta.get('scenario', 'ensemble')}: {ens.runs} runs, corridors in {last} (Mt/yr)"
    )
    for col in ("corridor", "median", "50% band", "90% band"):
        table.add_column(col, justify="left" if col == "corridor" else "right")
    for r in q.to_dict(orient="records"):
        mt = {k: v / 1e6 for k, v in r.items() if k.startswith("q")}
        if mt["q0.95"] <= 0:  # a corridor that carries nothing in any run
            continue
        table.add_row(r["corridor"], f"{mt['q0.5']:,.1f}", f"{mt['q0.25']:,.1f}-{mt['q0.75']:,.1f}",
                      f"{mt['q0.05']:,.1f}-{mt['q0.95']:,.1f}")  # fmt: skip
    stdout.print(table)
    p = ens.exceedance("middle", "russian")
    stdout.print(f"P(Middle Corridor passes the Russian route by {last}): {p['p_overtaken_by'].iloc[-1]:.0%}")


def _print_indices(sens) -> None:
    idx = sens.indices
    key, label = ("mu_star", "mu*") if sens.method == "morris" else ("ST", "total index")
    headline = [o for o in ("middle_share", "russian_share", "middle_volume_t") if o in set(idx["outcome"])]
    for outcome in headline:
        rows = idx[idx["outcome"] == outcome].sort_values(key, ascending=False)
        table = Table(title=f"{sens.method}: {outcome}")
        table.add_column("parameter")
        cols = ("mu_star", "sigma") if sens.method == "morris" else ("ST", "S1")
        for c in cols:
            table.add_column(label if c == key else c, justify="right")
        for r in rows.itertuples():
            table.add_row(r.parameter, *(f"{getattr(r, c):.3g}" for c in cols))
        stdout.print(table)


def _ranges(params: list[str] | None) -> dict[str, tuple[float, float]]:
    if not params:
        raise _bad_input(ValueError("--param: give at least one, e.g. --param cost_elasticity=2:6"))
    out: dict[str, tuple[float, float]] = {}
    for text in params:
        try:
            name, low, high = parse_range(text)
        except ValueError as exc:
            raise _bad_input(exc) from None
        if name in out:
            raise _bad_input(ValueError(f"--param {text!r}: {name} given twice"))
        out[name] = (low, high)
    return out


_PARAM_HELP = "A parameter range NAME=LOW:HIGH, e.g. cost_elasticity=2:6 (repeatable)."


@app.command()
def sweep(
    scenario: Annotated[str, typer.Argument(help="A scenario file, or the name of a shipped one.")],
    params: Annotated[list[str] | None, typer.Option("--param", "-p", help=_PARAM_HELP)] = None,
    samples: Annotated[
        int, typer.Option(min=1, help="lhs: points in all; grid: values per parameter (ends included).")
    ] = 10,
    design: Annotated[str, typer.Option(help="grid or lhs (Latin hypercube).")] = "lhs",
    replicates: Annotated[int, typer.Option(min=1, help="Replicates per point (common random numbers).")] = 1,
    seed: Annotated[int | None, typer.Option(min=0, help="Root seed (default: the scenario's).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The sweep directory (run again to resume it).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a directory holding another sweep.")
    ] = False,
    sets: Annotated[list[str] | None, typer.Option("--set", help="Override a field (repeatable).")] = None,
    workers: Workers = None,
    executor: ExecutorName = None,
    scheduler: Scheduler = None,
) -> None:
    """Sweep parameters over ranges (grid or Latin hypercube) and write a sweep directory.

    Each finished run is written at once; running the same command again skips them, so an
    interrupted sweep resumes. Runs that fail are recorded with their error; the command
    then exits 1.

    Example: [bold]corridors sweep baseline --param cost_elasticity=2:6 --param russia_premium_usd_per_t=20:120 --samples 50 --out results/sweep[/bold]
    """
    if design not in ("grid", "lhs"):
        raise _bad_input(ValueError(f"--design: must be grid or lhs, got {design!r}"))
    ranges = _ranges(params)
    execution = _execution(workers, executor, scheduler)
    sc = _load(scenario, sets)
    _run_many("sweep", ensemble.sweep, sc, out, force=force, execution=execution, params=ranges, samples=samples,
              design=design, replicates=replicates, seed=seed)  # fmt: skip


@app.command()
def sensitivity(
    scenario: Annotated[str, typer.Argument(help="A scenario file, or the name of a shipped one.")],
    params: Annotated[list[str] | None, typer.Option("--param", "-p", help=_PARAM_HELP)] = None,
    method: Annotated[
        str, typer.Option(help="morris (screening) or sobol (variance-based indices).")
    ] = "morris",
    samples: Annotated[
        int,
        typer.Option(min=2, help="SALib's N: Morris trajectories, or Sobol' base samples (a power of 2)."),
    ] = 8,
    replicates: Annotated[int, typer.Option(min=1, help="Replicates averaged per point.")] = 1,
    seed: Annotated[int | None, typer.Option(min=0, help="Root seed (default: the scenario's).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The directory to write (resumable).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a directory holding another analysis.")
    ] = False,
    sets: Annotated[list[str] | None, typer.Option("--set", help="Override a field (repeatable).")] = None,
    workers: Workers = None,
    executor: ExecutorName = None,
    scheduler: Scheduler = None,
) -> None:
    """Global sensitivity of the outcomes to parameter ranges (SALib: Morris or Sobol').

    Writes the runs and sensitivity.parquet (one row per outcome and parameter) and prints
    the ranking of the parameters for the headline outcomes.

    Example: [bold]corridors sensitivity baseline --param cost_elasticity=2:6 --param renewal_rate=0.1:0.5 --method morris --samples 10[/bold]
    """
    if method not in ("morris", "sobol"):
        raise _bad_input(ValueError(f"--method: must be morris or sobol, got {method!r}"))
    if method == "sobol" and samples & (samples - 1):
        raise _bad_input(ValueError(f"--samples: Sobol' sampling needs a power of 2, got {samples}"))
    ranges = _ranges(params)
    execution = _execution(workers, executor, scheduler)
    sc = _load(scenario, sets)
    _run_many("sensitivity", ensemble.sensitivity, sc, out, force=force, execution=execution, params=ranges,
              method=method, samples=samples, replicates=replicates, seed=seed)  # fmt: skip


@app.command()
def plot(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `corridors run`.")],
) -> None:
    """Draw (again) the standard plots of a run into its directory.

    Example: [bold]corridors plot results/baseline-7[/bold]
    """
    try:
        res = load_results(run_dir)
    except (OSError, ValueError) as exc:
        raise _bad_input(exc) from None
    for name, data in runs.render_plots(res).items():
        write_bytes_atomic(run_dir / name, data)
    err.print(f"plots written to {run_dir.resolve()}")


@app.command()
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the JSON Schema here instead of stdout.")
    ] = None,
) -> None:
    """The JSON Schema of scenario files, for editors.

    Example: [bold]corridors schema --out scenario.schema.json[/bold]
    """
    text = json.dumps(scenario_schema(), indent=2)
    if out is None:
        typer.echo(text)
    else:
        write_bytes_atomic(out, text.encode())
        err.print(f"schema written to {out.resolve()}")


@app.command()
def warmup() -> None:
    """Compile the Numba kernels into their on-disk cache (once per install; seconds).

    Example: [bold]corridors warmup[/bold]
    """
    from corridors.model import CorridorModel  # lazy: +0.6 s to import (Mesa 0.57 s), only warmup needs it

    routing.warmup()
    model = CorridorModel(end_year=2019, rng=0)
    model.run()  # the model's own kernels, fused
    outside = types.SimpleNamespace(shortest_path_trees=routing.shortest_path_trees)
    CorridorModel(end_year=2019, rng=0, router=outside).run()  # and one by one, as for other routers
    # the per-agent forms of the batched rules and re-booking on its own (tests, notebooks)
    model._rebook(np.zeros_like(model.sh.shares), model.view.available.copy())
    for agent in model.country_agents.values():
        agent.route_state_flows(model.view, model.terms, model.sh, model.params)
    model.shippers[0].choose(model.view, model.terms, model.cargo, model.params)
    model.shippers[0].remember(model.view, model.params)
    err.print("Numba kernels compiled and cached")


@app.command()
def demo(
    russian: Annotated[float, typer.Option(min=0, help="Load on the Russian route, t/day.")] = 30_000,
    middle: Annotated[float, typer.Option(min=0, help="Load on the Middle Corridor, t/day.")] = 4_500,
    sea: Annotated[float, typer.Option(min=0, help="Load on the sea route, t/day.")] = 20_000,
) -> None:
    """Route costs for three corridors from Khorgos to the EU, with congestion.

    An illustrative network (round numbers, not the sourced data): each corridor's
    least-cost path, free-flow and loaded time, and cost per tonne.

    Example: [bold]corridors demo --middle 6000[/bold]
    """
    rows = route_cost_demo((russian, middle, sea))
    table = Table(title="Khorgos -> EU: route costs by corridor (illustrative network)")
    for col in ("corridor", "km", "free-flow days", "loaded days", "USD/t", "bottleneck v/c"):
        table.add_column(col, justify="left" if col == "corridor" else "right")
    for r in rows:
        table.add_row(
            r.corridor,
            f"{r.distance_km:,.0f}",
            f"{r.free_flow_days:.1f}",
            f"{r.loaded_days:.1f}",
            f"{r.cost_usd_per_t:,.0f}",
            f"{r.bottleneck_utilisation:.2f}",
        )
    stdout.print(table)
    for r in rows:
        stdout.print(f"  {r.corridor:8} {r.route}")
    stdout.print(
        "USD/t = tariffs and handling + 0.25 USD per tonne-hour of transit time at loaded times (BPR)."
    )


@app.command()
def network(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the map (PNG).", dir_okay=False)
    ] = Path("results/network.png"),
    data: Annotated[
        Path | None, typer.Option(help="A data directory to use instead of the packaged one.")
    ] = None,
    year: Annotated[int, typer.Option(min=2019, max=2100, help="Links open in this year.")] = 2019,
) -> None:
    """Draw the corridor network and print free-flow route costs for the main pairs.

    Every corridor is listed, closed ones too (at the given year's links), with its
    free-flow time in days and its price per tonne and per TEU (tariffs and handling).

    Example: [bold]corridors network --out results/network.png[/bold]
    """
    if out.suffix.lower() != ".png":
        raise _bad_input(ValueError(f"--out: {out} must end in .png"))
    try:
        net = load_network(data)
        skims = net.skim(
            sorted({o for o, _ in MAIN_PAIRS}),
            sorted({m for _, m in MAIN_PAIRS}),
            corridors=CORRIDORS,
            year=year,
        )
    except (CorridorsError, OSError) as exc:
        raise _bad_input(exc) from None
    table = Table(title=f"Free-flow routes by corridor, {year} network (containers)")
    for col in ("origin", "market", "corridor", "days", "USD/t", "USD/TEU", "km"):
        table.add_column(col, justify="right" if col in ("days", "USD/t", "USD/TEU", "km") else "left")
    skims = skims.set_index(["origin", "market", "corridor"])
    for origin, market in MAIN_PAIRS:
        for k, corridor in enumerate(CORRIDORS):
            r = skims.loc[(origin, market, corridor)]
            label = corridor if net.corridors[corridor].enabled else f"{corridor} (closed)"
            cells = (
                [
                    f"{r.time_days:.1f}",
                    f"{r.price_usd_per_t:,.0f}",
                    f"{r.price_usd_per_teu:,.0f}",
                    f"{r.distance_km:,.0f}",
                ]
                if r.time_days < float("inf")
                else ["no route", "", "", ""]
            )
            table.add_row(origin if k == 0 else "", market.removeprefix("market_") if k == 0 else "", label, *cells,
                          end_section=k == len(CORRIDORS) - 1)  # fmt: skip
    _save_figure(plots.network_map(net), out)
    stdout.print(table)
    err.print(f"map written to {out.resolve()}")


@app.command()
def calibrate(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="The report directory to write (replaced if it holds a report)."),
    ] = Path("results/calibration"),
    starts: Annotated[
        int,
        typer.Option(min=1, help="Starts of the fit: the scenario's values, then Latin-hypercube points."),
    ] = 4,
    quick: Annotated[
        bool,
        typer.Option("--quick", help="A short fit (1 start, a few evaluations): for testing the pipeline."),
    ] = False,
    write_parameters: Annotated[
        Path | None,
        typer.Option(
            "--write-parameters",
            help="Also write the fitted values as a parameters file (.toml).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Fit the baseline to 2019-2023 and write the report (fit, errors, targets, plots, cross-validation).

    Example: [bold]corridors calibrate --out results/calibration --write-parameters scenarios/fitted.toml[/bold]
    """
    if write_parameters is not None and write_parameters.suffix.lower() != ".toml":
        raise _bad_input(ValueError(f"--write-parameters: {write_parameters} must end in .toml"))
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "report.md").is_file())):
        raise _bad_input(FileExistsError(f"--out: {out} exists and is not a calibration report directory"))
    try:
        history = load_history()
    except CorridorsError as exc:
        raise _bad_input(exc) from None
    options = {"starts": 1, "max_nfev": 2, "profile_points": 3} if quick else {"starts": starts}
    t0 = time.perf_counter()
    with _guarded("calibration", "{task.completed} model runs") as progress:
        task = progress.add_task("fit", total=None)

        def on_run(stage: str) -> None:
            progress.update(task, advance=1, description=stage)

        result = cal.fit(history, on_run=on_run, **options)
        progress.update(task, description="cross-validation: fit 2019-2022")
        cv = cal.cross_validate(history, on_run=lambda stage: on_run(f"cross-validation, {stage}"),
                                **{**options, "profile_points": 0})  # fmt: skip
        progress.update(task, description=f"writing {out}")
        path = cal.write_report(result, cv, out, history=history)
        if write_parameters is not None:
            cal.write_parameters(result, write_parameters)
    table = Table(title=f"Calibration 2019-2023: loss {result.loss:.3f}")
    for col in ("parameter", "value", "bounds"):
        table.add_column(col, justify="left" if col == "parameter" else "right")
    for p in result.free:
        table.add_row(p.name, f"{result.values[p.name]:.4g}", f"[{p.lower:g}, {p.upper:g}]")
    stdout.print(table)
    met = sum(t.ok for t in result.targets)
    stdout.print(f"targets met: {met} of {len(result.targets)}; Jacobian rank {result.rank} of "
                 f"{len(result.free)}, condition number {result.condition_number:.3g}")  # fmt: skip
    stdout.print(f"cross-validation (fit 2019-2022): loss of the 2023 points {cv.loss_2023:.3f}")
    stdout.print(f"report:  {path.resolve()}  ({time.perf_counter() - t0:.0f} s)")
    if write_parameters is not None:
        stdout.print(f"parameters: {write_parameters.resolve()}")


@app.command()
def dashboard(
    scenario: Annotated[
        str, typer.Argument(help="A shipped scenario's name, or a scenario file.")
    ] = "baseline",
    end_year: Annotated[
        int, typer.Option("--end-year", min=2020, max=2100, help="Last simulated year (shorter is faster).")
    ] = 2030,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless you say otherwise).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
) -> None:
    """Serve the tuning sliders of notebooks/02_tune_parameters.ipynb as a web app (Solara).

    Needs the dashboard extra: pip install -e ".[dashboard]". Ctrl-C stops it.

    Example: [bold]corridors dashboard c5_bloc --end-year 2030[/bold]
    """
    try:
        path = find_scenario(scenario)
        load_scenario(path, overrides={"period.end_year": end_year})
    except (CorridorsError, OSError) as exc:
        raise _bad_input(exc) from None
    if importlib.util.find_spec("solara") is None:
        err.print('[bold red]the dashboard needs Solara:[/bold red] pip install -e ".[dashboard]"')
        raise typer.Exit(EXIT_FAILURE)
    # The names of corridors.dashboard.SCENARIO_ENV and END_YEAR_ENV (not imported: that imports Solara).
    env = {
        **os.environ,
        "CORRIDORS_DASHBOARD_SCENARIO": str(path),
        "CORRIDORS_DASHBOARD_END_YEAR": str(end_year),
    }
    cmd = [sys.executable, "-m", "solara", "run", "corridors.dashboard", "--host", host, "--port", str(port),
           "--production", "--no-open"]  # fmt: skip
    err.print(f"corridors dashboard: {path.stem} to {end_year} on http://{host}:{port} (Ctrl-C to stop)")
    with _guarded("dashboard", stop_ok=True):  # Ctrl-C or SIGTERM: stop the server, exit 0
        server = subprocess.Popen(cmd, env=env)
        try:
            code = server.wait()
        finally:
            _stop(server)
    raise typer.Exit(code)


def _stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a child process that is still running: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
