"""The scenario file's schema: pydantic models of its tables and events, and its JSON Schema.

Parameters take their types from :class:`corridors.parameters.Parameters` and their bounds
and descriptions from its fields' metadata; events take their fields from the dataclasses of
:mod:`corridors.events`. :func:`scenario_schema` is what ``corridors schema`` prints.
"""

import dataclasses
import re
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union

import annotated_types as at
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    WithJsonSchema,
    create_model,
)
from pydantic.json_schema import GenerateJsonSchema

from corridors.events import EVENT_TYPES, Event
from corridors.network import MODES
from corridors.observables import COMPARISONS, MEASURES
from corridors.parameters import Parameters, table_keys
from corridors.scenario._toml import show, toml_type
from corridors.uncertainty import Distribution
from corridors.vocabulary import (
    BASE_YEAR,
    C5,
    COMMODITIES,
    CORRIDORS,
    DIRECTIONS,
    LAST_YEAR,
    quarter_index,
)

__all__ = [
    "EVENT_MODELS",
    "AgentSettings",
    "Agents",
    "Claim",
    "EventSpec",
    "ParameterRef",
    "ParametersFile",
    "ParametersTable",
    "Period",
    "ScenarioFile",
    "SeaRate",
    "StrictModel",
    "scenario_schema",
]

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
# Countries a shipper belongs to (the model's ShipperAgent.country), and the powers with budgets.
SHIPPER_COUNTRIES = (*C5, "CN")
SELECTOR_FIELDS = ("edges", "links", "nodes", "controllers", "modes", "corridors")
_CONFIG = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class StrictModel(BaseModel):
    """A model of the scenario files: no unknown keys, no coercion, finite numbers, frozen."""

    model_config = _CONFIG


# ----------------------------------------------------------------------- field types


def _check_when(value: Any) -> Any:
    """Check a quarter label (``"2026Q1"``) or a year (``2026``) within 2019-2100."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(
            f"must be a quarter such as '2026Q1' or a year such as 2026, got {toml_type(value)} {show(value)}"
        )
    quarter_index(value)  # raises ValueError with the reason
    return value


_WHEN_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": r"^\d{4}\s*-?\s*[Qq][1-4]$|^\d{4}$"},
        {"type": "integer", "minimum": BASE_YEAR, "maximum": LAST_YEAR},
    ]
}
When = Annotated[Any, PlainValidator(_check_when), WithJsonSchema(_WHEN_SCHEMA)]


def _check_quarter(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}Q[1-4]", value.strip()):
        raise ValueError(f"must be a quarter such as '2026Q1', got {toml_type(value)} {show(value)}")
    quarter_index(value)
    return value.strip()


Quarter = Annotated[
    Any, PlainValidator(_check_quarter), WithJsonSchema({"type": "string", "pattern": r"^\d{4}Q[1-4]$"})
]


class ParameterRef(StrictModel):
    """A numeric event field taken from the scenario's parameters: ``{ parameter = "name" }``."""

    parameter: str = Field(description="Name of a numeric field of corridors.parameters.Parameters.")


def _number_or_ref(value: Any) -> str:
    return "reference" if isinstance(value, dict | ParameterRef) else "number"


def _numeric(py_type: type, bounds: dict[str, float]) -> Any:
    """Return the type of a number with bounds, or a :class:`ParameterRef`."""
    number = Annotated[py_type, *_bound_metadata(bounds)]
    return Annotated[
        Union[Annotated[number, Tag("number")], Annotated[ParameterRef, Tag("reference")]],  # noqa: UP007
        Discriminator(_number_or_ref),
    ]


def _bound_metadata(bounds: Mapping[str, float]) -> list:
    kinds = {"gt": at.Gt, "ge": at.Ge, "lt": at.Lt, "le": at.Le}
    return [kinds[k](v) for k, v in bounds.items()]


def _bounded(py_type: type, bounds: Mapping[str, float]) -> Any:
    meta = _bound_metadata(bounds)
    return Annotated[py_type, *meta] if meta else py_type


# ----------------------------------------------------------------------- the tables


class Period(StrictModel):
    """The simulated and reported years."""

    end_year: int = Field(
        2035, ge=BASE_YEAR, le=LAST_YEAR, description="Last simulated year (quarters 2019Q1 to its Q4)."
    )
    report_from: int = Field(
        BASE_YEAR,
        ge=BASE_YEAR,
        le=LAST_YEAR,
        description="First year of the reported tables (<= end_year).",
    )


class AgentSettings(StrictModel):
    """Initial settings of one Central Asian state's government agent (unset: the model's default)."""

    border_efficiency: float | None = Field(
        None, gt=0, le=2, description="Initial factor on dwell at the state's borders, in (0, 2]; 1 = today."
    )
    budget_usd_m_per_year: float | None = Field(
        None, ge=0, description="Yearly infrastructure budget for corridor projects, USD million."
    )
    port_fee_factor: float | None = Field(
        None,
        ge=0.5,
        le=1.5,
        description="Initial factor on handling fees at the state's ports, in [0.5, 1.5].",
    )


Agents = create_model(
    "Agents",
    __base__=StrictModel,
    __doc__="Settings of the five states' government agents.",
    **{c: (AgentSettings | None, Field(None, description=f"Government of {c}.")) for c in C5},
)


class SeaRate(StrictModel):
    """A quarter's deep-sea container rate, overriding or extending data/sea_rates.csv."""

    quarter: Quarter = Field(description="Quarter label such as '2026Q1'.")
    usd_per_feu: float = Field(gt=0, description="Shanghai-Europe spot rate, USD per FEU.")
    cape_detour_days: float = Field(0.0, ge=0, description="Extra days of the Cape detour (Red Sea closed).")


# ----------------------------------------------------------------------- the parameters

# Keys of the table-valued parameters, level by level (their numbers' bounds are on the fields).
_PARAM_KEYS = table_keys()


def _parameter_type(name: str, tp: Any) -> Any:
    """Return the type a ``[parameters]`` entry must have: its field's type, bounded by its metadata."""
    bounds = Parameters.bounds(name)
    if tp is bool:
        return bool
    if tp in (float, int) or tp == (int | None):
        return _bounded(float if tp is float else int, bounds)
    if typing.get_origin(tp) is tuple:  # a fixed-length pair such as transit_fee_bounds
        items = typing.get_args(tp)
        return Annotated[list[_bounded(items[0], bounds)], at.Len(len(items), len(items))]
    if typing.get_origin(tp) is dict:
        return _table_type(tp, _PARAM_KEYS.get(name, ()), bounds)
    return Any  # a new kind of parameter: accept what TOML gives, Parameters decides


def _table_type(tp: Any, keys: tuple[tuple[str, ...], ...], bounds: Mapping[str, float]) -> Any:
    if typing.get_origin(tp) is not dict:
        return _bounded(tp, bounds)
    key, value = typing.get_args(tp)
    return dict[Literal[keys[0]] if keys else key, _table_type(value, keys[1:], bounds)]


_HINTS = typing.get_type_hints(Parameters)
ParametersTable = create_model(
    "Parameters",
    __base__=StrictModel,
    __doc__="Fields of corridors.parameters.Parameters; unset fields keep their defaults.",
    **{
        f.name: (
            _parameter_type(f.name, _HINTS[f.name]) | None,
            Field(None, description=Parameters.description(f.name)),
        )
        for f in dataclasses.fields(Parameters)
    },
)


# ----------------------------------------------------------------------- the events

_EVENT_FIELD_DOCS = {
    "start": "First quarter ('2026Q1') or year (2026: its Q1).",
    "end": "Last quarter or year (a year: its Q4); unset: for good.",
    "note": "Free text, e.g. the source key and what the event stands for.",
    "edges": "Link ids of edges.csv.",
    "links": "Links as 'tail>head' node names.",
    "nodes": "Links touching these nodes.",
    "controllers": "Links controlled by these states (ISO codes).",
    "modes": "Links of these modes.",
    "corridors": "Links of these corridors.",
    "imposed_by": "Who imposes the sanction: RU, CN, US, EU or a state of the network (ISO code).",
    "transit": "Controller whose links the sanction hits (e.g. RU).",
    "commodities": "Commodities affected (empty: all).",
    "directions": "Directions affected: export, import, transit (empty: all).",
    "markets": "Origin or destination market nodes affected (empty: all).",
    "shipper_countries": "Shipper countries affected (empty: all).",
    "premium_usd_per_t": "Premium per tonne, USD.",
    "ban": "A ban on the affected share instead of a premium.",
    "share": "Share of the matching flow affected, in [0, 1].",
    "funder": (
        "Who pays: RU, CN, US, EU, one of the five, their bloc C5, or a funder of projects.csv's funder_hint."
    ),
    "project": "A project id of projects.csv; its links and effects fill the fields left unset.",
    "amount_usd_m": "Money, USD million.",
    "capacity_factor": "Factor on the capacity of the links.",
    "time_factor": "Factor on the travel time of the links.",
    "opens": "Opens links that start closed.",
    "lag_quarters": "Quarters from start until the effect.",
    "delivery_probability": "Below 1: a pledge, delivered with this probability.",
    "countries": "States whose common border links get faster.",
    "dwell_factor": "Factor on dwell at their common borders, in (0, 5].",
    "corridor": "A corridor name.",
    "tariff_factor": "Factor on tariffs of the links.",
    "handling_factor": "Factor on handling charges of the links.",
    "usd_per_t": "Subsidy per tonne, USD.",
    "share_of_price": "Cap of the subsidy as a share of the corridor's price.",
    "buyer": "Market node that takes the exports (a node of kind market, e.g. market_eu).",
    "country": "Exporting country: one of the five or CN.",
    "commodity": "Commodity exported.",
    "avoid_transit": "Link controllers (e.g. RU, CN) the deal's cargo may not cross: its exports to the buyer "
    "are banned from the corridors crossing their blocs.",
}
# Value sets fixed in code; data-dependent ones (nodes, links, projects) are checked after validation.
_EVENT_VOCAB: dict[str, tuple[str, ...]] = {
    "commodities": COMMODITIES,
    "commodity": COMMODITIES,
    "directions": DIRECTIONS,
    "corridors": CORRIDORS,
    "corridor": CORRIDORS,
    "modes": MODES,
}
# Bounds of numeric event fields, by (kind, field) or field; the dataclasses check them again.
_EVENT_BOUNDS: dict[Any, dict[str, float]] = {
    "share": {"ge": 0, "le": 1},
    "delivery_probability": {"ge": 0, "le": 1},
    "share_of_price": {"ge": 0, "le": 1},
    "premium_usd_per_t": {"ge": 0},
    "usd_per_t": {"ge": 0},
    "amount_usd_m": {"ge": 0},
    "lag_quarters": {"ge": 0},
    "time_factor": {"gt": 0},
    "tariff_factor": {"ge": 0},
    "handling_factor": {"ge": 0},
    "dwell_factor": {"gt": 0, "le": 5},
    ("investment", "capacity_factor"): {"gt": 0},
    ("shock", "capacity_factor"): {"ge": 0},
}


def _event_field_type(kind: str, name: str, tp: Any) -> Any:
    if name in ("start", "end"):
        return When
    vocab = _EVENT_VOCAB.get(name)
    if tp is bool:
        return bool
    if tp in (float, int):
        return _numeric(tp, _EVENT_BOUNDS.get((kind, name), _EVENT_BOUNDS.get(name, {})))
    if tp is str:
        return Literal[vocab] if vocab else str
    if typing.get_origin(tp) is tuple:
        item = typing.get_args(tp)[0]
        if item is int:
            return list[Annotated[int, at.Ge(0)]]
        return list[Literal[vocab]] if vocab else list[str]
    return Any


def _event_model(kind: str, cls: type[Event]) -> type[StrictModel]:
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {"kind": (Literal[kind], Field(description="The event type."))}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        ann = _event_field_type(kind, f.name, hints[f.name])
        if f.default is not dataclasses.MISSING:
            default = list(f.default) if isinstance(f.default, tuple) else f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = ...
        fields[f.name] = (ann, Field(default, description=_EVENT_FIELD_DOCS.get(f.name)))
    doc = " ".join((cls.__doc__ or "").split())
    return create_model(f"{cls.__name__}Event", __base__=StrictModel, __doc__=doc, **fields)


EVENT_MODELS: dict[str, type[StrictModel]] = {
    kind: _event_model(kind, cls) for kind, cls in EVENT_TYPES.items()
}
EventSpec = Annotated[Union[tuple(EVENT_MODELS.values())], Field(discriminator="kind")]  # noqa: UP007

# ----------------------------------------------------------------------- the claims


class Claim(StrictModel):
    """A claim of ``[[expect]]``: what the scenario's lever does to a measure, against the baseline.

    The baseline is ``baseline.toml`` run with the scenario's seed, period and stochastic
    mode. A claim names a measure (:data:`corridors.observables.MEASURES`), the qualifiers it
    needs, a year (or years: it must hold in each) and exactly one comparison. It is
    mechanical and directional, never a target volume copied from a forecast.
    """

    claim: str = Field(min_length=1, description="What the claim says, in words (the narrative's).")
    observable: str = Field(
        description="The measure compared: " + ", ".join(MEASURES) + " (`corridors schema` describes each).",
        json_schema_extra={"enum": list(MEASURES)},
    )
    corridor: Literal[CORRIDORS] | None = Field(None, description="A corridor (measures that take one).")
    country: str | None = Field(
        None, description="A shipper country: one of the five, CN (China-Europe transit), or C5 (the five)."
    )
    commodity: Literal[COMMODITIES] | None = Field(None, description="A commodity (flow measures).")
    market: str | None = Field(None, description="A market node, e.g. market_eu (flow measures).")
    direction: Literal[DIRECTIONS] | None = Field(
        None, description="export, import or transit (flow measures)."
    )
    links: list[str] | None = Field(None, description="Links as 'tail>head' node names (link_flow_t).")
    project: str | None = Field(None, description="A project of projects.csv: its links (link_flow_t).")
    funder: str | None = Field(None, description="A funder (projects_funded, projects_funded_usd_m).")
    year: int = Field(ge=BASE_YEAR, le=LAST_YEAR, description="The year compared (within the period).")
    to_year: int | None = Field(
        None,
        ge=BASE_YEAR,
        le=LAST_YEAR,
        description="With it, every year from `year` to `to_year` is compared: the claim must hold in each.",
    )
    ratio_at_most: float | None = Field(None, ge=0, description="Holds if scenario / baseline <= this.")
    ratio_at_least: float | None = Field(None, ge=0, description="Holds if scenario / baseline >= this.")
    change_at_most: float | None = Field(
        None, description="Holds if scenario - baseline <= this (in the measure's unit)."
    )
    change_at_least: float | None = Field(
        None, description="Holds if scenario - baseline >= this (in the measure's unit)."
    )
    above: float | None = Field(
        None, description="Holds if the scenario's value > this: for 'carries freight' claims (above = 0)."
    )
    below: float | None = Field(None, description="Holds if the scenario's value < this.")

    def comparisons(self) -> dict[str, float]:
        """Return the comparisons given (exactly one in a checked claim): name -> bound."""
        return {c: getattr(self, c) for c in COMPARISONS if getattr(self, c) is not None}

    def years(self) -> range:
        """Return the years compared: ``year`` alone, or ``year`` to ``to_year``."""
        return range(self.year, (self.year if self.to_year is None else self.to_year) + 1)


# ----------------------------------------------------------------------- the files


class ScenarioFile(StrictModel):
    """A corridors scenario file (TOML). Paths are relative to the file that names them."""

    name: str = Field(pattern=NAME_PATTERN, description="Identifier: lower case, digits and '_'.")
    title: str = Field(min_length=1, description="A short human title.")
    description: str | None = Field(
        None,
        min_length=1,
        description="What the scenario assumes (optional; the shipped scenarios all give it).",
    )
    article: str | None = Field(
        None,
        min_length=1,
        description="The article passage the scenario models, quoted (optional; the shipped scenarios all give it).",
    )
    sources: list[str] = Field(
        default_factory=list, description="Keys of the sources of its numbers: headings of SOURCES.md."
    )
    extends: str | None = Field(
        None,
        description="A parent scenario: a file relative to this one, or a shipped scenario's name ('baseline').",
    )
    parameters_file: str | None = Field(
        None, description="A TOML file with a [parameters] table (e.g. fitted), relative to this one."
    )
    posterior: str | None = Field(
        None,
        description="A posterior of fitted parameters (Parquet, from `corridors calibrate --method abc`), "
        "relative to this file: each replicate of an ensemble draws one particle by weight.",
    )
    replace_events: bool = Field(False, description="Drop the parent's events instead of appending to them.")
    seed: int | None = Field(None, ge=0, description="Default seed of runs.")
    history: bool = Field(True, description="Prepend the known events of 2019-2025 (baseline_events).")
    period: Period = Field(default_factory=Period)
    parameters: ParametersTable = Field(default_factory=ParametersTable)
    agents: Agents = Field(default_factory=Agents)
    sea_rates: list[SeaRate] = Field(default_factory=list, description="Quarterly sea rates.")
    events: list[EventSpec] = Field(default_factory=list, description="The timeline of events.")
    uncertainty: dict[str, Distribution] = Field(
        default_factory=dict,
        description="Uncertain parameters: a bounded distribution per numeric parameter, drawn per replicate.",
    )
    expect: list[Claim] = Field(
        default_factory=list,
        description=(
            "Claims about the run against the baseline with the same seed, period and stochastic mode "
            "(`corridors validate --effects`); not inherited by `extends`."
        ),
    )


class ParametersFile(BaseModel):
    """A parameters file: a [parameters] table; other tables (fit statistics...) are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False, frozen=True)
    parameters: ParametersTable


def scenario_schema() -> dict[str, Any]:
    """Return the JSON Schema of scenario files, for editors (``corridors schema`` prints it).

    Returns
    -------
    dict
        Draft 2020-12, with a description of every field; optional fields are simply
        absent (TOML has no null). Parameters' bounds and descriptions are those of the
        fields of :class:`corridors.parameters.Parameters`.
    """
    schema = ScenarioFile.model_json_schema(schema_generator=_TomlSchema)
    schema = _drop_nulls(schema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "corridors scenario"
    return schema


class _TomlSchema(GenerateJsonSchema):
    """TOML has no null: optional fields are simply absent."""

    def nullable_schema(self, schema):  # type: ignore[override]
        return self.generate_inner(schema["schema"])


def _drop_nulls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_nulls(v) for k, v in node.items() if not (k == "default" and v is None)}
    if isinstance(node, list):
        return [_drop_nulls(v) for v in node]
    return node
