"""The command ``corridors robust``: candidate investments against futures, with their regret."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from corridors.cli.ensembles import Ranges, RootSeed, Sets, _ranges
from corridors.cli.guard import (
    RUN_COUNTS,
    ExecutorName,
    Scheduler,
    Workers,
    execution_options,
    guarded,
    refuse,
    run_counter,
    stdout,
)
from corridors.errors import CorridorsError

if TYPE_CHECKING:
    from corridors.experiments.robust import RobustResults

__all__ = ["robust"]


def _weights(text: str | None) -> dict[str, float] | None:
    """``"baseline=2,sanctions_tighter=1"`` -> ``{"baseline": 2.0, "sanctions_tighter": 1.0}``."""
    if text is None:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise refuse(ValueError(f"--weights: expected FUTURE=WEIGHT,..., got {part!r}"))
    return out


def _print(res: RobustResults) -> None:
    net = res.net()
    regret = net.max(axis=0) - net
    table = Table(title="Net benefit to the five (USD m, present value) and regret")
    table.add_column("candidate")
    for f in net.columns:
        table.add_column(f"{f}\nnet | regret", justify="right")
    for col in ("expected", "max regret"):
        table.add_column(col, justify="right")
    s = res.summary
    for c in net.index:
        cells = [f"{net.at[c, f]:,.0f} | {regret.at[c, f]:,.0f}" for f in net.columns]
        name = (
            c
            + (" (minimax)" if s.at[c, "minimax_regret"] else "")
            + (" (best exp.)" if s.at[c, "best_expected"] else "")
        )
        table.add_row(
            name, *cells, f"{s.at[c, 'expected_net_usd_m']:,.0f}", f"{s.at[c, 'max_regret_usd_m']:,.0f}"
        )
    stdout.print(table)
    b = res.benefits
    dep = b.groupby("candidate", sort=False)["russian_share_change"].agg(["min", "max"])
    stdout.print(
        "Change in the five's Russian-route share in the last year (percentage points, over the futures):"
    )
    for c, r in dep.iterrows():
        stdout.print(f"  {c}: {100 * r['min']:+.2f} to {100 * r['max']:+.2f}")
    stdout.print(
        f"minimax-regret choice: [bold]{res.minimax_regret}[/bold]; best expected: [bold]{res.best_expected}[/bold]"
    )


def robust(
    candidates: Annotated[
        list[str] | None,
        typer.Option(
            "--candidates",
            "-c",
            help="projects (every project of projects.csv not yet completed), a project's name, or a TOML file of investment events (repeatable).",
        ),
    ] = None,
    futures: Annotated[
        list[str] | None,
        typer.Option("--futures", "-f", help="A shipped scenario's name or a scenario file (repeatable)."),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            min=1, help="Also N futures sampled (Latin hypercube) over --param ranges of --scenario."
        ),
    ] = None,
    scenario: Annotated[str, typer.Option(help="The scenario the samples vary.")] = "baseline",
    params: Ranges = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="The quarter the projects named start (not a file's events); default 2026Q1, the first "
            "quarter after the known history."
        ),
    ] = None,
    end_year: Annotated[
        int | None, typer.Option(help="The last year of every run (default: the futures').")
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(help="Weights of the futures for the expected net benefit: F=W,... (default equal)."),
    ] = None,
    nothing: Annotated[
        bool, typer.Option("--nothing/--no-nothing", help="Count doing nothing (net 0) as a choice.")
    ] = True,
    stochastic: Annotated[
        bool,
        typer.Option(
            "--stochastic/--deterministic", help="Random draws in the runs (same seed with and without)."
        ),
    ] = False,
    seed: RootSeed = None,
    sets: Sets = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The directory to write.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing directory.")] = False,
    workers: Workers = None,
    executor: ExecutorName = None,
    scheduler: Scheduler = None,
) -> None:
    """Which investments pay off for the five whatever happens: regret of candidates across futures.

    Each future runs without any candidate and with each one (same seed); a candidate's
    benefit is the fall in the generalised cost of the five's trade, discounted as the
    governments appraise projects, against its cost. Writes benefits.parquet,
    summary.parquet, annual.parquet, robust.json and robust.png; prints the net benefit and
    regret table, the minimax-regret and the best-expected choices.

    Example: [bold]corridors robust -c sarzha_terminal_kuryk -c aktau_container_hub -c poti_deep_water_terminal -f baseline -f sanctions_tighter -f sanctions_relief -f caspian_falling --out results/robust[/bold]
    """
    from corridors.experiments import robust as grid
    from corridors.scenario import parse_override

    execution = execution_options(workers, executor, scheduler)
    w = _weights(weights)
    if not futures and samples is None:
        raise refuse(ValueError("--futures: give at least one (a scenario), or --samples N with --param"))
    if params and samples is None:
        raise refuse(ValueError("--param: ranges are sampled with --samples N"))
    target = out or Path("results") / f"robust-{datetime.now():%Y%m%d-%H%M%S}"
    if target.exists() and not force:
        raise refuse(FileExistsError(f"{target}: already exists (use --force to replace it)"))
    with guarded(
        "robust",
        RUN_COUNTS,
        eta=True,
        bad_input=(CorridorsError, ValueError, FileExistsError),
    ) as progress:
        overrides = dict(parse_override(item) for item in sets or [])
        start = grid.DEFAULT_START if start is None else start
        cands = grid.candidates_from(candidates or [], start=start)
        found = grid.scenario_futures(futures or [], overrides=overrides, seed=seed)
        if samples is not None:
            ranges = _ranges(params) if params else {}
            found += grid.sample_futures(scenario, ranges, samples, seed=seed or 0, overrides=overrides)
        _, on_progress = run_counter(progress, "robust")
        res = grid.robust(
            cands,
            found,
            end_year=end_year,
            stochastic=stochastic,
            weights=w,
            include_nothing=nothing,
            execution=execution,
            on_progress=on_progress,
        )
        res.save(target, force=force)
    _print(res)
    stdout.print(f"results: {target.resolve()}")
