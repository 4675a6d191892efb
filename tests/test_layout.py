"""Tests of :mod:`corridors.layout`: the static arrays of a network and its trade."""

from __future__ import annotations

import dataclasses

import numpy as np

from corridors.layout import Layout
from corridors.vocabulary import C5


def test_layout_is_built_once_per_network_and_inputs(network, inputs):
    assert Layout.of(network, inputs) is Layout.of(network, inputs)


def test_inputs_that_differ_only_in_sea_rates_share_a_layout(network, inputs):
    """A layout never reads sea rates: the tuner's sea-rate lever must not rebuild it."""
    cheaper = inputs.with_sea_rates({8: (900.0, 0.0)})
    assert cheaper.sea_rate(8) != inputs.sea_rate(8)
    assert Layout.of(network, cheaper) is Layout.of(network, inputs)
    other = dataclasses.replace(inputs, trade=inputs.trade.copy())  # other tables: a layout of its own
    assert Layout.of(network, other) is not Layout.of(network, inputs)


def test_layout_arrays_describe_the_network_and_the_trade(network, inputs):
    L = Layout.of(network, inputs)
    assert L.n_shippers == len(inputs.trade)
    assert sorted(L.slot.tolist()) == list(range(network.n_edges)), "slot order is a permutation of the links"
    state_rows = np.concatenate([L.state_rows[c] for c in C5])
    assert len(set(state_rows.tolist())) == state_rows.size, "each flow belongs to at most one state"
    assert (L.state_share[state_rows] > 0).all()
    assert L.caspian.shape == (network.n_edges,) and L.caspian.any()


def test_layout_arrays_are_read_only(network, inputs):
    L = Layout.of(network, inputs)
    for name in ("slot", "hard", "caspian", "gateway", "tonnes_2019"):
        assert not getattr(L, name).flags.writeable, name


def test_edge_names_are_the_links_tail_and_head(network, inputs):
    names = Layout.of(network, inputs).edge_names
    e = network.edges
    assert len(names) == network.n_edges
    for i in (0, 17, network.n_edges - 1):
        assert names[i] == f"{e['tail'].iat[i]} -> {e['head'].iat[i]}"
