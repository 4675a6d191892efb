"""The base class of the model's agents."""

from __future__ import annotations

import itertools
import weakref

import mesa

__all__ = ["CorridorAgent"]


class _IdCounters(weakref.WeakKeyDictionary):
    """Unique-id counters per model, holding the models weakly.

    ``mesa.Agent`` (3.3) numbers agents from a class-level ``defaultdict`` keyed by model, which
    keeps every model ever built alive: about 2 MB a run, 2 GB over the 1000 runs of an
    ensemble worker. Mesa reads the counter as ``self._ids[model]``, so this class attribute of
    our agents takes its place with the same numbering (one counter per model, from 1).
    """

    def __getitem__(self, model):
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


class CorridorAgent(mesa.Agent):
    """Base class of the model's agents: a Mesa agent whose model can be freed after its run."""

    _ids = _IdCounters()


# --------------------------------------------------------------------------- shippers' state
