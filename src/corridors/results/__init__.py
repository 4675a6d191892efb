"""Results of a run and of an ensemble: long-format tables, indicators, observables; saving and loading.

Tables (pandas, long format, one row per step and key):

- ``corridors``: step, year, quarter, corridor, volume_t, demand_t, backlog_t, share,
  cost_usd_per_t, time_days, utilisation
- ``countries``: step, year, quarter, country, commodity, market, direction, corridor,
  volume_t, share
- ``edges``: step, year, quarter, edge, flow_t, load_t, capacity_t, utilisation, time_h,
  wait_days
- ``policy``: step, year, quarter and the agents' levers (tariff factors, subsidies, fleet)
- ``decisions``: the agents' discrete decisions (projects funded, pledges delivered)

and, for :meth:`Results.explain` (:data:`EXPLAIN_TABLES`):

- ``costs``: step, year, quarter, shipper, corridor, the freight and the parts of the
  generalised cost the shippers compare (:mod:`corridors.results.costs`)
- ``refusals``: the yearly project reviews that funded nothing, and why

and, for the flow map (:data:`MAP_TABLES`):

- ``link_corridors``: year, edge, corridor, flow_t: each corridor's freight on each link
"""

from corridors.results.columns import FORMAT_VERSION, KEY_COLUMNS, TEXT_DTYPE, parquet_bytes
from corridors.results.ensemble import ENSEMBLE_TABLES, QUANTILES, EnsembleResults, load_ensemble
from corridors.results.measures import measure
from corridors.results.run import (
    EXPLAIN_TABLES,
    MAP_TABLES,
    OBSERVABLES,
    TABLES,
    Observable,
    Results,
    load_results,
)

__all__ = [
    "ENSEMBLE_TABLES",
    "EXPLAIN_TABLES",
    "FORMAT_VERSION",
    "KEY_COLUMNS",
    "MAP_TABLES",
    "OBSERVABLES",
    "QUANTILES",
    "TABLES",
    "TEXT_DTYPE",
    "EnsembleResults",
    "Observable",
    "Results",
    "load_ensemble",
    "load_results",
    "measure",
    "parquet_bytes",
]
