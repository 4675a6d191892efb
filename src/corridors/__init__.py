"""corridors: an agent-based model of the competition between Central Asia's trade routes.

The public API::

    import corridors
    sc = corridors.load_scenario("scenarios/baseline.toml", overrides={"period.end_year": 2030})
    res = corridors.run(sc, seed=7)        # corridors.run() runs the baseline
    res.annual_volumes()                   # year, corridor, volume_t
    res.observable("middle_corridor_t")    # modelled counterpart of an observed series
    res.save("results/baseline")           # Parquet tables and JSON, written atomically
    corridors.load_results("results/baseline")
    ens = corridors.run_ensemble(sc, replicates=100, seed=7, workers=2)  # EnsembleResults
    corridors.compare([res, ens])          # a matplotlib Figure (fan charts for ensembles)
    corridors.run_one(cost_elasticity=3.5) # dict of scalar outcomes, for optimisers and EMA
    corridors.check_effects("c5_bloc")     # its [[expect]] claims against the baseline, held or not
"""

from __future__ import annotations

from corridors._interrupt import quiet_while_starting

quiet_while_starting()  # the `corridors` command only: Ctrl-C during the imports below, one line

from corridors.kernel_cache import drop_stale

drop_stale()  # before any kernel loads from numba's cache: a kernel compiles in those it calls

from typing import TYPE_CHECKING

from corridors._version import __version__

if TYPE_CHECKING:  # for type checkers and editors; at run time __getattr__ imports on first use
    from corridors import plots
    from corridors.errors import CorridorsError, DataError, ScenarioError
    from corridors.events import Event
    from corridors.experiments.criticality import Criticality, criticality
    from corridors.experiments.discovery import Discovery, discover
    from corridors.experiments.effects import check_effects
    from corridors.experiments.ensemble import Sensitivity, run_ensemble, run_one, sensitivity, sweep
    from corridors.experiments.executors import Execution
    from corridors.experiments.robust import (
        RobustResults,
        candidates_from,
        project_candidates,
        robust,
        sample_futures,
        scenario_futures,
    )
    from corridors.experiments.runs import run
    from corridors.known_events import baseline_events
    from corridors.network import Network, load_network
    from corridors.parameters import Parameters
    from corridors.plots import compare
    from corridors.results import EnsembleResults, Results, load_ensemble, load_results
    from corridors.scenario import Scenario, find_scenario, load_scenario, scenario_dir
    from corridors.tuning import Tuner

# The public names, each imported from its module on first use (PEP 562): ``import corridors``
# (and the ``corridors`` command, which imports the package first) then loads only what is
# used, not matplotlib, pandas, Mesa and the calibration for every command.
_PUBLIC = {
    "CorridorsError": "corridors.errors",
    "DataError": "corridors.errors",
    "ScenarioError": "corridors.errors",
    "Event": "corridors.events",
    "Criticality": "corridors.experiments.criticality",
    "criticality": "corridors.experiments.criticality",
    "Discovery": "corridors.experiments.discovery",
    "discover": "corridors.experiments.discovery",
    "check_effects": "corridors.experiments.effects",
    "Sensitivity": "corridors.experiments.ensemble",
    "run_ensemble": "corridors.experiments.ensemble",
    "run_one": "corridors.experiments.ensemble",
    "sensitivity": "corridors.experiments.ensemble",
    "sweep": "corridors.experiments.ensemble",
    "Execution": "corridors.experiments.executors",
    "RobustResults": "corridors.experiments.robust",
    "candidates_from": "corridors.experiments.robust",
    "project_candidates": "corridors.experiments.robust",
    "robust": "corridors.experiments.robust",
    "sample_futures": "corridors.experiments.robust",
    "scenario_futures": "corridors.experiments.robust",
    "run": "corridors.experiments.runs",
    "baseline_events": "corridors.known_events",
    "Network": "corridors.network",
    "load_network": "corridors.network",
    "Parameters": "corridors.parameters",
    "compare": "corridors.plots",
    "EnsembleResults": "corridors.results",
    "Results": "corridors.results",
    "load_ensemble": "corridors.results",
    "load_results": "corridors.results",
    "Scenario": "corridors.scenario",
    "find_scenario": "corridors.scenario",
    "load_scenario": "corridors.scenario",
    "scenario_dir": "corridors.scenario",
    "Tuner": "corridors.tuning",
}


def __getattr__(name: str):
    """Import a public name (or the ``plots`` package) from its module on first use."""
    import importlib

    if name == "plots":
        return importlib.import_module("corridors.plots")
    module = _PUBLIC.get(name)
    if module is None:
        msg = f"module 'corridors' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Return the public API, for tab completion."""
    return sorted(__all__)


__all__ = [
    "CorridorsError",
    "Criticality",
    "DataError",
    "Discovery",
    "EnsembleResults",
    "Event",
    "Execution",
    "Network",
    "Parameters",
    "Results",
    "RobustResults",
    "Scenario",
    "ScenarioError",
    "Sensitivity",
    "Tuner",
    "__version__",
    "baseline_events",
    "candidates_from",
    "check_effects",
    "compare",
    "criticality",
    "discover",
    "find_scenario",
    "load_ensemble",
    "load_network",
    "load_results",
    "load_scenario",
    "plots",
    "project_candidates",
    "robust",
    "run",
    "run_ensemble",
    "run_one",
    "sample_futures",
    "scenario_dir",
    "scenario_futures",
    "sensitivity",
    "sweep",
]
