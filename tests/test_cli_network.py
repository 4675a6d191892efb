"""Tests of the ``corridors network`` and ``corridors demo`` commands.

Run through typer's CliRunner (one real subprocess at the end). The terminal width is fixed
at 80 columns (``COLUMNS``), the width rich uses when the output is not a terminal (a log
file, a pipe, CI), so that the tests do not depend on the terminal they run in.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corridors.cli import app
from corridors.cli.tools import MAIN_PAIRS
from corridors.network import CORRIDORS, default_data_dir

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ENV = {"COLUMNS": "80"}


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env=ENV)


def corrupted_data(parent: Path, *, line_no: int = 7) -> Path:
    """A copy of the packaged data whose edges.csv has an unknown tail node on ``line_no``."""
    root = parent / "data"
    shutil.copytree(default_data_dir(), root)
    path = root / "edges.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[line_no - 1].split(",")
    cells[1] = "nowhere"
    lines[line_no - 1] = ",".join(cells)
    path.write_text("".join(lines), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def map_run(tmp_path_factory):
    """``corridors network --out <tmp>/tmp/x.png`` once (the folder does not exist yet)."""
    out = tmp_path_factory.mktemp("map") / "tmp" / "x.png"
    result = invoke("network", "--out", str(out))
    return result, out


def test_network_exits_0_and_writes_a_png(map_run):
    result, out = map_run
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 50_000
    assert str(out.resolve()) in result.stderr


def test_network_leaves_no_temporary_file(map_run):
    _, out = map_run
    assert sorted(p.name for p in out.parent.iterdir()) == ["x.png"]


def test_network_prints_every_corridor(map_run):
    result, _ = map_run
    for corridor in CORRIDORS:
        assert corridor in result.stdout
    assert "(closed)" in result.stdout  # iranian and trans_afghan are closed by default
    assert "no route" in result.stdout


def test_network_table_names_every_main_pair(map_run):
    """At 80 columns the market names must stay readable (not cut to 'market_turk…')."""
    result, _ = map_run
    for origin, market in MAIN_PAIRS:
        assert origin in result.stdout
        assert market.removeprefix("market_") in result.stdout, market
    assert "…" not in result.stdout


def test_network_map_has_the_usual_file_permissions(map_run):
    """The map is created like any file (mode 0o666 & ~umask), not private (0o600)."""
    _, out = map_run
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_network_out_must_be_a_png(tmp_path):
    out = tmp_path / "x.txt"
    result = invoke("network", "--out", str(out))
    assert result.exit_code == 2
    assert "--out" in result.stderr
    assert "png" in result.stderr.lower()
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_network_year_out_of_range_exits_2(tmp_path):
    result = invoke("network", "--out", str(tmp_path / "x.png"), "--year", "2018")
    assert result.exit_code == 2
    assert "--year" in result.output
    assert list(tmp_path.iterdir()) == []


def test_network_bad_data_exits_2_naming_the_file(tmp_path):
    data = corrupted_data(tmp_path)
    out = tmp_path / "out" / "x.png"
    result = invoke("network", "--out", str(out), "--data", str(data))
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    flat = result.stderr.replace("\n", "")
    assert "edges.csv" in flat
    assert "line 7" in flat
    assert "nowhere" in flat
    assert result.stdout == ""
    assert not out.exists()
    assert not list(tmp_path.glob("**/*.png"))


def test_network_bad_data_error_is_one_line(tmp_path):
    """One line, the path unbroken, even when it is longer than the terminal is wide."""
    data = corrupted_data(tmp_path / ("a_long_folder_name_" * 4))
    result = invoke("network", "--out", str(tmp_path / "x.png"), "--data", str(data))
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error:")
    assert str(data / "edges.csv") in lines[0]
    assert "line 7, column tail" in lines[0]


def test_network_bad_corridors_toml_keeps_the_table_name(tmp_path):
    """The error names the table: '[middle].gateways', not '.gateways' (rich markup eats '[middle]')."""
    root = tmp_path / "data"
    shutil.copytree(default_data_dir(), root)
    path = root / "corridors.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count("\ngateways = [122,") == 1
    path.write_text(text.replace("\ngateways = [122,", "\ngateways = [9999, 122,"), encoding="utf-8")
    result = invoke("network", "--out", str(tmp_path / "x.png"), "--data", str(root))
    assert result.exit_code == 2
    flat = result.stderr.replace("\n", "")
    assert "corridors.toml" in flat
    assert "9999" in flat
    assert "[middle].gateways" in flat


def test_network_missing_data_dir_exits_2(tmp_path):
    result = invoke("network", "--out", str(tmp_path / "x.png"), "--data", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "not found" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("command", "example"), [("network", "corridors network --out"), ("demo", "corridors demo")]
)
def test_help_shows_an_example(command, example):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert example in result.stdout
    assert "--help" in result.stdout


def test_demo_prints_three_corridors():
    result = invoke("demo")
    assert result.exit_code == 0, result.output
    for corridor in ("russian", "middle", "sea"):
        assert re.search(rf"^\s*{corridor}\s+khorgos\b", result.stdout, re.M), corridor


def test_demo_splits_its_cost_into_price_and_time_and_says_why_network_differs():
    """The demo's sea route (USD 346/t) against `network`'s 146: the demo adds time valued at 0.25 USD/t-h."""
    from corridors.demo import VALUE_OF_TIME_USD_PER_T_H, route_cost_demo

    result = invoke("demo")
    assert result.exit_code == 0, result.output
    for r in route_cost_demo():
        assert r.time_cost_usd_per_t == pytest.approx(VALUE_OF_TIME_USD_PER_T_H * r.loaded_days * 24)
        cells = f"{r.price_usd_per_t:,.0f} │ {r.time_cost_usd_per_t:,.0f} │ {r.cost_usd_per_t:,.0f} │"
        assert cells in result.stdout.replace("  ", " ").replace("  ", " "), (cells, result.stdout)
    sea = route_cost_demo()[2]
    assert sea.price_usd_per_t < 150 < 300 < sea.cost_usd_per_t  # the price is near network's 146
    note = " ".join(result.stdout.split())
    assert "`corridors network` lists the sourced network's routes, and its USD/t is the price alone" in note
    assert "…" not in result.stdout  # no header cut at 80 columns


def test_network_runs_as_a_module(tmp_path):
    out = tmp_path / "map.png"
    proc = subprocess.run(
        [sys.executable, "-m", "corridors", "network", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:8] == PNG_MAGIC
    for corridor in CORRIDORS:
        assert corridor in proc.stdout
    assert "Traceback" not in proc.stderr
