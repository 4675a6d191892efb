"""The ``corridors`` command. The only module that prints."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from corridors import __version__
from corridors.errors import CorridorsError

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


def _bad_input(exc: Exception) -> typer.Exit:
    """One line on stderr naming what is wrong, and the exit code for bad input."""
    err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _save_figure(fig, path: Path) -> None:
    """Write a figure atomically: a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=150)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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


@app.command()
def warmup() -> None:
    """Compile the Numba kernels into their on-disk cache (once per install; seconds).

    Example: [bold]corridors warmup[/bold]
    """
    from corridors.routing import warmup as compile_kernels

    compile_kernels()
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
    from corridors.demo import route_cost_demo

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
    from corridors.network import CORRIDORS, load_network
    from corridors.plots import network_map

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
    _save_figure(network_map(net), out)
    stdout.print(table)
    err.print(f"map written to {out.resolve()}")
