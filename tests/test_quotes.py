"""Tests of :mod:`corridors.quotes` against networkx: every quoted route is a least-cost route,
and the quote sums the links' money along it."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from corridors import quotes


@pytest.fixture(scope="module")
def congested(build_model, ban_closure_events):
    """A stochastic run into 2022 (queues, a ban, a closed corridor): the trees kept since 2019."""
    m = build_model(end_year=2023, stochastic=True, seed=2, events=ban_closure_events)
    for _ in range(13):
        m.step()
    return m


def test_quoted_trees_are_least_cost_by_networkx(congested):
    m = congested
    g, r, b = m.graph, m.routes, m._quote_trees.buffers
    through = g.through_mask
    checked = 0
    for j in range(r.job_row.size):
        row, src = int(r.job_row[j]), int(r.job_source[j])
        w, mask = b.weights[0, row], b.masks[0, row]
        d = nx.DiGraph()
        d.add_nodes_from(range(g.n_nodes))
        for s in np.flatnonzero(mask):
            u, v = int(g.tails[s]), int(g.indices[s])
            if u != src and not through[u]:
                continue  # paths pass only through the nodes that allow it
            if not d.has_edge(u, v) or d[u][v]["weight"] > w[s]:
                d.add_edge(u, v, weight=float(w[s]))
        ref = nx.single_source_dijkstra_path_length(d, src)
        ours = b.dist[0, j]
        # a tree is grown on the links toward its markets: their distances are the whole graph's
        for v in r.job_dest[r.job_dest_ptr[j] : r.job_dest_ptr[j + 1]]:
            if int(v) in ref:
                assert ours[v] == pytest.approx(ref[int(v)], rel=1e-9, abs=1e-9), (row, src, v)
            else:
                assert ours[v] == np.inf, (row, src, v)
            checked += 1
    assert checked == r.job_dest.size > 0


def test_the_quote_sums_the_links_money_along_the_quoted_path(congested):
    """Quoted from the trees the model's quarters left (the last loading round's)."""
    m = congested
    r, v, slot = m.routes, m.view, m.layout.slot
    money_s = v.money[slot]
    pred, money, _, _ = quotes.quote_quarter(
        r, m._quote_trees, money_s, v.time[slot], m.expected_wait[slot], m.layout.bloc_km_s, m._masks
    )
    for s in range(0, m.n_shippers, 7):
        o = r.ship_od[s]
        for k in range(r.n_corridors):
            p = pred[r.od_job[o, k]]
            node, total = int(r.od_dest[o]), 0.0
            if node != r.od_source[o] and p[node] < 0:
                assert not np.isfinite(money[s, k])
                continue
            while node != r.od_source[o]:
                total += money_s[p[node]]
                node = int(m.graph.tails[p[node]])
            assert money[s, k] == pytest.approx(total, rel=1e-12), (s, k)
