"""Tests of :mod:`corridors.experiments.designs`: grids, Latin hypercubes, parsed ranges, and the
SALib designs and indices of sensitivity analysis (on the Ishigami and Sobol' g functions)."""

from __future__ import annotations

import numpy as np
import pytest
from pandas.testing import assert_frame_equal

from corridors.experiments import designs


def test_grid_and_lhs_designs():
    g = designs.grid_design({"a": (0.0, 1.0), "b": (10.0, 20.0)}, 3)
    assert len(g) == 9 and sorted(g["a"].unique()) == [0.0, 0.5, 1.0]
    lhs = designs.lhs_design({"a": (0.0, 1.0), "b": (10.0, 20.0)}, 8, seed=1)
    # one point in each of the 8 strata of every parameter
    assert sorted(np.floor(lhs["a"] * 8).astype(int)) == list(range(8))
    assert sorted(np.floor((lhs["b"] - 10) / 10 * 8).astype(int)) == list(range(8))
    assert_frame_equal(lhs, designs.lhs_design({"a": (0.0, 1.0), "b": (10.0, 20.0)}, 8, seed=1))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("cost_elasticity", "expected NAME=LOW:HIGH"),
        ("cost_elasticity=2", "expected NAME=LOW:HIGH"),
        ("cost_elasticity=a:b", "LOW and HIGH must be numbers"),
        ("cost_elasticity=6:2", "LOW must be below HIGH"),
        ("fleet_response=0:1", "not a numeric parameter"),
    ],
)
def test_parse_range_rejects_bad_text(text, reason):
    with pytest.raises(ValueError, match=reason):
        designs.parse_range(text)
    assert designs.parse_range("parameters.cost_elasticity=2:6") == ("cost_elasticity", 2.0, 6.0)


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def sobol_g(x: np.ndarray, a=(0.0, 1.0, 4.5, 9.0, 99.0)) -> np.ndarray:
    a = np.asarray(a)
    return np.prod((np.abs(4 * x - 2) + a) / (1 + a), axis=1)


def test_sobol_ranks_the_ishigami_parameters():
    ranges = {"x1": (-np.pi, np.pi), "x2": (-np.pi, np.pi), "x3": (-np.pi, np.pi)}
    x = designs.sensitivity_design(ranges, "sobol", 1024, seed=1)
    assert len(x) == 1024 * (3 + 2)
    idx = designs.sensitivity_indices(ranges, x, ishigami(x.to_numpy()), "sobol", seed=1).set_index(
        "parameter"
    )
    # analytic values: S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244
    assert idx["ST"].sort_values(ascending=False).index.tolist() == ["x1", "x2", "x3"]
    assert idx["S1"].sort_values(ascending=False).index.tolist() == ["x2", "x1", "x3"]
    assert idx.loc["x1", "S1"] == pytest.approx(0.314, abs=0.08)
    assert idx.loc["x2", "ST"] == pytest.approx(0.442, abs=0.08)
    assert abs(idx.loc["x3", "S1"]) < 0.08


def test_morris_ranks_the_sobol_g_parameters():
    ranges = {f"x{i}": (0.0, 1.0) for i in range(1, 6)}
    x = designs.sensitivity_design(ranges, "morris", 40, seed=2)
    assert len(x) == 40 * 6
    idx = designs.sensitivity_indices(ranges, x, {"g": sobol_g(x.to_numpy())}, "morris", seed=2)
    # the smaller a_i, the more x_i matters
    assert idx.sort_values("mu_star", ascending=False)["parameter"].tolist() == ["x1", "x2", "x3", "x4", "x5"]


def test_sensitivity_skips_outcomes_with_missing_values():
    ranges = {"a": (0.0, 1.0), "b": (0.0, 1.0)}
    x = designs.sensitivity_design(ranges, "morris", 4, seed=0)
    y = x["a"].to_numpy() * 3 + x["b"].to_numpy()
    idx = designs.sensitivity_indices(ranges, x, {"y": y, "never": np.full(len(x), np.nan)}, "morris")
    assert set(idx["outcome"]) == {"y"} and idx.attrs["skipped"] == ["never"]
