"""The command that exports a run's tables for spreadsheets: export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corridors.cli.guard import err, guarded
from corridors.errors import CorridorsError


def export(
    run_dir: Annotated[
        Path,
        typer.Argument(help="A run directory (corridors run), or an ensemble, sweep or sensitivity one."),
    ],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="csv (a folder of files) or xlsx (one workbook).")
    ] = "csv",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="The folder (csv) or .xlsx file to write (default: beside the run, RUN-csv or RUN.xlsx).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
) -> None:
    """Export a run's tables as CSV files or one Excel workbook, units in the column names.

    Writes the summary (headline indicators), every table of the directory (volume_t in
    tonnes, cost_usd_per_t, time_days, ...), a table of every column's unit, and where the
    run came from (its manifest). xlsx: one sheet per table.

    Example: [bold]corridors export results/baseline-7 --format xlsx --out baseline-7.xlsx[/bold]
    Example: [bold]corridors export results/baseline-7 --format csv --out baseline-7-csv[/bold]
    """
    from corridors.results.export import export_run

    target = out or run_dir.parent / (f"{run_dir.name}.xlsx" if fmt == "xlsx" else f"{run_dir.name}-csv")
    with guarded("export"):
        try:
            path = export_run(run_dir, target, fmt=fmt, force=force)  # type: ignore[arg-type]
        except CorridorsError as exc:
            if exc.file is None and exc.where:  # the function's argument is the command's option
                raise CorridorsError(None, f"--{exc.where}", exc.reason) from None
            raise
    err.print(f"{fmt} export written to {path.resolve()}", highlight=False, soft_wrap=True)
