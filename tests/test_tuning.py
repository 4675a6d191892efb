"""Tests of :mod:`corridors.tuning`: each lever moves the run the way it should, from when it
should (what the sliders of notebooks/02_tune_parameters.ipynb call, exercised here without a
browser). The tuner's figure, and how an update redraws it, are tested in tests/test_plots.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import corridors
from corridors.results import Results
from corridors.scenario import find_scenario
from corridors.tuning import LEVERS, Tuner

END = 2027  # the sanctions act from 2022, the levers of 2026 on have two years to show


@pytest.fixture(scope="module")
def tuner() -> Tuner:
    """A tuner whose levers stay at their defaults (tests use ``run``, never ``update``)."""
    return Tuner("baseline", end_year=END)


def _volumes(res: Results) -> pd.DataFrame:
    """Mt/yr: index year, one column per corridor."""
    return res.annual_volumes().pivot(index="year", columns="corridor", values="volume_t") / 1e6


def _before_and_after(tuner: Tuner, year: int, **values: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reference, changed) annual volumes; the years before ``year`` must be identical."""
    ref, new = _volumes(tuner.reference), _volumes(tuner.run(**values))
    assert_frame_equal(new.loc[: year - 1], ref.loc[: year - 1])
    return ref.loc[year:], new.loc[year:]


def test_levers_at_their_defaults_give_the_scenario_as_it_is(tuner: Tuner) -> None:
    sc = corridors.load_scenario(find_scenario("baseline"))
    plain = corridors.run(sc, end_year=END, stochastic=False)
    assert_frame_equal(tuner.reference.corridors, plain.corridors)
    assert tuner.changes() == {}


def _low_and_high(
    tuner: Tuner, name: str, low: float, high: float, year: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Annual volumes with lever ``name`` at ``low`` and at ``high``: identical before ``year``."""
    a, b = _volumes(tuner.run(**{name: low})), _volumes(tuner.run(**{name: high}))
    assert_frame_equal(a.loc[: year - 1], b.loc[: year - 1])
    return a.loc[year:], b.loc[year:]


def test_a_higher_russia_premium_lowers_russian_volume_from_2022(tuner: Tuner) -> None:
    low, high = _low_and_high(tuner, "russia_premium_usd_per_t", 0.0, 200.0, 2022)
    assert (high["russian"] < low["russian"] - 0.1).all()
    assert (high["sea"] + high["middle"] > low["sea"] + low["middle"]).all()


def test_a_larger_avoidance_share_lowers_russian_volume_from_2022(tuner: Tuner) -> None:
    low, high = _low_and_high(tuner, "russia_avoidance_share", 0.0, 1.0, 2022)
    assert (high["russian"] < low["russian"] - 0.1).all()


def test_caspian_investment_raises_middle_volume_from_its_year(tuner: Tuner) -> None:
    ref, new = _before_and_after(tuner, 2026, caspian_capacity_factor=3.0, caspian_investment_year=2026)
    assert (new["middle"] > ref["middle"] + 0.05).all()


def test_caspian_investment_after_the_horizon_changes_nothing(tuner: Tuner) -> None:
    late = tuner.run(caspian_capacity_factor=3.0, caspian_investment_year=END + 1)
    assert_frame_equal(late.corridors, tuner.reference.corridors)


def test_dearer_sea_freight_moves_freight_to_land_from_2026(tuner: Tuner) -> None:
    ref, new = _before_and_after(tuner, 2026, sea_rate_factor=2.0)
    assert (new["sea"] < ref["sea"] - 0.1).all()
    assert (new["middle"] + new["russian"] > ref["middle"] + ref["russian"]).all()


def test_cheaper_sea_freight_moves_freight_to_sea(tuner: Tuner) -> None:
    ref, new = _before_and_after(tuner, 2026, sea_rate_factor=0.5)
    assert (new["sea"] > ref["sea"] + 0.1).all()


def test_lower_alignment_with_russia_lowers_russian_volume(tuner: Tuner) -> None:
    ref, new = _volumes(tuner.reference), _volumes(tuner.run(alignment_russia_shift=-0.5))
    assert new.loc[END, "russian"] < ref.loc[END, "russian"] - 0.05


def test_alignment_shifts_apply_to_the_five_within_bounds(tuner: Tuner) -> None:
    _, params, _ = tuner.inputs(alignment_west_shift=0.5, alignment_russia_shift=-0.5)
    base = tuner.scenario.parameters().alignment
    for state in ("KZ", "KG", "TJ", "TM", "UZ"):
        assert params.alignment[state]["west"] == pytest.approx(min(1.0, base[state]["west"] + 0.5))
        assert params.alignment[state]["russia"] == pytest.approx(max(0.0, base[state]["russia"] - 0.5))
        assert params.alignment[state]["china"] == base[state]["china"]
    assert params.alignment["CN"] == base["CN"]


def test_cost_elasticity_changes_the_shares_from_the_start(tuner: Tuner) -> None:
    low, high = _low_and_high(tuner, "cost_elasticity", 2.0, 12.0, 2019)
    assert not np.allclose(low.to_numpy(), high.to_numpy(), rtol=1e-3)


@pytest.mark.parametrize(
    ("values", "message"),
    [({"russia_premium": 10.0}, "unknown lever"), ({"sea_rate_factor": 10.0}, "outside")],
)
def test_bad_lever_values_are_rejected_by_name(tuner: Tuner, values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tuner.run(**values)


def test_every_lever_default_lies_in_its_range(tuner: Tuner) -> None:
    for lever in LEVERS.values():
        assert lever.low <= lever.default <= lever.high, lever.name
    assert set(tuner.levers) == set(LEVERS)
    for name, lever in tuner.levers.items():  # the scenario's (fitted) values, ranges widened to hold them
        assert lever.low <= tuner.defaults[name] == lever.default <= lever.high, name
    assert tuner.defaults["cost_elasticity"] == tuner.scenario.parameters().cost_elasticity
