"""Tests of the Numba route-cost core, :mod:`corridors.routing`.

Shortest paths are checked against ``scipy.sparse.csgraph.dijkstra``, loading against
single-class loading and shortest paths, equilibrium against the best-known Sioux Falls
solution (Transportation Networks for Research, see ``tests/data/README.md``).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import types
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numba
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from corridors import routing, tntp

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
PROPERTY = settings(max_examples=150, deadline=None)


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Graph:
    """A CSR graph; ``tails`` and ``indices`` give each slot's tail and head."""

    n: int
    indptr: np.ndarray
    indices: np.ndarray
    tails: np.ndarray

    @property
    def m(self) -> int:
        return int(self.indices.size)


def make_graph(tail, head, n: int) -> Graph:
    indptr, indices, _ = routing.csr_from_edges(
        np.asarray(tail, dtype=np.int64), np.asarray(head, dtype=np.int64), n
    )
    return Graph(n, indptr, indices, routing.slot_tails(indptr))


@st.composite
def graphs(draw, max_nodes: int = 10) -> Graph:
    """Random directed multigraphs: parallel edges, self-loops, disconnected parts, no edges."""
    n = draw(st.integers(1, max_nodes))
    m = draw(st.integers(0, 4 * n))
    node = st.integers(0, n - 1)
    tail = draw(st.lists(node, min_size=m, max_size=m))
    head = draw(st.lists(node, min_size=m, max_size=m))
    return make_graph(tail, head, n)


def weight_vectors(m: int, *, integer: bool = True):
    if integer:  # integer-valued floats: sums are exact, zero weights and ties are common
        element = st.integers(0, 9).map(float)
    else:
        element = st.floats(0.0, 1e3, allow_nan=False, allow_infinity=False) | st.just(0.0)
    return st.lists(element, min_size=m, max_size=m).map(lambda v: np.array(v, dtype=np.float64))


def bool_vectors(size: int):
    return st.lists(st.booleans(), min_size=size, max_size=size).map(lambda v: np.array(v, dtype=bool))


def source_lists(n: int):
    return st.lists(st.integers(0, n - 1), min_size=1, max_size=n + 2).map(
        lambda v: np.array(v, dtype=np.int64)
    )


def scipy_dist(g: Graph, w, sources, edge_mask=None, through_mask=None) -> np.ndarray:
    """Reference distances: scipy Dijkstra on a matrix that keeps the cheapest parallel edge.

    Masked slots are dropped; for each source ``s`` the out-edges of every non-through
    node other than ``s`` are removed, so paths may end but not continue there.
    """
    keep = np.ones(g.m, dtype=bool) if edge_mask is None else np.asarray(edge_mask)
    out = np.empty((len(sources), g.n))
    for i, s in enumerate(sources):
        best: dict[tuple[int, int], float] = {}
        for slot in range(g.m):
            u, v = int(g.tails[slot]), int(g.indices[slot])
            if not keep[slot] or u == v:  # a self-loop never shortens a path
                continue
            if through_mask is not None and not through_mask[u] and u != s:
                continue
            best[u, v] = min(best.get((u, v), np.inf), float(w[slot]))
        rows = np.array([u for u, _ in best], dtype=np.int64)
        cols = np.array([v for _, v in best], dtype=np.int64)
        data = np.array(list(best.values()), dtype=np.float64)
        mat = sp.csr_array((data, (rows, cols)), shape=(g.n, g.n))
        assert mat.nnz == len(best)  # explicit zero weights are kept as edges
        out[i] = dijkstra(mat, directed=True, indices=int(s))
    return out


def check_paths(g: Graph, w, sources, dist, pred, edge_mask=None, through_mask=None, *, exact: bool):
    """Every predecessor tree is a valid set of shortest paths that respects the masks."""
    keep = np.ones(g.m, dtype=bool) if edge_mask is None else np.asarray(edge_mask)
    through = np.ones(g.n, dtype=bool) if through_mask is None else np.asarray(through_mask)
    for i, s in enumerate(sources):
        is_source = np.arange(g.n) == s
        np.testing.assert_array_equal(pred[i] == -1, np.isinf(dist[i]) | is_source)
        assert dist[i, s] == 0.0
        for v in np.flatnonzero(pred[i] >= 0):
            assert g.indices[pred[i, v]] == v
            slots = routing.path_slots(pred[i], g.indptr, s, v)
            assert slots.size > 0
            assert g.tails[slots[0]] == s
            assert g.indices[slots[-1]] == v
            np.testing.assert_array_equal(g.indices[slots[:-1]], g.tails[slots[1:]])
            assert keep[slots].all(), "path uses a masked slot"
            assert through[g.tails[slots[1:]]].all(), "path passes a non-through node"
            total = float(np.sum(w[slots]))
            if exact:
                assert total == dist[i, v]
            else:
                np.testing.assert_allclose(total, dist[i, v], rtol=1e-12)


def node_balance(tail, head, flow, n: int) -> np.ndarray:
    """Inflow minus outflow at every node."""
    return np.bincount(head, weights=flow, minlength=n) - np.bincount(tail, weights=flow, minlength=n)


def demand_balance(origins, destinations, demand, n: int) -> np.ndarray:
    """Demand arriving minus demand leaving at every node."""
    return np.bincount(destinations, weights=demand, minlength=n) - np.bincount(
        origins, weights=demand, minlength=n
    )


def reversed_sum(values) -> float:
    """Sum from the destination back to the origin, the order in which loading walks a path."""
    total = 0.0
    for x in values[::-1]:
        total += float(x)
    return total


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# --------------------------------------------------------------------- csr_from_edges


@PROPERTY
@given(data=st.data())
def test_csr_from_edges_is_stable_csr(data):
    n = data.draw(st.integers(0, 8))
    m = data.draw(st.integers(0, 25)) if n else 0
    node = st.integers(0, max(n - 1, 0))
    tail = np.array(data.draw(st.lists(node, min_size=m, max_size=m)), dtype=np.int64)
    head = np.array(data.draw(st.lists(node, min_size=m, max_size=m)), dtype=np.int64)
    indptr, indices, perm = routing.csr_from_edges(tail, head, n)

    assert indptr.dtype == indices.dtype == perm.dtype == np.int64
    np.testing.assert_array_equal(np.sort(perm), np.arange(m))  # a permutation
    np.testing.assert_array_equal(indices, head[perm])
    assert indptr.shape == (n + 1,)
    assert indptr[0] == 0
    np.testing.assert_array_equal(np.diff(indptr), np.bincount(tail, minlength=n))
    tails = routing.slot_tails(indptr)
    np.testing.assert_array_equal(tails, tail[perm])
    for u in range(n):
        block = perm[indptr[u] : indptr[u + 1]]
        np.testing.assert_array_equal(block, np.flatnonzero(tail == u))  # stable: input order

    multi = nx.MultiDiGraph()
    multi.add_nodes_from(range(n))
    multi.add_edges_from(zip(tail.tolist(), head.tolist(), strict=True))
    for u in range(n):
        successors = sorted(v for _, v in multi.out_edges(u))
        assert sorted(indices[indptr[u] : indptr[u + 1]].tolist()) == successors


def test_csr_from_edges_empty_graphs():
    indptr, indices, perm = routing.csr_from_edges([], [], 0)
    np.testing.assert_array_equal(indptr, [0])
    assert indices.size == perm.size == 0
    indptr, indices, perm = routing.csr_from_edges(np.array([], dtype=np.int32), [], 3)
    np.testing.assert_array_equal(indptr, [0, 0, 0, 0])
    assert routing.slot_tails(indptr).size == 0


# --------------------------------------------------------------------- shortest_paths


@PROPERTY
@pytest.mark.parametrize("masks", ["none", "edge", "through", "both"])
@given(data=st.data())
def test_shortest_paths_match_scipy(masks, data):
    g = data.draw(graphs())
    w = data.draw(weight_vectors(g.m))
    sources = data.draw(source_lists(g.n))
    em = data.draw(bool_vectors(g.m)) if masks in ("edge", "both") else None
    tm = data.draw(bool_vectors(g.n)) if masks in ("through", "both") else None

    dist, pred = routing.shortest_paths(g.indptr, g.indices, w, sources, edge_mask=em, through_mask=tm)

    assert dist.shape == pred.shape == (sources.size, g.n)
    assert dist.dtype == np.float64 and pred.dtype == np.int64
    np.testing.assert_array_equal(dist, scipy_dist(g, w, sources, em, tm))
    check_paths(g, w, sources, dist, pred, em, tm, exact=True)


@PROPERTY
@given(data=st.data())
def test_shortest_paths_match_scipy_float_weights(data):
    g = data.draw(graphs())
    w = data.draw(weight_vectors(g.m, integer=False))
    sources = data.draw(source_lists(g.n))
    em = data.draw(st.none() | bool_vectors(g.m))
    tm = data.draw(st.none() | bool_vectors(g.n))

    dist, pred = routing.shortest_paths(g.indptr, g.indices, w, sources, edge_mask=em, through_mask=tm)

    np.testing.assert_allclose(dist, scipy_dist(g, w, sources, em, tm), rtol=1e-12, atol=0)
    check_paths(g, w, sources, dist, pred, em, tm, exact=False)


def test_shortest_paths_one_node_and_no_edges():
    g = make_graph([], [], 1)
    dist, pred = routing.shortest_paths(g.indptr, g.indices, np.empty(0), [0])
    np.testing.assert_array_equal(dist, [[0.0]])
    np.testing.assert_array_equal(pred, [[-1]])

    g = make_graph([], [], 4)
    dist, pred = routing.shortest_paths(g.indptr, g.indices, np.empty(0), [2, 0])
    expected = np.full((2, 4), np.inf)
    expected[0, 2] = expected[1, 0] = 0.0
    np.testing.assert_array_equal(dist, expected)
    np.testing.assert_array_equal(pred, np.full((2, 4), -1))


def test_shortest_paths_parallel_edges_self_loops_and_zero_weights():
    # 0->1 three times (5, 2, 7), a self-loop at 1, 1->2 with weight 0, 3 unreachable
    indptr, indices, perm = routing.csr_from_edges([0, 1, 0, 0, 1], [1, 1, 1, 1, 2], 4)
    w = np.array([5.0, 0.0, 2.0, 7.0, 0.0])[perm]
    dist, pred = routing.shortest_paths(indptr, indices, w, [0])
    np.testing.assert_array_equal(dist, [[0.0, 2.0, 2.0, np.inf]])
    assert perm[pred[0, 1]] == 2  # the cheapest parallel edge
    assert perm[pred[0, 2]] == 4
    assert pred[0, 3] == -1


def test_through_mask_semantics():
    # 0 -> 1 -> 2 and 1 -> 3, with node 1 closed to through traffic
    g = make_graph([0, 1, 1], [1, 2, 3], 4)
    tm = np.array([True, False, True, True])
    dist, _ = routing.shortest_paths(g.indptr, g.indices, np.ones(3), [0, 1], through_mask=tm)
    np.testing.assert_array_equal(dist[0], [0.0, 1.0, np.inf, np.inf])  # may end at 1
    np.testing.assert_array_equal(dist[1], [np.inf, 0.0, 1.0, 1.0])  # may start at 1


# --------------------------------------------------------------- shortest_paths_batch


@PROPERTY
@given(data=st.data())
def test_shortest_paths_batch_equals_loop(data):
    g = data.draw(graphs())
    n_batch = data.draw(st.integers(0, 3))
    integer = data.draw(st.booleans())
    wb = np.array([data.draw(weight_vectors(g.m, integer=integer)) for _ in range(n_batch)]).reshape(
        n_batch, g.m
    )
    sources = data.draw(source_lists(g.n))
    mask_kind = data.draw(st.sampled_from(["none", "1d", "2d"]))
    em = {
        "none": None,
        "1d": data.draw(bool_vectors(g.m)),
        "2d": np.array([data.draw(bool_vectors(g.m)) for _ in range(n_batch)], dtype=bool).reshape(
            n_batch, g.m
        ),
    }[mask_kind]
    tm = data.draw(st.none() | bool_vectors(g.n))

    dist, pred = routing.shortest_paths_batch(g.indptr, g.indices, wb, sources, edge_mask=em, through_mask=tm)

    assert dist.shape == pred.shape == (n_batch, sources.size, g.n)
    for b in range(n_batch):
        row_mask = em if mask_kind != "2d" else em[b]
        d1, p1 = routing.shortest_paths(
            g.indptr, g.indices, wb[b], sources, edge_mask=row_mask, through_mask=tm
        )
        assert same_bits(dist[b], d1)
        assert same_bits(pred[b], p1)


@PROPERTY
@given(data=st.data())
def test_shortest_path_trees_equal_one_call_per_job(data):
    """Each job of ``shortest_path_trees`` equals ``shortest_paths`` with its row, bit for bit,
    and its distances equal scipy's."""
    g = data.draw(graphs())
    n_rows = data.draw(st.integers(1, 3))
    integer = data.draw(st.booleans())
    w = np.array([data.draw(weight_vectors(g.m, integer=integer)) for _ in range(n_rows)]).reshape(
        n_rows, g.m
    )
    em = np.array([data.draw(bool_vectors(g.m)) for _ in range(n_rows)], dtype=bool).reshape(n_rows, g.m)
    tm = data.draw(st.none() | bool_vectors(g.n))
    n_jobs = data.draw(st.integers(0, 6))
    rows = np.array(
        data.draw(st.lists(st.integers(0, n_rows - 1), min_size=n_jobs, max_size=n_jobs)), dtype=np.int64
    )
    sources = np.array(
        data.draw(st.lists(st.integers(0, g.n - 1), min_size=n_jobs, max_size=n_jobs)), dtype=np.int64
    )

    dist, pred = routing.shortest_path_trees(
        g.indptr, g.indices, w, rows, sources, edge_mask=em, through_mask=tm
    )
    graph = routing.Graph(g.indptr, g.indices, tm)
    d2, p2 = graph.trees(w, em, rows, sources, check=False)

    assert dist.shape == pred.shape == (n_jobs, g.n)
    assert same_bits(dist, d2) and same_bits(pred, p2)
    for j in range(n_jobs):
        d1, p1 = routing.shortest_paths(
            g.indptr, g.indices, w[rows[j]], sources[j : j + 1], edge_mask=em[rows[j]], through_mask=tm
        )
        assert same_bits(dist[j], d1[0])
        assert same_bits(pred[j], p1[0])
        ref = scipy_dist(g, w[rows[j]], sources[j : j + 1], em[rows[j]], tm)
        np.testing.assert_allclose(dist[j], ref[0], rtol=1e-12)


def test_shortest_path_trees_reject_bad_rows():
    g = make_graph([0, 1], [1, 2], 3)
    with pytest.raises(ValueError, match="rows"):
        routing.shortest_path_trees(g.indptr, g.indices, np.ones((1, 2)), [1], [0])
    with pytest.raises(ValueError, match="sources: length"):
        routing.shortest_path_trees(g.indptr, g.indices, np.ones((1, 2)), [0], [0, 1])


# ----------------------------------------------------------------------------- assign


@st.composite
def assign_cases(draw):
    g = draw(graphs(max_nodes=8))
    k = draw(st.integers(1, 3))
    weights = np.array([draw(weight_vectors(g.m)) for _ in range(k)]).reshape(k, g.m)
    masks = draw(st.none() | st.just(True))
    if masks:
        masks = np.array([draw(bool_vectors(g.m)) for _ in range(k)], dtype=bool).reshape(k, g.m)
    through = draw(st.none() | bool_vectors(g.n))
    n_od = draw(st.integers(0, 12))
    node = st.integers(0, g.n - 1)
    origins = np.array(draw(st.lists(node, min_size=n_od, max_size=n_od)), dtype=np.int64)
    destinations = np.array(draw(st.lists(node, min_size=n_od, max_size=n_od)), dtype=np.int64)
    demand = np.array(
        [draw(st.lists(st.integers(0, 5).map(float), min_size=n_od, max_size=n_od)) for _ in range(k)]
    ).reshape(k, n_od)
    time = draw(weight_vectors(g.m))
    distance = draw(weight_vectors(g.m, integer=False))
    return g, weights, masks, through, origins, destinations, demand, time, distance


@PROPERTY
@given(case=assign_cases())
def test_assign_multiclass(case):
    g, W, M, tm, o, d, Q, time, distance = case
    k = W.shape[0]
    res = routing.assign(
        g.indptr, g.indices, W, o, d, Q, edge_mask=M, through_mask=tm, time=time, distance=distance
    )
    assert res.flow.shape == (k, g.m)
    assert res.cost.shape == res.time.shape == res.distance.shape == (k, o.size)
    assert res.unassigned.shape == (k,)

    for c in range(k):
        mask = None if M is None else M[c]
        # K classes at once == K single-class calls, bit for bit
        single = routing.assign(
            g.indptr,
            g.indices,
            W[c],
            o,
            d,
            Q[c],
            edge_mask=None if mask is None else mask[None, :],
            through_mask=tm,
            time=time,
            distance=distance,
        )
        for name in ("flow", "cost", "time", "distance", "unassigned"):
            assert same_bits(getattr(res, name)[c], getattr(single, name)[0]), name

        # skims: least cost from shortest_paths, time and distance summed along its path
        dist, pred = routing.shortest_paths(g.indptr, g.indices, W[c], o, edge_mask=mask, through_mask=tm)
        expected_flow = np.zeros(g.m)
        reached = np.zeros(o.size, dtype=bool)
        for j in range(o.size):
            assert res.cost[c, j] == dist[j, d[j]]
            if np.isinf(dist[j, d[j]]):
                assert np.isinf(res.time[c, j]) and np.isinf(res.distance[c, j])
                continue
            reached[j] = True
            slots = routing.path_slots(pred[j], g.indptr, o[j], d[j])
            if o[j] == d[j]:
                assert slots.size == 0
                assert res.cost[c, j] == res.time[c, j] == res.distance[c, j] == 0.0
            np.testing.assert_allclose(res.time[c, j], reversed_sum(time[slots]), rtol=1e-12)
            np.testing.assert_allclose(res.distance[c, j], reversed_sum(distance[slots]), rtol=1e-12)
            np.add.at(expected_flow, slots, Q[c, j])
        np.testing.assert_allclose(res.flow[c], expected_flow, rtol=1e-12, atol=1e-12)
        assert res.unassigned[c] == Q[c, ~reached].sum()

        # conservation: inflow - outflow = demand arriving - demand leaving (assigned pairs)
        np.testing.assert_allclose(
            node_balance(g.tails, g.indices, res.flow[c], g.n),
            demand_balance(o[reached], d[reached], Q[c, reached], g.n),
            atol=1e-9,
        )
        assert (res.flow[c] >= 0).all()
        if mask is not None:
            assert (res.flow[c][~mask] == 0).all()


def test_assign_unreachable_and_same_node():
    # 0 -> 1 -> 2, node 3 isolated
    g = make_graph([0, 1], [1, 2], 4)
    w = np.array([1.0, 2.0])
    res = routing.assign(
        g.indptr, g.indices, w, [0, 0, 3, 1], [2, 3, 3, 1], [4.0, 5.0, 6.0, 7.0], time=[10.0, 20.0]
    )
    np.testing.assert_array_equal(res.cost, [[3.0, np.inf, 0.0, 0.0]])
    np.testing.assert_array_equal(res.time, [[30.0, np.inf, 0.0, 0.0]])
    assert np.isinf(res.distance[0, 1])
    assert np.isnan(res.distance[0, 0])  # no distance attribute given
    np.testing.assert_array_equal(res.flow, [[4.0, 4.0]])  # same-node pairs load nothing
    np.testing.assert_array_equal(res.unassigned, [5.0])


def test_assign_shared_weights_per_class_demand_and_masks():
    # two routes 0->1->3 (cheap) and 0->2->3; class 1 cannot use slot of edge 0->1
    tail, head = np.array([0, 1, 0, 2]), np.array([1, 3, 2, 3])
    indptr, indices, perm = routing.csr_from_edges(tail, head, 4)
    w = np.array([1.0, 1.0, 2.0, 2.0])[perm]
    closed = np.ones((2, 4), dtype=bool)
    closed[1, np.flatnonzero(perm == 0)] = False
    res = routing.assign(indptr, indices, w, [0], [3], [[1.0], [2.0]], edge_mask=closed)
    flow = np.empty((2, 4))
    flow[:, perm] = res.flow
    np.testing.assert_array_equal(flow, [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 2.0]])
    np.testing.assert_array_equal(res.cost, [[2.0], [4.0]])


# --------------------------------------------------------------------------- bpr_time


def _params(draw_from, n: int, elements, *, integer: bool):
    scalar = draw_from(st.booleans())
    if integer:
        elements = elements.map(lambda x: float(round(x)))
    if scalar:
        return draw_from(elements)
    return np.array(draw_from(st.lists(elements, min_size=n, max_size=n)), dtype=np.float64)


@PROPERTY
@pytest.mark.parametrize("integer_beta", [True, False])
@given(data=st.data())
def test_bpr_time_matches_numpy(integer_beta, data):
    n = data.draw(st.integers(0, 12))

    def vec(lo, hi):
        elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
        return np.array(data.draw(st.lists(elements, min_size=n, max_size=n)), dtype=np.float64)

    t0, flow, capacity = vec(0.0, 100.0), vec(0.0, 1e5), vec(1e-2, 1e5)
    alpha = _params(data.draw, n, st.floats(0.0, 10.0), integer=False)
    beta = _params(data.draw, n, st.floats(0.0, 10.0), integer=integer_beta)

    got = routing.bpr_time(t0, flow, capacity, alpha, beta)
    expected = t0 * (1.0 + np.asarray(alpha) * (flow / capacity) ** np.asarray(beta))
    assert got.dtype == np.float64 and got.shape == (n,)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("beta", [0, 1, 4, 4.0, 0.5, 2.7, 63, 64, 65, 66.5])
def test_bpr_time_beta_values(beta):
    t0 = np.array([1.0, 2.0, 3.0, 4.0])
    flow = np.array([0.0, 50.0, 100.0, 103.0])
    capacity = np.array([100.0, 100.0, 100.0, 100.0])
    got = routing.bpr_time(t0, flow, capacity, 0.15, beta)
    np.testing.assert_allclose(got, t0 * (1 + 0.15 * (flow / capacity) ** float(beta)), rtol=1e-12)


def test_bpr_time_known_value():
    np.testing.assert_allclose(routing.bpr_time([2.0], [10.0], [10.0]), [2.3], rtol=1e-15)


# ------------------------------------------------------------------------ Sioux Falls


@dataclass(frozen=True)
class SiouxFalls:
    net: tntp.TntpNetwork
    origins: np.ndarray
    destinations: np.ndarray
    demand: np.ndarray
    best_flow: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    perm: np.ndarray

    def ue(self, **kwargs) -> routing.Equilibrium:
        net = self.net
        return routing.user_equilibrium(
            net.tail,
            net.head,
            net.n_nodes,
            net.free_flow_time,
            net.capacity,
            net.alpha,
            net.beta,
            self.origins,
            self.destinations,
            self.demand,
            **kwargs,
        )

    def bpr(self, flow) -> np.ndarray:
        net = self.net
        return routing.bpr_time(net.free_flow_time, flow, net.capacity, net.alpha, net.beta)

    def total_time(self, flow) -> float:
        return float(np.dot(flow, self.bpr(flow)))

    def gap(self, flow, time) -> float:
        """Relative gap of ``flow`` at link times ``time`` (both in file order)."""
        a = routing.assign(
            self.indptr, self.indices, time[self.perm], self.origins, self.destinations, self.demand
        )
        return routing.relative_gap(flow, time, self.demand, a.cost[0])


def load_sioux_falls() -> SiouxFalls:
    net = tntp.read_network(DATA / "SiouxFalls_net.tntp")
    origins, destinations, demand = tntp.read_trips(DATA / "SiouxFalls_trips.tntp")
    tail, head, best = tntp.read_flows(DATA / "SiouxFalls_flow.tntp")
    assert (tail == net.tail).all() and (head == net.head).all()
    indptr, indices, perm = routing.csr_from_edges(net.tail, net.head, net.n_nodes)
    return SiouxFalls(net, origins, destinations, demand, best, indptr, indices, perm)


@pytest.fixture(scope="module")
def sioux() -> SiouxFalls:
    return load_sioux_falls()


MAX_ITER = {"msa": 20_000, "frank-wolfe": 10_000, "cfw": 10_000, "bfw": 10_000}


@pytest.fixture(scope="module")
def equilibria(sioux) -> dict[str, routing.Equilibrium]:
    return {m: sioux.ue(method=m, gap=1e-4, max_iter=MAX_ITER[m]) for m in routing.METHODS}


def test_best_known_flows_are_an_equilibrium(sioux):
    assert sioux.gap(sioux.best_flow, sioux.bpr(sioux.best_flow)) < 1e-12


def test_sioux_falls_frank_wolfe_matches_best_known(sioux, equilibria):
    res = equilibria["frank-wolfe"]
    assert res.converged and res.gap <= 1e-4
    assert sioux.gap(res.flow, res.time) <= 1e-4
    best = sioux.best_flow
    assert abs(sioux.total_time(res.flow) / sioux.total_time(best) - 1.0) <= 5e-4
    assert np.abs(res.flow - best).mean() <= 0.01 * best.mean()


@pytest.mark.parametrize("method", routing.METHODS)
def test_sioux_falls_equilibrium(sioux, equilibria, method):
    res = equilibria[method]
    assert res.method == method
    assert res.converged, f"{method}: gap {res.gap:.3g} after {res.iterations} iterations"
    assert 0 < res.iterations <= MAX_ITER[method]
    assert res.gap <= 1e-4
    assert len(res.gap_history) == res.iterations + 1
    assert res.gap_history[-1] == res.gap
    # the returned times are the BPR times of the returned flows, and the gap is theirs
    np.testing.assert_allclose(res.time, sioux.bpr(res.flow), rtol=1e-12)
    recomputed = sioux.gap(res.flow, res.time)
    assert recomputed <= 1e-4
    np.testing.assert_allclose(recomputed, res.gap, rtol=1e-6)
    # close to the best-known solution
    best = sioux.best_flow
    assert np.abs(res.flow - best).mean() <= 0.01 * best.mean()
    # a feasible flow: non-negative, conserved at every node
    assert (res.flow >= 0).all()
    net = sioux.net
    np.testing.assert_allclose(
        node_balance(net.tail, net.head, res.flow, net.n_nodes),
        demand_balance(sioux.origins, sioux.destinations, sioux.demand, net.n_nodes),
        rtol=0,
        atol=1e-6,
    )


@pytest.mark.parametrize("method", routing.METHODS)
def test_initial_flow_at_equilibrium_converges_at_once(sioux, equilibria, method):
    res = sioux.ue(method=method, gap=1e-4, initial_flow=equilibria["frank-wolfe"].flow)
    assert res.converged and res.iterations <= 1
    best = sioux.ue(method=method, gap=1e-10, initial_flow=sioux.best_flow)
    assert best.converged and best.iterations == 0
    np.testing.assert_array_equal(best.flow, sioux.best_flow)


def test_max_iter_stops_without_convergence(sioux):
    res = sioux.ue(method="frank-wolfe", gap=1e-9, max_iter=3)
    assert not res.converged
    assert res.iterations == 3
    assert res.gap > 1e-9


def test_edge_mask_closes_links_in_equilibrium(sioux):
    net = sioux.net
    closed = int(np.flatnonzero((net.tail == 9) & (net.head == 15))[0])  # 10 -> 16
    mask = np.ones(net.tail.size, dtype=bool)
    mask[closed] = False
    res = sioux.ue(method="bfw", gap=1e-4, edge_mask=mask)
    assert res.converged
    assert res.flow[closed] == 0.0
    np.testing.assert_allclose(
        node_balance(net.tail, net.head, res.flow, net.n_nodes),
        demand_balance(sioux.origins, sioux.destinations, sioux.demand, net.n_nodes),
        atol=1e-6,
    )


def test_conjugate_methods_need_fewer_iterations(equilibria):
    # the reason for cfw and bfw: on Sioux Falls they take several times fewer iterations
    fw = equilibria["frank-wolfe"].iterations
    assert equilibria["cfw"].iterations < fw / 2
    assert equilibria["bfw"].iterations < fw / 2


def test_user_equilibrium_follows_edge_order(sioux):
    """Inputs and outputs are in the caller's edge order, whatever it is."""
    net = sioux.net
    e = net.tail.size
    order = np.random.default_rng(5).permutation(e)  # new edge i is file edge order[i]
    for u in range(net.n_nodes):  # keep each node's out-edges in file order: same CSR slots
        pos = np.flatnonzero(net.tail[order] == u)
        order[pos] = np.sort(order[pos])
    assert (order != np.arange(e)).any()
    mask = np.ones(e, dtype=bool)
    mask[np.flatnonzero((net.tail == 9) & (net.head == 15))] = False

    def run(o, **kwargs):
        return routing.user_equilibrium(
            net.tail[o],
            net.head[o],
            net.n_nodes,
            net.free_flow_time[o],
            net.capacity[o],
            net.alpha[o],
            net.beta[o],
            sioux.origins,
            sioux.destinations,
            sioux.demand,
            edge_mask=mask[o],
            **kwargs,
        )

    ref = run(np.arange(e), method="frank-wolfe", gap=1e-4)
    res = run(order, method="frank-wolfe", gap=1e-4)
    assert res.iterations == ref.iterations
    assert same_bits(res.flow, ref.flow[order])
    assert same_bits(res.time, ref.time[order])
    assert res.flow[np.argsort(order)][~mask].sum() == 0.0
    start = run(order, method="bfw", gap=1e-10, initial_flow=ref.flow[order], max_iter=1)
    assert same_bits(start.gap_history[:1], ref.gap_history[-1:])


@pytest.mark.parametrize("method", routing.METHODS)
def test_two_parallel_links_analytic_equilibrium(method):
    # t_a = 1 + x_a, t_b = 2 + x_b (BPR with beta = 1), demand 3: x = (2, 1), t = 3
    res = routing.user_equilibrium(
        [0, 0], [1, 1], 2, [1.0, 2.0], [1.0, 2.0], 1.0, 1.0, [0], [1], [3.0], method=method, gap=1e-8
    )
    assert res.converged
    np.testing.assert_allclose(res.flow, [2.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(res.time, [3.0, 3.0], rtol=1e-6)
    # start: all-or-nothing x = (3, 0), t = (4, 2), gap (12 - 6) / 12
    assert res.gap_history[0] == 0.5
    # an exact line search hits (2, 1) in one step; MSA steps 1/2 then 1/3 reach it in two
    assert res.iterations == (2 if method == "msa" else 1)


def test_relative_gap():
    assert routing.relative_gap([2.0, 1.0], [3.0, 3.0], [3.0], [3.0]) == 0.0
    assert routing.relative_gap([3.0, 0.0], [4.0, 2.0], [3.0], [2.0]) == pytest.approx(0.5)
    assert routing.relative_gap([0.0], [1.0], [0.0], [1.0]) == 0.0


# ------------------------------------------------------------------ thread invariance


def random_graph(rng, n: int, m: int) -> Graph:
    return make_graph(rng.integers(0, n, m), rng.integers(0, n, m), n)


@contextmanager
def forced_threads():
    """Inside the block the public functions run their kernels on ``numba.get_num_threads()``
    threads whatever the size of the problem (routing's choice by size is switched off)."""
    original = routing._threads_for
    routing._threads_for = lambda work, tasks=2: numba.get_num_threads()
    try:
        yield
    finally:
        routing._threads_for = original


def with_threads(fn: Callable[[], tuple]) -> list[tuple]:
    """Run ``fn`` with its kernels on 1 and then on 2 Numba threads, whatever the problem's
    size; restore the thread count."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 Numba threads")
    old = numba.get_num_threads()
    out = []
    try:
        with forced_threads():
            for threads in (1, 2):
                numba.set_num_threads(threads)
                out.append(fn())
    finally:
        numba.set_num_threads(old)
    return out


def assert_bit_identical(one: tuple, two: tuple):
    assert len(one) == len(two)
    for i, (a, b) in enumerate(zip(one, two, strict=True)):
        assert same_bits(a, b), f"result {i} differs between 1 and 2 threads"


@pytest.fixture(scope="module")
def big_graph() -> Graph:
    return random_graph(np.random.default_rng(20240611), 3000, 12000)


def test_threads_shortest_paths(big_graph):
    g = big_graph
    rng = np.random.default_rng(1)
    w = rng.random(g.m) * 10
    em = rng.random(g.m) < 0.9
    sources = np.arange(0, g.n, 40)
    one, two = with_threads(lambda: routing.shortest_paths(g.indptr, g.indices, w, sources, edge_mask=em))
    assert_bit_identical(one, two)


def test_threads_shortest_paths_batch(big_graph):
    g = big_graph
    rng = np.random.default_rng(2)
    wb = rng.random((4, g.m)) * 10
    em = rng.random((4, g.m)) < 0.9
    tm = rng.random(g.n) < 0.95
    sources = np.arange(0, g.n, 100)
    one, two = with_threads(
        lambda: routing.shortest_paths_batch(g.indptr, g.indices, wb, sources, edge_mask=em, through_mask=tm)
    )
    assert_bit_identical(one, two)


def test_threads_assign(big_graph):
    g = big_graph
    rng = np.random.default_rng(3)
    k, n_od = 3, 2000
    w = rng.random((k, g.m)) * 10
    em = rng.random((k, g.m)) < 0.9
    o, d = rng.choice(np.arange(0, g.n, 30), n_od), rng.integers(0, g.n, n_od)  # 100 origins
    q = rng.random((k, n_od)) * 100
    time, distance = rng.random(g.m), rng.random(g.m)

    def run():
        a = routing.assign(g.indptr, g.indices, w, o, d, q, edge_mask=em, time=time, distance=distance)
        return a.flow, a.cost, a.time, a.distance, a.unassigned

    one, two = with_threads(run)
    assert_bit_identical(one, two)


@pytest.mark.parametrize("method", ["frank-wolfe", "bfw"])
def test_threads_user_equilibrium(sioux, method):
    def run():
        res = sioux.ue(method=method, gap=1e-4)
        return res.flow, res.time, np.array([res.gap]), np.array([res.iterations]), res.gap_history

    one, two = with_threads(run)
    assert_bit_identical(one, two)


# ---------------------------------------------------------- thread count by problem size


@pytest.fixture
def two_threads():
    """Numba on 2 threads for the test (skipped on fewer); the count is restored after."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 Numba threads")
    old = numba.get_num_threads()
    numba.set_num_threads(2)
    yield
    numba.set_num_threads(old)


@pytest.fixture
def idle(monkeypatch):
    """A machine of 2 cores that no other process uses, as routing's chooser sees it."""
    monkeypatch.setattr(routing, "_CPUS", 2)
    monkeypatch.setattr(routing, "_others_load", lambda: 0.0)


def sources_for(g: Graph, work: float) -> np.ndarray:
    """Sources enough for about ``work`` steps of Dijkstra on ``g`` (at least 2)."""
    count = max(2, int(np.ceil(work / routing._dijkstra_work(1, g.n, g.m))))
    return np.arange(count) % g.n


def test_threads_for_small_problems_is_one(two_threads, idle):
    limit = routing._PARALLEL_WORK
    for work in (0, 1, limit // 10, limit - 1):
        assert routing._threads_for(work, 1000) == 1
    assert routing._threads_for(100 * limit, 1) == 1  # one task cannot use a second thread


def test_threads_for_large_problems_is_all_threads(two_threads, idle):
    limit = routing._PARALLEL_WORK
    for work in (limit, 10 * limit, 10**12):
        assert routing._threads_for(work, 2) == 2
    numba.set_num_threads(1)
    assert routing._threads_for(10 * limit, 100) == 1  # never more than the current count
    numba.set_num_threads(2)
    with routing.single_thread():
        assert routing._threads_for(10 * limit, 100) == 1


def test_threads_for_busy_machine_is_one(two_threads, monkeypatch):
    """A core kept busy by another process: a second thread would wait for it."""
    monkeypatch.setattr(routing, "_CPUS", 2)
    big = 10 * routing._PARALLEL_WORK
    for others, threads in ((0.0, 2), (0.4, 2), (0.6, 1), (1.0, 1), (2.0, 1)):
        monkeypatch.setattr(routing, "_others_load", lambda others=others: others)
        assert routing._threads_for(big, 100) == threads, others


def test_others_load_is_a_cached_share_of_cores():
    first = routing._others_load()
    assert 0.0 <= first <= (os.cpu_count() or 1) + 0.5
    # read at most every _LOAD_INTERVAL seconds: an immediate second call gives the same value
    assert routing._others_load() == first or routing._LOAD_INTERVAL < 0.01
    assert routing._cpu_reading() is None or len(routing._cpu_reading()) == 3


def record_threads(monkeypatch, *names: str) -> list[tuple[str, int]]:
    """Wrap routing's kernels ``names``: each call appends (name, Numba threads it ran on)."""
    seen: list[tuple[str, int]] = []
    for name in names:
        kernel = getattr(routing, name)

        def wrapper(*args, kernel=kernel, name=name):
            seen.append((name, numba.get_num_threads()))
            return kernel(*args)

        monkeypatch.setattr(routing, name, wrapper)
    return seen


def every_entry_point(g: Graph, n_sources: int) -> None:
    """Call each public entry point that runs a parallel kernel, with ``n_sources`` jobs."""
    rng = np.random.default_rng(5)
    w = rng.uniform(1.0, 5.0, g.m)
    em = rng.random(g.m) < 0.9
    sources = np.arange(n_sources) % g.n
    routing.shortest_paths(g.indptr, g.indices, w, sources, edge_mask=em)
    wb = np.vstack([w, w[::-1]])
    routing.shortest_paths_batch(g.indptr, g.indices, wb, sources[: max(1, n_sources // 2)])
    rows = np.arange(n_sources) % 2
    masks = np.vstack([em, em])
    routing.shortest_path_trees(g.indptr, g.indices, wb, rows, sources, edge_mask=masks)
    graph = routing.Graph(g.indptr, g.indices)
    graph.trees(wb, masks, rows, sources, check=False)
    dest = (sources * 7 + 3) % g.n
    a = graph.assign(wb, sources, dest, np.ones((2, n_sources)), edge_mask=masks, time=w)
    graph.paths(w, graph.od_pairs(sources, dest), edge_mask=masks)
    a.paths.sums(np.vstack([w, w]))
    a.paths.mins(w)
    a.paths.load(np.ones((2, n_sources)))


PARALLEL_KERNELS = (
    "_shortest_paths_kernel", "_shortest_paths_batch_kernel", "_trees_kernel", "_assign_kernel",
    "_fold_kernel", "_load_kernel",
)  # fmt: skip


def test_small_calls_run_on_one_thread_and_restore_the_count(two_threads, idle, monkeypatch):
    g = random_graph(np.random.default_rng(8), 30, 120)
    seen = record_threads(monkeypatch, *PARALLEL_KERNELS)
    every_entry_point(g, 6)
    assert {name for name, _ in seen} == set(PARALLEL_KERNELS)
    assert {threads for _, threads in seen} == {1}
    assert numba.get_num_threads() == 2


def test_large_calls_run_on_all_threads(two_threads, idle, monkeypatch):
    monkeypatch.setattr(routing, "_PARALLEL_WORK", 1)  # every call with two tasks is large
    g = random_graph(np.random.default_rng(8), 30, 120)
    seen = record_threads(monkeypatch, *PARALLEL_KERNELS)
    every_entry_point(g, 6)
    assert {threads for _, threads in seen} == {2}
    assert numba.get_num_threads() == 2


def test_single_thread_keeps_every_call_on_one_thread(two_threads, idle, monkeypatch):
    monkeypatch.setattr(routing, "_PARALLEL_WORK", 1)
    g = random_graph(np.random.default_rng(8), 30, 120)
    seen = record_threads(monkeypatch, *PARALLEL_KERNELS)
    calls = []
    with routing.single_thread(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(numba, "set_num_threads", calls.append)
        every_entry_point(g, 6)
    assert {threads for _, threads in seen} == {1}
    assert calls == [], "set_num_threads called inside single_thread()"
    assert numba.get_num_threads() == 2


def test_thread_count_is_restored_when_a_kernel_raises(two_threads, idle, monkeypatch):
    def boom(*args):
        assert numba.get_num_threads() == 1
        raise RuntimeError("boom")

    monkeypatch.setattr(routing, "_shortest_paths_kernel", boom)
    g = random_graph(np.random.default_rng(8), 30, 120)
    with pytest.raises(RuntimeError, match="boom"):
        routing.shortest_paths(g.indptr, g.indices, np.ones(g.m), [0, 1])
    assert numba.get_num_threads() == 2


def test_user_equilibrium_small_network_on_one_thread(two_threads, idle, monkeypatch, sioux):
    seen = record_threads(monkeypatch, "_assign_kernel")
    sioux.ue(method="frank-wolfe", gap=1e-2)
    assert seen and {threads for _, threads in seen} == {1}
    assert numba.get_num_threads() == 2


def test_user_equilibrium_large_network_chooses_per_load(two_threads, monkeypatch, sioux):
    """Above the threshold each load chooses again: a core taken midway means one thread."""
    monkeypatch.setattr(routing, "_PARALLEL_WORK", 1)
    monkeypatch.setattr(routing, "_CPUS", 2)
    others = [0.0]
    monkeypatch.setattr(routing, "_others_load", lambda: others[0])
    seen = []
    kernel = routing._assign_kernel

    def wrapper(*args):
        seen.append(numba.get_num_threads())
        if len(seen) == 3:
            others[0] = 1.0  # another process takes the other core
        return kernel(*args)

    monkeypatch.setattr(routing, "_assign_kernel", wrapper)
    res = sioux.ue(method="frank-wolfe", gap=1e-3)
    assert len(seen) > 5
    assert seen[:3] == [2, 2, 2] and set(seen[3:]) == {1}
    assert numba.get_num_threads() == 2
    monkeypatch.undo()
    again = sioux.ue(method="frank-wolfe", gap=1e-3)  # all on one thread: the same bits
    assert same_bits(res.flow, again.flow)


@pytest.mark.parametrize("size", ["below", "above"])
def test_results_do_not_depend_on_the_thread_count(size, big_graph, two_threads):
    """Bit-identical on 1 and 2 threads, forced, and on routing's own choice, on problems
    smaller and larger than ``_PARALLEL_WORK``."""
    rng = np.random.default_rng(12)
    g = random_graph(rng, 200, 800) if size == "below" else big_graph
    target = routing._PARALLEL_WORK * (0.2 if size == "below" else 2.0)
    sources = sources_for(g, target)
    work = routing._dijkstra_work(sources.size, g.n, g.m)
    assert (work < routing._PARALLEL_WORK) == (size == "below")
    w = rng.uniform(1.0, 10.0, g.m)
    em = rng.random(g.m) < 0.9
    wb = np.vstack([w, rng.uniform(1.0, 10.0, g.m)])
    dest = rng.integers(0, g.n, sources.size)

    def run():
        d, p = routing.shortest_paths(g.indptr, g.indices, w, sources, edge_mask=em)
        a = routing.assign(g.indptr, g.indices, wb, sources, dest, np.ones((2, sources.size)), time=w)
        rows = np.arange(sources.size) % 2
        t = routing.shortest_path_trees(g.indptr, g.indices, wb, rows, sources)
        return d, p, a.flow, a.cost, a.time, a.paths.sums(wb), a.paths.mins(w), *t

    one, two = with_threads(run)
    assert_bit_identical(one, two)
    assert_bit_identical(one, run())  # routing's own choice


# ---------------------------------------------------------------------- compilation


def dispatchers() -> dict[str, object]:
    """The module-level Numba dispatchers of routing."""
    return {name: obj for name, obj in vars(routing).items() if hasattr(obj, "signatures")}


def python_called_kernels() -> set[str]:
    """Dispatchers that routing's Python functions call directly (the kernels' entry points)."""
    names: set[str] = set()

    def walk(code: types.CodeType):
        names.update(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                walk(const)

    for obj in vars(routing).values():
        if inspect.isfunction(obj) and obj.__module__ == routing.__name__:
            walk(obj.__code__)
    return names & set(dispatchers())


def _converter(kind: str) -> Callable:
    if kind == "list":
        return lambda a: np.asarray(a).tolist()
    if kind == "readonly":

        def readonly(a):
            arr = np.array(a)
            arr.setflags(write=False)
            return arr

        return readonly
    return lambda a: np.asarray(a).astype(kind)


CANONICAL = ("int64", "float64", "float64", "bool")
VARIANTS = (
    ("int32", "float32", "float32", "bool"),
    ("list", "list", "list", "list"),
    ("int32", "float32", "float64", "list"),
    ("uint16", "float64", "float32", "bool"),
    ("list", "float32", "list", "bool"),
)
READONLY = ("readonly",) * 4


def call_public_api(kinds: tuple[str, str, str, str], sf: SiouxFalls) -> None:
    """Call every public function of routing; ids, costs, demand and masks typed by ``kinds``."""
    ids, costs, dem, masks = (_converter(k) for k in kinds)
    n = 5
    tail, head = np.array([0, 1, 1, 2, 0, 2, 3, 3]), np.array([1, 2, 0, 0, 2, 3, 0, 0])
    indptr, indices, _ = routing.csr_from_edges(ids(tail), ids(head), n)
    ip, ix, m = ids(indptr), ids(indices), indices.size
    routing.slot_tails(ip)
    w = np.linspace(1.0, 2.0, m)
    on_m, on_n = np.ones(m, dtype=bool), np.ones(n, dtype=bool)
    _, pred = routing.shortest_paths(ip, ix, costs(w), ids([0, 1, 4]), edge_mask=masks(on_m))
    routing.shortest_paths(ip, ix, costs(w), ids([0]), through_mask=masks(on_n))
    routing.path_slots(pred[0], ip, 0, 3)
    w2 = np.vstack([w, 2 * w])
    routing.shortest_paths_batch(ip, ix, costs(w2), ids([0, 2]))
    routing.shortest_paths_batch(ip, ix, costs(w2), ids([0, 2]), edge_mask=masks(on_m))
    routing.shortest_paths_batch(ip, ix, costs(w[None, :]), ids([0]), edge_mask=masks(on_m))
    routing.shortest_paths_batch(
        ip, ix, costs(w2), ids([1]), edge_mask=masks(np.ones((2, m), dtype=bool)), through_mask=masks(on_n)
    )
    routing.bpr_time(costs(w), costs(w), costs(w + 1))
    routing.bpr_time(costs(w), costs(w), costs(w + 1), costs(np.full(m, 0.15)), costs(np.full(m, 4.5)))
    o, d = ids([0, 1, 4, 3]), ids([2, 3, 0, 3])
    routing.assign(ip, ix, costs(w), o, d, dem([1.0, 2.0, 3.0, 4.0]), time=costs(w), distance=costs(w))
    routing.assign(ip, ix, costs(w), o, d, dem(np.ones((2, 4))), through_mask=masks(on_n))
    routing.assign(
        ip, ix, costs(w2), o, d, dem([1.0, 2.0, 3.0, 4.0]), edge_mask=masks(np.ones((2, m), dtype=bool))
    )
    routing.relative_gap(costs(w), costs(w), dem([1.0]), costs([1.0]))
    net = sf.net
    args = (ids(net.tail), ids(net.head), net.n_nodes, costs(net.free_flow_time), costs(net.capacity))
    od = (ids(sf.origins), ids(sf.destinations), dem(sf.demand))
    for method in routing.METHODS:
        routing.user_equilibrium(*args, 0.15, 4.0, *od, method=method, gap=0.0, max_iter=25)
    routing.user_equilibrium(
        *args,
        costs(net.alpha),
        costs(net.beta),
        *od,
        method="bfw",
        edge_mask=masks(np.ones(net.tail.size, dtype=bool)),
        through_mask=masks(np.ones(net.n_nodes, dtype=bool)),
        initial_flow=costs(sf.best_flow),
        max_iter=3,
    )


def _signature_probe() -> None:
    """Run in a fresh interpreter: signature counts after warm-up, warm calls and variants."""
    snapshots = {}

    def snapshot(name: str):
        snapshots[name] = {k: len(d.signatures) for k, d in dispatchers().items()}

    routing.warmup()
    snapshot("warmup")
    sf = load_sioux_falls()
    call_public_api(CANONICAL, sf)
    snapshot("canonical")
    for kinds in VARIANTS:
        call_public_api(kinds, sf)
    snapshot("variants")
    call_public_api(READONLY, sf)
    snapshot("readonly")
    print(json.dumps(snapshots))


@pytest.fixture(scope="module")
def signature_counts() -> dict[str, dict[str, int]]:
    """Signature counts from a fresh interpreter, so that earlier tests cannot hide a compile.

    A signature loaded from Numba's on-disk cache counts as one too, so a variant that
    needs a second signature shows up even when an earlier run cached it.
    """
    code = f"import sys; sys.path.insert(0, {str(TESTS)!r}); import test_routing as t; t._signature_probe()"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=280, env=dict(os.environ)
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _new_signatures(before: dict[str, int], after: dict[str, int]) -> dict[str, str]:
    return {k: f"{before[k]} -> {after[k]}" for k in after if after[k] != before[k]}


def test_every_kernel_is_cached():
    found = dispatchers()
    assert python_called_kernels() >= {
        "_shortest_paths_kernel",
        "_shortest_paths_batch_kernel",
        "_bpr_kernel",
        "_bpr_derivative_kernel",
        "_assign_kernel",
        "_line_search",
    }
    for name, d in found.items():
        assert type(d._cache).__name__ != "NullCache", f"{name} is not compiled with cache=True"


def test_warmup_compiles_every_kernel(signature_counts):
    counts = signature_counts["warmup"]
    missing = sorted(k for k in python_called_kernels() if counts[k] == 0)
    assert not missing, f"warmup() leaves uncompiled: {missing}"


def test_other_input_types_compile_no_new_signature(signature_counts):
    new = _new_signatures(signature_counts["canonical"], signature_counts["variants"])
    assert not new, f"int32/float32/list inputs compiled new signatures: {new}"


def test_readonly_inputs_compile_no_new_signature(signature_counts):
    new = _new_signatures(signature_counts["variants"], signature_counts["readonly"])
    assert not new, f"read-only inputs compiled new signatures: {new}"


def test_each_kernel_has_one_signature_after_public_calls(signature_counts):
    counts = signature_counts["readonly"]
    several = {k: v for k, v in counts.items() if v > 1}
    assert not several, f"kernels with more than one signature: {several}"


# --------------------------------------------------------------------- bad arguments


TAIL, HEAD, N = np.array([0, 1, 1, 2, 0]), np.array([1, 2, 0, 0, 2]), 4  # node 3 isolated
IP, IX, _PERM = routing.csr_from_edges(TAIL, HEAD, N)
W = np.ones(5)
MASK = np.ones(5, dtype=bool)


def _sp(**kw):
    args = {"indptr": IP, "indices": IX, "weights": W, "sources": [0]} | kw
    return lambda: routing.shortest_paths(**args)


def _batch(**kw):
    args = {"indptr": IP, "indices": IX, "weights_batch": np.ones((2, 5)), "sources": [0]} | kw
    return lambda: routing.shortest_paths_batch(**args)


def _assign(**kw):
    args = {
        "indptr": IP,
        "indices": IX,
        "weights": W,
        "origins": [0],
        "destinations": [2],
        "demand": [1.0],
    } | kw
    return lambda: routing.assign(**args)


def _bpr(**kw):
    args = {"t0": W, "flow": W, "capacity": W, "alpha": 0.15, "beta": 4.0} | kw
    return lambda: routing.bpr_time(**args)


def _ue(**kw):
    args = {
        "tail": TAIL,
        "head": HEAD,
        "n_nodes": N,
        "free_flow_time": W,
        "capacity": W,
        "alpha": 0.15,
        "beta": 4.0,
        "origins": [0, 1],
        "destinations": [2, 0],
        "demand": [1.0, 2.0],
    } | kw
    return lambda: routing.user_equilibrium(**args)


BAD_ARGUMENTS = {
    # shortest_paths
    "sp-weights-shape": (_sp(weights=np.ones(4)), "weights"),
    "sp-weights-2d": (_sp(weights=np.ones((1, 5))), "weights"),
    "sp-weights-negative": (_sp(weights=[1.0, -1.0, 1.0, 1.0, 1.0]), "weights"),
    "sp-weights-nan": (_sp(weights=[1.0, np.nan, 1.0, 1.0, 1.0]), "weights"),
    "sp-weights-inf": (_sp(weights=[1.0, np.inf, 1.0, 1.0, 1.0]), "weights"),
    "sp-weights-str": (_sp(weights=["a"] * 5), "weights"),
    "sp-sources-float": (_sp(sources=[0.0]), "sources"),
    "sp-sources-bool": (_sp(sources=[True]), "sources"),
    "sp-sources-range": (_sp(sources=[4]), "sources"),
    "sp-sources-negative": (_sp(sources=[-1]), "sources"),
    "sp-sources-2d": (_sp(sources=[[0]]), "sources"),
    "sp-indptr-float": (_sp(indptr=IP.astype(float)), "indptr"),
    "sp-indptr-decreasing": (_sp(indptr=[0, 3, 2, 5, 5]), "indptr"),
    "sp-indptr-last": (_sp(indptr=[0, 2, 4, 5, 6]), "indptr"),
    "sp-indptr-empty": (_sp(indptr=np.array([], dtype=np.int64)), "indptr"),
    "sp-indices-range": (_sp(indices=[1, 2, 2, 0, 4]), "indices"),
    "sp-indices-float": (_sp(indices=IX.astype(float)), "indices"),
    "sp-edge-mask-int": (_sp(edge_mask=np.ones(5, dtype=int)), "edge_mask"),
    "sp-edge-mask-shape": (_sp(edge_mask=np.ones(4, dtype=bool)), "edge_mask"),
    "sp-through-mask-int": (_sp(through_mask=np.ones(N, dtype=int)), "through_mask"),
    "sp-through-mask-shape": (_sp(through_mask=np.ones(N + 1, dtype=bool)), "through_mask"),
    # shortest_paths_batch
    "batch-weights-1d": (_batch(weights_batch=W), "weights_batch"),
    "batch-weights-shape": (_batch(weights_batch=np.ones((2, 4))), "weights_batch"),
    "batch-weights-nan": (_batch(weights_batch=np.full((2, 5), np.nan)), "weights_batch"),
    "batch-weights-negative": (_batch(weights_batch=-np.ones((2, 5))), "weights_batch"),
    "batch-sources-range": (_batch(sources=[7]), "sources"),
    "batch-edge-mask-int": (_batch(edge_mask=np.ones(5, dtype=int)), "edge_mask"),
    "batch-edge-mask-rows": (_batch(edge_mask=np.ones((3, 5), dtype=bool)), "edge_mask"),
    "batch-edge-mask-1d-length": (_batch(edge_mask=np.ones(4, dtype=bool)), "edge_mask"),
    "batch-through-mask-shape": (_batch(through_mask=np.ones(2, dtype=bool)), "through_mask"),
    # csr_from_edges
    "csr-lengths": (lambda: routing.csr_from_edges([0, 1, 2], [1, 2], 3), r"head.*tail"),
    "csr-tail-float": (lambda: routing.csr_from_edges([0.0, 1.0], [1, 2], 3), "tail"),
    "csr-head-range": (lambda: routing.csr_from_edges([0, 1], [1, 3], 3), "head"),
    "csr-tail-negative": (lambda: routing.csr_from_edges([-1, 1], [1, 2], 3), "tail"),
    "csr-n-nodes-negative": (lambda: routing.csr_from_edges([], [], -1), "n_nodes"),
    "csr-n-nodes-float": (lambda: routing.csr_from_edges([0], [1], 2.0), "n_nodes"),
    "csr-n-nodes-bool": (lambda: routing.csr_from_edges([0], [0], True), "n_nodes"),
    # assign
    "assign-weights-shape": (_assign(weights=np.ones(4)), "weights"),
    "assign-weights-nan": (_assign(weights=np.full(5, np.nan)), "weights"),
    "assign-classes": (_assign(weights=np.ones((2, 5)), demand=np.ones((3, 1))), "weights"),
    "assign-demand-negative": (_assign(demand=[-1.0]), "demand"),
    "assign-demand-nan": (_assign(demand=[np.nan]), "demand"),
    "assign-demand-shape": (_assign(demand=[1.0, 2.0]), "demand"),
    "assign-origins-range": (_assign(origins=[4]), "origins"),
    "assign-origins-float": (_assign(origins=[0.5]), "origins"),
    "assign-destinations-float": (_assign(destinations=[2.0]), "destinations"),
    "assign-od-lengths": (_assign(destinations=[2, 1]), "destinations"),
    "assign-edge-mask-1d": (_assign(edge_mask=MASK), "edge_mask"),
    "assign-edge-mask-int": (_assign(edge_mask=np.ones((1, 5), dtype=int)), "edge_mask"),
    "assign-edge-mask-shape": (_assign(edge_mask=np.ones((1, 4), dtype=bool)), "edge_mask"),
    "assign-through-mask-int": (_assign(through_mask=np.ones(N, dtype=int)), "through_mask"),
    "assign-time-shape": (_assign(time=np.ones(4)), "time"),
    "assign-distance-negative": (_assign(distance=-W), "distance"),
    # bpr_time
    "bpr-capacity-zero": (_bpr(capacity=0.0), "capacity"),
    "bpr-capacity-negative": (_bpr(capacity=[1.0, 1.0, -1.0, 1.0, 1.0]), "capacity"),
    "bpr-capacity-zero-entry": (_bpr(capacity=[1.0, 1.0, 0.0, 1.0, 1.0]), "capacity"),
    "bpr-capacity-shape": (_bpr(capacity=np.ones(4)), "capacity"),
    "bpr-t0-2d": (_bpr(t0=np.ones((1, 5))), "t0"),
    "bpr-t0-nan": (_bpr(t0=[np.nan] * 5), "t0"),
    "bpr-flow-shape": (_bpr(flow=np.ones(4)), "flow"),
    "bpr-flow-negative": (_bpr(flow=-W), "flow"),
    "bpr-alpha-nan": (_bpr(alpha=np.nan), "alpha"),
    "bpr-alpha-str": (_bpr(alpha="0.15"), "alpha"),
    "bpr-beta-negative": (_bpr(beta=-1.0), "beta"),
    "bpr-beta-shape": (_bpr(beta=np.ones(3)), "beta"),
    "bpr-beta-inf": (_bpr(beta=np.inf), "beta"),
    # user_equilibrium
    "ue-method": (_ue(method="newton"), "method"),
    "ue-gap-negative": (_ue(gap=-1e-4), "gap"),
    "ue-gap-nan": (_ue(gap=float("nan")), "gap"),
    "ue-gap-inf": (_ue(gap=float("inf")), "gap"),
    "ue-gap-str": (_ue(gap="1e-4"), "gap"),
    "ue-max-iter-zero": (_ue(max_iter=0), "max_iter"),
    "ue-max-iter-float": (_ue(max_iter=10.0), "max_iter"),
    "ue-max-iter-bool": (_ue(max_iter=True), "max_iter"),
    "ue-no-path": (_ue(origins=[0], destinations=[3], demand=[1.0]), "demand"),
    "ue-demand-negative": (_ue(demand=[1.0, -2.0]), "demand"),
    "ue-capacity-zero": (_ue(capacity=[1.0, 0.0, 1.0, 1.0, 1.0]), "capacity"),
    "ue-free-flow-time-shape": (_ue(free_flow_time=np.ones(4)), "free_flow_time"),
    "ue-tail-head": (_ue(head=HEAD[:4]), r"head.*tail"),
    "ue-origins-range": (_ue(origins=[0, 9]), "origins"),
    "ue-edge-mask-shape": (_ue(edge_mask=np.ones(4, dtype=bool)), "edge_mask"),
    "ue-through-mask-int": (_ue(through_mask=np.ones(N, dtype=int)), "through_mask"),
    "ue-initial-flow-negative": (_ue(initial_flow=-W), "initial_flow"),
    "ue-initial-flow-shape": (_ue(initial_flow=np.ones(3)), "initial_flow"),
}


@pytest.mark.parametrize(("call", "name"), list(BAD_ARGUMENTS.values()), ids=list(BAD_ARGUMENTS))
def test_bad_arguments_raise_value_error_naming_them(call, name):
    pattern = name if "*" in name else rf"\b{re.escape(name)}\b"
    with pytest.raises(ValueError, match=pattern):
        call()


def test_unchecked_path_calls_equal_the_checked_ones():
    """``check=False`` (the model's inner loop) skips argument checks, never changes results."""
    rng = np.random.default_rng(11)
    g = random_graph(rng, 40, 200)
    graph = routing.Graph(g.indptr, g.indices)
    od = graph.od_pairs(rng.integers(0, 40, 12), rng.integers(0, 40, 12))
    w = rng.uniform(1.0, 5.0, g.m)
    masks = rng.random((3, g.m)) < 0.9
    a = graph.paths(w, od, edge_mask=masks)
    b = graph.paths(w, od, edge_mask=masks, check=False)
    np.testing.assert_array_equal(a.pred, b.pred)
    demand = rng.uniform(0.0, 10.0, (3, 12))
    values = np.vstack([w, rng.uniform(0.0, 1.0, g.m)])
    np.testing.assert_array_equal(a.load(demand), a.load(demand, check=False))
    np.testing.assert_array_equal(a.sums(values), a.sums(values, check=False))
    np.testing.assert_array_equal(a.mins(w), a.mins(w, check=False))
    with pytest.raises(ValueError, match="demand"):
        a.load(-demand)  # the checked call still refuses bad input
