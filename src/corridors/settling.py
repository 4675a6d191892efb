"""Settling a quarter's loading: hard capacities throttle every part of a flow at its tightest link.

:func:`settle` gives the served freight and backlog, edge flows, BPR times and queue waits,
and each shipper's experienced money and time (:class:`Settled`); the fused quarter of
:mod:`corridors.loading` calls the same kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from corridors.routes import Routes, _arrays, _parts_on_paths, _path_slots, _ratio_on_cached
from corridors.vocabulary import QUARTER_DAYS

__all__ = ["Settled", "settle"]

_kernel = njit(cache=True, error_model="numpy")


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
    group_flow_e: np.ndarray  # (G, E) served tonnes of each commodity group
    corridor_flow_e: np.ndarray  # (K, E) served tonnes of each corridor's freight

    @classmethod
    def empty(cls, S: int, K: int, E: int, G: int = 1) -> Settled:
        """Before the first quarter: nothing served, nothing experienced, no queues."""
        nan = np.full((S, K), np.nan)
        return cls(
            np.zeros((S, K)),
            np.zeros((S, K)),
            nan,
            nan.copy(),
            np.zeros(E),
            np.zeros(E),
            np.zeros(E),
            np.zeros(E),
            np.zeros(E),
            np.zeros((G, E)),
            np.zeros((K, E)),
        )

    @classmethod
    def allocate(cls, S: int, K: int, E: int, G: int) -> Settled:
        """Return arrays for ``S`` shippers, ``K`` corridors, ``E`` edges and ``G`` groups, not yet filled."""
        return cls(
            *(np.empty((S, K)) for _ in range(4)),
            *(np.empty(E) for _ in range(5)),
            np.empty((G, E)),
            np.empty((K, E)),
        )

    def arrays(self) -> tuple:
        """Return the arrays as a tuple for the kernels, in the order of the fields."""
        return (
            self.served,
            self.backlog,
            self.exp_money,
            self.exp_time,
            self.flow_e,
            self.load_e,
            self.wait_e,
            self.time_e,
            self.box_flows,
            self.group_flow_e,
            self.corridor_flow_e,
        )


@_kernel
def _tree(d, quote_pred, round_pred):
    """Tree set ``d``: 0 the quote's, ``i`` round ``i``'s."""
    return quote_pred if d == 0 else round_pred[d - 1]


@_kernel
def _distinct(mix):
    """Return the distinct tree sets of the rounds in order of appearance, and each round's index in them."""
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
    tails,
    ra,
    ship_od,
    quote_pred,
    round_pred,
    mix,
    offered,
    loads,
    cap_s,
    hard_s,
    money_s,
    time_s,
    available,
    alpha,
    beta,
    slot,
    out,
):
    """:func:`settle` into ``out`` (the arrays of a :class:`Settled`), from the rounds' trees."""
    ids, of = _distinct(mix)
    cached = [_path_slots(tails, _tree(ids[0], quote_pred, round_pred), ra[0], ra[1], ra[2])]
    for d in range(1, ids.shape[0]):
        cached.append(_path_slots(tails, _tree(ids[d], quote_pred, round_pred), ra[0], ra[1], ra[2]))
    _settle_on_paths(
        ra,
        ship_od,
        cached,
        of,
        offered,
        loads,
        cap_s,
        hard_s,
        money_s,
        time_s,
        available,
        alpha,
        beta,
        slot,
        out,
    )


@_kernel
def _settle_on_paths(
    ra,
    ship_od,
    cached,
    of,
    offered,
    loads,
    cap_s,
    hard_s,
    money_s,
    time_s,
    available,
    alpha,
    beta,
    slot,
    out,
):
    """Compute :func:`settle` into ``out`` from the paths of each distinct tree set (``cached``).

    ``of`` is the index among them of each round's tree set.
    """
    (
        served,
        backlog,
        exp_money,
        exp_time,
        flow_e,
        load_e,
        wait_e,
        time_e,
        box_flows,
        group_flow_e,
        corridor_flow_e,
    ) = out
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
    group_flow_e[:] = 0.0
    for m in range(n_mix):
        for g in range(G):
            for i in range(n_slots):
                flows[i] += parts[of[m], g, i]
                group_flow_e[g, slot[i]] += parts[of[m], g, i]
                if box_group[g]:
                    box_flows[i] += parts[of[m], g, i]
    # each corridor's served tonnes per link: its parts of every flow, as the group flows above
    corridor_flow_e[:] = 0.0
    for m in range(n_mix):
        ptr, slots, reach = cached[of[m]]
        for s in range(S):
            o = ship_od[s]
            for k in range(K):
                i = o * K + k
                v = offered[s, k] * ratios[of[m], s, k] / n_mix
                if not reach[i] or v == 0.0:
                    continue
                for j in range(ptr[i], ptr[i + 1]):
                    corridor_flow_e[k, slot[slots[j]]] += v
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
        w = (loads[i] - cap_s[i]) / cap_s[i] * QUARTER_DAYS if hard_s[i] and loads[i] > cap_s[i] else 0.0
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
    out = Settled.allocate(S, K, slot.size, routes.group_od.size - 1)
    _settle_kernel(
        tails,
        _arrays(routes),
        routes.ship_od,
        quote_pred,
        round_pred,
        mix,
        offered,
        loads,
        cap_s,
        hard_s,
        money_s,
        time_s,
        available,
        float(bpr_alpha),
        float(bpr_beta),
        slot,
        out.arrays(),
    )
    return out
