"""The commands of many runs: sweep, sensitivity, discover, and the ensemble of ``run --replicates``.

Each runs its work through :func:`run_many`: a progress bar counting the finished, failed
and remaining runs, the table of the results, and exit code 1 if any run failed (the
finished runs are kept; the same command again resumes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from corridors.cli.guard import (
    EXIT_FAILURE,
    RUN_COUNTS,
    ExecutorName,
    Scheduler,
    Workers,
    err,
    execution_options,
    guarded,
    open_scenario,
    refuse,
    run_counter,
    stdout,
)
from corridors.errors import CorridorsError
from corridors.experiments.executors import Execution


def run_many(
    kind: str,
    fn: Callable[..., Any],
    sc,
    out: Path | None,
    *,
    force: bool,
    execution: Execution,
    **kwargs: Any,
) -> Any:
    """Run an ensemble, sweep or sensitivity with a progress bar; exit 1 if any run failed."""
    from corridors.experiments.figures import write_ensemble_figures

    target = out or Path("results") / f"{sc.name}-{kind}-{datetime.now():%Y%m%d-%H%M%S}"
    resume = f"finished runs are kept in {target}; run the same command again to resume"
    with guarded(
        kind, RUN_COUNTS, eta=True, note=resume, bad_input=(CorridorsError, ValueError, FileExistsError)
    ) as progress:
        where = execution.scheduler_address()
        task, on_progress = run_counter(progress, f"{kind} {sc.name}" + (f" on {where}" if where else ""))
        result = fn(sc, out=target, force=force, execution=execution, on_progress=on_progress, **kwargs)
        ens = getattr(result, "ensemble", result)
        if ens.failures.empty:
            progress.update(task, description=f"drawing the figures of {target}")
            figures = write_ensemble_figures(target, ens)
    if ens.failures.empty:
        _say_figures(figures, ens)
    _print_ensemble(ens)
    if hasattr(result, "indices"):
        _print_indices(result)
    stdout.print(f"results: {target.resolve()}")
    if not ens.failures.empty:
        n, total = len(ens.failures), int(ens.meta.get("runs", 0))
        err.print(
            f"[bold red]{n} of {total} runs failed[/bold red] (errors in {target / 'runs'}/*.error.json; "
            "run the same command again to retry them):",
            soft_wrap=True,
        )
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


def _say_figures(figures: list[Path], ens) -> None:
    """Name the figures written; warn when a fan chart rests on too few runs."""
    if figures:
        err.print(f"figures: {', '.join(str(p) for p in figures)}", highlight=False, soft_wrap=True)
    if ens.meta.get("kind", "ensemble") == "ensemble":
        warn_few_runs("the fan chart", ens.runs)


def warn_few_runs(what: str, runs: int) -> None:
    """Warn on stderr when a fan chart's bands rest on fewer than ``MIN_FAN_RUNS`` runs."""
    from corridors.plots import MIN_FAN_RUNS

    if runs < MIN_FAN_RUNS:
        err.print(
            f"[yellow]warning:[/yellow] {escape(what)} rests on {runs} runs; the bands of a fan chart "
            f"need {MIN_FAN_RUNS} or more (--replicates {MIN_FAN_RUNS})",
            highlight=False,
            soft_wrap=True,
        )


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
        table.add_row(
            r["corridor"],
            f"{mt['q0.5']:,.1f}",
            f"{mt['q0.25']:,.1f}-{mt['q0.75']:,.1f}",
            f"{mt['q0.05']:,.1f}-{mt['q0.95']:,.1f}",
        )
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

    from corridors.experiments.designs import parse_range

    if not params:
        raise refuse(ValueError("--param: give at least one, e.g. --param cost_elasticity=2:6"))
    out: dict[str, tuple[float, float]] = {}
    for text in params:
        try:
            name, low, high = parse_range(text)
        except ValueError as exc:
            raise refuse(exc) from None
        if name in out:
            raise refuse(ValueError(f"--param {text!r}: {name} given twice"))
        out[name] = (low, high)
    return out


# The options sweep and sensitivity share.
ScenarioName = Annotated[str, typer.Argument(help="A scenario file, or the name of a shipped one.")]
Ranges = Annotated[
    list[str] | None,
    typer.Option(
        "--param", "-p", help="A parameter range NAME=LOW:HIGH, e.g. cost_elasticity=2:6 (repeatable)."
    ),
]
RootSeed = Annotated[int | None, typer.Option(min=0, help="Root seed (default: the scenario's).")]
Sets = Annotated[list[str] | None, typer.Option("--set", help="Override a field (repeatable).")]


def sweep(
    scenario: ScenarioName,
    params: Ranges = None,
    samples: Annotated[
        int, typer.Option(min=1, help="lhs: points in all; grid: values per parameter (ends included).")
    ] = 10,
    design: Annotated[str, typer.Option(help="grid or lhs (Latin hypercube).")] = "lhs",
    replicates: Annotated[int, typer.Option(min=1, help="Replicates per point (common random numbers).")] = 1,
    seed: RootSeed = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The sweep directory (run again to resume it).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a directory holding another sweep.")
    ] = False,
    sets: Sets = None,
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
    from corridors.experiments import ensemble

    if design not in ("grid", "lhs"):
        raise refuse(ValueError(f"--design: must be grid or lhs, got {design!r}"))
    ranges = _ranges(params)
    execution = execution_options(workers, executor, scheduler)
    sc = open_scenario(scenario, sets)
    run_many(
        "sweep",
        ensemble.sweep,
        sc,
        out,
        force=force,
        execution=execution,
        params=ranges,
        samples=samples,
        design=design,
        replicates=replicates,
        seed=seed,
    )


def sensitivity(
    scenario: ScenarioName,
    params: Ranges = None,
    method: Annotated[
        str, typer.Option(help="morris (screening) or sobol (variance-based indices).")
    ] = "morris",
    samples: Annotated[
        int,
        typer.Option(min=2, help="SALib's N: Morris trajectories, or Sobol' base samples (a power of 2)."),
    ] = 8,
    replicates: Annotated[int, typer.Option(min=1, help="Replicates averaged per point.")] = 1,
    seed: RootSeed = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The directory to write (resumable).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a directory holding another analysis.")
    ] = False,
    sets: Sets = None,
    workers: Workers = None,
    executor: ExecutorName = None,
    scheduler: Scheduler = None,
) -> None:
    """Global sensitivity of the outcomes to parameter ranges (SALib: Morris or Sobol').

    Writes the runs and sensitivity.parquet (one row per outcome and parameter) and prints
    the ranking of the parameters for the headline outcomes.

    Example: [bold]corridors sensitivity baseline --param cost_elasticity=2:6 --param renewal_rate=0.1:0.5 --method morris --samples 10[/bold]
    """
    from corridors.experiments import ensemble

    if method not in ("morris", "sobol"):
        raise refuse(ValueError(f"--method: must be morris or sobol, got {method!r}"))
    if method == "sobol" and samples & (samples - 1):
        raise refuse(ValueError(f"--samples: Sobol' sampling needs a power of 2, got {samples}"))
    ranges = _ranges(params)
    execution = execution_options(workers, executor, scheduler)
    sc = open_scenario(scenario, sets)
    run_many(
        "sensitivity",
        ensemble.sensitivity,
        sc,
        out,
        force=force,
        execution=execution,
        params=ranges,
        method=method,
        samples=samples,
        replicates=replicates,
        seed=seed,
    )


def discover(
    directory: Annotated[
        Path, typer.Argument(help="A sweep or ensemble directory (sweep, run --replicates).")
    ],
    where: Annotated[
        str,
        typer.Option(
            "--where",
            "-w",
            help="The condition: SERIES[YEAR] OP NUMBER (OP: < <= > >=), joined by and / or, "
            "e.g. 'middle_corridor_t[2030] > 8e6 and russian_share[2030] < 0.33'.",
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The directory to write (default: DIRECTORY/discover).")
    ] = None,
    min_coverage: Annotated[
        float | None,
        typer.Option(help="Choose the densest box holding at least this share of the cases (default 0.8)."),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Choose instead the box of highest coverage at least this dense.")
    ] = None,
    box: Annotated[
        int | None, typer.Option(help="Choose instead this box of the trajectory (0: all runs).")
    ] = None,
    peel_alpha: Annotated[
        float | None, typer.Option(help="Share of a box's runs peeled off at each step (default 0.05).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output directory.")] = False,
) -> None:
    """Scenario discovery (PRIM): the ranges of the uncertain inputs in which a condition holds.

    Marks the runs where the condition holds and peels the inputs' ranges (EMA Workbench's
    PRIM) to a box that holds many of them (coverage) and few other runs (density). Writes
    the peeling trajectory, the chosen box's limits with their quasi-p-values, and their
    plots; prints the box. Series: the observables (middle_corridor_t, ...) and each
    corridor's CORRIDOR_VARIABLE (russian_share, middle_volume_t, ...).

    Example: [bold]corridors discover results/sweep --where "middle_corridor_t[2030] > 8e6"[/bold]
    """
    from corridors.experiments import discovery

    target = out if out is not None else directory / "discover"
    with guarded("discover", bad_input=(CorridorsError, FileNotFoundError, FileExistsError)):
        if target.exists() and not force:
            raise FileExistsError(f"--out: {target} exists (use --force to replace it)")
        try:
            found = discovery.discover(
                directory,
                where,
                min_coverage=discovery.MIN_COVERAGE if min_coverage is None else min_coverage,
                threshold=threshold,
                box=box,
                peel_alpha=discovery.PEEL_ALPHA if peel_alpha is None else peel_alpha,
            )
        except CorridorsError as exc:
            raise _as_option(exc) from None
        discovery.write_discovery(found, target, force=force)
    _print_discovery(found)
    stdout.print(f"results: {target.resolve()}")


def _as_option(exc: CorridorsError) -> CorridorsError:
    """Name the option at fault as the command spells it (--where, --min-coverage, ...)."""
    if exc.where in ("where", "min_coverage", "threshold", "box", "peel_alpha"):
        return CorridorsError(exc.file, "--" + exc.where.replace("_", "-"), exc.reason)
    return exc


def _print_discovery(d) -> None:
    b = d.box
    stdout.print(
        f"{d.where}: holds in {int(d.cases.sum())} of {len(d.cases)} runs. "
        f"Box {d.chosen} of {len(d.trajectory)} ({d.rule}): coverage {b['coverage']:.2f}, "
        f"density {b['density']:.2f}, mass {b['mass']:.2f}",
        soft_wrap=True,
        highlight=False,
    )
    table = Table(title="the box (restricted inputs)")
    for col in ("input", "lower", "upper", "sampled range", "quasi-p (lower, upper)"):
        table.add_column(col, justify="left" if col == "input" else "right")
    for r in d.limits[d.limits["restricted"]].itertuples():
        qp = ", ".join("-" if p != p else f"{p:.2g}" for p in (r.qp_lower, r.qp_upper))
        table.add_row(
            r.input, f"{r.lower:.4g}", f"{r.upper:.4g}", f"{r.sampled_min:.4g}-{r.sampled_max:.4g}", qp
        )
    stdout.print(table)
