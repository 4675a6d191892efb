"""Tests of :mod:`corridors.vocabulary`: quarter labels and steps, and the shared names."""

from __future__ import annotations

import doctest

import pytest

from corridors import vocabulary
from corridors.vocabulary import BASE_YEAR, C5, CORRIDORS, LAST_YEAR, quarter_index, quarter_label, step_year


@pytest.mark.parametrize(
    ("label", "step"),
    [("2019Q1", 0), ("2019Q4", 3), ("2022Q1", 12), ("2022Q3", 14), ("2035Q4", 67), ("2100Q4", 327)],
)
def test_quarter_index(label, step):
    assert quarter_index(label) == step
    assert quarter_label(step) == label


@pytest.mark.parametrize("label", ["2022q3", " 2022Q3 ", "2022-Q3", "2022 Q3", "2022 - Q3"])
def test_quarter_index_accepts_spellings(label):
    assert quarter_index(label) == 14


def test_bare_year_is_first_quarter_or_last_for_an_end():
    assert quarter_index(2022) == quarter_index("2022") == 12
    assert quarter_index(2022, end=True) == quarter_index("2022", end=True) == 15
    assert quarter_index("2022Q2", end=True) == 13  # an explicit quarter stays what it says


def test_quarter_label_round_trips():
    for step in range(0, 4 * 82):
        assert quarter_index(quarter_label(step)) == step


@pytest.mark.parametrize(
    "label", ["2022Q5", "2022Q0", "22Q1", "Q1 2022", "abc", "", "2022Q", "2022.5", "20221"]
)
def test_bad_quarter_labels_raise(label):
    with pytest.raises(ValueError, match="quarter"):
        quarter_index(label)


@pytest.mark.parametrize("label", ["2018Q4", 2018, "2101", 1999])
def test_years_outside_range_raise(label):
    with pytest.raises(ValueError, match="outside 2019-2100"):
        quarter_index(label)


def test_step_year_is_the_year_of_a_step():
    assert step_year(0) == BASE_YEAR
    assert step_year(14) == 2022
    assert quarter_label(quarter_index(LAST_YEAR, end=True)) == f"{LAST_YEAR}Q4"


def test_shared_names_are_distinct():
    for names in (C5, CORRIDORS):
        assert len(set(names)) == len(names)


def test_examples_in_the_docstrings_hold():
    assert doctest.testmod(vocabulary).failed == 0
