"""Tests of :mod:`corridors.tables`: the cell parsers and the readers of CSV, TOML and
``SOURCES.md`` files, whose every error names the file, the place and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from corridors.errors import DataError
from corridors.tables import (
    Col,
    boolean,
    check_ids,
    choice,
    country,
    integer,
    multi_choice,
    number,
    read_table,
    read_toml,
    source_keys,
    text,
)

COLUMNS = (Col("name", text), Col("year", integer(2019, 2100)), Col("note", text, required=False))


def write(tmp_path: Path, content: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_read_table_parses_each_cell_and_keeps_the_lines(tmp_path):
    path = write(tmp_path, "name,year,note,extra\n a ,2020,,x\nb,2030,late,y\n")
    raw, lines = read_table(path, COLUMNS)
    assert raw == {"name": ["a", "b"], "year": [2020, 2030], "note": [None, "late"]}
    assert lines == [2, 3]


def test_read_table_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffname,year,note\na,2020,\n".encode())
    assert read_table(path, COLUMNS)[0]["name"] == ["a"]


@pytest.mark.parametrize(
    ("content", "where", "reason"),
    [
        ("name,note\na,x\n", "header", "missing column(s): year"),
        ("name,year,note\na,2020,\nb,twenty,\n", "line 3, column year", "'twenty' is not an integer"),
        ("name,year,note\na,2018,\n", "line 2, column year", "must be between 2019 and 2100, got 2018"),
        ("name,year,note\n,2020,\n", "line 2, column name", "missing value"),
        ("name,year,note\na,2020,x,surplus\n", "line 2", "more cells than the 3 columns"),
        ("name,year,note\n", None, "no rows"),
    ],
)
def test_read_table_refuses_bad_files_naming_file_place_and_reason(tmp_path, content, where, reason):
    path = write(tmp_path, content)
    with pytest.raises(DataError) as err:
        read_table(path, COLUMNS)
    assert (err.value.file, err.value.where, err.value.reason) == (str(path), where, reason)
    expected = f"{path}: {where}: {reason}" if where else f"{path}: {reason}"
    assert str(err.value) == expected


def test_read_table_of_a_missing_or_undecodable_file(tmp_path):
    with pytest.raises(DataError, match=r"nowhere\.csv: file not found"):
        read_table(tmp_path / "nowhere.csv", COLUMNS)
    path = tmp_path / "latin.csv"
    path.write_bytes("name,year,note\ncaf\xe9,2020,\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv: byte \d+: not UTF-8 text"):
        read_table(path, COLUMNS)


@pytest.mark.parametrize(
    ("parse", "cell", "value"),
    [
        (number(), "-1.5", -1.5),
        (number(0.0), "0", 0.0),
        (number(positive=True), "2e3", 2000.0),
        (integer(1, 4), "4", 4),
        (boolean, " Yes ", True),
        (boolean, "0", False),
        (choice(("H", "M", "L")), "M", "M"),
        (country, "KZ", "KZ"),
        (multi_choice(("a", "b", "c")), "a; c;", ("a", "c")),
    ],
)
def test_parsers_accept_good_cells(parse, cell, value):
    assert parse(cell) == value


@pytest.mark.parametrize(
    ("parse", "cell", "reason"),
    [
        (number(), "ten", "'ten' is not a number"),
        (number(), "inf", "'inf' is not a finite number"),
        (number(0.0), "-1", "must be >= 0, got -1"),
        (number(positive=True), "0", "must be > 0, got 0"),
        (integer(1, 4), "2.5", "'2.5' is not an integer"),
        (integer(1, 4), "5", "must be between 1 and 4, got 5"),
        (boolean, "maybe", "'maybe' is not true or false"),
        (choice(("H", "M", "L")), "h", "'h' is not one of H, M, L"),
        (country, "KAZ", "'KAZ' is not an ISO 3166 alpha-2 code"),
        (multi_choice(("a", "b")), "a;z", "must be ';'-separated values from a, b"),
        (multi_choice(("a", "b")), ";", "must be ';'-separated values from a, b"),
    ],
)
def test_parsers_refuse_bad_cells_saying_why(parse, cell, reason):
    with pytest.raises(ValueError) as err:
        parse(cell)
    assert reason in str(err.value)


def test_check_ids_names_the_first_line_out_of_order(tmp_path):
    path = tmp_path / "nodes.csv"
    check_ids(path, [0, 1, 2], [2, 3, 4])
    with pytest.raises(DataError) as err:
        check_ids(path, [0, 2, 1], [2, 3, 4])
    assert err.value.where == "line 3, column id" and "got 2" in err.value.reason


def test_source_keys_are_the_headings_of_levels_2_to_4(tmp_path):
    path = write(
        tmp_path, "# S-top\n## S-two\n### A-three.x\n#### S-four_4\n##### S-five\ntext S-six\n", "SOURCES.md"
    )
    assert source_keys(path) == {"S-two", "A-three.x", "S-four_4"}
    with pytest.raises(DataError, match="file not found"):
        source_keys(tmp_path / "NONE.md")


def test_read_toml_names_the_file_of_bad_toml(tmp_path):
    assert read_toml(write(tmp_path, 'a = 1\n[b]\nc = "d"\n', "ok.toml")) == {"a": 1, "b": {"c": "d"}}
    bad = write(tmp_path, "a = = 1\n", "bad.toml")
    with pytest.raises(DataError) as err:
        read_toml(bad)
    assert err.value.file == str(bad) and err.value.reason.startswith("not valid TOML")
    with pytest.raises(DataError, match="file not found"):
        read_toml(tmp_path / "none.toml")
