"""The ``corridors`` command: the Typer app and its commands, in the order ``--help`` lists them.

The commands are grouped by what they work on: :mod:`~corridors.cli.runs` (single runs,
scenario files, comparisons, plots, the schema), :mod:`~corridors.cli.exports` (CSV and
Excel exports), :mod:`~corridors.cli.ensembles`
(ensembles, sweeps, sensitivity, scenario discovery) and :mod:`~corridors.cli.tools` (warmup, the demo, the
network, the calibration, the dashboard). :mod:`~corridors.cli.guard` holds what they share:
the guard every long command runs in (progress bar, SIGTERM as Ctrl-C, one line for what
stopped it), the consoles, the exit codes and the options. The only package that prints.

Exit codes: 0 ok, 1 the run failed, 2 bad input, 128 + the signal's number when interrupted
(130 for Ctrl-C, 143 for SIGTERM).

The command modules import only typer, rich and the light parts of the package at the top;
each command imports the model, its results, the scenarios and the plots (numpy, pandas,
Numba, Mesa, matplotlib) when it runs. ``import corridors.cli`` took 1.15 s of CPU time with
them at the top and 0.12 s without (``time.process_time``, 2-core machine under load), so
``corridors --help`` and the light commands start at once, and ``corridors run`` loads only
what a run uses. Solara runs in a process of its own.
"""

from __future__ import annotations

import os
import shutil
from typing import Annotated

import typer
import typer.rich_utils

from corridors._version import __version__
from corridors.cli import criticality, ensembles, explain, exports, report, robust, runs, tools
from corridors.cli.guard import stdout

__all__ = ["app"]

HELP_MIN_WIDTH = 100
"""``--help`` is laid out at least this wide (or as wide as the terminal), so that long
option values (``--set parameters.cost_elasticity=3.5``) are not cut at 80 columns; an
explicit ``TERMINAL_WIDTH`` wins."""
if not os.environ.get("TERMINAL_WIDTH"):
    typer.rich_utils.MAX_WIDTH = max(HELP_MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)

app = typer.Typer(
    name="corridors",
    help="Simulate the competition between Central Asia's trade routes.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    """Print the version and stop, for ``--version``."""
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


# The commands, in the order of --help.
COMMANDS = (
    ("run", runs.run_command),
    ("validate", runs.validate),
    ("scenarios", runs.list_scenarios),
    ("list", runs.list_names),
    ("compare", runs.compare),
    ("explain", explain.explain),
    ("report", report.report),
    ("sweep", ensembles.sweep),
    ("sensitivity", ensembles.sensitivity),
    ("robust", robust.robust),
    ("discover", ensembles.discover),
    ("criticality", criticality.criticality),
    ("plot", runs.plot),
    ("export", exports.export),
    ("schema", runs.schema),
    ("warmup", tools.warmup),
    ("demo", tools.demo),
    ("network", tools.network),
    ("calibrate", tools.calibrate),
    ("dashboard", tools.dashboard),
)
for _name, _command in COMMANDS:
    app.command(_name)(_command)
