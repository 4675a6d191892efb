"""Shared fixtures of the model tests: the packaged data loaded once, and a runner.

The network and the inputs are loaded once per session and handed to every
:class:`corridors.model.CorridorModel` the tests build, so a model costs its steps only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from corridors.events import Event
from corridors.inputs import Inputs, load_inputs
from corridors.model import CorridorModel
from corridors.network import Network, load_network
from corridors.parameters import Parameters


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
