"""A scipy-based stand-in for :func:`corridors.routing.shortest_path_trees`, for ``bench_model.py``.

``CorridorModel(router=scipy_router)`` runs the model with this module in place of
:mod:`corridors.routing`'s Dijkstra. The router protocol is one function,
:func:`shortest_path_trees`, with the signature and result of
:func:`corridors.routing.shortest_path_trees`::

    shortest_path_trees(indptr, indices, weights, rows, sources, *, edge_mask, through_mask)
        -> (dist, pred)

``weights`` is ``(R, n_slots)`` float64, ``edge_mask`` ``(R, n_slots)`` bool, ``rows`` and
``sources`` int64 ``(n_jobs,)`` (job ``j`` solves from ``sources[j]`` with
``weights[rows[j]]``), ``through_mask`` ``(n_nodes,)`` bool; ``dist`` float64 and ``pred``
int64 are ``(n_jobs, n_nodes)``, ``pred`` holding the CSR slot of the edge entering each
node (-1 for none).

Each weight row is one ``scipy.sparse.csgraph.dijkstra`` call over that row's distinct
sources, on a ``csr_matrix`` built from the row's current weights (a model whose costs change
must rebuild it every time):

- masked slots and slots of infinite weight are dropped (an infinite weight never lowers a
  cost in ours either);
- of parallel edges (same tail and head) only the cheapest is kept, the lowest slot on a
  tie, which is the one ours settles on (it relaxes a node's slots in order and replaces a
  label only when strictly lower); the kept slot is remembered so that scipy's predecessor
  nodes map back to CSR slots;
- ``through_mask``: a node that is not a through node may start or end a path but not pass
  on. Its out-edges are dropped, and every such node that is a source gets a copy (an extra
  matrix row holding its out-edges, no in-edges) from which scipy starts instead. Ours lets
  a path leave its own source even when the source is not a through node; the copy does
  exactly that and nothing more, and one matrix per row serves all its sources. The
  source's own label is then set to 0 with no predecessor, as ours has it.

Run ``python benchmarks/scipy_router.py`` to check it against
``routing.shortest_path_trees`` on random multigraphs (equal distances; equal predecessor
slots wherever the shortest path is unique) and, if the model accepts this router, on every
call of the first quarter of a :class:`corridors.model.CorridorModel`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from corridors import routing

__all__ = ["Check", "RouterRejectedError", "check_model_first_quarter", "check_random", "shortest_path_trees"]


# ---------------------------------------------------------------------- dijkstra


@dataclass(frozen=True, eq=False)
class _Layout:
    """What one weight row's call needs besides the weights: matrix rows of the slots, starts.

    Row ``u < n`` of scipy's matrix holds the out-edges of through node ``u``; row ``n + i``
    those of the ``i``-th non-through source (its copy); other non-through nodes have none.
    ``key`` is ``row * n + head`` per slot (-1: the slot is never usable).
    """

    n: int
    size: int
    key: np.ndarray
    start: np.ndarray
    sources: np.ndarray


def _layout(tails, heads, n: int, sources: np.ndarray, through: np.ndarray) -> _Layout:
    """``sources`` sorted and distinct (``np.unique``)."""
    copies = sources[~through[sources]]
    row_of = np.where(through, np.arange(n), -1)
    row_of[copies] = n + np.arange(copies.size)
    row = row_of[tails]
    key = np.where(row >= 0, row * n + heads, -1)
    start = np.where(through[sources], sources, n + np.searchsorted(copies, sources))
    return _Layout(n, n + copies.size, key, start, sources)


def _row_trees(w: np.ndarray, keep: np.ndarray, lay: _Layout) -> tuple[np.ndarray, np.ndarray]:
    """scipy distances and slot predecessors ``(n_sources, n)`` of one weight row."""
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
    # predecessor (a matrix row: a node or a source's copy) and node -> slot
    has = pred_node >= 0
    slots = np.full(pred_node.shape, -1, dtype=np.int64)
    want = pred_node[has].astype(np.int64) * n + np.nonzero(has)[1]
    slots[has] = chosen[np.searchsorted(chosen_key, want)]
    # the source itself: cost 0, no predecessor (a cycle back to it may have reached it)
    at = np.arange(lay.sources.size)
    dist[at, lay.sources] = 0.0
    slots[at, lay.sources] = -1
    return dist, slots


def shortest_path_trees(indptr, indices, weights, rows, sources, *, edge_mask=None, through_mask=None):
    """:func:`corridors.routing.shortest_path_trees` with ``scipy.sparse.csgraph.dijkstra``.

    One scipy call per weight row that has jobs, over that row's distinct sources; jobs
    with the same row and source share the answer.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    heads = np.asarray(indices, dtype=np.int64)
    n = indptr.size - 1
    n_slots = heads.size
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != n_slots:
        raise ValueError(f"weights: expected shape (R, {n_slots}), got {w.shape}")
    rows = np.asarray(rows, dtype=np.int64).ravel()
    sources = np.asarray(sources, dtype=np.int64).ravel()
    if rows.shape != sources.shape:
        raise ValueError(f"sources: length {sources.size} differs from rows' {rows.size}")
    em = (
        np.ones(w.shape, dtype=bool)
        if edge_mask is None
        else np.broadcast_to(np.asarray(edge_mask, bool), w.shape)
    )
    through = np.ones(n, dtype=bool) if through_mask is None else np.asarray(through_mask, dtype=bool)
    dist = np.empty((rows.size, n), dtype=np.float64)
    pred = np.empty((rows.size, n), dtype=np.int64)
    for r in np.unique(rows):
        jobs = np.flatnonzero(rows == r)
        src, which = np.unique(sources[jobs], return_inverse=True)
        d, p = _row_trees(w[r], em[r], _layout(tails, heads, n, src, through))
        which = which.ravel()
        dist[jobs] = d[which]
        pred[jobs] = p[which]
    return dist, pred


# -------------------------------------------------------------------- validation


def _unique_paths(indptr, indices, w, em, through, source, dist, rtol=1e-12) -> np.ndarray:
    """(n,) True where the least-cost path from ``source`` is unique, slot by slot.

    Node ``v`` has a unique path when exactly one usable slot ``u -> v`` is tight
    (``dist[u] + w == dist[v]`` to ``rtol``; ``u`` the source or a through node) and ``u``'s
    path is unique. Parallel edges of equal cost make a path not unique. Unreachable nodes
    are False; the source is True.
    """
    n = indptr.size - 1
    tails = np.repeat(np.arange(n), np.diff(indptr))
    passable = through.copy()
    passable[source] = True
    d_tail = dist[tails]
    d_head = dist[indices]
    ok = em & passable[tails] & np.isfinite(d_tail) & np.isfinite(d_head) & (indices != source)
    with np.errstate(invalid="ignore"):
        tight = ok & (np.abs(d_tail + w - d_head) <= rtol * np.maximum(1.0, np.abs(d_head)))
    n_tight = np.bincount(indices[tight], minlength=n)
    parent = np.full(n, -1)
    single = np.flatnonzero(tight)
    parent[indices[single]] = tails[single]  # meaningful where n_tight == 1
    state = np.zeros(n, dtype=np.int8)  # 0 unknown, 1 unique, 2 not unique
    state[source] = 1
    for v in range(n):
        chain = []
        node = v
        while state[node] == 0:
            if n_tight[node] != 1 or node in chain:
                state[node] = 2
                break
            chain.append(node)
            node = parent[node]
        result = state[node]
        for c in chain:
            state[c] = result
    return state == 1


@dataclass
class Check:
    """Outcome of comparing :func:`shortest_path_trees` with ``routing.shortest_path_trees``."""

    calls: int = 0
    labels: int = 0  # (job, node) labels compared
    unique: int = 0  # of which with a unique least-cost path
    tie_preds: int = 0  # labels on tied paths whose predecessor slots differ (allowed)
    problems: list[str] = field(default_factory=list)

    def compare(self, label: str, args: tuple, kwargs: dict, ours, peer) -> None:
        """Distances equal (rtol 1e-12); predecessor slots equal wherever paths are unique."""
        self.calls += 1
        indptr, indices, weights, rows, sources = (np.asarray(a) for a in args)
        em = kwargs.get("edge_mask")
        em = np.ones(weights.shape, dtype=bool) if em is None else np.broadcast_to(em, weights.shape)
        tm = kwargs.get("through_mask")
        tm = np.ones(indptr.size - 1, dtype=bool) if tm is None else np.asarray(tm, dtype=bool)
        (d0, p0), (d1, p1) = ours, peer
        if d0.shape != d1.shape or p0.shape != p1.shape or p1.dtype != np.int64 or d1.dtype != np.float64:
            self.problems.append(
                f"{label}: shapes or dtypes differ ({d1.shape} {d1.dtype}, {p1.shape} {p1.dtype})"
            )
            return
        if not np.array_equal(np.isinf(d0), np.isinf(d1)):
            self.problems.append(f"{label}: different nodes are reachable")
            return
        fin = np.isfinite(d0)
        if not np.allclose(d0[fin], d1[fin], rtol=1e-12, atol=1e-12):
            worst = np.max(np.abs(d0[fin] - d1[fin]))
            self.problems.append(f"{label}: distances differ (largest difference {worst:.3g})")
        for j in range(rows.size):
            r = int(rows[j])
            uniq = _unique_paths(indptr, indices, weights[r], em[r], tm, int(sources[j]), d0[j])
            same = p0[j] == p1[j]
            self.labels += d0.shape[1]
            self.unique += int(uniq.sum())
            self.tie_preds += int((~uniq & ~same).sum())
            bad = np.flatnonzero(uniq & ~same)
            if bad.size:
                self.problems.append(
                    f"{label}, job {j}: predecessor slots differ at {bad.size} nodes with a unique path"
                )

    def summary(self) -> str:
        what = (
            f"{self.calls} calls, {self.labels} node labels, {self.unique} with a unique path; "
            f"{self.tie_preds} predecessors differ on exact ties"
        )
        if self.problems:
            return f"{len(self.problems)} PROBLEM(S) in {what}: " + "; ".join(self.problems[:5])
        return f"equal distances, equal predecessors on unique paths ({what})"


def check_random(seed: int = 1, cases: int = 40) -> Check:
    """Random multigraphs: parallel edges, masks, non-through nodes (sources among them),
    zero and small integer weights (many exact ties), repeated (row, source) jobs."""
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
        n_rows = int(rng.integers(1, 4))
        w = rng.integers(0, 6, (n_rows, n_e)).astype(float)  # small integers: many exact ties
        if case % 2:
            w = rng.uniform(0.0, 10.0, (n_rows, n_e))
        mask = rng.random((n_rows, n_e)) < 0.85
        through = rng.random(n) < 0.7
        n_jobs = int(rng.integers(1, 2 * n))
        rows = np.sort(rng.integers(0, n_rows, n_jobs))
        sources = rng.integers(0, n, n_jobs)
        args = (indptr, indices, w, rows, sources)
        kwargs = {"edge_mask": mask, "through_mask": through}
        ours = routing.shortest_path_trees(*args, **kwargs)
        peer = shortest_path_trees(*args, **kwargs)
        check.compare(f"random case {case}", args, kwargs, ours, peer)
    return check


class RouterRejectedError(Exception):
    """The model did not use a router that offers only ``shortest_path_trees``."""


class _Recorder:
    """A router answering with ``routing.shortest_path_trees``, comparing each call with scipy's."""

    def __init__(self, check: Check) -> None:
        self.check = check

    def shortest_path_trees(self, *args, **kwargs):
        ours = routing.shortest_path_trees(*args, **kwargs)
        peer = shortest_path_trees(*args, **kwargs)
        self.check.compare(f"call {self.check.calls + 1}", args, kwargs, ours, peer)
        return ours


def check_model_first_quarter(**model_kwargs) -> Check:
    """Compare on every call of a ``CorridorModel``'s construction (its first quarter).

    Raises :class:`RouterRejectedError` when the model raises before calling the router, or
    never calls it: a model that still expects the older ``assign`` protocol.
    """
    from corridors.model import CorridorModel

    check = Check()
    try:
        CorridorModel(router=_Recorder(check), **model_kwargs)  # the constructor quotes quarter 0
    except Exception as exc:
        if check.calls:
            raise
        raise RouterRejectedError(f"{type(exc).__name__}: {exc}") from exc
    if not check.calls:
        raise RouterRejectedError("the model never called the router's shortest_path_trees")
    return check


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 random networks instead of 40")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    routing.warmup()
    random_check = check_random(cases=10 if args.quick else 40)
    print(f"random networks: {random_check.summary()}")
    failed = bool(random_check.problems)
    try:
        model_check = check_model_first_quarter(rng=7)
    except RouterRejectedError as exc:
        print(f"CorridorModel first quarter: not checked, the model rejects this router ({exc})")
    else:
        print(f"CorridorModel first quarter: {model_check.summary()}")
        failed |= bool(model_check.problems)
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
