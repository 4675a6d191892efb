"""The commands of single runs and scenario files: run, validate, scenarios, list, compare, plot, schema."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import MofNCompleteColumn
from rich.table import Table

from corridors.atomic import write_bytes_atomic
from corridors.cli.ensembles import run_many, warn_few_runs
from corridors.cli.guard import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    ExecutorName,
    Scheduler,
    Workers,
    err,
    execution_options,
    guarded,
    open_scenario,
    refuse,
    save_figure,
    stdout,
)
from corridors.errors import CorridorsError
from corridors.vocabulary import CORRIDORS


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

    A single run whose 2019-2023 history moves a calibration series by more than its
    observation error from the calibrated baseline's (e.g. --set cost_elasticity=3.5) says
    so in one line, and records the check as calibration_check in meta.json and manifest.json.

    Example: [bold]corridors run baseline --seed 7 --out results/baseline-7[/bold]
    Example: [bold]corridors run baseline --replicates 100 --workers 2 --out results/baseline-ens[/bold]
    """
    from corridors.experiments import runs
    from corridors.experiments.calibrate.drift import calibration_drift

    if replicates is None and (workers is not None or executor is not None or scheduler is not None):
        raise refuse(
            ValueError("--workers, --executor and --scheduler apply to ensembles: add --replicates N")
        )
    execution = execution_options(workers, executor, scheduler)
    sc = open_scenario(scenario, sets)
    if replicates is not None:
        from corridors.experiments import ensemble

        run_many(
            "ensemble",
            ensemble.run_ensemble,
            sc,
            out,
            force=force,
            execution=execution,
            replicates=replicates,
            seed=seed,
        )
        return
    target = out or Path("results") / f"{sc.name}-{datetime.now():%Y%m%d-%H%M%S}"
    if target.exists() and not force:
        raise refuse(FileExistsError(f"--out: {target} already exists (use --force to replace it)"))
    with guarded("run", MofNCompleteColumn(), "quarters") as progress:
        task = progress.add_task(f"running {sc.name}", total=None)
        res = runs.run(
            sc, seed=seed, on_step=lambda done, total: progress.update(task, completed=done, total=total)
        )
        progress.update(task, description="comparing 2019-2023 with the calibrated baseline")
        drift = calibration_drift(res, sc, seed=res.meta.get("seed"))
        res.meta["calibration_check"] = drift.to_dict()
        progress.update(task, description=f"writing {target}")
        path = runs.write_run(res, sc, target, force=force, plots=plots)
    if drift.warning():
        err.print(f"[yellow]warning:[/yellow] {escape(drift.warning())}", highlight=False, soft_wrap=True)
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
        table.add_row(
            corridor,
            f"{vol / 1e6:,.1f}",
            f"{s['share_last_year'][corridor]:.0%}",
            "-" if days is None else f"{days:.0f}",
        )
    stdout.print(table)
    year = s.get("middle_overtakes_russian_year")
    stdout.print(
        f"Middle Corridor passes the Russian route: {year if year else 'not by ' + str(s['last_year'])}"
    )


def validate(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario files or names.")],
    effects: Annotated[
        bool,
        typer.Option(
            "--effects",
            help="Also run each scenario and the baseline, and check its \\[\\[expect]] claims (exit 1 if one fails).",
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option(min=0, help="With --effects: the seed of both runs (default: the scenario's)."),
    ] = None,
    stochastic: Annotated[
        bool,
        typer.Option(
            "--stochastic",
            help="With --effects: random draws in both runs (default: none; pledges of probability >= 0.5 delivered on time).",
        ),
    ] = False,
) -> None:
    r"""Check scenario files without running them; one line per file, then its warnings.

    Warnings (on stderr, exit code still 0): events starting after period.end_year (they
    are ignored), and a link name (tail>head) that selects several parallel links, such as
    aktau>baku_alat (the rail ferry, the container feeder, the crude tanker, the bulk ships).

    With --effects, run each scenario and the baseline (the same seed, period and stochastic
    mode) and print its claims (\[\[expect]]) as held or failed with the two values; the exit
    code is 1 if any claim failed.

    Example: [bold]corridors validate scenarios/*.toml[/bold]
    Example: [bold]corridors validate --effects eu_global_gateway c5_bloc[/bold]
    """
    from corridors.scenario import find_scenario, load_scenario

    if not effects and (seed is not None or stochastic):
        raise refuse(ValueError("--seed and --stochastic apply to --effects: add --effects"))
    bad = 0
    loaded = []
    for item in scenarios:
        try:
            sc = load_scenario(find_scenario(item))
            sc.events(sc.parameters())
        except (CorridorsError, OSError) as exc:
            err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            bad += 1
        else:
            loaded.append(sc)
            if not effects:
                stdout.print(f"ok  {sc.name}  ({sc.path})", highlight=False, soft_wrap=True)
            for note in sc.notes():
                err.print(f"[yellow]warning:[/yellow] {escape(note)}", highlight=False, soft_wrap=True)
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)
    if effects:
        _check_effects(loaded, seed=seed, stochastic=stochastic)


def _check_effects(scenarios: list, *, seed: int | None, stochastic: bool) -> None:
    """Run each scenario with claims and the baseline, print its claims; exit 1 if one failed."""
    from corridors.experiments import effects

    tables = []
    with_claims = [sc for sc in scenarios if sc.expect]
    with guarded("validate --effects", MofNCompleteColumn(), "scenarios") as progress:
        task = progress.add_task("checking claims", total=len(with_claims))
        for sc in with_claims:
            progress.update(task, description=f"running {sc.name} and the baseline")
            tables.append(effects.check_effects(sc, seed=seed, stochastic=stochastic))
            progress.advance(task)
    failed = 0
    for sc in scenarios:
        if not sc.expect:
            stdout.print(f"{sc.name}: no claims ({escape('[[expect]]')}) to check", highlight=False)
    for table in tables:
        stdout.print(_claims_table(table))
        failed += int((~table["held"]).sum())
    total = sum(len(t) for t in tables)
    mode = "stochastic" if stochastic else "deterministic"
    stdout.print(f"claims held: {total - failed} of {total} ({mode} runs)", highlight=False)
    if failed:
        raise typer.Exit(EXIT_FAILURE)


def _claims_table(table) -> Table:
    """One scenario's claims as a rich table: the claim, the two values, the test, held or failed."""
    from corridors.experiments import effects

    name = table["scenario"].iloc[0]
    out = Table(title=f"{name}: claims against the baseline", title_justify="left")
    out.add_column("claim (measure)", ratio=1, min_width=20)
    for col in ("year", "scenario", "baseline", "test", "result"):
        out.add_column(col, justify="left" if col in ("test", "result") else "right", no_wrap=True)
    for r in table.itertuples():
        measure = r.observable + (f", {r.qualifiers}" if r.qualifiers else "")
        year = r.years if r.years == str(r.year) else f"{r.years}: {r.year}"
        out.add_row(
            f"{escape(r.claim)}\n[dim]{escape(measure)}[/dim]",
            year,
            effects.format_value(r.scenario_value, r.unit),
            effects.format_value(r.baseline_value, r.unit),
            effects.format_test(r.test, r.bound, r.ratio, r.change, r.scenario_value),
            "[green]held[/green]" if r.held else "[bold red]FAILED[/bold red]",
        )
    return out


def list_scenarios(
    table: Annotated[
        Path | None,
        typer.Option(
            "--table",
            help="Instead, run every shipped scenario and the baseline and write the scenario-effects "
            "table (Markdown) here.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    r"""List the shipped scenarios, one line each (or write the scenario-effects table).

    With --table, run every shipped scenario and the baseline (deterministic, the same seed
    and period) and write their headline indicators in 2030 and 2035 and their claims
    (\[\[expect]]), held or failed, as Markdown.

    Example: [bold]corridors scenarios[/bold]
    Example: [bold]corridors scenarios --table docs/scenarios.md[/bold]
    """
    from corridors.experiments import scenario_table
    from corridors.scenario import load_scenario, scenario_dir

    if table is not None:
        if table.suffix.lower() != ".md":
            raise refuse(ValueError(f"--table: {table} must end in .md"))
        with guarded("scenarios --table", MofNCompleteColumn(), "scenarios") as progress:
            shipped = sorted(p for p in scenario_dir().glob("*.toml") if p.stem != "baseline")
            task = progress.add_task("scenarios", total=len(shipped))

            def on_scenario(name: str) -> None:
                progress.update(task, description=f"running {name} and the baseline")
                progress.advance(task)

            path = scenario_table.write_scenarios_table(table, shipped, on_scenario=on_scenario)
        err.print(f"scenario-effects table written to {path.resolve()}")
        return
    for path in sorted(scenario_dir().glob("*.toml")):
        try:
            sc = load_scenario(path)
        except CorridorsError as exc:
            err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", soft_wrap=True)
            continue
        stdout.print(f"[bold]{sc.name:22}[/bold] {escape(sc.title)}", soft_wrap=True)


def list_names(
    kind: Annotated[str, typer.Argument(help="What to list: nodes, links, markets, projects or parameters.")],
) -> None:
    """List the names a scenario file may use, one line each with what it is.

    nodes, markets and links (tail>head; one name may select parallel links, e.g. the
    ferry, feeder and crude tanker of aktau>baku_alat) for events' selectors and claims;
    projects of projects.csv for investments; parameters for [parameters], --set and
    --param (with their defaults, bounds and meaning; a key of a table such as
    reliability_penalty_days.middle is one too).

    Example: [bold]corridors list links[/bold]
    Example: [bold]corridors list parameters[/bold]
    """
    from corridors.scenario.names import scenario_names

    try:
        rows = scenario_names(kind)
    except ValueError as exc:
        raise refuse(ValueError(f"list: {exc}")) from None
    width = max(len(name) for name, _ in rows)
    for name, what in rows:
        stdout.print(f"{name:{width}}  {what}", markup=False, highlight=False, soft_wrap=True)


def compare(
    run_dirs: Annotated[
        list[Path], typer.Argument(help="Run directories, or ensemble directories (one or more).")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the figure: .png, .pdf or .svg.")
    ] = Path("results/compare.png"),
    overtake: Annotated[
        str,
        typer.Option(help="With ensembles: the probability that corridor A passes B by each year, as A:B."),
    ] = "middle:russian",
    table: Annotated[
        Path | None,
        typer.Option(
            "--table",
            help="Also print the runs' headline indicators side by side and write them here (.csv or .md).",
            dir_okay=False,
        ),
    ] = None,
    year: Annotated[
        int | None, typer.Option(help="With --table: the year (default: the last one every run reports).")
    ] = None,
) -> None:
    """Draw runs side by side: volumes by corridor and their differences against the first.

    Given ensemble directories (corridors run --replicates, sweep, sensitivity), draw fan
    charts instead (median, 50% and 90% bands per corridor) and the probability that one
    corridor overtakes another by each year. Legends name each run by its scenario and
    overrides (--set).

    With --table, print the headline indicators of the runs (volumes, Middle Corridor
    transit days, the five's Russian dependence, critical minerals to the West) with each
    run's change against the first, and write them as CSV or Markdown.

    Runs whose headline indicators are all within 1% of the first's are named, with the
    `corridors explain` command that says why.

    Example: [bold]corridors compare results/baseline-7 results/c5_bloc-7 --out results/bloc.pdf[/bold]
    Example: [bold]corridors compare results/baseline-7 results/c5_bloc-7 --table results/headlines.csv[/bold]
    Example: [bold]corridors compare results/baseline-ens results/bloc-ens --out results/fan.svg[/bold]
    """
    from corridors import plots
    from corridors.experiments import scenario_table
    from corridors.results import load_ensemble, load_results
    from corridors.results.explain import headline_change
    from corridors.results.labels import directory_labels

    if out.suffix.lower().lstrip(".") not in plots.FIGURE_FORMATS:
        raise refuse(ValueError(f"--out: {out} must end in .png, .pdf or .svg"))
    if table is not None and table.suffix.lower() not in (".csv", ".md"):
        raise refuse(ValueError(f"--table: {table} must end in .csv or .md"))
    if year is not None and table is None:
        raise refuse(ValueError("--year applies to --table: add --table FILE"))
    pair = overtake.split(":")
    if len(pair) != 2 or not all(c in CORRIDORS for c in pair) or pair[0] == pair[1]:
        raise refuse(ValueError(f"--overtake: expected A:B, two of {', '.join(CORRIDORS)}, got {overtake!r}"))
    try:
        items = [load_ensemble(d) if (d / "ensemble.json").is_file() else load_results(d) for d in run_dirs]
    except (OSError, ValueError) as exc:
        raise refuse(exc) from None
    ensembles = any(not hasattr(r, "countries") for r in items)
    if len(items) < 2 and not ensembles:
        raise refuse(ValueError("compare: give at least two run directories, or an ensemble directory"))
    if table is not None and ensembles:
        raise refuse(ValueError("--table: compares single runs; give run directories, not ensembles"))
    labels = directory_labels(run_dirs)
    headlines = None
    if table is not None:
        try:
            headlines = scenario_table.headline_table(items, labels, year=year)
        except ValueError as exc:
            raise refuse(ValueError(f"--{exc}")) from None
    try:
        figure = plots.compare(items, labels, overtake=(pair[0], pair[1]))
    except ValueError as exc:  # more ensembles than a fan chart tells apart
        raise refuse(ValueError(f"compare: {exc}")) from None
    save_figure(figure, out)
    err.print(f"figure written to {out.resolve()}")
    for item, label in zip(items, labels, strict=True):
        if hasattr(item, "quantiles"):  # an ensemble (single runs are drawn without bands)
            warn_few_runs(label, item.runs)
    if headlines is not None:
        stdout.print(_headline_rich(headlines))
        scenario_table.write_headline_table(headlines, table)
        err.print(f"table written to {table.resolve()}")
    if not ensembles:
        for res, d in zip(items[1:], run_dirs[1:], strict=True):
            if headline_change(res, items[0]) < 0.01:  # every headline indicator within 1%
                stdout.print(
                    f"{d}: no effect: see `corridors explain {d} {run_dirs[0]}`",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )


def _headline_rich(headlines) -> Table:
    """Lay out the headline table for the terminal: a row per indicator, a column per run (changes in brackets)."""
    from corridors.experiments import scenario_table

    year = int(headlines["year"].iloc[0])
    out = Table(title=f"Headline indicators in {year} (in brackets: change against the first run)")
    out.add_column("indicator", ratio=1, min_width=14)
    rows = scenario_table.headline_cells(headlines)
    for cells in rows:
        out.add_column(escape(cells[0]), justify="right")
    for i, (heading, *_) in enumerate(scenario_table.HEADLINES, start=1):
        out.add_row(heading, *(escape(cells[i]) for cells in rows))
    return out


def plot(
    run_dir: Annotated[
        Path,
        typer.Argument(help="A run directory (corridors run), or an ensemble, sweep or sensitivity one."),
    ],
    year: Annotated[int | None, typer.Option(help="The flow map's year (default: the run's last).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="File format: png, svg or pdf.")] = "png",
    dpi: Annotated[int, typer.Option(min=30, max=1200, help="Dots per inch.")] = 120,
) -> None:
    """Draw (again) the standard plots of a run, or the figure of an ensemble, into its directory.

    An ensemble gets its fan chart (fan_chart.png), a sweep its outcomes against each swept
    parameter (sweep.png), a sensitivity analysis its indices (sensitivity.png).

    Example: [bold]corridors plot results/baseline-7[/bold]
    Example: [bold]corridors plot results/baseline-7 --year 2030 --format svg --dpi 150[/bold]
    Example: [bold]corridors plot results/baseline-ens[/bold] (an ensemble: --year, --format and
    --dpi are for runs)
    """
    from corridors.experiments import runs
    from corridors.experiments.figures import write_ensemble_figures
    from corridors.results import load_results

    if fmt not in ("png", "svg", "pdf"):
        raise refuse(ValueError(f"--format: expected png, svg or pdf, got {fmt!r}"))
    if (run_dir / "ensemble.json").is_file():
        try:
            written = write_ensemble_figures(run_dir)
        except (OSError, ValueError) as exc:
            raise refuse(exc) from None
        err.print(
            f"figures: {', '.join(str(p) for p in written) or 'none (no finished run)'}", soft_wrap=True
        )
        return
    try:
        res = load_results(run_dir)
    except (OSError, ValueError) as exc:
        raise refuse(exc) from None
    years = sorted(res.edges["year"].unique())
    if year is not None and year not in years:
        raise refuse(ValueError(f"--year: {year} is not in the run {run_dir} ({years[0]}-{years[-1]})"))
    for name, data in runs.render_plots(res, year=year, fmt=fmt, dpi=dpi).items():
        write_bytes_atomic(run_dir / name, data)
    err.print(f"plots written to {run_dir.resolve()}")


def schema(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the JSON Schema here instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of scenario files, for editors (or write it to --out).

    Example: [bold]corridors schema --out scenario.schema.json[/bold]
    """
    from corridors.scenario import scenario_schema

    text = json.dumps(scenario_schema(), indent=2)
    if out is None:
        typer.echo(text)
    else:
        write_bytes_atomic(out, text.encode())
        err.print(f"schema written to {out.resolve()}")
