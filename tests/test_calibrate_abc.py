"""The Bayesian calibration: its settings, its distance, ABC-SMC runs that resume, and the command."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from corridors.cli import app
from corridors.experiments.calibrate.abc import QUICK, SeriesDistance, observed_points, run_abc
from corridors.experiments.calibrate.priors import KINDS, load_abc_settings
from corridors.experiments.executors import Execution
from corridors.history import load_history
from corridors.posterior import read_posterior
from corridors.results import OBSERVABLES

ONE = Execution(workers=1)


def test_every_history_series_has_an_observation_error_and_every_prior_a_source():
    settings = load_abc_settings()
    history = load_history()
    assert set(history["series"]) <= set(settings.errors)
    assert set(settings.errors) <= set(OBSERVABLES)
    assert {e.kind for e in settings.errors.values()} == set(KINDS)
    for p in settings.priors:
        assert p.source.startswith("A-prior-")
        u = np.linspace(0.01, 0.99, 50)
        assert np.all(p.dist.pdf(p.dist.ppf(u)) > 0)  # the prior's support is where it draws
        assert p.dist.pdf(p.high + 1.0) == 0.0


def test_the_distance_weighs_each_kind_once_and_standardises_by_the_observation_error():
    settings = load_abc_settings()
    points = observed_points(load_history(), settings)
    dist = SeriesDistance(points, settings.kind_weights)
    exact = dict(zip(points["key"], points["observed"], strict=True))
    assert dist(exact) == 0.0
    # one official volume 15% too high: z = log(1.15) / 0.15, weighted by 1 / (number of volume points)
    off = dict(exact, **{"middle_corridor_t/2021": exact["middle_corridor_t/2021"] * 1.15})
    volumes = int((points["kind"] == "volume").sum())
    assert dist(off) == pytest.approx(math.sqrt((math.log(1.15) / 0.15) ** 2 / volumes))
    # a share 0.1 off with sd 0.1 is z = 1, and there are 3 share points
    off = dict(exact, **{"middle_kz_share/2022": exact["middle_kz_share/2022"] + 0.1})
    assert dist(off) == pytest.approx(math.sqrt(1.0 / 3))
    # no modelled transit time: a 100% error over its sd
    off = dict(exact, **{"middle_transit_days/2022": float("nan")})
    assert dist(off) == pytest.approx(math.sqrt((1.0 / 0.3) ** 2 / 2))


def test_abc_posterior_weights_sum_to_one_and_a_second_call_resumes_without_redoing_generations(tmp_path):
    db = tmp_path / "abc.db"
    with ONE.make_executor() as ex:  # one set of workers for the three calls
        one = replace(QUICK, generations=1, predictive=2)
        first = run_abc(db, options=one, executor=ex, seed=3)
        assert first.generations_this_session == 1 and len(first.generations) == 1
        assert first.posterior["weight"].sum() == pytest.approx(1.0)
        assert len(first.posterior) == QUICK.population
        names = load_abc_settings().names
        assert set(names) <= set(first.posterior.columns)
        assert {"corridor_constants.russian", "bulk_corridor_constants.middle"} <= set(
            first.posterior.columns
        )

        second = run_abc(db, options=replace(one, generations=2), executor=ex, seed=3)
        assert second.generations_this_session == 1  # generation 0 was not run again
        assert len(second.generations) == 2
        pd.testing.assert_frame_equal(second.generations.iloc[:1], first.generations)
        assert second.simulations == first.simulations + second.simulations_this_session
        assert second.posterior["weight"].sum() == pytest.approx(1.0)
        assert (second.posterior["generation"] == 1).all()

        third = run_abc(db, options=replace(one, generations=2), executor=ex, seed=3)
        assert third.generations_this_session == 0 and third.simulations_this_session == 0
        pd.testing.assert_frame_equal(third.posterior, second.posterior)

        with pytest.raises(FileExistsError, match="other settings"):
            run_abc(db, options=replace(one, population=QUICK.population + 1), executor=ex)


def test_calibrate_abc_quick_writes_a_posterior_that_a_scenario_can_use(tmp_path):
    out = tmp_path / "cal"
    args = ["calibrate", "--method", "abc", "--quick", "--workers", "1", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    post = read_posterior(out / "posterior.parquet")
    assert post.weights.sum() == pytest.approx(1.0)
    report = out / "report"
    for name in (
        "report.md",
        "summary.json",
        "predictive.csv",
        "marginals.png",
        "pairs.png",
        "generations.png",
        "predictive.png",
    ):
        assert (report / name).stat().st_size > 0, name
    summary = json.loads((report / "summary.json").read_text())
    assert [o["fitted"] for o in summary["rolling_origin"]] == [[2019, 2021], [2019, 2022]]
    assert 0.0 <= summary["predictive"]["coverage90"] <= 1.0
    assert len(summary["recovery"]) == len(load_abc_settings().priors)
    text = (report / "report.md").read_text()
    for heading in ("## Generations", "## Posterior predictive checks", "## Rolling origin", "## Recovery"):
        assert heading in text
    # the same command again resumes every fit: no new simulation
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert json.loads((report / "summary.json").read_text())["simulations"] == summary["simulations"]


def test_calibrate_refuses_bad_options_with_exit_code_2(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["calibrate", "--method", "bayes", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--method" in bad.output
    lsq = runner.invoke(app, ["calibrate", "--population", "10", "--out", str(tmp_path / "y")])
    assert lsq.exit_code == 2 and "--population" in lsq.output
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "other.txt").write_text("x")
    taken = runner.invoke(app, ["calibrate", "--method", "abc", "--quick", "--out", str(tmp_path / "z")])
    assert taken.exit_code == 2 and "not a Bayesian calibration directory" in " ".join(taken.output.split())


def test_predictive_intervals_carry_the_observation_error():
    """A model that always gives the observed value covers it; its band widens by the observation's error."""
    from corridors.experiments.calibrate.abc_report import observation_draws, predictive_intervals

    points = pd.DataFrame(
        {
            "series": ["middle_corridor_t", "middle_kz_share"],
            "year": [2021, 2021],
            "observed": [1.0e6, 0.4],
            "kind": ["volume", "share"],
            "sd": [0.15, 0.10],
            "key": ["middle_corridor_t/2021", "middle_kz_share/2021"],
        }
    )
    exact = pd.DataFrame(
        {"middle_corridor_t/2021": np.full(400, 1.0e6), "middle_kz_share/2021": np.full(400, 0.4)}
    )
    t = predictive_intervals(points, exact)
    assert t["in90"].all() and t["in50"].all()
    assert (t["model_q05"] == t["model_q95"]).all()  # the model alone has no spread
    vol, share = t.iloc[0], t.iloc[1]
    # 90% of a log-normal error of 0.15 and a normal one of 0.10: about exp(+-1.645 * sd) and +-1.645 * sd
    assert vol.q95 / 1.0e6 == pytest.approx(math.exp(1.645 * 0.15), rel=0.05)
    assert share.q95 - 0.4 == pytest.approx(1.645 * 0.10, rel=0.1)
    # a model far off stays outside even with the error; the noise is the same on every call
    off = predictive_intervals(points.iloc[:1], pd.DataFrame({"middle_corridor_t/2021": np.full(400, 2.0e6)}))
    assert not off["in90"].iloc[0]
    a = observation_draws(np.ones(10), "volume", 0.2, "k/2020")
    np.testing.assert_array_equal(a, observation_draws(np.ones(10), "volume", 0.2, "k/2020"))
