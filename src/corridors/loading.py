"""Routing and loading kernels of a quarter: routes, quotes, loading with hard capacities, experienced costs.

Functions over plain arrays, with the hot loops in Numba kernels (``cache=True``; every
array that reaches a kernel is float64, int64 or bool, built by this module). The model
(:mod:`corridors.model`) calls them in the order of a step; agents never do.

Edges are handled in CSR *slot* order (``Network.perm``). Freight is routed per commodity
group (one routing class per group and corridor, a *row*) from each group's origins (a
*job*: one shortest-path tree per row and origin) to its markets (an *OD pair*, one per
origin-market pair; a shipper belongs to one pair). :class:`Routes` flattens the groups
into these arrays once per model.

A quarter:

1. :func:`quote`: the least-cost path of every shipper on every corridor under the
   expected queues, and the money, time and tonne-km by power along it (one kernel).
2. :func:`offer`: contracted shares split by bans, banned freight re-booked where slots
   exist, the backlog carried or given up, and the first round's loads (one kernel).
3. :func:`spread`: later rounds route on this quarter's queues at the averaged loads
   (successive averages over parallel routes; one kernel a round).
4. :func:`settle`: hard capacities throttle every part of a flow at its tightest link;
   served freight, backlog, edge flows, BPR times and queue waits, and each shipper's
   experienced money and time (one kernel).

Shortest-path trees are recomputed only for rows whose open links or weights changed
since the same call of the last quarter (:class:`TreeCache`): events are sparse, so most
quarters re-route only the corridors whose costs moved. The results are those of routing
every row afresh: a tree depends on nothing but its row's masked weights and its source.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from corridors import routing

__all__ = ["QUARTER_DAYS", "Routes", "Settled", "TreeCache", "offer", "quote", "rebook", "settle", "spread"]

QUARTER_DAYS = 91.25

_kernel = njit(cache=True, error_model="numpy")


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True, eq=False)
class Routes:
    """The commodity groups flattened for the kernels (built once per model).

    Attributes
    ----------
    n_corridors : int
        K; row ``g * K + k`` routes group ``g`` on corridor ``k``.
    row_masks : bool (R, n_slots)
        The links each row may use by commodity and corridor (before closures).
    row_vot : float (R,)
        The group's value of time, USD per tonne-day (the routing weight's time price).
    job_row, job_source : int (J,)
        Job ``j`` grows the tree of row ``job_row[j]`` from node ``job_source[j]``.
    od_job : int (n_od, K)
        The job whose tree holds OD pair ``o``'s path on corridor ``k``.
    od_source, od_dest : int (n_od,)
        Origin and market node of each pair.
    group_od : int (G + 1,)
        Pairs of group ``g`` are ``group_od[g]:group_od[g + 1]``, in sorted (origin, market)
        order.
    od_ship_ptr, od_ship : int
        Shippers of pair ``o`` (CSR): ``od_ship[od_ship_ptr[o]:od_ship_ptr[o + 1]]``.
    ship_od : int (S,)
        The pair of each shipper.
    box_group : bool (G,)
        The container group (its flows are also counted in TEU).
    """

    n_corridors: int
    row_masks: np.ndarray
    row_vot: np.ndarray
    job_row: np.ndarray
    job_source: np.ndarray
    od_job: np.ndarray
    od_source: np.ndarray
    od_dest: np.ndarray
    group_od: np.ndarray
    od_ship_ptr: np.ndarray
    od_ship: np.ndarray
    ship_od: np.ndarray
    box_group: np.ndarray

    @classmethod
    def build(cls, groups, n_shippers: int, n_corridors: int) -> Routes:
        """From commodity groups (``shippers``, ``od_of``, ``origins``, ``markets``, ``masks``
        (K, n_slots), ``commodity``; and ``vot``, else 0 until :meth:`with_vot`)."""
        K = n_corridors
        masks, vot, job_row, job_source, od_job, od_source, od_dest = [], [], [], [], [], [], []
        group_od = [0]
        ship_od = np.zeros(n_shippers, dtype=np.int64)
        jobs = 0
        for g, grp in enumerate(groups):
            org, od_origin = np.unique(np.asarray(grp["origins"], dtype=np.int64), return_inverse=True)
            n_org = org.size
            for k in range(K):
                masks.append(np.asarray(grp["masks"][k], dtype=bool))
                vot.append(float(grp.get("vot", 0.0)))
                job_row.extend([g * K + k] * n_org)
                job_source.extend(org.tolist())
            for j, u in enumerate(od_origin.ravel()):
                od_job.append([jobs + k * n_org + int(u) for k in range(K)])
                od_source.append(int(org[u]))
                od_dest.append(int(grp["markets"][j]))
            ship_od[np.asarray(grp["shippers"])] = group_od[-1] + np.asarray(grp["od_of"])
            jobs += K * n_org
            group_od.append(group_od[-1] + od_origin.size)
        order = np.argsort(ship_od, kind="stable")
        counts = np.bincount(ship_od, minlength=group_od[-1])
        return cls(
            n_corridors=K,
            row_masks=np.ascontiguousarray(masks, dtype=bool),
            row_vot=np.array(vot, dtype=np.float64),
            job_row=np.array(job_row, dtype=np.int64),
            job_source=np.array(job_source, dtype=np.int64),
            od_job=np.array(od_job, dtype=np.int64).reshape(-1, K),
            od_source=np.array(od_source, dtype=np.int64),
            od_dest=np.array(od_dest, dtype=np.int64),
            group_od=np.array(group_od, dtype=np.int64),
            od_ship_ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            od_ship=order.astype(np.int64),
            ship_od=ship_od,
            box_group=np.array([grp["commodity"] == "containers" for grp in groups], dtype=bool),
        )

    @property
    def n_rows(self) -> int:
        return self.row_masks.shape[0]

    def with_vot(self, group_vot: np.ndarray) -> Routes:
        """The same routes with each group's value of time (USD per tonne-day)."""
        return dataclasses.replace(
            self, row_vot=np.repeat(np.asarray(group_vot, dtype=np.float64), self.n_corridors)
        )


@dataclass(frozen=True, eq=False)
class TreeBuffers:
    """The state of ``n`` tree caches, stacked so that one kernel can update them all: the
    weights and open links of their last call ``(n, R, n_slots)``, each job's tree ``pred``
    and its distances ``dist`` ``(n, J, n_nodes)``, whether it was the unique shortest-path
    tree ``strict`` ``(n, J)``, whether a cache has never been called ``fresh`` ``(n,)``, and
    each tree's nodes in depth-first preorder ``order`` (the first ``reached`` of them), each
    node's place ``pos`` in it and the size of its subtree ``size``: a subtree is a run of
    ``order``. ``inputs`` ``(n, 3, n_slots)`` are the money, travel time and queue wait per
    slot the last call's weights were made of."""

    weights: np.ndarray
    masks: np.ndarray
    pred: np.ndarray
    dist: np.ndarray
    strict: np.ndarray
    fresh: np.ndarray
    order: np.ndarray
    reached: np.ndarray
    pos: np.ndarray
    size: np.ndarray
    inputs: np.ndarray

    @classmethod
    def allocate(cls, n: int, routes: Routes, n_nodes: int) -> TreeBuffers:
        R, n_slots = routes.row_masks.shape
        J = routes.job_row.size
        return cls(np.full((n, R, n_slots), np.nan), np.zeros((n, R, n_slots), dtype=bool),
                   np.full((n, J, n_nodes), -1, dtype=np.int64), np.full((n, J, n_nodes), np.inf),
                   np.zeros((n, J), dtype=bool), np.ones(n, dtype=bool), np.zeros((n, J, n_nodes), dtype=np.int32),
                   np.zeros((n, J), dtype=np.int64), np.zeros((n, J, n_nodes), dtype=np.int32),
                   np.zeros((n, J, n_nodes), dtype=np.int32), np.full((n, 3, n_slots), np.nan))  # fmt: skip

    def arrays(self) -> tuple:
        return (self.weights, self.masks, self.pred, self.dist, self.strict, self.fresh, self.order,
                self.reached, self.pos, self.size, self.inputs)  # fmt: skip


class TreeCache:
    """The shortest-path trees of one routing call, kept from quarter to quarter.

    :meth:`update` re-grows only the jobs whose trees may differ from a fresh solve (see
    :func:`_refresh_trees`); the others keep their trees, which are the same as a new solve
    would give. Another ``router`` (a benchmark's peer) solves every tree of every call. The
    cache's state is entry ``index`` of ``buffers`` (its own by default).
    """

    def __init__(
        self, routes: Routes, graph: routing.Graph, router: Any = None, *, buffers: TreeBuffers | None = None,
        index: int = 0,
    ) -> None:  # fmt: skip
        self.routes = routes
        self.router = None if router is routing else router
        self.graph = graph
        in_ptr, in_slots = _incoming(graph.indices, graph.n_nodes)
        # the graph as the kernels take it: CSR, each slot's tail, through nodes, incoming CSR
        self.arrays = (graph.indptr, graph.indices, graph.tails, graph.through_mask, in_ptr, in_slots)
        self.buffers = buffers or TreeBuffers.allocate(1, routes, graph.n_nodes)
        self.index = index

    @property
    def pred(self) -> np.ndarray:
        return self.buffers.pred[self.index]

    @property
    def fresh(self) -> bool:
        return bool(self.buffers.fresh[self.index])

    def _solve(self, weights, masks, rows, sources) -> np.ndarray:
        g = self.graph
        return self.router.shortest_path_trees(
            g.indptr, g.indices, weights, rows, sources, edge_mask=masks, through_mask=g.through_mask
        )[1]

    def update(self, weights: np.ndarray, masks: np.ndarray, inputs: np.ndarray | None = None) -> np.ndarray:
        """Trees for ``weights`` and ``masks`` (R, n_slots); returns ``pred`` (J, n_nodes).

        A job is solved again only if its row's open links changed, or its old tree is no
        longer the unique shortest-path tree under the new weights (a non-tree link is as
        cheap as the tree's path, or cheaper). A unique shortest-path tree is what any
        correct Dijkstra returns, so reused trees equal freshly grown ones. ``inputs``
        (3, n_slots), if given, are the money, time and wait the weights were made of
        (:func:`route_weights`): then only the slots where they changed are compared.
        """
        r, b, i = self.routes, self.buffers, self.index
        if self.router is None:
            same = inputs is not None and bool(np.array_equal(masks, b.masks[i]))
            if inputs is None:  # unknown: compare every slot
                inputs = np.full(b.inputs[i].shape, np.nan)
            _refresh_trees(self.arrays, weights, masks, np.asarray(inputs, dtype=np.float64), same, r.job_row,
                           r.job_source, b.weights[i], b.masks[i], b.pred[i], b.dist[i], b.strict[i],
                           b.fresh[i : i + 1], b.order[i], b.reached[i], b.pos[i], b.size[i],
                           b.inputs[i])  # fmt: skip
            return b.pred[i]
        # another router (a peer, for comparison) solves every tree of every call: keeping
        # trees by their certificates is part of our own route-cost core
        b.pred[i] = self._solve(weights, masks, r.job_row, r.job_source)
        b.fresh[i] = False
        b.weights[i] = weights
        b.masks[i] = masks
        return b.pred[i]


@_kernel
def _row_changes(weights, masks, old_weights, old_masks, inputs, old_inputs, masks_same):
    """Per row: 0 same open links and weights, 1 weights changed, 2 open links changed (or a
    weight is not finite). Also the changed open slots of each row of state 1, as a CSR list.

    With ``masks_same`` (the caller knows the open links did not change) only the slots
    whose ``inputs`` (money, time, wait: what every row's weight is made of) changed can
    have changed weights, and only they are compared; the new weights and inputs are then
    stored over the old ones there, and everywhere otherwise.
    """
    R, n_slots = weights.shape
    if masks_same:
        cand = np.empty(n_slots, dtype=np.int64)
        n_cand = 0
        for s in range(n_slots):
            if (
                inputs[0, s] != old_inputs[0, s]
                or inputs[1, s] != old_inputs[1, s]
                or inputs[2, s] != old_inputs[2, s]
            ):
                cand[n_cand] = s
                n_cand += 1
        state = np.zeros(R, dtype=np.int64)
        ptr = np.zeros(R + 1, dtype=np.int64)
        slots = np.empty(R * n_cand, dtype=np.int64)
        n = 0
        for r in range(R):
            start = n
            for i in range(n_cand):
                s = cand[i]
                if masks[r, s] and not np.isfinite(weights[r, s]):
                    state[r] = 2
                    break
                if masks[r, s] and weights[r, s] != old_weights[r, s]:
                    state[r] = 1
                    slots[n] = s
                    n += 1
            if state[r] == 2:
                n = start
            ptr[r + 1] = n
        for i in range(n_cand):
            s = cand[i]
            for r in range(R):
                old_weights[r, s] = weights[r, s]
            for a in range(3):
                old_inputs[a, s] = inputs[a, s]
        return state, ptr, slots
    state = np.zeros(R, dtype=np.int64)
    ptr = np.zeros(R + 1, dtype=np.int64)
    slots = np.empty(R * n_slots, dtype=np.int64)
    n = 0
    for r in range(R):
        start = n
        for s in range(n_slots):
            m = masks[r, s]
            if m != old_masks[r, s] or (m and not np.isfinite(weights[r, s])):
                state[r] = 2
                break
            if m and weights[r, s] != old_weights[r, s]:
                state[r] = 1
                slots[n] = s
                n += 1
        if state[r] == 2:
            n = start
        ptr[r + 1] = n
    old_weights[:] = weights
    old_masks[:] = masks
    old_inputs[:] = inputs
    return state, ptr, slots


@_kernel
def _tree_distances(tails, p, src, w, d, stack):
    """Distances along the tree ``p`` under weights ``w``, summed from the source outwards
    as Dijkstra sums them (inf where the tree does not reach)."""
    n = d.shape[0]
    for v in range(n):
        d[v] = np.nan
    d[src] = 0.0
    for v in range(n):
        if not np.isnan(d[v]):
            continue
        if p[v] < 0:
            d[v] = np.inf
            continue
        top = 0
        u = v
        while np.isnan(d[u]) and p[u] >= 0:
            stack[top] = u
            top += 1
            u = tails[p[u]]
        base = d[u] if not np.isnan(d[u]) else np.inf
        while top > 0:
            top -= 1
            x = stack[top]
            base = base + w[p[x]]
            d[x] = base


def _incoming(indices: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """The slots into each node as CSR: node ``v``'s are ``in_slots[in_ptr[v]:in_ptr[v + 1]]``."""
    in_slots = np.argsort(indices, kind="stable").astype(np.int64)
    in_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n_nodes), out=in_ptr[1:])
    return in_ptr, in_slots


@_kernel
def _tree_order(tails, p, src, order, pos, size, scratch):
    """The tree's nodes in depth-first preorder from ``src`` (each after its parent, each
    subtree a run: node ``v``'s is ``order[pos[v]:pos[v] + size[v]]``); returns how many
    nodes the tree reaches. ``scratch`` (3, n + 1) int64 is working space."""
    n = p.shape[0]
    n_children = scratch[0]
    children = scratch[1]
    fill = scratch[2]
    stack = size  # the sizes are counted after the walk: their array is the walk's stack
    n_children[:] = 0
    for v in range(n):
        if v != src and p[v] >= 0:
            n_children[tails[p[v]] + 1] += 1
    for v in range(n):
        n_children[v + 1] += n_children[v]
    fill[:n] = n_children[:n]
    for v in range(n):
        if v != src and p[v] >= 0:
            u = tails[p[v]]
            children[fill[u]] = v
            fill[u] += 1
    stack[0] = src
    top = 1
    k = 0
    while top > 0:
        top -= 1
        u = stack[top]
        pos[u] = k
        order[k] = u
        k += 1
        for i in range(n_children[u + 1] - 1, n_children[u] - 1, -1):
            stack[top] = children[i]
            top += 1
    for i in range(k):
        size[order[i]] = 1
    for i in range(k - 1, 0, -1):
        v = order[i]
        size[tails[p[v]]] += size[v]
    return k


@_kernel
def _ordered_distances(tails, p, w, order, reached, d):
    """:func:`_tree_distances` along a stored order (the same sums: parent's distance plus the
    link's weight)."""
    for v in range(d.shape[0]):
        d[v] = np.inf
    d[order[0]] = 0.0
    for i in range(1, reached):
        v = order[i]
        d[v] = d[tails[p[v]]] + w[p[v]]


@_kernel
def _beats(tails, p, u, v, slot, nd, dv):
    """Whether a fresh Dijkstra keeps ``v``'s tree link against the candidate ``slot`` from
    ``u`` at ``nd``: the candidate is dearer, or a parallel link of the same tail that comes
    later in the adjacency list at the same cost (relaxations take only a strictly lower cost)."""
    return nd > dv or (nd == dv and p[v] >= 0 and tails[p[v]] == u and slot > p[v])


@_kernel
def _out_links_strict(indptr, indices, tails, mask, w, src, p, d, u):
    """Whether every open link out of ``u`` that is not a tree link, into a node other than
    the source, ends strictly above the tree's distance of its head (see :func:`_beats`)."""
    for slot in range(indptr[u], indptr[u + 1]):
        v = indices[slot]  # a link into the source never improves it: weights are >= 0
        if (
            mask[slot]
            and v != src
            and p[v] != slot
            and not _beats(tails, p, u, v, slot, d[u] + w[slot], d[v])
        ):
            return False
    return True


@_kernel
def _strictly_optimal(indptr, indices, tails, through, mask, w, src, p, d):
    """Whether the tree ``p`` with distances ``d`` is the unique shortest-path tree: every open
    link not in it, out of a node paths may pass through (or the source) and reached by the
    tree, into a node other than the source, ends strictly above the tree's distance of its
    head."""
    n = d.shape[0]
    for u in range(n):
        if d[u] == np.inf or (u != src and not through[u]):
            continue
        if not _out_links_strict(indptr, indices, tails, mask, w, src, p, d, u):
            return False
    return True


@_kernel
def _subtrees_strict(graph, mask, w, src, p, d, order, pos, size, heads, n_heads):
    """Whether a tree that was the unique shortest-path tree stays so after some weights
    changed, among them the tree links into ``heads[:n_heads]``: only the distances in those
    nodes' subtrees move. They are summed again in place (the same sums as
    :func:`_ordered_distances`), and only the links into and out of the subtrees' nodes are
    checked: a changed link off the tree with neither end in them was checked at distances
    that did not move (:func:`_refresh_trees` does that first)."""
    indptr, indices, tails, through, in_ptr, in_slots = graph
    for a in range(1, n_heads):  # by place in the preorder: a nested subtree then follows its root's
        x = heads[a]
        b = a - 1
        while b >= 0 and pos[heads[b]] > pos[x]:
            heads[b + 1] = heads[b]
            b -= 1
        heads[b + 1] = x
    n_top = 0
    end = -1
    for h in range(n_heads):  # keep the outermost subtrees: their runs of the preorder are disjoint
        if pos[heads[h]] >= end:
            heads[n_top] = heads[h]
            n_top += 1
            end = pos[heads[h]] + size[heads[h]]
    for h in range(n_top):
        for i in range(pos[heads[h]], pos[heads[h]] + size[heads[h]]):
            x = order[i]
            e = p[x]
            d[x] = d[tails[e]] + w[e]
    for h in range(n_top):
        for i in range(pos[heads[h]], pos[heads[h]] + size[heads[h]]):
            x = order[i]
            if through[x] and not _out_links_strict(indptr, indices, tails, mask, w, src, p, d, x):
                return False
            for k in range(in_ptr[x], in_ptr[x + 1]):
                slot = in_slots[k]
                u = tails[slot]
                if d[u] == np.inf or (u != src and not through[u]) or not mask[slot] or p[x] == slot:
                    continue
                if not _beats(tails, p, u, x, slot, d[u] + w[slot], d[x]):
                    return False
    return True


@_kernel
def _refresh_trees(
    graph, weights, masks, inputs, masks_same, job_row, job_source, old_weights, old_masks, pred, dist, strict,
    fresh_flag, order, reached, pos, size, old_inputs,
):  # fmt: skip
    """Keep or re-grow every job's tree in place (``pred``), on one thread.

    ``graph`` is :attr:`TreeCache.arrays`; ``inputs`` (3, n_slots) the money, time and wait
    the ``weights`` are made of, and ``masks_same`` whether the caller knows the open links
    are those of the last call (:func:`_row_changes`). ``dist`` holds each tree's distances and
    ``strict`` whether the tree was the unique shortest-path tree at the old weights. A
    strict tree whose row changed only in weights off the tree, on links whose new weight
    still leaves it strictly best, is kept without further work; one whose tree links
    changed has the distances of those links' subtrees summed again and the links at their
    nodes checked (:func:`_subtrees_strict`), and is re-grown if a link beats it (Dijkstra,
    :mod:`corridors.routing`'s); a tree that was not strict, or that a changed link beats
    at its old distances, is checked whole (:func:`_strictly_optimal`) and re-grown if that
    fails; a changed set of open links re-grows the row. Every kept tree is the tree a fresh
    Dijkstra would return. The new weights and links are stored as
    the old ones; ``fresh_flag[0]`` (never called: grow every tree) is cleared. Returns the
    number of trees that changed (every tree on the first call): 0 means every path is as
    before.
    """
    indptr, indices, tails, through = graph[0], graph[1], graph[2], graph[3]
    fresh = fresh_flag[0]
    state, ptr, changed = _row_changes(weights, masks, old_weights, old_masks, inputs, old_inputs,
                                       masks_same and not fresh)  # fmt: skip
    n = indptr.shape[0] - 1
    ip = indptr.view(np.uint64)
    ix = indices.view(np.uint64)
    work = routing._workspace(n)
    w = np.empty(weights.shape[1])
    stack = np.empty(n, dtype=np.int64)
    heads = np.empty(weights.shape[1], dtype=np.int64)
    p_old = np.empty(n, dtype=np.int64)
    scratch = np.empty((3, n + 1), dtype=np.int64)
    w_row = -1
    inv = 0.0
    ring = np.uint64(0)
    moved = 0
    for j in range(job_row.shape[0]):
        r = job_row[j]
        src = job_source[j]
        p = pred[j]
        d = dist[j]
        if not fresh and state[r] == 0:
            continue
        if not fresh and state[r] == 1:
            whole = not strict[j]
            n_heads = 0
            if not whole:  # only links off the tree changed: their own inequalities decide
                for i in range(ptr[r], ptr[r + 1]):
                    slot = changed[i]
                    u = tails[slot]
                    if d[u] == np.inf or (u != src and not through[u]):
                        continue
                    v = indices[slot]
                    if v == src:
                        continue
                    if p[v] == slot:
                        heads[n_heads] = v
                        n_heads += 1
                    elif not _beats(tails, p, u, v, slot, d[u] + weights[r, slot], d[v]):
                        whole = True
                        break
                if not whole and n_heads == 0:
                    continue
            if not whole:  # tree links changed: the subtrees below them moved
                if _subtrees_strict(
                    graph, masks[r], weights[r], src, p, d, order[j], pos[j], size[j], heads, n_heads
                ):
                    continue
                # a link beats the tree at its exact new distances: so would it in the whole check
            else:
                _tree_distances(tails, p, src, weights[r], d, stack)
                if _strictly_optimal(indptr, indices, tails, through, masks[r], weights[r], src, p, d):
                    strict[j] = True
                    continue
        if r != w_row:
            inv, ring = routing._masked_weights(weights[r], masks[r], w)
            w_row = r
        p_old[:] = p
        routing._dijkstra(ip, ix, w, through, src, d, p, work, inv, ring)
        if fresh:
            moved += 1
        else:
            for v in range(n):
                if p[v] != p_old[v]:
                    moved += 1
                    break
        reached[j] = _tree_order(tails, p, src, order[j], pos[j], size[j], scratch)
        _ordered_distances(tails, p, weights[r], order[j], reached[j], d)  # as the checks will sum them
        strict[j] = _strictly_optimal(indptr, indices, tails, through, masks[r], weights[r], src, p, d)
    fresh_flag[0] = False
    return moved


# --------------------------------------------------------------------------- paths


@_kernel
def _path_sums(tails, pred, src, dest, values, out):
    """Sums of every row of ``values`` along one path, in one walk (inf: unreachable)."""
    A = values.shape[0]
    node = dest
    if node != src and pred[node] < 0:
        for a in range(A):
            out[a] = np.inf
        return
    for a in range(A):
        out[a] = 0.0
    while node != src:
        slot = pred[node]
        for a in range(A):
            out[a] += values[a, slot]
        node = tails[slot]


@_kernel
def _path_slots(tails, pred, od_job, od_source, od_dest):
    """Every pair's path on every corridor as slot lists, walked once: path ``o * K + k`` is
    ``slots[ptr[i]:ptr[i + 1]]``, from the market back to the origin (the order in which sums
    along it are taken); ``reach[i]`` False where the corridor cannot reach the market."""
    n_od, K = od_job.shape
    ptr = np.zeros(n_od * K + 1, dtype=np.int64)
    slots = np.empty(n_od * K * 16, dtype=np.int64)  # grown when paths are longer
    reach = np.ones(n_od * K, dtype=np.bool_)
    c = 0
    for o in range(n_od):
        src = od_source[o]
        for k in range(K):
            i = o * K + k
            p = pred[od_job[o, k]]
            node = od_dest[o]
            if node != src and p[node] < 0:
                reach[i] = False
            else:
                while node != src:
                    slot = p[node]
                    if c == slots.shape[0]:
                        grown = np.empty(2 * c, dtype=np.int64)
                        grown[:c] = slots
                        slots = grown
                    slots[c] = slot
                    c += 1
                    node = tails[slot]
            ptr[i + 1] = c
    return ptr, slots, reach


@_kernel
def _parts_on_paths(paths, ra, per_shipper, scale, parts):
    """Edge flows of ``per_shipper`` (S, K) tonnes on cached ``paths`` (:func:`_path_slots`),
    per group summed over corridors and divided by ``scale``, into ``parts`` (G, n_slots).

    The same sums as walking the trees: each corridor's flows added pair by pair, then the
    corridors in order; only the links a group's paths touch are summed."""
    ptr, slots, reach = paths
    od_job, group_od, od_ship_ptr, od_ship = ra[0], ra[3], ra[4], ra[5]
    n_od, K = od_job.shape
    n_slots = parts.shape[1]
    od_demand = np.zeros((n_od, K))
    for o in range(n_od):
        for i in range(od_ship_ptr[o], od_ship_ptr[o + 1]):
            s = od_ship[i]
            for k in range(K):
                od_demand[o, k] += per_shipper[s, k]
    scratch = np.zeros((K, n_slots))
    mark = np.zeros(n_slots, dtype=np.bool_)
    touched = np.empty(n_slots, dtype=np.int64)
    parts[:] = 0.0
    for g in range(group_od.shape[0] - 1):
        nt = 0
        for k in range(K):
            for o in range(group_od[g], group_od[g + 1]):
                q = od_demand[o, k]
                i = o * K + k
                if q == 0.0 or not reach[i]:
                    continue
                for j in range(ptr[i], ptr[i + 1]):
                    slot = slots[j]
                    scratch[k, slot] += q
                    if not mark[slot]:
                        mark[slot] = True
                        touched[nt] = slot
                        nt += 1
        for t in range(nt):
            slot = touched[t]
            acc = scratch[0, slot]
            for k in range(1, K):
                acc += scratch[k, slot]
            parts[g, slot] = acc / scale
            for k in range(K):
                scratch[k, slot] = 0.0
            mark[slot] = False


@_kernel
def _load_all(tails, pred, ra, per_shipper, out):
    """Edge flows of ``per_shipper`` (S, K) tonnes on ``pred`` into ``out``: each group's
    flows summed over corridors, then the groups in order."""
    _load_on_paths(_path_slots(tails, pred, ra[0], ra[1], ra[2]), ra, per_shipper, out)


# --------------------------------------------------------------------------- quote


@_kernel
def _quote_kernel(tails, pred, od_job, od_source, od_dest, ship_od, values, n_powers, money, time, bloc):
    """Money, time and tonne-km shares by power along every shipper's path on every corridor.

    ``values`` rows: money, queue wait (days), travel time (h), then tonne-km of each power.
    """
    S, K = money.shape
    sums = np.empty(values.shape[0])
    for s in range(S):
        o = ship_od[s]
        src, dest = od_source[o], od_dest[o]
        for k in range(K):
            _path_sums(tails, pred[od_job[o, k]], src, dest, values, sums)
            money[s, k] = sums[0]
            time[s, k] = sums[2] / 24.0 + sums[1]
            total = 0.0
            for b in range(n_powers):
                total += sums[3 + b]
            for b in range(n_powers):
                v = sums[3 + b] / total
                bloc[s, k, b] = v if np.isfinite(v) else 0.0


@_kernel
def _route_weights(money_s, time_s, wait_s, row_vot):
    R = row_vot.shape[0]
    n = money_s.shape[0]
    out = np.empty((R, n))
    for r in range(R):
        v = row_vot[r] / 24.0
        for s in range(n):
            out[r, s] = money_s[s] + v * (time_s[s] + 24.0 * wait_s[s])
    return out


def route_weights(routes: Routes, money_s: np.ndarray, time_s: np.ndarray, wait_s: np.ndarray) -> np.ndarray:
    """Routing weight of every row: money plus the group's value of time on time and queue."""
    return _route_weights(money_s, time_s, wait_s, routes.row_vot)


def quote(
    routes: Routes,
    trees: TreeCache,
    tails: np.ndarray,
    money_s: np.ndarray,
    time_s: np.ndarray,
    wait_s: np.ndarray,
    bloc_km_s: np.ndarray,
    masks: np.ndarray,
    n_shippers: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Least-cost path of every corridor for every shipper under the expected queues.

    Returns the trees ``pred`` and, per shipper and corridor, the quoted money (USD/t),
    time (days, queue included) and share of the route's tonne-km in each power's bloc
    ``(S, K, P)``; ``inf`` money and time where the corridor cannot reach the market.
    """
    pred = trees.update(route_weights(routes, money_s, time_s, wait_s), masks)
    K, P = routes.n_corridors, bloc_km_s.shape[0]
    values = np.ascontiguousarray(np.vstack([money_s, wait_s, time_s, bloc_km_s]))
    money = np.empty((n_shippers, K))
    time = np.empty((n_shippers, K))
    bloc = np.empty((n_shippers, K, P))
    _quote_kernel(tails, pred, routes.od_job, routes.od_source, routes.od_dest, routes.ship_od, values, P,
                  money, time, bloc)  # fmt: skip
    return pred, money, time, bloc


def _arrays(routes: Routes) -> tuple:
    return (routes.od_job, routes.od_source, routes.od_dest, routes.group_od, routes.od_ship_ptr,
            routes.od_ship, routes.box_group)  # fmt: skip


# --------------------------------------------------------------------------- offer


@_kernel
def _ban_split(shares, keep, weights, kept, moved):
    """Into ``kept`` and ``moved``: see :func:`corridors.agents.ban_split`."""
    S, K = shares.shape
    for s in range(S):
        out = 0.0
        w_sum = 0.0
        for k in range(K):
            kept[s, k] = shares[s, k] * keep[s, k]
        for k in range(K):
            out += shares[s, k] - kept[s, k]
        for k in range(K):
            w_sum += weights[s, k] * (1.0 if keep[s, k] >= 1.0 else 0.0)
        for k in range(K):
            w = weights[s, k] * (1.0 if keep[s, k] >= 1.0 else 0.0)
            moved[s, k] = out * w / w_sum if w_sum > 0 else 0.0


@_kernel
def _rebook_kernel(tails, pred, ra, ship_od, moved, allowed, target, cap_s, hard_s, prev_load_s, first, queue_days,
                   out):  # fmt: skip
    """:func:`rebook` into ``out``."""
    paths = _path_slots(tails, pred, ra[0], ra[1], ra[2])
    _rebook_on_paths(
        paths, ra, ship_od, moved, allowed, target, cap_s, hard_s, prev_load_s, first, queue_days, out
    )


@_kernel
def _load_on_paths(paths, ra, per_shipper, out):
    """Edge flows of ``per_shipper`` (S, K) tonnes on cached ``paths`` (:func:`_path_slots`)
    into ``out``: each group's flows summed over corridors, then the groups in order."""
    parts = np.empty((ra[3].shape[0] - 1, out.shape[0]))
    _parts_on_paths(paths, ra, per_shipper, 1.0, parts)
    out[:] = 0.0
    for g in range(parts.shape[0]):
        for slot in range(out.shape[0]):
            out[slot] += parts[g, slot]


@_kernel
def _ratio_on_cached(paths, ship_od, factor, out):
    """Per shipper and corridor, the least ``factor`` on its cached path, at most 1 (1: none)."""
    ptr, slots, reach = paths
    S, K = out.shape
    for s in range(S):
        o = ship_od[s]
        for k in range(K):
            i = o * K + k
            r = np.inf
            if reach[i]:
                for j in range(ptr[i], ptr[i + 1]):
                    r = min(r, factor[slots[j]])
            out[s, k] = min(r, 1.0) if np.isfinite(r) else 1.0


@_kernel
def _rebook_on_paths(
    paths, ra, ship_od, moved, allowed, target, cap_s, hard_s, prev_load_s, first, queue_days, out
):
    """:func:`rebook` into ``out`` on the quoted paths, walked once (``paths``)."""
    S, K = moved.shape
    n_slots = cap_s.shape[0]
    spare = np.empty(n_slots)
    for i in range(n_slots):
        queue = cap_s[i] * queue_days / 91.25 if hard_s[i] else 0.0
        spare[i] = cap_s[i] + queue if first else max(cap_s[i] + queue - prev_load_s[i], 0.0)
    want = np.empty(n_slots)
    _load_on_paths(paths, ra, moved, want)
    factor = np.empty(n_slots)
    for i in range(n_slots):
        factor[i] = spare[i] / want[i] if hard_s[i] and want[i] > spare[i] else np.inf
    got = np.empty((S, K))
    _ratio_on_cached(paths, ship_od, factor, got)
    w = np.empty(K)
    for s in range(S):
        refused = 0.0
        w_sum = 0.0
        for k in range(K):
            refused += moved[s, k] - moved[s, k] * got[s, k]
        for k in range(K):
            free = allowed[s, k] and got[s, k] >= 1.0
            w[k] = (moved[s, k] + 1e-12 * target[s, k] + 1e-24) * (1.0 if free else 0.0)
            w_sum += w[k]
        for k in range(K):
            extra = refused * w[k] / w_sum if w_sum > 0 else 0.0
            out[s, k] = moved[s, k] * got[s, k] + extra


def rebook(
    routes: Routes, tails: np.ndarray, pred: np.ndarray, moved: np.ndarray, allowed: np.ndarray, *,
    target: np.ndarray, cap_s: np.ndarray, hard_s: np.ndarray, prev_load_s: np.ndarray, first: bool,
    queue_days: float,
) -> np.ndarray:  # fmt: skip
    """Where freight banned from its corridor is booked: (S, K) tonnes.

    ``moved`` is what each shipper wants to move to each corridor with no ban on it (on the
    quoted paths ``pred``). Forwarders can book only slots that exist: on each hard link,
    the part of the moved freight routed over it gets at most last quarter's spare capacity
    (capacity less last quarter's load ``prev_load_s``; none known in the ``first``
    quarter) plus the queue they accept (``queue_days`` of capacity), so each part of a
    flow gets the share its tightest link allows. What finds no slot goes to the shipper's
    ``allowed`` corridors with no such limit, in proportion to what it wanted there (the
    sea), or is diverted if there is none (A-rebook-queue).
    """
    out = np.empty(moved.shape)
    _rebook_kernel(
        tails, pred, _arrays(routes), routes.ship_od, np.ascontiguousarray(moved, dtype=np.float64),
        np.ascontiguousarray(allowed, dtype=bool), target, cap_s, hard_s, prev_load_s, bool(first),
        float(queue_days), out,
    )  # fmt: skip
    return out


@_kernel
def _offer_kernel(
    tails, pred, ra, ship_od, vol, state_share, shares, state_alloc, target, available, ban_cap, backlog,
    cap_s, hard_s, prev_load_s, first, queue_days, give_up,
    new, offered, diverted, loads,
):  # fmt: skip
    """:func:`offer` into its arrays; returns whether any freight was moved by a ban."""
    paths = _path_slots(tails, pred, ra[0], ra[1], ra[2])
    return _offer_on_paths(paths, ra, ship_od, vol, state_share, shares, state_alloc, target, available, ban_cap,
                           backlog, cap_s, hard_s, prev_load_s, first, queue_days, give_up, new, offered, diverted,
                           loads)  # fmt: skip


@_kernel
def _offer_on_paths(
    paths, ra, ship_od, vol, state_share, shares, state_alloc, target, available, ban_cap, backlog,
    cap_s, hard_s, prev_load_s, first, queue_days, give_up,
    new, offered, diverted, loads,
):  # fmt: skip
    """Freight offered this quarter: contracts split by bans, re-booking, the backlog.

    Fills ``new`` (booked this quarter), ``offered`` (with the backlog that stays),
    ``diverted`` (S,) (the backlog that gives up and the freight that found no corridor)
    and ``loads``, the offered edge loads on the quoted paths. Returns whether any
    freight was moved by a ban.
    """
    S, K = shares.shape
    keep = np.empty((S, K))
    for s in range(S):
        for k in range(K):
            keep[s, k] = ban_cap[s, k] if available[s, k] else 0.0
    kept_p = np.empty((S, K))
    moved_p = np.empty((S, K))
    kept_s = np.empty((S, K))
    moved_s = np.empty((S, K))
    _ban_split(shares, keep, target, kept_p, moved_p)
    _ban_split(state_alloc, keep, state_alloc + 1e-12 * target, kept_s, moved_s)
    moved = np.empty((S, K))
    any_moved = False
    for s in range(S):
        ss = state_share[s]
        for k in range(K):
            new[s, k] = vol[s] * ((1.0 - ss) * kept_p[s, k] + ss * kept_s[s, k])
            moved[s, k] = vol[s] * ((1.0 - ss) * moved_p[s, k] + ss * moved_s[s, k])
            if moved[s, k] != 0.0:
                any_moved = True
    if any_moved:  # re-booking: only where slots exist (see :func:`rebook`)
        allowed = np.empty((S, K), dtype=np.bool_)
        for s in range(S):
            for k in range(K):
                allowed[s, k] = keep[s, k] >= 1.0
        booked = np.empty((S, K))
        _rebook_on_paths(paths, ra, ship_od, moved, allowed, target, cap_s, hard_s, prev_load_s, first, queue_days,
                         booked)  # fmt: skip
        for s in range(S):
            for k in range(K):
                new[s, k] = new[s, k] + booked[s, k]
    for s in range(S):
        total = 0.0
        for k in range(K):
            total += new[s, k]
        div = 0.0
        for k in range(K):
            b = backlog[s, k]
            d = b * ((give_up + (1.0 - give_up) * (1.0 - ban_cap[s, k])) if available[s, k] else 1.0)
            div += d
            offered[s, k] = new[s, k] + b - d
        diverted[s] = div + (vol[s] - total)
    _load_on_paths(paths, ra, offered, loads)
    return any_moved


def offer(
    routes: Routes,
    tails: np.ndarray,
    pred: np.ndarray,
    *,
    volumes: np.ndarray,
    state_share: np.ndarray,
    shares: np.ndarray,
    state_alloc: np.ndarray,
    target: np.ndarray,
    available: np.ndarray,
    ban_cap: np.ndarray,
    backlog: np.ndarray,
    cap_s: np.ndarray,
    hard_s: np.ndarray,
    prev_load_s: np.ndarray,
    first: bool,
    queue_days: float,
    give_up: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Freight offered per shipper and corridor this quarter, on the quoted paths ``pred``.

    The private contracts (``shares``) and the state's allocation (``state_alloc``) are
    split by bans (:func:`corridors.agents.ban_split`: what a ban moves goes to the
    shipper's corridors with no ban, in proportion to ``target``). Forwarders book moved
    freight only where slots exist: on each hard link it gets at most last quarter's spare
    capacity (``prev_load_s``; none known in the ``first`` quarter) plus a queue of
    ``queue_days`` of capacity, each part of a flow the share its tightest link allows; what
    finds no slot goes to the shipper's free corridors (the sea), or is diverted. Waiting
    freight gives up at ``give_up`` a quarter; a ban or closure diverts it at once.

    Returns ``new`` (booked this quarter), ``offered`` (new plus the backlog that stays),
    ``diverted`` per shipper and ``loads``, the offered edge loads on ``pred``.
    """
    S, K = shares.shape
    new = np.empty((S, K))
    offered = np.empty((S, K))
    diverted = np.empty(S)
    loads = np.empty(tails.size)
    _offer_kernel(
        tails, pred, _arrays(routes), routes.ship_od, volumes, state_share, shares, state_alloc, target,
        available, ban_cap, backlog, cap_s, hard_s, prev_load_s, first, float(queue_days), float(give_up),
        new, offered, diverted, loads,
    )  # fmt: skip
    return new, offered, diverted, loads


# --------------------------------------------------------------------------- spread


@_kernel
def _queue_days(loads, cap_s, hard_s):
    """Days of queue on each hard link whose load exceeds its capacity (Little's law)."""
    out = np.zeros(loads.shape[0])
    for i in range(loads.shape[0]):
        if hard_s[i] and loads[i] > cap_s[i]:
            out[i] = (loads[i] - cap_s[i]) / cap_s[i] * 91.25
    return out


@_kernel
def _round_kernel(tails, pred, ra, offered, loads, i):
    """One round of successive averages: the loads of ``offered`` on ``pred``, and the loads
    averaged into ``loads`` in place (round ``i``). Returns the round's own loads."""
    round_loads = np.empty(tails.shape[0])
    _load_all(tails, pred, ra, offered, round_loads)
    for s in range(loads.shape[0]):
        loads[s] = loads[s] + (round_loads[s] - loads[s]) / (i + 1)
    return round_loads


def spread(
    routes: Routes,
    rounds: list[TreeCache],
    tails: np.ndarray,
    pred: np.ndarray,
    offered: np.ndarray,
    loads: np.ndarray,
    *,
    money_s: np.ndarray,
    time_s: np.ndarray,
    cap_s: np.ndarray,
    hard_s: np.ndarray,
    masks: np.ndarray,
    iterations: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Spread each corridor's freight over parallel routes by successive averages.

    Round 0 is the quoted paths ``pred`` with ``loads``; each later round ``i`` re-routes
    on this quarter's queues at the averaged loads (trees of ``rounds[i - 1]``), and every
    round carries an equal part of each flow. A round whose queues equal the round
    before's reuses its paths and loads. Returns the tree set of each round (0: the
    quote's, ``i``: ``rounds[i - 1]``'s) and the averaged offered edge loads.
    """
    mix = np.zeros(max(iterations, 1), dtype=np.int64)
    loads = loads.copy()
    last_wait, round_loads = None, loads.copy()
    for i in range(1, iterations):
        wait = _queue_days(loads, cap_s, hard_s)
        if last_wait is not None and np.array_equal(wait, last_wait):
            loads = loads + (round_loads - loads) / (i + 1)
            mix[i] = mix[i - 1]
            continue
        last_wait = wait
        round_pred = rounds[i - 1].update(route_weights(routes, money_s, time_s, wait), masks)
        round_loads = _round_kernel(tails, round_pred, _arrays(routes), offered, loads, i)
        mix[i] = i
    return mix, loads


# --------------------------------------------------------------------------- settle


@dataclass(frozen=True, eq=False)
class Settled:
    """What the quarter's loading gave; per link in edge order (``*_e``) unless said."""

    served: np.ndarray  # (S, K) tonnes
    backlog: np.ndarray  # (S, K) tonnes left waiting
    exp_money: np.ndarray  # (S, K) USD/t experienced, NaN where not available
    exp_time: np.ndarray  # (S, K) days experienced, NaN where not available
    flow_e: np.ndarray  # (E,) served tonnes
    load_e: np.ndarray  # (E,) offered tonnes, averaged over the rounds
    wait_e: np.ndarray  # (E,) queue, days
    time_e: np.ndarray  # (E,) experienced travel time, hours
    box_flows: np.ndarray  # (n_slots,) served containers, tonnes, in slot order

    @classmethod
    def empty(cls, S: int, K: int, E: int) -> Settled:
        """Before the first quarter: nothing served, nothing experienced, no queues."""
        nan = np.full((S, K), np.nan)
        return cls(np.zeros((S, K)), np.zeros((S, K)), nan, nan.copy(), np.zeros(E), np.zeros(E), np.zeros(E),
                   np.zeros(E), np.zeros(E))  # fmt: skip

    @classmethod
    def allocate(cls, S: int, K: int, E: int) -> Settled:
        return cls(*(np.empty((S, K)) for _ in range(4)), *(np.empty(E) for _ in range(5)))

    def arrays(self) -> tuple:
        return (self.served, self.backlog, self.exp_money, self.exp_time, self.flow_e, self.load_e, self.wait_e,
                self.time_e, self.box_flows)  # fmt: skip


@_kernel
def _tree(d, quote_pred, round_pred):
    """Tree set ``d``: 0 the quote's, ``i`` round ``i``'s."""
    return quote_pred if d == 0 else round_pred[d - 1]


@_kernel
def _distinct(mix):
    """The distinct tree sets of the rounds in order of appearance, and each round's index
    among them."""
    ids = np.empty(mix.shape[0], dtype=np.int64)
    of = np.empty(mix.shape[0], dtype=np.int64)
    D = 0
    for m in range(mix.shape[0]):
        found = -1
        for d in range(D):
            if ids[d] == mix[m]:
                found = d
        if found < 0:
            ids[D] = mix[m]
            found = D
            D += 1
        of[m] = found
    return ids[:D], of


@_kernel
def _settle_kernel(
    tails, ra, ship_od, quote_pred, round_pred, mix, offered, loads, cap_s, hard_s, money_s, time_s, available,
    alpha, beta, slot, out,
):  # fmt: skip
    """:func:`settle` into ``out`` (the arrays of a :class:`Settled`), from the rounds' trees."""
    ids, of = _distinct(mix)
    cached = [_path_slots(tails, _tree(ids[0], quote_pred, round_pred), ra[0], ra[1], ra[2])]
    for d in range(1, ids.shape[0]):
        cached.append(_path_slots(tails, _tree(ids[d], quote_pred, round_pred), ra[0], ra[1], ra[2]))
    _settle_on_paths(ra, ship_od, cached, of, offered, loads, cap_s, hard_s, money_s, time_s, available, alpha,
                     beta, slot, out)  # fmt: skip


@_kernel
def _settle_on_paths(
    ra, ship_od, cached, of, offered, loads, cap_s, hard_s, money_s, time_s, available, alpha, beta, slot, out,
):  # fmt: skip
    """:func:`settle` into ``out`` from the paths of each distinct tree set (``cached``) and
    the index among them of each round's (``of``)."""
    served, backlog, exp_money, exp_time, flow_e, load_e, wait_e, time_e, box_flows = out
    group_od = ra[3]
    box_group = ra[6]
    D = len(cached)
    S, K = offered.shape
    n_slots = slot.shape[0]
    n_mix = of.shape[0]
    # hard capacity: every part of a flow is throttled by the tightest hard link on its path
    factor = np.empty(n_slots)
    for i in range(n_slots):
        factor[i] = cap_s[i] / loads[i] if hard_s[i] and loads[i] > cap_s[i] else np.inf
    ratios = np.empty((D, S, K))
    for d in range(D):
        _ratio_on_cached(cached[d], ship_od, factor, ratios[d])
    mean = np.zeros((S, K))
    for m in range(n_mix):
        mean += ratios[of[m]]
    for s in range(S):
        for k in range(K):
            served[s, k] = offered[s, k] * (mean[s, k] / n_mix)
            backlog[s, k] = offered[s, k] - served[s, k]
    G = group_od.shape[0] - 1
    parts = np.empty((D, G, n_slots))
    for d in range(D):
        _parts_on_paths(cached[d], ra, offered * ratios[d], n_mix, parts[d])
    flows = np.zeros(n_slots)
    box_flows[:] = 0.0
    for m in range(n_mix):
        for g in range(G):
            for i in range(n_slots):
                flows[i] += parts[of[m], g, i]
                if box_group[g]:
                    box_flows[i] += parts[of[m], g, i]
    # experienced time: BPR below capacity plus the queue's wait (Little's law)
    int_beta = int(beta) if beta == int(beta) and 0 <= beta <= 64 else -1
    values = np.empty((2, n_slots))
    for i in range(n_slots):
        vc = flows[i] / cap_s[i] if np.isfinite(cap_s[i]) and cap_s[i] > 0 else 0.0
        x = min(vc, 1.0)
        if int_beta >= 0:  # an integer exponent by repeated multiplication, as routing's BPR kernel
            pw = 1.0
            for _ in range(int_beta):
                pw *= x
        else:
            pw = x**beta
        t = time_s[i] * (1.0 + alpha * pw)
        w = (loads[i] - cap_s[i]) / cap_s[i] * 91.25 if hard_s[i] and loads[i] > cap_s[i] else 0.0
        values[0, i] = t / 24.0 + w
        values[1, i] = money_s[i]
        e = slot[i]
        flow_e[e] = flows[i]
        load_e[e] = loads[i]
        wait_e[e] = w
        time_e[e] = t
    # experienced money and time: the parts of each flow, weighted by what each part got through
    part = np.empty((D, S, K, 2))
    for d in range(D):
        ptr, slots, reach = cached[d]
        for s in range(S):
            o = ship_od[s]
            for k in range(K):
                i = o * K + k
                if not reach[i]:
                    part[d, s, k, 0] = np.inf
                    part[d, s, k, 1] = np.inf
                    continue
                a = 0.0
                b = 0.0
                for j in range(ptr[i], ptr[i + 1]):
                    a += values[0, slots[j]]
                    b += values[1, slots[j]]
                part[d, s, k, 0] = a
                part[d, s, k, 1] = b
    for s in range(S):
        for k in range(K):
            e0 = 0.0
            e1 = 0.0
            weight = 0.0
            for m in range(n_mix):
                d = of[m]
                w = max(ratios[d, s, k], 1e-9)
                a = part[d, s, k, 0]
                b = part[d, s, k, 1]
                e0 += (a if np.isfinite(a) else 0.0) * w
                e1 += (b if np.isfinite(b) else 0.0) * w
                weight += w
            exp_time[s, k] = e0 / weight if available[s, k] else np.nan
            exp_money[s, k] = e1 / weight if available[s, k] else np.nan


def settle(
    routes: Routes,
    tails: np.ndarray,
    quote_pred: np.ndarray,
    round_pred: np.ndarray,
    mix: np.ndarray,
    offered: np.ndarray,
    loads: np.ndarray,
    *,
    cap_s: np.ndarray,
    hard_s: np.ndarray,
    money_s: np.ndarray,
    time_s: np.ndarray,
    available: np.ndarray,
    bpr_alpha: float,
    bpr_beta: float,
    slot: np.ndarray,
) -> Settled:
    """Hard capacities, served freight and backlog, edge flows, and experienced costs.

    Every part of a flow (one per round of :func:`spread`, on the tree sets ``mix`` names:
    0 ``quote_pred``, ``i`` ``round_pred[i - 1]``) is throttled by the tightest hard link on
    its path at the averaged offered ``loads``; what does not get through waits as backlog.
    Experienced time is BPR below capacity plus the queue's wait (Little's law); each
    shipper experiences its parts' money and time weighted by what each part got through.
    """
    S, K = offered.shape
    out = Settled.allocate(S, K, slot.size)
    _settle_kernel(tails, _arrays(routes), routes.ship_od, quote_pred, round_pred, mix, offered, loads, cap_s,
                   hard_s, money_s, time_s, available, float(bpr_alpha), float(bpr_beta), slot,
                   out.arrays())  # fmt: skip
    return out


# --------------------------------------------------------------------------- a quarter in one call


@_kernel
def _quote_fused(
    graph, jobs, row_vot, money_s, time_s, wait_s, bloc_km_s, masks, masks_same, buf, od, money, time, bloc
):  # fmt: skip
    """:func:`quote` on our Dijkstra: weights, kept or re-grown trees and quotes in one call."""
    tails = graph[2]
    job_row, job_source = jobs
    old_w, old_m, pred, dist, strict, fresh, order, reached, pos, size, old_in = buf
    weights = _route_weights(money_s, time_s, wait_s, row_vot)
    inputs = np.empty((3, money_s.shape[0]))
    inputs[0] = money_s
    inputs[1] = time_s
    inputs[2] = wait_s
    _refresh_trees(graph, weights, masks, inputs, masks_same, job_row, job_source, old_w[0], old_m[0], pred[0],
                   dist[0], strict[0], fresh[0:1], order[0], reached[0], pos[0], size[0], old_in[0])  # fmt: skip
    P = bloc_km_s.shape[0]
    n = money_s.shape[0]
    values = np.empty((3 + P, n))
    values[0] = money_s
    values[1] = wait_s
    values[2] = time_s
    values[3:] = bloc_km_s
    od_job, od_source, od_dest, ship_od = od
    _quote_kernel(tails, pred[0], od_job, od_source, od_dest, ship_od, values, P, money, time, bloc)


def quote_quarter(
    routes: Routes, trees: TreeCache, money_s: np.ndarray, time_s: np.ndarray, wait_s: np.ndarray,
    bloc_km_s: np.ndarray, masks: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """:func:`quote`, in one kernel call when ``trees`` uses our Dijkstra (the same numbers)."""
    g = trees.graph
    if trees.router is not None:
        return quote(routes, trees, g.tails, money_s, time_s, wait_s, bloc_km_s, masks, routes.ship_od.size)
    S, K, P = routes.ship_od.size, routes.n_corridors, bloc_km_s.shape[0]
    money, time, bloc = np.empty((S, K)), np.empty((S, K)), np.empty((S, K, P))
    b = trees.buffers
    i = trees.index
    buf = tuple(x[i : i + 1] for x in b.arrays())
    same = bool(np.array_equal(masks, b.masks[i]))
    _quote_fused(trees.arrays, (routes.job_row, routes.job_source),
                 routes.row_vot, money_s, time_s, wait_s, bloc_km_s, masks, same, buf,
                 (routes.od_job, routes.od_source, routes.od_dest, routes.ship_od), money, time, bloc)  # fmt: skip
    return b.pred[i], money, time, bloc


@_kernel
def _load_fused(
    graph, jobs, ra, ship_od, row_vot, qbuf, rbuf, masks, masks_same, vol, state_share, shares, state_alloc, target,
    available, ban_cap, backlog, cap_s, hard_s, money_s, time_s, prev_load_s, first, queue_days, give_up,
    iterations, alpha, beta, slot, new, offered, diverted, out,
):  # fmt: skip
    """:func:`offer`, :func:`spread` (re-growing trees where needed) and :func:`settle` in one call.

    The rounds share one tree buffer (``rbuf[0]``): each starts from the trees of the round
    before, whose weights differ only where the queues moved, and keeps or re-grows them
    (:func:`_refresh_trees`): the result is the trees a fresh Dijkstra would grow. Each
    round's paths are kept for :func:`settle`; a round whose trees are those of the round
    before reuses its paths and loads.
    """
    tails = graph[2]
    job_row, job_source = jobs
    old_w, old_m, rpred, rdist, rstrict, rfresh, rorder, rreached, rpos, rsize, rin = rbuf
    quote_pred = qbuf[2][0]
    n_slots = tails.shape[0]
    loads = np.empty(n_slots)
    cached = [_path_slots(tails, quote_pred, ra[0], ra[1], ra[2])]
    _offer_on_paths(cached[0], ra, ship_od, vol, state_share, shares, state_alloc, target, available, ban_cap,
                    backlog, cap_s, hard_s, prev_load_s, first, queue_days, give_up, new, offered, diverted,
                    loads)  # fmt: skip
    of = np.zeros(max(iterations, 1), dtype=np.int64)
    last_wait = np.empty(n_slots)
    have_last = False
    round_loads = loads.copy()
    started = False
    inputs = np.empty((3, n_slots))
    inputs[0] = money_s
    inputs[1] = time_s
    for i in range(1, iterations):
        wait = _queue_days(loads, cap_s, hard_s)
        if have_last and np.all(wait == last_wait):
            loads = loads + (round_loads - loads) / (i + 1)
            of[i] = of[i - 1]
            continue
        last_wait = wait
        have_last = True
        weights = _route_weights(money_s, time_s, wait, row_vot)
        if not started:  # the first round starts from the quote's trees: they differ only in queues
            started = True
            old_w[0] = qbuf[0][0]
            old_m[0] = qbuf[1][0]
            rpred[0] = qbuf[2][0]
            rdist[0] = qbuf[3][0]
            rstrict[0] = qbuf[4][0]
            rfresh[0] = qbuf[5][0]
            rorder[0] = qbuf[6][0]
            rreached[0] = qbuf[7][0]
            rpos[0] = qbuf[8][0]
            rsize[0] = qbuf[9][0]
            rin[0] = qbuf[10][0]
        inputs[2] = wait
        moved = _refresh_trees(graph, weights, masks, inputs, masks_same, job_row, job_source, old_w[0], old_m[0],
                               rpred[0], rdist[0], rstrict[0], rfresh[0:1], rorder[0], rreached[0], rpos[0], rsize[0],
                               rin[0])  # fmt: skip
        if moved == 0:  # the paths of the round before: its loads again
            for s in range(n_slots):
                loads[s] = loads[s] + (round_loads[s] - loads[s]) / (i + 1)
            of[i] = of[i - 1]
            continue
        paths = _path_slots(tails, rpred[0], ra[0], ra[1], ra[2])
        cached.append(paths)
        round_loads = np.empty(n_slots)
        _load_on_paths(paths, ra, offered, round_loads)
        for s in range(n_slots):
            loads[s] = loads[s] + (round_loads[s] - loads[s]) / (i + 1)
        of[i] = len(cached) - 1
    _settle_on_paths(ra, ship_od, cached, of, offered, loads, cap_s, hard_s, money_s, time_s, available, alpha, beta,
                     slot, out)  # fmt: skip


def load_quarter(
    routes: Routes, quote_trees: TreeCache, rounds: list[TreeCache], *, volumes: np.ndarray, state_share: np.ndarray,
    shares: np.ndarray, state_alloc: np.ndarray, target: np.ndarray, available: np.ndarray, ban_cap: np.ndarray,
    backlog: np.ndarray, cap_s: np.ndarray, hard_s: np.ndarray, money_s: np.ndarray, time_s: np.ndarray,
    masks: np.ndarray, prev_load_s: np.ndarray, first: bool, queue_days: float, give_up: float, iterations: int,
    bpr_alpha: float, bpr_beta: float, slot: np.ndarray, round_buffers: TreeBuffers,
) -> tuple[np.ndarray, np.ndarray, Settled]:  # fmt: skip
    """The quarter's loading: :func:`offer`, :func:`spread`, :func:`settle`.

    With our Dijkstra all of it is one kernel call; with another router (a benchmark's)
    the same kernels run one by one from here, with the router's trees. Returns the freight
    booked this quarter ``new``, the diverted tonnes per shipper, and the :class:`Settled`.
    """
    g = quote_trees.graph
    tails, pred = g.tails, quote_trees.pred
    common = {"cap_s": cap_s, "hard_s": hard_s}
    if quote_trees.router is not None:
        new, offered, diverted, loads = offer(
            routes, tails, pred, volumes=volumes, state_share=state_share, shares=shares, state_alloc=state_alloc,
            target=target, available=available, ban_cap=ban_cap, backlog=backlog, prev_load_s=prev_load_s,
            first=first, queue_days=queue_days, give_up=give_up, **common,
        )  # fmt: skip
        mix, loads = spread(routes, rounds, tails, pred, offered, loads, money_s=money_s, time_s=time_s, masks=masks,
                            iterations=iterations, **common)  # fmt: skip
        out = settle(routes, tails, pred, round_buffers.pred, mix, offered, loads, money_s=money_s, time_s=time_s,
                     available=available, bpr_alpha=bpr_alpha, bpr_beta=bpr_beta, slot=slot, **common)  # fmt: skip
        return new, diverted, out
    S, K = shares.shape
    new, offered, diverted = np.empty((S, K)), np.empty((S, K)), np.empty(S)
    out = Settled.allocate(S, K, slot.size)
    qb = quote_trees.buffers
    _load_fused(
        quote_trees.arrays, (routes.job_row, routes.job_source), _arrays(routes),
        routes.ship_od, routes.row_vot, qb.arrays(), round_buffers.arrays(), masks,
        bool(np.array_equal(masks, qb.masks[quote_trees.index])), volumes, state_share, shares,
        state_alloc, target, available, ban_cap, backlog, cap_s, hard_s, money_s, time_s, prev_load_s, bool(first),
        float(queue_days), float(give_up), int(iterations), float(bpr_alpha), float(bpr_beta), slot, new, offered,
        diverted, out.arrays(),
    )  # fmt: skip
    return new, diverted, out
