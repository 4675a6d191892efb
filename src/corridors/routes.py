"""Routes and the paths on them.

The commodity groups flattened for the kernels, and the kernels that walk, sum and load paths.

Edges are handled in CSR *slot* order (``Network.perm``). Freight is routed per commodity
group (one routing class per group and corridor, a *row*) from each group's origins (a
*job*: one shortest-path tree per row and origin) to its markets (an *OD pair*, one per
origin-market pair; a shipper belongs to one pair). :class:`Routes` flattens the groups
into these arrays once per model. Every array that reaches a kernel is float64, int64 or
bool (int32 for tree orders), built by these modules.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["Routes"]

_kernel = njit(cache=True, error_model="numpy")


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
    job_dest_ptr, job_dest : int
        The markets of job ``j``'s pairs (CSR, derived from ``od_job`` and ``od_dest``):
        ``job_dest[job_dest_ptr[j]:job_dest_ptr[j + 1]]``. Only the paths to them are read
        from its tree.
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
    job_dest_ptr: np.ndarray = dataclasses.field(init=False, repr=False)
    job_dest: np.ndarray = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Derive each job's markets from its pairs."""
        J, K = self.job_row.size, self.od_job.shape[1]
        dests = np.repeat(self.od_dest, K)
        width = int(dests.max(initial=0)) + 1
        key = np.unique(self.od_job.ravel() * width + dests)  # the (job, market) pairs, sorted
        ptr = np.zeros(J + 1, dtype=np.int64)
        np.cumsum(np.bincount(key // width, minlength=J), out=ptr[1:])
        object.__setattr__(self, "job_dest_ptr", ptr)
        object.__setattr__(self, "job_dest", (key % width).astype(np.int64))

    @classmethod
    def build(cls, groups, n_shippers: int, n_corridors: int) -> Routes:
        """Flatten commodity groups into routes.

        Each group gives ``shippers``, ``od_of``, ``origins``, ``markets``, ``masks``
        (K, n_slots), ``commodity``; and ``vot``, else 0 until :meth:`with_vot`.
        """
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
        """The number of rows (routing classes: one per group and corridor)."""
        return self.row_masks.shape[0]

    def with_vot(self, group_vot: np.ndarray) -> Routes:
        """Return the same routes with each group's value of time (USD per tonne-day)."""
        out = copy.copy(self)  # the jobs' markets depend on the pairs alone: not derived again
        object.__setattr__(
            out, "row_vot", np.repeat(np.asarray(group_vot, dtype=np.float64), self.n_corridors)
        )
        return out


def _arrays(routes: Routes) -> tuple:
    return (
        routes.od_job,
        routes.od_source,
        routes.od_dest,
        routes.group_od,
        routes.od_ship_ptr,
        routes.od_ship,
        routes.box_group,
    )


# --------------------------------------------------------------------------- offer


@_kernel
def _path_sums(tails, pred, src, dest, values, out):
    """Add up every row of ``values`` along one path, in one walk (inf: unreachable)."""
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
    """Return every pair's path on every corridor as slot lists, walked once.

    Path ``i = o * K + k`` is ``slots[ptr[i]:ptr[i + 1]]``, from the market back to the origin
    (the order in which sums along it are taken); ``reach[i]`` False where the corridor cannot
    reach the market.
    """
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
    """Load ``per_shipper`` (S, K) tonnes on cached ``paths`` (:func:`_path_slots`) per group.

    The edge flows, per group summed over corridors and divided by ``scale``, go into
    ``parts`` (G, n_slots). The same sums as walking the trees: each corridor's flows added
    pair by pair, then the corridors in order; only the links a group's paths touch are summed.
    """
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
def _load_on_paths(paths, ra, per_shipper, out):
    """Load ``per_shipper`` (S, K) tonnes on cached ``paths`` (:func:`_path_slots`) into ``out``.

    The edge flows: each group's flows summed over corridors, then the groups in order.
    """
    parts = np.empty((ra[3].shape[0] - 1, out.shape[0]))
    _parts_on_paths(paths, ra, per_shipper, 1.0, parts)
    out[:] = 0.0
    for g in range(parts.shape[0]):
        for slot in range(out.shape[0]):
            out[slot] += parts[g, slot]


@_kernel
def _load_all(tails, pred, ra, per_shipper, out):
    """Load ``per_shipper`` (S, K) tonnes on the trees ``pred`` into ``out``.

    The edge flows: each group's flows summed over corridors, then the groups in order.
    """
    _load_on_paths(_path_slots(tails, pred, ra[0], ra[1], ra[2]), ra, per_shipper, out)


# --------------------------------------------------------------------------- quote


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
