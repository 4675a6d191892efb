"""Tests of :mod:`corridors.view`: numpy's pairwise sum reproduced bit for bit, and a view
agents cannot write."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from corridors.view import pairwise_sum

finite = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=300, deadline=None)
@given(a=hnp.arrays(np.float64, st.integers(0, 400), elements=finite), lo=st.integers(0, 20))
def test_pairwise_sum_equals_numpy_bit_for_bit(a, lo):
    lo = min(lo, a.size)
    assert pairwise_sum(a, lo, a.size - lo) == np.sum(a[lo:])


@pytest.fixture(scope="module")
def stepped(build_model):
    m = build_model(end_year=2021)
    for _ in range(6):
        m.step()
    return m


def test_view_arrays_are_read_only(stepped):
    v = stepped.view
    for name in ("quote_money", "quote_time", "available", "volumes", "money", "capacity", "served", "load"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(v, name)[...] = 0


def test_loaded_view_keeps_the_quotes_and_takes_the_loading(stepped):
    v = stepped.view
    served = np.ones_like(v.served)
    w = v.loaded_with(served=served)
    assert w.loaded and w.quote_money is v.quote_money and w.t == v.t
    assert w.served is served and not w.served.flags.writeable
    assert w.extra == {} and w.extra is not v.extra, "indicators are computed afresh for the loaded view"


def test_the_transit_indicators_equal_the_numpy_expressions_they_replaced(build_model):
    """Russia's open transit share to the bit (numpy's pairwise sums and BLAS dot), and the
    EU's Russian cost ratio to its last bits (the kernel's logs are the C library's)."""
    from corridors.view import _RUSSIAN
    from corridors.vocabulary import CORRIDORS

    m = build_model(end_year=2024, stochastic=True, seed=3)
    a = m.layout.shipper
    hit = m.layout.is_transit & ((a["market"] == "market_eu") | (a["origin"] == "market_eu"))
    rows = m.layout.indicator_arrays[0]
    checked = 0
    while m.running and m.t < m.n_steps:
        m.step()
        v = m.view
        for corridor in ("russian", "middle"):
            k = CORRIDORS.index(corridor)
            served = v.served[rows]
            free = float(served.sum(axis=1) @ v.ban_cap[rows, k])
            expected = float(served[:, k].sum() / free) if free > 0 else 0.0
            assert v.open_transit_share(corridor) == expected, (m.t, corridor)
        h = np.flatnonzero(hit)
        cost = np.where(v.available[h], v.quote_money[h] + v.premium[h] - v.subsidy[h], np.inf)
        fin = np.isfinite(cost[:, _RUSSIAN])
        alt = np.delete(cost[fin], _RUSSIAN, axis=1).min(axis=1)
        ok = np.isfinite(alt)
        w = v.volumes[h[fin]][ok]
        if ok.any() and w.sum() > 0:
            ratio = np.maximum(alt[ok], 1e-9) / np.maximum(cost[fin, _RUSSIAN][ok], 1e-9)
            expected = float(np.exp(np.average(np.log(ratio), weights=w)))
            checked += 1
        else:
            expected = 1.0
        assert v.russian_cost_ratio(hit) == pytest.approx(expected, rel=1e-14, abs=0.0), m.t
    assert checked > 0
