"""Quotes: the least-cost path of every shipper on every corridor under the expected queues.

Each quote holds the path and the money, time and tonne-km by power along it (one kernel a
quarter with our Dijkstra).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from corridors.routes import Routes, _path_sums
from corridors.trees import TreeCache, _refresh_trees, job_arrays

__all__ = ["quote", "quote_quarter", "route_weights"]

_kernel = njit(cache=True, error_model="numpy")


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


@_kernel
def _weight_inputs(money_s, time_s, wait_s):
    """Return what the routing weights are made of, per slot: money, time and wait (3, n_slots)."""
    inputs = np.empty((3, money_s.shape[0]))
    inputs[0] = money_s
    inputs[1] = time_s
    inputs[2] = wait_s
    return inputs


def route_weights(routes: Routes, money_s: np.ndarray, time_s: np.ndarray, wait_s: np.ndarray) -> np.ndarray:
    """Routing weight of every row: money plus the group's value of time on time and queue."""
    return _route_weights(money_s, time_s, wait_s, routes.row_vot)


@_kernel
def _quote_kernel(
    tails, pred, od_job, od_source, od_dest, ship_od, values, n_powers, money, time, wait, bloc
):
    """Money, time, queue wait and tonne-km shares by power along every shipper's path on every corridor.

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
            wait[s, k] = sums[1]
            total = 0.0
            for b in range(n_powers):
                total += sums[3 + b]
            for b in range(n_powers):
                v = sums[3 + b] / total
                bloc[s, k, b] = v if np.isfinite(v) else 0.0


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
    *,
    wait_out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Least-cost path of every corridor for every shipper under the expected queues.

    Returns the trees ``pred`` and, per shipper and corridor, the quoted money (USD/t),
    time (days, queue included) and share of the route's tonne-km in each power's bloc
    ``(S, K, P)``; ``inf`` money and time where the corridor cannot reach the market.
    ``wait_out`` ``(S, K)``, if given, receives the queue wait (days) in the quoted time.
    """
    pred = trees.update(route_weights(routes, money_s, time_s, wait_s), masks)
    K, P = routes.n_corridors, bloc_km_s.shape[0]
    values = np.ascontiguousarray(np.vstack([money_s, wait_s, time_s, bloc_km_s]))
    money = np.empty((n_shippers, K))
    time = np.empty((n_shippers, K))
    wait = np.empty((n_shippers, K)) if wait_out is None else wait_out
    bloc = np.empty((n_shippers, K, P))
    _quote_kernel(
        tails,
        pred,
        routes.od_job,
        routes.od_source,
        routes.od_dest,
        routes.ship_od,
        values,
        P,
        money,
        time,
        wait,
        bloc,
    )
    return pred, money, time, bloc


@_kernel
def _quote_fused(
    graph,
    jobs,
    row_vot,
    money_s,
    time_s,
    wait_s,
    bloc_km_s,
    masks,
    masks_same,
    buf,
    i,
    od,
    money,
    time,
    wait,
    bloc,
):
    """:func:`quote` on our Dijkstra: weights, kept or re-grown trees and quotes in one call.

    ``buf`` is :meth:`~corridors.trees.TreeBuffers.arrays` and ``i`` the quote cache's entry.
    """
    tails = graph[2]
    weights = _route_weights(money_s, time_s, wait_s, row_vot)
    inputs = _weight_inputs(money_s, time_s, wait_s)
    _refresh_trees(graph, weights, masks, inputs, masks_same, jobs, buf, i)
    P = bloc_km_s.shape[0]
    n = money_s.shape[0]
    values = np.empty((3 + P, n))
    values[0] = money_s
    values[1] = wait_s
    values[2] = time_s
    values[3:] = bloc_km_s
    od_job, od_source, od_dest, ship_od = od
    _quote_kernel(tails, buf[2][i], od_job, od_source, od_dest, ship_od, values, P, money, time, wait, bloc)


def quote_quarter(
    routes: Routes,
    trees: TreeCache,
    money_s: np.ndarray,
    time_s: np.ndarray,
    wait_s: np.ndarray,
    bloc_km_s: np.ndarray,
    masks: np.ndarray,
    *,
    wait_out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`quote`, in one kernel call when ``trees`` uses our Dijkstra (the same numbers).

    ``wait_out`` ``(S, K)``, if given, receives the queue wait (days) in each quoted time.
    """
    g = trees.graph
    S = routes.ship_od.size
    if trees.router is not None:
        return quote(routes, trees, g.tails, money_s, time_s, wait_s, bloc_km_s, masks, S, wait_out=wait_out)
    K, P = routes.n_corridors, bloc_km_s.shape[0]
    money, time, bloc = np.empty((S, K)), np.empty((S, K)), np.empty((S, K, P))
    wait = np.empty((S, K)) if wait_out is None else wait_out
    b = trees.buffers
    i = trees.index
    same = bool(np.array_equal(masks, b.masks[i]))
    _quote_fused(
        trees.arrays,
        job_arrays(routes),
        routes.row_vot,
        money_s,
        time_s,
        wait_s,
        bloc_km_s,
        masks,
        same,
        b.arrays(),
        i,
        (routes.od_job, routes.od_source, routes.od_dest, routes.ship_od),
        money,
        time,
        wait,
        bloc,
    )
    return b.pred[i], money, time, bloc
