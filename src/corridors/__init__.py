"""corridors: an agent-based model of the competition between Central Asia's trade routes.

The public API::

    import corridors
    res = corridors.run(seed=7)            # the baseline, 2019-2035, quarterly
    res.annual_volumes()                   # year, corridor, volume_t
    res.observable("middle_corridor_t")    # modelled counterpart of an observed series
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from corridors.errors import CorridorsError, DataError, ScenarioError
from corridors.events import Event, baseline_events
from corridors.network import Network, load_network
from corridors.parameters import Parameters
from corridors.results import Results, load_results

__version__ = "0.1.0"

__all__ = [
    "CorridorsError",
    "DataError",
    "Event",
    "Network",
    "Parameters",
    "Results",
    "ScenarioError",
    "__version__",
    "baseline_events",
    "load_network",
    "load_results",
    "run",
]


def run(
    scenario: Any = None,
    *,
    seed: int | None = None,
    params: Parameters | None = None,
    events: Sequence[Event] | None = None,
    end_year: int = 2035,
    stochastic: bool = True,
) -> Results:
    """Run the model once and return its :class:`Results`.

    Parameters
    ----------
    scenario : optional
        Reserved for scenario files (``corridors.load_scenario``); ``None`` runs the baseline.
    seed : int, optional
        Seed of the model's random generator; the same seed gives identical tables.
    params : Parameters, optional
        Behavioural and policy parameters.
    events : sequence of Event, optional
        The timeline (default: the baseline's known events).
    end_year : int
        Last simulated year.
    stochastic : bool
        False: no random draws; the seed is then irrelevant.
    """
    from corridors.model import CorridorModel

    if scenario is not None:
        raise NotImplementedError("scenario files arrive with corridors.load_scenario")
    model = CorridorModel(params=params, events=events, end_year=end_year, stochastic=stochastic, rng=seed)
    model.run()
    return Results.from_model(model, meta={"seed": seed})
