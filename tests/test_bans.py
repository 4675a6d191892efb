"""Tests of :mod:`corridors.bans`: banned freight is re-booked only where slots exist."""

from __future__ import annotations

import numpy as np

from corridors.model import rebook_quarter


def test_rebook_conserves_and_respects_slots(build_model):
    m = build_model(end_year=2020)
    for _ in range(4):
        m.step()
    moved = np.zeros((m.n_shippers, r_k := m.n_corridors))
    transit = np.flatnonzero(m.is_transit)
    moved[transit, 1] = 1e5
    allowed = m.available.copy()
    out = rebook_quarter(m, moved, allowed)
    assert out.shape == (m.n_shippers, r_k)
    assert (out >= 0).all()
    has = allowed.any(axis=1) & (moved.sum(axis=1) > 0)
    np.testing.assert_allclose(out[has].sum(axis=1), moved[has].sum(axis=1), rtol=1e-9)
