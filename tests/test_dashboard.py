"""Tests of ``corridors dashboard`` (:mod:`corridors.dashboard`): the Solara page rendered
without a browser, its sliders moved from code; the command's checks; the server answering
on loopback.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from typer.testing import CliRunner

from corridors.cli import app

solara = pytest.importorskip("solara")
import ipyvuetify as v  # noqa: E402  (with solara, which brings it)
import ipywidgets as widgets  # noqa: E402

from corridors import dashboard  # noqa: E402
from corridors.tuning import LEVERS  # noqa: E402

PREMIUM = list(LEVERS).index("russia_premium_usd_per_t")  # the sliders are in the levers' order


def _sliders(rc) -> list:
    return rc.find(v.Slider).widgets


@pytest.fixture
def page(monkeypatch):
    monkeypatch.setenv(dashboard.END_YEAR_ENV, "2026")
    monkeypatch.setenv(dashboard.SCENARIO_ENV, "baseline")
    _, rc = solara.render(dashboard.Page(), handle_error=False)
    yield rc
    rc.close()


def _image(rc) -> bytes:
    return rc.find(widgets.Image).widget.value


def test_a_slider_reruns_the_model_and_reset_restores_the_scenario(page) -> None:
    first = _image(page)
    slider = _sliders(page)[PREMIUM]
    initial = slider.v_model
    slider.v_model = 200.0
    changed = _image(page)
    assert changed != first
    assert page.find(v.Html, tag="span").widget.children[0].startswith("run and redraw: ")
    page.find(v.Btn).widget.fire_event("click", {})
    assert _sliders(page)[PREMIUM].v_model == initial
    assert _image(page) == first


def test_there_is_a_slider_for_every_lever(page) -> None:
    from corridors.tuning import LEVERS

    assert len(_sliders(page)) == len(LEVERS)


def test_each_lever_shows_its_value_and_unit_on_its_own_line(page) -> None:
    """No inline labels of different widths, no floating values over the slider above: a line each."""
    from corridors.tuning import LEVERS

    lines = [str(t.template) for t in page.find(v.VuetifyTemplate).widgets]
    for slider in _sliders(page):
        assert slider.label in ("", None) and slider.thumb_label is False
    for lever in LEVERS.values():
        assert lever.unit and lever.label == f"{lever.title} ({lever.unit})"
    for lever in LEVERS.values():  # one line per lever, naming its title and unit
        assert sum(f"<strong>{lever.title}</strong>:" in line and lever.unit in line for line in lines) == 1


def test_dashboard_command_rejects_an_unknown_scenario() -> None:
    result = CliRunner().invoke(app, ["dashboard", "no_such_scenario"])
    assert result.exit_code == 2
    assert "no_such_scenario" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_command_serves_on_loopback() -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "corridors", "dashboard", "--end-year", "2026", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
                    assert reply.status == 200
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                    pytest.fail(f"the dashboard did not answer on port {port}:\n{out}")
                time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group this test started: the command and its server
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()


def test_a_busy_port_is_refused_before_the_server_starts() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = CliRunner().invoke(app, ["dashboard", "--end-year", "2026", "--port", str(port)],
                                    env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: --port: 127.0.0.1:{port} is in use (Address already in use); choose another with --port"
    ]
    assert "server is starting" not in result.output


def _children(pid: int) -> list[int]:
    path = f"/proc/{pid}/task/{pid}/children"
    with open(path) as f:
        return [int(c) for c in f.read().split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_signalling_the_command_alone_stops_its_server(how) -> None:
    """SIGTERM (or even SIGKILL) to `corridors dashboard` only, not its group: no server is left serving."""
    port = _free_port()
    cmd = [sys.executable, "-m", "corridors", "dashboard", "--end-year", "2026", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    server = None
    try:
        deadline = time.monotonic() + 90
        while server is None and time.monotonic() < deadline and proc.poll() is None:
            children = _children(proc.pid)
            server = children[0] if children else None
            time.sleep(0.2)
        assert server is not None, "the command started no server"
        os.kill(proc.pid, how)  # the command alone
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while _alive(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(server), f"the server {server} outlived the command"
        if how == signal.SIGTERM:
            assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        if server is not None and _alive(server):
            os.kill(server, signal.SIGKILL)
