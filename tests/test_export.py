"""Tests of the exports (:mod:`corridors.results.export`, ``corridors export``).

A real run and a real ensemble are written to directories, exported as CSV and as an Excel
workbook, and the files read back: every table with the Parquet table's columns and rows,
units in the column names and in the ``columns`` table, the summary, the edges' names.
Bad input exits 2 with one line and writes nothing.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

import corridors
from corridors.cli import app
from corridors.errors import CorridorsError
from corridors.experiments.runs import write_run
from corridors.results import EXPLAIN_TABLES, TABLES
from corridors.results.export import column_unit, export_run, export_tables
from corridors.scenario import find_scenario, load_scenario

ENV = {"COLUMNS": "80"}


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    sc = load_scenario(find_scenario("baseline"), overrides={"period.end_year": 2020})
    res = corridors.run(sc, seed=7)
    return write_run(res, sc, tmp_path_factory.mktemp("export") / "baseline-7", plots=False)


@pytest.fixture(scope="module")
def ensemble_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "ens"
    corridors.run_ensemble("baseline", replicates=2, seed=7, end_year=2020, workers=1, out=out)
    return out


def test_column_units_are_read_from_the_names():
    assert column_unit("volume_t") == "tonnes"
    assert column_unit("cost_usd_per_t") == "USD per tonne"
    assert column_unit("vot_usd_per_t_day") == "USD per tonne per day"
    assert column_unit("time_days") == "days"
    assert column_unit("time_h") == "hours"
    assert column_unit("sea_rate_usd_per_feu").startswith("USD per FEU")
    assert column_unit("border_factor_KZ") == "factor (1 = unchanged)"
    assert column_unit("share_last_year") == "fraction (0-1)"
    assert column_unit("russian_dependence_UZ") == "fraction (0-1)"
    assert column_unit("corridor") == ""


def test_export_tables_of_a_run(run_dir):
    tables = export_tables(run_dir)
    names = ["summary", *TABLES, *EXPLAIN_TABLES, "columns", "about"]
    assert list(tables) == names
    for name in (*TABLES, *EXPLAIN_TABLES):
        saved = pd.read_parquet(run_dir / f"{name}.parquet")
        assert len(tables[name]) == len(saved), name
        assert set(saved.columns) <= set(tables[name].columns), name
    edges = tables["edges"]
    assert list(edges.columns[3:6]) == ["edge", "edge_name", "edge_corridor"]
    assert edges["edge_name"].str.contains(" -> ").all()
    assert "feeder (shared)" in set(edges["edge_corridor"]) and "middle" in set(edges["edge_corridor"])
    units = tables["columns"].set_index(["table", "column"])["unit"]
    assert units["corridors", "volume_t"] == "tonnes per quarter"
    assert units["corridors", "cost_usd_per_t"] == "USD per tonne"
    assert units["edges", "time_h"] == "hours"
    summary = tables["summary"]
    row = summary[(summary["indicator"] == "volume_t_last_year") & (summary["key"] == "middle")]
    expected = corridors.load_results(run_dir).summary["volume_t_last_year"]["middle"]
    assert row["value"].item() == pytest.approx(expected)
    assert row["unit"].item() == "tonnes per year"
    about = dict(zip(tables["about"]["key"], tables["about"]["value"], strict=True))
    assert about["scenario"] == "baseline" and about["seed"] == "7"
    assert about["overrides.period.end_year"] == "2020"


def test_csv_export_writes_one_file_per_table(run_dir, tmp_path):
    out = tmp_path / "csv"
    assert export_run(run_dir, out, fmt="csv") == out
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(f"{n}.csv" for n in export_tables(run_dir))
    back = pd.read_csv(out / "corridors.csv")
    saved = pd.read_parquet(run_dir / "corridors.parquet")
    assert list(back.columns) == list(saved.columns)
    assert back["volume_t"].to_numpy() == pytest.approx(saved["volume_t"].to_numpy(), rel=1e-12)
    assert os.listdir(tmp_path) == ["csv"], "no temporary directory left"


def test_xlsx_export_opens_with_a_sheet_per_table(run_dir, tmp_path):
    out = tmp_path / "run.xlsx"
    export_run(run_dir, out, fmt="xlsx")
    book = openpyxl.load_workbook(out, read_only=True)
    tables = export_tables(run_dir)
    assert book.sheetnames == list(tables)
    for name, frame in tables.items():
        rows = list(book[name].iter_rows(values_only=True))
        assert list(rows[0]) == list(frame.columns), name
        assert len(rows) == len(frame) + 1, name
    rows = list(book["corridors"].iter_rows(values_only=True))
    header, first = rows[0], rows[1]
    saved = pd.read_parquet(run_dir / "corridors.parquet")
    assert first[header.index("volume_t")] == pytest.approx(saved["volume_t"].iloc[0], rel=1e-12)
    assert first[header.index("corridor")] == saved["corridor"].iloc[0]
    edges = list(book["edges"].iter_rows(values_only=True, max_row=50))
    capacity = [r[edges[0].index("capacity_t")] for r in edges[1:]]
    assert "inf" in capacity, "an unlimited capacity is written as the text inf (Excel has no infinity)"
    assert all(c == "inf" or math.isfinite(c) for c in capacity)
    assert os.listdir(tmp_path) == ["run.xlsx"]


def test_export_of_an_ensemble(ensemble_dir, tmp_path):
    tables = export_tables(ensemble_dir)
    assert list(tables) == ["summary", "corridors", "observables", "outcomes", "design", "columns", "about"]
    summary = tables["summary"]
    assert set(summary["year"]) == {2020} and set(summary["runs"]) == {2}
    assert (summary["volume_t_q0.05"] <= summary["volume_t_median"]).all()
    units = tables["columns"].set_index(["table", "column"])["unit"]
    assert units["corridors", "volume_t"] == "tonnes per year"
    out = tmp_path / "ens.xlsx"
    result = invoke("export", ensemble_dir, "--format", "xlsx", "--out", out)
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(out, read_only=True).sheetnames == list(tables)


def test_cli_export_default_paths_and_force(run_dir, tmp_path):
    copy = tmp_path / "run"
    copy.symlink_to(run_dir, target_is_directory=True)
    result = invoke("export", copy)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run-csv" / "summary.csv").is_file()
    assert "csv export written to" in result.stderr
    result = invoke("export", copy, "--format", "xlsx")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run.xlsx").is_file()
    again = invoke("export", copy, "--format", "xlsx")
    assert again.exit_code == 2 and "--out" in again.stderr and "--force" in again.stderr
    assert invoke("export", copy, "--format", "xlsx", "--force").exit_code == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--format", "pdf"), "--format: must be csv or xlsx, got 'pdf'"),
        (
            ("--format", "xlsx", "--out", "{tmp}/x.csv"),
            "--out: {tmp}/x.csv: an Excel workbook must end in .xlsx",
        ),
        (
            ("--format", "csv", "--out", "{tmp}/x.csv"),
            "--out: {tmp}/x.csv: CSV export writes one file per table",
        ),
    ],
)
def test_cli_export_bad_options_exit_2_with_one_line(run_dir, tmp_path, args, expected):
    result = invoke("export", run_dir, *(a.format(tmp=tmp_path) for a in args))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected.format(tmp=tmp_path) in lines[0]
    assert os.listdir(tmp_path) == []


def test_cli_export_of_what_is_not_a_run_exits_2_naming_it(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for target, reason in ((empty, "not a run directory"), (tmp_path / "missing", "no such directory")):
        result = invoke("export", target, "--out", tmp_path / "out-csv")
        assert result.exit_code == 2, result.output
        assert f"{target}: {reason}" in result.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text("{}")
    result = invoke("export", broken, "--out", tmp_path / "out-csv")
    assert result.exit_code == 2 and f"{broken / 'corridors.parquet'}: missing" in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["broken", "empty"], "nothing written"
    with pytest.raises(CorridorsError, match="format: must be csv or xlsx"):
        export_run(broken, tmp_path / "x", fmt="json")  # type: ignore[arg-type]
