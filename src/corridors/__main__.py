"""``python -m corridors`` runs the command-line interface."""

from corridors.cli import app

app(prog_name="corridors")
