"""The report's tables: the headline table across the runs, the ``explain`` tables and the claims.

Each function returns pandas tables (or the reason there is none) computed by the package's
own functions: :func:`corridors.results.measure` for the headline indicators
(:data:`corridors.experiments.scenario_table.HEADLINES`), :meth:`Results.explain
<corridors.results.Results.explain>` for why a run carries what it carries, and
:func:`corridors.experiments.effects.claim_rows` for a scenario's ``[[expect]]`` claims
against the baseline of the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from corridors.experiments import runs
from corridors.experiments.effects import EffectRuns, baseline_scenario, claim_rows, format_test, format_value
from corridors.experiments.runs import manifest_inputs
from corridors.experiments.scenario_table import HEADLINES
from corridors.report.sources import ReportItem
from corridors.results import EnsembleResults, Results, measure
from corridors.vocabulary import CORRIDORS

__all__ = ["Claims", "claims", "ensemble_headlines", "explain_tables", "reference_of", "run_headlines"]


def reference_of(items: list[ReportItem]) -> ReportItem:
    """Return the item the others are compared with: the baseline if one is given, else the first."""
    return next((it for it in items if it.scenario_name == "baseline"), items[0])


def _cell(value: float, base: float | None, decimals: int) -> str:
    if math.isnan(value):
        return "n/a"
    text = f"{value:,.{decimals}f}"
    if base is None or math.isnan(base):
        return text
    return f"{text} ({value - base:+,.{decimals}f})"


def run_headlines(items: list[ReportItem], year: int) -> pd.DataFrame:
    """Return the headline indicators of each run in ``year``, with the change against the reference.

    Parameters
    ----------
    items : list of ReportItem
        Runs.
    year : int
        The year of the indicators.

    Returns
    -------
    pandas.DataFrame
        One row per run: its name, then each indicator of ``HEADLINES`` as text, the
        value and, in brackets, its change against :func:`reference_of` (none on the
        reference's own row), and the year the Middle Corridor first carried more than the
        Russian route.
    """
    ref = reference_of(items)

    def values(res: Results) -> dict[str, float]:
        out = {}
        for heading, name, qualifiers, factor, _ in HEADLINES:
            out[heading] = float(measure(res, name, **qualifiers).get(year, math.nan)) * factor
        return out

    base = values(ref.results)
    rows = []
    for it in items:
        own = base if it is ref else values(it.results)
        row = {"run": it.label + (" (reference)" if it is ref and len(items) > 1 else "")}
        for heading, *_, decimals in HEADLINES:
            row[heading] = _cell(own[heading], None if it is ref else base[heading], decimals)
        passed = it.results.summary.get("middle_overtakes_russian_year")
        row["Middle passes Russian"] = str(passed) if passed else f"not by {it.years()[-1]}"
        rows.append(row)
    return pd.DataFrame(rows)


def ensemble_headlines(items: list[ReportItem], year: int) -> pd.DataFrame:
    """Each ensemble's freight by corridor in ``year``: median and the range of 90% of the runs.

    Parameters
    ----------
    items : list of ReportItem
        Ensembles.
    year : int
        The year.

    Returns
    -------
    pandas.DataFrame
        One row per ensemble: its name and kind, its number of runs, per corridor that
        carries anything ``median [5%-95%]`` in Mt/yr, and the share of runs in which the
        Middle Corridor has carried more than the Russian route by ``year``.
    """
    rows = []
    for it in items:
        ens: EnsembleResults = it.results  # type: ignore[assignment]
        q = ens.quantiles("volume_t")
        q = q[q["year"] == year].set_index("corridor")
        row = {"ensemble": it.label, "kind": ens.meta.get("kind", "ensemble"), "runs": ens.runs}
        for c in CORRIDORS:
            if c in q.index and q.loc[c, "q0.95"] > 0:
                r = q.loc[c] / 1e6
                row[f"{c} Mt/yr"] = f"{r['q0.5']:,.2f} [{r['q0.05']:,.2f}-{r['q0.95']:,.2f}]"
        p = ens.exceedance("middle", "russian").set_index("year")["p_overtaken_by"]
        row["P(Middle has passed Russian)"] = f"{float(p.get(year, math.nan)):.0%}"
        rows.append(row)
    return pd.DataFrame(rows).fillna("-")


# (attribute of the Explanation, heading, divisor, suffix of the number columns, decimals)
_EXPLAIN = (
    ("costs", "Generalised cost the shippers compare, USD/t (average tonne of each group; freight in kt)", 1e3, "", 1),
    ("changes", "Change of each part of the cost against the reference, USD/t", 1.0, "", 1),
    ("attribution", "Served volume by corridor and the causes of its change, kt (demand + shift + to_sea + bans + capacity = change)", 1e3, "", 1),
    ("shifts", "Shift between corridors by shipper group, kt", 1e3, "", 1),
    ("binding", "Links whose hard capacity bound (quarters with a queue)", 1.0, "", 2),
    ("projects", "Projects funded or delivered, and reviews that funded nothing", 1.0, "", 0),
    ("decisions", "Decisions found in only one of the two runs", 1.0, "", 0),
    ("levers", "Agents' levers that differ (means in the year)", 1.0, "", 3),
)  # fmt: skip


@dataclass(frozen=True)
class ExplainTable:
    """One table of an explanation: its heading, the table and the decimals to show."""

    heading: str
    table: pd.DataFrame
    decimals: int


def explain_tables(item: ReportItem, reference: ReportItem, year: int) -> tuple[str, list[ExplainTable]]:
    """Return the ``corridors explain`` tables of a run in ``year``, against the reference (or alone).

    Parameters
    ----------
    item : ReportItem
        A run.
    reference : ReportItem
        The run it is explained against (``item`` itself: why its corridors carry what
        they carry).
    year : int
        The year.

    Returns
    -------
    tuple of (str, list of ExplainTable)
        What is explained against what, and the tables (numbers in the heading's unit).

    Raises
    ------
    ValueError
        If a run has no costs table (saved before results format 4).
    """
    alone = item is reference
    found = item.results.explain(None if alone else reference.results, year=year)
    what = f"{item.label} on its own" if alone else f"{item.label} against {reference.label}"
    out = []
    for name, heading, div, _, decimals in _EXPLAIN:
        if alone and name in ("changes", "shifts", "decisions", "levers"):
            continue
        table = found.costs if name == "changes" else getattr(found, name)
        if name == "costs":
            keep = [c for c in table.columns if c != "year" and not c.endswith("_change")]
            table = table[keep].rename(columns=lambda c: c.removesuffix("_usd_per_t")).copy()
            table[["demand_t", "served_t"]] = table[["demand_t", "served_t"]] / div
            table = table.rename(columns={"demand_t": "demand_kt", "served_t": "served_kt"})
        elif name == "changes":
            keys = [
                c for c in table.columns if not c.endswith(("_usd_per_t", "_change", "_t")) and c != "year"
            ]
            table = table[[*keys, *[c for c in table.columns if c.endswith("_change")]]]
            table = table.rename(columns=lambda c: c.removesuffix("_change"))
        elif name == "attribution":
            table = (table / div).rename(columns=lambda c: c.removesuffix("_t") + "_kt").reset_index()
        elif name == "shifts":
            table = table.copy()
            num = table.select_dtypes("number").columns
            table[num] = table[num] / div
        elif name == "projects":
            table = table[table["year"] <= year]
        out.append(ExplainTable(heading, table, decimals))
    return what, out


@dataclass(frozen=True)
class Claims:
    """A run's ``[[expect]]`` claims and whether they held, or why they were not evaluated.

    Parameters
    ----------
    label : str
        The run.
    table : pandas.DataFrame or None
        One row per claim (readable text columns), ``None`` if not evaluated.
    note : str
        How they were evaluated (the baseline used), or why not.
    held : int
        How many held.
    """

    label: str
    table: pd.DataFrame | None
    note: str
    held: int = 0


def _readable(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for r in rows.itertuples():
        out.append(
            {
                "claim": r.claim,
                "measure": r.observable + (f" ({r.qualifiers})" if r.qualifiers else ""),
                "year": r.years if r.years == str(r.year) else f"{r.years} (reported: {r.year})",
                "scenario": format_value(r.scenario_value, r.unit),
                "baseline": format_value(r.baseline_value, r.unit),
                "test": format_test(r.test, r.bound, r.ratio, r.change, r.scenario_value),
                "result": "held" if r.held else "FAILED",
            }
        )
    return pd.DataFrame(out)


def _same_inputs(item: ReportItem) -> str | None:
    """Why a baseline run now would not match the run's inputs (``None``: it would)."""
    recorded = item.manifest.get("input_sha256")
    if not recorded:
        return "its manifest records no input hashes"
    now = manifest_inputs()
    changed = sorted(k for k, v in recorded.items() if k.startswith("data/") and now.get(k) != v)
    if changed:
        return f"the packaged data changed since it ran ({', '.join(changed)})"
    return None


def claims(
    item: ReportItem,
    items: list[ReportItem],
    *,
    run_baseline: bool = True,
    on_baseline: Callable[[str], None] | None = None,
) -> Claims:
    """Check a run's ``[[expect]]`` claims against the baseline run with the same seed, period and mode.

    The baseline is a given run of the baseline scenario with the same seed, period and
    stochastic mode; failing that (and if ``run_baseline``) the baseline run now, when
    the packaged data are those the run recorded in its manifest.

    Parameters
    ----------
    item : ReportItem
        A run or an ensemble (ensembles are not evaluated: claims compare single runs).
    items : list of ReportItem
        Every item of the report (where a baseline run may be).
    run_baseline : bool
        Whether the baseline may be run now.
    on_baseline : callable, optional
        Called with a description before the baseline runs (progress).

    Returns
    -------
    Claims
    """
    sc = item.scenario
    if item.kind == "ensemble":
        name = item.scenario_name
        return Claims(
            item.label,
            None,
            "not evaluated: claims compare one run with the baseline run of the same seed; "
            f"check them with `corridors validate --effects {name}`",
        )
    if sc is None:
        return Claims(item.label, None, "not evaluated: the run directory has no readable scenario.toml")
    if not sc.expect:
        return Claims(item.label, None, "the scenario makes no claims ([[expect]])")
    res: Results = item.results  # type: ignore[assignment]
    seed = item.seed
    stochastic = bool(res.meta.get("stochastic", True))
    period = (sc.period.end_year, sc.period.report_from)
    mode = "stochastic" if stochastic else "deterministic"
    given = next(
        (
            it
            for it in items
            if it is not item
            and it.kind == "run"
            and it.scenario_name == "baseline"
            and it.seed == seed
            and bool(it.results.meta.get("stochastic", True)) == stochastic
            and it.scenario is not None
            and (it.scenario.period.end_year, it.scenario.period.report_from) == period
        ),
        None,
    )
    if given is not None:
        baseline = given.results
        how = f"against the baseline run given ({given.path}; seed {seed}, {mode})"
    else:
        why_not = "it may not be run now (--no-run-baseline)" if not run_baseline else _same_inputs(item)
        if why_not is not None:
            return Claims(
                item.label,
                None,
                f"not evaluated: no baseline run with seed {seed}, the same period and {mode} mode "
                f"was given, and {why_not}",
            )
        base_sc = baseline_scenario(sc)
        if on_baseline is not None:
            on_baseline(f"running the baseline (seed {seed}) for {item.label}'s claims")
        baseline = runs.run(base_sc, seed=seed, stochastic=stochastic)
        how = f"against the baseline run now with the same seed ({seed}), period and {mode} mode"
    rows = claim_rows(EffectRuns(sc, res, baseline, seed if seed is not None else 0, stochastic))
    held = int(rows["held"].sum())
    return Claims(item.label, _readable(rows), f"{held} of {len(rows)} claims held, {how}", held)
