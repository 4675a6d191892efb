"""Tests of :mod:`corridors.run_record`: what a run hands over to its results."""

from __future__ import annotations

import numpy as np

from corridors.results import Results
from corridors.run_record import SHIPPER_KEYS, STEP_ARRAYS


def test_a_record_holds_the_steps_run_and_what_they_are_indexed_by(run_model, network):
    m = run_model(end_year=2020)
    rec = m.record()
    assert rec.n_steps == m.t == 8
    assert set(rec.arrays) == set(STEP_ARRAYS)
    for name, a in rec.arrays.items():
        assert a.shape[0] == 8, name
        np.testing.assert_array_equal(a, m.rec[name][:8])
    assert set(rec.shippers) == set(SHIPPER_KEYS)
    assert all(len(v) == m.n_shippers for v in rec.shippers.values())
    assert rec.n_edges == network.n_edges


def test_the_kazakh_caspian_crossings_come_from_the_network(run_model, network):
    """The crossings leaving a Kazakh seaport are those from Aktau and Kuryk (the ports the
    Ministry's Middle Corridor series counts)."""
    rec = run_model(end_year=2019).record()
    e = network.edges
    tails = set(e.loc[list(rec.middle_caspian_edges), "tail"])
    assert tails == {"aktau", "kuryk"}
    ends = set(e.loc[list(rec.kz_caspian_edges), "tail"]) | set(e.loc[list(rec.kz_caspian_edges), "head"])
    assert {"aktau", "kuryk"} <= ends
    assert set(rec.middle_caspian_edges) <= set(rec.kz_caspian_edges)


def test_results_are_built_from_the_record_alone(run_model):
    m = run_model(end_year=2020)
    res = Results.from_record(m.record(), meta={"seed": 0})
    assert res.meta["seed"] == 0 and res.corridors["step"].max() == 7
    np.testing.assert_allclose(
        res.corridors.groupby("step")["volume_t"].sum().to_numpy(), m.rec["served"][:8].sum(axis=(1, 2))
    )
