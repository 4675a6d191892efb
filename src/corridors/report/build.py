"""Build the report: one self-contained HTML page from run or ensemble directories and analyses.

:func:`build_report` reads the directories (:func:`corridors.report.sources.open_items`),
draws the figures (:mod:`corridors.report.figures`, and :mod:`~corridors.report.analysis_figures`
for the discovery, criticality and robust directories), computes the tables
(:mod:`corridors.report.tables`, :mod:`~corridors.report.analysis_tables`) and fills the
jinja2 template ``templates/report.html.j2``.
plotly.js is embedded once in the page's head, each figure's data beside it, the matplotlib
maps as SVG ``data:`` URIs: the page opens offline and requests nothing.
:func:`write_report` checks ``out`` first, then writes the page atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from corridors._version import __version__
from corridors.atomic import write_bytes_atomic
from corridors.errors import CorridorsError
from corridors.experiments.robust import NOTHING
from corridors.history import load_history
from corridors.network import packaged_network
from corridors.plots.criticality import criticality_map
from corridors.plots.discovery import box_limits_plot
from corridors.plots.maps import flow_map
from corridors.plots.series import bottleneck_plot
from corridors.report import analysis_figures, analysis_tables, figures, tables
from corridors.report.analyses import Analysis
from corridors.report.sources import ReportItem, open_items, report_years

__all__ = ["build_report", "check_out", "write_report"]

_TEMPLATE = "report.html.j2"


class _Figures:
    """Numbers the figures' divs, so that the same report gives the same page."""

    def __init__(self) -> None:
        self.n = 0

    def html(self, fig) -> str:
        self.n += 1
        return pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=False,
            div_id=f"figure-{self.n}",
            config={"displaylogo": False, "responsive": True},
        )


def _table_html(frame: pd.DataFrame, decimals: int = 2) -> str:
    """Write a table as HTML (text escaped), numbers with thousands separators; '(none)' if empty."""
    if frame.empty:
        return '<p class="none">(none)</p>'
    text = frame.to_html(
        index=False,
        classes="data",
        border=0,
        na_rep="-",
        float_format=lambda v: f"{round(v, decimals) + 0.0:,.{decimals}f}",
        justify="left",
    )
    # a claim's result stands out (the claims table's last column)
    return text.replace("<td>FAILED</td>", '<td class="failed">FAILED</td>').replace(
        "<td>held</td>", '<td class="held">held</td>'
    )


def _provenance(item: ReportItem) -> list[tuple[str, str]]:
    """Where the directory came from, as (what, value) rows: version, revision, seed, period, inputs."""
    m, meta = item.manifest, item.results.meta
    rows = [
        ("directory", str(item.path.resolve())),
        ("kind", item.kind if item.kind == "run" else f"{meta.get('kind', 'ensemble')} of {meta.get('runs')} runs"),
        ("scenario", item.scenario_name),
        ("scenario file", str(m.get("scenario_file", "not recorded"))),
        ("seed", str(item.seed) if item.seed is not None else "none"),
        ("stochastic", str(meta.get("stochastic", m.get("stochastic", "not recorded")))),
        ("years", f"{item.years()[0]}-{item.years()[-1]}"),
        ("overrides", ", ".join(f"{k}={v}" for k, v in (m.get("overrides") or {}).items()) or "none"),
        ("corridors version", str(m.get("corridors_version", "not recorded"))),
        ("git revision", str(m.get("git_revision") or "not recorded")),
        ("created (UTC)", str(m.get("created_utc", "not recorded"))),
        ("python, platform", f"{m.get('python', '?')}, {m.get('platform', '?')}" if "python" in m else "not recorded"),
    ]  # fmt: skip
    if m.get("ignored_events"):
        rows.append(("events after the end (ignored)", str(len(m["ignored_events"]))))
    return rows


def _scenario_text(item: ReportItem) -> dict[str, str]:
    sc = item.scenario
    if sc is None:
        return {"title": item.scenario_name, "description": [], "article": []}
    return {
        "title": sc.title or sc.name,
        "description": _paragraphs(sc.description),
        "article": _paragraphs(sc.article),
    }


def _paragraphs(text: str | None) -> list[str]:
    """Split a TOML text block into paragraphs: blank lines or a new ``para. N`` start one; lines join."""
    paragraphs: list[list[str]] = [[]]
    for line in (text or "").strip().splitlines():
        line = line.strip()
        if not line or (line.startswith("para.") and paragraphs[-1]):
            paragraphs.append([])
        if line:
            paragraphs[-1].append(line)
    return [" ".join(p) for p in paragraphs if p]


def _run_section(
    item: ReportItem,
    reference: ReportItem,
    year: int,
    figs: _Figures,
    items: list[ReportItem],
    *,
    run_baseline: bool,
    on_progress: Callable[[str], None],
) -> dict[str, Any]:
    """One run's part of the page: scenario, provenance, shares, Sankey, maps, explain, claims."""
    res = item.results
    net = packaged_network()
    on_progress(f"drawing {item.label}")
    section: dict[str, Any] = {
        "shares": figs.html(figures.shares_figure(res)),
        "sankey": figs.html(figures.sankey_figure(res, year)),
        "flow_map": figures.svg_data_uri(flow_map(res, net, year)),
        "bottlenecks": figures.svg_data_uri(bottleneck_plot(res, net)),
    }
    on_progress(f"explaining {item.label}")
    try:
        what, found = tables.explain_tables(item, reference, year)
    except ValueError as exc:  # a run saved before results format 4 has no costs table
        section["explain"] = {"what": f"not available: {exc}", "tables": []}
    else:
        section["explain"] = {
            "what": what,
            "tables": [{"heading": t.heading, "html": _table_html(t.table, t.decimals)} for t in found],
        }
    section["claims"] = _claims(item, items, run_baseline=run_baseline, on_progress=on_progress)
    return section


def _claims(item, items, *, run_baseline: bool, on_progress) -> dict[str, Any]:
    found = tables.claims(item, items, run_baseline=run_baseline, on_baseline=on_progress)
    return {
        "note": found.note,
        "html": None if found.table is None else _table_html(found.table),
        "failed": found.table is not None and found.held < len(found.table),
    }


def _discovery_section(item: Analysis, figs: _Figures) -> dict[str, Any]:
    """Fill a discovery's part of the page: the condition, the chosen box, its limits, the trajectory."""
    where = str(item.meta["where"])
    trajectory, limits = item.tables["trajectory"], item.tables["box_limits"]
    chosen = trajectory[trajectory["chosen"].astype(bool)].iloc[0]
    box = {k: float(chosen[k]) for k in ("coverage", "density", "mass")}
    return {
        "title": f"Scenario discovery: {where}",
        "rows": [("directory", str(item.path.resolve())), *analysis_tables.box_rows(item)],
        "limits": _table_html(analysis_tables.limits_table(limits)),
        "trajectory": figs.html(analysis_figures.trajectory_figure(trajectory, where)),
        "box_limits": figures.svg_data_uri(box_limits_plot(limits, box, title=where)),
    }


def _criticality_section(item: Analysis, figs: _Figures) -> dict[str, Any]:
    """Fill a criticality analysis' part of the page: what was closed, the ranked links, bars and map."""
    m, table = item.meta, item.tables["criticality"]
    top = analysis_tables.TOP_LINKS
    a, b = m["closure"]
    return {
        "title": f"Chokepoint criticality: {m['scenario']}, each link closed {a}-{b}",
        "rows": analysis_tables.criticality_rows(item),
        "shown": min(top, len(table)),
        "links": len(table),
        "ranked": _table_html(analysis_tables.ranked_links(table, top), decimals=1),
        "bars": figs.html(analysis_figures.criticality_figure(table, top=top)),
        "map": figures.svg_data_uri(criticality_map(table, packaged_network(), m)),
    }


def _robust_section(item: Analysis, figs: _Figures) -> dict[str, Any]:
    """Fill a robust analysis' part of the page: the futures, the choices, net benefit and regret."""
    m = item.meta
    net, regret = analysis_tables.robust_tables(item)
    summary = item.tables["summary"].set_index("candidate")
    choices = {"minimax_regret": str(m["minimax_regret"]), "best_expected": str(m["best_expected"])}
    benefits = item.tables["benefits"]
    detail = pd.DataFrame(
        {
            "candidate": benefits["candidate"],
            "future": benefits["future"],
            "cost (USD m)": benefits.get("cost_usd_m"),
            "benefit in the run (USD m)": benefits.get("benefit_in_run_usd_m"),
            "benefit after it (USD m)": benefits.get("benefit_after_run_usd_m"),
            "net benefit (USD m)": benefits["net_benefit_usd_m"],
            "Russian share change (points)": 100 * benefits.get("russian_share_change", float("nan")),
        }
    )
    candidates = len(net) - (NOTHING in set(net["candidate"]))
    futures = len(m["futures"])
    return {
        "title": f"Robust investments: {_count(candidates, 'candidate')} against {_count(futures, 'future')}",
        "rows": analysis_tables.robust_rows(item),
        "minimax": choices["minimax_regret"],
        "minimax_regret": float(summary.loc[choices["minimax_regret"], "max_regret_usd_m"]),
        "best": choices["best_expected"],
        "best_expected": float(summary.loc[choices["best_expected"], "expected_net_usd_m"]),
        "net": _table_html(net, decimals=1),
        "regret": _table_html(regret, decimals=1),
        "detail": _table_html(detail, decimals=2),
        "heatmap": figs.html(
            analysis_figures.net_benefit_figure(net.set_index("candidate").drop(columns="expected"), choices)
        ),
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


_SECTIONS = {"discovery": _discovery_section, "criticality": _criticality_section, "robust": _robust_section}
_NAMES = {"discovery": "Discovery", "criticality": "Criticality", "robust": "Robust investments"}
"""How the navigation bar and the title of a page of analyses only name each kind."""


def _analyses(analyses: list[Analysis], figs: _Figures, on_progress: Callable[[str], None]) -> list[dict]:
    """Fill the analyses' sections, in the order given."""
    out = []
    for i, item in enumerate(analyses, 1):
        on_progress(f"drawing the {item.kind} analysis {item.path.name}")
        entry = {
            "anchor": f"analysis-{i}",
            "kind": item.kind,
            "nav": f"{_NAMES[item.kind]} ({item.path.name})",
        }
        out.append(entry | {"notes": item.notes} | _SECTIONS[item.kind](item, figs))
    return out


def build_report(
    paths: list[Path],
    *,
    year: int | None = None,
    run_baseline: bool = True,
    on_progress: Callable[[str], None] | None = None,
) -> str:
    """Build the HTML report of run or ensemble directories, and of analyses.

    Parameters
    ----------
    paths : list of Path
        Run directories (one, or several to compare) or ensemble directories, not both;
        beside them or alone, the output directories of ``corridors discover``,
        ``criticality`` and ``robust``, each drawn in a section of its own from its saved
        tables.
    year : int, optional
        The year of the Sankey, the flow map, the headline and ``explain`` tables (default
        2030 when every run or ensemble reports it, else their last shared year).
    run_baseline : bool
        Whether the baseline may be run now to check a run's claims when no baseline run
        with its seed, period and mode is given.
    on_progress : callable, optional
        Called with a short description of each step.

    Returns
    -------
    str
        The page: self-contained HTML (plotly.js inline, no external resource).

    Raises
    ------
    CorridorsError
        If a path is none of these kinds of directory, runs and ensembles are mixed, or
        ``year`` is not a year of every run or ensemble (or is given without any).
    """
    progress = on_progress or (lambda _: None)
    items, analyses = open_items(paths)
    figs = _Figures()
    context: dict[str, Any] = {
        "plotly_js": get_plotlyjs(),
        "version": __version__,
        "runs": bool(items),
        "ensembles": bool(items) and items[0].kind == "ensemble",
        "items": [],
        "analyses": [],
    }
    if items:
        context |= _runs_context(items, year, figs, run_baseline=run_baseline, on_progress=progress)
    elif year is not None:
        raise CorridorsError(
            None, "--year", "chooses the year of runs or ensembles, and none is given (analyses have no year)"
        )
    context["analyses"] = _analyses(analyses, figs, progress)
    if not items:
        found = context["analyses"]
        context["title"] = (
            found[0]["title"]
            if len(found) == 1
            else "Analyses: " + ", ".join(a["nav"].lower() for a in found)
        )
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("corridors.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(_TEMPLATE).render(**context)


def _runs_context(
    items: list[ReportItem],
    year: int | None,
    figs: _Figures,
    *,
    run_baseline: bool,
    on_progress: Callable[[str], None],
) -> dict[str, Any]:
    """Fill the runs' or ensembles' part of the page: headline, volumes or fans, history, one section each."""
    year, shared = report_years(items, year)
    history = load_history()
    reference = tables.reference_of(items)
    labels = [it.label for it in items]
    ensembles = items[0].kind == "ensemble"
    on_progress("drawing the figures across the runs")
    context: dict[str, Any] = {
        "year": year,
        "shared": f"{shared[0]}-{shared[-1]}",
        "reference": reference.label if len(items) > 1 else None,
        "title": (
            _scenario_text(items[0])["title"]
            if len(items) == 1
            else "Comparison: " + ", ".join(it.scenario_name for it in items)
        ),
        "history": figs.html(figures.history_figure([it.results for it in items], labels, history)),
    }
    if ensembles:
        context["headline"] = _table_html(tables.ensemble_headlines(items, year))
        context["fan"] = figs.html(figures.fan_figure([it.results for it in items], labels))
        context["volumes"] = None
    else:
        context["headline"] = _table_html(tables.run_headlines(items, year))
        context["volumes"] = figs.html(figures.volumes_figure([it.results for it in items], labels))
        context["fan"] = None
    context["items"] = []
    for i, item in enumerate(items):
        entry: dict[str, Any] = {
            "anchor": f"item-{i + 1}",
            "label": item.label,
            "kind": item.kind,
            "scenario": _scenario_text(item),
            "provenance": _provenance(item),
            "inputs": sorted((item.manifest.get("input_sha256") or {}).items()),
            "notes": item.notes,
        }
        if item.kind == "run":
            entry |= _run_section(
                item, reference, year, figs, items, run_baseline=run_baseline, on_progress=on_progress
            )
        else:
            entry["claims"] = _claims(item, items, run_baseline=run_baseline, on_progress=on_progress)
        context["items"].append(entry)
    return context


def check_out(out: Path) -> None:
    """Check that the report can be written to ``out`` before any work is done.

    Raises
    ------
    CorridorsError
        If ``out`` does not end in ``.html``, is a directory, or its folder (or the
        nearest existing folder above it) cannot be written.
    """
    if out.suffix.lower() not in (".html", ".htm"):
        raise CorridorsError(out, "--out", "must end in .html")
    if out.is_dir():
        raise CorridorsError(out, "--out", "is a directory; name the HTML file to write")
    folder = out.parent if str(out.parent) else Path(".")
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise CorridorsError(out, "--out", f"{folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CorridorsError(out, "--out", f"cannot write to {folder} (permission denied)")


def write_report(
    paths: list[Path],
    out: str | Path,
    *,
    year: int | None = None,
    run_baseline: bool = True,
    on_progress: Callable[[str], None] | None = None,
) -> Path:
    """Build the report (:func:`build_report`) and write it to ``out`` atomically.

    Parameters
    ----------
    paths : list of Path
        Run directories or ensemble directories, and discovery, criticality or robust
        directories (see :func:`build_report`).
    out : str or Path
        The HTML file to write (replaced if it exists).
    year, run_baseline, on_progress
        As for :func:`build_report`.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    CorridorsError
        Bad input (see :func:`build_report` and :func:`check_out`); nothing is written.

    Examples
    --------
    >>> from corridors.report import write_report
    >>> write_report([Path("results/baseline-7")], "results/baseline-7.html")  # doctest: +SKIP
    """
    out = Path(out)
    check_out(out)
    page = build_report(paths, year=year, run_baseline=run_baseline, on_progress=on_progress)
    try:
        write_bytes_atomic(out, page.encode("utf-8"))
    except OSError as exc:
        raise CorridorsError(out, "--out", f"cannot be written ({exc.strerror or exc})") from None
    return out
