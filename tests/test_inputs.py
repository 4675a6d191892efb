"""Tests of :mod:`corridors.inputs`: the packaged trade, projects, pipelines and sea rates
(``load_inputs``, :class:`~corridors.inputs.Inputs`), their quarterly sea rates, and the
checks that name the file, line and column of a bad cell."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import pytest

from corridors.errors import DataError
from corridors.inputs import Inputs, load_inputs
from corridors.network import Network, default_data_dir

DATA = default_data_dir()
INPUT_FILES = (
    "trade.csv",
    "projects.csv",
    "pipelines.csv",
    "sea_rates.csv",
    "demand_index.csv",
    "SOURCES.md",
)
# S-drewry-wci, A-cape-detour: 28 quarters 2019Q1-2025Q4; the Red Sea diversion from 2023Q4.
SEA_RATE_QUARTERS = 28
CAPE_DETOUR_FROM = (2023, 4)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def copy_inputs(tmp_path: Path) -> Path:
    """A copy of the files ``load_inputs`` reads."""
    for name in INPUT_FILES:
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_sea_rates():
    rates = read_rows(DATA / "sea_rates.csv")
    assert len(rates) == SEA_RATE_QUARTERS
    quarters = [(int(r["year"]), int(r["quarter"])) for r in rates]
    assert quarters == [(y, q) for y in range(2019, 2026) for q in range(1, 5)]
    for r, yq in zip(rates, quarters, strict=True):
        usd = float(r["usd_per_feu"])
        assert math.isfinite(usd) and usd > 0
        detour = float(r["cape_detour_days"])
        assert detour >= 0
        if yq < CAPE_DETOUR_FROM:
            assert detour == 0, yq
        else:
            assert detour > 0, yq
        assert r["confidence"] in ("H", "M", "L")


def test_packaged_inputs_follow_their_files(inputs: Inputs):
    assert len(inputs.trade) == len(read_rows(DATA / "trade.csv"))
    assert len(inputs.projects) == len(read_rows(DATA / "projects.csv"))
    assert len(inputs.pipelines) == len(read_rows(DATA / "pipelines.csv"))
    assert len(inputs.sea_rates) == SEA_RATE_QUARTERS
    first = read_rows(DATA / "projects.csv")[0]
    assert inputs.projects["edges"].iloc[0] == tuple(int(e) for e in first["edges"].split(";"))
    keys = inputs.trade[["origin", "market", "commodity", "direction"]]
    assert not keys.duplicated().any()


def test_sea_rate_holds_the_last_quarter_after_the_data(inputs: Inputs):
    rates = read_rows(DATA / "sea_rates.csv")
    assert inputs.sea_rate(0) == (float(rates[0]["usd_per_feu"]), float(rates[0]["cape_detour_days"]))
    last = (float(rates[-1]["usd_per_feu"]), float(rates[-1]["cape_detour_days"]))
    assert inputs.sea_rate(SEA_RATE_QUARTERS - 1) == last
    assert inputs.sea_rate(SEA_RATE_QUARTERS + 40) == last


def test_with_sea_rates_replaces_from_a_quarter_on_and_extends(inputs: Inputs):
    assert inputs.with_sea_rates({}) is inputs
    end = SEA_RATE_QUARTERS + 3
    changed = inputs.with_sea_rates({4: (3000.0, 1.0), end: (5000.0, 12.0)})
    assert len(changed.sea_rates) == end + 1 and len(inputs.sea_rates) == SEA_RATE_QUARTERS
    assert changed.sea_rate(3) == inputs.sea_rate(3)
    assert changed.sea_rate(4) == changed.sea_rate(end - 1) == (3000.0, 1.0)
    assert changed.sea_rate(end) == changed.sea_rate(end + 10) == (5000.0, 12.0)
    assert list(changed.sea_rates["source"].iloc[4:]) == ["scenario"] * (end - 3)
    assert list(changed.sea_rates[["year", "quarter"]].iloc[end]) == [2026, 4]
    assert changed.trade is inputs.trade and changed.projects is inputs.projects


def test_a_copy_of_the_packaged_inputs_loads_the_same(tmp_path: Path, network: Network, inputs: Inputs):
    copy = load_inputs(network, copy_inputs(tmp_path))
    for name in ("trade", "projects", "pipelines", "sea_rates"):
        assert getattr(copy, name).equals(getattr(inputs, name)), name


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        ("trade.csv", "astana,market_russia,metals_ores,export,10300000",
         "atlantis,market_russia,metals_ores,export,10300000", ["line 2, column origin", "unknown node 'atlantis'"]),
        ("trade.csv", "metals_ores,export,10300000,0.02,0.1,", "metals_ores,export,10300000,0.02,1.5,",
         ["line 2, column state_controlled_share", "must be <= 1"]),
        ("trade.csv", "metals_ores,export,10300000", "metals_ores,export,-1", ["line 2, column tonnes_2019", ">= 0"]),
        ("trade.csv", "metals_ores,export,10300000", "metals_ores,sideways,10300000",
         ["line 2, column direction", "'sideways' is not one of"]),
        ("projects.csv", "btk_upgrade,Baku-Tbilisi-Kars railway upgrade (1 -> 5 Mt/yr),139;140,",
         "btk_upgrade,Baku-Tbilisi-Kars railway upgrade (1 -> 5 Mt/yr),139;99999,",
         ["line 2, column edges", "[99999] not in edges.csv"]),
        ("projects.csv", ",139;140,capacity,", ",139;x,capacity,", ["line 2, column edges", "not a ';'-list"]),
        ("pipelines.csv", "cpc,56,", "cpc,0,", ["line 2, column edge", "edge 0 is not a pipeline"]),
        ("sea_rates.csv", "2019,2,1419,", "2019,3,1419,", ["columns year, quarter", "without gaps"]),
        ("sea_rates.csv", "2019,1,1943,0,L,S-drewry-wci", "2019,1,1943,0,L,S-nowhere",
         ["line 2, column source", "S-nowhere", "SOURCES.md"]),
    ],
)  # fmt: skip
def test_bad_inputs_name_the_file_line_and_column(tmp_path, network, name, old, new, expected):
    root = copy_inputs(tmp_path)
    replace_once(root / name, old, new)
    with pytest.raises(DataError) as err:
        load_inputs(network, root)
    assert err.value.file == str(root / name)
    message = str(err.value)
    assert message.startswith(f"{root / name}: ") and "\n" not in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_a_missing_input_file_is_named(tmp_path, network):
    root = copy_inputs(tmp_path)
    (root / "projects.csv").unlink()
    with pytest.raises(DataError, match=r"projects\.csv: file not found"):
        load_inputs(network, root)
