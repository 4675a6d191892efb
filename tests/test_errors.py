"""Tests of :mod:`corridors.errors`: each error carries its file, place and reason and prints
them on one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from corridors.errors import CorridorsError, DataError, ScenarioError


@pytest.mark.parametrize("kind", [CorridorsError, DataError, ScenarioError])
def test_an_error_carries_file_where_and_reason(kind):
    err = kind(Path("data") / "edges.csv", "line 4, column year", "must be >= 2019, got 2018")
    assert (err.file, err.where, err.reason) == (
        "data/edges.csv",
        "line 4, column year",
        "must be >= 2019, got 2018",
    )
    assert str(err) == "data/edges.csv: line 4, column year: must be >= 2019, got 2018"
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    ("file", "where", "message"),
    [
        ("a.toml", None, "a.toml: bad"),
        (None, "field x", "field x: bad"),
        (None, None, "bad"),
        ("a.toml", "", "a.toml: bad"),
    ],
)
def test_missing_parts_are_left_out_of_the_message(file, where, message):
    err = ScenarioError(file, where, "bad")
    assert str(err) == message
    assert err.file == file and err.where == where and err.reason == "bad"


def test_the_errors_are_value_errors_and_corridors_errors():
    assert issubclass(DataError, CorridorsError) and issubclass(ScenarioError, CorridorsError)
    assert not issubclass(DataError, ScenarioError) and not issubclass(ScenarioError, DataError)
    with pytest.raises(ValueError, match=r"^x\.csv: line 2: no$"):
        raise DataError("x.csv", "line 2", "no")
