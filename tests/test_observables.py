"""Tests of the observables' scopes (issue 15): the edge sets each series counts, taken from
the network, and each observable as the computation its scope describes, on a short real run.

The numbers of the model are not tested here (the demand and the rules change them); what is
tested is that each observable counts what its scope says.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import corridors
from corridors.experiments.calibrate.problem import LOSS_WEIGHTS, WEIGHT_REASONS
from corridors.history import load_history
from corridors.layout import OBSERVED_EDGE_SETS, observed_edges
from corridors.plots import SERIES_LABELS
from corridors.results import OBSERVABLES, Results, load_results


@pytest.fixture(scope="module")
def res() -> Results:
    return corridors.run(end_year=2021, seed=7)


def _links(network, ids) -> set[tuple[str, str, str]]:
    e = network.edges
    return {(e["tail"].iat[i], e["head"].iat[i], e["mode"].iat[i]) for i in ids}


def _sum_on(res: Results, ids, column: str = "flow_t") -> pd.Series:
    e = res.edges[res.edges["edge"].isin(ids)]
    years = sorted(res.corridors["year"].unique())
    return e.groupby("year")[column].sum().reindex(years, fill_value=0.0)


# ============================================================================ edge sets


def test_the_edge_sets_come_from_the_network(network):
    sets = observed_edges(network)
    assert set(sets) == set(OBSERVED_EDGE_SETS)
    e, country = network.edges, network.nodes.set_index("name")["country"]
    assert all(sets[name] for name in sets), "every edge set has links on the packaged network"
    baku = _links(network, sets["baku_caspian"])
    assert all("baku_alat" in (t, h) and m in ("ferry", "sea") for t, h, m in baku)
    assert {t for t, h, m in baku} | {h for t, h, m in baku} >= {"aktau", "kuryk", "turkmenbashi"}
    assert _links(network, sets["az_rail_transit"]) == {
        ("baku_alat", "tbilisi", "rail"),
        ("tbilisi", "baku_alat", "rail"),
    }
    ge = _links(network, sets["ge_rail_transit"])
    assert ("tbilisi", "baku_alat", "rail") in ge and ("akhalkalaki", "kars", "rail") in ge
    assert {("tbilisi", "poti", "rail"), ("tbilisi", "batumi", "rail")} <= ge
    assert ("baku_alat", "tbilisi", "rail") not in ge, "entering Georgia is not where transit is counted"
    assert _links(network, sets["kz_cn_rail"]) == {
        ("alashankou", "dostyk", "rail"),
        ("dostyk", "alashankou", "rail"),
        ("khorgos", "altynkol", "rail"),
        ("altynkol", "khorgos", "rail"),
    }
    assert _links(network, sets["iran_route"]) == {("etrek", "tehran", "rail"), ("tehran", "etrek", "rail")}
    crude = _links(network, sets["kz_caspian_crude"])
    assert {t for t, h, m in crude} == {"aktau"}
    assert all(e["commodities"].iat[i] == ("crude",) for i in sets["kz_caspian_crude"])
    for i in sets["kz_entries"]:
        assert country[e["head"].iat[i]] == "KZ" != country[e["tail"].iat[i]]


def test_a_run_keeps_its_edge_sets_and_the_caspian_crossings_both_ways(res, network, tmp_path):
    assert res.meta["observed_edges"] == {k: list(v) for k, v in observed_edges(network).items()}
    assert load_results(res.save(tmp_path / "run")).meta["observed_edges"] == res.meta["observed_edges"]
    kz = _links(network, res.meta["kz_caspian_edges"])
    assert ("aktau", "baku_alat", "sea") in kz, "the crude tanker is counted"
    assert {("baku_alat", "aktau", "ferry"), ("baku_alat", "kuryk", "ferry")} <= kz, "eastbound is counted"
    assert set(res.meta["observed_edges"]["kz_caspian_crude"]) <= set(res.meta["kz_caspian_edges"])


def test_a_record_without_edge_sets_gets_none(run_model):
    rec = run_model(end_year=2019).record()
    given = dict.fromkeys(OBSERVED_EDGE_SETS, (0,))
    assert Results.from_record(dataclasses.replace(rec, observed_edges=given)).meta["observed_edges"] == {
        name: [0] for name in OBSERVED_EDGE_SETS
    }
    res = Results.from_record(dataclasses.replace(rec, observed_edges=None))
    assert "observed_edges" not in res.meta
    with pytest.raises(KeyError, match="baku_port_no_trucks_t needs the run's observed edge sets"):
        res.observable("baku_port_no_trucks_t")
    assert res.observable("middle_corridor_t").notna().all(), "the Ministry scope needs only kz_caspian_edges"


# ============================================================================ scopes


def test_each_observable_is_what_its_scope_says(res):
    t_per_teu, sets = res.meta["t_per_teu"], res.meta["observed_edges"]
    c = res.countries
    years = sorted(res.corridors["year"].unique())
    across = _sum_on(res, res.meta["kz_caspian_edges"])
    oil = _sum_on(res, sets["kz_caspian_crude"])
    expected = {
        "middle_corridor_t": across,
        "middle_oil_share": (oil / across.where(across > 0)).clip(upper=1.0).fillna(0.0),
        "aktau_oil_t": oil,
        "baku_port_no_trucks_t": _sum_on(res, sets["baku_caspian"]),
        "baku_port_teu": _sum_on(res, sets["baku_caspian"], "container_flow_t") / t_per_teu,
        "ady_east_west_t": _sum_on(res, sets["az_rail_transit"]),
        "gr_transit_t": _sum_on(res, sets["ge_rail_transit"]),
        "kz_china_rail_t": _sum_on(res, sets["kz_cn_rail"]),
        "kz_transit_t": _sum_on(res, sets["kz_entries"])
        - c[(c["country"] == "KZ") & (c["direction"] == "import")]
        .groupby("year")["volume_t"]
        .sum()
        .reindex(years, fill_value=0.0),
        "iran_route_t": _sum_on(res, sets["iran_route"]),
    }
    for name, s in expected.items():
        got = res.observable(name)
        np.testing.assert_array_equal(got.to_numpy(), s.to_numpy(), err_msg=name)
        assert list(got.index) == years
        assert np.isfinite(got.to_numpy()).all() and (got >= 0).all(), name
    westbound = _sum_on(
        res, [i for i in res.meta["kz_caspian_edges"] if i in res.meta["middle_caspian_edges"]]
    )
    assert (res.observable("middle_corridor_t") >= westbound).all(), "both directions"
    assert (res.observable("baku_port_teu") > 0).all(), "containers reach Baku"


def test_the_share_observables_divide_by_the_ministry_scope(res):
    across = res.observable("middle_corridor_t")
    oil = res.observable("aktau_oil_t")
    np.testing.assert_allclose(res.observable("middle_oil_share"), (oil / across).clip(upper=1.0), rtol=1e-15)
    assert res.observable("middle_oil_share").between(0, 1).all()
    assert res.observable("middle_kz_share").between(0, 1).all()


# ============================================================================ every series has its observable


def test_every_history_series_has_an_observable_a_panel_and_a_weight():
    series = set(load_history()["series"])
    assert series <= set(OBSERVABLES), f"history series without an observable: {series - set(OBSERVABLES)}"
    assert set(OBSERVABLES) <= series, "every observable is observed"
    assert set(SERIES_LABELS) == set(OBSERVABLES)
    assert set(LOSS_WEIGHTS) == set(OBSERVABLES)
    assert set(WEIGHT_REASONS) == set(LOSS_WEIGHTS)
    assert all(0 < w <= 1 for w in LOSS_WEIGHTS.values())
    for name, o in OBSERVABLES.items():
        assert o.scope and o.unit, name
        assert SERIES_LABELS[name][1].endswith(o.unit.split("/")[-1]) or o.unit in ("share", "days"), name
