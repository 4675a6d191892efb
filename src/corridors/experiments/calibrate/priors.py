"""What the Bayesian calibration assumes: priors, fixed parameters, observation errors, kind weights.

Read from the packaged ``calibration.toml`` (every entry cites ``SOURCES.md``): a bounded
prior per free parameter (the distributions of a scenario's ``[uncertainty]`` table), the
parameters held fixed and why, the observation error of every calibration series and its
kind (volume, count, share, time), and the weight of each kind in the distance.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from corridors.errors import DataError
from corridors.network import default_data_dir
from corridors.parameters import Parameters
from corridors.results import OBSERVABLES
from corridors.tables import source_keys
from corridors.uncertainty import Distribution

__all__ = ["KINDS", "AbcSettings", "ObservationError", "Prior", "load_abc_settings"]

KINDS = ("volume", "count", "share", "time")
"""The kinds of calibration series: each kind's mean squared error counts once in the distance."""
_DIST = TypeAdapter(Distribution)


@dataclass(frozen=True)
class Prior:
    """The prior of one free parameter (``"table.key"`` names one key of a table)."""

    name: str
    dist: Any  # a corridors.uncertainty distribution (Uniform, Triangular, Normal, LogNormal)
    source: str

    @property
    def low(self) -> float:
        """The lowest value the prior allows."""
        return float(self.dist.low)

    @property
    def high(self) -> float:
        """The highest value the prior allows."""
        return float(self.dist.high)

    def describe(self) -> str:
        """One line: the distribution and its fields, e.g. ``lognormal(median=4, sigma=0.8) on [0.5, 40]``."""
        fields = {k: v for k, v in self.dist.model_dump().items() if k not in ("dist", "low", "high")}
        inner = ", ".join(f"{k}={v:g}" for k, v in fields.items())
        return f"{self.dist.dist}({inner}) on [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class ObservationError:
    """How far an observed series may be from the truth: ``sd`` on the log scale, or absolute for shares."""

    series: str
    kind: str
    sd: float
    source: str


@dataclass(frozen=True)
class AbcSettings:
    """The priors, fixed parameters, observation errors and kind weights of the calibration."""

    priors: tuple[Prior, ...]
    fixed: dict[str, str]
    """Parameter -> the SOURCES.md key saying why the data cannot inform it."""
    errors: dict[str, ObservationError]
    kind_weights: dict[str, float]
    path: Path

    @property
    def names(self) -> list[str]:
        """The free parameters, in the file's order."""
        return [p.name for p in self.priors]

    def restricted(self, names: list[str]) -> AbcSettings:
        """Return the same settings with only the priors of ``names`` (the others keep the scenario's values)."""
        unknown = sorted(set(names) - set(self.names))
        if unknown:
            raise ValueError(f"free parameters: {unknown} have no prior in {self.path.name}")
        return AbcSettings(
            tuple(p for p in self.priors if p.name in names),
            self.fixed,
            self.errors,
            self.kind_weights,
            self.path,
        )


def _table(path: Path, data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict) or not value:
        raise DataError(path, f"[{key}]", "missing or empty")
    return value


def _source(path: Path, where: str, entry: Mapping[str, Any], keys: set[str]) -> str:
    cited = entry.get("source")
    if not isinstance(cited, str) or cited not in keys:
        raise DataError(path, f"{where}.source", f"{cited!r} is not a heading of SOURCES.md")
    return cited


def load_abc_settings(data_dir: str | Path | None = None) -> AbcSettings:
    """Read and check ``calibration.toml``.

    Parameters
    ----------
    data_dir : path, optional
        A directory with ``calibration.toml`` and ``SOURCES.md``; default the packaged data.

    Returns
    -------
    AbcSettings
        The priors, fixed parameters, observation errors and kind weights.

    Raises
    ------
    DataError
        Naming the file, the entry and the reason: a prior that is not a valid bounded
        distribution or names no parameter, an observation error of a series that is not
        an observable, an unknown kind, a non-positive ``sd`` or weight, or a source that is
        not a heading of ``SOURCES.md``.
    """
    root = default_data_dir() if data_dir is None else Path(data_dir)
    path = root / "calibration.toml"
    keys = source_keys(root / "SOURCES.md")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(path, None, str(exc)) from None
    priors = []
    base = Parameters()
    for name, entry in _table(path, data, "priors").items():
        where = f"[priors.{name}]"
        spec = {k: v for k, v in entry.items() if k != "source"}
        try:
            dist = _DIST.validate_python(spec)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"][1:]) or "dist"
            raise DataError(path, f"{where}.{field}", first["msg"]) from None
        problem = dist.problem()
        if problem is not None:
            raise DataError(path, f"{where}.{problem[0]}", problem[1])
        try:
            base.with_values({name: float(dist.low)})
        except (TypeError, ValueError) as exc:
            raise DataError(path, where, f"not a parameter: {exc}") from None
        priors.append(Prior(name, dist, _source(path, where, entry, keys)))
    fixed = {}
    for name, cited in data.get("fixed", {}).items():
        if name not in Parameters.names():
            raise DataError(path, f"[fixed].{name}", "not a parameter")
        if cited not in keys:
            raise DataError(path, f"[fixed].{name}", f"{cited!r} is not a heading of SOURCES.md")
        fixed[name] = cited
    errors = {}
    for series, entry in _table(path, data, "observation_errors").items():
        where = f"[observation_errors.{series}]"
        if series not in OBSERVABLES:
            raise DataError(path, where, f"{series!r} is not an observable ({', '.join(OBSERVABLES)})")
        kind, sd = entry.get("kind"), entry.get("sd")
        if kind not in KINDS:
            raise DataError(path, f"{where}.kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
        if isinstance(sd, bool) or not isinstance(sd, int | float) or not sd > 0:
            raise DataError(path, f"{where}.sd", f"must be a number > 0, got {sd!r}")
        errors[series] = ObservationError(series, kind, float(sd), _source(path, where, entry, keys))
    weights_entry = _table(path, data, "kind_weights")
    _source(path, "[kind_weights]", weights_entry, keys)
    weights = {}
    for kind in KINDS:
        w = weights_entry.get(kind)
        if isinstance(w, bool) or not isinstance(w, int | float) or not w >= 0:
            raise DataError(path, f"[kind_weights].{kind}", f"must be a number >= 0, got {w!r}")
        weights[kind] = float(w)
    return AbcSettings(tuple(priors), fixed, errors, weights, path)
