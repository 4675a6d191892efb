"""The ``report`` command: one self-contained HTML page of runs or ensembles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corridors.cli.guard import err, guarded, refuse

__all__ = ["report"]


def report(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            metavar="RUN_OR_ENSEMBLE...",
            help="Run directories (one, or several to compare), or ensemble directories, not both; and/or "
            "the output directories of discover, criticality and robust.",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The HTML file to write (replaced if it exists).")
    ] = Path("results/report.html"),
    year: Annotated[
        int | None,
        typer.Option(
            help="The year of the Sankey, flow map, headline and explain tables (default 2030, else the last)."
        ),
    ] = None,
    run_baseline: Annotated[
        bool,
        typer.Option(
            "--run-baseline/--no-run-baseline",
            help="Run the baseline now to check a run's claims when no baseline run of its seed is given.",
        ),
    ] = True,
) -> None:
    """Write one self-contained HTML report of runs, ensembles or analyses; it opens offline and loads nothing.

    It holds each scenario's title, description, article passage and provenance (version,
    seed, input hashes), a headline table across the runs, corridor volumes with the
    observed history, route shares by country, a Sankey of the year's flows (country ->
    corridor -> market), the flow map, the bottlenecks, the `corridors explain` tables
    and the scenario's claims ([[expect]]) against the baseline of the same seed; for
    ensembles, fan charts. A directory written by discover (the PRIM box, its limits and
    trajectory), criticality (the ranked links, bars and map) or robust (net benefit,
    regret and the choices) gets a section of its own, drawn from its saved tables.

    Example: [bold]corridors report results/c5_bloc-7 results/baseline-7 --out results/bloc.html[/bold]
    Example: [bold]corridors report results/baseline-ens --out results/baseline-ens.html --year 2035[/bold]
    Example: [bold]corridors report results/sweep/discover results/criticality results/robust --out results/analyses.html[/bold]
    """
    # plotly and jinja2 load with the command only: `corridors --help` and the other commands stay fast
    from corridors.report import check_out, write_report

    try:
        check_out(out)
    except ValueError as exc:
        raise refuse(exc) from None
    with guarded("report", "") as progress:
        task = progress.add_task("reading", total=None)
        path = write_report(
            run_dirs,
            out,
            year=year,
            run_baseline=run_baseline,
            on_progress=lambda what: progress.update(task, description=what),
        )
    err.print(f"report written to {path.resolve()}")
