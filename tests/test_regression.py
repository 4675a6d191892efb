"""The model's result tables, held from a known revision and required to agree to 1e-9.

Three scenarios (``baseline``, ``sanctions_tighter``, ``eu_global_gateway``), each run
deterministic (``stochastic=False``) and stochastic with seed 7 to 2035. Every table of
:class:`corridors.results.Results` is stored column by column, compressed, in
``tests/data/regression/`` (``pytest-regressions``' ``ndarrays_regression``): numbers must
agree to a relative 1e-9, text exactly. The tables were written by the revision before the
model core was rewritten for speed (issue 13); a change of numbers is deliberate only when
a commit of its own says why and regenerates them with ``pytest tests/test_regression.py
--force-regen``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import corridors
from corridors.results import TABLES

SCENARIOS = ("baseline", "sanctions_tighter", "eu_global_gateway")
MODES = {"deterministic": {"stochastic": False}, "seed7": {"stochastic": True, "seed": 7}}
RTOL = 1e-9


@pytest.fixture
def original_datadir() -> Path:
    """Where the held tables live (pytest-regressions reads and regenerates them here)."""
    return Path(__file__).parent / "data" / "regression"


def table_arrays(res: corridors.Results) -> dict[str, np.ndarray]:
    """Every column of every table as an array keyed ``table/column`` (text as str)."""
    out: dict[str, np.ndarray] = {}
    for name in TABLES:
        frame = getattr(res, name)
        for col in frame.columns:
            values = frame[col].to_numpy()
            if values.dtype.kind in "biuf":
                out[f"{name}/{col}"] = values.astype(np.float64)
            else:
                out[f"{name}/{col}"] = np.array([str(v) for v in values], dtype=str)
    return out


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_tables_agree_with_the_held_run(scenario, mode, ndarrays_regression):
    res = corridors.run(scenario, **MODES[mode])
    ndarrays_regression.check(
        table_arrays(res), basename=f"{scenario}-{mode}", default_tolerance={"rtol": RTOL, "atol": 0.0}
    )
