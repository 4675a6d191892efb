"""A posterior of fitted parameters: reading its Parquet file, and drawing a replicate's particle.

``corridors calibrate --method abc`` writes the posterior as Parquet, one row per particle:

- ``weight``: the particle's importance weight (the weights sum to 1);
- one column per parameter, by name; ``"table.key"`` names one key of a table-valued
  parameter (``reliability_penalty_days.middle``, ``corridor_constants.russian``);
- optionally ``particle``, ``generation`` and ``distance`` (bookkeeping, not parameters).

A scenario points at one with ``posterior = "parameters/baseline_posterior.parquet"``; every
replicate of an ensemble then draws one particle, with probability its weight, from a stream
spawned from the replicate's seed sequence (``(replicate, 1)``, beside the ``[uncertainty]``
draws' ``(replicate, 0)``), so replicate ``r`` of seed ``S`` draws the same particle on any
worker, and different replicates draw independently.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from corridors.errors import DataError
from corridors.parameters import Parameters
from corridors.uncertainty import NUMERIC_PARAMETERS, parameter_values, replicate_sequence

__all__ = ["BOOKKEEPING", "Posterior", "read_posterior"]

BOOKKEEPING = ("particle", "generation", "distance")
"""Columns of a posterior file that are not parameters."""
WEIGHT_TOL = 1e-6  # the weights must sum to 1 within this
POSTERIOR_STREAM = 1  # the child of a replicate's seed sequence that draws its particle
_KEY = re.compile(r"[a-z][a-z0-9_]*")


def _table_heads() -> frozenset[str]:
    """Table-valued parameters whose entries are numbers (one key can be a posterior column)."""
    base = Parameters()
    return frozenset(
        n
        for n in Parameters.names()
        if isinstance(getattr(base, n), dict)
        and all(isinstance(v, float | int) for v in getattr(base, n).values())
    )


@dataclass(frozen=True, eq=False)
class Posterior:
    """Weighted particles of a posterior (:func:`read_posterior`).

    Parameters
    ----------
    path : Path
        The file read.
    values : pandas.DataFrame
        One row per particle, one column per parameter.
    weights : numpy.ndarray
        The particles' weights, summing to 1.
    """

    path: Path
    values: pd.DataFrame
    weights: np.ndarray

    @property
    def names(self) -> list[str]:
        """The parameters the posterior sets."""
        return list(self.values.columns)

    def particle(self, root: int, replicate: int) -> int:
        """Return the row drawn for replicate ``replicate`` of root seed ``root`` (by weight)."""
        stream = replicate_sequence(root, replicate).spawn(POSTERIOR_STREAM + 1)[POSTERIOR_STREAM]
        return int(np.random.default_rng(stream).choice(len(self.weights), p=self.weights))

    def draw(self, root: int, replicate: int) -> dict[str, float | int]:
        """Return the parameter values of the particle drawn for a replicate.

        Parameters
        ----------
        root : int
            The root seed of the ensemble.
        replicate : int
            The replicate.

        Returns
        -------
        dict
            Parameter name to value (integer parameters rounded), ready for
            :meth:`corridors.parameters.Parameters.with_values`.
        """
        row = self.values.iloc[self.particle(root, replicate)]
        return parameter_values({k: float(v) for k, v in row.items()})


def _check_name(path: Path, name: str, heads: frozenset[str]) -> None:
    head, dot, key = name.partition(".")
    if not dot:
        if name not in NUMERIC_PARAMETERS:
            msg = f"{name!r} is neither a numeric parameter nor one of {', '.join(BOOKKEEPING)} or weight"
            raise DataError(path, f"column {name}", msg)
        return
    if head not in heads or not _KEY.fullmatch(key):
        msg = f"{name!r}: a dotted column must name a key of one of the tables {', '.join(sorted(heads))}"
        raise DataError(path, f"column {name}", msg)


def _check_bounds(path: Path, name: str, values: np.ndarray) -> None:
    if not np.isfinite(values).all():
        raise DataError(path, f"column {name}", "every value must be a finite number")
    tests = {
        "ge": (np.min, lambda v, b: v >= b, ">="),
        "gt": (np.min, lambda v, b: v > b, ">"),
        "le": (np.max, lambda v, b: v <= b, "<="),
        "lt": (np.max, lambda v, b: v < b, "<"),
    }
    for kind, bound in Parameters.bounds(name.partition(".")[0]).items():
        pick, ok, word = tests[kind]
        v = float(pick(values))
        if not ok(v, bound):
            raise DataError(
                path,
                f"column {name}",
                f"every value must be {word} {bound:g} (the parameter's bounds), got {v:g}",
            )


def read_posterior(path: str | Path) -> Posterior:
    """Read and check a posterior file (see the module docstring).

    Parameters
    ----------
    path : str or Path
        A Parquet file.

    Returns
    -------
    Posterior
        Its particles and weights.

    Raises
    ------
    DataError
        Naming the file, the column and the reason: not a Parquet file, no rows, no
        ``weight`` column, weights negative or not summing to 1, a column that is not a
        parameter, a value that is not finite or is outside its parameter's bounds.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "is a directory" if path.is_dir() else "not found")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow's errors have no common base we could name
        raise DataError(path, None, f"not a readable Parquet file ({type(exc).__name__})") from None
    if frame.empty:
        raise DataError(path, None, "has no particles (no rows)")
    if "weight" not in frame.columns:
        raise DataError(path, "column weight", "missing: each particle needs its weight")
    try:
        weights = frame["weight"].to_numpy(float)
    except (TypeError, ValueError):
        raise DataError(path, "column weight", "must hold numbers") from None
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise DataError(path, "column weight", "every weight must be a finite number >= 0")
    total = float(weights.sum())
    if not math.isclose(total, 1.0, abs_tol=WEIGHT_TOL):
        raise DataError(path, "column weight", f"the weights must sum to 1, got {total:.6g}")
    heads = _table_heads()
    names = [c for c in frame.columns if c != "weight" and c not in BOOKKEEPING]
    if not names:
        raise DataError(path, None, "has no parameter columns")
    for name in names:
        _check_name(path, str(name), heads)
        try:
            column = frame[name].to_numpy(float)
        except (TypeError, ValueError):
            raise DataError(path, f"column {name}", "must hold numbers") from None
        _check_bounds(path, str(name), column)
    values = frame[names].astype(float).reset_index(drop=True)
    return Posterior(path=path.resolve(), values=values, weights=weights / total)
