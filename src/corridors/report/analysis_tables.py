"""The report's tables of the analyses, in readable units, from their saved tables.

- :func:`box_rows` and :func:`limits_table`: a discovery's chosen box and its limits with
  their quasi-p-values;
- :func:`criticality_rows` and :func:`ranked_links`: what a criticality analysis closed,
  and its most critical links in M USD and kt;
- :func:`robust_tables`: the net benefits and the regrets, candidates x futures, as
  :class:`~corridors.experiments.robust.RobustResults` and
  :mod:`~corridors.experiments.regret` compute them.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from corridors.experiments.regret import regret_table
from corridors.experiments.robust import RobustResults
from corridors.report.analyses import Analysis
from corridors.vocabulary import CORRIDORS

__all__ = ["box_rows", "criticality_rows", "limits_table", "ranked_links", "robust_rows", "robust_tables"]

TOP_LINKS = 15
"""The most critical links a report lists and draws."""


def _g(value: float, digits: int = 4) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}g}"


def box_rows(item: Analysis) -> list[tuple[str, str]]:
    """Return the condition, the runs and the chosen box of a discovery, as (what, value) rows."""
    m = item.meta
    chosen = item.tables["trajectory"].loc[lambda t: t["chosen"].astype(bool)].iloc[0]
    restricted = item.tables["box_limits"].loc[lambda t: t["restricted"].astype(bool), "input"]
    prim = m.get("prim") or {}
    return [
        ("condition", str(m["where"])),
        ("runs", f"{m.get('runs', '?')}, of which the condition holds in {m.get('cases', '?')} (the cases)"),
        ("inputs", ", ".join(m.get("inputs") or []) or "not recorded"),
        ("chosen box", f"box {int(chosen['box'])} of {len(item.tables['trajectory'])} on the trajectory"),
        ("coverage", f"{chosen['coverage']:.3f} (share of the cases inside the box)"),
        ("density", f"{chosen['density']:.3f} (share of the box's runs that are cases)"),
        ("mass", f"{chosen['mass']:.3f} (share of all runs inside the box)"),
        ("inputs restricted", ", ".join(restricted) or "none"),
        ("rule", str(m["rule"])),
        ("PRIM", ", ".join(f"{k} {v}" for k, v in prim.items()) or "not recorded"),
    ]


def limits_table(limits: pd.DataFrame) -> pd.DataFrame:
    """Return the chosen box's limits: restricted inputs first, limits and quasi-p-values as text.

    Parameters
    ----------
    limits : pandas.DataFrame
        ``box_limits.parquet`` of a discovery.

    Returns
    -------
    pandas.DataFrame
        One row per input: the box, the sampled range, whether restricted, the quasi-p-value
        of each restricted side ("-" for a side not restricted).
    """
    rows = limits.sort_values("restricted", ascending=False, kind="stable")
    return pd.DataFrame(
        {
            "input": rows["input"],
            "restricted": ["yes" if r else "no" for r in rows["restricted"]],
            "box lower": [_g(v) for v in rows["lower"]],
            "box upper": [_g(v) for v in rows["upper"]],
            "sampled min": [_g(v) for v in rows["sampled_min"]],
            "sampled max": [_g(v) for v in rows["sampled_max"]],
            "quasi-p lower": [_g(v, 2) for v in rows.get("qp_lower", pd.Series(math.nan, index=rows.index))],
            "quasi-p upper": [_g(v, 2) for v in rows.get("qp_upper", pd.Series(math.nan, index=rows.index))],
        }
    )


def criticality_rows(item: Analysis) -> list[tuple[str, str]]:
    """Return what a criticality analysis ran: scenario, seed, mode, closure, links, provenance."""
    m = item.meta
    closure = m["closure"]
    links = m.get("links") or []
    return [
        ("directory", str(item.path.resolve())),
        ("scenario", str(m["scenario"])),
        ("scenario file", str(m.get("scenario_file", "not recorded"))),
        ("overrides", ", ".join(f"{k}={v}" for k, v in (m.get("overrides") or {}).items()) or "none"),
        ("seed", str(m.get("seed"))),
        ("mode", "stochastic" if m.get("stochastic") else "deterministic"),
        ("closure (the window)", f"{closure[0]}-{closure[1]}, each link closed alone; runs end in {m.get('end_year')}"),
        ("links closed", f"{len(links)}" + (f" ({len(item.tables['criticality'])} ranked)" if links else "")),
        ("patience (days)", str(m.get("patience_days", "not recorded"))),
        ("runs", f"{m.get('runs', '?')} (one per link and the reference without a closure)"),
        ("corridors version", str(m.get("corridors_version", "not recorded"))),
        ("git revision", str(m.get("git_revision") or "not recorded")),
        ("created (UTC)", str(m.get("created_utc", "not recorded"))),
    ]  # fmt: skip


def ranked_links(table: pd.DataFrame, top: int = TOP_LINKS) -> pd.DataFrame:
    """Return the ``top`` most critical links in M USD and kt, with the corridors whose volume moved.

    Parameters
    ----------
    table : pandas.DataFrame
        ``criticality.parquet`` (ranked).
    top : int
        How many links.

    Returns
    -------
    pandas.DataFrame
        rank, link, corridor, mode, controller, the extra cost and its two parts (M USD), the
        freight not delivered and rerouted (kt), and each corridor's volume change (kt) for
        the corridors that any of these closures moves.
    """
    t = table.sort_values("rank").head(top)
    out = pd.DataFrame(
        {
            "rank": t["rank"].astype(int),
            "link": t["link"],
            "corridor": t["corridor"],
            "mode": t.get("mode", "-"),
            "controller": t.get("controller", "-"),
            "extra cost (M USD)": t["extra_cost_usd"] / 1e6,
            "of which delivered (M USD)": t.get("delivered_cost_usd", math.nan) / 1e6,
            "of which not delivered (M USD)": t.get("not_delivered_cost_usd", math.nan) / 1e6,
            "not delivered (kt)": t["not_delivered_t"] / 1e3,
            "rerouted (kt)": t.get("rerouted_t", math.nan) / 1e3,
        }
    )
    for c in CORRIDORS:
        column = f"{c}_volume_change_t"
        if column in t.columns and (t[column].abs() >= 500).any():  # half a kt: shown as 0.5 or more
            out[f"{c.replace('_', '-')} volume (kt)"] = t[column] / 1e3
    return out.reset_index(drop=True)


def robust_tables(item: Analysis) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the net benefits and regrets (USD m), candidates x futures, with their summaries.

    Parameters
    ----------
    item : Analysis
        A robust directory.

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.DataFrame)
        The net benefits (``nothing`` included if it was a choice) with each candidate's
        expected net benefit; the regrets with each candidate's worst regret and where.
    """
    summary = item.tables["summary"].set_index("candidate")
    res = RobustResults(item.tables["benefits"], summary, item.tables["annual"], item.meta)
    net = res.net()
    regret = regret_table(net)
    net_out = net.copy()
    net_out["expected"] = summary["expected_net_usd_m"].reindex(net.index)
    regret_out = regret.copy()
    regret_out["worst regret"] = summary["max_regret_usd_m"].reindex(net.index)
    regret_out["worst future"] = summary["worst_future"].reindex(net.index)
    # the futures' columns carry no header of their own ("future" would head the candidates)
    return (
        net_out.rename_axis(index="candidate", columns=None).reset_index(),
        regret_out.rename_axis(index="candidate", columns=None).reset_index(),
    )


def robust_rows(item: Analysis) -> list[tuple[str, str]]:
    """Return what a robust analysis compared: futures, weights, candidates and their costs, mode."""
    m: dict[str, Any] = item.meta
    weights = m.get("weights") or {}
    futures = []
    for f in m["futures"]:
        scenario = (m.get("future_scenarios") or {}).get(f, f)
        values = (m.get("future_values") or {}).get(f)
        seed = (m.get("seeds") or {}).get(f)
        text = f"{f} (scenario {scenario}, seed {seed}, weight {weights.get(f, math.nan):.3g}"
        futures.append(
            text + (", " + ", ".join(f"{k}={_g(v)}" for k, v in values.items()) if values else "") + ")"
        )
    candidates = [
        f"{name} ({c.get('cost_usd_m', math.nan):,.1f} USD m from {c.get('start', '?')})"
        for name, c in (m.get("candidates") or {}).items()
    ]
    return [
        ("directory", str(item.path.resolve())),
        ("candidates", "; ".join(candidates) or "not recorded"),
        ("doing nothing", "a choice (net benefit 0)" if m.get("include_nothing", True) else "not a choice"),
        ("futures", "; ".join(futures)),
        ("last year", str(m.get("end_year") or "each future's own")),
        ("mode", "stochastic" if m.get("stochastic") else "deterministic"),
        ("runs", str(m.get("runs", "?"))),
    ]
