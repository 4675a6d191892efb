"""Tests of :mod:`corridors.run_record`: what a run hands over to its results."""

from __future__ import annotations

import numpy as np

from corridors.events import RouteOpening
from corridors.known_events import baseline_events
from corridors.parameters import Parameters
from corridors.results import Results
from corridors.run_record import CHOICE_ARRAYS, SHIPPER_KEYS, STEP_ARRAYS, YEAR_ARRAY
from corridors.vocabulary import CORRIDORS


def test_a_record_holds_the_steps_run_and_what_they_are_indexed_by(run_model, network):
    m = run_model(end_year=2020)
    rec = m.record()
    assert rec.n_steps == m.t == 8
    assert set(rec.arrays) == {*STEP_ARRAYS, YEAR_ARRAY}
    for name in STEP_ARRAYS:
        a = rec.arrays[name]
        assert a.shape[0] == 8, name
        np.testing.assert_array_equal(a, m.rec[name][:8])
    # the year array: two years, each the sum of its quarters' corridor flows = the link flows
    years = rec.arrays[YEAR_ARRAY]
    assert years.shape == (2, m.n_corridors, network.n_edges)
    quarters = rec.arrays["edge_flow"].reshape(2, 4, -1).sum(axis=1)
    np.testing.assert_allclose(years.sum(axis=1), quarters, rtol=1e-9, atol=1e-6)
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


def test_the_choice_terms_are_kept_for_the_pairs_intended_or_open_only(build_model):
    """The record keeps what the shippers compared only where a corridor was intended or open
    to them: a pair joins when a route opening first opens it, and its earlier quarters show
    that it was neither (the ``(T, S, K)`` arrays, mostly closed pairs, are not stored)."""
    events = [*baseline_events(Parameters()), RouteOpening(start="2020Q1", corridor="iranian")]
    m = build_model(events=events, end_year=2020)
    iranian = CORRIDORS.index("iranian")
    live = {}
    while m.running and m.t < m.n_steps:
        t = m.t
        m.step()
        # after the step the quarter's view and state cargo are those write_choices read
        live[t] = m.view.ban_cap * m.view.available
    ch = m.record().choices
    T, S, K = 8, m.n_shippers, m.n_corridors
    assert ch.values.shape == (T, len(CHOICE_ARRAYS), ch.cells.size)
    intended, open_share = ch.dense("intended"), ch.dense("open_share")
    ever = ((intended != 0) | (open_share != 0)).any(axis=0).ravel()
    assert sorted(ch.cells) == np.flatnonzero(ever).tolist()
    assert ch.cells.size < 0.5 * S * K
    for t, expected in live.items():
        np.testing.assert_array_equal(open_share[t], expected)
    opened = ch.cells[ch.cells % K == iranian]
    assert opened.size > 0
    assert (open_share[:4].reshape(4, -1)[:, opened] == 0).all()
    assert (open_share[4:].reshape(4, -1)[:, opened] > 0).any()
    closed = np.setdiff1d(np.arange(S * K), ch.cells)
    assert np.isnan(ch.dense("memory_money").reshape(T, -1)[:, closed]).all()
