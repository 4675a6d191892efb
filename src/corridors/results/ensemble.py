"""The results of an ensemble: per-run corridor volumes, observables, outcomes and design."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from corridors.atomic import write_dir_atomic
from corridors.vocabulary import CORRIDORS

if TYPE_CHECKING:
    pass


from corridors.results.columns import FORMAT_VERSION, _corridor_order, _strict_json, parquet_bytes
from corridors.results.reading import check_directory, read_json, read_table

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

    Made by :func:`corridors.run_ensemble`, :func:`corridors.sweep` and
    :func:`corridors.sensitivity`, or read back by :func:`load_ensemble`.

    Parameters
    ----------
    corridors, observables, outcomes, design, failures : pandas.DataFrame
        The tables above.
    meta : dict
        What made the ensemble (written to ``ensemble.json`` with the format version).

    Examples
    --------
    >>> import corridors
    >>> from corridors.scenario import find_scenario
    >>> sc = corridors.load_scenario(find_scenario("baseline"), overrides={"period.end_year": 2020})
    >>> ens = corridors.run_ensemble(sc, replicates=2, seed=7, workers=1)
    >>> ens.runs
    2
    >>> ens.quantiles().columns.tolist()
    ['year', 'corridor', 'q0.05', 'q0.25', 'q0.5', 'q0.75', 'q0.95']
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
        """Return quantiles over runs of a corridor variable: year, corridor, then one column per q.

        Parameters
        ----------
        variable : str
            A variable of the corridors table (not run, replicate, year or corridor).
        q : tuple of float
            The quantiles; their columns are named ``q0.05``, ``q0.5``, ...

        Returns
        -------
        pandas.DataFrame
            One row per year and corridor, in corridor order.

        Raises
        ------
        KeyError
            If ``variable`` is not a variable of the corridors table.
        """
        if variable not in self.corridors.columns or variable in ("run", "replicate", "year", "corridor"):
            raise KeyError(f"quantiles: {variable!r} is not a variable of the corridors table")
        g = self.corridors.groupby(["year", "corridor"], sort=False)[variable]
        out = g.quantile(list(q)).unstack()
        out.columns = [f"q{x:g}" for x in q]
        out = out.reset_index()
        return out.sort_values(["year", "corridor"], key=_corridor_order).reset_index(drop=True)

    def exceedance(self, a: str, b: str, variable: str = "volume_t") -> pd.DataFrame:
        """Return how likely corridor ``a`` carries more than ``b``, by year, over the runs.

        Columns: year, ``p_exceeds`` (share of runs where ``a > b`` that year) and
        ``p_overtaken_by`` (share of runs where ``a > b`` in that year or any earlier one).

        Parameters
        ----------
        a, b : str
            Corridors of the corridors table.
        variable : str
            The corridors table's variable to compare.

        Returns
        -------
        pandas.DataFrame
            One row per year.

        Raises
        ------
        KeyError
            If ``a`` or ``b`` is not a corridor of the table.
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
        """Return the merged tables as files (Parquet, JSON), by name."""
        out = {f"{name}.parquet": parquet_bytes(getattr(self, name)) for name in ENSEMBLE_TABLES}
        out["failures.json"] = _strict_json(self.failures.to_dict(orient="records")).encode()
        out["ensemble.json"] = _strict_json({"format_version": FORMAT_VERSION, **self.meta}).encode()
        return out

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the merged tables to a new directory atomically (no pickles).

        Parameters
        ----------
        path : str or Path
            The directory to write.
        force : bool
            Replace an existing ``path`` whole.

        Returns
        -------
        Path
            ``path``.

        Raises
        ------
        FileExistsError
            If ``path`` exists and not ``force``.
        """

        def fill(tmp: Path) -> None:
            for name, data in self.files().items():
                (tmp / name).write_bytes(data)

        return write_dir_atomic(path, fill, force=force)


def load_ensemble(path: str | Path) -> EnsembleResults:
    """Read the merged tables of an ensemble, sweep or sensitivity directory.

    Parameters
    ----------
    path : str or Path
        A directory written by :meth:`EnsembleResults.save`.

    Returns
    -------
    EnsembleResults
        The tables, the failures and ``meta`` (with ``format_version``) as saved.

    Raises
    ------
    FileNotFoundError
        No such folder, not an ensemble directory (no ``ensemble.json``), one interrupted
        (its manifest's status ``running``: the same command again resumes it), or a table
        missing.
    DataError
        A JSON file or table that does not parse, named with its path.
    """
    path = Path(path)
    check_directory(path, "ensemble.json", "ensemble directory")
    tables = {name: read_table(path / f"{name}.parquet") for name in ENSEMBLE_TABLES}
    failures = pd.DataFrame(
        read_json(path / "failures.json"), columns=["run", "replicate", "error", "message"]
    )
    meta = read_json(path / "ensemble.json")
    return EnsembleResults(**tables, failures=failures, meta=meta)
