"""Ctrl-C while the ``corridors`` command starts: one line and exit code 130, no traceback.

Importing the package takes about a second (NumPy, pandas, Numba's cached kernels); a
Ctrl-C then would print a ``KeyboardInterrupt`` traceback from deep inside an import. When
the process is the ``corridors`` command (the console script, or ``python -m corridors``),
:func:`quiet_while_starting` makes Ctrl-C print one line and exit 130 at once (nothing has
been written yet); a command hands Ctrl-C back to Python
(:func:`interrupts_as_usual`) when its work starts (``corridors.cli.guard.guarded``, after the
command's own imports of the model, results and plots), so that its cleanup runs as before. A library import changes nothing.
"""

from __future__ import annotations

import os
import signal
import sys

__all__ = ["interrupts_as_usual", "is_command", "quiet_while_starting"]

EXIT_INTERRUPTED = 128 + signal.SIGINT


def is_command() -> bool:
    """Whether this process is the ``corridors`` command (not a script or notebook importing it)."""
    argv = list(getattr(sys, "orig_argv", []))
    if argv[1:3] == ["-m", "corridors"]:
        return True
    return bool(sys.argv) and os.path.basename(sys.argv[0]) in ("corridors", "corridors.exe")


def _quit(signum, frame) -> None:
    """Print one line and leave with 130: the command has not started its work yet."""
    os.write(2, b"corridors: interrupted by Ctrl-C while starting\n")
    os._exit(EXIT_INTERRUPTED)


def quiet_while_starting() -> None:
    """Make Ctrl-C quit quietly if this process is the ``corridors`` command (else do nothing)."""
    if is_command() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _quit)


def interrupts_as_usual() -> None:
    """Give Ctrl-C back to Python (``KeyboardInterrupt``) if :func:`quiet_while_starting` took it."""
    if signal.getsignal(signal.SIGINT) is _quit:
        signal.signal(signal.SIGINT, signal.default_int_handler)
