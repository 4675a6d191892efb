"""Loading a quarter: offer, re-booking, spreading over parallel routes, hard capacities, experienced costs.

Functions over plain arrays, with the hot loops in Numba kernels (``cache=True``). The
model (:mod:`corridors.model`) calls them in the order of a step; agents never do. A
quarter, after its quotes (:mod:`corridors.quotes`):

1. :func:`offer`: contracted shares split by bans, banned freight re-booked where slots
   exist (:mod:`corridors.bans`), the backlog carried or given up, and the first round's loads (one kernel).
2. :func:`spread`: later rounds route on this quarter's queues at the averaged loads
   (successive averages over parallel routes; one kernel a round).
3. :func:`~corridors.settling.settle`: hard capacities throttle every part of a flow at its tightest link;
   served freight, backlog, edge flows, BPR times and queue waits, and each shipper's
   experienced money and time (one kernel).

With our Dijkstra, :func:`load_quarter` does all three in one kernel call.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from corridors.bans import _ban_split, _rebook_on_paths
from corridors.quotes import _route_weights, _weight_inputs, route_weights
from corridors.routes import (
    Routes,
    _arrays,
    _load_all,
    _load_on_paths,
    _path_slots,
)
from corridors.settling import Settled, _settle_on_paths, settle
from corridors.trees import TreeBuffers, TreeCache, _refresh_trees, job_arrays
from corridors.vocabulary import QUARTER_DAYS

__all__ = ["load_quarter", "offer", "spread"]

_kernel = njit(cache=True, error_model="numpy")


@_kernel
def _offer_kernel(
    tails,
    pred,
    ra,
    ship_od,
    vol,
    state_share,
    shares,
    state_alloc,
    target,
    available,
    ban_cap,
    backlog,
    cap_s,
    hard_s,
    prev_load_s,
    first,
    queue_days,
    give_up,
    new,
    offered,
    diverted,
    loads,
):
    """:func:`offer` into its arrays; returns whether any freight was moved by a ban."""
    paths = _path_slots(tails, pred, ra[0], ra[1], ra[2])
    return _offer_on_paths(
        paths,
        ra,
        ship_od,
        vol,
        state_share,
        shares,
        state_alloc,
        target,
        available,
        ban_cap,
        backlog,
        cap_s,
        hard_s,
        prev_load_s,
        first,
        queue_days,
        give_up,
        new,
        offered,
        diverted,
        loads,
    )


@_kernel
def _offer_on_paths(
    paths,
    ra,
    ship_od,
    vol,
    state_share,
    shares,
    state_alloc,
    target,
    available,
    ban_cap,
    backlog,
    cap_s,
    hard_s,
    prev_load_s,
    first,
    queue_days,
    give_up,
    new,
    offered,
    diverted,
    loads,
):
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
        _rebook_on_paths(
            paths, ra, ship_od, moved, allowed, target, cap_s, hard_s, prev_load_s, first, queue_days, booked
        )
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
        tails,
        pred,
        _arrays(routes),
        routes.ship_od,
        volumes,
        state_share,
        shares,
        state_alloc,
        target,
        available,
        ban_cap,
        backlog,
        cap_s,
        hard_s,
        prev_load_s,
        first,
        float(queue_days),
        float(give_up),
        new,
        offered,
        diverted,
        loads,
    )
    return new, offered, diverted, loads


# --------------------------------------------------------------------------- spread


@_kernel
def _queue_days(loads, cap_s, hard_s):
    """Days of queue on each hard link whose load exceeds its capacity (Little's law)."""
    out = np.zeros(loads.shape[0])
    for i in range(loads.shape[0]):
        if hard_s[i] and loads[i] > cap_s[i]:
            out[i] = (loads[i] - cap_s[i]) / cap_s[i] * QUARTER_DAYS
    return out


@_kernel
def _round_kernel(tails, pred, ra, offered, loads, i):
    """Run one round of successive averages; return the round's own loads.

    The loads of ``offered`` on ``pred``, averaged into ``loads`` in place (round ``i``).
    """
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


# --------------------------------------------------------------------------- a quarter in one call


@_kernel
def _load_fused(
    graph,
    jobs,
    ra,
    ship_od,
    row_vot,
    qbuf,
    masks,
    masks_same,
    vol,
    state_share,
    shares,
    state_alloc,
    target,
    available,
    ban_cap,
    backlog,
    cap_s,
    hard_s,
    money_s,
    time_s,
    prev_load_s,
    first,
    queue_days,
    give_up,
    iterations,
    alpha,
    beta,
    slot,
    new,
    offered,
    diverted,
    out,
):
    """:func:`offer`, :func:`spread` (re-growing trees where needed) and :func:`settle` in one call.

    The rounds refresh the quote's trees in place (entry 0 of ``qbuf``): each starts from the
    trees of the call before (the quote's, then the round before's), whose weights differ
    only where the queues moved, and keeps or re-grows them (:func:`_refresh_trees`): its
    paths are those a fresh Dijkstra would grow. The next quarter's quote starts from the last
    round's trees. Each round's paths are kept for :func:`settle`; a round whose trees are
    those of the round before reuses its paths and loads.
    """
    tails = graph[2]
    pred = qbuf[2][0]  # the quote's trees, refreshed by each round in place
    n_slots = tails.shape[0]
    loads = np.empty(n_slots)
    cached = [_path_slots(tails, pred, ra[0], ra[1], ra[2])]
    _offer_on_paths(
        cached[0],
        ra,
        ship_od,
        vol,
        state_share,
        shares,
        state_alloc,
        target,
        available,
        ban_cap,
        backlog,
        cap_s,
        hard_s,
        prev_load_s,
        first,
        queue_days,
        give_up,
        new,
        offered,
        diverted,
        loads,
    )
    of = np.zeros(max(iterations, 1), dtype=np.int64)
    last_wait = np.empty(n_slots)
    round_loads = loads.copy()
    inputs = _weight_inputs(money_s, time_s, last_wait)  # each round puts its wait in row 2
    for i in range(1, iterations):
        of[i] = of[i - 1]  # unless this round's trees differ: the paths and loads of the round before
        wait = _queue_days(loads, cap_s, hard_s)
        if i == 1 or not np.all(wait == last_wait):
            last_wait = wait
            inputs[2] = wait
            weights = _route_weights(money_s, time_s, wait, row_vot)
            if _refresh_trees(graph, weights, masks, inputs, masks_same, jobs, qbuf, 0) > 0:
                paths = _path_slots(tails, pred, ra[0], ra[1], ra[2])
                cached.append(paths)
                round_loads = np.empty(n_slots)
                _load_on_paths(paths, ra, offered, round_loads)
                of[i] = len(cached) - 1
        for s in range(n_slots):
            loads[s] = loads[s] + (round_loads[s] - loads[s]) / (i + 1)
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


def load_quarter(
    routes: Routes,
    quote_trees: TreeCache,
    rounds: list[TreeCache],
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
    money_s: np.ndarray,
    time_s: np.ndarray,
    masks: np.ndarray,
    prev_load_s: np.ndarray,
    first: bool,
    queue_days: float,
    give_up: float,
    iterations: int,
    bpr_alpha: float,
    bpr_beta: float,
    slot: np.ndarray,
    round_buffers: TreeBuffers,
) -> tuple[np.ndarray, np.ndarray, Settled]:
    """Load the quarter: :func:`offer`, :func:`spread`, :func:`settle`.

    With our Dijkstra all of it is one kernel call, whose rounds refresh ``quote_trees`` in
    place (``rounds`` and ``round_buffers`` serve another router only); with another router
    (a benchmark's) the same kernels run one by one from here, with the router's trees, one
    tree cache a round. Returns the freight
    booked this quarter ``new``, the diverted tonnes per shipper, and the :class:`Settled`.
    """
    g = quote_trees.graph
    tails, pred = g.tails, quote_trees.pred
    common = {"cap_s": cap_s, "hard_s": hard_s}
    if quote_trees.router is not None:
        new, offered, diverted, loads = offer(
            routes,
            tails,
            pred,
            volumes=volumes,
            state_share=state_share,
            shares=shares,
            state_alloc=state_alloc,
            target=target,
            available=available,
            ban_cap=ban_cap,
            backlog=backlog,
            prev_load_s=prev_load_s,
            first=first,
            queue_days=queue_days,
            give_up=give_up,
            **common,
        )
        mix, loads = spread(
            routes,
            rounds,
            tails,
            pred,
            offered,
            loads,
            money_s=money_s,
            time_s=time_s,
            masks=masks,
            iterations=iterations,
            **common,
        )
        out = settle(
            routes,
            tails,
            pred,
            round_buffers.pred,
            mix,
            offered,
            loads,
            money_s=money_s,
            time_s=time_s,
            available=available,
            bpr_alpha=bpr_alpha,
            bpr_beta=bpr_beta,
            slot=slot,
            **common,
        )
        return new, diverted, out
    S, K = shares.shape
    new, offered, diverted = np.empty((S, K)), np.empty((S, K)), np.empty(S)
    out = Settled.allocate(S, K, slot.size, routes.group_od.size - 1)
    qb = quote_trees.buffers
    _load_fused(
        quote_trees.arrays,
        job_arrays(routes),
        _arrays(routes),
        routes.ship_od,
        routes.row_vot,
        qb.arrays(),
        masks,
        bool(np.array_equal(masks, qb.masks[quote_trees.index])),
        volumes,
        state_share,
        shares,
        state_alloc,
        target,
        available,
        ban_cap,
        backlog,
        cap_s,
        hard_s,
        money_s,
        time_s,
        prev_load_s,
        bool(first),
        float(queue_days),
        float(give_up),
        int(iterations),
        float(bpr_alpha),
        float(bpr_beta),
        slot,
        new,
        offered,
        diverted,
        out.arrays(),
    )
    return new, diverted, out
