"""Tests of :mod:`corridors.uncertainty`: the seeds of replicates and the draws of uncertain parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from corridors.scenario import load_scenario
from corridors.uncertainty import (
    draw_parameters,
    parameter_name,
    parameter_values,
    replicate_seed,
    replicate_sequence,
)

UNCERTAIN = Path(__file__).parent / "data" / "scenarios" / "good" / "uncertain.toml"
SEED = 5


def test_replicate_sequence_is_the_spawned_child():
    children = np.random.SeedSequence(SEED).spawn(6)
    for i, child in enumerate(children):
        mine = replicate_sequence(SEED, i)
        assert np.array_equal(mine.generate_state(4), child.generate_state(4))
    seeds = [replicate_seed(SEED, i) for i in range(6)]
    assert len(set(seeds)) == 6


def test_draws_follow_their_distributions():
    sc = load_scenario(UNCERTAIN)
    draws = pd.DataFrame([draw_parameters(sc.uncertainty, 1, r) for r in range(400)])
    assert draws["cost_elasticity"].between(2, 6).all()
    assert abs(draws["cost_elasticity"].mean() - 4.0) < 0.25  # uniform on [2, 6]
    assert abs(draws["renewal_rate"].mean() - (0.15 + 0.25 + 0.4) / 3) < 0.02  # triangular
    assert draws["russia_premium_usd_per_t"].between(0, 150).all()
    assert abs(draws["vessel_t_per_quarter"].median() / 50_000 - 1) < 0.1  # log-normal median
    assert draws["max_vessels"].between(6, 16).all()


def test_a_negative_replicate_is_refused():
    with pytest.raises(ValueError, match="replicate: must be >= 0, got -1"):
        replicate_sequence(SEED, -1)


def test_draws_are_the_same_for_the_same_seed_and_replicate_only():
    sc = load_scenario(UNCERTAIN)
    assert draw_parameters(sc.uncertainty, SEED, 2) == draw_parameters(sc.uncertainty, SEED, 2)
    assert draw_parameters(sc.uncertainty, SEED, 2) != draw_parameters(sc.uncertainty, SEED, 3)
    assert draw_parameters(sc.uncertainty, SEED + 1, 2) != draw_parameters(sc.uncertainty, SEED, 2)
    assert list(draw_parameters(sc.uncertainty, SEED, 0)) == sorted(sc.uncertainty)
    assert draw_parameters({}, SEED, 0) == {}


def test_parameter_names_and_values():
    assert parameter_name(" parameters.cost_elasticity") == "cost_elasticity"
    assert parameter_name("cost_elasticity") == "cost_elasticity"
    with pytest.raises(
        ValueError, match=r"'cost_elastcity' is not a numeric parameter \(did you mean 'cost_elasticity'\?\)"
    ):
        parameter_name("cost_elastcity")
    with pytest.raises(ValueError, match="'fleet_response' is not a numeric parameter"):
        parameter_name("fleet_response")
    values = parameter_values({"max_vessels": 7.6, "cost_elasticity": np.float32(3)})
    assert values == {"max_vessels": 8, "cost_elasticity": 3.0}
    assert type(values["max_vessels"]) is int and type(values["cost_elasticity"]) is float


def test_param_and_set_take_the_same_names():
    """Every name ``--param`` takes, ``--set`` takes too (bare, or under ``parameters.``), mapped ones too."""
    from corridors.experiments.designs import parse_range
    from corridors.scenario import find_scenario, load_scenario, parse_override
    from corridors.uncertainty import MAPPED_PARAMETERS

    assert "reliability_penalty_days.middle" in MAPPED_PARAMETERS
    assert "power_budgets_usd_m.US" in MAPPED_PARAMETERS
    base = find_scenario("baseline")
    for name in ("cost_elasticity", "reliability_penalty_days.middle", "corridor_constants.sea"):
        assert parse_range(f"{name}=0.5:2")[0] == name
        assert parse_range(f"parameters.{name}=0.5:2")[0] == name
        for key in (name, f"parameters.{name}"):
            sc = load_scenario(base, overrides=dict([parse_override(f"{key}=1.5")]))
            assert sc.parameters().with_values({name: 1.5}) == sc.parameters()
            head, _, entry = name.partition(".")
            value = getattr(sc.parameters(), head)
            assert (value[entry] if entry else value) == 1.5
