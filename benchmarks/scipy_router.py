"""A scipy-based stand-in for :func:`corridors.routing.assign`, for ``bench_model.py``.

``CorridorModel(router=scipy_router)`` runs the model with this module in place of
:mod:`corridors.routing`: the same signature, the same :class:`corridors.routing.Assignment`
result, and a :class:`ScipyPathSet` with the ``sums``, ``mins`` and ``load`` of
:class:`corridors.routing.PathSet`.

Shortest paths come from ``scipy.sparse.csgraph.dijkstra``, one call per class on a
``csr_matrix`` built from that class's current weights:

- masked slots and slots of infinite weight are dropped (an infinite weight never lowers a
  cost in ours either);
- of parallel edges (same tail and head) only the cheapest is kept, the lowest slot on a
  tie, which is the one ours settles on (it relaxes a node's slots in order and replaces a
  label only when strictly lower); the kept slot is remembered so that scipy's predecessor
  nodes map back to CSR slots;
- ``through_mask``: a node that is not a through node may end a path but not pass on. Its
  out-edges are dropped, and every such node that is an origin gets a copy (an extra row
  holding its out-edges, no in-edges) from which scipy starts instead. Ours lets a path
  leave its own origin even when the origin is not a through node; the copy does exactly
  that and nothing more, and one matrix per class serves all its origins. The origin's
  own label is then set to 0 with no predecessor, as ours has it.

Paths are read from scipy's predecessor trees with numpy, one hop of all OD pairs at a
time, into flat arrays (class, OD pair, slot) ordered from the destination back to the
origin, the order in which ours walks them; ``sums`` and ``load`` are ``np.bincount`` over
those arrays and ``mins`` is ``np.minimum.at``. Accumulating in the same order as ours,
they give the same floating-point results on the same paths.

Run ``python benchmarks/scipy_router.py`` to check it against ``routing.assign`` on random
networks and on the first quarter of a :class:`corridors.model.CorridorModel`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from corridors import routing
from corridors.routing import Assignment

__all__ = ["ScipyPathSet", "assign", "check_model_first_quarter", "check_random"]


# ------------------------------------------------------------------------ paths


@dataclass(frozen=True, eq=False)
class ScipyPathSet:
    """Least-cost paths of a scipy assignment, as flat arrays; the API of ``routing.PathSet``.

    ``pred[k, u]`` is the predecessor tree (CSR slots, -1 for none) of class ``k`` from
    ``origins[u]``. ``entry_flat``, ``entry_slot`` and ``entry_od`` list every slot of every
    path: entry ``i`` is slot ``entry_slot[i]`` on the path of class ``k``, OD pair ``j``
    with ``entry_flat[i] = k * n_od + j`` and ``entry_od[i] = j``, sorted by (k, j) and from
    the destination back within a path.
    """

    origins: np.ndarray
    od_origin: np.ndarray
    destinations: np.ndarray
    pred: np.ndarray
    tails: np.ndarray
    reachable: np.ndarray  # (K, n_od) bool
    entry_flat: np.ndarray = field(repr=False)
    entry_slot: np.ndarray = field(repr=False)
    entry_od: np.ndarray = field(repr=False)
    entry_class: np.ndarray = field(repr=False)

    @property
    def n_classes(self) -> int:
        return self.pred.shape[0]

    def _fold(self, values, take_min: bool) -> np.ndarray:
        arr = np.asarray(values, dtype=np.float64)
        two_d = arr[None, :] if arr.ndim == 1 else arr
        n_cls, n_od = self.reachable.shape
        size = n_cls * n_od
        out = np.empty((two_d.shape[0], size))
        for a, row in enumerate(two_d):
            picked = row[self.entry_slot]
            if take_min:
                acc = np.full(size, np.inf)
                np.minimum.at(acc, self.entry_flat, picked)
            else:
                acc = np.bincount(self.entry_flat, weights=picked, minlength=size)
            out[a] = acc
        out[:, ~self.reachable.ravel()] = np.inf
        out = out.reshape(two_d.shape[0], n_cls, n_od)
        return out[0] if arr.ndim == 1 else out

    def sums(self, values) -> np.ndarray:
        """Sum of per-slot ``values`` ``(n_slots,)`` or ``(A, n_slots)`` along each path."""
        return self._fold(values, take_min=False)

    def mins(self, values) -> np.ndarray:
        """Least per-slot value along each path (``inf`` for empty or missing paths)."""
        return self._fold(values, take_min=True)

    def load(self, demand) -> np.ndarray:
        """Edge flows ``(K, n_slots)`` of ``demand`` ``(K, n_od)`` loaded on these paths."""
        q = np.asarray(demand, dtype=np.float64).reshape(self.reachable.shape)
        n_slots = self.tails.size
        flat_slot = self.entry_class * n_slots + self.entry_slot
        weights = q[self.entry_class, self.entry_od]
        flow = np.bincount(flat_slot, weights=weights, minlength=self.n_classes * n_slots)
        return flow.reshape(self.n_classes, n_slots)


def _path_entries(pred: np.ndarray, tails: np.ndarray, origins, od_origin, destinations):
    """Walk every OD pair's path back through ``pred`` (K, n_origins, n), all pairs per hop."""
    n_cls = pred.shape[0]
    n_od = destinations.size
    k_all = np.repeat(np.arange(n_cls), n_od)
    j_all = np.tile(np.arange(n_od), n_cls)
    u_all = od_origin[j_all]
    src_all = origins[u_all]
    node = destinations[j_all].copy()
    at_src = node == src_all
    first = pred[k_all, u_all, node]
    reachable = at_src | (first >= 0)
    live = np.flatnonzero(~at_src & reachable)
    flats, slots, hops = [], [], []
    hop = 0
    n_slots = tails.size
    while live.size:
        slot = pred[k_all[live], u_all[live], node[live]]
        flats.append(live)
        slots.append(slot)
        hops.append(np.full(live.size, hop))
        node[live] = tails[slot]
        live = live[node[live] != src_all[live]]
        hop += 1
        if hop > n_slots:
            raise ValueError("pred: contains a cycle")
    if flats:
        flat = np.concatenate(flats)
        slot = np.concatenate(slots)
        order = np.lexsort((np.concatenate(hops), flat))  # by path, then destination first
        flat, slot = flat[order], slot[order]
    else:
        flat = slot = np.empty(0, dtype=np.int64)
    return reachable.reshape(n_cls, n_od), flat, slot.astype(np.int64), k_all[flat], j_all[flat]


# ---------------------------------------------------------------------- dijkstra


@dataclass(frozen=True, eq=False)
class _Layout:
    """What every class of one call shares: matrix rows of the slots and the starts.

    Row ``u < n`` of scipy's matrix holds the out-edges of through node ``u``; row ``n + i``
    those of the ``i``-th non-through origin (its copy); other non-through nodes have none.
    ``key`` is ``row * n + head`` per slot (-1: the slot is never usable).
    """

    n: int
    size: int
    key: np.ndarray
    start: np.ndarray
    origins: np.ndarray


def _layout(tails, heads, n, origins, through) -> _Layout:
    copies = origins[~through[origins]]  # sorted, as np.unique returns them
    row_of = np.where(through, np.arange(n), -1)
    row_of[copies] = n + np.arange(copies.size)
    row = row_of[tails]
    key = np.where(row >= 0, row * n + heads, -1)
    start = np.where(through[origins], origins, n + np.searchsorted(copies, origins))
    return _Layout(n, n + copies.size, key, start, origins)


def _class_paths(w, keep, lay: _Layout):
    """scipy distances and slot predecessors ``(n_origins, n)`` of one class."""
    n, size = lay.n, lay.size
    sel = np.flatnonzero(keep & np.isfinite(w) & (lay.key >= 0))
    key = lay.key[sel]
    # one entry per (row, head): the cheapest parallel edge, the lowest slot on a tie
    # (lexsort is stable and sel ascends); the sort by key is also CSR order
    order = np.lexsort((w[sel], key))
    key_sorted = key[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = key_sorted[1:] != key_sorted[:-1]
    chosen = sel[order[first]]
    chosen_key = key_sorted[first]
    indptr = np.zeros(size + 1, dtype=np.int32)
    np.cumsum(np.bincount(chosen_key // n, minlength=size), out=indptr[1:])
    graph = csr_matrix(
        (w[chosen], (chosen_key % n).astype(np.int32), indptr), shape=(size, size)
    )  # from the current weights, as a model whose costs change must rebuild it
    dist, pred_node = dijkstra(graph, directed=True, indices=lay.start, return_predecessors=True)
    dist = dist[:, :n]
    pred_node = pred_node[:, :n]
    # predecessor (a matrix row: a node or an origin's copy) and node -> slot
    has = pred_node >= 0
    slots = np.full(pred_node.shape, -1, dtype=np.int64)
    want = pred_node[has].astype(np.int64) * n + np.nonzero(has)[1]
    slots[has] = chosen[np.searchsorted(chosen_key, want)]
    # the origin itself: cost 0, no predecessor (it may have been reached again by a cycle)
    rows = np.arange(lay.origins.size)
    dist[rows, lay.origins] = 0.0
    slots[rows, lay.origins] = -1
    return dist, slots


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
    """:func:`corridors.routing.assign` with scipy's Dijkstra and numpy path folding."""
    indptr = np.asarray(indptr, dtype=np.int64)
    heads = np.asarray(indices, dtype=np.int64)
    n = indptr.size - 1
    n_slots = heads.size
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    org_in = np.asarray(origins, dtype=np.int64)
    dst = np.asarray(destinations, dtype=np.int64)
    org, od_origin = np.unique(org_in, return_inverse=True)
    od_origin = od_origin.ravel().astype(np.int64)
    n_od = dst.size
    w = np.asarray(weights, dtype=np.float64)
    q = np.asarray(demand, dtype=np.float64)
    em = None if edge_mask is None else np.asarray(edge_mask, dtype=bool)
    ks = {a.shape[0] for a in (w, q, em) if a is not None and a.ndim == 2}
    if len(ks) > 1:
        raise ValueError(f"weights, demand and edge_mask disagree on the number of classes: {sorted(ks)}")
    k = ks.pop() if ks else 1
    w = np.broadcast_to(w, (k, n_slots))
    q = np.broadcast_to(q, (k, n_od))
    em = np.ones((k, n_slots), dtype=bool) if em is None else np.broadcast_to(em, (k, n_slots))
    through = np.ones(n, dtype=bool) if through_mask is None else np.asarray(through_mask, dtype=bool)
    lay = _layout(tails, heads, n, org, through)
    dist = np.empty((k, org.size, n))
    pred = np.empty((k, org.size, n), dtype=np.int64)
    for c in range(k):
        dist[c], pred[c] = _class_paths(w[c], em[c], lay)
    reachable, flat, slot, entry_k, entry_j = _path_entries(pred, tails, org, od_origin, dst)
    paths = ScipyPathSet(org, od_origin, dst, pred, tails, reachable, flat, slot, entry_j, entry_k)
    extra = np.empty((0, n_slots)) if attributes is None else np.asarray(attributes, dtype=np.float64)
    attrs = np.full((2 + extra.shape[0], n_slots), np.nan)
    if time is not None:
        attrs[0] = time
    if distance is not None:
        attrs[1] = distance
    attrs[2:] = extra
    skims = paths.sums(attrs)
    cost = dist[:, od_origin, dst]
    unassigned = np.where(np.isinf(cost), q, 0.0).sum(axis=1)
    flow = paths.load(q)
    return Assignment(flow, cost, skims[0], skims[1], skims[2:], unassigned, paths)


# -------------------------------------------------------------------- validation


@dataclass
class Check:
    """Outcome of comparing this module with ``routing.assign`` on some calls."""

    calls: int = 0
    pairs: int = 0  # (class, OD) pairs compared
    tie_pairs: int = 0  # pairs whose paths differ (equal costs: ties)
    problems: list[str] = field(default_factory=list)

    def compare(self, label: str, ours: Assignment, peer: Assignment, attrs: np.ndarray) -> None:
        """Costs to 1e-9 everywhere; time, attributes, flows exactly where paths agree."""
        self.calls += 1
        close = {"rtol": 1e-9, "atol": 1e-12, "equal_nan": True}
        if not np.allclose(ours.cost, peer.cost, **close) or not np.array_equal(
            np.isinf(ours.cost), np.isinf(peer.cost)
        ):
            worst = np.nanmax(np.abs(ours.cost - peer.cost))
            self.problems.append(f"{label}: costs differ (largest difference {worst:.3g})")
        if not np.allclose(ours.unassigned, peer.unassigned, **close):
            self.problems.append(f"{label}: unassigned demand differs")
        same = _same_paths(ours.paths, peer.paths)
        self.pairs += same.size
        self.tie_pairs += int((~same).sum())
        for name in ("time", "distance"):
            a, b = getattr(ours, name), getattr(peer, name)
            if not np.allclose(a[same], b[same], **close):
                self.problems.append(f"{label}: {name} skims differ on identical paths")
        if not np.allclose(ours.attributes[:, same], peer.attributes[:, same], **close):
            self.problems.append(f"{label}: attribute skims differ on identical paths")
        for name, fold in (("sums", "sums"), ("mins", "mins")):
            a = getattr(ours.paths, fold)(attrs)[:, same]
            b = getattr(peer.paths, fold)(attrs)[:, same]
            if not np.allclose(a, b, **close):
                self.problems.append(f"{label}: PathSet.{name} differs on identical paths")
        if same.all():
            q = np.linspace(1.0, 2.0, same.size).reshape(same.shape)
            if not np.allclose(ours.paths.load(q), peer.paths.load(q), **close):
                self.problems.append(f"{label}: PathSet.load differs")
            if not np.allclose(ours.flow, peer.flow, **close):
                self.problems.append(f"{label}: flows differ")

    def summary(self) -> str:
        ties = f"{self.tie_pairs} of {self.pairs} (class, OD) paths differ on exact ties"
        if self.problems:
            return f"{len(self.problems)} problem(s) in {self.calls} calls; {ties}: " + "; ".join(
                self.problems[:5]
            )
        return f"equal on {self.calls} calls; {ties}"


def _same_paths(a, b) -> np.ndarray:
    """(K, n_od) True where both path sets hold the same path."""
    n_cls, n_od = a.pred.shape[0], a.destinations.size
    out = np.ones((n_cls, n_od), dtype=bool)
    for k in range(n_cls):
        for j in range(n_od):
            u, node = a.od_origin[j], a.destinations[j]
            out[k, j] = np.array_equal(
                routing.path_slots(a.pred[k, u], _indptr_of(a.tails), a.origins[u], node),
                routing.path_slots(b.pred[k, u], _indptr_of(b.tails), b.origins[u], node),
            )
    return out


def _indptr_of(tails: np.ndarray) -> np.ndarray:
    n = int(tails.max()) + 1 if tails.size else 0
    return np.concatenate([[0], np.cumsum(np.bincount(tails, minlength=n))])


class _Recorder:
    """A router that answers with ``routing.assign`` and compares each call with this module."""

    def __init__(self, check: Check) -> None:
        self.check = check

    def assign(self, *args, **kwargs) -> Assignment:
        ours = routing.assign(*args, **kwargs)
        peer = assign(*args, **kwargs)
        n_slots = np.asarray(args[1]).size
        attrs = np.vstack([np.linspace(0.5, 3.0, n_slots), np.asarray(args[2]).reshape(-1, n_slots)[:1]])
        self.check.compare(f"call {self.check.calls + 1}", ours, peer, attrs)
        return ours


def check_model_first_quarter(**model_kwargs) -> Check:
    """Compare on every commodity group's call of a ``CorridorModel``'s first quarter."""
    from corridors.model import CorridorModel

    check = Check()
    CorridorModel(router=_Recorder(check), **model_kwargs)  # the constructor quotes quarter 0
    return check


def check_random(seed: int = 1, cases: int = 40) -> Check:
    """Random multigraphs with masks, non-through nodes (origins among them) and zero weights."""
    rng = np.random.default_rng(seed)
    check = Check()
    for case in range(cases):
        n = int(rng.integers(5, 40))
        n_e = int(rng.integers(n, 5 * n))
        tail = rng.integers(0, n, n_e)
        head = rng.integers(0, n, n_e)
        dup = np.flatnonzero(rng.random(n_e - 1) < 0.15) + 1  # parallel edges
        tail[dup], head[dup] = tail[dup - 1], head[dup - 1]
        indptr, indices, _ = routing.csr_from_edges(tail, head, n)
        k = int(rng.integers(1, 4))
        w = rng.integers(0, 6, (k, n_e)).astype(float)  # small integers: many exact ties
        if case % 2:
            w = rng.uniform(0.0, 10.0, (k, n_e))
        mask = rng.random((k, n_e)) < 0.85
        through = rng.random(n) < 0.7
        n_od = int(rng.integers(1, 3 * n))
        o = rng.integers(0, n, n_od)
        d = rng.integers(0, n, n_od)
        q = rng.uniform(0.0, 5.0, (k, n_od))
        time = rng.uniform(0.0, 3.0, n_e)
        extra = rng.uniform(0.0, 2.0, (2, n_e))
        kwargs = {"edge_mask": mask, "through_mask": through, "time": time, "attributes": extra}
        ours = routing.assign(indptr, indices, w, o, d, q, **kwargs)
        peer = assign(indptr, indices, w, o, d, q, **kwargs)
        check.compare(f"random case {case}", ours, peer, np.vstack([time, extra]))
    return check


if __name__ == "__main__":  # pragma: no cover
    routing.warmup()
    random_check = check_random()
    print(f"random networks: {random_check.summary()}")
    model_check = check_model_first_quarter(rng=7)
    print(f"CorridorModel first quarter: {model_check.summary()}")
    sys.exit(1 if random_check.problems or model_check.problems else 0)
