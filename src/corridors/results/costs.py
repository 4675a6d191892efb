"""The generalised cost the shippers compare, split into its parts: the ``costs`` table.

Each quarter every shipper compares, on each corridor open to it, the cost of
:func:`corridors.agents.rules._cost`::

    G = money + premium - subsidy + political + constant
        + vot * (time + reliability_weight * sd(time) + penalty_days)

with its remembered money (this quarter's quote, with ``quoted_money``) and time. The
``costs`` table holds, per step, shipper and corridor, each part in USD per tonne, signed
so that the parts add up to ``total_usd_per_t``:

- ``tariff_handling``: the remembered money (tariffs, handling, fees, sea freight);
- ``time``: the remembered time less its queue, valued at the shipper's value of time;
- ``queue``: the queue wait in the remembered time, valued the same way. The queue part is
  the wait in this quarter's quote (the queues forwarders expect), at most the remembered
  time: both are smoothed with the same memory weight;
- ``reliability``: the standard deviation of the remembered time times the reliability
  weight, plus the corridor's reliability penalty, in days, valued the same way;
- ``premium`` (sanctions), ``subsidy`` (negative: it lowers the cost), ``political`` and
  ``constant`` (the corridor constants).

``vot`` is each shipper's value of time averaged over its segments by their shares of its
freight: the cost is linear in the value of time, so this is the segments' costs averaged.
Where the corridor is closed to the shipper (``open_share`` 0) or it knows no cost, every
part is NaN. :func:`cost_breakdown` averages the parts over groups of shippers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from corridors.results.columns import _table, _tiled_text
from corridors.vocabulary import C5, CORRIDORS, GROUP_KEYS

if TYPE_CHECKING:
    from corridors.run_record import RunRecord

__all__ = ["COMPONENTS", "cost_breakdown", "cost_table", "shipper_groups", "trade_cost_usd"]

COMPONENTS = (
    "tariff_handling",
    "time",
    "queue",
    "reliability",
    "premium",
    "subsidy",
    "political",
    "constant",
)
"""The parts of the generalised cost, in the order of the table (each ``<part>_usd_per_t``)."""


def cost_table(record: RunRecord) -> pd.DataFrame | None:
    """Return the ``costs`` table of a run record, or ``None`` if it recorded no cost terms.

    Parameters
    ----------
    record : RunRecord
        The run's record (:meth:`corridors.model.CorridorModel.record`).

    Returns
    -------
    pandas.DataFrame or None
        One row per step, shipper and corridor: step, year, quarter, shipper, corridor,
        demand_t (the shipper's freight this quarter), intended_t (what its contracts and
        the state cargo put on the corridor before bans), booked_t (booked after bans),
        served_t, backlog_t, open_share, vot_usd_per_t_day, the parts of
        :data:`COMPONENTS` (``<part>_usd_per_t``) and total_usd_per_t.
    """
    ct, ch = record.cost_terms, record.choices
    if ct is None or ch is None:
        return None
    r, T = record.arrays, record.n_steps
    mm, mt = ch.dense("memory_money")[:T], ch.dense("memory_time")[:T]
    open_share = ch.dense("open_share")[:T]
    S, K = mm.shape[1], mm.shape[2]
    vot = np.broadcast_to(ct.vot_usd_per_t_day[None, :, None], mm.shape)
    known = (open_share > 0) & np.isfinite(mm) & np.isfinite(mt)
    with np.errstate(invalid="ignore"):
        queue_days = np.minimum(ch.dense("quote_wait")[:T], mt)
        parts = {
            "tariff_handling": mm,
            "time": vot * (mt - queue_days),
            "queue": vot * queue_days,
            "reliability": vot * (ct.reliability_weight * ch.dense("memory_time_sd")[:T] + ct.penalty_days),
            "premium": ch.dense("premium")[:T],
            "subsidy": -ch.dense("subsidy")[:T],
            "political": ch.dense("political")[:T],
            "constant": np.broadcast_to(ct.constant[None], mm.shape),
        }
        parts = {name: np.where(known, v, np.nan) for name, v in parts.items()}
        total = sum(parts.values())
    demand = r["demand"][:T]
    return _table(
        np.arange(T),
        S * K,
        {
            "shipper": np.tile(np.repeat(np.arange(S), K), T),
            "corridor": _tiled_text(CORRIDORS, T * S),
            "demand_t": np.repeat(demand.ravel(), K),
            "intended_t": (ch.dense("intended")[:T] * demand[:, :, None]).ravel(),
            "booked_t": r["offered"][:T].ravel().copy(),
            "served_t": r["served"][:T].ravel().copy(),
            "backlog_t": r["backlog"][:T].ravel().copy(),
            "open_share": open_share.ravel(),
            "vot_usd_per_t_day": vot.ravel().copy(),
            **{f"{name}_usd_per_t": v.ravel() for name, v in parts.items()},
            "total_usd_per_t": total.ravel(),
        },
    )


def shipper_groups(shippers: Mapping[str, list], by: Sequence[str]) -> pd.DataFrame:
    """Return each shipper's group: a frame indexed by shipper with the columns ``by``.

    Parameters
    ----------
    shippers : mapping
        ``meta["shippers"]`` of a run: ``index`` and each of ``origin``, ``market``,
        ``commodity``, ``direction``, ``country``.
    by : sequence of str
        The keys that make a group.

    Raises
    ------
    ValueError
        If a key of ``by`` is not a shipper attribute.
    """
    bad = [b for b in by if b not in GROUP_KEYS]
    if bad:
        raise ValueError(f"by: {', '.join(bad)} is not a shipper attribute (one of {', '.join(GROUP_KEYS)})")
    frame = pd.DataFrame(
        {k: shippers[k] for k in GROUP_KEYS}, index=pd.Index(shippers["index"], name="shipper")
    )
    return frame[list(by)]


def select_shippers(shippers: Mapping[str, list], group: Mapping[str, str] | None) -> np.ndarray:
    """Return the shippers (their indices) whose attributes match every ``key: value`` of ``group``.

    Raises
    ------
    ValueError
        If a key is not a shipper attribute, or no shipper has the value.
    """
    frame = shipper_groups(shippers, GROUP_KEYS)
    keep = np.ones(len(frame), dtype=bool)
    for key, value in (group or {}).items():
        if key not in GROUP_KEYS:
            raise ValueError(f"group: {key} is not a shipper attribute (one of {', '.join(GROUP_KEYS)})")
        hit = frame[key].to_numpy() == value
        if not hit.any():
            known = ", ".join(sorted(set(frame[key])))
            raise ValueError(f"group: no shipper has {key}={value} (known: {known})")
        keep &= hit
    if not keep.any():
        raise ValueError(f"group: no shipper has all of {dict(group or {})}")
    return frame.index.to_numpy()[keep]


def cost_breakdown(
    costs: pd.DataFrame,
    shippers: Mapping[str, list],
    *,
    by: Sequence[str] = ("direction", "commodity"),
    corridors: Sequence[str] | None = None,
    years: Sequence[int] | None = None,
    group: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Average the parts of the generalised cost over groups of shippers, by year and corridor.

    Each part is averaged over the group's shippers and the year's quarters, weighted by
    the shippers' freight (``demand_t``) where the corridor is open to them: the cost an
    average tonne of the group would see on the corridor, whether or not it uses it. The
    parts' averages add up to the total's.

    Parameters
    ----------
    costs : pandas.DataFrame
        The ``costs`` table (:func:`cost_table`).
    shippers : mapping
        ``meta["shippers"]`` of the run.
    by : sequence of str
        The shipper attributes that make a group (origin, market, commodity, direction,
        country); empty: all shippers as one.
    corridors, years : sequence, optional
        Keep only these (default: all).
    group : mapping of str to str, optional
        Keep only the shippers with these attributes, e.g. ``{"direction": "transit"}``.

    Returns
    -------
    pandas.DataFrame
        year, the ``by`` columns, corridor, demand_t (the group's freight), served_t (on the
        corridor), the parts (``<part>_usd_per_t``) and total_usd_per_t.
    """
    part_cols = [f"{c}_usd_per_t" for c in (*COMPONENTS, "total")]
    rows = costs
    if corridors is not None:
        rows = rows[rows["corridor"].isin(list(corridors))]
    if years is not None:
        rows = rows[rows["year"].isin(list(years))]
    if group:
        rows = rows[rows["shipper"].isin(select_shippers(shippers, group))]
    keys = shipper_groups(shippers, by)
    frame = rows[["year", "shipper", "corridor", "demand_t", "served_t", *part_cols]].join(keys, on="shipper")
    ok = frame["total_usd_per_t"].notna()
    w = frame["demand_t"].where(ok, 0.0)
    weighted = frame[part_cols].fillna(0.0).mul(w, axis=0)
    weighted[["demand_t", "served_t"]] = frame[["demand_t", "served_t"]]
    weighted["_w"] = w
    index = ["year", *by, "corridor"]
    weighted[index] = frame[index]
    sums = weighted.groupby(index, sort=False).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = sums[part_cols].div(sums["_w"].where(sums["_w"] > 0), axis=0)
    out.insert(0, "served_t", sums["served_t"])
    out.insert(0, "demand_t", sums["demand_t"])  # each shipper's freight once in each corridor's group
    out = out.reset_index()
    order = {c: i for i, c in enumerate(CORRIDORS)}
    out = out.sort_values(
        ["year", *by, "corridor"], key=lambda col: col.map(order) if col.name == "corridor" else col
    )
    return out.reset_index(drop=True)


def trade_cost_usd(
    costs: pd.DataFrame, shippers: Mapping[str, list], *, countries: Sequence[str] = C5
) -> pd.Series:
    """Return the generalised cost of the trade of ``countries``' shippers, USD a year.

    Each quarter, each shipper's freight booked on a corridor (``booked_t``, its whole
    freight over the corridors) times the generalised cost it sees there
    (``total_usd_per_t``), summed over the shippers, corridors and quarters of the year.
    The freight is the trade's, fixed by demand, so a change in this sum is a change in
    what moving the same trade costs (money, time, queues, reliability, premiums).

    Parameters
    ----------
    costs : pandas.DataFrame
        The ``costs`` table (:func:`cost_table`).
    shippers : mapping
        ``meta["shippers"]`` of the run.
    countries : sequence of str
        The shippers' countries counted (default: the five; China's transit is not theirs).

    Returns
    -------
    pandas.Series
        USD a year, indexed by the years of ``costs``, named ``trade_cost_usd``.

    Raises
    ------
    ValueError
        If freight is booked where its cost is unknown (it would be left out silently).
    """
    keys = shipper_groups(shippers, ("country",))
    mine = keys.index[keys["country"].isin(list(countries))].to_numpy()
    rows = costs[costs["shipper"].isin(mine) & (costs["booked_t"] > 0)]
    unknown = rows["total_usd_per_t"].isna()
    if unknown.any():
        first = rows[unknown].iloc[0]
        msg = f"costs: freight booked on {first['corridor']} by shipper {first['shipper']} in {first['year']} at no known cost"
        raise ValueError(msg)
    usd = (rows["booked_t"] * rows["total_usd_per_t"]).groupby(rows["year"]).sum()
    years = np.unique(costs["year"].to_numpy())
    return usd.reindex(years, fill_value=0.0).rename("trade_cost_usd").rename_axis("year")
