"""The ``corridors`` command. The only module that prints."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from corridors import __version__

app = typer.Typer(
    name="corridors",
    help="Simulate the competition between Central Asia's trade routes.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
out = Console()
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        out.print(f"corridors {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Simulate the competition between Central Asia's trade routes."""


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
    out.print(table)
    for r in rows:
        out.print(f"  {r.corridor:8} {r.route}")
    out.print("USD/t = tariffs and handling + 0.25 USD per tonne-hour of transit time at loaded times (BPR).")
