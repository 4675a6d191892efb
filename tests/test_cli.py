"""Tests of the ``corridors`` command: run, validate, scenarios, compare, plot, schema, help,
and the ensemble commands (run --replicates, sweep, sensitivity; see also test_ensemble.py).

Run through typer's CliRunner (stdout and stderr apart), and as real subprocesses where a
process matters (a kill part-way, ``python -m corridors``). Exit codes: 0 ok, 1 run failure,
2 bad input. The terminal width is fixed at 80 columns (``COLUMNS``), the width rich uses
when the output is not a terminal, so that one-line messages are one line there too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pandas as pd
import pytest
import typer
from pandas.testing import assert_frame_equal
from typer.testing import CliRunner

import corridors.cli.tools as cli_tools
import corridors.experiments.calibrate as calibrate_module
import corridors.experiments.runs as runs_module
import corridors.results.run as results_module
from corridors import __version__
from corridors.cli import app
from corridors.errors import ScenarioError
from corridors.experiments.executors import ExecutorError, LocalExecutor
from corridors.network import default_data_dir
from corridors.results import EXPLAIN_TABLES, MAP_TABLES, TABLES
from corridors.scenario import load_scenario, scenario_dir, scenario_schema
from test_scenario import BAD, BAD_FILES  # the table of what each malformed file must report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ENV = {"COLUMNS": "80"}
PLOTS = ("volumes.png", "country_shares.png", "dependence.png", "bottlenecks.png", "flow_map.png")
SCENARIOS = sorted(scenario_dir().glob("*.toml"))
COMMANDS = (
    "run",
    "validate",
    "scenarios",
    "list",
    "compare",
    "plot",
    "export",
    "explain",
    "report",
    "schema",
    "network",
    "demo",
    "warmup",
    "calibrate",
    "sweep",
    "sensitivity",
    "discover",
    "robust",
    "criticality",
    "dashboard",
)
SHORT = "period.end_year=2021"


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{text}"
    return lines[0]


def no_traceback(result) -> None:
    assert "Traceback" not in result.output, result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)


def subprocess_env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}


def strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


# ============================================================================ scenarios and validate


def test_validate_every_shipped_scenario():
    result = invoke("validate", *SCENARIOS)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(SCENARIOS) == 12
    for line, path in zip(lines, SCENARIOS, strict=True):
        assert line.split()[:2] == ["ok", path.stem], line
        assert str(path) in line
    assert result.stderr == ""


def test_validate_by_name():
    result = invoke("validate", "baseline", "c5_bloc")
    assert result.exit_code == 0, result.output
    assert [line.split()[:2] for line in result.stdout.strip().splitlines()] == [
        ["ok", "baseline"],
        ["ok", "c5_bloc"],
    ]


def test_scenarios_lists_twelve_lines_with_name_and_title():
    result = invoke("scenarios")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 12, result.stdout
    for line, path in zip(lines, SCENARIOS, strict=True):
        sc = load_scenario(path)
        assert line.split()[0] == sc.name, line
        assert sc.title in line, line


# ============================================================================ malformed scenario files


def test_every_bad_file_is_in_the_table():
    assert {p.name for p in BAD.iterdir()} == set(BAD_FILES)
    assert len(BAD_FILES) >= 30


def _check_bad_file_message(name: str, line: str) -> None:
    """The line names the file, the line number where it can be known, the field, the reason."""
    named, line_no, field, reason = BAD_FILES[name]
    with pytest.raises(ScenarioError) as info:
        load_scenario(BAD / name)
    assert line == f"error: {info.value}", "the CLI prints the loader's message unchanged"
    assert (named or name) in line
    if line_no is not None:
        assert f"line {line_no}" in line
    assert field in line
    assert reason in line
    assert len(line) < 420


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_run_of_a_bad_file_exits_2_with_one_line_and_writes_nothing(name, tmp_path):
    out = tmp_path / "out"
    result = invoke("run", BAD / name, "--out", out)
    assert result.exit_code == 2, result.output
    _check_bad_file_message(name, one_line(result.stderr))
    assert result.stdout == ""
    no_traceback(result)
    assert not out.exists()
    assert os.listdir(tmp_path) == [], "no run directory, no temporary .out-* directory"


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_validate_of_a_bad_file_exits_2_with_one_line(name):
    result = invoke("validate", BAD / name)
    assert result.exit_code == 2, result.output
    _check_bad_file_message(name, one_line(result.stderr))
    assert result.stdout == ""
    no_traceback(result)


def test_validate_warns_of_late_events_and_parallel_links(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'extends = "baseline"\nname = "mine"\ntitle = "Mine"\n[period]\nend_year = 2030\n\n'
        '[[events]]\nkind = "shock"\nstart = "2026Q1"\nend = "2026Q4"\nlinks = ["aktau>baku_alat"]\n'
        "capacity_factor = 0.5\n\n"
        '[[events]]\nkind = "shock"\nstart = "2032Q1"\nedges = [122]\ncapacity_factor = 0.5\n'
    )
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok  mine")
    late, parallel = result.stderr.strip().splitlines()
    assert (
        late
        == f"warning: {path}: line 14, events[1]: shock starting 2032Q1 is after period.end_year = 2030: ignored"
    )
    assert f"{path}: line 11, events[0].links[0]: 'aktau>baku_alat' selects 4 parallel links" in parallel
    assert "ferry carrying" in parallel and "sea carrying crude" in parallel
    assert "edges = [122, 128, 130, 246]" in parallel
    result = invoke("validate", "baseline")  # the shipped scenarios have neither
    assert result.exit_code == 0 and result.stderr == ""


def test_list_prints_the_names_a_scenario_may_use():
    from corridors.scenario.checks import vocabulary
    from corridors.uncertainty import MAPPED_PARAMETERS, NUMERIC_PARAMETERS

    known = {
        "nodes": vocabulary().nodes,
        "links": vocabulary().links,
        "markets": vocabulary().markets,
        "projects": set(vocabulary().projects),
        "parameters": {*NUMERIC_PARAMETERS, *MAPPED_PARAMETERS},
    }
    lines = {}
    for kind, names in known.items():
        result = invoke("list", kind)
        assert result.exit_code == 0, result.output
        rows = result.stdout.strip().splitlines()
        assert {row.split()[0] for row in rows} == set(names), kind
        assert all(len(row.split()) >= 2 for row in rows), kind  # each with what it is
        lines[kind] = {row.split()[0]: row for row in rows}
    assert "4 parallel links: ferry carrying" in lines["links"]["aktau>baku_alat"]
    assert "seaport, KZ" in lines["nodes"]["aktau"]
    assert "default 10, baseline 60" in lines["parameters"]["reliability_penalty_days.middle"]
    assert "lag 12 quarters" in lines["projects"]["btk_upgrade"]
    result = invoke("list", "ports")
    assert result.exit_code == 2
    assert one_line(result.stderr) == (
        "error: list: unknown kind 'ports'; expected one of nodes, links, markets, projects, parameters"
    )


def test_validate_of_many_files_reports_each():
    bad = sorted(BAD_FILES)
    result = invoke("validate", SCENARIOS[0], *(BAD / n for n in bad), SCENARIOS[1])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == len(bad)
    assert [line.split()[:2] for line in result.stdout.strip().splitlines()] == [
        ["ok", SCENARIOS[0].stem],
        ["ok", SCENARIOS[1].stem],
    ]
    no_traceback(result)


def test_validate_needs_a_file():
    result = invoke("validate")
    assert result.exit_code == 2
    no_traceback(result)


# ============================================================================ bad arguments


def test_unknown_scenario_name_exits_2(tmp_path):
    result = invoke("run", "no_such_scenario", "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert "no_such_scenario" in line and "baseline" in line  # names the shipped ones
    no_traceback(result)
    assert os.listdir(tmp_path) == []


def test_set_without_equals_exits_2_naming_the_override(tmp_path):
    result = invoke("run", "baseline", "--set", "period.end_year", "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert "period.end_year" in line and "KEY=VALUE" in line
    no_traceback(result)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("parameters.nope=1", "parameters.nope"),
        ("period.end_year=2101", "period.end_year"),
        ("agents.KX.border_efficiency=0.8", "KX"),
        ("parameters.cost_elasticity=nan", "parameters.cost_elasticity"),
    ],
)
def test_bad_override_exits_2_naming_the_field(override, expected, tmp_path):
    result = invoke("run", "baseline", "--set", override, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert expected in line and "override" in line, line
    no_traceback(result)
    assert os.listdir(tmp_path) == []


def test_negative_seed_exits_2(tmp_path):
    result = invoke("run", "baseline", "--seed", "-1", "--set", SHORT, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "--seed" in result.output
    no_traceback(result)
    assert os.listdir(tmp_path) == []


def test_existing_out_without_force_exits_2_and_leaves_it_alone(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    before = os.stat(out / "mine.txt").st_mtime_ns
    result = invoke("run", "baseline", "--set", SHORT, "--no-plots", "--out", out)
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert str(out) in line and "--force" in line
    no_traceback(result)
    assert os.listdir(out) == ["mine.txt"]
    assert (out / "mine.txt").read_text() == "keep me" and os.stat(out / "mine.txt").st_mtime_ns == before
    assert os.listdir(tmp_path) == ["out"]


def test_existing_out_with_force_is_replaced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("old")
    result = invoke("run", "baseline", "--set", SHORT, "--no-plots", "--force", "--out", out)
    assert result.exit_code == 0, result.output
    assert not (out / "mine.txt").exists()
    assert (out / "meta.json").is_file() and (out / "corridors.parquet").is_file()
    assert os.listdir(tmp_path) == ["out"], "no .out-* or .out-old left"


def test_compare_and_plot_reject_bad_input(tmp_path, run_dir):
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    cases = [
        ["compare", run_dir, "--out", tmp_path / "c.png"],  # one run
        ["compare", run_dir, not_a_run, "--out", tmp_path / "c.png"],  # not a run directory
        ["compare", run_dir, tmp_path / "missing", "--out", tmp_path / "c.png"],
        ["compare", run_dir, run_dir, "--out", tmp_path / "c.jpg"],  # not PNG, PDF or SVG
        ["compare", run_dir, run_dir, "--out", tmp_path / "c.png", "--table", tmp_path / "t.xlsx"],
        ["compare", run_dir, run_dir, "--out", tmp_path / "c.png", "--year", "2020"],  # --year needs --table
        ["plot", not_a_run],
        ["plot", tmp_path / "missing"],
    ]
    for args in cases:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        one_line(result.stderr)
        no_traceback(result)
    assert sorted(os.listdir(tmp_path)) == ["empty"]
    assert os.listdir(not_a_run) == []


def test_each_wrong_run_directory_gets_its_own_message(tmp_path, run_dir):
    """Missing folder, not a run, an interrupted ensemble, a corrupt meta.json, a missing table."""
    empty = tmp_path / "empty"
    empty.mkdir()
    interrupted = tmp_path / "ens"
    (interrupted / "runs").mkdir(parents=True)
    (interrupted / "manifest.json").write_text(json.dumps({"kind": "ensemble", "status": "running"}))
    corrupt = tmp_path / "corrupt"
    shutil.copytree(run_dir, corrupt)
    (corrupt / "meta.json").write_text('{"seed": 3,')
    no_countries = tmp_path / "no_countries"
    shutil.copytree(run_dir, no_countries)
    (no_countries / "countries.parquet").unlink()
    cases = {
        tmp_path / "missing": "missing: no such folder",
        empty: "empty: not a run directory (no meta.json)",
        interrupted: "an interrupted ensemble (manifest.json says status 'running'; its finished runs are "
        "kept): run the same command again to resume",
        corrupt: "meta.json: line 1, column 12: not valid JSON",
        no_countries: "countries.parquet: missing (the directory is incomplete",
    }
    messages = set()
    for path, expected in cases.items():
        result = invoke("plot", path)
        assert result.exit_code == 2, result.output
        line = one_line(result.stderr)
        assert expected in line and str(path) in line, line
        no_traceback(result)
        messages.add(line)
    assert len(messages) == len(cases)
    result = invoke("compare", run_dir, interrupted, "--out", tmp_path / "c.png")
    assert result.exit_code == 2 and "run the same command again to resume" in one_line(result.stderr)


# ============================================================================ the run directory


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    """``corridors run baseline --set period.end_year=2021 --seed 3 --out DIR`` (with plots)."""
    out = tmp_path_factory.mktemp("runs") / "baseline-3"
    result = invoke("run", "baseline", "--set", SHORT, "--seed", "3", "--out", out)
    assert result.exit_code == 0, result.output
    return result, out


@pytest.fixture(scope="module")
def run_dir(baseline_run) -> Path:
    return baseline_run[1]


@pytest.fixture(scope="module")
def same_seed_dir(run_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "baseline-3-again"
    result = invoke("run", "baseline", "--set", SHORT, "--seed", "3", "--no-plots", "--out", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def bloc_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "c5_bloc-3"
    result = invoke("run", "c5_bloc", "--set", SHORT, "--seed", "3", "--no-plots", "--out", out)
    assert result.exit_code == 0, result.output
    return out


def test_run_prints_where_and_a_summary(baseline_run):
    result, run_dir = baseline_run
    assert f"results: {run_dir.resolve()}" in result.stdout
    assert "corridors in 2021" in result.stdout
    for name in PLOTS:
        assert name in result.stdout
    assert "Traceback" not in result.output


def test_run_directory_holds_every_file(run_dir):
    expected = (
        {f"{t}.parquet" for t in (*TABLES, *EXPLAIN_TABLES, *MAP_TABLES)}
        | {"summary.json", "meta.json", "manifest.json", "scenario.toml"}
        | set(PLOTS)
    )
    assert {"corridors.parquet", "countries.parquet", "edges.parquet", "policy.parquet",
            "decisions.parquet", "pipelines.parquet"} <= expected  # fmt: skip
    assert set(os.listdir(run_dir)) == expected
    assert os.listdir(run_dir.parent) == [run_dir.name], "no temporary directory left beside it"


def test_run_directory_tables(run_dir):
    corridors_t = pd.read_parquet(run_dir / "corridors.parquet")
    assert sorted(corridors_t["year"].unique()) == [2019, 2020, 2021]
    assert corridors_t["step"].max() == 11
    for name in TABLES:
        table = pd.read_parquet(run_dir / f"{name}.parquet")
        assert "step" in table.columns, name
        if name != "decisions":
            assert len(table) > 0 and table["year"].max() == 2021, name


def test_run_directory_json_is_strict(run_dir):
    summary = strict_json((run_dir / "summary.json").read_text())
    assert summary["first_year"] == 2019 and summary["last_year"] == 2021
    meta = strict_json((run_dir / "meta.json").read_text())
    assert meta["seed"] == 3 and meta["scenario"] == "baseline"
    strict_json((run_dir / "manifest.json").read_text())


def test_run_directory_manifest(run_dir):
    import hashlib
    from datetime import datetime

    m = strict_json((run_dir / "manifest.json").read_text())
    keys = {"scenario", "seed", "corridors_version", "git_revision", "python", "platform", "created_utc",
            "input_sha256", "ignored_events"}  # fmt: skip
    assert keys <= set(m), keys - set(m)
    assert m["scenario"] == "baseline" and m["seed"] == 3
    assert m["corridors_version"] == __version__
    assert m["python"] == sys.version.split()[0]
    assert m["git_revision"] is None or (len(m["git_revision"]) == 40 and int(m["git_revision"], 16) >= 0)
    created = datetime.fromisoformat(m["created_utc"])
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0
    assert m["ignored_events"] == []
    edges = default_data_dir() / "edges.csv"
    assert m["input_sha256"]["data/edges.csv"] == hashlib.sha256(edges.read_bytes()).hexdigest()
    assert {"data/nodes.csv", "data/projects.csv", "scenario/baseline.toml"} <= set(m["input_sha256"])


def test_run_directory_scenario_loads_back(run_dir):
    written = load_scenario(run_dir / "scenario.toml")
    original = load_scenario(scenario_dir() / "baseline.toml", overrides={"period.end_year": 2021})
    # the run's seed (--seed) replaces the scenario's, so the file re-runs the same run
    assert written.to_dict() == {
        **original.to_dict(),
        "seed": json.loads((run_dir / "meta.json").read_text())["seed"],
    }
    assert written.parameters() == original.parameters()
    assert written.events() == original.events()
    assert written.period.end_year == 2021


def test_run_directory_plots_are_pngs(run_dir):
    for name in PLOTS:
        data = (run_dir / name).read_bytes()
        assert data[:8] == PNG_MAGIC, name
        assert len(data) > 20_000, name


def test_same_scenario_and_seed_give_identical_tables(run_dir, same_seed_dir):
    for name in (*TABLES, *EXPLAIN_TABLES, *MAP_TABLES):
        a = pd.read_parquet(run_dir / f"{name}.parquet")
        b = pd.read_parquet(same_seed_dir / f"{name}.parquet")
        assert_frame_equal(a, b, check_exact=True)
    for name in [
        *(f"{t}.parquet" for t in (*TABLES, *EXPLAIN_TABLES, *MAP_TABLES)),
        "summary.json",
        "meta.json",
        "scenario.toml",
    ]:
        assert (run_dir / name).read_bytes() == (same_seed_dir / name).read_bytes(), (
            f"{name} not byte-identical"
        )
    m1 = strict_json((run_dir / "manifest.json").read_text())
    m2 = strict_json((same_seed_dir / "manifest.json").read_text())
    assert {k: v for k, v in m1.items() if k != "created_utc"} == {
        k: v for k, v in m2.items() if k != "created_utc"
    }


def test_another_seed_gives_other_tables(run_dir, tmp_path):
    out = tmp_path / "other"
    result = invoke("run", "baseline", "--set", SHORT, "--seed", "4", "--no-plots", "--out", out)
    assert result.exit_code == 0, result.output
    for name in ("corridors", "edges", "countries"):
        a = pd.read_parquet(run_dir / f"{name}.parquet")
        b = pd.read_parquet(out / f"{name}.parquet")
        assert a.shape == b.shape and not a.equals(b), name
    assert strict_json((out / "meta.json").read_text())["seed"] == 4


def test_no_plots_writes_no_png(bloc_dir):
    assert not list(bloc_dir.glob("*.png"))
    assert (bloc_dir / "manifest.json").is_file()


# ============================================================================ failures while running


def test_failing_plots_exit_1_with_one_line_and_no_directory(tmp_path, monkeypatch):
    def boom(_res):
        raise RuntimeError("the plots broke")

    monkeypatch.setattr(runs_module, "render_plots", boom)
    out = tmp_path / "out"
    result = invoke("run", "baseline", "--set", SHORT, "--out", out)
    assert result.exit_code == 1, result.output
    line = one_line(result.stderr)
    assert line.startswith("run failed") and "the plots broke" in line
    no_traceback(result)
    assert os.listdir(tmp_path) == []


def test_failure_half_way_through_writing_exits_1_and_keeps_the_old_directory(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("old")

    def fail(_value):
        raise OSError("disk full")

    monkeypatch.setattr(results_module, "_strict_json", fail)  # after the Parquet tables
    result = invoke("run", "baseline", "--set", SHORT, "--no-plots", "--force", "--out", out)
    assert result.exit_code == 1, result.output
    line = one_line(result.stderr)
    assert line.startswith("run failed") and "disk full" in line
    no_traceback(result)
    assert os.listdir(tmp_path) == ["out"] and os.listdir(out) == ["mine.txt"]


def _start_run(out: Path, end_year: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "corridors", "run", "baseline", "--out", str(out), "--set",
         f"period.end_year={end_year}", *extra],
        cwd=out.parent,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Python turns SIGINT into KeyboardInterrupt only if it is not ignored at start
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


def _temporaries(parent: Path, name: str) -> list[str]:
    return [e for e in os.listdir(parent) if e.startswith(f".{name}-")]


def test_run_killed_part_way_leaves_nothing(tmp_path):
    out = tmp_path / "run"
    proc = _start_run(out, 2035)
    try:
        time.sleep(1.0)
        assert proc.poll() is None, "the run finished within a second: nothing was interrupted"
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    assert _temporaries(tmp_path, "run") == []


def _signal_while_writing(tmp_path: Path, sig: int) -> tuple[subprocess.Popen, Path, str]:
    """Start a short run and send ``sig`` once its temporary directory holds a file; the
    process, the run directory and what the run wrote on stderr."""
    out = tmp_path / "run"
    proc = _start_run(out, 2021, "--no-plots")
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            tmp = _temporaries(tmp_path, "run")
            try:
                if tmp and os.listdir(tmp_path / tmp[0]):
                    proc.send_signal(sig)
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.0005)
        else:
            proc.communicate(timeout=30)
            pytest.skip("the run finished before its temporary directory was seen")
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc, out, stderr.decode()


def _skip_if_finished_first(out: Path) -> None:
    """A run directory may only exist complete: then the signal came after the rename."""
    if out.exists():
        expected = {f"{t}.parquet" for t in (*TABLES, *EXPLAIN_TABLES, *MAP_TABLES)} | {
            "summary.json",
            "meta.json",
            "manifest.json",
            "scenario.toml",
        }
        assert set(os.listdir(out)) == expected, f"a partial run directory: {sorted(os.listdir(out))}"
        pytest.skip("the signal arrived after the run directory was renamed into place")


@pytest.mark.parametrize(
    ("sig", "how"), [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")], ids=["SIGINT", "SIGTERM"]
)
def test_run_interrupted_while_writing_leaves_nothing(tmp_path, sig, how):
    """Ctrl-C, or the SIGTERM of ``kill``, ``timeout``, a scheduler or CI cancelling a job: the
    same cleanup, one line saying so, and the shell's exit code for the signal (130, 143)."""
    proc, out, stderr = _signal_while_writing(tmp_path, sig)
    _skip_if_finished_first(out)
    assert proc.returncode == 128 + sig
    assert one_line(stderr) == f"run interrupted by {how}"
    assert not out.exists(), "the run directory appeared although the run was interrupted"
    assert _temporaries(tmp_path, "run") == [], f"left behind after {sig.name}: {os.listdir(tmp_path)}"


def test_run_killed_while_writing_leaves_no_run_directory(tmp_path):
    """SIGKILL cannot be caught: the hidden temporary directory may stay, the run directory not."""
    proc, out, _ = _signal_while_writing(tmp_path, signal.SIGKILL)
    _skip_if_finished_first(out)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    assert all(e.startswith(".run-") for e in os.listdir(tmp_path)), os.listdir(tmp_path)


def _stop_midway(how: str):
    """A stand-in for the work of a command, stopped as a user or a scheduler would stop it."""

    def stop(*args, **kwargs):
        if how == "SIGTERM":
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises at the next instruction
            raise AssertionError("SIGTERM did not stop the command")
        raise KeyboardInterrupt

    return stop


@pytest.mark.parametrize(("how", "code"), [("Ctrl-C", 130), ("SIGTERM", 143)])
def test_a_stopped_run_exits_with_the_signal_and_one_line(tmp_path, monkeypatch, how, code):
    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(runs_module, "run", _stop_midway(how))
    result = invoke("run", "baseline", "--set", SHORT, "--out", tmp_path / "out")
    assert result.exit_code == code, result.output
    assert one_line(result.stderr) == f"run interrupted by {how}"
    assert result.stdout == ""
    no_traceback(result)
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is before, "the SIGTERM handler is put back"


@pytest.mark.parametrize(
    ("how", "code", "line"),
    [
        ("Ctrl-C", 130, "calibration interrupted by Ctrl-C"),
        ("SIGTERM", 143, "calibration interrupted by SIGTERM"),
        ("failure", 1, "calibration failed: RuntimeError: no convergence"),
    ],
)
def test_calibrate_is_guarded_as_run_is(tmp_path, monkeypatch, how, code, line):
    def fail(*args, **kwargs):
        raise RuntimeError("no convergence")

    monkeypatch.setattr(calibrate_module, "fit", fail if how == "failure" else _stop_midway(how))
    result = invoke("calibrate", "--quick", "--out", tmp_path / "report")
    assert result.exit_code == code, result.output
    assert one_line(result.stderr) == line
    no_traceback(result)
    assert os.listdir(tmp_path) == []


class _Server:
    """A stand-in for the dashboard's Solara process, stopped while the command waits on it."""

    def __init__(self, how: str) -> None:
        self.how, self.terminated = how, False

    def __call__(self, cmd, env, preexec_fn=None):
        assert cmd[1:4] == ["-m", "solara", "run"] and "CORRIDORS_DASHBOARD_SCENARIO" in env
        assert preexec_fn is cli_tools._die_with_parent  # the server dies with the command
        return self

    def wait(self, timeout=None):
        if self.terminated:
            return -signal.SIGTERM
        _stop_midway(self.how)()

    def poll(self):
        return -signal.SIGTERM if self.terminated else None

    def terminate(self):
        self.terminated = True


@pytest.mark.parametrize("how", ["Ctrl-C", "SIGTERM"])
def test_the_dashboard_stops_its_server_and_exits_0(monkeypatch, how):
    """Ctrl-C or SIGTERM is how a server is stopped: the command stops Solara's and exits 0."""
    pytest.importorskip("solara")
    server = _Server(how)
    monkeypatch.setattr(
        cli_tools, "subprocess", types.SimpleNamespace(Popen=server, TimeoutExpired=TimeoutError)
    )
    result = invoke("dashboard", "--end-year", "2026")
    assert result.exit_code == 0, result.output
    assert server.terminated
    assert one_line(result.stderr).startswith("corridors dashboard: baseline to 2026 on http://127.0.0.1:")
    no_traceback(result)


def test_run_as_a_real_subprocess(tmp_path):
    out = tmp_path / "dir"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "corridors",
            "run",
            "baseline",
            "--set",
            "period.end_year=2020",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        env=subprocess_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"results: {out.resolve()}" in proc.stdout
    assert (out / "meta.json").is_file() and (out / "manifest.json").is_file()
    for name in PLOTS:
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    assert pd.read_parquet(out / "corridors.parquet")["year"].max() == 2020
    assert os.listdir(tmp_path) == ["dir"]


def test_bad_input_as_a_real_subprocess_exits_2(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "corridors",
            "run",
            str(BAD / "unknown_state.toml"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=subprocess_env(),
    )
    assert proc.returncode == 2
    assert "unknown_state.toml" in one_line(proc.stderr) and "agents.KX" in proc.stderr
    assert os.listdir(tmp_path) == []


# ============================================================================ compare, plot, schema


def test_compare_two_runs_writes_a_figure(run_dir, bloc_dir, tmp_path):
    out = tmp_path / "figs" / "compare.png"
    result = invoke("compare", run_dir, bloc_dir, "--out", out)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 20_000
    assert str(out.resolve()) in result.stderr
    assert os.listdir(out.parent) == ["compare.png"], "no temporary file left"
    no_traceback(result)


def test_plot_rewrites_the_pngs(run_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "volumes.png").write_bytes(b"not a png")
    (copy / "flow_map.png").unlink()
    result = invoke("plot", copy)
    assert result.exit_code == 0, result.output
    for name in PLOTS:
        data = (copy / name).read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 20_000, name
    assert sorted(os.listdir(copy)) == sorted(os.listdir(run_dir)), "no temporary file left"
    no_traceback(result)


def test_plot_year_format_and_dpi(run_dir, tmp_path):
    """``corridors plot RUN --year 2020 --format svg --dpi 150`` writes SVGs with that year's flow map."""
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    result = invoke("plot", copy, "--year", "2020", "--format", "svg", "--dpi", "150")
    assert result.exit_code == 0, result.output
    for name in PLOTS:
        svg = (copy / name).with_suffix(".svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg, name
    assert "2020" in (copy / "flow_map.svg").read_text()
    result = invoke("plot", copy, "--dpi", "50")
    assert result.exit_code == 0, result.output
    from PIL import Image

    with Image.open(copy / "volumes.png") as img:
        assert img.size[0] == 14 * 50, "a 14-inch figure at 50 dpi"
    no_traceback(result)


@pytest.mark.parametrize(
    ("args", "field"), [(["--year", "1990"], "--year: 1990"), (["--format", "gif"], "--format")]
)
def test_plot_refuses_a_bad_year_or_format(run_dir, tmp_path, args, field):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    before = sorted(os.listdir(copy))
    result = invoke("plot", copy, *args)
    assert result.exit_code == 2
    assert field in result.stderr
    assert sorted(os.listdir(copy)) == before, "nothing written"
    no_traceback(result)


def test_schema_prints_json_schema():
    result = invoke("schema")
    assert result.exit_code == 0, result.output
    schema = strict_json(result.stdout)
    assert "properties" in schema and "events" in schema["properties"]
    assert schema == json.loads(json.dumps(scenario_schema()))


def test_schema_out_writes_the_file(tmp_path):
    out = tmp_path / "sub" / "f.json"
    result = invoke("schema", "--out", out)
    assert result.exit_code == 0, result.output
    assert strict_json(out.read_text()) == json.loads(json.dumps(scenario_schema()))
    assert result.stdout == ""
    assert os.listdir(out.parent) == ["f.json"]


# ============================================================================ help and version


def test_the_commands_are_these():
    assert set(typer.main.get_command(app).commands) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_on_every_command_shows_an_example(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout
    assert f"corridors {command}" in result.stdout


def test_top_level_help_and_version():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout
    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


# ============================================================================ ensembles, sweeps, sensitivity

LAG = Path(__file__).parent / "data" / "ensembles" / "lag_from_parameter.toml"


@pytest.mark.parametrize("delay", [0.3, 0.9])
def test_ctrl_c_while_starting_prints_one_line_and_exits_130(tmp_path, delay):
    """Ctrl-C during the imports (about a second): no KeyboardInterrupt traceback, nothing written."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "corridors", "run", "baseline", "--no-plots", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env())  # fmt: skip
    time.sleep(delay)
    assert proc.poll() is None, "the command finished before Ctrl-C: not a start-up test"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr == "corridors: interrupted by Ctrl-C while starting\n"
    assert not out.exists() and os.listdir(tmp_path) == []


def test_importing_the_package_leaves_ctrl_c_alone():
    code = "import signal, corridors; assert signal.getsignal(signal.SIGINT) is signal.default_int_handler"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=subprocess_env())  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_help_is_not_cut_at_80_columns_and_keeps_its_brackets():
    """At 80 columns, --help is laid out 100 wide; rich markup does not eat [dashboard] or [[expect]]."""
    env = {**subprocess_env(), "COLUMNS": "80"}
    env.pop("TERMINAL_WIDTH", None)
    helps = {}
    for command in ("run", "dashboard", "validate", "sweep"):
        proc = subprocess.run([sys.executable, "-m", "corridors", command, "--help"], capture_output=True,
                              text=True, timeout=120, env=env)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "…" not in proc.stdout, proc.stdout
        assert max(len(line) for line in proc.stdout.splitlines()) == 100
        helps[command] = " ".join(proc.stdout.replace("│", " ").split())
    assert "--set parameters.cost_elasticity=3.5 (repeatable)" in helps["run"]
    assert 'pip install -e ".[dashboard]"' in helps["dashboard"]
    assert "[[expect]]" in helps["validate"]


@pytest.fixture(scope="module")
def ensemble_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ens") / "baseline-ens"
    result = invoke("run", "baseline", "--replicates", "3", "--workers", "1", "--seed", "4", "--set", SHORT,
                    "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_run_with_replicates_writes_an_ensemble_directory(ensemble_dir):
    names = {p.name for p in ensemble_dir.iterdir()}
    assert {"manifest.json", "design.parquet", "scenario.toml", "runs", "ensemble.json", "corridors.parquet",
            "observables.parquet", "outcomes.parquet", "failures.json", "fan_chart.png"} == names  # fmt: skip
    assert len(list((ensemble_dir / "runs").glob("run-*.parquet"))) == 3
    manifest = strict_json((ensemble_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["seed"] == 4 and manifest["runs"] == 3
    assert not any(p.suffix == ".pkl" for p in ensemble_dir.rglob("*"))
    # replicate 0 is `corridors run --seed 4`
    corr = pd.read_parquet(ensemble_dir / "corridors.parquet")
    single = runs_module.run("baseline", seed=4, overrides={"period.end_year": 2021}).annual_volumes()
    first = corr[corr["run"] == 0][["year", "corridor", "volume_t"]].reset_index(drop=True)
    assert_frame_equal(first, single, check_exact=True)


def test_run_with_replicates_again_skips_every_finished_run(ensemble_dir):
    result = invoke("run", "baseline", "--replicates", "3", "--workers", "1", "--seed", "4", "--set", SHORT,
                    "--out", ensemble_dir)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert strict_json((ensemble_dir / "ensemble.json").read_text())["runs_this_session"] == 0
    assert "P(Middle Corridor passes the Russian route by 2021)" in result.stdout


def test_compare_ensembles_draws_fan_charts(ensemble_dir, run_dir, tmp_path):
    out = tmp_path / "fan.png"
    result = invoke("compare", ensemble_dir, run_dir, "--out", out, "--overtake", "chinese:sea")
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == PNG_MAGIC
    one = invoke("compare", ensemble_dir, "--out", tmp_path / "one.png")  # one ensemble is enough
    assert one.exit_code == 0, one.output
    no_traceback(result)


def test_sweep_param_and_set_take_the_same_names_mapped_ones_too(tmp_path):
    """``--param reliability_penalty_days.middle=...`` sweeps what ``--set`` with that name sets."""
    out = tmp_path / "sweep"
    name = "reliability_penalty_days.middle"
    result = invoke("sweep", "baseline", "--param", f"{name}=0:40", "--samples", "2", "--design", "grid",
                    "--set", "period.end_year=2020", "--workers", "1", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    design = pd.read_parquet(out / "design.parquet")
    assert design[name].tolist() == [0.0, 40.0]
    outcomes = pd.read_parquet(out / "outcomes.parquet").sort_values("run")["middle_volume_t"].tolist()
    assert outcomes[0] != outcomes[1]  # the parameter moved the Middle Corridor
    single = tmp_path / "set"
    done = invoke("run", "baseline", "--set", f"{name}=40", "--set", "period.end_year=2020", "--no-plots",
                  "--out", single)  # fmt: skip
    assert done.exit_code == 0, done.output
    summary = json.loads((single / "summary.json").read_text())
    assert summary["volume_t_last_year"]["middle"] == pytest.approx(outcomes[1], rel=1e-12)


def test_a_run_that_leaves_its_calibration_says_so_in_one_line_and_its_manifest(tmp_path, run_dir):
    out = tmp_path / "elastic"
    result = invoke("run", "baseline", "--set", "cost_elasticity=3.5", "--set", "period.end_year=2023",
                    "--no-plots", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    line = one_line(result.stderr)
    assert line.startswith("warning: this run leaves its calibration: its 2019-2023 history moves "), line
    assert "observation errors from the calibrated baseline" in line
    check = json.loads((out / "manifest.json").read_text())["calibration_check"]
    assert check == json.loads((out / "meta.json").read_text())["calibration_check"]
    assert check["status"] == "outside" and check["outside"][0] in line
    assert check["series_rms_sd"][check["outside"][0]] > 1.0
    assert "baseline_fit.toml" in check["reference"]
    # the baseline itself (a shorter period: the same 2019-2021) has the calibrated history
    same = json.loads((run_dir / "manifest.json").read_text())["calibration_check"]
    assert same["status"] == "same history" and same["outside"] == []
    near = tmp_path / "near"  # a small move of a fitted parameter stays within the tolerance
    result = invoke("run", "baseline", "--set", "reliability_penalty_days.middle=55", "--set",
                    "period.end_year=2023", "--no-plots", "--out", near)  # fmt: skip
    assert result.exit_code == 0 and "warning" not in result.stderr, result.output
    check = json.loads((near / "manifest.json").read_text())["calibration_check"]
    assert check["status"] == "within" and 0 < max(check["series_rms_sd"].values()) <= 1.0


def test_sweep_with_failing_points_records_them_and_exits_1(tmp_path):
    out = tmp_path / "sweep"
    result = invoke("sweep", LAG, "--param", "queue_patience_quarters=1:3", "--samples", "5", "--design", "grid",
                    "--workers", "1", "--out", out)  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "2 of 5 runs failed" in result.stderr
    assert "run 1: ScenarioError" in result.stderr and "not a whole number" in result.stderr
    assert sorted(p.name for p in (out / "runs").iterdir()) == [
        "run-000000.parquet", "run-000001.error.json", "run-000002.parquet", "run-000003.error.json",
        "run-000004.parquet",
    ]  # fmt: skip
    assert len(pd.read_parquet(out / "outcomes.parquet")) == 3
    no_traceback(result)


def test_a_sweep_stopped_by_sigterm_keeps_its_finished_runs_and_says_how_to_resume(tmp_path):
    """SIGTERM part-way: exit 143 with one line, the finished runs kept, no temporary file."""
    out, samples = tmp_path / "sweep", 40
    cmd = [sys.executable, "-m", "corridors", "sweep", "baseline", "--param", "cost_elasticity=2:6", "--samples",
           str(samples), "--seed", "3", "--workers", "1", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if list((out / "runs").glob("run-*.parquet")):
                break
            time.sleep(0.02)
        stopped = proc.poll() is None
        if stopped:
            proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert stopped, f"the sweep ended by itself (exit {proc.returncode}):\n{stderr.decode()[-2000:]}"
    finished = list((out / "runs").glob("run-*.parquet"))
    assert 1 <= len(finished) < samples, "the sweep must be stopped part-way"
    assert proc.returncode == 128 + signal.SIGTERM
    assert one_line(stderr.decode()) == (
        f"sweep interrupted by SIGTERM (finished runs are kept in {out}; run the same command again to resume)"
    )
    assert not list((out / "runs").glob(".*")), "no temporary run file is left"
    assert os.listdir(tmp_path) == ["sweep"], "no temporary directory beside it"
    assert strict_json((out / "manifest.json").read_text())["status"] == "running"
    assert not (out / "corridors.parquet").exists()


def test_sensitivity_prints_the_ranking_and_writes_indices(tmp_path):
    out = tmp_path / "morris"
    result = invoke("sensitivity", "baseline", "--param", "cost_elasticity=2:6", "--param",
                    "russia_premium_usd_per_t=0:150", "--method", "morris", "--samples", "2", "--set", SHORT,
                    "--workers", "1", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "morris: middle_share" in result.stdout and "mu*" in result.stdout
    indices = pd.read_parquet(out / "sensitivity.parquet")
    assert {"outcome", "parameter", "mu_star", "sigma"} <= set(indices.columns)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sweep", "baseline", "--param", "cost_elasticity"], "expected NAME=LOW:HIGH"),
        (["sweep", "baseline"], "--param: give at least one"),
        (["sweep", "baseline", "--param", "cost_elasticity=6:2"], "LOW must be below HIGH"),
        (["sweep", "baseline", "--param", "cost_elastcity=2:6"], "did you mean 'cost_elasticity'"),
        (["sweep", "baseline", "--param", "renewal_rate=0.5:1.5"], "parameters.renewal_rate: must be <= 1"),
        (["sweep", "baseline", "--param", "cost_elasticity=2:6", "--design", "random"], "--design"),
        (["sensitivity", "baseline", "--param", "cost_elasticity=2:6", "--method", "fast"], "--method"),
        (["sensitivity", "baseline", "--param", "cost_elasticity=2:6", "--method", "sobol", "--samples", "6"],
         "power of 2"),
        (["run", "baseline", "--workers", "2"], "add --replicates"),
        (["run", "baseline", "--replicates", "2", "--executor", "spark"], "executor: must be 'local' or 'dask'"),
        (["run", "baseline", "--replicates", "2", "--executor", "local", "--scheduler", "tcp://127.0.0.1:8786"],
         "needs executor 'dask'"),
        (["run", "baseline", "--replicates", "2", "--scheduler", "localhost"], "tcp://127.0.0.1:8786"),
    ],
)  # fmt: skip
def test_bad_ensemble_arguments_exit_2_with_one_line_and_write_nothing(args, expected, tmp_path):
    result = invoke(*args, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert expected in line, line
    no_traceback(result)
    assert os.listdir(tmp_path) == []


def test_an_executor_that_cannot_start_exits_1_with_one_line(tmp_path, monkeypatch):
    def refuse(self):
        raise ExecutorError("cannot start the Dask executor (tcp://127.0.0.1:9): connection refused")

    monkeypatch.setattr(LocalExecutor, "start", refuse)
    result = invoke("run", "baseline", "--replicates", "2", "--set", SHORT, "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert one_line(result.stderr) == (
        "error: cannot start the Dask executor (tcp://127.0.0.1:9): connection refused"
    )
    no_traceback(result)


def test_a_bad_scheduler_in_the_environment_exits_2_naming_it(tmp_path):
    result = CliRunner().invoke(
        app,
        ["run", "baseline", "--replicates", "2", "--out", str(tmp_path / "out")],
        env={**ENV, "DASK_SCHEDULER_ADDRESS": "localhost"},
    )
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert "DASK_SCHEDULER_ADDRESS" in line and "tcp://127.0.0.1:8786" in line, line
    no_traceback(result)
    assert os.listdir(tmp_path) == []


def test_compare_rejects_a_bad_overtake(ensemble_dir, tmp_path):
    result = invoke("compare", ensemble_dir, "--overtake", "middle:northern", "--out", tmp_path / "f.png")
    assert result.exit_code == 2 and "--overtake" in one_line(result.stderr)
    assert os.listdir(tmp_path) == []


def test_an_existing_sweep_directory_of_another_design_exits_2(ensemble_dir):
    result = invoke("run", "baseline", "--replicates", "5", "--workers", "1", "--seed", "4", "--set", SHORT,
                    "--out", ensemble_dir)  # fmt: skip
    assert result.exit_code == 2
    assert "holds a different ensemble" in one_line(result.stderr)


def test_help_imports_neither_the_model_nor_the_plots():
    """`corridors --help` loads typer and rich, not numpy, pandas, Numba, Mesa or matplotlib: each
    command imports what it uses when it runs (they took 1 s of the start-up of every command)."""
    heavy = ("numpy", "pandas", "numba", "mesa", "matplotlib", "scipy", "pyarrow", "pydantic")
    code = (
        "import sys\n"
        "sys.argv = ['corridors', '--help']\n"
        "from corridors.cli import app\n"
        "try:\n"
        "    app(prog_name='corridors')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"print('LOADED', [m for m in {heavy!r} if m in sys.modules])\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "run" in out.stdout and "report" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"
