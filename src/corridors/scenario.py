"""Scenario files: TOML -> a validated, resolved :class:`Scenario`.

A scenario file names the scenario, quotes the article passage it models, and sets the
period, parameters, agents' settings, sea rates and a timeline of typed events
(:mod:`corridors.events`)::

    name = "us_c5_partnership"
    title = "US-C5 partnership"
    description = "..."
    article = "..."
    sources = ["S-btk"]                    # headings of the packaged SOURCES.md
    extends = "baseline.toml"              # optional, relative to this file
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

``extends`` merges the parent, then the child (tables key by key, scalars and lists
replaced, ``events`` concatenated parent-first unless ``replace_events = true``,
``sea_rates`` merged by quarter); ``parameters_file`` applies before the file's own
``[parameters]``; dotted overrides apply last. Every problem raises
:class:`corridors.errors.ScenarioError` with one line: the file, the line where it can be
known, the dotted field and the reason.
"""

import ast
import copy
import dataclasses
import difflib
import functools
import inspect
import itertools
import math
import os
import re
import textwrap
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, Union

import annotated_types as at
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    PrivateAttr,
    Tag,
    ValidationError,
    WithJsonSchema,
    create_model,
)
from pydantic.json_schema import GenerateJsonSchema

from corridors.errors import ScenarioError
from corridors.events import EVENT_TYPES, Event, baseline_events, quarter_index
from corridors.network import COMMODITIES, CORRIDORS, MODES, default_data_dir
from corridors.parameters import C5, POWERS, Parameters, default_alignment
from corridors.uncertainty import DISTRIBUTIONS, NUMERIC_PARAMETERS, Distribution

__all__ = [
    "Scenario",
    "find_scenario",
    "load_scenario",
    "parse_override",
    "scenario_dir",
    "scenario_schema",
]

FIRST_YEAR, LAST_YEAR = 2019, 2100
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
DIRECTIONS = ("export", "import", "transit")
# Countries a shipper belongs to (the model's ShipperAgent.country), and the powers with budgets.
SHIPPER_COUNTRIES = (*C5, "CN")
BUDGET_POWERS = ("RU", "CN", "US", "EU")
SELECTOR_FIELDS = ("edges", "links", "nodes", "controllers", "modes", "corridors")
# Keys resolved while the files are read: they cannot be overridden afterwards.
FILE_ONLY_KEYS = ("extends", "parameters_file", "replace_events")

_CONFIG = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class _Model(BaseModel):
    model_config = _CONFIG


# ----------------------------------------------------------------------- field types


def _check_when(value: Any) -> Any:
    """A quarter label (``"2026Q1"``) or a year (``2026``) within 2019-2100."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(
            f"must be a quarter such as '2026Q1' or a year such as 2026, got {_toml_type(value)} {_show(value)}"
        )
    quarter_index(value)  # raises ValueError with the reason
    return value


_WHEN_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": r"^\d{4}\s*-?\s*[Qq][1-4]$|^\d{4}$"},
        {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR},
    ]
}
When = Annotated[Any, PlainValidator(_check_when), WithJsonSchema(_WHEN_SCHEMA)]


def _check_quarter(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}Q[1-4]", value.strip()):
        raise ValueError(f"must be a quarter such as '2026Q1', got {_toml_type(value)} {_show(value)}")
    quarter_index(value)
    return value.strip()


Quarter = Annotated[
    Any, PlainValidator(_check_quarter), WithJsonSchema({"type": "string", "pattern": r"^\d{4}Q[1-4]$"})
]


class ParameterRef(_Model):
    """A numeric event field taken from the scenario's parameters: ``{ parameter = "name" }``."""

    parameter: str = Field(description="Name of a numeric field of corridors.parameters.Parameters.")


def _number_or_ref(value: Any) -> str:
    return "reference" if isinstance(value, dict | ParameterRef) else "number"


def _numeric(py_type: type, bounds: dict[str, float]) -> Any:
    """A number with bounds, or a :class:`ParameterRef`."""
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


class Period(_Model):
    """The simulated and reported years."""

    end_year: int = Field(
        2035, ge=FIRST_YEAR, le=LAST_YEAR, description="Last simulated year (quarters 2019Q1 to its Q4)."
    )
    report_from: int = Field(
        FIRST_YEAR,
        ge=FIRST_YEAR,
        le=LAST_YEAR,
        description="First year of the reported tables (<= end_year).",
    )


class AgentSettings(_Model):
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
    __base__=_Model,
    __doc__="Settings of the five states' government agents.",
    **{c: (AgentSettings | None, Field(None, description=f"Government of {c}.")) for c in C5},
)


class SeaRate(_Model):
    """A quarter's deep-sea container rate, overriding or extending data/sea_rates.csv."""

    quarter: Quarter = Field(description="Quarter label such as '2026Q1'.")
    usd_per_feu: float = Field(gt=0, description="Shanghai-Europe spot rate, USD per FEU.")
    cape_detour_days: float = Field(0.0, ge=0, description="Extra days of the Cape detour (Red Sea closed).")


# Bounds of the numeric parameters; numbers not listed must be >= 0.
_PARAM_BOUNDS: dict[str, dict[str, float]] = {
    "cost_elasticity": {"ge": 0},
    "renewal_rate": {"ge": 0, "le": 1},
    "memory_weight": {"ge": 0, "le": 1},
    "market_info_weight": {"ge": 0, "le": 1},
    "russia_avoidance_share": {"ge": 0, "le": 1},
    "border_disruption_probability": {"ge": 0, "le": 1},
    "russia_max_tariff_cut": {"ge": 0, "le": 1},
    "queue_patience_quarters": {"gt": 0},
    "vessel_t_per_quarter": {"gt": 0},
    "fleet_trigger_utilisation": {"gt": 0},
    "bloc_border_factor": {"gt": 0, "le": 5},
    "bloc_from_year": {"ge": FIRST_YEAR, "le": LAST_YEAR},
}
_PARAM_TYPES: dict[str, Any] = {
    "corridor_constants": dict[Literal[CORRIDORS], float],
    "bulk_corridor_constants": dict[Literal[CORRIDORS], float],
    "power_budgets_usd_m": dict[Literal[BUDGET_POWERS], Annotated[float, at.Ge(0)]],
    "alignment": dict[
        Literal[tuple(default_alignment())], dict[Literal[POWERS], Annotated[float, at.Ge(0), at.Le(1)]]
    ],
    "transit_fee_bounds": Annotated[list[Annotated[float, at.Gt(0)]], at.Len(2, 2)],
}


def _attribute_docs(cls: type) -> dict[str, str]:
    """The docstrings written under a class's attributes (for the schema's descriptions)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for a, b in itertools.pairwise(body):
        if (
            isinstance(a, ast.AnnAssign)
            and isinstance(a.target, ast.Name)
            and isinstance(b, ast.Expr)
            and isinstance(b.value, ast.Constant)
            and isinstance(b.value.value, str)
        ):
            docs[a.target.id] = " ".join(b.value.value.split())
    return docs


def _parameter_fields() -> dict[str, Any]:
    hints = typing.get_type_hints(Parameters)
    docs = _attribute_docs(Parameters)
    out = {}
    for f in dataclasses.fields(Parameters):
        tp = hints[f.name]
        if f.name in _PARAM_TYPES:
            ann = _PARAM_TYPES[f.name]
        elif tp is bool:
            ann = bool
        elif tp in (float, int) or tp == (int | None):
            base = float if tp is float else int
            ann = _bounded(base, _PARAM_BOUNDS.get(f.name, {"ge": 0}))
        else:  # a new kind of parameter: accept what TOML gives, Parameters decides
            ann = Any
        out[f.name] = (ann | None, Field(None, description=docs.get(f.name)))
    return out


ParametersTable = create_model(
    "Parameters",
    __base__=_Model,
    __doc__="Fields of corridors.parameters.Parameters; unset fields keep their defaults.",
    **_parameter_fields(),
)
_NUMERIC_PARAMETERS = tuple(
    name
    for name, tp in typing.get_type_hints(Parameters).items()
    if name in Parameters.names() and tp in (float, int, int | None)
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
    "imposed_by": "Who imposes the sanction (EU, US, ...).",
    "transit": "Controller whose links the sanction hits (e.g. RU).",
    "commodities": "Commodities affected (empty: all).",
    "directions": "Directions affected: export, import, transit (empty: all).",
    "markets": "Origin or destination market nodes affected (empty: all).",
    "shipper_countries": "Shipper countries affected (empty: all).",
    "premium_usd_per_t": "Premium per tonne, USD.",
    "ban": "A ban on the affected share instead of a premium.",
    "share": "Share of the matching flow affected, in [0, 1].",
    "funder": "Who pays.",
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
    "buyer": "Market node that takes the exports.",
    "country": "Exporting country.",
    "commodity": "Commodity exported.",
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


def _event_model(kind: str, cls: type[Event]) -> type[_Model]:
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
    return create_model(f"{cls.__name__}Event", __base__=_Model, __doc__=doc, **fields)


EVENT_MODELS: dict[str, type[_Model]] = {kind: _event_model(kind, cls) for kind, cls in EVENT_TYPES.items()}
EventSpec = Annotated[Union[tuple(EVENT_MODELS.values())], Field(discriminator="kind")]  # noqa: UP007


# ----------------------------------------------------------------------- the files


class ScenarioFile(_Model):
    """A corridors scenario file (TOML). Paths are relative to the file that names them."""

    name: str = Field(pattern=NAME_PATTERN, description="Identifier: lower case, digits and '_'.")
    title: str = Field(min_length=1, description="A short human title.")
    description: str = Field(min_length=1, description="What the scenario assumes.")
    article: str = Field(min_length=1, description="The article passage the scenario models, quoted.")
    sources: list[str] = Field(
        default_factory=list, description="Keys of the sources of its numbers: headings of SOURCES.md."
    )
    extends: str | None = Field(None, description="A parent scenario file, relative to this one.")
    parameters_file: str | None = Field(
        None, description="A TOML file with a [parameters] table (e.g. fitted), relative to this one."
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


class _ParametersFile(BaseModel):
    """A parameters file: a [parameters] table; other tables (fit statistics...) are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False, frozen=True)
    parameters: ParametersTable


class Scenario(_Model):
    """A resolved scenario: its files merged, overrides applied, everything validated.

    Attributes mirror the file format (``parameters`` and ``events`` as
    ``parameter_values`` and ``event_specs``, since :meth:`parameters` and :meth:`events`
    give their typed forms), plus ``path`` (resolved), ``chain`` (the scenario files
    merged, root first), ``parameters_files`` (the parameters files applied, in order),
    ``overrides`` (as given to :func:`load_scenario`) and ``ignored_events`` (events
    starting after ``period.end_year``, as written). :meth:`to_dict` and :meth:`to_toml`
    hold the resolved content only, not these records.
    """

    name: str = Field(pattern=NAME_PATTERN)
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    article: str = Field(min_length=1)
    sources: list[str] = Field(default_factory=list)
    seed: int | None = Field(None, ge=0)
    history: bool = True
    period: Period = Field(default_factory=Period)
    parameter_values: ParametersTable = Field(default_factory=ParametersTable, alias="parameters")
    agents: Agents = Field(default_factory=Agents)
    sea_rates: list[SeaRate] = Field(default_factory=list)
    event_specs: list[EventSpec] = Field(default_factory=list, alias="events")
    uncertainty: dict[str, Distribution] = Field(default_factory=dict)
    path: Path
    chain: list[Path]
    parameters_files: list[Path] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict)
    ignored_events: list[dict[str, Any]] = Field(default_factory=list)
    _origins: Any = PrivateAttr(None)

    @property
    def end_year(self) -> int:
        return self.period.end_year

    @property
    def parameters_file(self) -> Path | None:
        """The last parameters file applied (that of the most derived file naming one), if any."""
        return self.parameters_files[-1] if self.parameters_files else None

    def parameters(self) -> Parameters:
        """Defaults, then ``parameters_file``, ``[parameters]`` and overrides.

        Table-valued parameters (``alignment``, ``corridor_constants``,
        ``power_budgets_usd_m``) are merged key by key onto their defaults.
        """
        base = Parameters()
        changes = {}
        for name, value in self.parameter_values.model_dump(exclude_none=True).items():
            default = getattr(base, name)
            if isinstance(default, dict):
                value = _merge(default, value)
            elif isinstance(default, tuple):
                value = tuple(value)
            changes[name] = value
        return base.replace(**changes)

    def events(self, params: Parameters | None = None) -> list[Event]:
        """The timeline: ``baseline_events(params)`` if ``history``, then the file's events.

        Parameter references resolve against ``params`` (default :meth:`parameters`).
        """
        p = self.parameters() if params is None else params
        out: list[Event] = list(baseline_events(p)) if self.history else []
        origins = self._origins or _Origins.bare(self.path)
        out.extend(_build_event(spec, i, p, origins) for i, spec in enumerate(self.event_specs))
        return out

    def sea_rate_overrides(self) -> dict[int, tuple[float, float]]:
        """Step (0 = 2019Q1) -> (USD per FEU, Cape detour days)."""
        return {quarter_index(r.quarter): (r.usd_per_feu, r.cape_detour_days) for r in self.sea_rates}

    def agent_settings(self) -> dict[str, dict[str, float]]:
        """State -> the settings given for it (only those set)."""
        out = {}
        for c in C5:
            settings = getattr(self.agents, c)
            values = {} if settings is None else settings.model_dump(exclude_none=True)
            if values:
                out[c] = values
        return out

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario in the file format: every parameter pinned, events as written."""
        out: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "article": self.article,
            "sources": list(self.sources),
        }
        if self.seed is not None:
            out["seed"] = self.seed
        out["history"] = self.history
        out["period"] = self.period.model_dump()
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.parameters().to_dict().items()}
        out["parameters"] = {k: v for k, v in params.items() if v is not None}
        agents = self.agent_settings()
        if agents:
            out["agents"] = agents
        if self.sea_rates:
            out["sea_rates"] = [r.model_dump() for r in self.sea_rates]
        if self.event_specs:
            out["events"] = [e.model_dump(exclude_unset=True) for e in self.event_specs]
        if self.uncertainty:
            out["uncertainty"] = {k: {"dist": v.dist, **v.model_dump(exclude={"dist"})}
                                  for k, v in self.uncertainty.items()}  # fmt: skip
        return out

    def to_toml(self) -> str:
        """The resolved scenario as TOML (for the run directory); loads back to the same dict."""
        head = [f"# Resolved scenario {self.name!r}, merged from (root first):"]
        head += [f"#   {_one_line(str(p))}" for p in self.chain]
        if self.ignored_events:
            head.append("# Ignored: events starting after period.end_year:")
            head += [f"#   {_one_line(_toml_value(ev))}" for ev in self.ignored_events]
        return "\n".join(head) + "\n\n" + _toml_dumps(self.to_dict())


# ----------------------------------------------------------------------- public helpers


def scenario_dir() -> Path:
    """The shipped scenarios: ``<repo>/scenarios`` in a source checkout, else ``corridors/scenarios``."""
    package = Path(__file__).resolve().parent
    checkout = package.parent.parent / "scenarios"
    return checkout if checkout.is_dir() else package / "scenarios"


def find_scenario(name_or_path: str | Path) -> Path:
    """An existing path as given, or the shipped scenario ``<scenario_dir()>/<name>.toml``."""
    path = Path(name_or_path)
    if path.exists():
        return path
    if len(path.parts) == 1:
        shipped = scenario_dir() / (path.name if path.suffix == ".toml" else f"{path.name}.toml")
        if shipped.is_file():
            return shipped
    names = sorted(p.stem for p in scenario_dir().glob("*.toml"))
    known = f"; shipped scenarios: {', '.join(names)}" if names else ""
    raise ScenarioError(path, None, f"no such file, and no shipped scenario of that name{known}")


def parse_override(text: str) -> tuple[str, Any]:
    """``"agents.KZ.border_efficiency=0.8"`` -> ``("agents.KZ.border_efficiency", 0.8)``.

    The value is read as a TOML literal (number, boolean, string, array, inline table);
    anything else is taken as a bare string (``events[0].start=2026Q1``).
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(
            None, f"override {text!r}", "expected KEY=VALUE, e.g. agents.KZ.border_efficiency=0.8"
        )
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def scenario_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of scenario files, with descriptions, for editors."""
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


def load_scenario(path: str | Path, *, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read, merge, override and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        The scenario file.
    overrides : mapping, optional
        Dotted keys -> values, applied last (``{"agents.KZ.border_efficiency": 0.8,
        "events[0].share": 0.5}``); a value ``None`` removes the key. See
        :func:`parse_override` for ``K=V`` strings.

    Raises
    ------
    ScenarioError
        One line: the file, the line where it can be known, the field and the reason.
    """
    leaf = Path(path)
    merged, origins = _load_chain(leaf, ())
    merged = copy.deepcopy(merged)  # overrides must not touch the sources' parsed data
    for key, value in (overrides or {}).items():
        parts = _override_parts(leaf, key)
        _check_override(leaf, key, parts, merged)
        _apply_override(leaf, key, merged, parts, value)
        origins.overrides.append((parts, key))
    chain = [s.path.resolve() for s in reversed(origins.sources) if s.role == "scenario"]
    pfiles = [s.path.resolve() for s in reversed(origins.sources) if s.role == "parameters"]
    data = {**merged, "path": leaf.resolve(), "chain": chain, "parameters_files": pfiles}
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        _raise_first(exc, merged, origins.locate)
    _check_semantics(sc, origins)
    kept, ignored, kept_origins = [], [], []
    for i, spec in enumerate(sc.event_specs):
        if _year_of(spec.start) > sc.period.end_year:
            ignored.append(spec.model_dump(exclude_unset=True))
        else:
            kept.append(spec)
            kept_origins.append(origins.events[i])
    origins.events = kept_origins
    given = {key: _plain(value) for key, value in (overrides or {}).items()}
    sc = sc.model_copy(update={"event_specs": kept, "ignored_events": ignored, "overrides": given})
    sc._origins = origins
    sc.events()  # every event constructs: dataclass checks, parameter references
    return sc


# ----------------------------------------------------------------------- reading files


@dataclass(eq=False)
class _Source:
    """One file read: its text for line numbers, its data."""

    path: Path
    text: str
    data: dict[str, Any]
    role: str = "scenario"  # or "parameters"

    @functools.cached_property
    def entries(self) -> list[tuple[tuple, int]]:
        return _toml_entries(self.text)

    def line_of(self, loc: tuple, *, exact: bool) -> tuple[int, int] | None:
        """(line, rank) of ``loc``: exact or a descendant (rank big), else the longest ancestor."""
        if exact:
            for path, line in self.entries:
                if path[: len(loc)] == loc:
                    return line, 10**6
            return None
        best = None
        for path, line in self.entries:
            if loc[: len(path)] == path and (best is None or len(path) > best[1]):
                best = (line, len(path))
        return best


@dataclass(eq=False)
class _Origins:
    """Where each part of the merged scenario came from, to report the file and line."""

    leaf: Path
    sources: list[_Source] = field(default_factory=list)  # priority order: leaf first
    events: list[tuple[_Source, int]] = field(default_factory=list)
    sea_rates: list[tuple[_Source, int]] = field(default_factory=list)
    overrides: list[tuple[tuple, str]] = field(default_factory=list)

    @classmethod
    def bare(cls, leaf: Path) -> "_Origins":
        return cls(leaf=leaf)

    def locate(self, loc: tuple) -> tuple[Path, int | None, str]:
        """(file, line, where) of a field of the merged scenario."""
        name = _dotted(loc)
        for parts, key in reversed(self.overrides):
            if loc[: len(parts)] == parts:
                return self.leaf, None, f"override {key}" + (f", {name}" if name != key else "")
        if len(loc) >= 2 and loc[0] in ("events", "sea_rates") and isinstance(loc[1], int):
            table = self.events if loc[0] == "events" else self.sea_rates
            if loc[1] < len(table):
                src, local = table[loc[1]]
                found = _locate_in([src], (loc[0], local, *loc[2:]))
                return src.path, found, _where(found, name)
        found_src, found = None, None
        for exact in (True, False):
            best = None
            for src in self.sources:
                hit = src.line_of(loc, exact=exact)
                if hit and (best is None or hit[1] > best[1][1]):
                    best = (src, hit)
            if best:
                found_src, found = best[0], best[1][0]
                break
        path = found_src.path if found_src else self.leaf
        return path, found, _where(found, name)


def _locate_in(sources: list[_Source], loc: tuple) -> int | None:
    for exact in (True, False):
        for src in sources:
            hit = src.line_of(loc, exact=exact)
            if hit:
                return hit[0]
    return None


def _where(line: int | None, name: str) -> str:
    parts = [f"line {line}" if line else "", name]
    return ", ".join(p for p in parts if p)


def _read_source(path: Path, role: str = "scenario") -> _Source:
    if not path.exists():
        raise ScenarioError(path, None, "file not found")
    if path.is_dir():
        raise ScenarioError(path, None, f"is a directory, not a {role} file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ScenarioError(path, f"line {line}", f"not UTF-8 text (byte {exc.start} of the file)") from None
    except OSError as exc:
        raise ScenarioError(path, None, f"cannot read: {exc.strerror or exc}") from None
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)", msg)
        where = f"line {m.group(1)}, column {m.group(2)}" if m else None
        reason = msg[: m.start()] + msg[m.end() :] if m else msg
        raise ScenarioError(path, where, f"not valid TOML: {_one_line(reason)}") from None
    if not data:
        what = "name, title, description and article" if role == "scenario" else "a [parameters] table"
        raise ScenarioError(path, None, f"empty file: nothing but comments or blanks (it needs {what})")
    return _Source(path=path, text=text, data=data, role=role)


def _validate_source(src: _Source, model: type[BaseModel]) -> None:
    try:
        model.model_validate(src.data)
    except ValidationError as exc:
        _raise_first(exc, src.data, lambda loc: _locate_single(src, loc))


def _locate_single(src: _Source, loc: tuple) -> tuple[Path, int | None, str]:
    line = _locate_in([src], loc)
    return src.path, line, _where(line, _dotted(loc))


def _load_chain(path: Path, stack: tuple[Path, ...]) -> tuple[dict[str, Any], _Origins]:
    """The merged data of ``path`` and its parents, with where each part came from."""
    src = _read_source(path)
    _validate_source(src, ScenarioFile)
    data = dict(src.data)
    _check_unique_quarters(src)
    origins = _Origins(leaf=path, sources=[src])

    params: dict[str, Any] = {}
    if "parameters_file" in data:
        pfile = Path(os.path.normpath(path.parent / data.pop("parameters_file")))
        if not pfile.is_file():
            line = _locate_in([src], ("parameters_file",))
            state = "is a directory" if pfile.is_dir() else "not found"
            raise ScenarioError(path, _where(line, "parameters_file"), f"parameters file {pfile} {state}")
        psrc = _read_source(pfile, role="parameters")
        _validate_source(psrc, _ParametersFile)
        origins.sources.append(psrc)
        params = psrc.data["parameters"]
    data["parameters"] = _merge(params, data.get("parameters", {}))

    replace_events = data.pop("replace_events", False)
    events = data.pop("events", [])
    sea_rates = data.pop("sea_rates", [])
    parent_name = data.pop("extends", None)
    own_events = [(src, i) for i in range(len(events))]
    own_sea = {quarter_index(r["quarter"]): (r, (src, i)) for i, r in enumerate(sea_rates)}
    if parent_name is None:
        merged, parent_events, parent_sea = data, [], {}
    else:
        parent = Path(os.path.normpath(path.parent / parent_name))
        line = _locate_in([src], ("extends",))
        chain = (*stack, path.resolve())
        target = parent.resolve()
        if target in chain:
            loop = " -> ".join([p.name for p in chain[chain.index(target) :]] + [target.name])
            raise ScenarioError(path, _where(line, "extends"), f"cyclic extends: {loop}")
        if not parent.is_file():
            state = "is a directory" if parent.is_dir() else "not found"
            raise ScenarioError(path, _where(line, "extends"), f"parent scenario {parent} {state}")
        pdata, porigins = _load_chain(parent, chain)
        origins.sources.extend(porigins.sources)
        parent_events = list(zip(pdata.pop("events"), porigins.events, strict=True))
        parent_sea = {
            quarter_index(r["quarter"]): (r, o)
            for r, o in zip(pdata.pop("sea_rates"), porigins.sea_rates, strict=True)
        }
        merged = _merge(pdata, data)
        if "uncertainty" in data:  # a distribution is replaced whole, never merged field by field
            merged["uncertainty"] = {**pdata.get("uncertainty", {}), **data["uncertainty"]}
    all_events = ([] if replace_events else parent_events) + list(zip(events, own_events, strict=True))
    sea = {**parent_sea, **own_sea}
    merged["events"] = [e for e, _ in all_events]
    merged["sea_rates"] = [sea[k][0] for k in sorted(sea)]
    origins.events = [o for _, o in all_events]
    origins.sea_rates = [sea[k][1] for k in sorted(sea)]
    return merged, origins


def _check_unique_quarters(src: _Source) -> None:
    seen: dict[int, int] = {}
    for i, r in enumerate(src.data.get("sea_rates", [])):
        step = quarter_index(r["quarter"])
        if step in seen:
            loc = ("sea_rates", i, "quarter")
            line = _locate_in([src], loc)
            raise ScenarioError(
                src.path,
                _where(line, _dotted(loc)),
                f"quarter {r['quarter']} already given in sea_rates[{seen[step]}]",
            )
        seen[step] = i


def _merge(parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merged key by key (recursively); anything else in ``child`` replaces."""
    out = dict(parent)
    for key, value in child.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# ----------------------------------------------------------------------- overrides

_KEY_PART = re.compile(r"([A-Za-z0-9_-]+)((?:\[\d+\])*)")


def _override_parts(leaf: Path, key: str) -> tuple:
    parts: list[Any] = []
    for piece in key.strip().split("."):
        m = _KEY_PART.fullmatch(piece.strip())
        if not m:
            raise ScenarioError(
                leaf, f"override {key}", "not a dotted key such as agents.KZ.border_efficiency"
            )
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(parts)


def _check_override(leaf: Path, key: str, parts: tuple, merged: dict[str, Any]) -> None:
    if parts[0] in FILE_ONLY_KEYS:
        raise ScenarioError(
            leaf, f"override {key}", f"{parts[0]} cannot be overridden: it is resolved as the file is read"
        )
    node: Any = merged
    for k, part in enumerate(parts):
        here = parts[:k]
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ScenarioError(leaf, f"override {key}", f"{_dotted(here)} is not an array")
            if part >= len(node):
                raise ScenarioError(
                    leaf, f"override {key}", f"{_dotted(here)} has {len(node)} entries, no [{part}]"
                )
            node = node[part]
            continue
        allowed = _allowed_keys(here, merged)
        if allowed is not None and part not in allowed:
            raise ScenarioError(leaf, f"override {key}", _unknown_key(here, part, allowed))
        if isinstance(node, dict):
            node = node.get(part)
        elif node is not None:
            raise ScenarioError(leaf, f"override {key}", f"{_dotted(here)} is not a table")


def _apply_override(leaf: Path, key: str, merged: dict[str, Any], parts: tuple, value: Any) -> None:
    node: Any = merged
    for part in parts[:-1]:
        if isinstance(part, int):
            node = node[part]
        else:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
            if not isinstance(node, dict | list):
                raise ScenarioError(leaf, f"override {key}", f"{part} is not a table")
    last, value = parts[-1], _plain(value)
    if value is None:
        if isinstance(node, dict):
            node.pop(last, None)
        return
    if isinstance(node, dict) and isinstance(value, dict) and isinstance(node.get(last), dict):
        node[last] = _merge(node[last], value)
    else:
        node[last] = value


def _plain(value: Any) -> Any:
    """Tuples as lists, so that overrides look like TOML."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


# ----------------------------------------------------------------------- validation errors


def _allowed_keys(loc: tuple, data: Any) -> list[str] | None:
    """The keys a table at ``loc`` may hold, or None if free (or unknown)."""
    n = len(loc)
    if n == 0:
        return list(ScenarioFile.model_fields)
    head = loc[0]
    if head == "period" and n == 1:
        return list(Period.model_fields)
    if head == "parameters" and n == 1:
        return list(ParametersTable.model_fields)
    if head == "agents" and n == 1:
        return list(C5)
    if head == "agents" and n == 2:
        return list(AgentSettings.model_fields)
    if head == "sea_rates" and n == 2:
        return list(SeaRate.model_fields)
    if head == "uncertainty" and n == 1:
        return list(NUMERIC_PARAMETERS)
    if head == "uncertainty" and n == 2:
        try:
            dist = data["uncertainty"][loc[1]]["dist"]
        except (KeyError, TypeError):
            return None
        model = DISTRIBUTIONS.get(dist) if isinstance(dist, str) else None
        return list(model.model_fields) if model else None
    if head == "events" and n in (2, 3) and isinstance(loc[1], int):
        if n == 3:
            return list(ParameterRef.model_fields)
        try:
            kind = data["events"][loc[1]]["kind"]
        except (KeyError, IndexError, TypeError):
            return None
        model = EVENT_MODELS.get(kind) if isinstance(kind, str) else None
        return list(model.model_fields) if model else None
    return None


def _unknown_key(parent: tuple, key: Any, allowed: list[str]) -> str:
    what = (
        "state"
        if parent == ("agents",)
        else "parameter"
        if parent in (("parameters",), ("uncertainty",))
        else "key"
    )
    close = difflib.get_close_matches(str(key), allowed, n=1)
    if len(allowed) <= 8 or (not close and len(allowed) <= 20):
        return f"unknown {what} {key!r}; expected one of {', '.join(allowed)}"
    return f"unknown {what} {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


_TYPE_WORDS = {
    "float_type": "a number",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}
_BOUND_WORDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


def _explain(err: Mapping[str, Any], data: Any) -> tuple[tuple, str]:
    """(clean dotted location, readable reason) of one pydantic error."""
    loc = list(err["loc"])
    if len(loc) >= 3 and loc[0] == "events" and isinstance(loc[1], int) and loc[2] in EVENT_MODELS:
        del loc[2]
    if len(loc) >= 3 and loc[0] == "uncertainty" and loc[2] in DISTRIBUTIONS:
        del loc[2]
    loc = [p for p in loc if p not in ("number", "reference")]
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    key_error = bool(loc) and loc[-1] == "[key]"
    if key_error:
        loc.pop()
    loc_t = tuple(loc)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc_t[:-1], data) or []
        return loc_t, _unknown_key(loc_t[:-1], loc_t[-1], allowed)
    if kind == "missing":
        return loc_t, f"missing required key {loc_t[-1]!r}" if loc_t else "missing required key"
    if kind in ("union_tag_invalid", "union_tag_not_found") and loc_t[:1] == ("uncertainty",):
        dists = ", ".join(DISTRIBUTIONS)
        if kind == "union_tag_not_found":
            return (*loc_t, "dist"), f"missing required key 'dist' (one of {dists})"
        return (*loc_t, "dist"), f"unknown distribution {ctx.get('tag')!r}; expected one of {dists}"
    if kind == "union_tag_invalid":
        kinds = ", ".join(EVENT_MODELS)
        return (*loc_t, "kind"), f"unknown event kind {ctx.get('tag')!r}; expected one of {kinds}"
    if kind == "union_tag_not_found":
        return (*loc_t, "kind"), f"missing required key 'kind' (one of {', '.join(EVENT_MODELS)})"
    if key_error and kind == "literal_error":
        return loc_t, f"unknown key {loc_t[-1]!r}; expected one of {ctx.get('expected')}"
    if kind == "finite_number":
        return loc_t, f"must be a finite number, got {_show(value)}"
    if kind in _TYPE_WORDS:
        return loc_t, f"expected {_TYPE_WORDS[kind]}, got {_toml_type(value)} {_show(value)}"
    if kind in _BOUND_WORDS:
        bound = next(iter(ctx.values()), "?")
        return loc_t, f"must be {_BOUND_WORDS[kind]} {bound:g}, got {_show(value)}"
    if kind == "literal_error":
        return loc_t, f"must be one of {ctx.get('expected')}, got {_show(value)}"
    if kind == "string_pattern_mismatch":
        if loc_t == ("name",):
            return (
                loc_t,
                f"must be lower-case letters, digits and '_', starting with a letter, got {_show(value)}",
            )
        return loc_t, f"must match {ctx.get('pattern')}, got {_show(value)}"
    if kind == "string_too_short":
        return loc_t, "must not be empty"
    if kind == "value_error":
        return loc_t, str(ctx.get("error", err["msg"]))
    if kind in ("too_short", "too_long"):
        limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        words = "at least" if kind == "too_short" else "at most"
        return loc_t, f"must have {words} {limit} items, got {ctx.get('actual_length')}"
    msg = err["msg"].replace("Input should be", "must be")
    return loc_t, f"{msg}, got {_show(value)}"


def _raise_first(
    exc: ValidationError, data: Any, locate: Callable[[tuple], tuple[Path, int | None, str]]
) -> NoReturn:
    """The error of the earliest line (unknown keys before the missing keys they explain)."""
    best = None
    for order, err in enumerate(exc.errors(include_url=False)):
        loc, reason = _explain(err, data)
        path, line, where = locate(loc)
        key = (line if line is not None else math.inf, err["type"] == "missing", order)
        if best is None or key < best[0]:
            best = (key, path, where, reason)
    assert best is not None
    raise ScenarioError(best[1], best[2] or None, _one_line(best[3]))


# ----------------------------------------------------------------------- semantic checks


@dataclass(frozen=True)
class _Vocabulary:
    """What the packaged network and inputs know: nodes, links, projects, controllers."""

    nodes: frozenset[str]
    markets: frozenset[str]
    links: frozenset[str]
    countries: frozenset[str]
    controllers: frozenset[str]
    n_edges: int
    projects: dict[str, dict[str, Any]]


@functools.cache
def _vocabulary() -> _Vocabulary:
    from corridors.inputs import load_inputs
    from corridors.network import load_network

    net = load_network()
    inputs = load_inputs(net)
    nodes, edges = net.nodes, net.edges
    projects = {
        row["project"]: {
            "edges": list(row["edges"]),
            "capacity_factor": float(row["capacity_factor"]),
            "time_factor": float(row["time_factor"]),
            "opens": row["effect"] == "open",
            "amount_usd_m": float(row["cost_usd_m"]),
            "lag_quarters": int(row["lag_quarters"]),
        }
        for row in inputs.projects.to_dict(orient="records")
    }
    return _Vocabulary(
        nodes=frozenset(nodes["name"]),
        markets=frozenset(nodes.loc[nodes["kind"] == "market", "name"]),
        links=frozenset(edges["tail"] + ">" + edges["head"]),
        countries=frozenset(nodes["country"]) - {"XX"},
        controllers=frozenset(edges["controller"]),
        n_edges=net.n_edges,
        projects=projects,
    )


@functools.cache
def _source_keys() -> frozenset[str]:
    from corridors.tables import source_keys

    return frozenset(source_keys(default_data_dir() / "SOURCES.md"))


def _fail(origins: _Origins, loc: tuple, reason: str) -> NoReturn:
    path, _, where = origins.locate(loc)
    raise ScenarioError(path, where or None, _one_line(reason))


def _check_semantics(sc: Scenario, origins: _Origins) -> None:
    if sc.period.report_from > sc.period.end_year:
        _fail(
            origins,
            ("period", "report_from"),
            f"must be <= period.end_year ({sc.period.end_year}), got {sc.period.report_from}",
        )
    known = _source_keys()
    for j, key in enumerate(sc.sources):
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _fail(origins, ("sources", j), f"unknown source {key!r}: not a heading of SOURCES.md{hint}")
    bounds = sc.parameter_values.transit_fee_bounds
    if bounds is not None and bounds[0] > bounds[1]:
        _fail(origins, ("parameters", "transit_fee_bounds"), f"lower bound above upper bound: {bounds}")
    for i, spec in enumerate(sc.event_specs):
        _check_event(spec, ("events", i), origins)
    for name, dist in sc.uncertainty.items():
        _check_uncertainty(name, dist, origins)


def _check_uncertainty(name: str, dist: Any, origins: _Origins) -> None:
    """A distribution of a numeric parameter, consistent, and within the parameter's bounds."""
    loc = ("uncertainty", name)
    if name not in NUMERIC_PARAMETERS:
        close = difflib.get_close_matches(name, NUMERIC_PARAMETERS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        _fail(origins, loc, f"unknown numeric parameter {name!r}{hint}")
    problem = dist.problem()
    if problem is not None:
        _fail(origins, (*loc, problem[0]), problem[1])
    bounds = _PARAM_BOUNDS.get(name, {"ge": 0})
    checks = {"ge": ("low", lambda v, b: v >= b), "gt": ("low", lambda v, b: v > b),
              "le": ("high", lambda v, b: v <= b), "lt": ("high", lambda v, b: v < b)}  # fmt: skip
    for kind, bound in bounds.items():
        side, ok = checks[kind]
        value = getattr(dist, side)
        if not ok(value, bound):
            reason = f"must be {_BOUND_WORDS_SHORT[kind]} {bound:g} (the bounds of parameters.{name}), got {value:g}"
            _fail(origins, (*loc, side), reason)


_BOUND_WORDS_SHORT = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _check_event(spec: BaseModel, loc: tuple, origins: _Origins) -> None:
    kind = spec.kind
    start = quarter_index(spec.start)
    if spec.end is not None and quarter_index(spec.end, end=True) < start:
        _fail(origins, (*loc, "end"), f"end {spec.end} is before start {spec.start}")
    for name in type(spec).model_fields:
        value = getattr(spec, name)
        if isinstance(value, ParameterRef) and value.parameter not in _NUMERIC_PARAMETERS:
            close = difflib.get_close_matches(value.parameter, _NUMERIC_PARAMETERS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _fail(origins, (*loc, name, "parameter"), f"unknown numeric parameter {value.parameter!r}{hint}")
    checks: list[tuple[str, Callable[[], frozenset[str] | tuple[str, ...]], str]] = [
        ("links", lambda: _vocabulary().links, "link"),
        ("nodes", lambda: _vocabulary().nodes, "node"),
        ("controllers", lambda: _vocabulary().controllers, "controller"),
        ("markets", lambda: _vocabulary().markets, "market node"),
        ("shipper_countries", lambda: SHIPPER_COUNTRIES, "shipper country"),
        ("countries", lambda: _vocabulary().countries, "country"),
    ]
    for name, allowed_of, label in checks:
        values = getattr(spec, name, None)
        if not values:
            continue
        allowed = allowed_of()
        for j, v in enumerate(values):
            if v not in allowed:
                hint = "; links are 'tail>head' with node names" if name == "links" else ""
                _fail(origins, (*loc, name, j), _not_known(label, v, allowed) + hint)
    single = [
        ("transit", lambda: _vocabulary().controllers, "controller"),
        ("buyer", lambda: _vocabulary().markets, "market node"),
        ("country", lambda: SHIPPER_COUNTRIES, "shipper country"),
        ("project", lambda: tuple(_vocabulary().projects), "project of projects.csv"),
    ]
    for name, allowed_of, label in single:
        value = getattr(spec, name, None)
        if value and value not in allowed_of():
            _fail(origins, (*loc, name), _not_known(label, value, allowed_of()))
    edges = getattr(spec, "edges", None) or []
    for j, e in enumerate(edges):
        n = _vocabulary().n_edges
        if e >= n:
            _fail(origins, (*loc, "edges", j), f"edge id {e} out of range 0..{n - 1}")
    if "links" in type(spec).model_fields:  # an EdgeSelector event must select something
        has_selector = any(getattr(spec, f) for f in SELECTOR_FIELDS)
        if kind in ("route_opening", "route_closure"):
            has_selector = has_selector or bool(spec.corridor)
        if kind == "investment":
            has_selector = has_selector or bool(spec.project)
        if not has_selector:
            need = ", ".join(SELECTOR_FIELDS) + (", corridor" if kind.startswith("route_") else "")
            need += ", project" if kind == "investment" else ""
            _fail(origins, loc, f"{kind} selects no links: give one of {need}")


def _not_known(label: str, value: Any, allowed: Any) -> str:
    allowed = sorted(allowed)
    close = difflib.get_close_matches(str(value), allowed, n=1)
    if len(allowed) <= 20 and not close:
        return f"unknown {label} {value!r}; expected one of {', '.join(allowed)}"
    return f"unknown {label} {value!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def _build_event(spec: BaseModel, i: int, params: Parameters, origins: _Origins) -> Event:
    """The typed event of a spec: references resolved, lists as tuples, projects filled in."""
    loc = ("events", i)
    cls = EVENT_TYPES[spec.kind]
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name in type(spec).model_fields:
        if name == "kind":
            continue
        value = getattr(spec, name)
        if isinstance(value, ParameterRef):
            if value.parameter not in _NUMERIC_PARAMETERS:
                _fail(origins, (*loc, name, "parameter"), f"unknown numeric parameter {value.parameter!r}")
            ref, value = value.parameter, getattr(params, value.parameter)
            if value is None:
                _fail(origins, (*loc, name, "parameter"), f"parameter {ref!r} is not set")
            if hints[name] is int:
                if float(value) != int(value):
                    _fail(origins, (*loc, name), f"parameter gives {value}, not a whole number")
                value = int(value)
        kwargs[name] = tuple(value) if isinstance(value, list) else value
    if spec.kind == "investment" and spec.project:
        row = _vocabulary().projects.get(spec.project)
        if row is not None:
            selects = any(f in spec.model_fields_set for f in SELECTOR_FIELDS)
            for name, value in row.items():
                if name == "edges" and selects:
                    continue
                if name not in spec.model_fields_set:
                    kwargs[name] = tuple(value) if isinstance(value, list) else value
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        body = msg.split(":", 1)[1] if msg.startswith(f"{spec.kind}:") else msg
        names = [n for n in type(spec).model_fields if n != "kind"]
        hits = [(m.start(), n) for n in names if (m := re.search(rf"\b{re.escape(n)}\b", body))]
        where = (*loc, min(hits)[1]) if hits else loc
        _fail(origins, where, body.strip())


def _year_of(when: Any) -> int:
    return 2019 + quarter_index(when) // 4


# ----------------------------------------------------------------------- TOML: lines and writing

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*(\]\]?)\s*(?:#.*)?$")
_KEYLINE = re.compile(rf"^\s*({_DOTTED})\s*=")
_KEYPART = re.compile(_KEY)


def _split_key(dotted: str) -> tuple[str, ...]:
    out = []
    for part in _KEYPART.findall(dotted):
        if part.startswith('"'):
            out.append(tomllib.loads(f"k = {part}")["k"])
        elif part.startswith("'"):
            out.append(part[1:-1])
        else:
            out.append(part)
    return tuple(out)


def _scan(line: str, ml: str | None, depth: int) -> tuple[str | None, int]:
    """Carry multi-line strings and open brackets from one line to the next."""
    i, n = 0, len(line)
    while i < n:
        if ml is not None:
            if ml == '"""' and line[i] == "\\":
                i += 2
            elif line.startswith(ml, i):
                i, ml = i + 3, None
            else:
                i += 1
            continue
        c = line[i]
        if c == "#":
            break
        if line.startswith('"""', i) or line.startswith("'''", i):
            ml, i = line[i : i + 3], i + 3
            continue
        if c == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
            continue
        if c == "'":
            j = line.find("'", i + 1)
            i = n if j < 0 else j + 1
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        i += 1
    return ml, max(depth, 0)


def _toml_entries(text: str) -> list[tuple[tuple, int]]:
    """(key path, line) of every table header and key of valid TOML; array tables indexed."""
    entries: list[tuple[tuple, int]] = []
    table: tuple = ()
    arrays: dict[tuple, int] = {}
    ml: str | None = None
    depth = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if ml is not None or depth > 0:
            ml, depth = _scan(line, ml, depth)
            continue
        m = _HEADER.match(line)
        if m and len(m.group(1)) == len(m.group(3)):
            parts = _split_key(m.group(2))
            path: tuple = ()
            for k, part in enumerate(parts):
                path = (*path, part)
                if k == len(parts) - 1 and m.group(1) == "[[":
                    arrays[path] = arrays.get(path, -1) + 1
                    path = (*path, arrays[path])
                elif path in arrays:
                    path = (*path, arrays[path])
            table = path
            entries.append((table, lineno))
            continue
        m = _KEYLINE.match(line)
        if m:
            entries.append(((*table, *_split_key(m.group(1))), lineno))
            ml, depth = _scan(line[m.end() :], None, 0)
    return entries


def _toml_dumps(data: Mapping[str, Any]) -> str:
    lines: list[str] = []
    _write_table(lines, (), data)
    return "\n".join(lines).strip() + "\n"


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _write_table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    plain = [(k, v) for k, v in table.items() if not isinstance(v, Mapping) and not _is_table_array(v)]
    subtables = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
    arrays = [(k, v) for k, v in table.items() if _is_table_array(v)]
    if path and (plain or not (subtables or arrays)):
        lines += ["", f"[{'.'.join(_toml_key(p) for p in path)}]"]
    lines += [f"{_toml_key(k)} = {_toml_value(v, multiline=True)}" for k, v in plain]
    for k, v in subtables:
        _write_table(lines, (*path, k), v)
    for k, items in arrays:
        for item in items:
            lines += ["", f"[[{'.'.join(_toml_key(p) for p in (*path, k))}]]"]
            lines += [f"{_toml_key(ik)} = {_toml_value(iv, multiline=True)}" for ik, iv in item.items()]


def _toml_key(key: str) -> str:
    return key if re.fullmatch(_BARE, key) else _toml_string(key)


def _toml_string(text: str, *, multiline: bool = False) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n" and multiline:
            out.append(ch)
        elif ch in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    body = "".join(out)
    return '"""\n' + body + '"""' if multiline else '"' + body + '"'


def _toml_value(value: Any, *, multiline: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML writer: {value} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value, multiline=multiline and "\n" in value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"TOML writer: cannot write {type(value).__name__}")


# ----------------------------------------------------------------------- small helpers


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "table"
    return "date/time" if hasattr(value, "isoformat") else type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Mapping):
        return "{...}"
    if isinstance(value, list | tuple):
        return "[...]"
    text = (
        repr(value)
        if isinstance(value, str)
        else _toml_value(value)
        if isinstance(value, bool)
        else str(value)
    )
    return text if len(text) <= 60 else text[:57] + "..."


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
