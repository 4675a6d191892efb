"""Tests of ``corridors.experiments.calibrate``: the loss, the parameters file, identifiability, the
report directory and the ``corridors calibrate`` command.

Every model run here is deterministic and ends in 2023 (0.15-0.3 s). The fits are short:
one start and a few evaluations, except the full-size identifiability test (``slow``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("scipy")

from corridors.cli import app
from corridors.experiments import calibrate as cal
from corridors.experiments.calibrate import problem, report
from corridors.history import load_history
from corridors.results import OBSERVABLES
from corridors.scenario import load_scenario, scenario_dir

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BY_NAME = {p.name: p for p in cal.FREE_PARAMETERS}
# Better than the defaults: container transit kept off the Middle Corridor by its unreliability,
# the Northern route's 2019 level down, the 2022 shift mostly by the premium.
HAND_TUNED = {
    "cost_elasticity": 8.0,
    "russia_premium_usd_per_t": 100.0,
    "russia_avoidance_share": 0.1,
    "reliability_penalty_days.middle": 50.0,
    "time_sensitive_share": 0.1,
    "renewal_rate": 0.25,
}
# Absurd: choice blind to cost, no sanctions, a reliable Middle Corridor, spot contracts.
ABSURD = {
    "cost_elasticity": 1.0,
    "russia_premium_usd_per_t": 0.0,
    "russia_avoidance_share": 0.0,
    "reliability_penalty_days.middle": 0.0,
    "time_sensitive_share": 0.3,
    "renewal_rate": 1.0,
}
QUICK = {"starts": 1, "max_nfev": 2, "profile_points": 2}


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "80"})


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return load_history()


@pytest.fixture(scope="module")
def quick_fit(history):
    return cal.fit(history, **QUICK)


@pytest.fixture(scope="module")
def quick_cv(history):
    return cal.cross_validate(history, **{**QUICK, "profile_points": 0})


# ----------------------------------------------------------------------- the loss


def test_free_parameters_are_at_most_six_with_bounds_and_reasons() -> None:
    assert 1 <= len(cal.FREE_PARAMETERS) <= 6
    for p in cal.FREE_PARAMETERS:
        assert p.lower < p.upper, p
        assert len(p.reason) > 40, p
        assert not p.name.startswith("alignment"), "alignments are never fitted"
    theta = cal.default_theta()
    assert all(p.lower <= v <= p.upper for p, v in zip(cal.FREE_PARAMETERS, theta, strict=True))


def test_residuals_one_finite_value_per_observed_point(history) -> None:
    r = cal.residuals(cal.default_theta(), history)
    assert r.shape == (len(history),)  # history.csv holds 2019-2023 only: every row is fitted
    assert np.isfinite(r).all()
    obs = cal.simulate(cal.default_theta())
    assert set(obs) == set(OBSERVABLES) == set(cal.LOSS_WEIGHTS)
    for s in obs.values():
        assert list(s.index) == [2019, 2020, 2021, 2022, 2023]


def test_residual_table_states_the_loss(history) -> None:
    """Relative errors with their weights, the share in absolute terms / 0.1, and a finite
    residual when the model has no transit time."""
    years = range(2019, 2024)
    modelled = {name: pd.Series(np.nan, index=years) for name in cal.LOSS_WEIGHTS}
    modelled["middle_corridor_t"] = pd.Series(2 * 759_000.0, index=years)  # +100% in 2019
    modelled["middle_kz_share"] = pd.Series(0.55, index=years)
    modelled["middle_teu"] = pd.Series(0.0, index=years)
    t = cal.residual_table(modelled, history).set_index(["series", "year"])
    assert t.loc[("middle_corridor_t", 2019), "residual"] == pytest.approx(1.0)
    assert t.loc[("middle_kz_share", 2022), "residual"] == pytest.approx((0.55 - 0.60) / 0.1)
    assert t.loc[("middle_teu", 2021), "residual"] == pytest.approx(0.5 * -1.0)
    assert t.loc[("middle_transit_days", 2022), "residual"] == pytest.approx(0.5)  # NaN: a 100% error
    assert np.isfinite(t["residual"]).all()
    assert cal.loss(t["residual"].to_numpy()) == pytest.approx(float((t["residual"] ** 2).sum()))


def test_loss_lower_at_a_hand_tuned_point_than_at_an_absurd_one(history) -> None:
    good = cal.loss(cal.residuals(HAND_TUNED, history))
    bad = cal.loss(cal.residuals(ABSURD, history))
    fitted = cal.loss(cal.residuals(cal.default_theta(), history))  # baseline.toml's fitted values
    assert fitted < good < bad


def test_constants_reproduce_the_2019_levels(history) -> None:
    ev = problem._Evaluator(history=history)
    obs = ev.observables(HAND_TUNED)
    for name, series in cal.CONSTANT_TARGETS.items():
        o = float(history[(history["series"] == series) & (history["year"] == 2019)]["value"].iloc[0])
        assert obs[series][2019] == pytest.approx(o, rel=0.005), name
    assert set(ev.constants(HAND_TUNED)) == set(cal.CONSTANT_TARGETS)


def test_theta_must_name_the_free_parameters() -> None:
    with pytest.raises(KeyError, match="not free parameters"):
        cal.simulate({**HAND_TUNED, "alignment": 0.5})
    with pytest.raises(ValueError, match="expected 6 values"):
        cal.simulate([1.0, 2.0])


# ----------------------------------------------------------------------- parameters file


def _fitted_scenario(tmp_path: Path, parameters: str) -> Path:
    path = tmp_path / "fitted.toml"
    path.write_text(
        "\n".join([
            'name = "fitted"',
            'title = "The baseline with fitted parameters"',
            'description = "A test: the shipped baseline, read through a parameters file."',
            'article = "A test fixture."',
            f"extends = {str(scenario_dir() / 'baseline.toml')!r}",
            f'parameters_file = "{parameters}"',
            "",
        ])
    )  # fmt: skip
    return path


def test_write_parameters_round_trips_through_a_scenario(tmp_path: Path) -> None:
    cal.write_parameters(HAND_TUNED, tmp_path / "fit.toml", loss_value=12.5)
    text = (tmp_path / "fit.toml").read_text()
    assert "[fit]" in text and "loss = 12.5" in text
    sc = load_scenario(_fitted_scenario(tmp_path, "fit.toml"))
    p = sc.parameters()
    assert p.cost_elasticity == HAND_TUNED["cost_elasticity"]
    assert p.russia_premium_usd_per_t == HAND_TUNED["russia_premium_usd_per_t"]
    assert p.russia_avoidance_share == HAND_TUNED["russia_avoidance_share"]
    assert p.reliability_penalty_days == {"middle": 50.0}
    assert p.renewal_rate == HAND_TUNED["renewal_rate"]
    assert p.memory_weight == 0.5  # not fitted: the default stays
    assert sc.parameters_file == (tmp_path / "fit.toml").resolve()
    # the same parameters as the calibration's own runs
    assert cal.parameters_for(HAND_TUNED, load_scenario(scenario_dir() / "baseline.toml").parameters()) == p


def test_write_parameters_of_a_fit(tmp_path: Path, quick_fit) -> None:
    cal.write_parameters(quick_fit, tmp_path / "fit.toml")
    p = load_scenario(_fitted_scenario(tmp_path, "fit.toml")).parameters()
    base = problem._baseline().parameters()
    setting = [cal.FreeParameter(k, -1e9, 1e9, "") for k in quick_fit.constants]
    expected = cal.parameters_for(quick_fit.constants, cal.parameters_for(quick_fit.values, base), setting)
    assert expected == p
    assert set(quick_fit.constants) == set(cal.CONSTANT_TARGETS)
    assert f"loss = {quick_fit.loss!r}" in (tmp_path / "fit.toml").read_text()
    assert not list(tmp_path.glob(".*"))  # no temporary file left


# ----------------------------------------------------------------------- the fit


def test_quick_fit_reports_what_the_issue_asks(quick_fit) -> None:
    f = quick_fit
    n = len(cal.FREE_PARAMETERS)
    assert set(f.values) == set(f.bounds) == {p.name for p in cal.FREE_PARAMETERS}
    assert f.loss <= f.start_loss + 1e-9  # never worse than where it started
    assert f.jacobian.shape == (len(f.table), n)
    assert 0 <= f.rank <= n
    assert f.condition_number >= 1
    assert set(f.profiles) == set(f.values)
    assert all(len(prof) == QUICK["profile_points"] for prof in f.profiles.values())
    assert {"series", "year", "observed", "modelled", "error", "residual"} <= set(f.table.columns)
    names = [t.name for t in f.targets]
    assert any("middle_corridor_t" in n for n in names) and any("35%" in n for n in names)
    assert all(isinstance(t.ok, bool) for t in f.targets)


def test_rolling_origin_fits_2019_2021_and_predicts_2022_2023(quick_cv) -> None:
    assert quick_cv.holdout == cal.ROLLING_ORIGIN == 2022
    assert quick_cv.fit.years == (2019, 2021)
    assert set(quick_cv.predicted["year"]) == {2022, 2023}
    hist = load_history()
    observed = hist[hist["year"] >= 2022]
    assert set(zip(quick_cv.predicted["series"], quick_cv.predicted["year"], strict=True)) == {
        (s, y) for s, y in zip(observed["series"], observed["year"], strict=True) if s in cal.LOSS_WEIGHTS
    }
    assert not (quick_cv.fit.table["year"] >= 2022).any(), "the fit has not seen the predicted years"
    assert math.isfinite(quick_cv.loss_predicted)
    assert (quick_cv.fit_label, quick_cv.predicted_label) == ("2019-2021", "2022-2023")


def test_rolling_origin_refuses_a_holdout_outside_the_history() -> None:
    for holdout in (2019, 2024):
        with pytest.raises(ValueError, match="holdout"):
            cal.cross_validate(holdout=holdout)


IDENTIFIABILITY_TOL = 0.1  # of each bound width


def test_identifiability_two_parameters() -> None:
    """Synthetic history from known values, fitted back from a quarter-width away."""
    free = (BY_NAME["russia_avoidance_share"], BY_NAME["reliability_penalty_days.middle"])
    truth = {"russia_avoidance_share": 0.5, "reliability_penalty_days.middle": 30.0}
    r = cal.identifiability_check(truth, IDENTIFIABILITY_TOL, free=free, max_nfev=15)
    assert r.start != r.true
    assert r.ok, r.errors


@pytest.mark.slow
def test_identifiability_all_free_parameters() -> None:
    truth = {
        "cost_elasticity": 5.0,
        "russia_premium_usd_per_t": 100.0,
        "russia_avoidance_share": 0.5,
        "reliability_penalty_days.middle": 30.0,
        "renewal_rate": 0.3,
    }
    r = cal.identifiability_check(truth, IDENTIFIABILITY_TOL)
    assert r.ok, (r.recovered, r.errors)


# ----------------------------------------------------------------------- the report


def test_report_directory(tmp_path: Path, quick_fit, quick_cv) -> None:
    out = cal.write_report(quick_fit, quick_cv, tmp_path / "report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # nothing else left behind
    names = {p.name for p in out.iterdir()}
    assert set(cal.REPORT_FILES) <= names
    for png in out.glob("*.png"):
        assert png.read_bytes().startswith(PNG_MAGIC)
    text = (out / "report.md").read_text()
    for part in ("## Fitted values", "## Identification", "## Modelled against observed", "## Targets",
                 "## Rolling origin: fit 2019-2021, predict 2022-2023", "rank", "condition number"):  # fmt: skip
        assert part in text
    for p in cal.FREE_PARAMETERS:
        assert f"`{p.name}`" in text


def test_report_written_atomically(tmp_path: Path, quick_fit, quick_cv, monkeypatch) -> None:
    """A failure while writing leaves the previous report whole, or nothing at all."""
    out = cal.write_report(quick_fit, None, tmp_path / "report")
    before = (out / "report.md").read_text()

    def broken(fit):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "profile_figure", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        cal.write_report(quick_fit, quick_cv, tmp_path / "report")
    with pytest.raises(RuntimeError, match="disk full"):
        cal.write_report(quick_fit, quick_cv, tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    assert (out / "report.md").read_text() == before
    monkeypatch.undo()
    cal.write_report(quick_fit, quick_cv, tmp_path / "report")  # replaces the old one whole
    assert "## Rolling origin: fit 2019-2021, predict 2022-2023" in (out / "report.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


# ----------------------------------------------------------------------- the command


def test_cli_calibrate_quick(tmp_path: Path) -> None:
    out, params = tmp_path / "calibration", tmp_path / "fitted.toml"
    result = invoke("calibrate", "--quick", "--out", out, "--write-parameters", params)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert set(cal.REPORT_FILES) <= {p.name for p in out.iterdir()}
    assert "[parameters]" in params.read_text()
    assert "targets met" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--starts", "0"], "starts"),
        (["--write-parameters", "fit.json"], "must end in .toml"),
        (["--out", "a_file"], "not a calibration report"),
        (["--out", "other"], "not a calibration report"),
    ],
)
def test_cli_calibrate_bad_input(tmp_path: Path, monkeypatch, args, message) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    result = invoke("calibrate", "--quick", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert (tmp_path / "other" / "keep.txt").exists()
    assert not (tmp_path / "results").exists()


def test_cli_calibrate_help_shows_an_example() -> None:
    result = invoke("calibrate", "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout and "corridors calibrate" in result.stdout
    for option in ("--out", "--starts", "--quick", "--write-parameters"):
        assert option in result.stdout
