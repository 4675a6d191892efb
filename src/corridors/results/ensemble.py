"""The results of an ensemble: per-run corridor volumes, observables, outcomes and design."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from corridors.atomic import write_dir_atomic
from corridors.vocabulary import CORRIDORS

if TYPE_CHECKING:
    pass


from corridors.results.columns import FORMAT_VERSION, _corridor_order, _strict_json, parquet_bytes

__all__ = ["ENSEMBLE_TABLES", "QUANTILES", "EnsembleResults", "load_ensemble"]

ENSEMBLE_TABLES = ("corridors", "observables", "outcomes", "design")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(eq=False)
class EnsembleResults:
    """The outcome of many runs (an ensemble, a sweep, a sensitivity analysis).

    Tables, each with ``run`` and ``replicate`` columns and sorted by run:

    - ``corridors``: run, replicate, year, corridor, volume_t, share, cost_usd_per_t,
      time_days, utilisation, backlog_t (annual: sums of volumes, volume-weighted costs and
      times, mean utilisation and backlog)
    - ``observables``: run, replicate, year and one column per :data:`OBSERVABLES`
    - ``outcomes``: the ``design`` row of each finished run, then its scalar outcomes
    - ``design``: every planned run: run, point, replicate and its parameter values
    - ``failures``: run, replicate, error, message of the runs that raised
    """

    corridors: pd.DataFrame
    observables: pd.DataFrame
    outcomes: pd.DataFrame
    design: pd.DataFrame
    failures: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        """Number of finished runs."""
        return int(self.outcomes["run"].nunique())

    def annual_volumes(self) -> pd.DataFrame:
        """Tonnes per year by run and corridor: run, replicate, year, corridor, volume_t."""
        return self.corridors[["run", "replicate", "year", "corridor", "volume_t"]].reset_index(drop=True)

    def quantiles(self, variable: str = "volume_t", q: tuple[float, ...] = QUANTILES) -> pd.DataFrame:
        """Quantiles over runs of a corridor variable: year, corridor, then one column per q."""
        if variable not in self.corridors.columns or variable in ("run", "replicate", "year", "corridor"):
            raise KeyError(f"quantiles: {variable!r} is not a variable of the corridors table")
        g = self.corridors.groupby(["year", "corridor"], sort=False)[variable]
        out = g.quantile(list(q)).unstack()
        out.columns = [f"q{x:g}" for x in q]
        out = out.reset_index()
        return out.sort_values(["year", "corridor"], key=_corridor_order).reset_index(drop=True)

    def exceedance(self, a: str, b: str, variable: str = "volume_t") -> pd.DataFrame:
        """How likely corridor ``a`` carries more than ``b``, by year, over the runs.

        Columns: year, ``p_exceeds`` (share of runs where ``a > b`` that year) and
        ``p_overtaken_by`` (share of runs where ``a > b`` in that year or any earlier one).
        """
        known = set(self.corridors["corridor"])
        for name, c in (("a", a), ("b", b)):
            if c not in known:
                raise KeyError(
                    f"exceedance: {name}={c!r} is not a corridor; expected one of {', '.join(CORRIDORS)}"
                )
        wide = self.corridors.pivot_table(
            index=["run", "year"], columns="corridor", values=variable, aggfunc="first"
        )
        above = (wide[a] > wide[b]).unstack("year").sort_index(axis=1)
        ever = above.cummax(axis=1)
        return pd.DataFrame(
            {
                "year": above.columns.astype("int64"),
                "p_exceeds": above.mean(axis=0).to_numpy(),
                "p_overtaken_by": ever.mean(axis=0).to_numpy(),
            }
        )

    def files(self) -> dict[str, bytes]:
        """The merged tables as files (Parquet, JSON), by name."""
        out = {f"{name}.parquet": parquet_bytes(getattr(self, name)) for name in ENSEMBLE_TABLES}
        out["failures.json"] = _strict_json(self.failures.to_dict(orient="records")).encode()
        out["ensemble.json"] = _strict_json({"format_version": FORMAT_VERSION, **self.meta}).encode()
        return out

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the merged tables to a new directory atomically (no pickles)."""

        def fill(tmp: Path) -> None:
            for name, data in self.files().items():
                (tmp / name).write_bytes(data)

        return write_dir_atomic(path, fill, force=force)


def load_ensemble(path: str | Path) -> EnsembleResults:
    """Read the merged tables of an ensemble, sweep or sensitivity directory."""
    path = Path(path)
    if not (path / "ensemble.json").is_file():
        raise FileNotFoundError(f"{path}: not an ensemble directory (no ensemble.json; is it still running?)")
    tables = {name: pd.read_parquet(path / f"{name}.parquet") for name in ENSEMBLE_TABLES}
    failures = pd.DataFrame(
        json.loads((path / "failures.json").read_text()), columns=["run", "replicate", "error", "message"]
    )
    meta = json.loads((path / "ensemble.json").read_text())
    return EnsembleResults(**tables, failures=failures, meta=meta)
