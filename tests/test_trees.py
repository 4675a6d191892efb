"""Tests of :mod:`corridors.trees`: the kept shortest-path trees equal fresh ones.

The tree cache grows each job's tree on the links that lie on some path to the job's
markets, and keeps it from one quarter to the next while it stays their unique shortest-path
tree under the new weights; these tests require every path to a market read from the kept
trees to equal, slot for slot, the path a fresh Dijkstra on the whole graph grows, on random
graphs with ties (hypothesis) and in every routing call of model runs with congestion, bans
and closures.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridors import quotes, routes, routing, trees


def fresh_trees(cache: trees.TreeCache, weights, masks) -> np.ndarray:
    r = cache.routes
    return cache.graph.trees(weights, masks, r.job_row, r.job_source)[1]


def market_paths(r: routes.Routes, tails: np.ndarray, pred: np.ndarray) -> tuple:
    """Every pair's path (slot list, and whether it reaches its market): all a tree is read for."""
    ptr, slots, reach = routes._path_slots(tails, pred, r.od_job, r.od_source, r.od_dest)
    return ptr, slots[: ptr[-1]], reach


def assert_same_paths(r: routes.Routes, tails, got: np.ndarray, fresh: np.ndarray) -> None:
    for a, b in zip(market_paths(r, tails, got), market_paths(r, tails, fresh), strict=True):
        np.testing.assert_array_equal(a, b)


def small_routes(
    n_rows: int, sources: list[list[int]], markets: list[list[list[int]]], n_slots: int
) -> routes.Routes:
    """A Routes with only the arrays a TreeCache reads: rows, their jobs and each job's markets."""
    job_row = np.array([r for r, src in enumerate(sources) for _ in src], dtype=np.int64)
    job_source = np.array([s for src in sources for s in src], dtype=np.int64)
    pairs = [(j, m) for j, ms in enumerate(m for row in markets for m in row) for m in ms]
    empty = np.zeros(0, dtype=np.int64)
    return routes.Routes(
        n_corridors=1, row_masks=np.ones((n_rows, n_slots), dtype=bool), row_vot=np.ones(n_rows),
        job_row=job_row, job_source=job_source,
        od_job=np.array([[j] for j, _ in pairs], dtype=np.int64).reshape(-1, 1),
        od_source=job_source[[j for j, _ in pairs]].astype(np.int64),
        od_dest=np.array([m for _, m in pairs], dtype=np.int64), group_od=np.zeros(1, dtype=np.int64),
        od_ship_ptr=np.zeros(1, dtype=np.int64), od_ship=empty, ship_od=empty, box_group=np.zeros(0, dtype=bool),
    )  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_kept_trees_equal_fresh_trees_on_random_graphs(data):
    n = data.draw(st.integers(2, 9))
    m = data.draw(st.integers(1, 4 * n))
    tail = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    head = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    indptr, indices, _ = routing.csr_from_edges(tail, head, n)
    through = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    graph = routing.Graph(indptr, indices, through)
    n_rows = data.draw(st.integers(1, 3))
    sources = [data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3)) for _ in range(n_rows)]
    # each job's markets: the only nodes whose paths are read from its tree
    node_lists = st.lists(st.integers(0, n - 1), min_size=0, max_size=3, unique=True)
    markets = [[data.draw(node_lists) for _ in src] for src in sources]
    # ours (one fused kernel) or an outside router through the same protocol (checks, then solves)
    outside = types.SimpleNamespace(shortest_path_trees=routing.shortest_path_trees)
    router = outside if data.draw(st.booleans()) else None
    rts = small_routes(n_rows, sources, markets, m)
    cache = trees.TreeCache(rts, graph, router)
    weight = st.integers(1, 6).map(float)  # small integers: ties are common
    # either weights of their own per row, or the model's: made of money, time and wait per
    # slot (then only the slots whose inputs changed are compared)
    from_inputs = data.draw(st.booleans())
    vot = np.array(data.draw(st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=n_rows, max_size=n_rows)))
    inputs = np.array([data.draw(st.lists(weight, min_size=m, max_size=m)) for _ in range(3)])
    w = np.array([data.draw(st.lists(weight, min_size=m, max_size=m)) for _ in range(n_rows)])
    masks = np.array([data.draw(st.lists(st.booleans(), min_size=m, max_size=m)) for _ in range(n_rows)])
    for _ in range(data.draw(st.integers(1, 6))):
        if from_inputs:
            w = quotes._route_weights(inputs[0], inputs[1], inputs[2], vot)
        got = cache.update(w, masks, inputs.copy() if from_inputs else None).copy()
        assert_same_paths(rts, graph.tails, got, fresh_trees(cache, w, masks))
        w, inputs = w.copy(), inputs.copy()
        for _ in range(data.draw(st.integers(0, 3))):  # a few weights change, sometimes a mask
            r, s = data.draw(st.integers(0, n_rows - 1)), data.draw(st.integers(0, m - 1))
            if from_inputs:
                inputs[data.draw(st.integers(0, 2)), s] = data.draw(weight)
            else:
                w[r, s] = data.draw(weight)
        if data.draw(st.booleans()):
            masks = masks.copy()
            masks[data.draw(st.integers(0, n_rows - 1)), data.draw(st.integers(0, m - 1))] ^= True


@pytest.mark.parametrize("case", ["baseline", "ban_closure"])
def test_kept_trees_equal_fresh_trees_in_model_runs(build_model, ban_closure_events, case):
    """After every quarter of a run, the tree cache (the quotes', which the loading rounds
    refresh in place) holds the paths a fresh Dijkstra grows for the weights and links of its
    last call."""
    m = build_model(
        end_year=2023, stochastic=True, seed=5, events=ban_closure_events if case != "baseline" else None
    )
    r, g = m.routes, m.graph
    checked = 0
    while m.running and m.t < m.n_steps:
        m.step()
        for b in (m._quote_trees.buffers, m._rounds):
            for i in range(b.pred.shape[0]):
                if b.fresh[i]:
                    continue
                fresh = g.trees(b.weights[i], b.masks[i], r.job_row, r.job_source)[1]
                assert_same_paths(r, g.tails, b.pred[i], fresh)
                checked += 1
    assert checked == m.n_steps
