"""The ``criticality`` command: which single link's closure costs the five most."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from corridors.cli.ensembles import RootSeed, ScenarioName, Sets
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
    run_counter,
    save_figure,
    stdout,
)
from corridors.errors import CorridorsError
from corridors.vocabulary import CORRIDORS


def criticality(
    scenario: ScenarioName,
    links: Annotated[
        list[str] | None,
        typer.Option(
            "--links",
            "-l",
            help="A link to close, 'tail>head' with node names (repeatable; all parallel links of the name "
            "close together). Default: every hard-capacity link and border crossing but pipelines.",
        ),
    ] = None,
    start: Annotated[str, typer.Option("--from", help="The first quarter closed, e.g. 2027Q1.")] = "2027Q1",
    quarters: Annotated[int, typer.Option(min=1, help="Quarters each link stays closed.")] = 4,
    top: Annotated[int, typer.Option(min=1, help="Links printed and drawn in the bar chart.")] = 10,
    stochastic: Annotated[
        bool,
        typer.Option(
            "--stochastic",
            help="Keep the scenario's random draws (the same seed in every run); default: deterministic runs.",
        ),
    ] = False,
    seed: RootSeed = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The directory to write (run again to resume it).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a directory holding another analysis.")
    ] = False,
    sets: Sets = None,
    workers: Workers = None,
    executor: ExecutorName = None,
    scheduler: Scheduler = None,
) -> None:
    """Rank links by what closing each one alone costs the five (chokepoint criticality).

    One run per link, closed from --from for --quarters quarters, against the same
    scenario, seed and randomness without the closure; each run ends with the closure's
    last year. Ranks by the five's extra generalised transport cost over the closure (USD),
    and gives their freight not delivered and rerouted (t) and each corridor's volume
    change. Writes criticality.parquet, criticality_bars.png and criticality_map.png.

    Example: [bold]corridors criticality baseline --links "baku_alat>tbilisi" --links "kuryk>baku_alat" --from 2027Q1 --quarters 4 --workers 2 --out results/criticality[/bold]
    """
    from corridors.experiments.criticality import criticality as run_criticality
    from corridors.network import packaged_network
    from corridors.plots.criticality import criticality_bars, criticality_map

    execution = execution_options(workers, executor, scheduler)
    sc = open_scenario(scenario, sets)
    target = out or Path("results") / f"{sc.name}-criticality-{datetime.now():%Y%m%d-%H%M%S}"
    resume = f"finished runs are kept in {target}; run the same command again to resume"
    with guarded(
        "criticality",
        RUN_COUNTS,
        eta=True,
        note=resume,
        bad_input=(CorridorsError, ValueError, FileExistsError),
    ) as progress:
        _, on_progress = run_counter(progress, f"criticality {sc.name}")
        result = run_criticality(
            sc,
            links=links,
            start=start,
            quarters=quarters,
            seed=seed,
            stochastic=stochastic,
            execution=execution,
            out=target,
            force=force,
            on_progress=on_progress,
        )
        if result.failures.empty:
            save_figure(criticality_bars(result.table, result.meta, top=top), target / "criticality_bars.png")
            save_figure(
                criticality_map(result.table, packaged_network(), result.meta), target / "criticality_map.png"
            )
    _print_table(result, top)
    stdout.print(f"results: {target.resolve()}")
    if not result.failures.empty:
        err.print(
            f"[bold red]{len(result.failures)} runs failed[/bold red] (errors in {target / 'runs'}/*.error.json; "
            "run the same command again to retry them):",
            soft_wrap=True,
        )
        for row in result.failures.head(5).itertuples():
            err.print(
                f"  {row.link}: {escape(row.error)}: {escape(row.message)}", highlight=False, soft_wrap=True
            )
        raise typer.Exit(EXIT_FAILURE)


def _print_table(result, top: int) -> None:
    meta = result.meta
    a, b = meta["closure"]
    mode = "stochastic" if meta["stochastic"] else "deterministic"
    table = Table(
        title=f"{meta['scenario']}: links closed {a}-{b}, seed {meta['seed']}, {mode}; the five's freight"
    )
    table.add_column("#", justify="right")
    table.add_column("link", no_wrap=True)
    table.add_column("extra cost M USD", justify="right")
    table.add_column("not delivered kt", justify="right")
    table.add_column("rerouted kt", justify="right")
    table.add_column("corridor volumes kt")
    for r in result.top(top).to_dict(orient="records"):
        changes = [
            f"{c.replace('_', '-')} {r[f'{c}_volume_change_t'] / 1e3:+,.0f}"
            for c in CORRIDORS
            if abs(r[f"{c}_volume_change_t"]) >= 500
        ]
        table.add_row(
            str(r["rank"]),
            r["link"],
            f"{r['extra_cost_usd'] / 1e6:,.1f}",
            f"{r['not_delivered_t'] / 1e3:,.0f}",
            f"{r['rerouted_t'] / 1e3:,.0f}",
            ", ".join(changes) or "-",
        )
    stdout.print(table)
