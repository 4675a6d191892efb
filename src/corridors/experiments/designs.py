"""How parameters are sampled and how their effects are analysed.

Ranges are declared as ``{name: (low, high)}`` (``--param K=LOW:HIGH`` on the command line,
:func:`parse_range`). Sweeps sample them on a grid or a Latin hypercube; sensitivity
analysis samples and analyses them with SALib (Morris elementary effects, Sobol' indices).
Every design is a function of its seed only.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from corridors.uncertainty import parameter_name

__all__ = [
    "DESIGNS",
    "METHODS",
    "grid_design",
    "lhs_design",
    "parse_range",
    "sensitivity_design",
    "sensitivity_indices",
]

DESIGNS = ("grid", "lhs")
METHODS = ("morris", "sobol")
MORRIS_LEVELS = 4

Ranges = Mapping[str, tuple[float, float]]


def parse_range(text: str) -> tuple[str, float, float]:
    """``"cost_elasticity=2:6"`` -> ``("cost_elasticity", 2.0, 6.0)``.

    The name may carry its table (``parameters.cost_elasticity``). Raises ``ValueError``
    naming the argument and the reason.
    """
    key, sep, rest = text.partition("=")
    low_text, colon, high_text = rest.partition(":")
    if not sep or not colon or not key.strip():
        msg = f"--param {text!r}: expected NAME=LOW:HIGH, e.g. cost_elasticity=2:6"
        raise ValueError(msg)
    try:
        name = parameter_name(key)
    except ValueError as exc:
        raise ValueError(f"--param {text!r}: {exc}") from None
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        msg = f"--param {text!r}: LOW and HIGH must be numbers, got {low_text.strip()!r} and {high_text.strip()!r}"
        raise ValueError(msg) from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        msg = f"--param {text!r}: LOW must be below HIGH and both finite, got {low:g} and {high:g}"
        raise ValueError(msg)
    return name, low, high


def check_ranges(ranges: Ranges) -> dict[str, tuple[float, float]]:
    """Ranges with their names checked (numeric parameters) and ``low < high``."""
    if not ranges:
        msg = "params: give at least one parameter range, e.g. {'cost_elasticity': (2, 6)}"
        raise ValueError(msg)
    out = {}
    for key, bounds in ranges.items():
        name = parameter_name(key)
        try:
            low, high = (float(b) for b in bounds)
        except (TypeError, ValueError):
            msg = f"params: {key!r} must be a pair (low, high), got {bounds!r}"
            raise ValueError(msg) from None
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            msg = f"params: {key!r} needs finite low < high, got ({low:g}, {high:g})"
            raise ValueError(msg)
        if name in out:
            msg = f"params: {name!r} given twice"
            raise ValueError(msg)
        out[name] = (low, high)
    return out


def grid_design(ranges: Ranges, levels: int) -> pd.DataFrame:
    """Every combination of ``levels`` evenly spaced values per parameter (ends included)."""
    if levels < 2:
        msg = f"samples: a grid needs at least 2 levels per parameter, got {levels}"
        raise ValueError(msg)
    axes = [np.linspace(lo, hi, levels) for lo, hi in ranges.values()]
    rows = list(itertools.product(*axes))
    return pd.DataFrame(rows, columns=list(ranges), dtype=float)


def lhs_design(ranges: Ranges, samples: int, seed: int) -> pd.DataFrame:
    """Draw a Latin hypercube of ``samples`` points (scipy.stats.qmc), scaled to the ranges."""
    from scipy.stats import qmc

    if samples < 1:
        msg = f"samples: must be >= 1, got {samples}"
        raise ValueError(msg)
    u = qmc.LatinHypercube(d=len(ranges), seed=np.random.default_rng(seed)).random(samples)
    lows = np.array([lo for lo, _ in ranges.values()])
    highs = np.array([hi for _, hi in ranges.values()])
    return pd.DataFrame(lows + u * (highs - lows), columns=list(ranges))


def _problem(ranges: Ranges) -> dict:
    return {"num_vars": len(ranges), "names": list(ranges), "bounds": [list(b) for b in ranges.values()]}


def sensitivity_design(
    ranges: Ranges, method: Literal["morris", "sobol"], samples: int, seed: int
) -> pd.DataFrame:
    """SALib's sample for ``method``: Morris trajectories or Saltelli's scheme for Sobol'.

    ``samples`` is SALib's ``N``: Morris gives ``N * (k + 1)`` points (``N`` trajectories on
    4 levels), Sobol' ``N * (k + 2)`` (first-order and total indices; ``N`` a power of 2).
    """
    if method not in METHODS:
        msg = f"method: must be 'morris' or 'sobol', got {method!r}"
        raise ValueError(msg)
    if samples < 2:
        msg = f"samples: must be >= 2, got {samples}"
        raise ValueError(msg)
    problem = _problem(ranges)
    if method == "morris":
        from SALib.sample import morris

        x = morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed)
    else:
        if samples & (samples - 1):
            msg = f"samples: Sobol' sampling needs a power of 2, got {samples} (try {1 << samples.bit_length()})"
            raise ValueError(msg)
        from SALib.sample import sobol

        x = sobol.sample(problem, samples, calc_second_order=False, seed=seed)
    return pd.DataFrame(x, columns=list(ranges))


def sensitivity_indices(
    ranges: Ranges,
    design: pd.DataFrame,
    outputs: Mapping[str, np.ndarray] | np.ndarray,
    method: Literal["morris", "sobol"],
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """Sensitivity indices of each output to each parameter, from a design's results.

    Returns one row per (outcome, parameter): Morris ``mu``, ``mu_star``, ``sigma``,
    ``mu_star_conf``; Sobol' ``S1``, ``S1_conf``, ``ST``, ``ST_conf``. Outputs with a
    missing value (a failed run, an outcome that did not occur) are skipped, and listed in
    the frame's ``attrs["skipped"]``.
    """
    problem = _problem(ranges)
    if isinstance(outputs, np.ndarray):
        outputs = {"y": outputs}
    x = design[list(ranges)].to_numpy(dtype=float)
    frames, skipped = [], []
    for name, y in outputs.items():
        y = np.asarray(y, dtype=float)
        if y.shape != (len(x),):
            msg = f"outputs: {name!r} has {y.shape} values for {len(x)} design points"
            raise ValueError(msg)
        if not np.isfinite(y).all():
            skipped.append(name)
            continue
        if method == "morris":
            from SALib.analyze import morris

            s = morris.analyze(problem, x, y, num_levels=MORRIS_LEVELS, seed=seed, num_resamples=200)
            cols = ("mu", "mu_star", "sigma", "mu_star_conf")
        else:
            from SALib.analyze import sobol

            s = sobol.analyze(problem, y, calc_second_order=False, seed=seed, num_resamples=200)
            cols = ("S1", "S1_conf", "ST", "ST_conf")
        frame = pd.DataFrame({"outcome": name, "parameter": list(ranges)})
        for c in cols:
            frame[c] = np.asarray(s[c], dtype=float)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["outcome", "parameter"])
    out.attrs["skipped"] = skipped
    return out
