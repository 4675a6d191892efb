"""Tests of the figures of every kind of output (:mod:`corridors.experiments.figures`, ``compare``).

Real ensembles, sweeps and sensitivity analyses (small: two to eight runs to 2020) are run
by the command, which must draw their figure into their directory: a fan chart that says
how many runs it rests on and warns below 30, a sweep's outcomes against its parameter
with no bands, Morris and Sobol' indices. ``compare`` writes PNG, PDF and SVG, names runs
by scenario and overrides, and prints and writes the headline table.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex
from matplotlib.container import ErrorbarContainer
from typer.testing import CliRunner

import corridors
from corridors import plots
from corridors.cli import app
from corridors.experiments import scenario_table
from corridors.experiments.figures import ensemble_figures
from corridors.experiments.runs import write_run
from corridors.plots import comparison
from corridors.plots.sweeps import SWEEP_OUTCOMES
from corridors.results import load_ensemble, load_results
from corridors.results.labels import directory_labels
from corridors.results.measures import measure
from corridors.scenario import find_scenario, load_scenario

ENV = {"COLUMNS": "80"}
SHORT = "period.end_year=2020"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def _run_dir(parent: Path, name: str, **overrides) -> Path:
    sc = load_scenario(find_scenario("baseline"), overrides={"period.end_year": 2020, **overrides})
    return write_run(corridors.run(sc, seed=7), sc, parent / name, plots=False)


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory) -> tuple[Path, Path]:
    parent = tmp_path_factory.mktemp("runs")
    return _run_dir(parent, "a"), _run_dir(parent, "b", **{"parameters.cost_elasticity": 3.5})


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ens") / "ens"
    result = invoke("run", "baseline", "--set", SHORT, "--replicates", "2", "--workers", "1", "--seed", "3",
                    "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    return result, out


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "sweep"
    result = invoke("sweep", "baseline", "--set", SHORT, "--param", "cost_elasticity=2:6", "--samples", "3",
                    "--design", "grid", "--workers", "1", "--seed", "3", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    return result, out


# ============================================================================ ensembles


def test_an_ensemble_gets_its_fan_chart_with_a_warning(ensemble_run):
    result, out = ensemble_run
    data = (out / "fan_chart.png").read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 20_000
    assert "fan_chart.png" in result.stderr
    assert "rests on 2 runs" in result.stderr and "30 or more" in result.stderr
    assert not [p for p in os.listdir(out) if p.startswith(".")], "no temporary file left"


def test_a_fan_chart_states_its_runs_and_warns_below_30(ensemble_run, monkeypatch):
    ens = load_ensemble(ensemble_run[1])
    fig = plots.fan_chart([ens], ["baseline (x=1)"])
    assert "over 2 runs" in fig.get_suptitle()
    legend = fig.legends[0]
    warning = legend.get_title().get_text()
    assert "too few runs" in warning and "baseline (x=1): 2 runs" in warning and "30 or more" in warning
    assert to_hex(legend.get_title().get_color()) == "#b00000"
    assert "baseline (x=1) (2 runs)" in [t.get_text() for t in legend.get_texts()]
    monkeypatch.setattr(comparison, "MIN_FAN_RUNS", 2)
    assert comparison.fan_chart([ens], ["baseline"]).legends[0].get_title().get_text() == ""


def test_overlapping_ensembles_differ_in_colour_style_and_marker(ensemble_run):
    ens = load_ensemble(ensemble_run[1])
    fig = plots.fan_chart([ens, ens], ["baseline", "baseline (x=1)"])
    middle = next(ax for ax in fig.axes if ax.get_title() == "middle")
    a, b = middle.get_lines()[:2]
    assert a.get_color() != b.get_color()
    assert a.get_linestyle() != b.get_linestyle() and a.get_marker() != b.get_marker()
    assert to_hex(a.get_color()) == plots.CORRIDOR_COLOURS["middle"].lower(), (
        "the first keeps the corridor's colour"
    )
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "baseline (2 runs)" in texts and "baseline (x=1) (2 runs)" in texts


def test_compare_of_ensembles_names_them_by_scenario_and_overrides(ensemble_run, run_dirs, tmp_path):
    out = tmp_path / "fan.svg"
    result = invoke("compare", ensemble_run[1], run_dirs[1], "--out", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("<?xml") and "<svg" in text
    assert "cost_elasticity=3.5" in text, "the legend names the run's override"
    assert "rests on 2 runs" in result.stderr


def test_compare_of_more_ensembles_than_styles_exits_2(ensemble_run, tmp_path):
    result = invoke("compare", *[ensemble_run[1]] * 5, "--out", tmp_path / "fan.png")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "at most 4 ensembles in one figure, got 5" in lines[0]
    assert os.listdir(tmp_path) == []


def test_plot_redraws_an_ensemble_figure(ensemble_run, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in ensemble_run[1].iterdir():
        if p.is_file() and p.name != "fan_chart.png":
            (copy / p.name).write_bytes(p.read_bytes())
    result = invoke("plot", copy)
    assert result.exit_code == 0, result.output
    assert (copy / "fan_chart.png").read_bytes()[:8] == PNG_MAGIC


# ============================================================================ sweeps and sensitivity


def test_a_sweep_gets_its_outcomes_against_the_parameter_without_bands(sweep_run):
    result, out = sweep_run
    assert "sweep.png" in result.stderr
    assert (out / "sweep.png").read_bytes()[:8] == PNG_MAGIC
    assert not (out / "fan_chart.png").exists(), "a sweep's runs are design points, not a fan"
    ens = load_ensemble(out)
    fig = ensemble_figures(ens, label="baseline")["sweep.png"]
    assert len(fig.axes) == len(SWEEP_OUTCOMES), "one panel per outcome (one parameter)"
    axes = fig.axes
    assert {ax.get_xlabel() for ax in axes} == {"", "cost_elasticity"}
    assert all(not [c for c in ax.collections if isinstance(c, PolyCollection)] for ax in axes), "no bands"
    first = axes[0]
    xs = first.collections[0].get_offsets()[:, 0]
    assert sorted(xs.tolist()) == [2.0, 4.0, 6.0], "one point per run at its parameter value"
    ys = first.collections[0].get_offsets()[:, 1]
    expected = ens.outcomes.sort_values("cost_elasticity")["middle_volume_t"].to_numpy() / 1e6
    assert sorted(ys.tolist()) == pytest.approx(sorted(expected.tolist()))
    assert first.get_lines(), "a grid design: the mean at each value is joined"
    assert "3 runs" in fig.get_suptitle()


@pytest.mark.parametrize(("method", "samples", "runs"), [("morris", "2", 6), ("sobol", "2", 8)])
def test_sensitivity_draws_its_indices(tmp_path, method, samples, runs):
    out = tmp_path / method
    result = invoke("sensitivity", "baseline", "--set", SHORT, "--param", "cost_elasticity=2:6", "--param",
                    "renewal_rate=0.1:0.5", "--method", method, "--samples", samples, "--workers", "1",
                    "--seed", "3", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "sensitivity.png").read_bytes()[:8] == PNG_MAGIC
    ens = load_ensemble(out)
    assert ens.runs == runs
    indices = pd.read_parquet(out / "sensitivity.parquet")
    fig = ensemble_figures(ens, label="baseline", indices=indices)["sensitivity.png"]
    assert f"({runs} runs)" in fig.get_suptitle()
    if method == "sobol":
        assert "95% confidence" in fig.get_suptitle()
        ax = fig.axes[0]
        assert ax.get_title() == "middle_share"
        rows = indices[indices["outcome"] == "middle_share"].sort_values("ST")
        widths = sorted(p.get_width() for p in ax.patches)
        assert widths == pytest.approx(sorted([*rows["S1"], *rows["ST"]]))
        errorbars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert len(errorbars) == 2 and all(c.has_xerr for c in errorbars), "intervals as error bars"
    else:
        assert [ax.get_ylabel() for ax in fig.axes[3:]] == ["sigma"] * 3


def test_sobol_plot_ranks_by_total_index():
    indices = pd.DataFrame({
        "outcome": ["a"] * 3,
        "parameter": ["x", "y", "z"],
        "S1": [0.5, 0.1, 0.2],
        "S1_conf": [0.05, 0.05, 0.05],
        "ST": [0.6, 0.1, 0.3],
        "ST_conf": [0.1, 0.02, 0.05],
    })  # fmt: skip
    fig = plots.sobol_plot(indices, ["a"], title="indices")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["y", "z", "x"], "largest ST on top"
    assert fig.get_suptitle().startswith("indices")


# ============================================================================ compare: formats, labels, table


def test_directory_labels_name_scenario_and_overrides(run_dirs):
    assert directory_labels(run_dirs) == ["baseline", "baseline (cost_elasticity=3.5)"]
    assert directory_labels([run_dirs[0], run_dirs[0]]) == ["baseline [a]", "baseline [a]"]
    assert directory_labels([run_dirs[0]]) == ["baseline (period.end_year=2020)"]


@pytest.mark.parametrize(("suffix", "magic"), [(".png", PNG_MAGIC), (".pdf", b"%PDF-"), (".svg", b"<?xml")])
def test_compare_writes_png_pdf_and_svg(run_dirs, tmp_path, suffix, magic):
    out = tmp_path / f"compare{suffix}"
    result = invoke("compare", *run_dirs, "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)
    assert os.listdir(tmp_path) == [out.name]


def test_compare_table_prints_and_writes_the_headline_indicators(run_dirs, tmp_path):
    csv, md = tmp_path / "h.csv", tmp_path / "h.md"
    result = invoke("compare", *run_dirs, "--out", tmp_path / "c.png", "--table", csv)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(csv)
    headings = [h for h, *_ in scenario_table.HEADLINES]
    assert list(table.columns) == ["run", "year", *headings]
    assert table["run"].tolist() == ["baseline", "baseline (cost_elasticity=3.5)"]
    assert set(table["year"]) == {2020}
    runs = [load_results(d) for d in run_dirs]
    for i, res in enumerate(runs):
        expected = measure(res, "volume_t", corridor="middle")[2020] / 1e6
        assert table.loc[i, "Middle Mt"] == pytest.approx(expected)
    assert "Headline indicators in 2020" in result.stdout and "Middle Mt" in result.stdout
    change = table.loc[1, "Middle Mt"] - table.loc[0, "Middle Mt"]
    assert f"({change:+,.2f})" in result.stdout
    result = invoke("compare", *run_dirs, "--out", tmp_path / "c.png", "--table", md, "--year", "2019")
    assert result.exit_code == 0, result.output
    text = md.read_text()
    assert text.startswith("Headline indicators in 2019") and "| baseline (cost_elasticity=3.5) |" in text


def test_compare_table_bad_input_exits_2_and_writes_nothing(run_dirs, ensemble_run, tmp_path):
    cases = [
        (["--table", tmp_path / "t.xlsx"], "--table: "),
        (["--table", tmp_path / "t.csv", "--year", "2031"], "--year: 2031 is not reported by every run"),
        (["--year", "2020"], "--year applies to --table"),
        (["--out", tmp_path / "c.jpg"], "must end in .png, .pdf or .svg"),
    ]
    for args, message in cases:
        result = invoke("compare", *run_dirs, "--out", tmp_path / "c.png", *args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, result.stderr)
    result = invoke("compare", ensemble_run[1], "--table", tmp_path / "t.csv", "--out", tmp_path / "c.png")
    assert result.exit_code == 2 and "--table: compares single runs" in result.stderr
    assert os.listdir(tmp_path) == []
