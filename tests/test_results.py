"""Tests of a run's results, :mod:`corridors.results`: tables, views, observables,
indicators, and saving and loading run directories.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import corridors
from corridors.results import EXPLAIN_TABLES, MAP_TABLES, OBSERVABLES, TABLES, Results, load_results
from corridors.vocabulary import CORRIDORS

FIRST, LAST = 2019, 2027
SUMMARY_KEYS = {
    "first_year", "last_year", "volume_t_last_year", "share_last_year", "middle_overtakes_russian_year",
    "russian_dependence_last_year", "herfindahl_last_year", "critical_minerals_to_west_t_last_year",
    "mean_time_days_last_year", "max_backlog_t",
}  # fmt: skip


@pytest.fixture(scope="module")
def res() -> Results:
    """A stochastic run through the public API."""
    return corridors.run(seed=3, end_year=LAST)


# ============================================================================ tables


def _has_columns(table: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    assert not missing, f"missing columns {missing}"


def test_tables_have_their_columns(res):
    _has_columns(res.corridors, [
        "step", "year", "quarter", "corridor", "volume_t", "demand_t", "backlog_t", "share",
        "cost_usd_per_t", "time_days", "utilisation",
    ])  # fmt: skip
    _has_columns(res.countries, [
        "step", "year", "quarter", "country", "commodity", "market", "direction", "corridor", "volume_t", "share",
    ])  # fmt: skip
    _has_columns(res.edges, [
        "step", "year", "quarter", "edge", "flow_t", "load_t", "capacity_t", "utilisation", "time_h", "wait_days",
    ])  # fmt: skip
    assert list(res.decisions.columns) == ["step", "agent", "decision", "detail"]
    _has_columns(
        res.policy,
        ["step", "year", "quarter", "russia_tariff_factor", "caspian_vessels", "sea_rate_usd_per_feu"],
    )
    _has_columns(res.pipelines, ["step", "year", "quarter", "pipeline", "volume_t"])


def test_pipelines_are_reported_separately(res):
    p = res.pipelines
    assert len(p) > 0
    assert p["volume_t"].ge(0).all()
    assert not set(p["pipeline"]) & set(res.corridors["corridor"])
    assert set(res.corridors["corridor"]) == set(CORRIDORS)


def test_tables_cover_every_step(res):
    steps = (LAST - FIRST + 1) * 4
    assert len(res.corridors) == steps * len(CORRIDORS)
    assert len(res.policy) == steps
    for name in ("corridors", "countries", "edges", "policy"):
        t = getattr(res, name)
        assert sorted(t["step"].unique()) == list(range(steps)), name
        np.testing.assert_array_equal(t["year"], 2019 + t["step"] // 4)
        np.testing.assert_array_equal(t["quarter"], t["step"] % 4 + 1)


def test_country_table_adds_up_to_the_corridor_table(res):
    by = res.countries.groupby(["step", "corridor"])["volume_t"].sum()
    c = res.corridors.set_index(["step", "corridor"])["volume_t"]
    np.testing.assert_allclose(by.reindex(c.index).to_numpy(), c.to_numpy(), rtol=1e-12, atol=1e-6)


def test_country_shares_are_distributions(res):
    c = res.countries
    assert c["share"].between(0, 1).all()
    total = c.groupby(["step", "country", "commodity", "market", "direction"])["share"].sum()
    assert (np.isclose(total, 1.0, rtol=0, atol=1e-12) | (total == 0)).all()


# ============================================================================ views


def test_annual_volumes(res):
    a = res.annual_volumes()
    assert list(a.columns) == ["year", "corridor", "volume_t"]
    assert len(a) == (LAST - FIRST + 1) * len(CORRIDORS)
    assert list(a["year"].unique()) == list(range(FIRST, LAST + 1))
    for _, g in a.groupby("year"):
        assert list(g["corridor"]) == list(CORRIDORS)
    expected = res.corridors.groupby(["year", "corridor"])["volume_t"].sum()
    got = a.set_index(["year", "corridor"])["volume_t"]
    np.testing.assert_allclose(got.to_numpy(), expected.reindex(got.index).to_numpy(), rtol=1e-12)
    assert a["volume_t"].ge(0).all()


def test_annual_shares_sum_to_one(res):
    s = res.annual_shares()
    assert list(s.columns) == ["year", "corridor", "share"]
    np.testing.assert_allclose(s.groupby("year")["share"].sum(), 1.0, rtol=1e-12)


@pytest.mark.parametrize("name", list(OBSERVABLES))
def test_observables(res, name):
    s = res.observable(name)
    assert isinstance(s, pd.Series)
    assert s.name == name
    assert s.index.name == "year"
    assert list(s.index) == list(range(FIRST, LAST + 1))
    assert np.isfinite(s.to_numpy(float)).all()
    assert (s >= 0).all()
    if name != "iran_route_t":  # the baseline carries nothing on the Etrek-Tehran crossing (issue 15)
        assert (s > 0).any()
    if OBSERVABLES[name].unit == "share":
        assert (s <= 1).all()


def test_observables_match_the_tables(res):
    t_per_teu = res.meta["t_per_teu"]
    c = res.countries
    north = c[(c["direction"] == "transit") & (c["corridor"] == "russian")].groupby("year")["volume_t"].sum()
    np.testing.assert_allclose(res.observable("northern_transit_teu"), north / t_per_teu, rtol=1e-12)
    mid = c[(c["corridor"] == "middle") & (c["commodity"] == "containers")].groupby("year")["volume_t"].sum()
    np.testing.assert_allclose(res.observable("middle_teu"), mid / t_per_teu, rtol=1e-12)


def test_unknown_observable_raises_key_error_naming_it(res):
    with pytest.raises(KeyError, match="no_such_series"):
        res.observable("no_such_series")


def _pandas_observable(res: Results, name: str) -> pd.Series:
    """The definition of an observable, computed with pandas filtering and groupby."""
    c, t_per_teu = res.countries, res.meta["t_per_teu"]
    transit = c[c["direction"] == "transit"]
    sets = res.meta.get("observed_edges", {})

    def on(edge_ids, column="flow_t"):
        return res.edges[res.edges["edge"].isin(edge_ids)].groupby("year")[column].sum()

    years = sorted(res.corridors["year"].unique())
    if name == "middle_corridor_t":
        s = on(res.meta["kz_caspian_edges"])
    elif name == "northern_transit_teu":
        s = transit[transit["corridor"] == "russian"].groupby("year")["volume_t"].sum() / t_per_teu
    elif name == "middle_kz_share":
        mid = c[(c["corridor"] == "middle") & (c["country"] == "KZ") & (c["direction"] == "export")]
        kz = mid.groupby("year")["volume_t"].sum()
        across = _pandas_observable(res, "middle_corridor_t")
        s = (kz.reindex(across.index, fill_value=0.0) / across.where(across > 0)).clip(upper=1.0).fillna(0.0)
    elif name == "middle_transit_days":
        k = transit[(transit["corridor"] == "middle") & (transit["market"] == "market_eu")]
        w = k["volume_t"]
        s = (k["time_days"].fillna(0.0) * w).groupby(k["year"]).sum() / w.groupby(k["year"]).sum()
        s = s.where(np.isfinite(s))
    elif name == "middle_teu":
        s = on(res.meta["kz_caspian_edges"], "container_flow_t") / t_per_teu
    elif name == "middle_oil_share":
        oil = _pandas_observable(res, "aktau_oil_t")
        across = _pandas_observable(res, "middle_corridor_t")
        s = (oil / across.where(across > 0)).clip(upper=1.0).fillna(0.0)
    elif name == "baku_port_teu":
        s = on(sets["baku_caspian"], "container_flow_t") / t_per_teu
    elif name == "kz_transit_t":
        imports = c[(c["country"] == "KZ") & (c["direction"] == "import")].groupby("year")["volume_t"].sum()
        s = on(sets["kz_entries"]).reindex(years, fill_value=0.0) - imports.reindex(years, fill_value=0.0)
    else:
        edge_set = {
            "aktau_oil_t": "kz_caspian_crude",
            "baku_port_no_trucks_t": "baku_caspian",
            "ady_east_west_t": "az_rail_transit",
            "gr_transit_t": "ge_rail_transit",
            "kz_china_rail_t": "kz_cn_rail",
            "iran_route_t": "iran_route",
        }[name]
        s = on(sets[edge_set])
    s = s.reindex(years, fill_value=np.nan if name == "middle_transit_days" else 0.0)
    s.name = name
    s.index.name = "year"
    return s


def _altered(res: Results, how: str) -> Results:
    """A copy of a run's results with some numbers or the order of the rows changed."""
    rng = np.random.default_rng(0)
    tables = {name: getattr(res, name).copy() for name in TABLES}
    countries, edges = tables["countries"], tables["edges"]
    if how == "nan":  # NaN volumes and flows: pandas adds each year's rows with Kahan summation
        countries.loc[rng.random(len(countries)) < 0.05, "volume_t"] = np.nan
        edges.loc[rng.random(len(edges)) < 0.05, "flow_t"] = np.nan
    elif how == "shuffled":  # years out of order
        tables["countries"] = countries.sample(frac=1.0, random_state=1).reset_index(drop=True)
        tables["edges"] = edges.sample(frac=1.0, random_state=1).reset_index(drop=True)
    elif how == "object text":  # text columns of Python strings, some missing
        for column in ("country", "market", "direction", "corridor"):
            countries[column] = countries[column].astype(object)
        countries.loc[countries.index % 7 == 0, "direction"] = None
    elif how == "gaps":  # a year without rows, no edges across the Caspian, negative zeros
        tables["countries"] = countries[countries["year"] != FIRST + 1].reset_index(drop=True)
        edges["flow_t"] = np.where(rng.random(len(edges)) < 0.5, -0.0, edges["flow_t"])
    out = Results(**tables, meta=dict(res.meta))
    if how == "gaps":
        out.meta["kz_caspian_edges"] = []
        out.meta["observed_edges"] = {**res.meta["observed_edges"], "baku_caspian": []}
    return out


@pytest.mark.parametrize("how", ["as run", "trimmed", "loaded", "nan", "shuffled", "object text", "gaps"])
def test_observables_are_their_pandas_definition(res, tmp_path, how):
    if how == "trimmed":
        res = res.trimmed(FIRST + 3)
    elif how == "loaded":
        res = load_results(res.save(tmp_path / "run"))
    elif how != "as run":
        res = _altered(res, how)
    for name in OBSERVABLES:
        got, expected = res.observable(name), _pandas_observable(res, name)
        pd.testing.assert_series_equal(got, expected, check_exact=True, check_index_type=True)
        assert np.array_equal(got.to_numpy(), expected.to_numpy(), equal_nan=True)  # -0.0 == 0.0: check signs
        assert np.array_equal(np.signbit(got.to_numpy()), np.signbit(expected.to_numpy())), name
    years, values = res._observable_values(OBSERVABLES)
    for name in OBSERVABLES:
        np.testing.assert_array_equal(values[name], res.observable(name).to_numpy())
    assert list(years) == sorted(res.corridors["year"].unique())


def test_observables_follow_tables_edited_in_place(res):
    """The masks of a text column kept for its Arrow array are not those of an edited column."""
    copy = Results(**{name: getattr(res, name).copy() for name in TABLES}, meta=dict(res.meta))
    before = {name: copy.observable(name) for name in OBSERVABLES}
    for name in OBSERVABLES:
        pd.testing.assert_series_equal(before[name], res.observable(name), check_exact=True)
    c = copy.countries
    c.loc[(c["direction"] == "transit") & (c["year"] == FIRST + 2), "direction"] = "export"
    c.loc[(c["corridor"] == "middle") & (c["year"] == FIRST + 3), "corridor"] = "russian"
    for name in OBSERVABLES:
        pd.testing.assert_series_equal(
            copy.observable(name), _pandas_observable(copy, name), check_exact=True
        )
    assert not copy.observable("northern_transit_teu").equals(before["northern_transit_teu"])
    assert not copy.observable("middle_transit_days").equals(before["middle_transit_days"])


def test_summary(res):
    s = res.summary
    assert set(s) >= SUMMARY_KEYS
    assert (s["first_year"], s["last_year"]) == (FIRST, LAST)
    assert set(s["share_last_year"]) == set(CORRIDORS)
    assert math.isclose(sum(s["share_last_year"].values()), 1.0, rel_tol=1e-12)
    last = res.annual_volumes().query("year == @LAST").set_index("corridor")["volume_t"]
    for k, v in s["volume_t_last_year"].items():
        assert v == pytest.approx(last[k], rel=1e-12)
    for table in (s["russian_dependence_last_year"], s["herfindahl_last_year"]):
        assert set(table) == {"KZ", "KG", "TJ", "TM", "UZ"}
        assert all(0 <= v <= 1 for v in table.values())
    assert s["max_backlog_t"] == pytest.approx(res.corridors["backlog_t"].max())
    assert s["critical_minerals_to_west_t_last_year"] >= 0
    json.dumps(s)  # plain JSON types


def _agree(got, expected, path="summary"):
    """Nested indicators agree: the same keys in the same order, numbers to 1e-12 relative."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and list(got) == list(expected), path
        for k in expected:
            _agree(got[k], expected[k], f"{path}.{k}")
    elif isinstance(expected, float):
        assert type(got) is float, path
        assert got == pytest.approx(expected, rel=1e-12, abs=0.0), path
    else:
        assert type(got) is type(expected) and got == expected, path


@pytest.mark.parametrize("kind", ["stochastic", "deterministic"])
def test_summary_of_the_arrays_is_indicators_of_the_tables(res, kind):
    """from_record computes the summary from the recorded arrays; indicators() from the tables
    (as for a loaded or trimmed run). Both give the same numbers (to the bit with pandas 3.1)."""
    r = res if kind == "stochastic" else corridors.run(stochastic=False, end_year=2021)
    _agree(r.summary, _none_for_nan(r.indicators()))


def _none_for_nan(value):
    if isinstance(value, dict):
        return {k: _none_for_nan(v) for k, v in value.items()}
    return None if isinstance(value, float) and math.isnan(value) else value


def test_text_columns_are_pandas_text_and_independent():
    """Text columns have the dtype pandas gives Python strings; runs of the same shape share
    their (immutable) text, but changing one table leaves the other alone."""
    a, b = (corridors.run(seed=s, end_year=FIRST + 1) for s in (1, 2))
    text = pd.Series(["x"]).dtype
    for name in ("corridors", "countries", "pipelines"):
        for col in ("corridor", "country", "commodity", "market", "direction", "pipeline"):
            if col in getattr(a, name):
                assert getattr(a, name)[col].dtype == text, (name, col)
    assert list(a.corridors["corridor"][: len(CORRIDORS)]) == list(CORRIDORS)
    before = b.countries["country"].copy()
    a.countries.loc[0, "country"] = "XX"
    a.corridors["corridor"] = a.corridors["corridor"].str.upper()
    assert_frame_equal(b.countries[["country"]], before.to_frame(), check_exact=True)
    assert list(b.corridors["corridor"][: len(CORRIDORS)]) == list(CORRIDORS)
    assert corridors.run(seed=1, end_year=FIRST + 1).countries["country"].iloc[0] != "XX"


def test_meta(res):
    assert res.meta["seed"] == 3
    assert res.meta["end_year"] == LAST
    assert res.meta["stochastic"] is True
    assert res.meta["middle_caspian_edges"]


# ============================================================================ disk


def _leftovers(parent, keep):
    return sorted(p.name for p in parent.iterdir() if p.name not in keep)


def test_save_writes_parquet_and_json(res, tmp_path):
    out = res.save(tmp_path / "run", extra_files={"scenario.toml": b"# baseline\n"})
    assert out == tmp_path / "run"
    names = sorted(p.name for p in out.iterdir())
    tables = (*TABLES, *EXPLAIN_TABLES, *MAP_TABLES)
    assert names == sorted([*(f"{t}.parquet" for t in tables), "summary.json", "meta.json", "scenario.toml"])
    assert not [p for p in out.iterdir() if p.suffix == ".pkl"]
    assert (out / "scenario.toml").read_bytes() == b"# baseline\n"
    json.loads((out / "summary.json").read_text())
    json.loads((out / "meta.json").read_text())
    assert _leftovers(tmp_path, {"run"}) == []  # no temporary directory left behind


def _strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_saved_json_is_strict_json(res, tmp_path):
    """summary.json and meta.json parse with a strict parser (no NaN or Infinity tokens)."""
    out = res.save(tmp_path / "run")
    for name in ("summary.json", "meta.json"):
        text = (out / name).read_text()
        try:
            _strict_json(text)
        except ValueError as err:
            bad = [line.strip() for line in text.splitlines() if "NaN" in line or "Infinity" in line]
            pytest.fail(f"{name}: {err}: {bad[:4]}")


def test_save_refuses_an_existing_directory(res, tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="force"):
        res.save(target)
    assert (target / "keep.txt").read_text() == "mine"
    assert _leftovers(tmp_path, {"run"}) == []
    res.save(target, force=True)
    assert not (target / "keep.txt").exists()
    assert (target / "meta.json").is_file()
    assert _leftovers(tmp_path, {"run"}) == []


def test_failed_save_leaves_nothing_behind(res, tmp_path):
    bad = {"missing_dir/file.txt": b"x"}  # cannot be written: the write fails half-way
    with pytest.raises(OSError):
        res.save(tmp_path / "run", extra_files=bad)
    assert _leftovers(tmp_path, set()) == []
    # an existing run directory survives a failed forced save untouched
    res.save(tmp_path / "run")
    before = sorted(p.name for p in (tmp_path / "run").iterdir())
    with pytest.raises(OSError):
        res.save(tmp_path / "run", extra_files=bad, force=True)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == before
    assert _leftovers(tmp_path, {"run"}) == []


def test_save_creates_parent_directories(res, tmp_path):
    out = res.save(tmp_path / "a" / "b" / "run")
    assert (out / "meta.json").is_file()


def test_load_results_round_trips_every_table(res, tmp_path):
    loaded = load_results(res.save(tmp_path / "run"))
    for name in TABLES:
        assert_frame_equal(getattr(loaded, name), getattr(res, name), check_exact=True)
    assert loaded.summary == json.loads(json.dumps(res.summary))
    assert loaded.meta == json.loads(json.dumps(res.meta))
    # the views work on a loaded run
    assert_frame_equal(loaded.annual_volumes(), res.annual_volumes(), check_exact=True)
    for name in OBSERVABLES:
        pd.testing.assert_series_equal(loaded.observable(name), res.observable(name), check_exact=True)


def test_load_results_of_a_missing_directory_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="run directory"):
        load_results(tmp_path / "nothing")


def test_link_corridors_split_each_link_flow_by_corridor(res, tmp_path):
    """Each corridor's freight per link and year adds up to the link's flow; saved and read back."""
    lc = res.link_corridors
    assert list(lc.columns) == ["year", "edge", "corridor", "flow_t"]
    assert set(lc["corridor"]) <= set(CORRIDORS) and (lc["flow_t"] > 0).all()
    flows = res.edges.groupby(["year", "edge"])["flow_t"].sum()
    split = lc.groupby(["year", "edge"])["flow_t"].sum().reindex(flows.index, fill_value=0.0)
    np.testing.assert_allclose(split.to_numpy(), flows.to_numpy(), rtol=1e-9, atol=1e-6)
    assert lc.groupby(["year", "edge"])["corridor"].nunique().max() > 1  # shared links exist
    back = load_results(res.save(tmp_path / "run"))
    pd.testing.assert_frame_equal(back.link_corridors, lc)
    trimmed = res.trimmed(FIRST + 1)
    assert trimmed.link_corridors["year"].min() == FIRST + 1
