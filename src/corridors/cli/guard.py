"""What the commands share: the guard every long command runs in, the consoles, exit codes and options.

Every long command runs its work inside :func:`guarded`: a progress bar on stderr,
SIGTERM stopping it like Ctrl-C (through the cleanup code, so temporary files are removed
and nothing half-written stays), and one line on stderr for whatever stopped it. Exit
codes: 0 ok, 1 the run failed, 2 bad input, 128 + the signal's number when interrupted
(130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from corridors._interrupt import interrupts_as_usual
from corridors.atomic import write_bytes_atomic
from corridors.errors import CorridorsError
from corridors.experiments.executors import Execution, ExecutorError

stdout = Console()
err = Console(stderr=True)


EXIT_FAILURE, EXIT_BAD_INPUT = 1, 2
# Where the runs of an ensemble, sweep or sensitivity execute (corridors.experiments.executors.Execution).
Workers = Annotated[int | None, typer.Option(min=1, help="Worker processes (default: this machine's cores).")]
ExecutorName = Annotated[
    str | None,
    typer.Option(
        help="Where runs execute: local (processes, the default) or dask (an embedded LocalCluster)."
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(help="An existing Dask scheduler, tcp://HOST:PORT (default: $DASK_SCHEDULER_ADDRESS)."),
]


RUN_COUNTS = "{task.fields[done]} done, {task.fields[failed]} failed, {task.fields[left]} left"
"""The progress bar's counts of a command that executes many runs (:func:`run_counter`)."""


def run_counter(progress: Progress, label: str) -> tuple[TaskID, Callable[[int, int, int], None]]:
    """Add a task counting finished, failed and remaining runs to ``progress`` (columns :data:`RUN_COUNTS`).

    Returns the task and its ``on_progress(done, failed, total)``, the callback the
    experiments call as runs finish.
    """
    task = progress.add_task(label, total=None, done=0, failed=0, left="?")

    def on_progress(done: int, failed: int, total: int) -> None:
        left = total - done - failed
        progress.update(task, completed=done + failed, total=total, done=done, failed=failed, left=left)

    return task, on_progress


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C's KeyboardInterrupt: the same code unwinds and cleans up."""


def _terminate(signum, frame) -> None:
    """SIGTERM (kill, timeout, a scheduler, CI cancelling a job) stops the command like Ctrl-C.

    A second SIGTERM while the first unwinds is ignored, so the cleanup finishes.
    """
    signal.signal(signal.SIGTERM, lambda *_: None)
    raise _Terminated


@contextmanager
def guarded(
    what: str,
    *counts: str | ProgressColumn,
    eta: bool = False,
    note: str = "",
    bad_input: tuple[type[Exception], ...] = (CorridorsError,),
    stop_ok: bool = False,
) -> Iterator[Progress]:
    """Run a long command's work: a progress bar, SIGTERM as Ctrl-C, one line for what stopped it.

    Parameters
    ----------
    what : str
        The work, as the messages name it ("run", "sweep", "calibration").
    *counts : str or ProgressColumn
        The progress bar's columns between the bar and the elapsed time (text columns for
        strings); none: no progress bar.
    eta : bool
        Also show the estimated time left.
    note : str
        Said after a failure or an interruption (e.g. where the finished runs are kept).
    bad_input : tuple of exception types
        Errors that are the user's input: one line and exit code 2.
    stop_ok : bool
        Ctrl-C and SIGTERM are the normal way to stop (a server): exit 0, quietly.

    Returns
    -------
    contextmanager of Progress
        The progress bar, on stderr, cleared when the block ends. Leaving the block, an
        error of the executor or any other exception prints one line and exits 1; input in
        ``bad_input`` exits 2; Ctrl-C or SIGTERM exits 128 + the signal's number.
    """
    columns = (
        (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            *(TextColumn(c) if isinstance(c, str) else c for c in counts),
            TimeElapsedColumn(),
            *((TextColumn("eta"), TimeRemainingColumn()) if eta else ()),
        )
        if counts
        else ()
    )
    suffix = f" ({note})" if note else ""
    interrupts_as_usual()  # the work starts: Ctrl-C is this block's from here (one line, exit 130)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with Progress(*columns, console=err, transient=True, disable=not counts) as progress:
            yield progress
    except (typer.Exit, typer.Abort):
        raise
    except KeyboardInterrupt as exc:
        if stop_ok:
            raise typer.Exit(0) from None
        signum = signal.SIGTERM if isinstance(exc, _Terminated) else signal.SIGINT
        how = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
        err.print(f"[bold red]{what} interrupted[/bold red] by {how}{escape(suffix)}", soft_wrap=True)
        raise typer.Exit(128 + signum) from None
    except ExecutorError as exc:  # the executor could not start: not the input's fault
        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILURE) from None
    except bad_input as exc:
        raise refuse(exc) from None
    except Exception as exc:  # a failure of the work itself: say what and exit 1
        reason = f"{type(exc).__name__}: {exc}{suffix}"
        err.print(f"[bold red]{what} failed:[/bold red] {escape(reason)}", soft_wrap=True)
        raise typer.Exit(EXIT_FAILURE) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def refuse(exc: Exception) -> typer.Exit:
    """Print one line on stderr naming what is wrong; return the exit for bad input (code 2)."""
    err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def save_figure(fig, path: Path) -> None:
    """Write a figure atomically, in the format of its suffix (.png, .pdf, .svg): a temporary file, then a rename."""
    from corridors import plots

    write_bytes_atomic(path, plots.figure_bytes(fig, path.suffix.lower().lstrip("."), dpi=150))


def open_scenario(scenario: str, sets: list[str] | None = None):
    """Load a scenario by name or path with ``--set`` overrides; bad input exits with code 2."""
    from corridors.scenario import find_scenario, load_scenario, parse_override

    try:
        overrides = dict(parse_override(item) for item in sets or [])
        return load_scenario(find_scenario(scenario), overrides=overrides)
    except (CorridorsError, OSError) as exc:
        raise refuse(exc) from None


def execution_options(workers: int | None, executor: str | None, scheduler: str | None) -> Execution:
    """Check ``--workers``, ``--executor`` and ``--scheduler``; bad ones exit 2 naming the option."""
    try:
        return Execution(workers=workers, executor=executor, scheduler=scheduler)
    except ValueError as exc:  # "executor: must be ...": the option is --executor
        raise refuse(ValueError(f"--{exc}")) from None
