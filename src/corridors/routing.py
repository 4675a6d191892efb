"""The route-cost core: CSR graphs, shortest paths, BPR times, loading and equilibrium.

Arrays only (numpy and numba). Nodes and edges are 0-based ids. Edges keep their
original ids ``0..E-1``; :func:`csr_from_edges` orders them by tail so that CSR slot
``k`` holds original edge ``perm[k]``. Every array handed to a kernel (weights, masks)
is aligned with CSR slots, and predecessors are CSR slots.

Public functions validate their arguments in Python and convert them to fixed dtypes
(``int64``, ``float64``, ``bool``) before any kernel runs, so each kernel compiles one
signature, once, into Numba's on-disk cache. ``prange`` runs only over independent
outputs; every reduction into a shared array happens in a fixed order, so results are
bit-identical for any number of Numba threads.

Run ``corridors warmup`` (or :func:`warmup`) once to fill the cache.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Literal

import numba
import numpy as np
from numba import njit, prange

__all__ = [
    "Assignment",
    "Equilibrium",
    "Graph",
    "PathSet",
    "assign",
    "bpr_time",
    "csr_from_edges",
    "path_slots",
    "relative_gap",
    "shortest_path_trees",
    "shortest_paths",
    "shortest_paths_batch",
    "single_thread",
    "slot_tails",
    "user_equilibrium",
    "warmup",
]

Method = Literal["msa", "frank-wolfe", "cfw", "bfw"]
METHODS: tuple[str, ...] = ("msa", "frank-wolfe", "cfw", "bfw")


# --------------------------------------------------------------------------- kernels


# Dijkstra: an indexed 8-ary min-heap of (key, node) with decrease-key, so it holds each
# reached node once. All heap and graph indices are uint64: Numba adds a negative-index
# check to every access through a signed integer, which costs more than the heap work.
# Slots past the heap's end hold +inf, so every node has eight children to compare, and
# the least of them is found by selects rather than branches.
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U3 = np.uint64(3)
_U4 = np.uint64(4)
_U6 = np.uint64(6)
_ARITY = 8  # children per heap node: slots past the end are padded with this many +inf


@njit(cache=True, inline="always")
def _heap_push(hkey, hnode, pos, i, key, node):
    """Put ``node`` with the lower ``key`` at slot ``i`` (its own, or the new last) and sift up."""
    while i > _U0:
        parent = (i - _U1) >> _U3
        pk = hkey[parent]
        if pk <= key:
            break
        pn = hnode[parent]
        hkey[i] = pk
        hnode[i] = pn
        pos[pn] = i
        i = parent
    hkey[i] = key
    hnode[i] = node
    pos[node] = i


@njit(cache=True, inline="always")
def _least_of_2(hkey, c):
    k0 = hkey[c]
    k1 = hkey[c + _U1]
    second = k1 < k0
    return c + np.uint64(second), (k1 if second else k0)


@njit(cache=True, inline="always")
def _least_of_8(hkey, c):
    """Slot and key of the least of ``hkey[c:c+8]`` (the first of equals), without branches."""
    a, ka = _least_of_2(hkey, c)
    b, kb = _least_of_2(hkey, c + _U2)
    e, ke = _least_of_2(hkey, c + _U4)
    f, kf = _least_of_2(hkey, c + _U6)
    ab = kb < ka
    g = b if ab else a
    kg = kb if ab else ka
    ef = kf < ke
    h = f if ef else e
    kh = kf if ef else ke
    gh = kh < kg
    return (h if gh else g), (kh if gh else kg)


@njit(cache=True, inline="always")
def _heap_pop(hkey, hnode, pos, size):
    """Drop the root; return the new size.

    The hole left at the root sinks to a leaf along the least children, then the former
    last entry rises from there: fewer mispredicted branches than sifting it down.
    """
    size -= _U1
    key = hkey[size]
    node = hnode[size]
    hkey[size] = np.inf
    i = _U0
    c = _U1
    while c < size:
        m, km = _least_of_8(hkey, c)
        mn = hnode[m]
        hkey[i] = km
        hnode[i] = mn
        pos[mn] = i
        i = m
        c = (m << _U3) + _U1
    _heap_push(hkey, hnode, pos, i, key, node)
    return size


# Dinitz's bucket variant of Dijkstra, for weights in a narrow range: with buckets of width
# delta = (least usable weight) / 2, every node in the lowest non-empty bucket already has
# its final cost (an edge from any node still open adds at least 2 delta, so float rounding
# of a bucket index cannot break this), so a bucket is settled in any order, without a
# heap. Each bucket is a circular doubly linked list threaded through ``nxt``/``prv``:
# nodes are entries 0..n-1 and bucket b's head is entry n + b. Keys in flight span at most
# max_weight / delta + 3 buckets, so the buckets are a ring; wider ranges use the heap.
_MAX_BUCKETS = 128


@njit(cache=True)
def _workspace(n):
    """Heap keys (all +inf), heap nodes, heap positions and bucket links for one thread."""
    cap = n + _ARITY
    links = n + _MAX_BUCKETS
    return (
        np.full(cap, np.inf),
        np.empty(cap, dtype=np.uint64),
        np.empty(n, dtype=np.uint64),
        np.empty(links, dtype=np.uint64),
        np.empty(links, dtype=np.uint64),
    )


@njit(cache=True)
def _masked_weights(weights, edge_mask, out):
    """``weights`` with +inf on closed slots (relaxing them never lowers a cost) into ``out``.

    Returns ``(inv, ring)`` for :func:`_dijkstra`: ``1 / delta`` and the number of buckets
    less one (a power of two less one), or ``(0.0, 0)`` when the heap must be used (a zero
    weight, no open slot, or a range of weights that needs more than ``_MAX_BUCKETS``).
    """
    lo = np.inf
    hi = 0.0
    for slot in range(weights.shape[0]):
        if edge_mask[slot]:
            w = weights[slot]
            out[slot] = w
            lo = min(lo, w)
            hi = max(hi, w)
        else:
            out[slot] = np.inf
    if not (0.0 < lo < np.inf):  # a zero weight, or no open slot
        return 0.0, _U0
    inv = 2.0 / lo
    need = hi * inv + 3.0
    if not need <= _MAX_BUCKETS:
        return 0.0, _U0
    ring = 1
    while ring < need:
        ring *= 2
    return inv, np.uint64(ring - 1)


@njit(cache=True)
def _chunks(n_jobs):
    """Return the number of contiguous chunks of jobs for ``prange``; each allocates one workspace."""
    size = min(32, max(1, n_jobs // 256))
    return (n_jobs + size - 1) // size


@njit(cache=True)
def _dijkstra_heap(indptr, indices, weights, through_mask, src, dist, pred, hkey, hnode, pos):
    """Dijkstra with the 8-ary heap; leaves the heap empty (keys +inf but the root's)."""
    dist[src] = 0.0
    hkey[_U0] = 0.0
    hnode[_U0] = src
    pos[src] = _U0
    size = _U1
    while size > _U0:
        d = hkey[_U0]
        u = hnode[_U0]
        size = _heap_pop(hkey, hnode, pos, size)
        if u != src and not through_mask[u]:
            continue
        for slot in range(indptr[u], indptr[u + _U1]):
            v = indices[slot]
            nd = d + weights[slot]
            dv = dist[v]
            if nd < dv:  # never true for a settled node: weights are >= 0
                dist[v] = nd
                pred[v] = slot
                if dv == np.inf:
                    i = size
                    size += _U1
                else:
                    i = pos[v]
                _heap_push(hkey, hnode, pos, i, nd, v)


@njit(cache=True)
def _dijkstra_buckets(indptr, indices, weights, through_mask, src, dist, pred, nxt, prv, inv, ring):
    """Dijkstra on a ring of ``ring + 1`` buckets, each ``1 / inv`` wide."""
    n = np.uint64(dist.shape[0])
    for i in range(n):
        nxt[i] = i  # a node on no list links to itself, so unlinking it changes nothing
        prv[i] = i
    for i in range(n, n + ring + _U1):
        nxt[i] = i
        prv[i] = i
    dist[src] = 0.0
    nxt[src] = n
    prv[src] = n
    nxt[n] = src
    prv[n] = src
    queued = 1
    bucket = _U0
    while queued > 0:
        head = n + (bucket & ring)
        u = nxt[head]
        if u == head:
            bucket += _U1
            continue
        a = prv[u]
        b = nxt[u]
        nxt[a] = b
        prv[b] = a
        queued -= 1
        if u != src and not through_mask[u]:
            continue
        d = dist[u]
        for slot in range(indptr[u], indptr[u + _U1]):
            v = indices[slot]
            nd = d + weights[slot]
            dv = dist[v]
            if nd < dv:  # never true for a settled node: weights are >= 0
                dist[v] = nd
                pred[v] = slot
                queued += dv == np.inf
                a = prv[v]
                b = nxt[v]
                nxt[a] = b
                prv[b] = a
                head = n + (np.uint64(nd * inv) & ring)
                b = nxt[head]
                nxt[v] = b
                prv[v] = head
                prv[b] = v
                nxt[head] = v


@njit(cache=True)
def _dijkstra(indptr, indices, weights, through_mask, source, dist, pred, work, inv, ring):
    """Fill ``dist`` and ``pred`` (one row each) from ``source``.

    ``indptr`` and ``indices`` are uint64 views of the CSR arrays; ``weights``, ``inv`` and
    ``ring`` come from :func:`_masked_weights`; ``work`` from :func:`_workspace`, reused
    from one solve to the next.
    """
    for i in range(dist.shape[0]):
        dist[i] = np.inf
        pred[i] = -1
    src = np.uint64(source)
    hkey, hnode, pos, nxt, prv = work
    if ring == _U0:
        _dijkstra_heap(indptr, indices, weights, through_mask, src, dist, pred, hkey, hnode, pos)
    else:
        _dijkstra_buckets(indptr, indices, weights, through_mask, src, dist, pred, nxt, prv, inv, ring)


@njit(cache=True)
def _solve_rows(indptr, indices, weights, edge_mask, through_mask, sources, dist, pred, lo, hi):
    """Jobs ``lo:hi`` into ``dist``/``pred`` ``(rows, n_sources, n_nodes)``, with one workspace.

    Job ``r * n_sources + i`` solves from ``sources[i]`` with ``weights[r]`` and
    ``edge_mask[r]``; its result depends on nothing else, so any split into chunks gives
    the same bits.
    """
    n_src = sources.shape[0]
    work = _workspace(dist.shape[2])
    w = np.empty(weights.shape[1], dtype=np.float64)
    w_row = -1
    inv = 0.0
    ring = _U0
    for job in range(lo, hi):
        r = job // n_src
        i = job - r * n_src
        if r != w_row:
            inv, ring = _masked_weights(weights[r], edge_mask[r], w)
            w_row = r
        _dijkstra(indptr, indices, w, through_mask, sources[i], dist[r, i], pred[r, i], work, inv, ring)


@njit(cache=True, parallel=True)
def _shortest_paths_kernel(indptr, indices, weights, edge_mask, through_mask, sources):
    n_src = sources.shape[0]
    n = indptr.shape[0] - 1
    dist = np.empty((n_src, n), dtype=np.float64)
    pred = np.empty((n_src, n), dtype=np.int64)
    ip = indptr.view(np.uint64)
    ix = indices.view(np.uint64)
    w = np.empty(weights.shape[0], dtype=np.float64)
    inv, ring = _masked_weights(weights, edge_mask, w)
    n_chunks = _chunks(n_src)
    for c in prange(n_chunks):
        work = _workspace(n)
        for i in range(c * n_src // n_chunks, (c + 1) * n_src // n_chunks):
            _dijkstra(ip, ix, w, through_mask, sources[i], dist[i], pred[i], work, inv, ring)
    return dist, pred


@njit(cache=True, parallel=True)
def _shortest_paths_batch_kernel(indptr, indices, weights, edge_mask, through_mask, sources):
    n_batch = weights.shape[0]
    n_src = sources.shape[0]
    n = indptr.shape[0] - 1
    dist = np.empty((n_batch, n_src, n), dtype=np.float64)
    pred = np.empty((n_batch, n_src, n), dtype=np.int64)
    ip = indptr.view(np.uint64)
    ix = indices.view(np.uint64)
    n_jobs = n_batch * n_src
    n_chunks = _chunks(n_jobs)
    for c in prange(n_chunks):
        lo = c * n_jobs // n_chunks
        hi = (c + 1) * n_jobs // n_chunks
        _solve_rows(ip, ix, weights, edge_mask, through_mask, sources, dist, pred, lo, hi)
    return dist, pred


@njit(cache=True, parallel=True)
def _trees_kernel(indptr, indices, weights, edge_mask, through_mask, job_row, job_source):
    """Grow the shortest-path trees of independent jobs; return ``dist`` and ``pred`` ``(n_jobs, n_nodes)``.

    Job ``j`` solves from ``job_source[j]`` with ``weights[job_row[j]]`` and
    ``edge_mask[job_row[j]]``. Each chunk of jobs re-masks the weights only when the row
    changes, so jobs sorted by row cost one masking per row and chunk.
    """
    n_jobs = job_row.shape[0]
    n = indptr.shape[0] - 1
    dist = np.empty((n_jobs, n), dtype=np.float64)
    pred = np.empty((n_jobs, n), dtype=np.int64)
    ip = indptr.view(np.uint64)
    ix = indices.view(np.uint64)
    n_chunks = _chunks(n_jobs)
    for c in prange(n_chunks):
        work = _workspace(n)
        w = np.empty(weights.shape[1], dtype=np.float64)
        w_row = -1
        inv = 0.0
        ring = _U0
        for j in range(c * n_jobs // n_chunks, (c + 1) * n_jobs // n_chunks):
            r = job_row[j]
            if r != w_row:
                inv, ring = _masked_weights(weights[r], edge_mask[r], w)
                w_row = r
            _dijkstra(ip, ix, w, through_mask, job_source[j], dist[j], pred[j], work, inv, ring)
    return dist, pred


@njit(cache=True)
def _bpr_kernel(t0, flow, capacity, alpha, beta, out):
    """BPR time per edge; an integer ``beta`` uses repeated multiplication."""
    for e in range(t0.shape[0]):
        ratio = flow[e] / capacity[e]
        b = beta[e]
        ib = int(b)
        if ib == b and 0 <= ib <= 64:
            p = 1.0
            for _ in range(ib):
                p *= ratio
        else:
            p = ratio**b
        out[e] = t0[e] * (1.0 + alpha[e] * p)
    return out


@njit(cache=True)
def _bpr_derivative_kernel(t0, flow, capacity, alpha, beta, out):
    """Write ``d t / d flow`` of the BPR function, per edge, into ``out``."""
    for e in range(t0.shape[0]):
        b = beta[e]
        if b == 0.0:
            out[e] = 0.0
            continue
        ratio = flow[e] / capacity[e]
        ib = int(b)
        if ib == b and 1 <= ib <= 64:
            p = 1.0
            for _ in range(ib - 1):
                p *= ratio
        else:
            p = ratio ** (b - 1.0)
        out[e] = t0[e] * alpha[e] * b * p / capacity[e]
    return out


@njit(cache=True, parallel=True)
def _assign_kernel(
    indptr,
    indices,
    tails,
    weights,
    edge_mask,
    through_mask,
    origins,
    od_origin,
    destinations,
    demand,
    attrs,
):
    """All-or-nothing loading for K classes.

    ``weights`` and ``edge_mask`` are ``(K, n_slots)``; ``origins`` the unique origins;
    ``od_origin[j]`` the row of OD pair ``j`` in ``origins``; ``demand`` ``(K, n_od)``;
    ``attrs`` ``(A, n_slots)`` summed along paths for the skims (time, distance, ...).
    Returns flows ``(K, n_slots)``, skims ``(1 + A, K, n_od)`` (cost first), unassigned
    demand ``(K,)`` and the predecessor trees ``(K, n_origins, n_nodes)``.
    """
    n_cls = weights.shape[0]
    n_org = origins.shape[0]
    n = indptr.shape[0] - 1
    n_attr = attrs.shape[0]
    n_od = destinations.shape[0]
    dist = np.empty((n_cls, n_org, n), dtype=np.float64)
    pred = np.empty((n_cls, n_org, n), dtype=np.int64)
    ip = indptr.view(np.uint64)
    ix = indices.view(np.uint64)
    n_jobs = n_cls * n_org
    n_chunks = _chunks(n_jobs)
    for c in prange(n_chunks):
        lo = c * n_jobs // n_chunks
        hi = (c + 1) * n_jobs // n_chunks
        _solve_rows(ip, ix, weights, edge_mask, through_mask, origins, dist, pred, lo, hi)
    flow = _load_kernel(tails, pred, origins, od_origin, destinations, demand, indices.shape[0])
    skims = np.empty((1 + n_attr, n_cls, n_od), dtype=np.float64)
    skims[1:] = _fold_kernel(tails, pred, origins, od_origin, destinations, attrs, False)
    unassigned = np.zeros(n_cls, dtype=np.float64)
    for k in range(n_cls):
        for j in range(n_od):
            cost = dist[k, od_origin[j], destinations[j]]
            skims[0, k, j] = cost
            if cost == np.inf:
                unassigned[k] += demand[k, j]
    return flow, skims, unassigned, pred


@njit(cache=True, parallel=True)
def _load_kernel(tails, pred, origins, od_origin, destinations, demand, n_slots):
    """Load ``demand`` ``(K, n_od)`` on the paths of ``pred``; unreachable pairs load nothing."""
    n_cls = pred.shape[0]
    flow = np.zeros((n_cls, n_slots), dtype=np.float64)
    for k in prange(n_cls):
        for j in range(destinations.shape[0]):
            q = demand[k, j]
            u = od_origin[j]
            src = origins[u]
            node = destinations[j]
            if q == 0.0 or (node != src and pred[k, u, node] < 0):
                continue
            while node != src:
                slot = pred[k, u, node]
                flow[k, slot] += q
                node = tails[slot]
    return flow


@njit(cache=True, parallel=True)
def _fold_kernel(tails, pred, origins, od_origin, destinations, values, take_min):
    """Sum (or min) of ``values`` ``(A, n_slots)`` along each path: ``(A, K, n_od)``.

    Unreachable pairs give ``inf``; an empty path (origin is destination) gives 0 for a
    sum and ``inf`` for a min.
    """
    n_cls = pred.shape[0]
    n_val = values.shape[0]
    n_od = destinations.shape[0]
    out = np.empty((n_val, n_cls, n_od), dtype=np.float64)
    for job in prange(n_cls * n_od):
        k = job // n_od
        j = job - k * n_od
        u = od_origin[j]
        src = origins[u]
        node = destinations[j]
        for a in range(n_val):
            out[a, k, j] = np.inf if take_min else 0.0
        if node != src and pred[k, u, node] < 0:
            for a in range(n_val):
                out[a, k, j] = np.inf
            continue
        while node != src:
            slot = pred[k, u, node]
            for a in range(n_val):
                v = values[a, slot]
                if take_min:
                    if v < out[a, k, j]:
                        out[a, k, j] = v
                else:
                    out[a, k, j] += v
            node = tails[slot]
    return out


@njit(cache=True)
def _slope(flow, direction, step, t0, capacity, alpha, beta, trial, times):
    """Return the derivative of the Beckmann objective at ``flow + step * direction``."""
    for e in range(flow.shape[0]):
        trial[e] = flow[e] + step * direction[e]
    _bpr_kernel(t0, trial, capacity, alpha, beta, times)
    s = 0.0
    for e in range(flow.shape[0]):
        s += direction[e] * times[e]
    return s


@njit(cache=True)
def _line_search(flow, direction, t0, capacity, alpha, beta, tol):
    """Step in [0, 1] minimising the Beckmann objective along ``direction`` (bisection)."""
    trial = np.empty_like(flow)
    times = np.empty_like(flow)
    if _slope(flow, direction, 1.0, t0, capacity, alpha, beta, trial, times) <= 0.0:
        return 1.0
    if _slope(flow, direction, 0.0, t0, capacity, alpha, beta, trial, times) >= 0.0:
        return 0.0
    lo = 0.0
    hi = 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if _slope(flow, direction, mid, t0, capacity, alpha, beta, trial, times) > 0.0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------- validation


def _fail(name: str, reason: str) -> ValueError:
    return ValueError(f"{name}: {reason}")


def _int_array(name: str, a, *, ndim: int = 1, upper: int | None = None) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != ndim:
        raise _fail(name, f"expected a {ndim}-D array of integers, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise _fail(name, f"expected integers, got dtype {arr.dtype}")
    arr = np.require(arr, np.int64, ["C", "W"])
    if arr.size:
        if arr.min() < 0:
            raise _fail(name, f"ids must be >= 0, found {arr.min()}")
        if upper is not None and arr.max() >= upper:
            raise _fail(name, f"id {arr.max()} out of range (must be < {upper})")
    return arr


def _float_array(name: str, a, shape: tuple[int, ...], *, allow_inf: bool = False) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiu":
        raise _fail(name, f"expected numbers, got dtype {arr.dtype}")
    arr = np.require(arr, np.float64, ["C", "W"])
    if arr.shape != shape:
        raise _fail(name, f"expected shape {shape}, got {arr.shape}")
    # one pass in the common case; the detailed checks below only name the fault
    if (arr >= 0).all() and (allow_inf or np.isfinite(arr).all()):
        return arr
    if np.isnan(arr).any():
        raise _fail(name, "contains NaN")
    if not allow_inf and np.isinf(arr).any():
        raise _fail(name, "contains infinite values")
    if (arr < 0).any():
        raise _fail(name, f"must be >= 0, found {arr.min()}")
    return arr


def _param_array(name: str, a, n: int, *, positive: bool = False) -> np.ndarray:
    """Broadcast a scalar or per-edge parameter to ``(n,)`` float64."""
    arr = np.asarray(a)
    if arr.ndim == 0:
        arr = np.full(n, arr.item() if arr.dtype.kind in "fiu" else np.nan)
    arr = _float_array(name, arr, (n,))
    if positive and (arr <= 0).any():
        raise _fail(name, "must be > 0")
    return arr


def _bool_array(name: str, a, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype != np.bool_:
        raise _fail(name, f"expected a boolean mask, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise _fail(name, f"expected shape {shape}, got {arr.shape}")
    return np.require(arr, np.bool_, ["C", "W"])


def _csr(indptr, indices) -> tuple[np.ndarray, np.ndarray, int]:
    indptr = _int_array("indptr", indptr)
    if indptr.size == 0:
        raise _fail("indptr", "must have n_nodes + 1 entries, got 0")
    n = indptr.size - 1
    if indptr[0] != 0 or (np.diff(indptr) < 0).any():
        raise _fail("indptr", "must start at 0 and never decrease")
    indices = _int_array("indices", indices, upper=max(n, 1) if n else 0)
    if indptr[-1] != indices.size:
        raise _fail("indptr", f"last entry {indptr[-1]} != len(indices) {indices.size}")
    return indptr, indices, n


def _masks(edge_mask, through_mask, n_slots: int, n: int, rows: int | None = None):
    shape = (n_slots,) if rows is None else (rows, n_slots)
    if edge_mask is None:
        em = np.ones(shape, dtype=np.bool_)
    else:
        em = np.asarray(edge_mask)
        if rows is not None and em.ndim == 1:
            em = np.broadcast_to(_bool_array("edge_mask", em, (n_slots,)), shape)
        em = _bool_array("edge_mask", em, shape)
    tm = (
        np.ones(n, dtype=np.bool_)
        if through_mask is None
        else _bool_array("through_mask", through_mask, (n,))
    )
    return em, tm


# -------------------------------------------------------------------- thread count

# Work below which a call runs on one Numba thread, in inner-loop steps: a Dijkstra job
# counts n_nodes + n_slots, a path walk one step per hop and value; a step takes 5-8 ns on
# one thread. Measured by the threads section of benchmarks/bench_routing.py (2-core VM,
# numba 0.68 on its omp layer, --wait-idle): time on 2 threads / time on 1, median of 5,
# for the 50 calls of its table (shortest_paths on 20-2000 nodes with 1-500 sources, the
# other entry points at 200 and 2000 nodes), idle (other processes used <= 0.07 cores)
# and with the other core kept busy by a spinning process:
#
#   work (steps)   calls   idle 2T/1T (median)   busy 2T/1T (median)   idle: 2T saves
#   < 10k          16      0.68-1.28 (0.96)      1.1-184 (117)         <= 24 us
#   10k-100k       16      0.39-1.08 (0.70)      1.3-217 (43)          <= 0.2 ms
#   100k-1M        12      0.36-0.73 (0.54)      1.6-31 (2.9)          0.1-1.3 ms
#   1M-5M           6      0.51-0.64 (0.53)      0.94-4.0 (1.19)       2.9-12.4 ms
#
# A second thread that must wait for a busy core stalls the call by a time slice of the
# other process, about 7 ms here, whatever the call's size. Below 1M steps (5-8 ms on one
# thread) that makes it 2-13x slower even for Dijkstra, against an idle gain of at most
# 1.3 ms: one thread. From 1M on, two threads halve the time when idle and cost 0.94-1.22x
# for Dijkstra when busy (4.0x for an assign: its trees, load and fold are three parallel
# regions, each of which may stall). An earlier run gave the same picture. A core that
# other processes keep busy is also seen directly, from /proc/stat (see _threads_for):
# then one thread at any size.
_PARALLEL_WORK = 1_000_000

_local = threading.local()  # .single: depth of single_thread() blocks in this Python thread

_CPUS = os.cpu_count() or 1
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_LOAD_INTERVAL = 0.25  # seconds between readings of /proc/stat


def _cpu_reading() -> tuple[float, float, float] | None:
    """(monotonic seconds, CPU seconds all processes used, CPU seconds this process used)."""
    try:
        with open("/proc/stat", "rb") as f:
            ticks = f.readline().split()[1:9]  # user nice system idle iowait irq softirq steal
        busy = sum(map(int, ticks)) - int(ticks[3]) - int(ticks[4])
    except (OSError, ValueError, IndexError):
        return None
    own = os.times()
    return time.monotonic(), busy / _TICK, own.user + own.system


_last_reading = (_cpu_reading(), 0.0)  # (reading, cores others used up to it)


def _others_load() -> float:
    """Return the cores that other processes kept busy between the last two readings of /proc/stat.

    The readings are taken at most every ``_LOAD_INTERVAL`` seconds; 0.0 where it cannot be read.
    """
    before, others = _last_reading
    if before is None:
        return 0.0
    if time.monotonic() - before[0] < _LOAD_INTERVAL:
        return others
    now = _cpu_reading()
    if now is None:
        return others
    others = max(0.0, (now[1] - before[1] - (now[2] - before[2])) / (now[0] - before[0]))
    globals()["_last_reading"] = (now, others)  # one assignment: safe across Python threads
    return others


def _threads_for(work: int, tasks: int = 2) -> int:
    """Return the Numba threads for a call of about ``work`` steps (see ``_PARALLEL_WORK``).

    The call splits into ``tasks`` independent parts.

    1 for small work or a single part. Else the current count, ``numba.get_num_threads()``
    (all threads unless lowered, as by :func:`single_thread`), but no more than the cores
    other processes leave free (:func:`_others_load`, rounded): a thread that must wait for
    a busy core stalls the whole call.
    """
    if work < _PARALLEL_WORK or tasks < 2:
        return 1
    threads = numba.get_num_threads()
    if threads > 1:
        threads = max(1, min(threads, int(_CPUS - _others_load() + 0.5)))
    return threads


def _run(kernel: Callable, work: int, tasks: int, *args):
    """Run ``kernel(*args)`` on ``_threads_for(work, tasks)`` Numba threads, then restore the count.

    Results do not depend on the count (see the module docstring).
    """
    if getattr(_local, "single", 0):  # inside single_thread(): one thread already
        return kernel(*args)
    before = numba.get_num_threads()
    threads = _threads_for(work, tasks)
    if threads == before:  # set_num_threads costs about 1 us: skip it when it changes nothing
        return kernel(*args)
    numba.set_num_threads(threads)
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(before)


@contextmanager
def _num_threads(threads: int) -> Iterator[None]:
    """Run kernels on ``threads`` Numba threads inside the block (as :func:`_run`)."""
    before = numba.get_num_threads()
    if getattr(_local, "single", 0) or threads == before:
        yield
        return
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _dijkstra_work(n_jobs: int, n_nodes: int, n_slots: int) -> int:
    return n_jobs * (n_nodes + n_slots)


def _walk_work(n_classes: int, n_od: int, n_values: int, n_nodes: int) -> int:
    """Return the steps of walking ``n_classes * n_od`` paths back to their origins for ``n_values`` values.

    A load walks one. Hops times (1 + values), the hops per path taken as
    ``log2(n_nodes) + 1`` (paths average 5.5 hops on the model's 80 nodes, estimate 7, and
    7 hops on the benchmark's random networks of 2000 nodes, estimate 11).
    """
    return n_classes * n_od * (1 + n_values) * n_nodes.bit_length()


# ------------------------------------------------------------------------ public API


def csr_from_edges(tail, head, n_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order edges by tail into compressed sparse rows.

    Parameters
    ----------
    tail, head : array of int
        Node ids of each edge, in original edge order.
    n_nodes : int
        Number of nodes; ids must be below it.

    Returns
    -------
    indptr : int64 array (n_nodes + 1,)
        Slots ``indptr[u]:indptr[u+1]`` hold the edges leaving ``u``.
    indices : int64 array (n_edges,)
        Head node of each slot.
    perm : int64 array (n_edges,)
        Slot ``k`` holds original edge ``perm[k]`` (stable: ties keep input order).
    """
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, int | np.integer) or n_nodes < 0:
        raise _fail("n_nodes", f"must be a non-negative integer, got {n_nodes!r}")
    n_nodes = int(n_nodes)
    tail = _int_array("tail", tail, upper=n_nodes)
    head = _int_array("head", head, upper=n_nodes)
    if tail.shape != head.shape:
        raise _fail("head", f"length {head.size} differs from tail's {tail.size}")
    perm = np.argsort(tail, kind="stable").astype(np.int64)
    counts = np.bincount(tail, minlength=n_nodes)
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, np.ascontiguousarray(head[perm]), perm


def slot_tails(indptr) -> np.ndarray:
    """Tail node of every CSR slot (int64)."""
    indptr = _int_array("indptr", indptr)
    return np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))


def path_slots(pred, indptr, source: int, target: int) -> np.ndarray:
    """CSR slots of the path from ``source`` to ``target``, read from one ``pred`` row.

    Returns an empty array when ``target == source`` or ``target`` is unreachable.
    """
    pred = np.asarray(pred)
    tails = slot_tails(indptr)
    out = []
    node = target
    while node != source:
        slot = int(pred[node])
        if slot < 0:
            return np.empty(0, dtype=np.int64)
        out.append(slot)
        node = int(tails[slot])
        if len(out) > tails.size:
            raise _fail("pred", "contains a cycle")
    return np.array(out[::-1], dtype=np.int64)


def shortest_paths(indptr, indices, weights, sources, *, edge_mask=None, through_mask=None):
    """Dijkstra from many sources.

    Parameters
    ----------
    indptr, indices : int arrays
        The CSR graph from :func:`csr_from_edges`.
    weights : float array (n_slots,)
        Non-negative, finite cost of each slot.
    sources : int array (n_sources,)
        Start nodes.
    edge_mask : bool array (n_slots,), optional
        False: that slot may not be used.
    through_mask : bool array (n_nodes,), optional
        False: a path may start or end at that node but not pass through it.

    Returns
    -------
    dist : float64 array (n_sources, n_nodes)
        Least cost, ``inf`` where unreachable.
    pred : int64 array (n_sources, n_nodes)
        CSR slot of the edge entering each node on its shortest path, -1 for none.
    """
    indptr, indices, n = _csr(indptr, indices)
    weights = _float_array("weights", weights, (indices.size,))
    sources = _int_array("sources", sources, upper=n)
    em, tm = _masks(edge_mask, through_mask, indices.size, n)
    work = _dijkstra_work(sources.size, n, indices.size)
    return _run(_shortest_paths_kernel, work, sources.size, indptr, indices, weights, em, tm, sources)


def shortest_paths_batch(indptr, indices, weights_batch, sources, *, edge_mask=None, through_mask=None):
    """Dijkstra on one topology for ``B`` weight vectors at once.

    ``weights_batch`` is ``(B, n_slots)``; ``edge_mask`` is ``(n_slots,)`` or
    ``(B, n_slots)``. Returns ``dist`` and ``pred`` of shape ``(B, n_sources, n_nodes)``,
    equal to ``B`` calls of :func:`shortest_paths`.
    """
    indptr, indices, n = _csr(indptr, indices)
    wb = np.asarray(weights_batch)
    if wb.ndim != 2:
        raise _fail("weights_batch", f"expected shape (B, {indices.size}), got {wb.shape}")
    wb = _float_array("weights_batch", wb, (wb.shape[0], indices.size))
    sources = _int_array("sources", sources, upper=n)
    em, tm = _masks(edge_mask, through_mask, indices.size, n, rows=wb.shape[0])
    jobs = wb.shape[0] * sources.size
    work = _dijkstra_work(jobs, n, indices.size)
    return _run(_shortest_paths_batch_kernel, work, jobs, indptr, indices, wb, em, tm, sources)


def shortest_path_trees(indptr, indices, weights, rows, sources, *, edge_mask=None, through_mask=None):
    """Dijkstra for a list of jobs, each with its own weight row and source.

    Parameters
    ----------
    indptr, indices : int arrays
        The CSR graph from :func:`csr_from_edges`.
    weights : float array (R, n_slots)
        Non-negative, finite costs, one row per kind of job.
    rows, sources : int arrays (n_jobs,)
        Job ``j`` solves from ``sources[j]`` with ``weights[rows[j]]``.
    edge_mask : bool array (R, n_slots), optional
        False: that slot may not be used by jobs of that row.
    through_mask : bool array (n_nodes,), optional
        False: a path may start or end at that node but not pass through it.

    Returns
    -------
    dist : float64 array (n_jobs, n_nodes)
    pred : int64 array (n_jobs, n_nodes)
        As for :func:`shortest_paths`, one row per job; equal to calling
        :func:`shortest_paths` once per job.
    """
    indptr, indices, n = _csr(indptr, indices)
    w = np.asarray(weights)
    if w.ndim != 2:
        raise _fail("weights", f"expected shape (R, {indices.size}), got {w.shape}")
    w = _float_array("weights", w, (w.shape[0], indices.size))
    rows = _int_array("rows", rows, upper=w.shape[0])
    sources = _int_array("sources", sources, upper=n)
    if rows.shape != sources.shape:
        raise _fail("sources", f"length {sources.size} differs from rows' {rows.size}")
    em, tm = _masks(edge_mask, through_mask, indices.size, n, rows=w.shape[0])
    work = _dijkstra_work(rows.size, n, indices.size)
    return _run(_trees_kernel, work, rows.size, indptr, indices, w, em, tm, rows, sources)


def bpr_time(t0, flow, capacity, alpha=0.15, beta=4.0) -> np.ndarray:
    """BPR travel time ``t0 * (1 + alpha * (flow / capacity) ** beta)``.

    ``alpha`` and ``beta`` are scalars or per-edge arrays; an integer ``beta`` takes a
    fast path of repeated multiplication. Capacities must be positive.
    """
    t0 = np.asarray(t0)
    if t0.ndim != 1:
        raise _fail("t0", f"expected a 1-D array, got shape {t0.shape}")
    n = t0.size
    t0 = _float_array("t0", t0, (n,))
    flow = _float_array("flow", flow, (n,))
    capacity = _param_array("capacity", capacity, n, positive=True)
    alpha = _param_array("alpha", alpha, n)
    beta = _param_array("beta", beta, n)
    return _bpr_kernel(t0, flow, capacity, alpha, beta, np.empty(n, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class PathSet:
    """The least-cost paths of an :class:`Assignment`, to fold values along or load again.

    ``pred[k, u]`` is the predecessor tree of class ``k`` from ``origins[u]``; OD pair ``j``
    starts at ``origins[od_origin[j]]`` and ends at ``destinations[j]``.
    """

    origins: np.ndarray
    od_origin: np.ndarray
    destinations: np.ndarray
    pred: np.ndarray
    tails: np.ndarray

    @property
    def n_classes(self) -> int:
        """The number of classes (rows of ``pred``)."""
        return self.pred.shape[0]

    def sums(self, values, *, check: bool = True) -> np.ndarray:
        """Sum of per-slot ``values`` ``(n_slots,)`` or ``(A, n_slots)`` along each path.

        Returns ``(K, n_od)`` or ``(A, K, n_od)``; ``inf`` where unreachable. ``check=False``
        skips the argument checks, for callers that pass C-contiguous float64 arrays of the
        right shape they built themselves (the model's inner loop).
        """
        return self._fold(values, take_min=False, check=check)

    def mins(self, values, *, check: bool = True) -> np.ndarray:
        """Least per-slot value along each path (``inf`` for empty or missing paths)."""
        return self._fold(values, take_min=True, check=check)

    def _fold(self, values, *, take_min: bool, check: bool = True) -> np.ndarray:
        arr = np.asarray(values)
        if check:
            folded = _fold_values(arr, self.tails.size)
        else:
            folded = np.require(arr[None, :] if arr.ndim == 1 else arr, np.float64, ["C", "W"])
        k, n_od = self.pred.shape[0], self.destinations.size
        work = _walk_work(k, n_od, folded.shape[0], self.pred.shape[2])
        out = _run(
            _fold_kernel,
            work,
            k * n_od,
            self.tails,
            self.pred,
            self.origins,
            self.od_origin,
            self.destinations,
            folded,
            take_min,
        )
        return out[0] if arr.ndim == 1 else out

    def load(self, demand, *, check: bool = True) -> np.ndarray:
        """Load ``demand`` ``(K, n_od)`` on these paths: return the edge flows ``(K, n_slots)``.

        ``check=False``: as in :meth:`sums`.
        """
        if check:
            q = _float_array("demand", demand, (self.n_classes, self.destinations.size))
        else:
            q = np.require(demand, np.float64, ["C", "W"])
        k = self.pred.shape[0]
        work = _walk_work(k, self.destinations.size, 0, self.pred.shape[2])
        return _run(
            _load_kernel,
            work,
            k,
            self.tails,
            self.pred,
            self.origins,
            self.od_origin,
            self.destinations,
            q,
            self.tails.size,
        )


def _fold_values(arr: np.ndarray, n_slots: int) -> np.ndarray:
    if arr.ndim not in (1, 2):
        raise _fail("values", f"expected shape ({n_slots},) or (A, {n_slots}), got {arr.shape}")
    two_d = arr[None, :] if arr.ndim == 1 else arr
    return _float_array("values", two_d, (two_d.shape[0], n_slots), allow_inf=True)


@dataclass(frozen=True, eq=False)
class Assignment:
    """All-or-nothing loading of K classes.

    Attributes
    ----------
    flow : (K, n_slots) edge flows per class, aligned with CSR slots.
    cost, time, distance : (K, n_od) OD skims per class along the least-cost path;
        ``inf`` where a class cannot reach a destination, 0 where origin is destination,
        and NaN otherwise for ``time`` or ``distance`` when that attribute was not given.
    attributes : (A, K, n_od) sums of the extra per-slot ``attributes`` along each path.
    unassigned : (K,) demand that found no path.
    paths : the :class:`PathSet`, to fold other values along the same paths or load them.
    """

    flow: np.ndarray
    cost: np.ndarray
    time: np.ndarray
    distance: np.ndarray
    attributes: np.ndarray
    unassigned: np.ndarray
    paths: PathSet


def _od_arrays(origins, destinations, n: int):
    origins = _int_array("origins", origins, upper=n)
    destinations = _int_array("destinations", destinations, upper=n)
    if origins.shape != destinations.shape:
        raise _fail("destinations", f"length {destinations.size} differs from origins' {origins.size}")
    unique, od_origin = np.unique(origins, return_inverse=True)
    return unique.astype(np.int64), od_origin.astype(np.int64).ravel(), destinations


@dataclass(frozen=True, eq=False)
class Graph:
    """A CSR graph checked once, to assign on it many times (the model's quarterly loads).

    ``Graph(indptr, indices, through_mask=None)``; :meth:`assign` then checks only what
    changes between calls (weights, masks, demand, OD pairs).
    """

    indptr: np.ndarray
    indices: np.ndarray
    through_mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        """Check the CSR arrays and the through mask once, and derive each slot's tail."""
        indptr, indices, n = _csr(self.indptr, self.indices)
        tm = np.ones(n, dtype=np.bool_) if self.through_mask is None else self.through_mask
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "through_mask", _bool_array("through_mask", tm, (n,)))
        object.__setattr__(self, "tails", slot_tails(indptr))

    @property
    def n_nodes(self) -> int:
        """The number of nodes."""
        return self.indptr.size - 1

    @property
    def n_slots(self) -> int:
        """The number of slots (edges)."""
        return self.indices.size

    def _assign_work(self, n_classes: int, n_origins: int, n_od: int, n_values: int) -> int:
        """Return the steps of :func:`_assign_kernel`: the trees, then a load and a fold of the paths."""
        n = self.n_nodes
        trees = _dijkstra_work(n_classes * n_origins, n, self.n_slots)
        return trees + _walk_work(n_classes, n_od, 1 + n_values, n)

    def od_pairs(self, origins, destinations) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """OD pairs checked once for :meth:`paths`: (unique origins, row of each pair, destinations)."""
        return _od_arrays(origins, destinations, self.n_nodes)

    def paths(self, weights, od_pairs, *, edge_mask, check: bool = True) -> PathSet:
        """Least-cost paths only, for OD pairs from :meth:`od_pairs` (no skims, no loading).

        ``weights`` ``(n_slots,)`` is shared by the classes of the ``(K, n_slots)`` mask.
        ``check=False`` skips the checks of ``weights`` and ``edge_mask`` (as in
        :meth:`PathSet.sums`).
        """
        org, od_origin, dst = od_pairs
        if check:
            em = _bool_array("edge_mask", edge_mask, (np.shape(edge_mask)[0], self.n_slots))
            w = _float_array("weights", weights, (self.n_slots,))
        else:
            em = np.require(edge_mask, np.bool_, ["C", "W"])
            w = np.require(weights, np.float64, ["C", "W"])
        k = em.shape[0]
        w2 = np.ascontiguousarray(np.broadcast_to(w, (k, self.n_slots)))
        _, _, _, pred = _run(
            _assign_kernel,
            self._assign_work(k, org.size, dst.size, 0),
            k * org.size,
            self.indptr,
            self.indices,
            self.tails,
            w2,
            em,
            self.through_mask,
            org,
            od_origin,
            dst,
            np.zeros((k, dst.size)),
            np.empty((0, self.n_slots)),
        )
        return PathSet(org, od_origin, dst, pred, self.tails)

    def trees(
        self, weights, edge_mask, rows, sources, *, check: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """:func:`shortest_path_trees` on this graph: ``(dist, pred)`` of each job.

        ``check=False`` skips the checks, for callers that pass C-contiguous float64
        ``weights`` ``(R, n_slots)``, bool ``edge_mask`` of the same shape and int64 ``rows``
        and ``sources`` they built themselves (the model's inner loop).
        """
        if check:
            return shortest_path_trees(
                self.indptr,
                self.indices,
                weights,
                rows,
                sources,
                edge_mask=edge_mask,
                through_mask=self.through_mask,
            )
        work = _dijkstra_work(rows.shape[0], self.n_nodes, self.n_slots)
        return _run(
            _trees_kernel,
            work,
            rows.shape[0],
            self.indptr,
            self.indices,
            weights,
            edge_mask,
            self.through_mask,
            rows,
            sources,
        )

    def assign(
        self,
        weights,
        origins,
        destinations,
        demand,
        *,
        edge_mask=None,
        time=None,
        distance=None,
        attributes=None,
    ) -> Assignment:
        """All-or-nothing loading on this graph; arguments as for :func:`assign`."""
        n, n_slots = self.n_nodes, self.n_slots
        org, od_origin, dst = _od_arrays(origins, destinations, n)
        n_od = dst.size
        w = np.asarray(weights)
        q = np.asarray(demand)
        em_in = None if edge_mask is None else np.asarray(edge_mask)
        ks = {a.shape[0] for a in (w, q, em_in) if a is not None and a.ndim == 2}
        if len(ks) > 1:
            raise _fail(
                "weights", f"weights, demand and edge_mask disagree on the number of classes: {sorted(ks)}"
            )
        k = ks.pop() if ks else 1
        if w.ndim == 1:
            w = np.broadcast_to(w, (k, w.shape[0]))
        w = _float_array("weights", w, (k, n_slots))
        if q.ndim == 1:
            q = np.broadcast_to(q, (k, q.shape[0]))
        q = _float_array("demand", q, (k, n_od))
        if em_in is not None and em_in.ndim != 2:
            raise _fail("edge_mask", f"expected shape (K, {n_slots}), got {em_in.shape}")
        em, _ = _masks(em_in, None, n_slots, n, rows=k)
        extra = np.empty((0, n_slots)) if attributes is None else np.asarray(attributes)
        if extra.ndim != 2:
            raise _fail("attributes", f"expected shape (A, {n_slots}), got {extra.shape}")
        attrs = np.full((2 + extra.shape[0], n_slots), np.nan)
        if time is not None:
            attrs[0] = _float_array("time", time, (n_slots,))
        if distance is not None:
            attrs[1] = _float_array("distance", distance, (n_slots,))
        attrs[2:] = _float_array("attributes", extra, (extra.shape[0], n_slots))
        flow, skims, unassigned, pred = _run(
            _assign_kernel,
            self._assign_work(k, org.size, n_od, attrs.shape[0]),
            k * org.size,
            self.indptr,
            self.indices,
            self.tails,
            w,
            em,
            self.through_mask,
            org,
            od_origin,
            dst,
            q,
            attrs,
        )
        paths = PathSet(org, od_origin, dst, pred, self.tails)
        return Assignment(flow, skims[0], skims[1], skims[2], skims[3:], unassigned, paths)


def assign(
    indptr,
    indices,
    weights,
    origins,
    destinations,
    demand,
    *,
    edge_mask=None,
    through_mask=None,
    time=None,
    distance=None,
    attributes=None,
) -> Assignment:
    """Load OD demand on least-cost paths for K classes at once (all-or-nothing).

    Parameters
    ----------
    indptr, indices : int arrays
        The CSR graph.
    weights : float array (n_slots,) or (K, n_slots)
        Generalised cost per slot, shared or per class.
    origins, destinations : int arrays (n_od,)
        OD pairs.
    demand : float array (n_od,) or (K, n_od)
        Demand per pair, shared or per class.
    edge_mask : bool array (K, n_slots), optional
        One mask per class (a class is a corridor): False slots are closed to it.
    through_mask : bool array (n_nodes,), optional
        False: no path passes through that node.
    time, distance : float arrays (n_slots,), optional
        Summed along each chosen path for the skims.
    attributes : float array (A, n_slots), optional
        Further per-slot values summed along each path (``Assignment.attributes``).

    Returns
    -------
    Assignment
    """
    graph = Graph(indptr, indices, through_mask)
    return graph.assign(
        weights,
        origins,
        destinations,
        demand,
        edge_mask=edge_mask,
        time=time,
        distance=distance,
        attributes=attributes,
    )


def relative_gap(flow, time, demand, shortest_cost) -> float:
    """``(sum flow*time - sum demand*shortest_cost) / sum flow*time``."""
    total = float(np.dot(flow, time))
    if total <= 0.0:
        return 0.0
    return (total - float(np.dot(demand, shortest_cost))) / total


@dataclass(frozen=True)
class Equilibrium:
    """Result of :func:`user_equilibrium`; arrays in original edge order."""

    flow: np.ndarray
    time: np.ndarray
    gap: float
    iterations: int
    converged: bool
    method: str
    gap_history: np.ndarray = field(repr=False)


def user_equilibrium(
    tail,
    head,
    n_nodes: int,
    free_flow_time,
    capacity,
    alpha,
    beta,
    origins,
    destinations,
    demand,
    *,
    through_mask=None,
    edge_mask=None,
    method: Method = "frank-wolfe",
    gap: float = 1e-4,
    max_iter: int = 10_000,
    initial_flow=None,
) -> Equilibrium:
    """Solve the static user equilibrium with BPR link times.

    Parameters
    ----------
    tail, head : int arrays (n_edges,)
        Edges in original id order; ``free_flow_time``, ``capacity``, ``alpha``,
        ``beta``, ``edge_mask`` and ``initial_flow`` follow the same order.
    n_nodes : int
    free_flow_time, capacity : float arrays (n_edges,)
    alpha, beta : float or float arrays (n_edges,)
    origins, destinations, demand : arrays (n_od,)
    through_mask : bool array (n_nodes,), optional
    edge_mask : bool array (n_edges,), optional
    method : {"msa", "frank-wolfe", "cfw", "bfw"}
        Method of successive averages, Frank-Wolfe with exact line search, conjugate
        or bi-conjugate Frank-Wolfe (Mitradjieva and Lindberg, 2013).
    gap : float
        Target relative gap ``(sum x t - sum q c) / sum x t``.
    max_iter : int
    initial_flow : float array (n_edges,), optional
        Start from these flows instead of an all-or-nothing load at free flow.

    Returns
    -------
    Equilibrium
        ``flow`` and ``time`` in original edge order; ``gap`` is the relative gap of
        the returned flows.
    """
    if method not in METHODS:
        raise _fail("method", f"must be one of {METHODS}, got {method!r}")
    if isinstance(gap, bool) or not (
        isinstance(gap, float | int | np.floating | np.integer) and np.isfinite(gap) and gap >= 0
    ):
        raise _fail("gap", f"must be a finite number >= 0, got {gap!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise _fail("max_iter", f"must be a positive integer, got {max_iter!r}")
    indptr, indices, perm = csr_from_edges(tail, head, n_nodes)
    n_e = indices.size
    t0 = _float_array("free_flow_time", free_flow_time, (n_e,))[perm]
    cap = _param_array("capacity", capacity, n_e, positive=True)[perm]
    al = _param_array("alpha", alpha, n_e)[perm]
    be = _param_array("beta", beta, n_e)[perm]
    org, od_origin, dst = _od_arrays(origins, destinations, n_nodes)
    q = _float_array("demand", demand, (dst.size,))
    em, tm = _masks(None if edge_mask is None else np.asarray(edge_mask), through_mask, n_e, n_nodes)
    em = np.ascontiguousarray(em[perm])[None, :]
    qk = q[None, :]
    tails = slot_tails(indptr)
    nan_attrs = np.full((2, n_e), np.nan)

    work = _dijkstra_work(org.size, n_nodes, n_e) + _walk_work(1, dst.size, 3, n_nodes)

    def load(times):
        flow, skims, unassigned, _ = _run(
            _assign_kernel,
            work,
            org.size,
            indptr,
            indices,
            tails,
            times[None, :],
            em,
            tm,
            org,
            od_origin,
            dst,
            qk,
            nan_attrs,
        )
        if unassigned[0] > 0:
            raise _fail("demand", f"{unassigned[0]:g} of it has no path between its origin and destination")
        return flow[0], skims[0, 0]

    # each load on the thread count _threads_for chooses (results do not depend on it); a
    # small problem stays on one thread for the whole run rather than switching per load
    with _num_threads(1) if work < _PARALLEL_WORK else nullcontext():
        times = np.empty(n_e)
        deriv = np.empty(n_e)
        if initial_flow is None:
            x, _ = load(t0)
        else:
            init = _float_array("initial_flow", initial_flow, (n_e,))
            x = init[perm].copy()
        history: list[float] = []
        s_prev = s_prev2 = None
        step = 1.0
        fw_next = True
        rgap = np.inf
        it = 0
        while True:
            _bpr_kernel(t0, x, cap, al, be, times)
            y, cost = load(times)
            rgap = relative_gap(x, times, q, cost)
            history.append(rgap)
            if rgap <= gap or it >= max_iter:
                break
            it += 1
            if method == "msa":
                x = x + (y - x) / (it + 1)
                continue
            target = y
            if method in ("cfw", "bfw") and not fw_next and s_prev is not None:
                _bpr_derivative_kernel(t0, x, cap, al, be, deriv)
                if method == "bfw" and s_prev2 is not None:
                    target = _biconjugate_target(x, y, s_prev, s_prev2, step, deriv)
                else:
                    target = _conjugate_target(x, y, s_prev, deriv)
                if np.dot(target - x, times) >= 0.0:  # not a descent direction: plain FW step
                    target = y
            direction = target - x
            step = _line_search(x, direction, t0, cap, al, be, 1e-12)
            x = x + step * direction
            s_prev2, s_prev = s_prev, target
            # a full step discards the conjugate history (AequilibraE does the same)
            fw_next = step >= 1.0 - 1e-12
    flow = np.empty(n_e)
    flow[perm] = x
    time_out = np.empty(n_e)
    time_out[perm] = times
    return Equilibrium(flow, time_out, float(rgap), it, bool(rgap <= gap), method, np.array(history))


def _conjugate_target(x, y, s_prev, deriv):
    a = s_prev - x
    num = np.dot(a * deriv, y - x)
    den = np.dot(a * deriv, y - s_prev)
    alpha = num / den if den != 0.0 else 0.0
    alpha = min(max(alpha, 0.0), 1.0 - 1e-6)
    return alpha * s_prev + (1.0 - alpha) * y


def _biconjugate_target(x, y, s1, s2, step, deriv):
    if step >= 1.0 - 1e-12:
        return _conjugate_target(x, y, s1, deriv)
    dbar = s1 - x
    dbarbar = step * s1 - x + (1.0 - step) * s2
    yx = y - x
    mu_den = np.dot(dbarbar * deriv, s2 - s1)
    mu = -np.dot(dbarbar * deriv, yx) / mu_den if mu_den != 0.0 else 0.0
    mu = max(mu, 0.0)
    nu_den = np.dot(dbar * deriv, dbar)
    nu = (-np.dot(dbar * deriv, yx) / nu_den if nu_den != 0.0 else 0.0) + mu * step / (1.0 - step)
    nu = max(nu, 0.0)
    b0 = 1.0 / (1.0 + mu + nu)
    return b0 * y + nu * b0 * s1 + mu * b0 * s2


@contextmanager
def single_thread() -> Iterator[None]:
    """Run kernels on one thread inside the block (small graphs: thread start-up costs more).

    Results do not depend on the thread count; this only saves time, and leaves the cores
    to process-level parallelism (ensembles).
    """
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    _local.single = getattr(_local, "single", 0) + 1
    try:
        yield
    finally:
        _local.single -= 1
        numba.set_num_threads(before)


# ------------------------------------------------------------------------- warm-up


def warmup() -> None:
    """Compile (or load from cache) every kernel on a tiny graph."""
    tail = np.array([0, 1, 1, 2, 0], dtype=np.int64)
    head = np.array([1, 2, 0, 0, 2], dtype=np.int64)
    indptr, indices, _ = csr_from_edges(tail, head, 3)
    w = np.ones(indices.size)
    shortest_paths(indptr, indices, w, [0, 1])
    shortest_paths_batch(indptr, indices, np.ones((2, indices.size)), [0])
    shortest_path_trees(indptr, indices, np.ones((2, indices.size)), [0, 1], [0, 2])
    bpr_time(w, w, w, 0.15, 4.0)
    res = assign(
        indptr, indices, w, [0], [2], [1.0], edge_mask=np.ones((2, indices.size), dtype=bool), time=w
    )
    res.paths.sums(w)
    res.paths.mins(w)
    res.paths.load(np.ones((2, 1)))
    for m in METHODS:
        user_equilibrium(tail, head, 3, w, w, 0.15, 4.0, [0, 1], [2, 2], [1.0, 2.0], method=m, max_iter=5)
    # the conjugate branch needs partial steps, which this tiny graph may never take
    _bpr_derivative_kernel(w, w, w, w, w, np.empty_like(w))
