"""A posterior of fitted parameters: its file's checks, the scenario key, and the replicates' draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from corridors.cli import app
from corridors.errors import DataError, ScenarioError
from corridors.experiments.plans import plan_design
from corridors.posterior import read_posterior
from corridors.scenario import find_scenario, load_scenario

BASELINE = find_scenario("baseline")


def _particles(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "particle": np.arange(n),
            "generation": np.ones(n, dtype=int),
            "weight": np.full(n, 1.0 / n),
            "distance": np.linspace(0.5, 1.0, n),
            "cost_elasticity": np.linspace(2.0, 12.0, n),
            "reliability_penalty_days.middle": np.linspace(5.0, 40.0, n),
            "corridor_constants.russian": np.linspace(10.0, 50.0, n),
        }
    )


def _scenario(tmp_path, posterior: str = "post.parquet", extra: str = "") -> object:
    path = tmp_path / "with_posterior.toml"
    path.write_text(
        f'name = "with_posterior"\ntitle = "t"\ndescription = "d"\narticle = "a"\n'
        f'extends = "{BASELINE.as_posix()}"\nposterior = "{posterior}"\n{extra}'
    )
    return path


def test_read_posterior_gives_weights_that_sum_to_one_and_the_parameter_columns(tmp_path):
    _particles().to_parquet(tmp_path / "post.parquet")
    post = read_posterior(tmp_path / "post.parquet")
    assert post.weights.sum() == pytest.approx(1.0)
    assert post.names == ["cost_elasticity", "reliability_penalty_days.middle", "corridor_constants.russian"]


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        (lambda f: f.drop(columns="weight"), "column weight", "missing"),
        (lambda f: f.assign(weight=f["weight"] * 2), "column weight", "sum to 1"),
        (lambda f: f.assign(weight=[-0.5, 0.5, 0.5, 0.5]), "column weight", ">= 0"),
        (lambda f: f.assign(cost_elasticty=1.0), "column cost_elasticty", "numeric parameter"),
        (lambda f: f.assign(**{"alignment.KZ": 0.5}), "column alignment.KZ", "key of one of the tables"),
        (lambda f: f.assign(renewal_rate=1.5), "column renewal_rate", "<= 1"),
        (lambda f: f.assign(cost_elasticity=np.nan), "column cost_elasticity", "finite"),
        (lambda f: f.iloc[:0], None, "no particles"),
    ],
)
def test_a_bad_posterior_file_is_refused_naming_the_column_and_the_reason(tmp_path, change, where, reason):
    change(_particles()).to_parquet(tmp_path / "post.parquet")
    with pytest.raises(DataError) as info:
        read_posterior(tmp_path / "post.parquet")
    assert info.value.where == where
    assert reason in info.value.reason
    assert info.value.file.endswith("post.parquet")


def test_a_bad_posterior_key_names_the_scenario_file_the_field_and_the_reason(tmp_path):
    path = _scenario(tmp_path, "missing.parquet")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    assert info.value.where == "line 6, posterior"
    assert "missing.parquet" in info.value.reason and "not found" in info.value.reason

    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(ScenarioError) as info:
        load_scenario(_scenario(tmp_path, "bad.parquet"))
    assert info.value.where == "line 6, posterior" and "not a readable Parquet file" in info.value.reason

    _particles().assign(weight=0.5).to_parquet(tmp_path / "unweighted.parquet")
    with pytest.raises(ScenarioError) as info:
        load_scenario(_scenario(tmp_path, "unweighted.parquet"))
    assert "column weight: the weights must sum to 1, got 2" in info.value.reason


def test_the_cli_refuses_a_bad_posterior_with_exit_code_2_and_one_message(tmp_path):
    _particles().drop(columns="weight").to_parquet(tmp_path / "post.parquet")
    path = _scenario(tmp_path)
    out = tmp_path / "ens"
    result = CliRunner().invoke(app, ["run", str(path), "--replicates", "2", "--out", str(out)])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "with_posterior.toml" in message and "posterior" in message and "column weight" in message
    assert not out.exists()


def test_a_parameter_drawn_from_both_the_posterior_and_the_uncertainty_table_is_refused(tmp_path):
    _particles().to_parquet(tmp_path / "post.parquet")
    extra = '[uncertainty]\ncost_elasticity = { dist = "uniform", low = 2.0, high = 6.0 }\n'
    with pytest.raises(ScenarioError) as info:
        load_scenario(_scenario(tmp_path, extra=extra))
    assert "uncertainty.cost_elasticity" in info.value.where and "posterior" in info.value.reason


def test_replicates_draw_particles_reproducibly_from_their_seed_and_differently_across_replicates(tmp_path):
    particles = _particles(50)
    particles["weight"] = np.linspace(1.0, 2.0, 50) / np.linspace(1.0, 2.0, 50).sum()
    particles.to_parquet(tmp_path / "post.parquet")
    sc = load_scenario(_scenario(tmp_path))
    a = plan_design(pd.DataFrame(), 20, sc, seed=7)
    b = plan_design(pd.DataFrame(), 20, sc, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert a["cost_elasticity"].nunique() > 5  # replicates draw different particles
    # every replicate's values are one particle's, all its columns together
    cols = ["cost_elasticity", "reliability_penalty_days.middle", "corridor_constants.russian"]
    rows = {tuple(r) for r in particles[cols].to_numpy()}
    assert all(tuple(r) in rows for r in a[cols].to_numpy())
    # replicate r's draw does not depend on how many replicates there are
    c = plan_design(pd.DataFrame(), 5, sc, seed=7)
    pd.testing.assert_frame_equal(c, a.iloc[:5])
    assert not plan_design(pd.DataFrame(), 20, sc, seed=8)[cols].equals(a[cols])


def test_an_ensemble_runs_each_replicate_with_its_particle(tmp_path):
    from corridors.experiments.ensemble import run_ensemble
    from corridors.experiments.runs import run

    particles = _particles(2).assign(weight=[0.5, 0.5])
    particles.to_parquet(tmp_path / "post.parquet")
    sc = load_scenario(_scenario(tmp_path))
    ens = run_ensemble(sc, replicates=4, seed=3, end_year=2020, workers=1)
    assert ens.failures.empty
    design = ens.design.set_index("replicate")
    for r in range(4):
        values = design.loc[
            r, ["cost_elasticity", "reliability_penalty_days.middle", "corridor_constants.russian"]
        ]
        params = sc.parameters().with_values(values.to_dict())
        assert params.reliability_penalty_days["middle"] == values["reliability_penalty_days.middle"]
        one = run(sc, seed=3, replicate=r, params=params, end_year=2020).annual_volumes()
        mine = ens.corridors[ens.corridors["replicate"] == r]
        got = mine.groupby(["year", "corridor"])["volume_t"].sum().to_numpy()
        want = one.groupby(["year", "corridor"])["volume_t"].sum().to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-9)
