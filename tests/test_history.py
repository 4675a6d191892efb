"""Tests of :mod:`corridors.history`: the observed history of ``history.csv``.

The history must hold one series per observable, only 2019-2023, and name the file, line
and column of any bad cell.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from corridors import history as history_module
from corridors.errors import DataError
from corridors.history import definition, load_history, observed
from corridors.network import default_data_dir
from corridors.results import OBSERVABLES


def test_history_holds_the_observed_series():
    hist = load_history()
    assert list(hist.columns) == ["series", "year", "value", "unit", "scope", "source"]
    assert set(hist["series"]) == set(OBSERVABLES), "one observed series per observable"
    assert hist["year"].between(2019, 2023).all()
    for series, rows in hist.groupby("series"):
        assert set(rows["unit"]) == {OBSERVABLES[series].unit}, series
        assert len({definition(s) for s in rows["scope"]}) == 1, f"{series}: one definition"
        assert not rows["year"].duplicated().any()
    values = hist.set_index(["series", "year"])["value"]
    assert values["middle_corridor_t", 2019] == 759_000
    assert values["middle_corridor_t", 2023] == 2_764_000
    assert values["northern_transit_teu", 2022] == 410_600
    assert values["northern_transit_teu", 2023] == 211_100
    assert values["middle_kz_share", 2022] == 0.60
    assert values["middle_transit_days", 2023] == 23
    assert values["middle_teu", 2021] == 25_200
    # issue 15: the series on the data's scope (demand_facts.md sections 3-7, corridor_facts A)
    assert values["baku_port_no_trucks_t", 2019] == 3_249_000  # 4.057 Mt less ~33,800 trucks x 23.9 t
    assert values["baku_port_no_trucks_t", 2021] == 4_658_000
    assert (2022, "baku_port_no_trucks_t") not in {(y, s) for s, y in values.index}, "no 2022 truck count"
    assert values["baku_port_teu", 2023] == 43_900
    assert values["ady_east_west_t", 2022] == 3_900_000  # the East-West corridor, not all ADY transit
    assert values["gr_transit_t", 2023] == 7_700_000
    assert values["aktau_oil_t", 2022] == 250_000
    assert values["kz_china_rail_t", 2023] == 28_000_000
    assert values["kz_transit_t", 2019] == 17_500_000
    assert values["iran_route_t", 2023] == 650_000
    assert values["middle_oil_share", 2023] == 0.5
    assert (2021, "gr_transit_t") not in {(y, s) for s, y in values.index}, "no 2021 Georgian figure"


def test_derived_values_say_so():
    """A value the research derived from a growth rate is marked so, with its confidence (L)."""
    hist = load_history().set_index(["series", "year"])
    for key in [
        ("ady_east_west_t", 2021), ("baku_port_no_trucks_t", 2019), ("gr_transit_t", 2019),
        ("kz_china_rail_t", 2021), ("kz_transit_t", 2021),
    ]:  # fmt: skip
        scope = hist.loc[key, "scope"]
        assert "derived" in scope and "confidence L" in scope, key


def test_observed_series_by_year():
    s = observed(load_history(), "northern_transit_teu")
    assert list(s.index) == [2019, 2020, 2021, 2022, 2023]
    assert observed(load_history(), "no_such_series").empty


def _data_dir(tmp_path: Path, replace: tuple[str, str] | None = None, append: str | None = None) -> Path:
    for name in ("history.csv", "SOURCES.md"):
        shutil.copy(default_data_dir() / name, tmp_path / name)
    path = tmp_path / "history.csv"
    text = path.read_text()
    if replace is not None:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1], 1)
    if append is not None:
        text += append
    path.write_text(text)
    return tmp_path


ROW = "middle_corridor_t,2023,2764000,t/yr,"
APPENDED = len((default_data_dir() / "history.csv").read_text().splitlines()) + 1  # an appended row's line
SCOPE = '"Total freight on the Middle Corridor (TITR) through Kazakhstan, oil and bulk included (Kazakh Ministry of Transport series)"'


@pytest.mark.parametrize(
    ("case", "edit", "expected"),
    [
        ("later-year", {"append": f"middle_corridor_t,2024,3000000,t/yr,{SCOPE},S-titr-volume\n"},
         [f"line {APPENDED}", "column year", "2024", "2019-2023"]),
        ("earlier-year", {"replace": ("middle_corridor_t,2019,", "middle_corridor_t,2018,")},
         ["line 2", "column year", "2018"]),
        ("bad-number", {"replace": (ROW, "middle_corridor_t,2023,2.7 Mt,t/yr,")},
         ["line 6", "column value", "'2.7 Mt' is not a number"]),
        ("not-finite", {"replace": (ROW, "middle_corridor_t,2023,nan,t/yr,")}, ["line 6", "column value", "finite"]),
        ("negative", {"replace": (ROW, "middle_corridor_t,2023,-1,t/yr,")}, ["line 6", "column value", ">= 0"]),
        ("missing-value", {"replace": (ROW, "middle_corridor_t,2023,,t/yr,")}, ["line 6", "column value", "missing"]),
        ("duplicate", {"append": f"middle_corridor_t,2023,1,t/yr,{SCOPE},S-titr-volume\n"},
         [f"line {APPENDED}", "duplicate middle_corridor_t for 2023"]),
        ("unit-changes", {"replace": (ROW, "middle_corridor_t,2023,2764,kt/yr,")}, ["line 6", "column unit", "one unit"]),
        ("scope-changes", {"replace": (f"2764000,t/yr,{SCOPE}", "2764000,t/yr,Seaports only")},
         ["line 6", "column scope", "one definition"]),
        ("share-above-1", {"replace": ("middle_kz_share,2022,0.60", "middle_kz_share,2022,60")},
         ["column value", "share must be <= 1"]),
        ("unknown-source", {"replace": (f"{SCOPE},S-titr-volume\nnorthern", f"{SCOPE},S-nowhere\nnorthern")},
         ["line 6", "column source", "S-nowhere"]),
        ("bad-series-name", {"replace": ("middle_teu,2021", "Middle TEU,2021")}, ["column series", "series name"]),
    ],
)  # fmt: skip
def test_history_errors_name_file_line_and_column(tmp_path: Path, case: str, edit: dict, expected: list[str]):
    root = _data_dir(tmp_path, **edit)
    with pytest.raises(DataError) as err:
        load_history(root)
    message = str(err.value)
    assert str(root / "history.csv") in message
    assert err.value.file == str(root / "history.csv")
    for part in expected:
        assert part in message, f"{case}: {part!r} not in {message!r}"


def test_history_missing_file(tmp_path: Path):
    shutil.copy(default_data_dir() / "SOURCES.md", tmp_path / "SOURCES.md")
    with pytest.raises(DataError, match=r"history\.csv: file not found"):
        load_history(tmp_path)


def test_history_years_are_the_observed_window():
    assert (history_module.BASE_YEAR, history_module.LAST_OBSERVED_YEAR) == (2019, 2023)
