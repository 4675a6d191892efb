"""Shortest-path trees kept from call to call, and the certificates that keep them.

Trees are recomputed only for rows whose open links or weights changed since the same call
of the last quarter (:class:`TreeCache`), and then only where the old tree is no longer the
unique shortest-path tree: events are sparse, so most quarters re-route only the corridors
whose costs moved. The results are those of routing every row afresh: a tree depends on
nothing but its row's masked weights and its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from corridors import routing
from corridors.routes import Routes

__all__ = ["TreeBuffers", "TreeCache"]

_kernel = njit(cache=True, error_model="numpy")


@dataclass(frozen=True, eq=False)
class TreeBuffers:
    """The state of ``n`` tree caches, stacked so that one kernel can update them all.

    The weights and open links of their last call ``(n, R, n_slots)``, each job's tree
    ``pred`` and its distances ``dist`` ``(n, J, n_nodes)``, whether it was the unique
    shortest-path tree ``strict`` ``(n, J)``, whether a cache has never been called ``fresh``
    ``(n,)``, and each tree's nodes in depth-first preorder ``order`` (the first ``reached``
    of them; -1: not ordered yet, which is done when a subtree of the tree is first checked),
    each node's place ``pos`` in it and the size of its subtree ``size``: a subtree is a run of
    ``order``. ``inputs`` ``(n, 3, n_slots)`` are the money, travel time and
    queue wait per slot the last call's weights were made of; ``jmask`` ``(n, J, n_slots)``
    each job's relevant slots (those its tree is grown on) and ``n_relevant`` ``(n, J)`` how
    many there are.
    """

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
    jmask: np.ndarray
    n_relevant: np.ndarray

    @classmethod
    def allocate(cls, n: int, routes: Routes, n_nodes: int) -> TreeBuffers:
        """Return the buffers of ``n`` caches never called: no weights yet, no trees (every pred -1)."""
        R, n_slots = routes.row_masks.shape
        J = routes.job_row.size
        return cls(
            np.full((n, R, n_slots), np.nan),
            np.zeros((n, R, n_slots), dtype=bool),
            np.full((n, J, n_nodes), -1, dtype=np.int64),
            np.full((n, J, n_nodes), np.inf),
            np.zeros((n, J), dtype=bool),
            np.ones(n, dtype=bool),
            np.zeros((n, J, n_nodes), dtype=np.int32),
            np.zeros((n, J), dtype=np.int64),
            np.zeros((n, J, n_nodes), dtype=np.int32),
            np.zeros((n, J, n_nodes), dtype=np.int32),
            np.full((n, 3, n_slots), np.nan),
            np.zeros((n, J, n_slots), dtype=bool),
            np.zeros((n, J), dtype=np.int64),
        )

    def arrays(self) -> tuple:
        """Return the buffers as a tuple for the kernels, in the order of the fields."""
        return (
            self.weights,
            self.masks,
            self.pred,
            self.dist,
            self.strict,
            self.fresh,
            self.order,
            self.reached,
            self.pos,
            self.size,
            self.inputs,
            self.jmask,
            self.n_relevant,
        )


class TreeCache:
    """The shortest-path trees of one routing call, kept from quarter to quarter.

    :meth:`update` re-grows only the jobs whose trees may differ from a fresh solve (see
    :func:`_refresh_trees`); the others keep their trees, which are the same as a new solve
    would give. Another ``router`` (a benchmark's peer) solves every tree of every call. The
    cache's state is entry ``index`` of ``buffers`` (its own by default).
    """

    def __init__(
        self,
        routes: Routes,
        graph: routing.Graph,
        router: Any = None,
        *,
        buffers: TreeBuffers | None = None,
        index: int = 0,
    ) -> None:
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
        """Each job's tree of the last call, ``(J, n_nodes)``: the slot into each node (-1: none)."""
        return self.buffers.pred[self.index]

    @property
    def fresh(self) -> bool:
        """Whether the cache has never been called."""
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
            inputs = np.asarray(inputs, dtype=np.float64)
            _refresh_trees(self.arrays, weights, masks, inputs, same, job_arrays(r), b.arrays(), i)
            return b.pred[i]
        # another router (a peer, for comparison) solves every tree of every call: keeping
        # trees by their certificates is part of our own route-cost core
        b.pred[i] = self._solve(weights, masks, r.job_row, r.job_source)
        b.fresh[i] = False
        b.weights[i] = weights
        b.masks[i] = masks
        return b.pred[i]


def job_arrays(routes: Routes) -> tuple:
    """Each job's row, source and markets, as :func:`_refresh_trees` takes them."""
    return (routes.job_row, routes.job_source, routes.job_dest_ptr, routes.job_dest)


@_kernel
def _row_changes(weights, masks, old_weights, old_masks, inputs, old_inputs, masks_same):
    """Return per row: 0 same open links and weights, 1 weights changed, 2 open links changed.

    State 2 too where a weight is not finite. Also the changed open slots of each row of
    state 1, as a CSR list.

    With ``masks_same`` (the caller knows the open links did not change) only the slots
    whose ``inputs`` (money, time, wait: what every row's weight is made of) changed can
    have changed weights, and only they are compared; the new weights and inputs are then
    stored over the old ones there, and everywhere otherwise.
    """
    R, n_slots = weights.shape
    cand = np.empty(n_slots, dtype=np.int64)
    n_cand = 0
    for s in range(n_slots):
        if not masks_same or (
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
            m = masks[r, s]
            if (not masks_same and m != old_masks[r, s]) or (m and not np.isfinite(weights[r, s])):
                state[r] = 2
                break
            if m and weights[r, s] != old_weights[r, s]:
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
            old_masks[r, s] = masks[r, s]
        for a in range(3):
            old_inputs[a, s] = inputs[a, s]
    return state, ptr, slots


@_kernel
def _tree_distances(tails, p, src, w, d, stack):
    """Write the distances along the tree ``p`` under weights ``w`` into ``d``.

    They are summed from the source outwards as Dijkstra sums them (inf where the tree does
    not reach).
    """
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
    """Return the slots into each node as CSR: node ``v``'s are ``in_slots[in_ptr[v]:in_ptr[v + 1]]``."""
    in_slots = np.argsort(indices, kind="stable").astype(np.int64)
    in_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n_nodes), out=in_ptr[1:])
    return in_ptr, in_slots


@_kernel
def _tree_order(tails, p, src, order, pos, size, scratch):
    """Put the tree's nodes in depth-first preorder from ``src``; return how many it reaches.

    Each node comes after its parent, and each subtree is a run: node ``v``'s is
    ``order[pos[v]:pos[v] + size[v]]``. ``scratch`` (3, n + 1) int64 is working space.
    """
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
def _relevant_slots(graph, mask, src, dests, out, fw, bw, stack):
    """Mark in ``out`` the open slots on some path from ``src`` to one of ``dests``.

    A path leaves only the source and nodes paths may pass through (as Dijkstra expands
    them), and never enters the source. Every path from the source to a market lies in these
    slots, so the job's paths to its markets are those of its tree grown on them alone.
    ``fw``, ``bw`` (bool, n_nodes) and ``stack`` (int64, n_nodes) are working space.
    Returns how many slots are marked (0: the job reaches none of its markets).
    """
    indptr, indices, tails, through, in_ptr, in_slots = graph
    n = fw.shape[0]
    for v in range(n):
        fw[v] = False
        bw[v] = False
    fw[src] = True
    stack[0] = src
    top = 1
    while top > 0:  # forward: the nodes the source reaches
        top -= 1
        u = stack[top]
        if u != src and not through[u]:
            continue
        for slot in range(indptr[u], indptr[u + 1]):
            v = indices[slot]
            if mask[slot] and not fw[v]:
                fw[v] = True
                stack[top] = v
                top += 1
    for i in range(dests.shape[0]):  # backward: the nodes that reach a market
        v = dests[i]
        if not bw[v]:
            bw[v] = True
            stack[top] = v
            top += 1
    while top > 0:
        top -= 1
        v = stack[top]
        for k in range(in_ptr[v], in_ptr[v + 1]):
            slot = in_slots[k]
            u = tails[slot]
            if mask[slot] and not bw[u] and (u == src or through[u]):
                bw[u] = True
                stack[top] = u
                top += 1
    count = 0
    for slot in range(out.shape[0]):
        u = tails[slot]
        v = indices[slot]
        out[slot] = (
            mask[slot] and v != src and fw[u] and bw[u] and fw[v] and bw[v] and (u == src or through[u])
        )
        count += out[slot]
    return count


@_kernel
def _beats(tails, p, u, v, slot, nd, dv):
    """Return whether a fresh Dijkstra keeps ``v``'s tree link against the candidate ``slot`` from ``u``.

    It does if the candidate, at ``nd``, is dearer, or is a parallel link of the same tail
    that comes later in the adjacency list at the same cost (relaxations take only a strictly
    lower cost).
    """
    return nd > dv or (nd == dv and p[v] >= 0 and tails[p[v]] == u and slot > p[v])


@_kernel
def _out_links_strict(indptr, indices, tails, through, mask, w, src, p, d, nodes, lo, hi):
    """Return whether every open non-tree link out of ``nodes[lo:hi]`` ends above its head's distance.

    That is, every open link not in the tree ``p``, out of one of those nodes that the tree
    reaches and that paths may pass through (or the source), into a node other than the
    source, ends strictly above the tree's distance ``d`` of its head (see :func:`_beats`).
    One call checks many nodes: a call per node would cost more than its loop.
    """
    for i in range(lo, hi):
        u = nodes[i]
        du = d[u]
        if du == np.inf or (u != src and not through[u]):
            continue
        for slot in range(indptr[u], indptr[u + 1]):
            v = indices[slot]
            nd = du + w[slot]  # the cheapest test first: most links end above
            if nd > d[v] or not mask[slot] or v == src or p[v] == slot:
                continue
            if not _beats(tails, p, u, v, slot, nd, d[v]):
                return False
    return True


@_kernel
def _strictly_optimal(indptr, indices, tails, through, mask, w, src, p, d, all_nodes):
    """Return whether the tree ``p`` with distances ``d`` is the unique shortest-path tree.

    It is if every open link not in it, out of a node paths may pass through (or the source)
    and reached by the tree, into a node other than the source, ends strictly above the
    tree's distance of its head. ``all_nodes`` is ``arange(n_nodes)``.
    """
    return _out_links_strict(indptr, indices, tails, through, mask, w, src, p, d, all_nodes, 0, d.shape[0])


@_kernel
def _subtrees_strict(graph, mask, w, src, p, d, order, pos, size, heads, n_heads, up, down):
    """Return whether a unique shortest-path tree stays so after some weights changed.

    Among the changed weights are the tree links into ``heads[:n_heads]``: only the distances
    in those nodes' subtrees move. They are summed again in place (the same sums as
    Dijkstra's), and only links at the nodes whose distance moved are checked: the links out
    of a node whose distance fell (it may now beat a node's tree link), the links into a node
    whose distance rose (another link may now beat its tree link). A link whose tail rose or
    whose head fell is beaten by more than before, and a changed link off the tree with
    neither end in them was checked at distances that did not move (:func:`_refresh_trees`
    does that first). ``up`` and ``down`` (int64, n_nodes) are working space.
    """
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
    n_up = 0
    n_down = 0
    for h in range(n_top):
        for i in range(pos[heads[h]], pos[heads[h]] + size[heads[h]]):
            x = order[i]
            e = p[x]
            old = d[x]
            d[x] = d[tails[e]] + w[e]
            if d[x] > old:
                up[n_up] = x
                n_up += 1
            elif d[x] < old:
                down[n_down] = x
                n_down += 1
    if not _out_links_strict(indptr, indices, tails, through, mask, w, src, p, d, down, 0, n_down):
        return False
    for i in range(n_up):  # the links into the nodes that rose
        x = up[i]
        dx = d[x]
        for k in range(in_ptr[x], in_ptr[x + 1]):
            slot = in_slots[k]
            u = tails[slot]
            nd = d[u] + w[slot]
            if nd > dx or not mask[slot] or p[x] == slot or (u != src and not through[u]):
                continue
            if not _beats(tails, p, u, x, slot, nd, dx):
                return False
    return True


@_kernel
def _refresh_trees(graph, weights, masks, inputs, masks_same, jobs, buf, i):
    """Keep or re-grow every job's tree in place (``pred``), on one thread.

    ``graph`` is :attr:`TreeCache.arrays`, ``jobs`` each job's row, source and markets
    (``job_row, job_source, job_dest_ptr, job_dest``), ``buf`` :meth:`TreeBuffers.arrays`
    and ``i`` the cache's entry in them; ``inputs`` (3, n_slots) the money, time and wait
    the ``weights`` are made of, and ``masks_same`` whether the caller knows the open links
    are those of the last call (:func:`_row_changes`).

    A job's tree is grown on its *relevant* slots only (``jmask``: the open slots on some
    path from its source to one of its markets, :func:`_relevant_slots`, found again when
    its row's open links change), so weights elsewhere never touch it, and a job whose
    markets its corridor cannot reach has no slot at all. ``dist`` holds each tree's
    distances and ``strict`` whether the tree was the unique shortest-path tree of those
    slots at the old weights; then every path to a market is the unique shortest path of the
    whole graph (every such path lies in the relevant slots), which any correct Dijkstra on
    the whole row returns. A tree that is not strict (a tie) is replaced by the tree of a
    Dijkstra on the row's open links, which is what a fresh solve returns; it is re-grown at
    the next change. A strict tree whose row changed only in relevant weights off the tree,
    on links whose new weight still leaves it strictly best, is kept without further work;
    one whose tree links changed has the distances of those links' subtrees summed again and
    the links at their nodes checked (:func:`_subtrees_strict`), and is re-grown if a link
    beats it; a tree that a changed link beats at its old distances is checked whole
    (:func:`_strictly_optimal`) and re-grown if that fails. So every job's paths to its
    markets are those a fresh Dijkstra returns. The new weights and links are stored as the
    old ones; ``fresh_flag[0]`` (never called: grow every tree) is cleared. Returns the
    number of trees that changed (every tree on the first call): 0 means every path is as
    before.
    """
    indptr, indices, tails, through = graph[0], graph[1], graph[2], graph[3]
    job_row, job_source, job_dest_ptr, job_dest = jobs
    old_weights, old_masks, pred, dist, strict = buf[0][i], buf[1][i], buf[2][i], buf[3][i], buf[4][i]
    fresh_flag, order, reached, pos, size = buf[5][i : i + 1], buf[6][i], buf[7][i], buf[8][i], buf[9][i]
    old_inputs, jmask, n_relevant = buf[10][i], buf[11][i], buf[12][i]
    fresh = fresh_flag[0]
    state, ptr, changed = _row_changes(
        weights, masks, old_weights, old_masks, inputs, old_inputs, masks_same and not fresh
    )
    n = indptr.shape[0] - 1
    ip = indptr.view(np.uint64)
    ix = indices.view(np.uint64)
    work = routing._workspace(n)
    w = np.empty(weights.shape[1])
    stack = np.empty(n, dtype=np.int64)
    heads = np.empty(weights.shape[1], dtype=np.int64)
    p_old = np.empty(n, dtype=np.int64)
    scratch = np.empty((3, n + 1), dtype=np.int64)
    fw = np.empty(n, dtype=np.bool_)
    bw = np.empty(n, dtype=np.bool_)
    all_nodes = np.arange(n)
    up = np.empty(n, dtype=np.int64)
    down = np.empty(n, dtype=np.int64)
    moved = 0
    for j in range(job_row.shape[0]):
        r = job_row[j]
        src = job_source[j]
        p = pred[j]
        d = dist[j]
        jm = jmask[j]
        if fresh or state[r] == 2:
            n_relevant[j] = _relevant_slots(
                graph, masks[r], src, job_dest[job_dest_ptr[j] : job_dest_ptr[j + 1]], jm, fw, bw, stack
            )
        elif state[r] == 0 or n_relevant[j] == 0:  # no change, or no slot toward its markets
            continue
        elif strict[j]:
            whole = False
            n_heads = 0
            # only links off the tree changed: their own inequalities decide
            for k in range(ptr[r], ptr[r + 1]):
                slot = changed[k]
                if not jm[slot]:
                    continue
                u = tails[slot]
                if d[u] == np.inf:
                    continue
                v = indices[slot]
                if p[v] == slot:
                    heads[n_heads] = v
                    n_heads += 1
                elif not _beats(tails, p, u, v, slot, d[u] + weights[r, slot], d[v]):
                    whole = True
                    break
            if not whole and n_heads == 0:
                continue
            if not whole:  # tree links changed: the subtrees below them moved
                if reached[j] < 0:  # first check of this tree: put it in order
                    reached[j] = _tree_order(tails, p, src, order[j], pos[j], size[j], scratch)
                if _subtrees_strict(
                    graph, jm, weights[r], src, p, d, order[j], pos[j], size[j], heads, n_heads, up, down
                ):
                    continue
                # a link beats the tree at its exact new distances: so would it in the whole check
            else:
                _tree_distances(tails, p, src, weights[r], d, stack)
                if _strictly_optimal(indptr, indices, tails, through, jm, weights[r], src, p, d, all_nodes):
                    continue  # the same tree: its order, if made, stands
        inv, ring = routing._masked_weights(weights[r], jm, w)
        p_old[:] = p
        routing._dijkstra(ip, ix, w, through, src, d, p, work, inv, ring)
        # Dijkstra's distances are the tree's sums (each the parent's plus the link's weight), as
        # the checks sum them
        strict[j] = _strictly_optimal(indptr, indices, tails, through, jm, weights[r], src, p, d, all_nodes)
        reached[j] = -1  # ordered only if a later call checks a subtree of it: many are re-grown first
        if not strict[j]:  # a tie: the tree a Dijkstra on all the row's open links grows, as a fresh solve
            inv, ring = routing._masked_weights(weights[r], masks[r], w)
            routing._dijkstra(ip, ix, w, through, src, d, p, work, inv, ring)
        if fresh:
            moved += 1
        else:
            for v in range(n):
                if p[v] != p_old[v]:
                    moved += 1
                    break
    fresh_flag[0] = False
    return moved


# --------------------------------------------------------------------------- paths
