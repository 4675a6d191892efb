"""What a ban does to contracted freight.

The split of each flow into what the ban leaves and what it moves, and the re-booking of
moved freight where slots exist.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from corridors.routes import Routes, _arrays, _load_on_paths, _path_slots, _ratio_on_cached
from corridors.vocabulary import QUARTER_DAYS

__all__ = ["rebook"]

_kernel = njit(cache=True, error_model="numpy")


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
def _rebook_kernel(
    tails, pred, ra, ship_od, moved, allowed, target, cap_s, hard_s, prev_load_s, first, queue_days, out
):
    """:func:`rebook` into ``out``."""
    paths = _path_slots(tails, pred, ra[0], ra[1], ra[2])
    _rebook_on_paths(
        paths, ra, ship_od, moved, allowed, target, cap_s, hard_s, prev_load_s, first, queue_days, out
    )


@_kernel
def _rebook_on_paths(
    paths, ra, ship_od, moved, allowed, target, cap_s, hard_s, prev_load_s, first, queue_days, out
):
    """:func:`rebook` into ``out`` on the quoted paths, walked once (``paths``)."""
    S, K = moved.shape
    n_slots = cap_s.shape[0]
    spare = np.empty(n_slots)
    for i in range(n_slots):
        queue = cap_s[i] * queue_days / QUARTER_DAYS if hard_s[i] else 0.0
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
    routes: Routes,
    tails: np.ndarray,
    pred: np.ndarray,
    moved: np.ndarray,
    allowed: np.ndarray,
    *,
    target: np.ndarray,
    cap_s: np.ndarray,
    hard_s: np.ndarray,
    prev_load_s: np.ndarray,
    first: bool,
    queue_days: float,
) -> np.ndarray:
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
        tails,
        pred,
        _arrays(routes),
        routes.ship_od,
        np.ascontiguousarray(moved, dtype=np.float64),
        np.ascontiguousarray(allowed, dtype=bool),
        target,
        cap_s,
        hard_s,
        prev_load_s,
        bool(first),
        float(queue_days),
        out,
    )
    return out
