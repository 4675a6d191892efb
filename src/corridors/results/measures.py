"""The measures of a run by year: what a scenario's ``[[expect]]`` claims compare with the baseline.

:func:`measure` computes each measure of :data:`corridors.observables.MEASURES` from a
:class:`~corridors.results.Results`' tables, for every reported year.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from corridors.network import packaged_network
from corridors.observables import MEASURES, OBSERVABLES
from corridors.scenario.checks import BLOC_FUNDER, vocabulary
from corridors.vocabulary import C5, step_year

if TYPE_CHECKING:
    from collections.abc import Sequence

    from corridors.results.run import Results

__all__ = ["link_edges", "measure"]


def measure(
    res: Results,
    name: str,
    *,
    corridor: str | None = None,
    country: str | None = None,
    commodity: str | None = None,
    market: str | None = None,
    direction: str | None = None,
    links: Sequence[str] | None = None,
    project: str | None = None,
    funder: str | None = None,
) -> pd.Series:
    """Return a measure of a run (:data:`corridors.observables.MEASURES`) for each reported year.

    Parameters
    ----------
    res : Results
        The run.
    name : str
        The measure: ``volume_t``, ``share``, ``time_days``, ... or an observable series
        (:data:`corridors.observables.OBSERVABLES`).
    corridor, country, commodity, market, direction, links, project, funder : optional
        The qualifiers the measure takes (see its ``needs``, ``takes`` and ``one_of``);
        ``country = "C5"`` is the five together.

    Returns
    -------
    pandas.Series
        The values indexed by year (the years of the corridors table), named ``name``; NaN
        where the measure is undefined (a time or share of no freight).

    Raises
    ------
    ValueError
        An unknown measure, a qualifier it does not take, or one it needs missing.

    Examples
    --------
    >>> import corridors
    >>> res = corridors.run(end_year=2020, seed=7)
    >>> measure(res, "share", corridor="middle").index.tolist()
    [2019, 2020]
    """
    given = {
        "corridor": corridor,
        "country": country,
        "commodity": commodity,
        "market": market,
        "direction": direction,
        "links": links,
        "project": project,
        "funder": funder,
    }
    given = {q: v for q, v in given.items() if v is not None}
    _check(name, given)
    years = pd.Index(np.unique(res.corridors["year"].to_numpy()), name="year")
    out = res.observable(name).reindex(years) if name in OBSERVABLES else _MEASURES[name](res, years, given)
    return out.astype(float).rename(name)


def _check(name: str, given: dict) -> None:
    m = MEASURES.get(name)
    if m is None:
        msg = f"measure: {name!r} is not one of {', '.join(MEASURES)}"
        raise ValueError(msg)
    for q in given:
        if q not in m.takes:
            msg = f"measure {name!r} takes no {q} (it takes {', '.join(m.takes) or 'no qualifier'})"
            raise ValueError(msg)
    missing = [q for q in m.needs if q not in given]
    if missing or (m.one_of and sum(q in given for q in m.one_of) != 1):
        need = ", ".join(missing) if missing else f"exactly one of {', '.join(m.one_of)}"
        msg = f"measure {name!r} needs {need}"
        raise ValueError(msg)


def link_edges(links: Sequence[str] = (), project: str | None = None) -> list[int]:
    """Return the edge ids of links given as ``"tail>head"``, or of a project of projects.csv.

    A ``"tail>head"`` names every parallel link between the two nodes (Aktau -> Baku-Alat: the
    rail ferry, the container feeder, the crude tanker and the bulk ships), in edge order.

    Raises
    ------
    ValueError
        A link or a project the packaged network does not know.
    """
    if project is not None:
        row = vocabulary().projects.get(project)
        if row is None:
            msg = f"unknown project {project!r}"
            raise ValueError(msg)
        return [int(e) for e in row["edges"]]
    edges = packaged_network().edges
    ids: dict[str, list[int]] = {}
    for i, name in enumerate(edges["tail"] + ">" + edges["head"]):
        ids.setdefault(name, []).append(i)
    unknown = [link for link in links if link not in ids]
    if unknown:
        msg = f"unknown link {unknown[0]!r}"
        raise ValueError(msg)
    return [i for link in links for i in ids[link]]


# ----------------------------------------------------------------------- the measures


def _by_year(values: pd.Series, years: pd.Index, fill: float = 0.0) -> pd.Series:
    return values.groupby(level=0).sum().reindex(years, fill_value=fill)


def _flows(res: Results, given: dict, *, corridor: bool = True) -> pd.DataFrame:
    """Return the countries table's rows matching the qualifiers (the corridor only if ``corridor``)."""
    c = res.countries
    keep = np.ones(len(c), dtype=bool)
    for q in (
        ("corridor", "commodity", "market", "direction") if corridor else ("commodity", "market", "direction")
    ):
        if q in given:
            keep &= (c[q] == given[q]).to_numpy()
    if "country" in given:
        who = C5 if given["country"] == BLOC_FUNDER else (given["country"],)
        keep &= c["country"].isin(who).to_numpy()
    return c[keep]


def _volume(res: Results, years: pd.Index, given: dict) -> pd.Series:
    rows = _flows(res, given)
    return _by_year(rows.set_index("year")["volume_t"], years)


def _share(res: Results, years: pd.Index, given: dict) -> pd.Series:
    rows = _flows(res, given, corridor=False)
    total = _by_year(rows.set_index("year")["volume_t"], years)
    on = rows[rows["corridor"] == given["corridor"]]
    part = _by_year(on.set_index("year")["volume_t"], years)
    return part / total.where(total > 0)


def _weighted(values: pd.Series, weights: pd.Series, years: pd.Index) -> pd.Series:
    """Mean of ``values`` weighted by ``weights`` in each year (NaN where the weights add to 0)."""
    w = weights.where(weights > 0, 0.0)
    num = _by_year((values.fillna(0.0) * w), years)
    den = _by_year(w, years)
    return num / den.where(den > 0)


def _time(res: Results, years: pd.Index, given: dict) -> pd.Series:
    rows = _flows(res, given).set_index("year")
    return _weighted(rows["time_days"], rows["volume_t"], years)


def _corridor_rows(res: Results, given: dict) -> pd.DataFrame:
    k = res.corridors
    return k[k["corridor"] == given["corridor"]].set_index("year")


def _cost(res: Results, years: pd.Index, given: dict) -> pd.Series:
    rows = _corridor_rows(res, given)
    return _weighted(rows["cost_usd_per_t"], rows["volume_t"], years)


def _backlog(res: Results, years: pd.Index, given: dict) -> pd.Series:
    return _corridor_rows(res, given)["backlog_t"].groupby(level=0).mean().reindex(years)


def _utilisation(res: Results, years: pd.Index, given: dict) -> pd.Series:
    return _corridor_rows(res, given)["utilisation"].groupby(level=0).mean().reindex(years)


def _load_ratio(res: Results, years: pd.Index, given: dict) -> pd.Series:
    return _corridor_rows(res, given)["load_ratio"].groupby(level=0).mean().reindex(years)


def _corridor_shares(res: Results, years: pd.Index, given: dict) -> pd.DataFrame:
    """Each year's shares of the country's own trade by corridor (years x corridors)."""
    rows = _flows(res, {"country": given["country"]})
    g = rows.groupby(["year", "corridor"])["volume_t"].sum().unstack(fill_value=0.0).reindex(years)
    total = g.sum(axis=1)
    return g.div(total.where(total > 0), axis=0)


def _russian_dependence(res: Results, years: pd.Index, given: dict) -> pd.Series:
    shares = _corridor_shares(res, years, given)
    return shares["russian"] if "russian" in shares else pd.Series(0.0, index=years)


def _herfindahl(res: Results, years: pd.Index, given: dict) -> pd.Series:
    shares = _corridor_shares(res, years, given)
    return (shares**2).sum(axis=1, min_count=1)


def _critical_minerals_to_west(res: Results, years: pd.Index, given: dict) -> pd.Series:
    flows = {"commodity": "critical_minerals", "market": "market_eu", "direction": "export"}
    rows = _flows(res, {**given, **flows})
    return _by_year(rows.set_index("year")["volume_t"], years)


def _link_flow(res: Results, years: pd.Index, given: dict) -> pd.Series:
    ids = link_edges(given.get("links", ()), given.get("project"))
    e = res.edges
    rows = e[e["edge"].isin(ids)].set_index("year")
    return _by_year(rows["flow_t"], years)


def _link_load_ratio(res: Results, years: pd.Index, given: dict) -> pd.Series:
    ids = link_edges(given.get("links", ()), given.get("project"))
    e = res.edges
    rows = e[e["edge"].isin(ids)].groupby(["year", "step"])[["load_t", "capacity_t"]].sum()
    ratio = rows["load_t"] / rows["capacity_t"].where(rows["capacity_t"] > 0)
    return ratio.groupby(level=0).mean().reindex(years)


def _funded(res: Results, given: dict) -> pd.DataFrame:
    d = res.decisions
    rows = d[d["decision"] == "fund"]
    if "funder" in given:
        rows = rows[rows["agent"] == given["funder"]]
    return pd.DataFrame({"year": step_year(rows["step"].to_numpy()), "project": rows["detail"].to_numpy()})


def _cumulative(values: pd.Series, years: pd.Index) -> pd.Series:
    per_year = values.groupby(level=0).sum()
    return per_year.reindex(years, fill_value=0.0).cumsum()


def _projects_funded(res: Results, years: pd.Index, given: dict) -> pd.Series:
    funded = _funded(res, given)
    return _cumulative(pd.Series(1.0, index=funded["year"].to_numpy()), years)


def _projects_funded_usd_m(res: Results, years: pd.Index, given: dict) -> pd.Series:
    funded = _funded(res, given)
    costs = [vocabulary().projects[p]["amount_usd_m"] for p in funded["project"]]
    return _cumulative(pd.Series(costs, index=funded["year"].to_numpy(), dtype=float), years)


_MEASURES = {
    "volume_t": _volume,
    "share": _share,
    "time_days": _time,
    "cost_usd_per_t": _cost,
    "backlog_t": _backlog,
    "utilisation": _utilisation,
    "load_ratio": _load_ratio,
    "russian_dependence": _russian_dependence,
    "herfindahl": _herfindahl,
    "critical_minerals_to_west_t": _critical_minerals_to_west,
    "link_flow_t": _link_flow,
    "link_load_ratio": _link_load_ratio,
    "projects_funded": _projects_funded,
    "projects_funded_usd_m": _projects_funded_usd_m,
}
assert set(_MEASURES) | set(OBSERVABLES) == set(MEASURES)
