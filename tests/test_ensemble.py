"""Ensembles, sweeps and sensitivity analysis run whole (:mod:`corridors.experiments.ensemble`
and the executors it runs them on); the parts have files of their own: test_designs.py,
test_records.py, test_plans.py, test_directory.py and test_uncertainty.py.

Ensembles stay tiny (a few replicates to 2021) so that the file runs in well under a
minute on two cores. One session-scoped Dask LocalCluster of two single-threaded workers
serves the Dask tests; a real ``corridors sweep`` subprocess is killed with SIGKILL
part-way and run again.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from pandas.testing import assert_frame_equal

import corridors
from corridors.experiments.ensemble import outcomes
from corridors.experiments.executors import Execution, loopback_cluster
from corridors.results import EnsembleResults, load_ensemble
from corridors.scenario import load_scenario
from corridors.uncertainty import draw_parameters

DATA = Path(__file__).parent / "data"
UNCERTAIN = DATA / "scenarios" / "good" / "uncertain.toml"
LAG = DATA / "ensembles" / "lag_from_parameter.toml"
SEED = 5
END = 2021
REPLICATES = 4


@pytest.fixture(scope="session")
def dask_cluster():
    """Two single-threaded worker processes on loopback, for every Dask test."""
    cluster = loopback_cluster(2)
    yield cluster
    cluster.close()


@pytest.fixture(scope="module")
def ensemble_1() -> EnsembleResults:
    """On one worker, through the ``workers=`` shorthand (notebooks use it)."""
    return corridors.run_ensemble("baseline", replicates=REPLICATES, seed=SEED, end_year=END, workers=1)


@pytest.fixture(scope="module")
def ensemble_2() -> EnsembleResults:
    return corridors.run_ensemble(
        "baseline", replicates=REPLICATES, seed=SEED, end_year=END, execution=Execution(workers=2)
    )


def assert_same_tables(a: EnsembleResults, b: EnsembleResults) -> None:
    for name in ("corridors", "observables", "outcomes", "design"):
        assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)


# ----------------------------------------------------------------------- seeds


def test_replicate_0_equals_run_with_the_same_seed(ensemble_1):
    res = corridors.run("baseline", seed=SEED, end_year=END)
    first = ensemble_1.annual_volumes()
    first = first[first["run"] == 0][["year", "corridor", "volume_t"]].reset_index(drop=True)
    assert_frame_equal(first, res.annual_volumes(), check_exact=True)
    row = ensemble_1.outcomes[ensemble_1.outcomes["run"] == 0].iloc[0]
    expected = outcomes(res)
    for name, value in expected.items():
        assert (math.isnan(value) and math.isnan(row[name])) or row[name] == value, name
    assert corridors.run_one(seed=SEED, end_year=END) == pytest.approx(expected, nan_ok=True)


def test_replicates_differ_and_are_sorted(ensemble_1):
    c = ensemble_1.corridors
    assert list(c["run"].unique()) == list(range(REPLICATES))
    assert (c["run"] == c["replicate"]).all()
    totals = c.groupby("run")["volume_t"].sum()
    assert totals.nunique() == REPLICATES  # the model's randomness differs by replicate
    assert ensemble_1.failures.empty and ensemble_1.runs == REPLICATES


# ----------------------------------------------------------------------- executors


def test_one_and_two_workers_give_identical_tables(ensemble_1, ensemble_2):
    assert ensemble_2.meta["workers"] == 2
    assert_same_tables(ensemble_1, ensemble_2)


def test_an_existing_dask_cluster_gives_the_same_tables(ensemble_2, dask_cluster):
    where = Execution(scheduler=dask_cluster.scheduler_address)
    ens = corridors.run_ensemble("baseline", replicates=REPLICATES, seed=SEED, end_year=END, execution=where)
    assert ens.meta["executor"] == "dask-scheduler" and ens.meta["workers"] == 2
    assert ens.meta["scheduler"] == dask_cluster.scheduler_address
    assert_same_tables(ensemble_2, ens)


def test_an_embedded_local_cluster_gives_the_same_runs(ensemble_2):
    ens = corridors.run_ensemble(
        "baseline", replicates=2, seed=SEED, end_year=END, execution=Execution(executor="dask", workers=2)
    )
    assert ens.meta["executor"] == "dask"
    first_two = ensemble_2.corridors[ensemble_2.corridors["run"] < 2].reset_index(drop=True)
    assert_frame_equal(ens.corridors, first_two, check_exact=True)


def test_preparing_a_worker_whose_numba_threads_already_run_keeps_numba_working():
    """A worker of a cluster started without NUMBA_NUM_THREADS=1 (numba's threads launched with
    2): preparing it must not change what numba re-reads at its next compilation."""
    code = (
        "import numba\n"
        "from corridors import routing\n"
        "routing.warmup()\n"
        "from numba.np.ufunc import parallel\n"
        "assert parallel._is_initialized and numba.config.NUMBA_NUM_THREADS == 2\n"
        "from corridors.experiments.executors import prepare_worker\n"
        "prepare_worker()\n"
        "numba.core.config.reload_config()  # what every compilation does\n"
        "assert numba.get_num_threads() == 1\n"
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_bad_ensemble_arguments_raise_before_anything_is_written(tmp_path):
    out = tmp_path / "ens"
    with pytest.raises(ValueError, match=r"replicates: must be an integer >= 1, got 0"):
        corridors.run_ensemble("baseline", replicates=0, out=out)
    with pytest.raises(ValueError, match=r"'cost_elastcity' is not a numeric parameter.*cost_elasticity"):
        corridors.sweep("baseline", params={"cost_elastcity": (1, 2)}, out=out)
    with pytest.raises(ValueError, match=r"needs finite low < high"):
        corridors.sweep("baseline", params={"cost_elasticity": (3, 2)}, out=out)
    with pytest.raises(corridors.ScenarioError, match=r"parameters\.renewal_rate.*must be <= 1"):
        corridors.sweep("baseline", params={"renewal_rate": (0.5, 1.5)}, out=out)
    with pytest.raises(ValueError, match=r"end_year: must be an integer from .* to 2100, got 2200"):
        corridors.run_ensemble("baseline", replicates=2, end_year=2200, out=out)
    with pytest.raises(ValueError, match="power of 2"):
        corridors.sensitivity(
            "baseline", params={"cost_elasticity": (2, 6)}, method="sobol", samples=6, out=out
        )
    assert not out.exists()


# ----------------------------------------------------------------------- uncertainty


def test_uncertain_parameters_are_drawn_per_replicate():
    sc = load_scenario(UNCERTAIN)
    ens = corridors.run_ensemble(sc, replicates=3, workers=1)
    assert ens.meta["seed"] == 3  # the scenario's
    for r in range(3):
        draws = draw_parameters(sc.uncertainty, 3, r)
        row = ens.design[ens.design["replicate"] == r].iloc[0]
        assert {k: row[k] for k in draws} == draws
        assert all(sc.uncertainty[k].low <= v <= sc.uncertainty[k].high for k, v in draws.items())
        assert isinstance(draws["max_vessels"], int)
    assert ens.design["cost_elasticity"].nunique() == 3
    # run 1 is the model with replicate 1's seed and draws
    params = sc.parameters().replace(**draw_parameters(sc.uncertainty, 3, 1))
    res = corridors.run(sc, seed=3, replicate=1, params=params, events=sc.events(params))
    mine = ens.corridors[ens.corridors["run"] == 1]["volume_t"].to_numpy()
    assert np.array_equal(mine, res.annual_volumes()["volume_t"].to_numpy())


# ----------------------------------------------------------------------- results


def test_quantiles_and_exceedance(ensemble_1):
    q = ensemble_1.quantiles()
    assert list(q.columns) == ["year", "corridor", "q0.05", "q0.25", "q0.5", "q0.75", "q0.95"]
    mid = ensemble_1.corridors.query("year == 2021 and corridor == 'middle'")["volume_t"]
    row = q.query("year == 2021 and corridor == 'middle'").iloc[0]
    assert row["q0.5"] == pytest.approx(mid.median())
    assert (q["q0.05"] <= q["q0.5"]).all() and (q["q0.5"] <= q["q0.95"]).all()
    p = ensemble_1.exceedance("chinese", "sea")
    assert list(p["year"]) == [2019, 2020, 2021]
    wide = ensemble_1.corridors.pivot_table(index=["run", "year"], columns="corridor", values="volume_t")
    share = (wide["chinese"] > wide["sea"]).groupby("year").mean()
    assert list(p["p_exceeds"]) == list(share)
    assert (p["p_overtaken_by"].diff().fillna(0) >= 0).all()
    with pytest.raises(KeyError, match="northern"):
        ensemble_1.exceedance("northern", "sea")


def test_save_and_load_round_trip_without_pickles(ensemble_1, tmp_path):
    path = ensemble_1.save(tmp_path / "ens")
    assert {p.suffix for p in path.iterdir()} == {".parquet", ".json"}
    back = load_ensemble(path)
    assert_same_tables(ensemble_1, back)
    assert back.meta["seed"] == SEED
    with pytest.raises(FileExistsError):
        ensemble_1.save(path)
    with pytest.raises(FileNotFoundError, match="not an ensemble directory"):
        load_ensemble(tmp_path)


def test_compare_draws_fans_for_ensembles_and_lines_for_runs(ensemble_1):
    res = corridors.run("baseline", seed=SEED, end_year=END)
    fig = corridors.compare([ensemble_1, res], ["ensemble", "one run"])
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert "Middle Corridor" in " ".join(titles) or "middle" in " ".join(titles).lower()
    assert any(t.startswith("P(") for t in titles)
    assert isinstance(corridors.compare([res, res]), Figure)  # runs only: side by side


# ----------------------------------------------------------------------- sweeps


def test_a_failing_point_is_recorded_and_the_others_run(tmp_path):
    out = tmp_path / "sweep"
    ens = corridors.sweep(LAG, params={"queue_patience_quarters": (1, 3)}, samples=5, design="grid",
                          execution=Execution(workers=2), out=out)  # fmt: skip
    # 1.5 and 2.5 quarters are no lag: those runs fail, 1, 2 and 3 run
    assert list(ens.failures["run"]) == [1, 3]
    assert set(ens.failures["error"]) == {"ScenarioError"}
    assert (
        "events[0].lag_quarters: parameter gives 1.5, not a whole number" in ens.failures["message"].iloc[0]
    )
    assert list(ens.outcomes["run"]) == [0, 2, 4]
    assert list(ens.outcomes["queue_patience_quarters"]) == [1.0, 2.0, 3.0]
    record = json.loads((out / "runs" / "run-000001.error.json").read_text())
    assert record["values"] == {"queue_patience_quarters": 1.5} and "Traceback" in record["traceback"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["failed"] == 2 and manifest["finished"] == 3
    design = pd.read_parquet(out / "design.parquet")
    assert list(design["queue_patience_quarters"]) == [1.0, 1.5, 2.0, 2.5, 3.0]
    # run again: the finished runs are skipped, the failed ones retried (and fail again)
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")}
    again = corridors.sweep(LAG, params={"queue_patience_quarters": (1, 3)}, samples=5, design="grid",
                            workers=1, out=out)  # fmt: skip
    assert again.meta["runs_this_session"] == 2
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")} == stamps
    assert_frame_equal(again.corridors, ens.corridors, check_exact=True)
    # another design in the same directory is refused
    with pytest.raises(FileExistsError, match="holds a different sweep"):
        corridors.sweep(LAG, params={"queue_patience_quarters": (1, 4)}, samples=5, design="grid", out=out)


def _sweep_command(out: Path) -> list[str]:
    return [sys.executable, "-m", "corridors", "sweep", "baseline", "--param", "cost_elasticity=2:6",
            "--param", "renewal_rate=0.1:0.5", "--samples", "12", "--design", "lhs", "--seed", "3",
            "--set", f"period.end_year={END}", "--workers", "1", "--out", str(out)]  # fmt: skip


def _finished_runs(runs: Path) -> list[Path]:
    """The run files a sweep has finished: pathlib's glob also matches the hidden temporary files
    (``.run-…parquet``) a killed sweep may leave half written."""
    return sorted(runs.glob("run-*.parquet"))


def test_a_sweep_killed_part_way_resumes_and_runs_everything_once(tmp_path):
    import psutil

    out = tmp_path / "sweep"
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    proc = subprocess.Popen(_sweep_command(out), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    runs = out / "runs"
    deadline = time.monotonic() + 120
    children: list = []
    while time.monotonic() < deadline and proc.poll() is None:
        children = children or psutil.Process(proc.pid).children(recursive=True)
        if runs.is_dir() and len(_finished_runs(runs)) >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    finished = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in _finished_runs(runs)}
    assert 3 <= len(finished) < 12, "the sweep must be killed part-way"
    assert not (out / "corridors.parquet").exists()
    # the worker processes do not outlive the killed sweep
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, alive

    again = subprocess.run(_sweep_command(out), env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in _finished_runs(runs)}
    assert len(after) == 12
    assert not list(runs.glob(".*")), "temporary files of the killed sweep are cleared"
    assert {k: after[k] for k in finished} == finished  # finished runs were not run again
    meta = json.loads((out / "ensemble.json").read_text())
    assert meta["runs_this_session"] == 12 - len(finished)
    resumed = load_ensemble(out)
    assert list(resumed.outcomes["run"]) == list(range(12))
    assert not resumed.corridors.duplicated(["run", "year", "corridor"]).any()
    # identical to a sweep that was never interrupted
    whole = corridors.sweep("baseline", params={"cost_elasticity": (2, 6), "renewal_rate": (0.1, 0.5)},
                            samples=12, design="lhs", seed=3, overrides={"period.end_year": END},
                            execution=Execution(workers=2))  # fmt: skip
    assert_same_tables(whole, resumed)


# ----------------------------------------------------------------------- sensitivity


def test_morris_on_the_model_end_to_end(tmp_path):
    sens = corridors.sensitivity(
        "baseline",
        params={"cost_elasticity": (2.0, 6.0), "russia_premium_usd_per_t": (0.0, 150.0)},
        method="morris",
        samples=2,
        end_year=2023,
        execution=Execution(workers=2),
        out=tmp_path / "morris",
    )
    assert len(sens.ensemble.design) == 2 * 3 and sens.ensemble.failures.empty
    indices = pd.read_parquet(tmp_path / "morris" / "sensitivity.parquet")
    assert_frame_equal(indices, sens.indices.reset_index(drop=True), check_exact=True)
    assert set(sens.ranking("middle_share")) == {"cost_elasticity", "russia_premium_usd_per_t"}
    mu = sens.indices.set_index(["outcome", "parameter"])["mu_star"]
    assert mu[("russian_share", "russia_premium_usd_per_t")] > 0  # the premium moves freight off Russia


# ----------------------------------------------------------------------- run_one as a model function


def test_run_one_rejects_unknown_keywords():
    with pytest.raises(TypeError, match=r"run_one: .*cost_elastcity"):
        corridors.run_one(cost_elastcity=3.0, end_year=END)


def test_the_salib_example_of_the_docs():
    """docs/ensembles.md: SALib samples, run_one evaluates, SALib analyses."""
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    problem = {"num_vars": 2, "names": ["cost_elasticity", "russia_premium_usd_per_t"],
               "bounds": [[2.0, 6.0], [0.0, 150.0]]}  # fmt: skip
    X = morris_sample.sample(problem, N=2, num_levels=4, seed=1)
    Y = np.array([corridors.run_one(**dict(zip(problem["names"], x, strict=True)), seed=1, end_year=2023)
                  ["russian_share"] for x in X])  # fmt: skip
    Si = morris_analyze.analyze(problem, X, Y, num_levels=4, seed=1)
    assert len(Si["mu_star"]) == 2 and np.isfinite(Si["mu_star"]).all()
    assert Si["mu_star"][1] > 0


def test_the_scipy_example_of_the_docs():
    """docs/ensembles.md: scipy.optimize finds the elasticity that gives a target share."""
    from scipy.optimize import minimize_scalar

    def share(e: float) -> float:
        return corridors.run_one(cost_elasticity=e, seed=1, end_year=END)["middle_share"]

    target = share(4.5)
    fit = minimize_scalar(lambda e: (share(e) - target) ** 2, bounds=(2.0, 6.0), method="bounded",
                          options={"xatol": 0.05, "maxiter": 20})  # fmt: skip
    assert fit.x == pytest.approx(4.5, abs=0.15)
