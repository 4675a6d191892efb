"""Why one run differs from another, or why a corridor carries what it carries.

:func:`explain` compares a run with a reference run (or with itself) in one year and
returns an :class:`Explanation`: tables a person can read.

- **costs**: the generalised cost the shippers compare, split into its parts
  (:mod:`corridors.results.costs`), for the chosen corridors and shippers, and each part's
  change against the reference.
- **attribution**: the change in each corridor's served tonnes split by cause
  (:func:`volume_attribution`), and **shifts**, the shift between corridors by group.
- **binding**: the links whose hard capacity bound (offered load above capacity: a queue
  formed), and for how many quarters, in each run.
- **projects**: the projects funded and the yearly reviews that funded nothing, and why.
- **decisions**: each agent's discrete decisions found in only one of the runs, and
  **levers**: the agents' levers (tariff factors, subsidies, fleet, fees) that differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from corridors.results.costs import COMPONENTS, cost_breakdown, select_shippers, shipper_groups
from corridors.vocabulary import BASE_YEAR, CORRIDORS

if TYPE_CHECKING:
    from corridors.results.run import Results

__all__ = ["CAUSES", "Explanation", "explain", "headline_change", "volume_attribution"]

CAUSES = ("demand", "shift", "to_sea", "bans", "capacity")
"""The causes of :func:`volume_attribution`, each a column ``<cause>_t``."""

_SEA = CORRIDORS.index("sea")


def _annual(res: Results, year: int, shippers: np.ndarray | None) -> dict[str, np.ndarray]:
    """Return a year's tonnes per shipper and corridor ``(S, K)`` from the costs table.

    ``demand`` (the shipper's freight), ``intended`` (before bans), ``booked`` (after bans)
    and ``served``, summed over the year's quarters; rows of shippers not in ``shippers``
    are zero.
    """
    c = res.costs
    rows = c[c["year"] == year]
    if rows.empty:
        raise ValueError(f"year: {year} is not in the run ({_years(res)})")
    S = len(res.meta["shippers"]["index"])
    K = len(CORRIDORS)
    s = rows["shipper"].to_numpy()
    k = rows["corridor"].map({c: i for i, c in enumerate(CORRIDORS)}).to_numpy()
    out = {}
    for name in ("demand", "intended", "booked", "served"):
        a = np.zeros((S, K))
        np.add.at(a, (s, k), rows[f"{name}_t"].to_numpy())
        if shippers is not None:
            a[np.setdiff1d(np.arange(S), shippers)] = 0.0
        out[name] = a
    return out


def _years(res: Results) -> str:
    years = res.corridors["year"]
    return f"{int(years.min())}-{int(years.max())}"


def _attribution_parts(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return the causes of the change from ``a`` to ``b`` per shipper and corridor ``(S, K)`` (:func:`volume_attribution`)."""
    da, db = a["demand"], b["demand"]  # each shipper's freight, the same on every corridor
    with np.errstate(invalid="ignore", divide="ignore"):
        ca = np.where(da > 0, a["intended"] / da, 0.0)
        cb = np.where(db > 0, b["intended"] / db, 0.0)
    dc = cb - ca
    shift = dc * (da + db) / 2.0
    gains = np.maximum(dc, 0.0).sum(axis=1, keepdims=True)
    losses = np.maximum(-dc, 0.0).sum(axis=1, keepdims=True)
    sea = dc[:, _SEA : _SEA + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        # a corridor's loss goes to the gaining corridors in proportion to their gains (and
        # its gain comes from the losers in proportion to their losses): the sea's part
        to_sea_share = np.where(
            dc < 0,
            np.where(gains > 0, np.maximum(sea, 0.0) / gains, 0.0),
            np.where(losses > 0, np.maximum(-sea, 0.0) / losses, 0.0),
        )
    to_sea_share[:, _SEA] = 1.0  # all the sea's own shift is with the land corridors
    to_sea = shift * to_sea_share
    return {
        "demand": (db - da) * (ca + cb) / 2.0,
        "shift": shift - to_sea,
        "to_sea": to_sea,
        "bans": (b["booked"] - b["intended"]) - (a["booked"] - a["intended"]),
        "capacity": (b["served"] - b["booked"]) - (a["served"] - a["booked"]),
    }


def volume_attribution(
    res: Results, other: Results, year: int, *, group: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Split the change in each corridor's served tonnes from ``other`` to ``res`` by cause.

    For each shipper ``s`` and corridor ``k`` over the year, served tonnes are
    ``V = D c + (B - I) + (V - B)``: the shipper's freight ``D`` times the share ``c = I / D``
    its contracts and state cargo intend for the corridor (``I``, before bans), plus what
    bans moved off or re-booked onto it (booked ``B`` less ``I``), plus what capacity did to
    the booked freight (served less booked: throttled into the backlog, or backlog cleared).
    The change ``V_b - V_a`` is the sum of

    - ``demand``: ``(D_b - D_a) (c_a + c_b) / 2``;
    - ``shift`` and ``to_sea``: ``(c_b - c_a) (D_a + D_b) / 2``, the shift of the shipper's
      freight between corridors; ``to_sea`` is the part exchanged with the sea corridor (a
      corridor's loss is assigned to the corridors that gained in proportion to their
      gains, and its gain to those that lost in proportion to their losses; all the sea's
      own shift is ``to_sea``), ``shift`` the rest;
    - ``bans``: the change in ``B - I``;
    - ``capacity``: the change in ``V - B`` (throttling and backlog).

    A shift-share with the interaction term ``(D_b - D_a)(c_b - c_a)`` split half to demand and
    half to the shift (the Shapley split of two factors): the parts add up to the change
    exactly, shipper by shipper, and a run against itself has every part zero.

    Parameters
    ----------
    res, other : Results
        The run to explain and the reference run (with their ``costs`` tables).
    year : int
        The year compared.
    group : mapping of str to str, optional
        Only the shippers with these attributes (e.g. ``{"direction": "transit"}``).

    Returns
    -------
    pandas.DataFrame
        Indexed by corridor: volume_ref_t, volume_t, change_t and the causes
        (``<cause>_t`` of :data:`CAUSES`), tonnes in the year.
    """
    a, b = _pair_annual(res, other, year, group)
    parts = _attribution_parts(a, b)
    out = pd.DataFrame(
        {
            "volume_ref_t": a["served"].sum(axis=0),
            "volume_t": b["served"].sum(axis=0),
            "change_t": b["served"].sum(axis=0) - a["served"].sum(axis=0),
            **{f"{cause}_t": parts[cause].sum(axis=0) for cause in CAUSES},
        },
        index=pd.Index(CORRIDORS, name="corridor"),
    )
    return out


def _pair_annual(res, other, year, group):
    for r in (res, other):
        if r.costs is None:
            raise ValueError("explain: a run saved before results format 4 has no costs table; run it again")
    rows = None if not group else select_shippers(res.meta["shippers"], group)
    return _annual(other, year, rows), _annual(res, year, rows)


def shifts_by_group(
    res: Results,
    other: Results,
    year: int,
    *,
    by: Sequence[str] = ("direction", "commodity"),
    group: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Return the shift between corridors (``shift_t + to_sea_t``) by group of shippers and corridor.

    Parameters
    ----------
    res, other, year, group
        As :func:`volume_attribution`.
    by : sequence of str
        The shipper attributes that make a group.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, then one column per corridor: tonnes the group's shift moved onto
        it (negative: off it); only groups that moved freight, the largest first.
    """
    a, b = _pair_annual(res, other, year, group)
    parts = _attribution_parts(a, b)
    moved = parts["shift"] + parts["to_sea"]
    keys = shipper_groups(res.meta["shippers"], by)
    frame = pd.DataFrame(moved, columns=list(CORRIDORS), index=keys.index).join(keys)
    out = (
        frame.groupby(list(by), sort=False)[list(CORRIDORS)].sum()
        if by
        else frame[list(CORRIDORS)].sum().to_frame().T
    )
    size = out.abs().sum(axis=1)
    out = out[size > 1e-6 * max(float(size.max()) if len(size) else 0.0, 1.0)]
    return out.loc[size[out.index].sort_values(ascending=False).index].reset_index()


def binding_links(res: Results, year: int, *, corridors: Sequence[str] | None = None) -> pd.DataFrame:
    """Return the links whose hard capacity bound: offered load above capacity, so a queue formed.

    Parameters
    ----------
    res : Results
        The run.
    year : int
        The year looked at.
    corridors : sequence of str, optional
        Keep the links of these corridors and the feeder links all share (default: all).

    Returns
    -------
    pandas.DataFrame
        edge (the link's number), link (its name), corridor (``""``: a feeder link), quarters bound in the
        year and in the whole run, and in the year the mean load ratio (offered over
        capacity) and queue (days), the largest first.
    """
    e = res.edges
    bound = e["wait_days"].to_numpy() > 0
    names = res.meta.get("edge_names")
    gateways = res.meta.get("edge_corridors")
    run = pd.Series(bound).groupby(e["edge"].to_numpy()).sum()
    in_year = e[(e["year"] == year)].assign(bound=bound[(e["year"] == year).to_numpy()])
    g = in_year.groupby("edge").agg(
        quarters_bound=("bound", "sum"), load_ratio=("load_ratio", "mean"), wait_days=("wait_days", "mean")
    )
    g["quarters_bound_run"] = run.reindex(g.index).to_numpy()
    g = g[(g["quarters_bound"] > 0) | (g["quarters_bound_run"] > 0)]
    edge = g.index.to_numpy()
    g.insert(0, "corridor", [gateways[i] if gateways else "" for i in edge])
    g.insert(0, "link", [names[i] if names else str(i) for i in edge])
    if corridors is not None:
        g = g[g["corridor"].isin([*corridors, ""])]
    g = g.sort_values(["quarters_bound", "quarters_bound_run", "load_ratio"], ascending=False)
    return g.reset_index()[
        ["edge", "link", "corridor", "quarters_bound", "quarters_bound_run", "load_ratio", "wait_days"]
    ]


def _binding_pair(res: Results, other: Results, year: int, corridors: Sequence[str] | None) -> pd.DataFrame:
    """:func:`binding_links` of both runs: the links that bound in either, with the reference's quarters."""
    this = binding_links(res, year, corridors=corridors)
    ref = binding_links(other, year, corridors=corridors)
    both = this.merge(
        ref[["edge", "link", "corridor", "quarters_bound"]].rename(
            columns={"quarters_bound": "quarters_bound_ref"}
        ),
        on=["edge", "link", "corridor"],
        how="outer",
    )
    both[["quarters_bound", "quarters_bound_ref", "quarters_bound_run"]] = (
        both[["quarters_bound", "quarters_bound_ref", "quarters_bound_run"]].fillna(0).astype(int)
    )
    both = both[(both["quarters_bound"] > 0) | (both["quarters_bound_ref"] > 0)]
    order = ["quarters_bound", "quarters_bound_ref", "load_ratio"]
    both = both.sort_values(order, ascending=False).drop(columns="edge")
    return both[
        [
            "link",
            "corridor",
            "quarters_bound",
            "quarters_bound_ref",
            "quarters_bound_run",
            "load_ratio",
            "wait_days",
        ]
    ].reset_index(drop=True)


def project_decisions(res: Results) -> pd.DataFrame:
    """Return the run's project decisions: funded, delivered and refused, and why, by year and agent."""
    frames = [res.decisions]
    if res.refusals is not None:
        frames.append(res.refusals)
    d = pd.concat(frames, ignore_index=True)
    d.insert(1, "year", BASE_YEAR + d["step"].to_numpy() // 4)
    return d.sort_values(["step", "agent", "decision"], kind="stable").reset_index(drop=True)


def _decision_keys(res: Results) -> pd.DataFrame:
    """Return the run's decisions, a refusal by its kind of reason only (its numbers vary from run to run)."""
    d = project_decisions(res)[["year", "agent", "decision", "detail"]]
    refuse = d["decision"] == "refuse"
    d.loc[refuse, "detail"] = d.loc[refuse, "detail"].str.split(":").str[0]
    return d.drop_duplicates()


def differing_decisions(res: Results, other: Results) -> pd.DataFrame:
    """Return the decisions (and refusals) found in only one of the runs: year, agent, decision, detail, run."""
    a, b = _decision_keys(other), _decision_keys(res)
    both = a.merge(b, how="outer", indicator=True)
    both = both[both["_merge"] != "both"]
    both["run"] = both["_merge"].map({"left_only": "reference", "right_only": "this"}).astype(str)
    return both.drop(columns="_merge").sort_values(["year", "agent"]).reset_index(drop=True)


def differing_levers(res: Results, other: Results, year: int) -> pd.DataFrame:
    """Return the agents' levers whose mean over the year differs between the runs, and the first year they did."""
    pa = other.policy.groupby("year").mean(numeric_only=True).drop(columns=["step", "quarter"])
    pb = res.policy.groupby("year").mean(numeric_only=True).drop(columns=["step", "quarter"])
    pa, pb = pa.align(pb, join="inner")
    differ = ~np.isclose(pa.to_numpy(), pb.to_numpy(), rtol=1e-9, atol=1e-12, equal_nan=True)
    rows = []
    for j, lever in enumerate(pa.columns):
        years = pa.index[differ[:, j]]
        if len(years) and year in pa.index:
            rows.append((lever, int(years[0]), float(pa.at[year, lever]), float(pb.at[year, lever])))
    return pd.DataFrame(rows, columns=["lever", "first_year_differing", "reference", "this"])


@dataclass(frozen=True)
class Explanation:
    """What :meth:`Results.explain` found: tables, and a readable text (``str()``).

    Attributes
    ----------
    year : int
        The year explained.
    labels : tuple of str
        The names of the run and of the reference run.
    costs : pandas.DataFrame
        The cost parts by group and corridor in this run, with ``<part>_change`` columns:
        the change against the reference (zero when explaining a run on its own).
    attribution : pandas.DataFrame
        :func:`volume_attribution`, by corridor.
    shifts : pandas.DataFrame
        :func:`shifts_by_group`.
    binding : pandas.DataFrame
        The links that bound in the year in either run (:func:`binding_links`): quarters
        bound in this run, in the reference, in this whole run; this run's mean load ratio
        and queue (days) in the year.
    projects : pandas.DataFrame
        This run's project decisions up to the year (:func:`project_decisions`).
    decisions : pandas.DataFrame
        :func:`differing_decisions`.
    levers : pandas.DataFrame
        :func:`differing_levers`.
    """

    year: int
    labels: tuple[str, str]
    costs: pd.DataFrame
    attribution: pd.DataFrame
    shifts: pd.DataFrame
    binding: pd.DataFrame
    projects: pd.DataFrame
    decisions: pd.DataFrame
    levers: pd.DataFrame

    @property
    def same_run(self) -> bool:
        """Whether the run is explained on its own (against itself)."""
        return self.labels[0] == self.labels[1]

    def __str__(self) -> str:
        """Return the tables as text, each under a heading that says what it shows."""
        this, ref = self.labels
        against = "on its own" if self.same_run else f"against {ref}"
        kt = 1e3
        parts = [f"explain {this} {against}, {self.year}"]
        cost_cols = ["corridor", *[c for c in self.costs.columns if c.endswith("_usd_per_t")]]
        keys = [c for c in self.costs.columns if c not in (*cost_cols, "year", "demand_t", "served_t")]
        keys = [c for c in keys if not c.endswith("_change")]
        table = self.costs[[*keys, *cost_cols]].rename(columns=lambda c: c.removesuffix("_usd_per_t"))
        parts.append(
            _section("Generalised cost the shippers compare, USD/t (average tonne of each group)", table, 1)
        )
        if not self.same_run:
            change = self.costs[[*keys, "corridor", *[f"{c}_change" for c in (*COMPONENTS, "total")]]]
            parts.append(
                _section(
                    f"Change of each part against {ref}, USD/t",
                    change.rename(columns=lambda c: c.removesuffix("_change")),
                    1,
                )
            )
        att = (self.attribution / kt).rename(columns=lambda c: c.removesuffix("_t") + "_kt")
        parts.append(
            _section(
                "Served volume by corridor and the causes of its change, kt "
                "(demand + shift + to_sea + bans + capacity = change)",
                att.reset_index(),
                1,
            )
        )
        if not self.same_run:
            shifts = self.shifts.copy()
            num = shifts.select_dtypes("number").columns
            shifts[num] = shifts[num] / kt
            parts.append(_section("Shift between corridors by shipper group, kt", shifts.head(12), 1))
        parts.append(
            _section("Links whose hard capacity bound (quarters with a queue)", self.binding.head(15), 2)
        )
        projects = self.projects[self.projects["year"] <= self.year]
        funded = projects[projects["decision"] != "refuse"]
        refused = projects[projects["decision"] == "refuse"]
        parts.append(_section("Projects funded or delivered", funded, 0))
        if len(refused):
            last = refused.groupby(["agent", "detail"], sort=False).agg(
                years=("year", lambda y: f"{y.min()}-{y.max()}" if y.min() != y.max() else str(y.min()))
            )
            parts.append(_section("Project reviews that funded nothing, and why", last.reset_index(), 0))
        if not self.same_run:
            parts.append(
                _section(
                    f"Decisions found in only one run (this: {this}, reference: {ref})", self.decisions, 0
                )
            )
            parts.append(_section(f"Agents' levers that differ (means in {self.year})", self.levers, 3))
        return "\n\n".join(parts)


def _section(title: str, frame: pd.DataFrame, digits: int) -> str:
    if frame.empty:
        return f"{title}:\n  (none)"
    text = frame.to_string(
        index=False, float_format=lambda v: f"{round(v, digits) + 0.0:,.{digits}f}", na_rep="-"
    )
    return f"{title}:\n{text}"


def headline_change(res: Results, other: Results) -> float:
    """Return the largest relative change of a headline indicator (:meth:`Results.indicators`) between two runs.

    Each indicator is compared on its own scale: a per-corridor or per-country indicator by
    the largest magnitude among its entries in ``other`` (so that a corridor carrying almost
    nothing does not count as a large relative change), a single number by its own
    magnitude. Indicators missing or not finite in either run are skipped; years are not
    indicators.

    Returns
    -------
    float
        ``max |change| / scale`` (0.0 for two runs with the same indicators).
    """
    skip = {"first_year", "last_year", "middle_overtakes_russian_year"}
    worst = 0.0
    for name, ref in other.summary.items():
        if name in skip or name not in res.summary:
            continue
        new = res.summary[name]
        pairs = (
            [(ref.get(k), new.get(k)) for k in ref]
            if isinstance(ref, dict) and isinstance(new, dict)
            else [(ref, new)]
        )
        pairs = [(a, b) for a, b in pairs if isinstance(a, int | float) and isinstance(b, int | float)]
        pairs = [(float(a), float(b)) for a, b in pairs if np.isfinite(a) and np.isfinite(b)]
        if not pairs:
            continue
        scale = max(abs(a) for a, _ in pairs)
        change = max(abs(b - a) for a, b in pairs)
        if scale > 0:
            worst = max(worst, change / scale)
        elif change > 0:
            worst = max(worst, np.inf)
    if other.summary.get("middle_overtakes_russian_year") != res.summary.get("middle_overtakes_russian_year"):
        worst = max(worst, np.inf)
    return float(worst)


def explain(
    res: Results,
    other: Results | None = None,
    *,
    year: int | None = None,
    corridors: Sequence[str] | None = None,
    group: Mapping[str, str] | None = None,
    by: Sequence[str] = ("direction", "commodity"),
    labels: tuple[str, str] | None = None,
) -> Explanation:
    """Explain ``res`` against ``other`` (or on its own) in ``year``: see :class:`Explanation`.

    Parameters
    ----------
    res : Results
        The run to explain.
    other : Results, optional
        The reference run (default: ``res`` itself: why its corridors carry what they carry).
    year : int, optional
        The year (default: the last year of ``res``).
    corridors : sequence of str, optional
        The corridors of the cost table and of the binding links (default: all).
    group : mapping of str to str, optional
        Only the shippers with these attributes, e.g. ``{"commodity": "containers"}``.
    by : sequence of str
        The shipper attributes the cost table and the shifts are grouped by.
    labels : tuple of str, optional
        Names of the two runs (default: their scenarios).

    Returns
    -------
    Explanation

    Raises
    ------
    ValueError
        If a corridor is unknown, the year is outside either run, a group matches no
        shipper, or a run has no costs table (saved before format 4).
    """
    other = res if other is None else other
    if corridors is not None:
        bad = [c for c in corridors if c not in CORRIDORS]
        if bad:
            raise ValueError(f"corridor: {', '.join(bad)} is not one of {', '.join(CORRIDORS)}")
    last = int(res.corridors["year"].max())
    year = last if year is None else int(year)
    for r in (res, other):
        ys = r.corridors["year"]
        if not int(ys.min()) <= year <= int(ys.max()):
            raise ValueError(f"year: {year} is outside the run ({_years(r)})")
    if labels is None:
        labels = (str(res.meta.get("scenario", "this")), str(other.meta.get("scenario", "reference")))
        if other is res:
            labels = (labels[0], labels[0])
        elif labels[0] == labels[1]:
            labels = (labels[0], f"{labels[1]} (reference)")
    attribution = volume_attribution(res, other, year, group=group)
    this_costs = cost_breakdown(
        res.costs, res.meta["shippers"], by=by, corridors=corridors, years=[year], group=group
    )
    ref_costs = cost_breakdown(
        other.costs, other.meta["shippers"], by=by, corridors=corridors, years=[year], group=group
    )
    index = ["year", *by, "corridor"]
    merged = this_costs.merge(ref_costs, on=index, how="left", suffixes=("", "_ref"))
    for part in (*COMPONENTS, "total"):
        col = f"{part}_usd_per_t"
        merged[f"{part}_change"] = merged[col] - merged[f"{col}_ref"]
    costs = merged[[c for c in merged.columns if not c.endswith("_ref")]]
    # only the groups and corridors that carry or could carry freight
    costs = costs[costs["total_usd_per_t"].notna()].reset_index(drop=True)
    binding = _binding_pair(res, other, year, corridors)
    return Explanation(
        year=year,
        labels=labels,
        costs=costs,
        attribution=attribution,
        shifts=shifts_by_group(res, other, year, by=by, group=group),
        binding=binding,
        projects=project_decisions(res),
        decisions=differing_decisions(res, other),
        levers=differing_levers(res, other, year),
    )
