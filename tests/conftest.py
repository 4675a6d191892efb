"""Shared fixtures of the model tests: the packaged data loaded once, and a runner.

The network and the inputs are loaded once per session and handed to every
:class:`corridors.model.CorridorModel` the tests build, so a model costs its steps only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from corridors.events import Event, RouteClosure, Sanction
from corridors.inputs import Inputs, load_inputs
from corridors.known_events import baseline_events
from corridors.model import CorridorModel
from corridors.network import Network, load_network
from corridors.parameters import Parameters
from corridors.results import Results


@pytest.fixture(scope="session")
def network() -> Network:
    return load_network()


@pytest.fixture(scope="session")
def inputs(network: Network) -> Inputs:
    return load_inputs(network)


@pytest.fixture(scope="session")
def build_model(network: Network, inputs: Inputs) -> Callable[..., CorridorModel]:
    """``build_model(**kw)``: a new (unrun) model on the session's network and inputs."""

    def build(
        *,
        params: Parameters | None = None,
        events: Sequence[Event] | None = None,
        end_year: int = 2027,
        stochastic: bool = False,
        seed: int | None = 0,
        inputs_: Inputs | None = None,
    ) -> CorridorModel:
        return CorridorModel(
            params=params, events=events, end_year=end_year, stochastic=stochastic, rng=seed,
            network=network, inputs=inputs_ or inputs,
        )  # fmt: skip

    return build


@pytest.fixture(scope="session")
def run_model(build_model: Callable[..., CorridorModel]) -> Callable[..., CorridorModel]:
    """``run_model(**kw)``: a model built as by ``build_model`` and run to its horizon."""

    def run(**kw) -> CorridorModel:
        model = build_model(**kw)
        model.run()
        return model

    return run


@dataclass
class Trace:
    """A finished model and its shippers' state after every step."""

    model: CorridorModel
    results: Results
    shares: np.ndarray  # (T, S, K)
    state_alloc: np.ndarray  # (T, S, K)


def _trace(model: CorridorModel) -> Trace:
    """Step ``model`` to its horizon, keeping the shippers' shares and the state cargo of each step."""
    shares, alloc = [], []
    while model.running and model.t < model.n_steps:
        model.step()
        shares.append(model.sh.shares.copy())
        alloc.append(model.cargo.alloc.copy())
    assert model.t == model.n_steps
    return Trace(model, Results.from_record(model.record()), np.array(shares), np.array(alloc))


@pytest.fixture(scope="session")
def trace() -> Callable[[CorridorModel], Trace]:
    """``trace(model)``: step a model to its horizon and keep its shippers' state every step."""
    return _trace


@pytest.fixture(scope="session")
def baseline_trace(build_model: Callable[..., CorridorModel]) -> Trace:
    """The deterministic baseline to 2027, traced."""
    return _trace(build_model(end_year=2027))


@pytest.fixture(scope="session")
def ban_closure_events() -> list[Event]:
    """The baseline's events, a US ban on metals through Russia from 2021 and the Middle
    Corridor closed 2021Q3-2022Q2."""
    return [
        *baseline_events(Parameters()),
        Sanction(
            start="2021Q1", imposed_by="US", transit="RU", commodities=("metals_ores",), ban=True, share=1.0
        ),
        RouteClosure(start="2021Q3", end="2022Q2", corridor="middle"),
    ]
