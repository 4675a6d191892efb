"""What can vary between runs: seeds of replicates, and distributions of uncertain parameters.

Replicate ``i`` of a root seed ``S`` takes the child ``SeedSequence(S).spawn(n)[i]``
(:func:`replicate_sequence`); the model's generator gets an integer drawn from that child
(:func:`replicate_seed`), and the replicate's draws of uncertain parameters come from a
stream spawned from the same child, so neither depends on which worker ran what.

A scenario declares parameter uncertainty in its ``[uncertainty]`` table, one bounded
distribution per numeric parameter::

    [uncertainty]
    cost_elasticity = { dist = "uniform", low = 2.0, high = 6.0 }
    renewal_rate = { dist = "triangular", low = 0.15, mode = 0.25, high = 0.4 }
    russia_premium_usd_per_t = { dist = "normal", mean = 60, sd = 20, low = 0, high = 150 }
    vessel_t_per_quarter = { dist = "lognormal", median = 50000, sigma = 0.3, low = 20000, high = 120000 }

Normal and log-normal distributions are truncated to ``[low, high]``. Every distribution
maps a uniform number in [0, 1) to a value (:meth:`ppf`), so Latin-hypercube designs and
random draws use the same transform.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from corridors.parameters import Parameters, table_keys

__all__ = [
    "DISTRIBUTIONS",
    "INTEGER_PARAMETERS",
    "MAPPED_PARAMETERS",
    "NUMERIC_PARAMETERS",
    "Distribution",
    "LogNormal",
    "Normal",
    "Triangular",
    "Uniform",
    "draw_parameters",
    "parameter_name",
    "parameter_values",
    "replicate_seed",
    "replicate_sequence",
]

_HINTS = typing.get_type_hints(Parameters)
NUMERIC_PARAMETERS: tuple[str, ...] = tuple(
    n for n in Parameters.names() if _HINTS[n] in (float, int, int | None)
)
INTEGER_PARAMETERS: frozenset[str] = frozenset(n for n in NUMERIC_PARAMETERS if _HINTS[n] is not float)
MAPPED_PARAMETERS: tuple[str, ...] = tuple(
    f"{head}.{key}"
    for head, levels in table_keys().items()
    if len(levels) == 1 and _HINTS[head] == dict[str, float]
    for key in levels[0]
)
"""One key of a one-level table of numbers, a parameter of its own: ``reliability_penalty_days.middle``.

``--param`` (sweeps, sensitivity) and ``--set`` take them as they take the numeric
parameters; :meth:`corridors.parameters.Parameters.with_values` sets them.
"""

_CONFIG = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class _Distribution(BaseModel):
    model_config = _CONFIG

    low: float = Field(description="Lowest value drawn.")
    high: float = Field(description="Highest value drawn.")

    def problem(self) -> tuple[str, str] | None:
        """Return (field, reason) of an inconsistency between the fields, or None."""
        if not self.low < self.high:
            return "high", f"must be > low ({self.low:g}), got {self.high:g}"
        return None

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Return the values at the quantiles ``u`` (uniform numbers in [0, 1))."""
        raise NotImplementedError

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Return the density at ``x`` (0 outside ``[low, high]``): a prior's density in ABC."""
        raise NotImplementedError


class Uniform(_Distribution):
    """Uniform on ``[low, high]``."""

    dist: Literal["uniform"] = Field(description="The distribution: uniform.")

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Return the values at the quantiles ``u``: ``low + (high - low) * u``."""
        return self.low + (self.high - self.low) * np.asarray(u, dtype=float)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Return the density at ``x``: ``1 / (high - low)`` within the bounds."""
        x = np.asarray(x, dtype=float)
        return np.where((x >= self.low) & (x <= self.high), 1.0 / (self.high - self.low), 0.0)


class Triangular(_Distribution):
    """Triangular on ``[low, high]`` with its peak at ``mode``."""

    dist: Literal["triangular"] = Field(description="The distribution: triangular.")
    mode: float = Field(description="The most likely value, in [low, high].")

    def problem(self) -> tuple[str, str] | None:
        """Return (field, reason) of an inconsistency (``mode`` outside [low, high] too), or None."""
        found = super().problem()
        if found is None and not self.low <= self.mode <= self.high:
            return "mode", f"must be within [low, high] = [{self.low:g}, {self.high:g}], got {self.mode:g}"
        return found

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Return the values at the quantiles ``u`` (the inverse of the distribution function)."""
        u = np.asarray(u, dtype=float)
        a, c, b = self.low, self.mode, self.high
        cut = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1.0 - u) * (b - a) * (b - c))
        return np.where(u < cut, left, right)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Return the density at ``x``: rising from ``low`` to ``mode``, falling to ``high``."""
        x = np.asarray(x, dtype=float)
        a, c, b = self.low, self.mode, self.high
        with np.errstate(divide="ignore", invalid="ignore"):
            up = np.where(c > a, 2 * (x - a) / ((b - a) * (c - a)), 0.0)
            down = np.where(b > c, 2 * (b - x) / ((b - a) * (b - c)), 0.0)
        return np.where((x < a) | (x > b), 0.0, np.where(x < c, up, np.where(x > c, down, 2 / (b - a))))


class Normal(_Distribution):
    """Normal with ``mean`` and ``sd``, truncated to ``[low, high]``."""

    dist: Literal["normal"] = Field(description="The distribution: normal, truncated to [low, high].")
    mean: float = Field(description="Mean before truncation, in [low, high].")
    sd: float = Field(gt=0, description="Standard deviation before truncation.")

    def problem(self) -> tuple[str, str] | None:
        """Return (field, reason) of an inconsistency (``mean`` outside [low, high] too), or None."""
        found = super().problem()
        if found is None and not self.low <= self.mean <= self.high:
            return "mean", f"must be within [low, high] = [{self.low:g}, {self.high:g}], got {self.mean:g}"
        return found

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Return the values at the quantiles ``u`` of the truncated normal."""
        return _truncated_normal_ppf(u, self.mean, self.sd, self.low, self.high)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Return the density at ``x`` of the truncated normal."""
        return _truncated_normal_pdf(x, self.mean, self.sd, self.low, self.high)


class LogNormal(_Distribution):
    """Log-normal with ``median`` and log-scale ``sigma``, truncated to ``[low, high]``."""

    dist: Literal["lognormal"] = Field(description="The distribution: log-normal, truncated to [low, high].")
    median: float = Field(gt=0, description="Median before truncation, in [low, high].")
    sigma: float = Field(gt=0, description="Standard deviation of the logarithm.")
    low: float = Field(gt=0, description="Lowest value drawn (> 0).")

    def problem(self) -> tuple[str, str] | None:
        """Return (field, reason) of an inconsistency (``median`` outside [low, high] too), or None."""
        found = super().problem()
        if found is None and not self.low <= self.median <= self.high:
            return (
                "median",
                f"must be within [low, high] = [{self.low:g}, {self.high:g}], got {self.median:g}",
            )
        return found

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Return the values at the quantiles ``u``: the logarithm's truncated normal, exponentiated."""
        logs = _truncated_normal_ppf(
            u, math.log(self.median), self.sigma, math.log(self.low), math.log(self.high)
        )
        return np.clip(np.exp(logs), self.low, self.high)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Return the density at ``x``: the logarithm's truncated normal density over ``x``."""
        x = np.asarray(x, dtype=float)
        safe = np.where(x > 0, x, 1.0)
        dens = _truncated_normal_pdf(
            np.log(safe), math.log(self.median), self.sigma, math.log(self.low), math.log(self.high)
        )
        return np.where(x > 0, dens / safe, 0.0)


def _truncated_normal_pdf(x: np.ndarray, mean: float, sd: float, low: float, high: float) -> np.ndarray:
    from scipy.special import ndtr

    x = np.asarray(x, dtype=float)
    mass = ndtr((high - mean) / sd) - ndtr((low - mean) / sd)
    dens = np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi) * mass)
    return np.where((x >= low) & (x <= high), dens, 0.0)


def _truncated_normal_ppf(u: np.ndarray, mean: float, sd: float, low: float, high: float) -> np.ndarray:
    from scipy.special import ndtr, ndtri

    lo, hi = ndtr((low - mean) / sd), ndtr((high - mean) / sd)
    x = mean + sd * ndtri(lo + np.asarray(u, dtype=float) * (hi - lo))
    return np.clip(x, low, high)


Distribution = Annotated[Uniform | Triangular | Normal | LogNormal, Field(discriminator="dist")]
DISTRIBUTIONS: dict[str, type[_Distribution]] = {
    "uniform": Uniform,
    "triangular": Triangular,
    "normal": Normal,
    "lognormal": LogNormal,
}


# ----------------------------------------------------------------------- seeds


def replicate_sequence(root: int, replicate: int) -> np.random.SeedSequence:
    """Return the seed sequence of replicate ``replicate``: ``SeedSequence(root).spawn(n)[replicate]``.

    Built directly from its spawn key, so replicate 999 costs no more than replicate 0.
    """
    if replicate < 0:
        raise ValueError(f"replicate: must be >= 0, got {replicate}")
    return np.random.SeedSequence(root, spawn_key=(replicate,))


def replicate_seed(root: int, replicate: int = 0) -> int:
    """Return the integer that seeds the model's generator (``model.rng``) in replicate ``replicate``."""
    return int(replicate_sequence(root, replicate).generate_state(1, np.uint64)[0])


def draw_parameters(
    uncertainty: Mapping[str, _Distribution], root: int, replicate: int
) -> dict[str, float | int]:
    """One draw of every uncertain parameter for a replicate (names in sorted order).

    The draws come from a stream spawned from the replicate's seed sequence, separate from
    the model's own generator. Integer parameters are rounded.
    """
    if not uncertainty:
        return {}
    names = sorted(uncertainty)
    stream = replicate_sequence(root, replicate).spawn(1)[0]
    u = np.random.default_rng(stream).random(len(names))
    return parameter_values({n: float(uncertainty[n].ppf(u[i])) for i, n in enumerate(names)})


# ----------------------------------------------------------------------- parameter names and values


def parameter_name(key: str) -> str:
    """``"parameters.cost_elasticity"`` or ``"cost_elasticity"`` -> ``"cost_elasticity"``.

    A key of a table of numbers is a parameter too: ``"reliability_penalty_days.middle"``
    (:data:`MAPPED_PARAMETERS`). Raises ``ValueError`` naming the key unless it is one of
    those or a numeric field of Parameters.
    """
    name = key.strip().removeprefix("parameters.")
    if name not in NUMERIC_PARAMETERS and name not in MAPPED_PARAMETERS:
        import difflib

        close = difflib.get_close_matches(name, (*NUMERIC_PARAMETERS, *MAPPED_PARAMETERS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        msg = f"{key!r} is not a numeric parameter{hint}; `corridors list parameters` lists them"
        raise ValueError(msg)
    return name


def parameter_values(values: Mapping[str, float]) -> dict[str, float | int]:
    """Values ready for ``Parameters.replace``: integer parameters rounded, the rest floats."""
    return {k: round(v) if k in INTEGER_PARAMETERS else float(v) for k, v in values.items()}
