"""Tests of the TNTP readers on the Sioux Falls files in ``tests/data``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corridors import tntp

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def net() -> tntp.TntpNetwork:
    return tntp.read_network(DATA / "SiouxFalls_net.tntp")


def test_read_network(net):
    assert net.n_nodes == 24
    assert net.first_thru_node == 0
    for a in (net.tail, net.head, net.capacity, net.length, net.free_flow_time, net.alpha, net.beta):
        assert a.shape == (76,)
    assert net.tail.dtype == net.head.dtype == np.int64
    assert net.tail.min() == 0 and net.tail.max() == 23  # 0-based
    assert set(net.head.tolist()) == set(range(24))
    assert len(set(zip(net.tail.tolist(), net.head.tolist(), strict=True))) == 76
    assert (net.capacity > 0).all() and (net.free_flow_time > 0).all()
    np.testing.assert_array_equal(net.alpha, 0.15)
    np.testing.assert_array_equal(net.beta, 4.0)
    # first link of the file: 1 -> 2, capacity 25900.20064, length 6, free-flow time 6
    assert (net.tail[0], net.head[0]) == (0, 1)
    assert net.capacity[0] == 25900.20064
    assert net.length[0] == net.free_flow_time[0] == 6.0


def test_read_trips():
    origins, destinations, demand = tntp.read_trips(DATA / "SiouxFalls_trips.tntp")
    assert origins.shape == destinations.shape == demand.shape == (528,)
    assert origins.dtype == destinations.dtype == np.int64
    assert demand.sum() == 360600.0  # <TOTAL OD FLOW> in the file
    assert (demand > 0).all()
    assert (origins != destinations).all()
    assert len(set(zip(origins.tolist(), destinations.tolist(), strict=True))) == 528
    assert origins.min() == destinations.min() == 0 and origins.max() == destinations.max() == 23
    pairs = dict(zip(zip(origins.tolist(), destinations.tolist(), strict=True), demand.tolist(), strict=True))
    assert pairs[0, 9] == 1300.0  # origin 1 -> destination 10
    assert (0, 0) not in pairs and (1, 17) not in pairs  # zero demand is dropped


def test_read_flows_aligned_with_network(net):
    tail, head, volume = tntp.read_flows(DATA / "SiouxFalls_flow.tntp")
    np.testing.assert_array_equal(tail, net.tail)
    np.testing.assert_array_equal(head, net.head)
    assert volume.dtype == np.float64
    assert (volume > 0).all()
    assert volume[0] == 4494.6576464564205


def test_missing_metadata_end_is_an_error(tmp_path):
    path = tmp_path / "bad_net.tntp"
    path.write_text("<NUMBER OF NODES> 2\n~ init term\n1 2 1 1 1 0.15 4 ;\n")
    with pytest.raises(ValueError, match="END OF METADATA"):
        tntp.read_network(path)
