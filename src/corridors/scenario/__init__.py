"""Scenario files: TOML -> a validated, resolved :class:`Scenario`.

A scenario file names the scenario, quotes the article passage it models, and sets the
period, parameters, agents' settings, sea rates and a timeline of typed events
(:mod:`corridors.events`)::

    name = "us_c5_partnership"
    title = "US-C5 partnership"
    description = "..."
    article = "..."
    sources = ["S-btk"]                    # headings of the packaged SOURCES.md
    extends = "baseline"                   # optional: a shipped scenario, or a file relative to this one
    parameters_file = "fit.toml"           # optional, a file with a [parameters] table
    seed = 7
    history = true                         # prepend baseline_events(params)

    [period]
    end_year = 2035

    [parameters]
    cost_elasticity = 4.0

    [agents.KZ]
    border_efficiency = 0.9

    [[sea_rates]]
    quarter = "2026Q1"
    usd_per_feu = 2500

    [[events]]
    kind = "sanction"
    start = "2026Q1"
    imposed_by = "US"
    transit = "RU"
    premium_usd_per_t = { parameter = "russia_premium_usd_per_t" }

    [[expect]]                             # claims against the baseline (validate --effects)
    claim = "Middle Corridor volume in 2030 up"
    observable = "volume_t"                # a measure of corridors.observables.MEASURES
    corridor = "middle"
    year = 2030
    ratio_at_least = 1.01                  # exactly one comparison

``extends`` merges the parent, then the child (tables key by key, scalars and lists
replaced, ``events`` concatenated parent-first unless ``replace_events = true``,
``sea_rates`` merged by quarter); ``parameters_file`` applies before the file's own
``[parameters]``; dotted overrides apply last. Every problem raises
:class:`corridors.errors.ScenarioError` with one line: the file, the line where it can be
known, the dotted field and the reason. Every name a file gives (funders, sanctioning
parties, countries, controllers, corridors, markets, nodes, links, projects, commodities,
modes, directions, parameters, states, sources) is checked against what the model and its
packaged data know (:class:`corridors.scenario.checks.Vocabulary`); an unknown one is such an
error, with the known names, the closest one, or where they are listed.

The package, each module importing only those above it:

- ``_toml``: the line of each key of a TOML text, and the TOML writer;
- ``schema``: pydantic models of the file and its events, :func:`scenario_schema`
  (parameters' types, bounds and descriptions from :class:`corridors.parameters.Parameters`);
- ``locate``: the files read, where each part of the merged scenario came from, and
  validation errors as one line with file and line;
- ``checks``: meaning checks the schema cannot make, and the typed events;
- ``candidates``: candidate investments of ``corridors robust`` from a file of investment
  events (:func:`~corridors.scenario.candidates.load_candidates`);
- ``resolve``: :class:`Scenario`, :func:`load_scenario` (``extends``, ``parameters_file``,
  overrides), :func:`find_scenario`, :func:`scenario_dir`, :func:`parse_override`;
- ``names``: the names a file may use, one line each (``corridors list``).
"""

from corridors.scenario.resolve import Scenario, find_scenario, load_scenario, parse_override, scenario_dir
from corridors.scenario.schema import (
    EVENT_MODELS,
    AgentSettings,
    ParameterRef,
    Period,
    ScenarioFile,
    SeaRate,
    scenario_schema,
)

__all__ = [
    "EVENT_MODELS",
    "AgentSettings",
    "ParameterRef",
    "Period",
    "Scenario",
    "ScenarioFile",
    "SeaRate",
    "find_scenario",
    "load_scenario",
    "parse_override",
    "scenario_dir",
    "scenario_schema",
]
