"""Tests of :mod:`corridors.loading`: the quarter's loading in one kernel call equals the same
steps run one by one from Python (offer, spreading rounds, settling)."""

from __future__ import annotations

import types

import numpy as np

from corridors import routing
from corridors.model import CorridorModel


def test_one_call_per_quarter_equals_the_step_by_step_path(build_model, ban_closure_events):
    """The fused kernels (our Dijkstra) and the same steps run one by one from Python (any
    other router; here ours behind the router protocol) give identical tables."""
    outside = types.SimpleNamespace(shortest_path_trees=routing.shortest_path_trees)
    runs = []
    for router in (None, outside):
        m = CorridorModel(end_year=2024, stochastic=True, rng=3, router=router, events=ban_closure_events,
                          network=build_model(end_year=2019).net)  # fmt: skip
        m.run()
        runs.append(m)
    for name in runs[0].rec:
        np.testing.assert_array_equal(runs[0].rec[name], runs[1].rec[name], err_msg=name)
