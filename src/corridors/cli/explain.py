"""The ``explain`` command: why one run differs from another, or why a corridor carries what it carries."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import MofNCompleteColumn

from corridors.cli.guard import guarded, open_scenario, refuse, stdout
from corridors.vocabulary import CORRIDORS, GROUP_KEYS

if TYPE_CHECKING:  # the run and its results are imported by the command, not by `corridors --help`
    from corridors.results import Results

__all__ = ["explain"]


def _groups(items: list[str] | None) -> dict[str, str]:
    """Parse ``--group KEY=VALUE`` options; a bad one exits 2 naming it."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or key not in GROUP_KEYS or not value:
            raise refuse(
                ValueError(
                    f"--group: expected KEY=VALUE with KEY one of {', '.join(GROUP_KEYS)}, got {item!r}"
                )
            )
        out[key] = value
    return out


def _open(item: str, *, seed: int | None, deterministic: bool, progress) -> Results:
    """Read a run directory, or run a scenario (name or file)."""
    from corridors.experiments import runs
    from corridors.results import load_results

    path = Path(item)
    if path.is_dir():
        try:
            return load_results(path)
        except (OSError, ValueError) as exc:
            raise refuse(exc) from None
    sc = open_scenario(item)
    task = progress.add_task(f"running {sc.name}", total=None)
    res = runs.run(
        sc,
        seed=seed,
        stochastic=not deterministic,
        on_step=lambda done, total: progress.update(task, completed=done, total=total),
    )
    progress.remove_task(task)
    return res


def explain(
    run: Annotated[
        str,
        typer.Argument(help="The run to explain: a run directory, or a scenario (name or file) to run now."),
    ],
    reference: Annotated[
        str | None,
        typer.Argument(
            help="The run to compare it with (directory or scenario); omitted: explain RUN on its own."
        ),
    ] = None,
    corridor: Annotated[
        list[str] | None,
        typer.Option(
            "--corridor",
            "-c",
            help=f"Only this corridor's costs and links (repeatable): {', '.join(CORRIDORS)}.",
        ),
    ] = None,
    year: Annotated[int | None, typer.Option(help="The year explained (default: the run's last).")] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group",
            "-g",
            help=f"Only the shippers with KEY=VALUE (repeatable); KEY one of {', '.join(GROUP_KEYS)}.",
        ),
    ] = None,
    by: Annotated[
        str, typer.Option(help="Shipper attributes the costs and shifts are grouped by, comma-separated.")
    ] = "direction,commodity",
    seed: Annotated[
        int | None, typer.Option(min=0, help="Seed of scenarios run now (default: each one's).")
    ] = None,
    deterministic: Annotated[
        bool,
        typer.Option("--deterministic", help="Run scenarios without random draws (weather, disruptions)."),
    ] = False,
) -> None:
    """Say why RUN differs from REFERENCE, or why RUN's corridors carry what they carry.

    For the year it prints: the generalised cost the shippers compare, in parts
    (tariff and handling, time, queue, reliability, sanction premium, subsidy,
    political cost, corridor constant), and each part's change; each corridor's
    volume change by cause (demand, shift, shift to the sea, bans, capacity and
    backlog) and the shifts by shipper group; the links whose capacity bound;
    the projects funded, the reviews that funded nothing and why; the decisions
    and levers that differ between the runs.

    Example: [bold]corridors explain c5_bloc baseline --year 2030[/bold]
    Example: [bold]corridors explain results/eu-7 results/baseline-7 --corridor middle --group direction=transit[/bold]
    Example: [bold]corridors explain baseline --corridor middle[/bold]
    """
    bad = [c for c in corridor or [] if c not in CORRIDORS]
    if bad:
        raise refuse(ValueError(f"--corridor: {', '.join(bad)} is not one of {', '.join(CORRIDORS)}"))
    keys = [k.strip() for k in by.split(",") if k.strip()]
    unknown = [k for k in keys if k not in GROUP_KEYS]
    if unknown:
        raise refuse(ValueError(f"--by: {', '.join(unknown)} is not one of {', '.join(GROUP_KEYS)}"))
    groups = _groups(group)
    with guarded("explain", MofNCompleteColumn(), "quarters") as progress:
        this = _open(run, seed=seed, deterministic=deterministic, progress=progress)
        other = None
        if reference is not None:
            other = _open(reference, seed=seed, deterministic=deterministic, progress=progress)
    try:
        found = this.explain(other, year=year, corridors=corridor or None, group=groups or None, by=keys)
    except ValueError as exc:  # a year outside a run, a group no shipper matches, no costs table
        raise refuse(exc) from None
    stdout.print(str(found), markup=False, highlight=False, soft_wrap=True)
