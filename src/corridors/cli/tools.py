"""The commands around the model: warmup, demo, network, calibrate and dashboard."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from corridors.cli.guard import (
    EXIT_FAILURE,
    ExecutorName,
    Scheduler,
    Workers,
    err,
    execution_options,
    guarded,
    refuse,
    save_figure,
    stdout,
)
from corridors.errors import CorridorsError
from corridors.vocabulary import BASE_YEAR, CORRIDORS, LAST_YEAR

# Main origin-market pairs of the `network` table: China-Europe transit, the five's exports.
MAIN_PAIRS = (
    ("xian", "market_eu"),
    ("khorgos", "market_eu"),
    ("astana", "market_eu"),
    ("tashkent", "market_eu"),
    ("almaty", "market_china"),
    ("tashkent", "market_turkey"),
    ("ashgabat", "market_iran_gulf"),
    ("tashkent", "market_south_asia"),
)


def warmup() -> None:
    """Compile the Numba kernels into their on-disk cache (once per install; seconds).

    Example: [bold]corridors warmup[/bold]
    """
    import numpy as np

    from corridors import routing
    from corridors.model import (  # lazy: +0.6 s to import (Mesa 0.57 s), only warmup needs it
        CorridorModel,
        rebook_quarter,
    )

    routing.warmup()
    model = CorridorModel(end_year=BASE_YEAR, rng=0)
    model.run()  # the model's own kernels, fused
    outside = types.SimpleNamespace(shortest_path_trees=routing.shortest_path_trees)
    CorridorModel(end_year=BASE_YEAR, rng=0, router=outside).run()  # and one by one, as for other routers
    # the per-agent forms of the batched rules and re-booking on its own (tests, notebooks)
    rebook_quarter(model, np.zeros_like(model.sh.shares), model.view.available.copy())
    for agent in model.country_agents.values():
        agent.route_state_flows(model.view, model.terms, model.sh, model.params)
    model.shippers[0].choose(model.view, model.terms, model.cargo, model.params)
    model.shippers[0].remember(model.view, model.params)
    err.print("Numba kernels compiled and cached")


def demo(
    russian: Annotated[float, typer.Option(min=0, help="Load on the Russian route, t/day.")] = 30_000,
    middle: Annotated[float, typer.Option(min=0, help="Load on the Middle Corridor, t/day.")] = 4_500,
    sea: Annotated[float, typer.Option(min=0, help="Load on the sea route, t/day.")] = 20_000,
) -> None:
    """Route costs for three corridors from Khorgos to the EU, with congestion.

    An illustrative network (round numbers, not the sourced data): each corridor's
    least-cost path, free-flow and loaded time, and cost per tonne: the price (tariffs and
    handling, what `corridors network` lists as USD/t on the sourced network) and the
    loaded time valued at 0.25 USD per tonne-hour.

    Example: [bold]corridors demo --middle 6000[/bold]
    """
    from corridors.demo import route_cost_demo

    rows = route_cost_demo((russian, middle, sea))
    table = Table(title="Khorgos -> EU by corridor (illustrative network); price, time and total in USD/t")
    cols = ("corridor", "km", "days", "days loaded", "price", "time", "total", "max v/c")
    for col in cols:
        table.add_column(col, justify="left" if col == "corridor" else "right", no_wrap=col == "corridor")
    for r in rows:
        table.add_row(
            r.corridor,
            f"{r.distance_km:,.0f}",
            f"{r.free_flow_days:.1f}",
            f"{r.loaded_days:.1f}",
            f"{r.price_usd_per_t:,.0f}",
            f"{r.time_cost_usd_per_t:,.0f}",
            f"{r.cost_usd_per_t:,.0f}",
            f"{r.bottleneck_utilisation:.2f}",
        )
    stdout.print(table)
    for r in rows:
        stdout.print(f"  {r.corridor:8} {r.route}")
    stdout.print(
        "days: free flow; price = tariffs and handling; time = 0.25 USD per tonne-hour of transit at loaded "
        "times (BPR); total = both; max v/c: the route's busiest link. This is a toy network of round numbers: `corridors network` lists the sourced "
        "network's routes, and its USD/t is the price alone (no time value), hence lower.",
        soft_wrap=True,
    )


def network(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the map (PNG).", dir_okay=False)
    ] = Path("results/network.png"),
    data: Annotated[
        Path | None, typer.Option(help="A data directory to use instead of the packaged one.")
    ] = None,
    year: Annotated[
        int, typer.Option(min=BASE_YEAR, max=LAST_YEAR, help="Links open in this year.")
    ] = BASE_YEAR,
) -> None:
    """Draw the corridor network and print free-flow route costs for the main pairs.

    Every corridor is listed, closed ones too (at the given year's links), with its
    free-flow time in days and its price per tonne and per TEU (tariffs and handling).

    Example: [bold]corridors network --out results/network.png[/bold]
    """
    from corridors import plots
    from corridors.network import load_network

    if out.suffix.lower() != ".png":
        raise refuse(ValueError(f"--out: {out} must end in .png"))
    try:
        net = load_network(data)
        skims = net.skim(
            sorted({o for o, _ in MAIN_PAIRS}),
            sorted({m for _, m in MAIN_PAIRS}),
            corridors=CORRIDORS,
            year=year,
        )
    except (CorridorsError, OSError) as exc:
        raise refuse(exc) from None
    table = Table(title=f"Free-flow routes by corridor, {year} network (containers)")
    for col in ("origin", "market", "corridor", "days", "USD/t", "USD/TEU", "km"):
        table.add_column(col, justify="right" if col in ("days", "USD/t", "USD/TEU", "km") else "left")
    skims = skims.set_index(["origin", "market", "corridor"])
    for origin, market in MAIN_PAIRS:
        for k, corridor in enumerate(CORRIDORS):
            r = skims.loc[(origin, market, corridor)]
            label = corridor if net.corridors[corridor].enabled else f"{corridor} (closed)"
            cells = (
                [
                    f"{r.time_days:.1f}",
                    f"{r.price_usd_per_t:,.0f}",
                    f"{r.price_usd_per_teu:,.0f}",
                    f"{r.distance_km:,.0f}",
                ]
                if r.time_days < float("inf")
                else ["no route", "", "", ""]
            )
            table.add_row(
                origin if k == 0 else "",
                market.removeprefix("market_") if k == 0 else "",
                label,
                *cells,
                end_section=k == len(CORRIDORS) - 1,
            )
    save_figure(plots.network_map(net), out)
    stdout.print(table)
    err.print(f"map written to {out.resolve()}")


def calibrate(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="The output directory (lsq: the report, replaced; abc: posterior, databases and report, "
            "resumed). Default results/calibration (lsq) or results/calibration-abc (abc).",
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            help="lsq: least squares on the deterministic model; abc: ABC-SMC (pyabc) on the stochastic one."
        ),
    ] = "lsq",
    starts: Annotated[
        int,
        typer.Option(
            min=1, help="lsq: starts of the fit: the scenario's values, then Latin-hypercube points."
        ),
    ] = 4,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="A short run for testing the pipeline (lsq: 1 start, a few evaluations; abc: 8 particles, 2 generations).",
        ),
    ] = False,
    write_parameters: Annotated[
        Path | None,
        typer.Option(
            "--write-parameters",
            help="lsq: also write the fitted values as a parameters file (.toml).",
            dir_okay=False,
        ),
    ] = None,
    population: Annotated[
        int | None, typer.Option(min=2, help="abc: particles per generation (default 1000).")
    ] = None,
    generations: Annotated[
        int | None,
        typer.Option(min=1, help="abc: generations in all (default 10; a resumed run adds the missing)."),
    ] = None,
    validation: Annotated[
        bool,
        typer.Option("--validation/--no-validation", help="abc: also the rolling-origin and recovery fits."),
    ] = True,
    force: Annotated[
        bool, typer.Option("--force", help="abc: start again in an --out that holds another run.")
    ] = False,
    seed: Annotated[
        int, typer.Option(min=0, help="abc: the root seed of the fits and predictive draws.")
    ] = 0,
    workers: Workers = None,
    executor: ExecutorName = None,
    scheduler: Scheduler = None,
) -> None:
    """Calibrate the baseline to 2019-2023 and write the report.

    --method lsq (the default): least squares on the deterministic model, with loss profiles
    and the rolling origin. --method abc: ABC-SMC (pyabc) on the stochastic model, writing
    the posterior (posterior.parquet, one row per particle with its weight) and a report
    (marginals, pairs, ESS and acceptance by generation, posterior predictive checks,
    rolling origin, recovery); run the same command again to resume an interrupted one.

    Example: [bold]corridors calibrate --out results/calibration --write-parameters scenarios/fitted.toml[/bold]
    Example: [bold]corridors calibrate --method abc --workers 2 --out results/calibration-abc[/bold]
    """
    from corridors.experiments import calibrate as cal
    from corridors.history import load_history

    if method not in ("lsq", "abc"):
        raise refuse(ValueError(f"--method: must be lsq or abc, got {method!r}"))
    if method == "abc":
        _calibrate_abc(
            out or Path("results/calibration-abc"),
            quick=quick,
            population=population,
            generations=generations,
            validation=validation,
            force=force,
            seed=seed,
            execution=execution_options(workers, executor, scheduler),
        )
        return
    abc_only = {"--population": population, "--generations": generations, "--workers": workers}
    abc_only |= {"--executor": executor, "--scheduler": scheduler}
    given = [k for k, v in abc_only.items() if v is not None] + (["--force"] if force else [])
    if given:
        raise refuse(ValueError(f"{', '.join(given)}: apply to --method abc only"))
    out = out or Path("results/calibration")
    if write_parameters is not None and write_parameters.suffix.lower() != ".toml":
        raise refuse(ValueError(f"--write-parameters: {write_parameters} must end in .toml"))
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "report.md").is_file())):
        raise refuse(FileExistsError(f"--out: {out} exists and is not a calibration report directory"))
    try:
        history = load_history()
    except CorridorsError as exc:
        raise refuse(exc) from None
    options = {"starts": 1, "max_nfev": 2, "profile_points": 3} if quick else {"starts": starts}
    t0 = time.perf_counter()
    with guarded("calibration", "{task.completed} model runs") as progress:
        task = progress.add_task("fit", total=None)

        def on_run(stage: str) -> None:
            progress.update(task, advance=1, description=stage)

        result = cal.fit(history, on_run=on_run, **options)
        progress.update(task, description="rolling origin: fit 2019-2021")
        cv = cal.cross_validate(
            history,
            on_run=lambda stage: on_run(f"rolling origin, {stage}"),
            **{**options, "profile_points": 0},
        )
        progress.update(task, description=f"writing {out}")
        path = cal.write_report(result, cv, out, history=history)
        if write_parameters is not None:
            cal.write_parameters(result, write_parameters)
    table = Table(title=f"Calibration 2019-2023: loss {result.loss:.3f}")
    for col in ("parameter", "value", "bounds"):
        table.add_column(col, justify="left" if col == "parameter" else "right")
    for p in result.free:
        table.add_row(p.name, f"{result.values[p.name]:.4g}", f"[{p.lower:g}, {p.upper:g}]")
    stdout.print(table)
    met = sum(t.ok for t in result.targets)
    stdout.print(
        f"targets met: {met} of {len(result.targets)}; Jacobian rank {result.rank} of "
        f"{len(result.free)}, condition number {result.condition_number:.3g}"
    )
    stdout.print(
        f"rolling origin (fit {cv.fit_label}): loss of the {cv.predicted_label} points {cv.loss_predicted:.3f}"
    )
    stdout.print(f"report:  {path.resolve()}  ({time.perf_counter() - t0:.0f} s)")
    if write_parameters is not None:
        stdout.print(f"parameters: {write_parameters.resolve()}")


def _calibrate_abc(
    out: Path,
    *,
    quick: bool,
    population: int | None,
    generations: int | None,
    validation: bool,
    force: bool,
    seed: int,
    execution,
) -> None:
    """Run the Bayesian calibration of ``corridors calibrate --method abc`` and print its summary."""
    import shutil
    from dataclasses import replace

    from corridors.experiments.calibrate import abc, abc_report

    options = abc.QUICK if quick else abc.FULL
    if population is not None:
        options = replace(options, population=population)
    if generations is not None:
        options = replace(options, generations=generations)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "abc.db").is_file())):
        raise refuse(FileExistsError(f"--out: {out} exists and is not a Bayesian calibration directory"))
    if force and out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    with guarded("Bayesian calibration", "{task.description}") as progress:
        task = progress.add_task("starting", total=None)
        try:
            cal = abc_report.calibrate_abc(
                out,
                options=options,
                execution=execution,
                validate=validation,
                seed=seed,
                on_stage=lambda stage: progress.update(task, description=stage),
            )
        except FileExistsError as exc:
            raise refuse(exc) from None
    fit = cal.fit
    table = Table(title=f"Posterior of the baseline ({fit.simulations:,} simulations)")
    for col in ("parameter", "median", "90% interval", "sd / prior sd"):
        table.add_column(col, justify="left" if col == "parameter" else "right")
    for r in cal.parameters.itertuples():
        table.add_row(r.parameter, f"{r.median:.4g}", f"{r.q05:.4g} - {r.q95:.4g}", f"{r.contraction:.2f}")
    stdout.print(table)
    cov = abc_report.coverage(cal.intervals)
    stdout.print(
        f"posterior predictive: {cov['coverage90']:.0%} of {cov['points']} observed points inside the 90% "
        f"intervals, {cov['coverage50']:.0%} inside the 50%"
    )
    for o in cal.origins:
        c = abc_report.coverage(o.predicted)
        stdout.print(
            f"rolling origin (fit to {o.holdout - 1}): {c['coverage90']:.0%} of {c['points']} inside the 90% intervals"
        )
    if cal.recovery is not None:
        rec = cal.recovery.table
        stdout.print(
            f"recovery: {int(rec['covered'].sum())} of {len(rec)} known values inside the 90% intervals"
        )
    stdout.print(f"posterior: {(out / 'posterior.parquet').resolve()}")
    stdout.print(f"report:    {(out / 'report').resolve()}  ({time.perf_counter() - t0:.0f} s)")


def dashboard(
    scenario: Annotated[
        str, typer.Argument(help="A shipped scenario's name, or a scenario file.")
    ] = "baseline",
    end_year: Annotated[
        int,
        typer.Option(
            "--end-year", min=BASE_YEAR + 1, max=LAST_YEAR, help="Last simulated year (shorter is faster)."
        ),
    ] = 2030,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless you say otherwise).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
) -> None:
    r"""Serve the tuning sliders of notebooks/02_tune_parameters.ipynb as a web app (Solara).

    Needs the dashboard extra: pip install -e ".\[dashboard]". Ctrl-C or SIGTERM stops it
    and its server.

    Example: [bold]corridors dashboard c5_bloc --end-year 2030[/bold]
    """
    from corridors.scenario import find_scenario, load_scenario

    try:
        path = find_scenario(scenario)
        load_scenario(path, overrides={"period.end_year": end_year})
    except (CorridorsError, OSError) as exc:
        raise refuse(exc) from None
    if importlib.util.find_spec("solara") is None:
        err.print('[bold red]the dashboard needs Solara:[/bold red] pip install -e ".\\[dashboard]"')
        raise typer.Exit(EXIT_FAILURE)
    # The names of corridors.dashboard.SCENARIO_ENV and END_YEAR_ENV (not imported: that imports Solara).
    env = {
        **os.environ,
        "CORRIDORS_DASHBOARD_SCENARIO": str(path),
        "CORRIDORS_DASHBOARD_END_YEAR": str(end_year),
    }
    cmd = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "corridors.dashboard",
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
    ]
    busy = _port_in_use(host, port)
    if busy:
        raise refuse(ValueError(f"--port: {host}:{port} is in use ({busy}); choose another with --port"))
    err.print(f"corridors dashboard: {path.stem} to {end_year} on http://{host}:{port} (Ctrl-C to stop)")
    server = None
    with guarded("dashboard", stop_ok=True):  # Ctrl-C or SIGTERM: stop the server, exit 0
        try:
            server = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent)
            code = server.wait()
        finally:
            if server is not None:
                _stop(server)
    raise typer.Exit(code)


def _port_in_use(host: str, port: int) -> str:
    """Return why ``host:port`` cannot be listened on (another server holds it), or ``""``."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot resolve {host}: {exc.strerror or exc}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror or str(exc)
    return ""


def _die_with_parent() -> None:
    """In the server's process: ask Linux to send it SIGTERM when ``corridors dashboard`` dies.

    The command stops its server itself on Ctrl-C and SIGTERM; this covers what it cannot
    catch (SIGKILL, a signal before its handler is set), so no server is left serving.
    Elsewhere a no-op.
    """
    if not sys.platform.startswith("linux"):
        return
    import contextlib
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):  # no prctl: nothing more to do
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a child process that is still running: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
