"""Running scenarios and writing run directories: the layer above results and plots.

``run`` turns a scenario into a :class:`~corridors.results.Results`; ``write_run`` writes
the run directory (resolved scenario, manifest, Parquet tables, summary, PNG plots) into a
temporary directory and renames it into place, so an interrupted run leaves nothing.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corridors.events import Event
from corridors.inputs import packaged_inputs
from corridors.network import default_data_dir, packaged_network
from corridors.parameters import Parameters
from corridors.results import EXPLAIN_TABLES, MAP_TABLES, TABLES, Results
from corridors.uncertainty import replicate_seed

if TYPE_CHECKING:
    from corridors.scenario import Scenario

__all__ = ["manifest", "manifest_inputs", "run", "write_run"]


def _scenario(scenario: Scenario | str | Path | None, overrides: Mapping[str, Any] | None) -> Scenario:
    from corridors.scenario import Scenario, find_scenario, load_scenario

    if isinstance(scenario, Scenario):
        if overrides:
            return load_scenario(scenario.path, overrides={**scenario.overrides, **overrides})
        return scenario
    return load_scenario(find_scenario("baseline" if scenario is None else scenario), overrides=overrides)


def run(
    scenario: Scenario | str | Path | None = None,
    *,
    seed: int | None = None,
    replicate: int = 0,
    overrides: Mapping[str, Any] | None = None,
    params: Parameters | None = None,
    events: Sequence[Event] | None = None,
    end_year: int | None = None,
    stochastic: bool = True,
    on_step: Callable[[int, int], None] | None = None,
) -> Results:
    """Run the model once and return its :class:`Results`.

    Parameters
    ----------
    scenario : Scenario, path or name, optional
        A scenario (``corridors.load_scenario``), a scenario file, or the name of a shipped
        one; ``None`` runs the baseline.
    seed : int, optional
        Root seed (default: the scenario's). The model's generator is seeded from replicate
        ``replicate`` of ``numpy.random.SeedSequence(seed).spawn``
        (:func:`corridors.uncertainty.replicate_seed`), as in an ensemble, so replicate 0 of
        an ensemble with seed S is this run with seed S. The same scenario and seed give
        identical tables.
    replicate : int
        Which child of the root seed seeds the model (0: a single run).
    overrides : mapping, optional
        Dotted overrides such as ``{"parameters.cost_elasticity": 3.0}``.
    params, events : optional
        Replace the scenario's parameters or its whole timeline (for programmatic use).
    end_year : int, optional
        Replace the scenario's last year.
    stochastic : bool
        False: no random draws (the seed is then irrelevant).
    on_step : callable, optional
        Called as ``on_step(step_done, n_steps)`` after each quarter (progress bars).

    Returns
    -------
    Results
        The run's tables from the scenario's ``report_from`` year on; ``meta`` records the
        seed, the scenario's name and the replicate (if not 0).

    Raises
    ------
    ScenarioError
        If the scenario file, its name or an override is invalid.

    Examples
    --------
    >>> res = run(end_year=2020, seed=7)
    >>> list(res.annual_volumes().columns)
    ['year', 'corridor', 'volume_t']
    >>> res.annual_volumes().equals(run(end_year=2020, seed=7).annual_volumes())
    True
    """
    from corridors.model import CorridorModel

    sc = _scenario(scenario, overrides)
    p = params if params is not None else sc.parameters()
    timeline = list(events) if events is not None else sc.events(p)
    last = end_year if end_year is not None else sc.period.end_year
    seed = sc.seed if seed is None else seed
    rng = None if seed is None else replicate_seed(seed, replicate)
    model = CorridorModel(
        params=p,
        events=timeline,
        end_year=last,
        stochastic=stochastic,
        rng=rng,
        agents=sc.agent_settings(),
        inputs=_inputs(sc),
    )
    record = model.run(on_step=on_step)
    meta = {"seed": seed, "scenario": sc.name, "report_from": sc.period.report_from}
    if replicate:
        meta["replicate"] = replicate
    res = Results.from_record(record, meta=meta)
    return res.trimmed(sc.period.report_from)


def _inputs(sc: Scenario):
    overrides = sc.sea_rate_overrides()
    if not overrides:
        return None
    return packaged_inputs().with_sea_rates(overrides)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _git_revision() -> str | None:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def manifest_inputs() -> dict[str, str]:
    """Return the SHA-256 of every packaged data file, keyed ``data/<name>`` as a manifest records them."""
    data = default_data_dir()
    return {f"data/{p.name}": _sha256(p) for p in sorted(data.iterdir()) if p.is_file()}


def manifest(res: Results, sc: Scenario) -> dict[str, Any]:
    """Return where a run came from: versions, seed, platform, time, its tables, and hashes of every input.

    With the run's ``calibration_check`` (:mod:`corridors.experiments.calibrate.drift`) when
    its ``meta`` has one.
    """
    from corridors._version import __version__

    inputs = manifest_inputs()
    inputs |= {f"scenario/{Path(p).name}": _sha256(Path(p)) for p in sc.chain}
    if sc.parameters_file:
        inputs[f"parameters/{Path(sc.parameters_file).name}"] = _sha256(Path(sc.parameters_file))
    return {
        "scenario": sc.name,
        "scenario_file": str(sc.path),
        "seed": res.meta.get("seed"),
        "corridors_version": __version__,
        "git_revision": _git_revision(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "overrides": dict(sc.overrides),
        "ignored_events": list(sc.ignored_events),
        "tables": [
            f"{t}.parquet" for t in (*TABLES, *EXPLAIN_TABLES, *MAP_TABLES) if getattr(res, t) is not None
        ],
        "input_sha256": inputs,
        **({"calibration_check": res.meta["calibration_check"]} if "calibration_check" in res.meta else {}),
    }


def write_run(
    res: Results, sc: Scenario, out: str | Path, *, force: bool = False, plots: bool = True
) -> Path:
    """Write the run directory ``out`` atomically: tables, summary, scenario, manifest, plots."""
    seed = res.meta.get("seed", sc.seed)
    resolved = sc if seed == sc.seed else sc.model_copy(update={"seed": seed})  # the seed actually used
    extra = {
        "scenario.toml": resolved.to_toml().encode(),
        "manifest.json": json.dumps(manifest(res, sc), indent=2).encode(),
    }
    if plots:
        extra |= render_plots(res)
    return res.save(out, extra_files=extra, force=force)


def render_plots(
    res: Results, *, year: int | None = None, fmt: str = "png", dpi: int = 120
) -> dict[str, bytes]:
    """Render the run's standard plots, by file name (``volumes.png``, or ``.svg``/``.pdf``).

    ``year`` is the flow map's (default: the run's last); a year not in the run raises
    ValueError naming it.
    """
    from corridors.plots.standard import run_plots
    from corridors.plots.style import figure_bytes

    figures = run_plots(res, packaged_network(), year=year)
    return {
        Path(name).with_suffix(f".{fmt}").name: figure_bytes(fig, fmt=fmt, dpi=dpi)
        for name, fig in figures.items()
    }
