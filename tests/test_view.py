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
