"""The tables the run figures draw, derived from a run's Results.

Results are duck-typed (this package never imports :mod:`corridors.results` at run time):
only the tables named in each docstring are read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from corridors.vocabulary import C5, CORRIDORS

if TYPE_CHECKING:  # never at run time: results must not import plots, nor plots results
    from corridors.results import Results

__all__ = ["active_corridors", "annual_by_corridor", "country_shares", "quarter_time"]


def annual_by_corridor(res: Results) -> pd.DataFrame:
    """Freight per year and corridor.

    Parameters
    ----------
    res : Results
        A run; its ``corridors`` table (``year``, ``corridor``, ``volume_t``) is read.

    Returns
    -------
    pandas.DataFrame
        Mt/yr: index year, one column per corridor in ``CORRIDORS`` order.
    """
    vol = res.corridors.groupby(["year", "corridor"])["volume_t"].sum().unstack(fill_value=0.0)
    return vol.reindex(columns=list(CORRIDORS), fill_value=0.0) / 1e6


def active_corridors(volumes: pd.DataFrame) -> list[str]:
    """Corridors that carry anything (closed corridors with no volume are left out).

    Parameters
    ----------
    volumes : pandas.DataFrame
        One column per corridor, as from :func:`annual_by_corridor`.

    Returns
    -------
    list of str
        The corridors with a positive value in some row, in ``CORRIDORS`` order.
    """
    return [c for c in CORRIDORS if c in volumes.columns and (volumes[c] > 0).any()]


def quarter_time(table: pd.DataFrame) -> pd.Series:
    """Give the time of each row in years: 2022.0 for 2022Q1, 2022.75 for 2022Q4.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows with ``year`` and ``quarter`` (1-4).

    Returns
    -------
    pandas.Series
        Fractional years, aligned with ``table``.
    """
    return table["year"] + (table["quarter"] - 1) / 4.0


def country_shares(res: Results) -> pd.DataFrame:
    """Annual share of each corridor in each Central Asian country's freight (all directions).

    Parameters
    ----------
    res : Results
        A run; its ``countries`` table is read (pipelines are not in it).

    Returns
    -------
    pandas.DataFrame
        Index (country, year), one column per corridor; each row sums to 1 (0 where the
        country moved nothing that year).
    """
    c = res.countries[res.countries["country"].isin(C5)]
    g = c.groupby(["country", "year", "corridor"])["volume_t"].sum().unstack(fill_value=0.0)
    g = g.reindex(columns=list(CORRIDORS), fill_value=0.0)
    total = g.sum(axis=1)
    return g.div(total.where(total > 0), axis=0).fillna(0.0)
