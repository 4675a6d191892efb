"""Tests of :mod:`corridors.routes`: the commodity groups flattened for the kernels."""

from __future__ import annotations

import numpy as np


def test_routes_flatten_the_commodity_groups(build_model):
    m = build_model(end_year=2019)
    r = m.routes
    K = r.n_corridors
    assert r.row_masks.shape == (r.n_rows, m.net.n_edges) and r.n_rows % K == 0
    # every shipper's pair runs from its origin to its market, on a job of its group's rows
    a = m.shipper_attrs
    np.testing.assert_array_equal(r.od_source[r.ship_od], m.net.node_ids(a["origin"]))
    np.testing.assert_array_equal(r.od_dest[r.ship_od], m.net.node_ids(a["market"]))
    for k in range(K):
        jobs = r.od_job[r.ship_od, k]
        np.testing.assert_array_equal(r.job_source[jobs], r.od_source[r.ship_od])
        assert (r.job_row[jobs] % K == k).all()
    # the pairs' shippers (CSR) are every shipper once
    assert sorted(r.od_ship.tolist()) == list(range(m.n_shippers))


def test_with_vot_changes_only_the_value_of_time(build_model):
    """The routes with a value of time equal those built afresh with it; the original keeps its own."""
    import dataclasses

    r = build_model(end_year=2019).layout.routes
    vot = np.arange(1.0, r.group_od.size)  # one per group
    out = r.with_vot(vot)
    np.testing.assert_array_equal(out.row_vot, np.repeat(vot, r.n_corridors))
    fresh = dataclasses.replace(r, row_vot=out.row_vot)
    for f in dataclasses.fields(r):
        np.testing.assert_array_equal(getattr(out, f.name), getattr(fresh, f.name), err_msg=f.name)
    assert not np.array_equal(r.row_vot, out.row_vot)
