"""Tests of ``corridors report``: the page's content, its bad input, and the page in headless Chromium.

The runs are real (``corridors run`` to 2021, and a three-replicate ensemble), and so are the
analyses (``discover`` on the discovery tests' synthetic runs, ``criticality`` of two links
closed in 2020, ``robust`` of one candidate in one future to 2020, by their Python APIs);
the report is made by the command and opened in Debian's ``chromium`` through the DevTools
protocol, which reports every request the page makes and every console error. CI installs chromium
(``.ci/run``); the browser tests are skipped, saying why, only where it is absent.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from corridors.cli import app
from corridors.events import Investment
from corridors.experiments import robust as grid
from corridors.experiments.criticality import criticality
from corridors.experiments.discovery import discover, write_discovery
from corridors.scenario import scenario_dir
from test_discover import synthetic_ensemble  # the discovery tests' synthetic runs: a known box

ENV = {"COLUMNS": "80"}
SHORT = "period.end_year=2021"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium; CI installs it)",
)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{text}"
    return lines[0]


# ============================================================================ the runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A baseline run and a scenario with claims about 2021 (one holds, one fails), seed 3, to 2021."""
    root = tmp_path_factory.mktemp("report-runs")
    claims = root / "claims.toml"
    claims.write_text(
        f"""
extends = {json.dumps(str(scenario_dir() / "c5_bloc.toml"))}
name = "report_claims"
title = "The bloc, with two claims about 2021"
description = "The c5_bloc scenario, with claims about a year a short test run reaches."
article = 'para. 2: "turning the five into one economic force able to compete more strongly"'

[[expect]]
claim = "The Middle Corridor carries freight in 2021"
observable = "volume_t"
corridor = "middle"
year = 2021
above = 0.0

[[expect]]
claim = "The Middle Corridor carries ten times the baseline's freight in 2021"
observable = "volume_t"
corridor = "middle"
year = 2021
ratio_at_least = 10.0
"""
    )
    out = {}
    for name, scenario in (("baseline", "baseline"), ("claims", claims)):
        out[name] = root / f"{name}-3"
        result = invoke("run", scenario, "--set", SHORT, "--seed", "3", "--no-plots", "--out", out[name])
        assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report-ens") / "baseline-ens"
    result = invoke(
        "run", "baseline", "--replicates", "3", "--workers", "1", "--seed", "3", "--set", SHORT, "--out", out
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def comparison(runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "comparison.html"
    result = invoke("report", runs["claims"], runs["baseline"], "--out", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def ensemble_report(ensemble, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "ensemble.html"
    result = invoke("report", ensemble, "--out", out, "--year", "2020")
    assert result.exit_code == 0, result.output
    return out


# The Middle Corridor's only way west from Baku, and a link with a parallel alternative
CUT_OFF, PARALLEL = "baku_alat>tbilisi", "kuryk>baku_alat"
# The Khorgos -> Altynkol gauge-change yard, which binds in 2019-2020, doubled (as in tests/test_robust.py)
CANDIDATE = grid.Candidate(
    "khorgos_yard_x2",
    Investment(
        start="2019Q2", funder="KZ", links=("khorgos>altynkol",), capacity_factor=2.0, amount_usd_m=30.0
    ),
    30.0,
)


@pytest.fixture(scope="module")
def analyses(tmp_path_factory) -> dict[str, Path]:
    """The output directories of discover, criticality and robust, made small by their Python APIs."""
    root = tmp_path_factory.mktemp("report-analyses")
    found = discover(synthetic_ensemble(300, seed=2), "middle_corridor_t[2030] > 8e6")
    out = {"discovery": write_discovery(found, root / "discover")}
    criticality("baseline", links=[CUT_OFF, PARALLEL], start="2020Q1", quarters=4, seed=7, workers=1,
                out=root / "criticality")  # fmt: skip
    out["criticality"] = root / "criticality"
    res = grid.robust([CANDIDATE], grid.scenario_futures(["baseline"]), end_year=2020, workers=1)
    out["robust"] = res.save(root / "robust")
    return out


@pytest.fixture(scope="module")
def analyses_report(analyses, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "analyses.html"
    result = invoke(
        "report", analyses["discovery"], analyses["criticality"], analyses["robust"], "--out", out
    )
    assert result.exit_code == 0, result.output
    return out


# ============================================================================ what the page holds


def test_comparison_holds_scenario_provenance_and_every_part(comparison, runs):
    page = comparison.read_text()
    manifest = json.loads((runs["claims"] / "manifest.json").read_text())
    for text in (
        "The bloc, with two claims about 2021",  # the title
        "turning the five into one economic force",  # the article passage (inherited from c5_bloc)
        "report_claims, seed 3",
        manifest["input_sha256"]["data/trade.csv"],  # provenance: the input hashes
        manifest["created_utc"],
        "Headline indicators, 2021",  # the default year: the last of a run to 2021
        "Middle transit days",
        "The model against the observed history",
        "Route shares by country",
        "Flow map, 2021",
        "Bottlenecks",
        "Served volume by corridor and the causes of its change",
        "Change of each part of the cost against the reference",
    ):
        assert text in page, text
    assert page.count('"type":"sankey"') == 2  # one Sankey per run
    assert page.count("data:image/svg+xml;base64,") == 4  # the flow map and the bottlenecks of each run


def test_plotly_is_embedded_once_and_nothing_is_loaded_from_elsewhere(comparison):
    page = comparison.read_text()
    from plotly import __version__ as plotly_version
    from plotly.offline import get_plotlyjs

    library = get_plotlyjs()
    assert page.count(library) == 1, "plotly.js inline, once"
    assert plotly_version  # the library the page embeds is the installed one
    rest = page.replace(library, "")  # the page without the library (whose code names web sites)
    for remote in (
        'src="http',
        "src='http",
        'href="http',
        "href='http",
        "<script src=",
        "<link ",
        "@import",
        "url(",
    ):
        assert remote not in rest, remote


def test_claims_against_the_baseline_given(comparison):
    page = comparison.read_text()
    assert "1 of 2 claims held, against the baseline run given" in page
    assert '<td class="held">held</td>' in page and '<td class="failed">FAILED</td>' in page
    assert "the scenario makes no claims" in page  # the baseline's own section


def test_claims_of_a_run_alone_against_a_baseline_run_now(runs, tmp_path):
    out = tmp_path / "alone.html"
    result = invoke("report", runs["claims"], "--out", out)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    # the same stochastic baseline with seed 3 as the one run by `corridors run`: the same verdicts
    assert "1 of 2 claims held, against the baseline run now with the same seed (3)" in page
    assert "report_claims, seed 3 on its own" in page  # explain without a reference


def test_claims_not_evaluated_without_a_baseline(runs, tmp_path):
    out = tmp_path / "no-baseline.html"
    result = invoke("report", runs["claims"], "--out", out, "--no-run-baseline")
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "not evaluated: no baseline run with seed 3" in page
    assert '<td class="held">' not in page


@pytest.mark.timeout(900)  # its fixture runs a three-replicate ensemble in worker processes
def test_ensemble_report_has_fan_charts_and_says_claims_are_not_evaluated(ensemble_report):
    page = ensemble_report.read_text()
    assert "Fan charts" in page
    assert "baseline, seed 3 (3 runs): median" in page
    assert "few runs: 3" in page  # bands resting on fewer than 30 runs say so
    assert "Headline indicators, 2020" in page
    assert "not evaluated: claims compare one run with the baseline run of the same seed" in page
    assert '"type":"sankey"' not in page


def test_the_year_chooses_the_sankey_and_the_tables(runs, tmp_path):
    out = tmp_path / "y.html"
    result = invoke("report", runs["baseline"], "--out", out, "--year", "2020", "--no-run-baseline")
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "Freight in 2020: shipper" in page and "Flow map, 2020" in page


@pytest.mark.timeout(900)  # its fixture runs the criticality and robust runs
def test_analyses_report_has_a_section_for_each_from_its_saved_tables(analyses, analyses_report):
    page = analyses_report.read_text()
    for text in (
        # discovery: the condition, the chosen box, the limits with quasi-p-values, trajectory, box limits
        "Scenario discovery: middle_corridor_t[2030] &gt; 8e6",
        "the box of highest density among those with coverage &gt;= 0.8",
        "<th>quasi-p lower</th>",
        "PRIM peeling trajectory",
        "chosen: box",
        # criticality: what was closed, the ranked table in M USD and kt, the bars, the map
        "Chokepoint criticality: baseline, each link closed 2020Q1-2020Q4",
        "<th>extra cost (M USD)</th>",
        "<th>not delivered (kt)</th>",
        "most critical links, one closed at a time",
        # robust: the choices, net benefit and regret tables, the heatmap
        "Minimax-regret choice: khorgos_yard_x2",
        "Best expected choice: khorgos_yard_x2",
        "Net benefit to the five by candidate and future",
        "<th>worst regret</th>",
    ):
        assert text in page, text
    for absent in ("Headline indicators", "The model against the observed history"):  # no run given
        assert absent not in page, absent
    summary = json.loads((analyses["discovery"] / "discovery.json").read_text())
    assert f"{summary['coverage']:.3f} (share of the cases inside the box)" in page
    assert f"box {summary['chosen_box']} of " in page
    limits = pd.read_parquet(analyses["discovery"] / "box_limits.parquet").set_index("input")
    assert f"<td>{limits.loc['x1', 'qp_lower']:.2g}</td>" in page  # the quasi-p-value of x1's lower side
    ranked = pd.read_parquet(analyses["criticality"] / "criticality.parquet")
    assert ranked["link"].tolist() == [CUT_OFF, PARALLEL]
    first = ranked.iloc[0]
    row = page[page.index(f"<td>{html.escape(CUT_OFF)}</td>") :].split("</tr>", 1)[0]
    assert f"<td>{first['extra_cost_usd'] / 1e6:,.1f}</td>" in row  # M USD
    assert f"<td>{first['not_delivered_t'] / 1e3:,.1f}</td>" in row  # kt
    net = pd.read_parquet(analyses["robust"] / "benefits.parquet").set_index("candidate")["net_benefit_usd_m"]
    regret = page[page.index("Regret, USD m") :]
    # doing nothing regrets the whole net benefit of the candidate in the one future
    assert f"<td>nothing</td>\n      <td>{net['khorgos_yard_x2']:,.1f}</td>" in regret
    # three plotly figures: the trajectory, the bars and the heatmap (centred on a net benefit of 0)
    assert page.count('class="plotly-graph-div"') == 3 and '"zmid":0.0' in page
    assert page.count("data:image/svg+xml;base64,") == 2  # the box limits and the criticality map


@pytest.mark.timeout(900)  # its fixture runs the criticality and robust runs
def test_an_analysis_beside_a_run(runs, analyses, tmp_path):
    out = tmp_path / "beside.html"
    result = invoke("report", runs["baseline"], analyses["discovery"], "--out", out, "--no-run-baseline")
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "Headline indicators, 2021" in page and "Flow map, 2021" in page
    assert "Scenario discovery: middle_corridor_t[2030] &gt; 8e6" in page
    assert 'href="#analysis-1">Discovery (discover)</a>' in page


# ============================================================================ bad input


def _refused(args, out: Path, expected: str) -> None:
    before = sorted(os.listdir(out.parent)) if out.parent.is_dir() else None
    result = invoke("report", *args, "--out", out)
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert line.startswith("error: ") and expected in line, line
    assert "Traceback" not in result.output
    assert not out.exists(), "nothing written"
    if before is not None:
        assert sorted(os.listdir(out.parent)) == before, "no temporary file left"


@pytest.mark.timeout(900)  # its fixture runs a three-replicate ensemble in worker processes
def test_bad_input_exits_2_with_one_line_and_writes_nothing(runs, ensemble, tmp_path):
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    out = tmp_path / "r.html"
    _refused([tmp_path / "missing"], out, "missing: RUN_OR_ENSEMBLE: no such directory")
    _refused([not_a_run], out, "not a run, ensemble, discovery, criticality or robust directory")
    _refused([runs["baseline"], ensemble], out, "mixed")
    _refused([runs["baseline"], "--year", "2030"], out, "--year: 2030 is not a year of every directory")
    _refused([runs["baseline"]], tmp_path / "r.pdf", "--out: must end in .html")
    _refused([runs["baseline"]], afile / "r.html", "is not a directory")
    _refused([runs["baseline"]] * 7, out, "at most 6 directories")


@pytest.mark.timeout(900)  # its fixture runs the criticality and robust runs
def test_bad_analysis_directories_exit_2_with_one_line(analyses, tmp_path):
    out = tmp_path / "r.html"
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    (unknown / "notes.txt").write_text("x")
    _refused(
        [unknown], out, "unknown: RUN_OR_ENSEMBLE: not a run, ensemble, discovery, criticality or robust"
    )
    _refused([unknown], out, "discovery.json (corridors discover)")  # it names what it expected
    running = tmp_path / "running"
    shutil.copytree(analyses["criticality"], running)
    (running / "criticality.parquet").unlink()  # as before its last run finished
    _refused([running], out, f"{running}: criticality: a criticality analysis not finished")
    broken = tmp_path / "broken"
    shutil.copytree(analyses["discovery"], broken)
    (broken / "discovery.json").write_text("{not json")
    _refused([broken], out, f"{broken}: discovery: discovery.json is corrupt")
    lost = tmp_path / "lost"
    shutil.copytree(analyses["robust"], lost)
    (lost / "benefits.parquet").unlink()
    _refused([lost], out, f"{lost}: robust: cannot be read")
    _refused([analyses["robust"], "--year", "2020"], out, "--year: chooses the year of runs or ensembles")


def test_corrupt_meta_json_names_the_directory(runs, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(runs["baseline"], broken)
    (broken / "meta.json").write_text("{not json")
    _refused([broken], tmp_path / "r.html", f"{broken}: run: cannot be read: {broken / 'meta.json'}: line 1")


# ============================================================================ in headless Chromium


class _DevTools:
    """A page's DevTools connection: calls, and the events (console, requests) seen meanwhile."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            left = deadline - time.monotonic()
            assert left > 0, f"no {method} within {timeout} s"
            self.events.append(json.loads(self.ws.recv(timeout=left)))


@contextmanager
def _chromium(user_data_dir: Path) -> Iterator[_DevTools]:
    """Start headless Chromium with a DevTools port; stop it (this process only) when done."""
    from websockets.sync.client import connect

    proc = subprocess.Popen(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-extensions", f"--user-data-dir={user_data_dir}",
            "--remote-debugging-port=0", "--window-size=1400,1000", "about:blank",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            if "DevTools listening on " in line:
                url = line.split("DevTools listening on ", 1)[1].strip()
        assert url, "chromium did not open its DevTools port"
        with connect(url, max_size=None, open_timeout=30) as ws:
            yield _DevTools(ws)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _open_in_chromium(page: Path, tmp_path: Path) -> tuple[dict, list[str], list[str]]:
    """Open ``page``; return what the page reports once drawn, the console errors and the URLs requested."""
    with _chromium(tmp_path / "chromium-profile") as browser:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Runtime", "Log", "Page"):
            browser.call(f"{domain}.enable", session=session)
        browser.call("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        check = """new Promise(done => {
            const look = () => {
                const divs = Array.from(document.querySelectorAll('.plotly-graph-div'));
                const drawn = divs.filter(d => d.querySelector('svg.main-svg')).length;
                const images = Array.from(document.images);
                if (drawn === divs.length && images.every(i => i.complete)) {
                    done(JSON.stringify({
                        figures: divs.length, drawn: drawn,
                        main_svg: document.querySelectorAll('svg.main-svg').length,
                        sankey_nodes: document.querySelectorAll('.sankey-node').length,
                        images: images.length,
                        images_ok: images.filter(i => i.naturalWidth > 0).length,
                    }));
                } else { setTimeout(look, 100); }
            };
            look();
        })"""
        found = browser.call(
            "Runtime.evaluate",
            {"expression": check, "awaitPromise": True, "returnByValue": True},
            session=session,
        )
        state = json.loads(found["result"]["value"])
        time.sleep(0.5)  # late errors or requests (a lazily loaded resource) still arrive
        browser.call("Runtime.evaluate", {"expression": "1"}, session=session)
    errors, urls = [], []
    for e in browser.events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Network.requestWillBeSent":
            urls.append(p["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            errors.append(json.dumps(p["exceptionDetails"])[:500])
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append(json.dumps(p.get("args"))[:500])
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            errors.append(p["entry"].get("text", "")[:500])
    return state, errors, urls


def _remote(urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(("file:", "data:", "blob:", "about:"))]


@needs_chromium
def test_comparison_renders_in_chromium_with_no_console_error_and_no_request(comparison, tmp_path):
    state, errors, urls = _open_in_chromium(comparison, tmp_path)
    assert errors == []
    assert _remote(urls) == [], "the page requested something from outside the file"
    assert comparison.resolve().as_uri() in urls  # the protocol did see the page's own request
    # volumes, history, and per run: shares and the Sankey
    assert state["figures"] == 6 and state["drawn"] == 6, state
    assert state["main_svg"] >= 6 and state["sankey_nodes"] > 0, state
    assert state["images"] == 4 and state["images_ok"] == 4, state  # flow maps and bottlenecks


@needs_chromium
@pytest.mark.timeout(900)  # its fixture runs a three-replicate ensemble in worker processes
def test_ensemble_report_renders_in_chromium_with_no_console_error_and_no_request(ensemble_report, tmp_path):
    state, errors, urls = _open_in_chromium(ensemble_report, tmp_path)
    assert errors == []
    assert _remote(urls) == []
    assert state["figures"] == 2 and state["drawn"] == 2, state  # the fan chart and the history


@needs_chromium
@pytest.mark.timeout(900)  # its fixture runs the criticality and robust runs
def test_analyses_report_renders_in_chromium_with_no_console_error_and_no_request(analyses_report, tmp_path):
    state, errors, urls = _open_in_chromium(analyses_report, tmp_path)
    assert errors == []
    assert _remote(urls) == []
    # the trajectory, the criticality bars and the net-benefit heatmap; the box limits and the map
    assert state["figures"] == 3 and state["drawn"] == 3, state
    assert state["images"] == 2 and state["images_ok"] == 2, state


@needs_chromium
def test_chromium_test_sees_a_request_leaving_the_file_and_a_console_error(tmp_path):
    """The checks above can fail: a page loading a script from elsewhere, or logging an error, is caught."""
    page = tmp_path / "leak.html"
    page.write_text(
        '<!DOCTYPE html><html><body><script src="http://127.0.0.1:9/x.js"></script>'
        '<script>console.error("drawn wrong")</script></body></html>'
    )
    _, errors, urls = _open_in_chromium(page, tmp_path)
    assert _remote(urls) == ["http://127.0.0.1:9/x.js"]
    assert any("drawn wrong" in e for e in errors), errors
