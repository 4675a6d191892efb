"""A resolved :class:`Scenario`: its files read and merged, overrides applied, all validated.

``extends`` merges the parent, then the child (tables key by key, scalars and lists
replaced, ``events`` concatenated parent-first unless ``replace_events = true``,
``sea_rates`` merged by quarter); ``parameters_file`` applies before the file's own
``[parameters]``; dotted overrides (:func:`parse_override`) apply last.
"""

import copy
import os
import re
import tomllib
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, ValidationError

from corridors.errors import DataError, ScenarioError
from corridors.events import Event
from corridors.known_events import baseline_events
from corridors.parameters import Parameters
from corridors.posterior import read_posterior
from corridors.scenario._toml import toml_dumps, toml_value
from corridors.scenario.checks import (
    build_event,
    check_semantics,
    check_unique_quarters,
    parallel_link_notes,
    year_of,
)
from corridors.scenario.locate import (
    Origins,
    allowed_keys,
    dotted,
    fail,
    locate_in,
    one_line,
    raise_first,
    read_source,
    unknown_key,
    validate_source,
    where_of,
)
from corridors.scenario.schema import (
    NAME_PATTERN,
    Agents,
    Claim,
    EventSpec,
    ParametersFile,
    ParametersTable,
    Period,
    ScenarioFile,
    SeaRate,
    StrictModel,
)
from corridors.uncertainty import Distribution
from corridors.vocabulary import C5, quarter_index

__all__ = [
    "FILE_ONLY_KEYS",
    "Scenario",
    "find_scenario",
    "load_scenario",
    "parse_override",
    "scenario_dir",
    "shipped_scenario",
]

# Keys resolved while the files are read: they cannot be overridden afterwards.
FILE_ONLY_KEYS = ("extends", "parameters_file", "posterior", "replace_events")


class Scenario(StrictModel):
    """A resolved scenario: its files merged, overrides applied, everything validated.

    Attributes mirror the file format (``parameters`` and ``events`` as
    ``parameter_values`` and ``event_specs``, since :meth:`parameters` and :meth:`events`
    give their typed forms), plus ``path`` (resolved), ``chain`` (the scenario files
    merged, root first), ``parameters_files`` (the parameters files applied, in order),
    ``overrides`` (as given to :func:`load_scenario`), ``ignored_events`` (events
    starting after ``period.end_year``, as written) and ``ignored_claims`` (claims about
    years an override took out of the period, as written). :meth:`to_dict` and :meth:`to_toml`
    hold the resolved content only, not these records.

    Made by :func:`load_scenario`, which reads, merges and checks the files; the fields are
    its parameters.

    Parameters
    ----------
    name : str
        Identifier: lower case, digits and ``_``.
    title, description, article : str
        A short human title, what the scenario assumes, and the article passage it models
        (``description`` and ``article`` may be empty in a user's scenario; the shipped
        ones give both).
    sources : list of str
        Keys of the sources of its numbers: headings of SOURCES.md.
    seed : int or None
        Default seed of runs.
    history : bool
        Prepend the known events of 2019-2025 (:func:`~corridors.events.baseline_events`).
    period : Period
        The last simulated year and the first reported one.
    parameters : ParametersTable
        The ``[parameters]`` set by the files and overrides (the attribute
        ``parameter_values``).
    agents : Agents
        Initial settings of the five governments.
    sea_rates : list of SeaRate
        Quarterly sea rates overriding or extending ``data/sea_rates.csv``.
    events : list of EventSpec
        The file's events, as written (the attribute ``event_specs``).
    uncertainty : dict of str to Distribution
        A bounded distribution per uncertain numeric parameter, drawn per replicate.
    expect : list of Claim
        The file's claims about its run against the baseline (not inherited by ``extends``);
        those about years outside the period are in ``ignored_claims``.
    path, chain, parameters_files, overrides, ignored_events, ignored_claims
        The records described above.

    Examples
    --------
    >>> from corridors.scenario import find_scenario
    >>> sc = load_scenario(find_scenario("baseline"), overrides={"period.end_year": 2030})
    >>> sc.name, sc.end_year, sc.overrides
    ('baseline', 2030, {'period.end_year': 2030})
    """

    name: str = Field(pattern=NAME_PATTERN)
    title: str = Field(min_length=1)
    description: str = ""
    article: str = ""
    sources: list[str] = Field(default_factory=list)
    seed: int | None = Field(None, ge=0)
    history: bool = True
    period: Period = Field(default_factory=Period)
    parameter_values: ParametersTable = Field(default_factory=ParametersTable, alias="parameters")
    agents: Agents = Field(default_factory=Agents)
    sea_rates: list[SeaRate] = Field(default_factory=list)
    event_specs: list[EventSpec] = Field(default_factory=list, alias="events")
    uncertainty: dict[str, Distribution] = Field(default_factory=dict)
    expect: list[Claim] = Field(default_factory=list)
    posterior: Path | None = None
    path: Path
    chain: list[Path]
    parameters_files: list[Path] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict)
    ignored_events: list[dict[str, Any]] = Field(default_factory=list)
    ignored_claims: list[dict[str, Any]] = Field(default_factory=list)
    _origins: Any = PrivateAttr(None)

    @property
    def end_year(self) -> int:
        """The last simulated year (``period.end_year``)."""
        return self.period.end_year

    @property
    def parameters_file(self) -> Path | None:
        """The last parameters file applied (that of the most derived file naming one), if any."""
        return self.parameters_files[-1] if self.parameters_files else None

    def parameters(self) -> Parameters:
        """Return the parameters: defaults, then ``parameters_file``, ``[parameters]`` and overrides.

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
        """Return the timeline: ``baseline_events(params)`` if ``history``, then the file's events.

        Parameter references resolve against ``params`` (default :meth:`parameters`).
        """
        p = self.parameters() if params is None else params
        out: list[Event] = list(baseline_events(p)) if self.history else []
        origins = self._origins or Origins.bare(self.path)
        out.extend(build_event(spec, i, p, origins) for i, spec in enumerate(self.event_specs))
        return out

    def sea_rate_overrides(self) -> dict[int, tuple[float, float]]:
        """Return the sea rates given: step (0 = 2019Q1) -> (USD per FEU, Cape detour days)."""
        return {quarter_index(r.quarter): (r.usd_per_feu, r.cape_detour_days) for r in self.sea_rates}

    def agent_settings(self) -> dict[str, dict[str, float]]:
        """Return the agents' settings: state -> the settings given for it (only those set)."""
        out = {}
        for c in C5:
            settings = getattr(self.agents, c)
            values = {} if settings is None else settings.model_dump(exclude_none=True)
            if values:
                out[c] = values
        return out

    def notes(self) -> list[str]:
        """Return what ``corridors validate`` warns of in a valid scenario, one line each.

        Events starting after ``period.end_year`` (left out of the run), and link names that
        select several parallel links (:func:`~corridors.scenario.checks.parallel_link_notes`).
        Each names the file, the line and the field.
        """
        origins = self._origins or Origins.bare(self.path)
        out = []
        for k, ev in enumerate(self.ignored_events):
            src, local, i = origins.ignored_events[k] if k < len(origins.ignored_events) else (None, k, k)
            line = locate_in([src], ("events", local)) if src else None
            out.append(
                f"{src.path if src else self.path}: {where_of(line, f'events[{i}]')}: "
                f"{ev.get('kind', 'event')} starting {ev.get('start')} is after "
                f"period.end_year = {self.end_year}: ignored"
            )
        return out + parallel_link_notes(self, origins)

    def to_dict(self) -> dict[str, Any]:
        """Return the resolved scenario in the file format: every parameter pinned, events as written."""
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
        if self.posterior is not None:
            out["posterior"] = str(self.posterior)
        if self.uncertainty:
            out["uncertainty"] = {
                k: {"dist": v.dist, **v.model_dump(exclude={"dist"})} for k, v in self.uncertainty.items()
            }
        if self.expect:
            out["expect"] = [c.model_dump(exclude_none=True) for c in self.expect]
        return out

    def to_toml(self) -> str:
        """Return the resolved scenario as TOML (for the run directory); loads back to the same dict."""
        head = [f"# Resolved scenario {self.name!r}, merged from (root first):"]
        head += [f"#   {one_line(str(p))}" for p in self.chain]
        if self.ignored_events:
            head.append("# Ignored: events starting after period.end_year:")
            head += [f"#   {one_line(toml_value(ev))}" for ev in self.ignored_events]
        if self.ignored_claims:
            head.append("# Ignored: claims about years outside the period:")
            head += [f"#   {one_line(toml_value(c))}" for c in self.ignored_claims]
        return "\n".join(head) + "\n\n" + toml_dumps(self.to_dict())


# ----------------------------------------------------------------------- public helpers


def scenario_dir() -> Path:
    """Return the folder of the shipped scenarios.

    Returns
    -------
    Path
        ``<repo>/scenarios`` in a source checkout, else ``corridors/scenarios`` of the
        installed package.
    """
    package = Path(__file__).resolve().parents[1]  # corridors/, above this subpackage
    checkout = package.parent.parent / "scenarios"
    return checkout if checkout.is_dir() else package / "scenarios"


def find_scenario(name_or_path: str | Path) -> Path:
    """Return the file of a scenario named by path or by the name of a shipped one.

    Parameters
    ----------
    name_or_path : str or Path
        An existing file, or a bare name (``"baseline"`` or ``"baseline.toml"``).

    Returns
    -------
    Path
        The path as given if it is a file, else ``<scenario_dir()>/<name>.toml``, else the
        path as given if it is a folder (which the loader refuses). A bare name that is both
        a folder of the working directory and a shipped scenario (a folder ``c5_bloc`` of
        results, say) is the shipped scenario: a folder is never a scenario.

    Raises
    ------
    ScenarioError
        Nothing of that name exists; the message lists the shipped scenarios.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_scenario(path)
    if shipped is not None:
        return shipped
    if path.exists():
        return path  # a folder: the loader says it is not a scenario file
    names = sorted(p.stem for p in scenario_dir().glob("*.toml"))
    known = f"; shipped scenarios: {', '.join(names)}" if names else ""
    raise ScenarioError(path, None, f"no such file, and no shipped scenario of that name{known}")


def shipped_scenario(name: str | Path) -> Path | None:
    """Return the shipped scenario of a bare name (``"baseline"`` or ``"baseline.toml"``), if any.

    Parameters
    ----------
    name : str or Path
        A name; one with a folder in it (``"scenarios/x"``) is never a shipped scenario's.

    Returns
    -------
    Path or None
        ``<scenario_dir()>/<name>.toml`` if that file exists.
    """
    path = Path(name)
    if len(path.parts) != 1:
        return None
    shipped = scenario_dir() / (path.name if path.suffix == ".toml" else f"{path.name}.toml")
    return shipped if shipped.is_file() else None


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``KEY=VALUE`` override, as the CLI's ``--set`` gives it.

    Parameters
    ----------
    text : str
        ``"agents.KZ.border_efficiency=0.8"``; a parameter may be named alone, as
        ``--param`` names it (``cost_elasticity=3.5``, ``reliability_penalty_days.middle=20``:
        the key of ``parameters.``). The value is read as a TOML literal (number,
        boolean, string, array, inline table), anything else as a bare string
        (``events[0].start=2026Q1``).

    Returns
    -------
    tuple of (str, object)
        ``("agents.KZ.border_efficiency", 0.8)``, for :func:`load_scenario`'s ``overrides``.

    Raises
    ------
    ScenarioError
        No ``=``, or nothing before it.
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

    Returns
    -------
    Scenario
        The resolved scenario; events starting after ``period.end_year`` are left out
        (recorded in ``ignored_events``), and every event has been built once.

    Raises
    ------
    ScenarioError
        One line: the file, the line where it can be known, the field and the reason.

    Notes
    -----
    A scenario is resolved once per file and overrides: loading it again returns the same
    (frozen) scenario while the files it was read from hold the same bytes.

    Examples
    --------
    >>> from corridors.scenario import find_scenario
    >>> sc = load_scenario(find_scenario("baseline"), overrides={"period.end_year": 2030})
    >>> sc.period.end_year, sc.period.report_from
    (2030, 2019)
    >>> try:
    ...     load_scenario(find_scenario("baseline"), overrides={"period.end_yar": 2030})
    ... except ScenarioError as exc:
    ...     print(exc.where, "|", exc.reason)
    override period.end_yar | unknown key 'end_yar'; expected one of end_year, report_from
    """
    leaf = Path(path)
    key = (str(leaf.resolve()), repr(sorted((overrides or {}).items())))
    cached = _LOADED.get(key)
    if cached is not None and _stamps(cached[1]) == cached[0]:
        return cached[1]  # none of its files changed since: the same resolved scenario
    sc = _load(leaf, overrides)
    _LOADED[key] = (_stamps(sc), sc)
    while len(_LOADED) > _LOADED_MAX:
        _LOADED.pop(next(iter(_LOADED)))
    return sc


_LOADED: dict[tuple[str, str], tuple[tuple, Scenario]] = {}  # (file, overrides) -> (stamps, scenario)
_LOADED_MAX = 64


def _stamps(sc: Scenario) -> tuple:
    """Return the content (CRC-32) of every file a scenario was read from (None if one is gone)."""
    out = []
    for f in (*sc.chain, *sc.parameters_files, *([sc.posterior] if sc.posterior else [])):
        try:
            out.append((str(f), zlib.crc32(Path(f).read_bytes())))
        except OSError:
            return (None,)
    return tuple(out)


def _load(leaf: Path, overrides: Mapping[str, Any] | None) -> Scenario:
    """Read, merge, override and validate ``leaf`` (:func:`load_scenario` without its cache)."""
    merged, origins = _load_chain(leaf, ())
    files_period = dict(merged.get("period") or {})  # before overrides: the claims' years lie in it
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
        raise_first(exc, merged, origins.locate)
    try:
        claims_period = Period.model_validate(files_period)
    except ValidationError:  # an override repairs it: the resolved period holds
        claims_period = sc.period
    check_semantics(sc, origins, claims_period=claims_period)
    claims = [c for c in sc.expect if c.years()[-1] <= sc.period.end_year and c.year >= sc.period.report_from]
    ignored_claims = [c.model_dump(exclude_none=True) for c in sc.expect if c not in claims]
    if sc.posterior is not None and sc.uncertainty:
        drawn = set(read_posterior(sc.posterior).names) & set(sc.uncertainty)
        if drawn:
            reason = f"also drawn from the posterior ({sc.posterior.name}): a parameter comes from one or the other"
            fail(origins, ("uncertainty", sorted(drawn)[0]), reason)
    kept, ignored, kept_origins = [], [], []
    for i, spec in enumerate(sc.event_specs):
        if year_of(spec.start) > sc.period.end_year:
            ignored.append(spec.model_dump(exclude_unset=True))
            origins.ignored_events.append((*origins.events[i], i))
        else:
            kept.append(spec)
            kept_origins.append(origins.events[i])
    origins.events = kept_origins
    given = {key: _plain(value) for key, value in (overrides or {}).items()}
    update = {
        "event_specs": kept,
        "ignored_events": ignored,
        "expect": claims,
        "ignored_claims": ignored_claims,
        "overrides": given,
    }
    sc = sc.model_copy(update=update)
    sc._origins = origins
    sc.events()  # every event constructs: dataclass checks, parameter references
    return sc


def _load_chain(path: Path, stack: tuple[Path, ...]) -> tuple[dict[str, Any], Origins]:
    """Return the merged data of ``path`` and its parents, with where each part came from."""
    src = read_source(path)
    validate_source(src, ScenarioFile)
    data = dict(src.data)
    check_unique_quarters(src)
    origins = Origins(leaf=path, sources=[src])

    params: dict[str, Any] = {}
    if "parameters_file" in data:
        pfile = Path(os.path.normpath(path.parent / data.pop("parameters_file")))
        if not pfile.is_file():
            line = locate_in([src], ("parameters_file",))
            state = "is a directory" if pfile.is_dir() else "not found"
            raise ScenarioError(path, where_of(line, "parameters_file"), f"parameters file {pfile} {state}")
        psrc = read_source(pfile, role="parameters")
        validate_source(psrc, ParametersFile)
        origins.sources.append(psrc)
        params = psrc.data["parameters"]
    data["parameters"] = _merge(params, data.get("parameters", {}))
    if "posterior" in data:
        data["posterior"] = _posterior_path(path, src, data["posterior"])

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
        if not parent.is_file():  # a bare name: a shipped scenario, from anywhere
            parent = shipped_scenario(parent_name) or parent
        line = locate_in([src], ("extends",))
        chain = (*stack, path.resolve())
        target = parent.resolve()
        if target in chain:
            loop = " -> ".join([p.name for p in chain[chain.index(target) :]] + [target.name])
            raise ScenarioError(path, where_of(line, "extends"), f"cyclic extends: {loop}")
        if not parent.is_file():
            state = "is a directory" if parent.is_dir() else "not found"
            raise ScenarioError(path, where_of(line, "extends"), f"parent scenario {parent} {state}")
        pdata, porigins = _load_chain(parent, chain)
        pdata.pop("expect", None)  # a file's claims are about its own levers: not inherited
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


def _posterior_path(path: Path, src: Any, value: str) -> Path:
    """Resolve a ``posterior`` key against the file naming it, and check the posterior it names."""
    post = Path(os.path.normpath(path.parent / value))
    where = where_of(locate_in([src], ("posterior",)), "posterior")
    try:
        read_posterior(post)
    except DataError as exc:
        raise ScenarioError(path, where, f"posterior file {exc}") from None
    return post.resolve()


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
    if parts[0] not in ScenarioFile.model_fields and parts[0] in Parameters.names():
        parts.insert(0, "parameters")  # a parameter's name alone, as --param takes it
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
                raise ScenarioError(leaf, f"override {key}", f"{dotted(here)} is not an array")
            if part >= len(node):
                raise ScenarioError(
                    leaf, f"override {key}", f"{dotted(here)} has {len(node)} entries, no [{part}]"
                )
            node = node[part]
            continue
        allowed = allowed_keys(here, merged)
        if allowed is not None and part not in allowed:
            raise ScenarioError(leaf, f"override {key}", unknown_key(here, part, allowed))
        if isinstance(node, dict):
            node = node.get(part)
        elif node is not None:
            raise ScenarioError(leaf, f"override {key}", f"{dotted(here)} is not a table")


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
