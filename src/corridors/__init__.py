"""corridors: an agent-based model of the competition between Central Asia's trade routes.

The public API::

    import corridors
    sc = corridors.load_scenario("scenarios/baseline.toml", overrides={"period.end_year": 2030})
    res = corridors.run(sc, seed=7)        # corridors.run() runs the baseline
    res.annual_volumes()                   # year, corridor, volume_t
    res.observable("middle_corridor_t")    # modelled counterpart of an observed series
    res.save("results/baseline")           # Parquet tables and JSON, written atomically
    corridors.load_results("results/baseline")
"""

from __future__ import annotations

from corridors.errors import CorridorsError, DataError, ScenarioError
from corridors.events import Event, baseline_events
from corridors.network import Network, load_network
from corridors.parameters import Parameters
from corridors.results import Results, load_results
from corridors.runs import run
from corridors.scenario import Scenario, load_scenario

__version__ = "0.1.0"

__all__ = [
    "CorridorsError",
    "DataError",
    "Event",
    "Network",
    "Parameters",
    "Results",
    "Scenario",
    "ScenarioError",
    "__version__",
    "baseline_events",
    "load_network",
    "load_results",
    "load_scenario",
    "run",
]
