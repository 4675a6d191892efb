"""Scenario discovery: which ranges of the uncertain inputs lead to an outcome (PRIM).

Given the runs of a sweep or an ensemble and a condition on their series
(:mod:`~corridors.experiments.conditions`, e.g. ``middle_corridor_t[2030] > 8e6``),
:func:`discover` marks the runs where it holds (the cases of interest) and finds, with the
Patient Rule Induction Method of EMA Workbench (``ema_workbench.analysis.prim``; Friedman and
Fisher 1999, Bryant and Lempert 2010), a box of input ranges that holds many of them
(coverage: the share of all cases that fall in the box) and few other runs (density: the
share of the box's runs that are cases). Peeling trades coverage for density; the
:class:`Discovery` holds the whole peeling trajectory, the box chosen on it and that box's
limits with their quasi-p-values (a one-sided binomial test of each restriction: the chance
that lifting it would not lower the density).

:func:`write_discovery` writes the trajectory, the limits and their figures into a directory.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridors.atomic import write_dir_atomic
from corridors.errors import CorridorsError
from corridors.experiments.conditions import check_condition, evaluate, parse_condition
from corridors.experiments.plans import jsonable
from corridors.experiments.records import CORRIDOR_VARIABLES
from corridors.plots import box_limits_plot, png_bytes, trajectory_plot
from corridors.results import OBSERVABLES, EnsembleResults, load_ensemble, parquet_bytes

__all__ = ["MIN_COVERAGE", "Discovery", "discover", "prim_box", "run_inputs", "run_series", "write_discovery"]

MIN_COVERAGE = 0.8
# Friedman and Fisher (1999) advise peeling 5-10% at a time; 5% is EMA Workbench's default.
PEEL_ALPHA = 0.05
DESIGN_KEYS = ("run", "point", "replicate")


@dataclass(frozen=True)
class Discovery:
    """A PRIM box for a condition over the runs, and the trajectory it was chosen on.

    Attributes
    ----------
    where : str
        The condition, as parsed.
    inputs : pandas.DataFrame
        One row per run: ``run``, then the uncertain inputs PRIM worked on.
    cases : numpy.ndarray of bool
        Whether the condition holds, per row of ``inputs``.
    trajectory : pandas.DataFrame
        One row per box of the peeling (and pasting) trajectory: ``box``, ``coverage``,
        ``density``, ``mass`` (share of the runs in the box), ``restricted`` (inputs
        restricted), ``runs`` and ``cases`` (in the box), ``chosen``.
    chosen : int
        The box chosen on the trajectory.
    rule : str
        How it was chosen.
    limits : pandas.DataFrame
        The chosen box, one row per input: ``input``, ``lower``, ``upper`` (the box),
        ``sampled_min``, ``sampled_max`` (the runs), ``restricted``, ``qp_lower``, ``qp_upper``
        (the quasi-p-values of the restricted sides; NaN for a side not restricted).
    settings : dict
        PRIM's settings (peel_alpha, paste_alpha, mass_min) and the library's version.
    """

    where: str
    inputs: pd.DataFrame
    cases: np.ndarray
    trajectory: pd.DataFrame
    chosen: int
    rule: str
    limits: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def box(self) -> dict[str, float]:
        """The chosen box's coverage, density, mass and number of restricted inputs."""
        row = self.trajectory.iloc[self.chosen]
        return {k: float(row[k]) for k in ("coverage", "density", "mass")} | {
            "restricted": int(row["restricted"])
        }

    def summary(self) -> dict[str, Any]:
        """Return what a reader needs in one mapping (written as ``discovery.json``)."""
        restricted = self.limits[self.limits["restricted"]]
        return jsonable(
            {
                "where": self.where,
                "runs": len(self.inputs),
                "cases": int(self.cases.sum()),
                "inputs": [c for c in self.inputs.columns if c != "run"],
                "chosen_box": self.chosen,
                "rule": self.rule,
                **self.box,
                "limits": {
                    r.input: {
                        "lower": r.lower,
                        "upper": r.upper,
                        "qp_lower": r.qp_lower,
                        "qp_upper": r.qp_upper,
                    }
                    for r in restricted.itertuples()
                },
                "prim": self.settings,
            }
        )


def run_series(ens: EnsembleResults) -> pd.DataFrame:
    """Return the series a condition may compare: one row per finished run, columns (series, year).

    The series are the observables (:data:`corridors.results.OBSERVABLES`) and each
    corridor's annual variables as ``<corridor>_<variable>`` (``russian_share``,
    ``middle_volume_t``, ...).

    Parameters
    ----------
    ens : EnsembleResults
        The runs of a sweep or an ensemble.

    Returns
    -------
    pandas.DataFrame
        Indexed by run, in order of run.
    """
    obs = ens.observables.set_index(["run", "year"])[[n for n in OBSERVABLES if n in ens.observables]]
    obs = obs.unstack("year")
    corr = ens.corridors.set_index(["run", "year", "corridor"])[list(CORRIDOR_VARIABLES)].unstack("corridor")
    corr.columns = [f"{c}_{v}" for v, c in corr.columns]
    corr = corr.unstack("year")
    out = pd.concat([obs, corr], axis=1).sort_index()
    out.columns = pd.MultiIndex.from_tuples([(n, int(y)) for n, y in out.columns], names=["series", "year"])
    return out


def run_inputs(ens: EnsembleResults) -> pd.DataFrame:
    """Return the uncertain inputs of the finished runs: ``run``, then each input that varies.

    The inputs are the design's parameter values (swept values and the draws of the
    scenario's ``[uncertainty]``), of the runs that finished; an input that takes one value
    in every run tells nothing and is left out.

    Parameters
    ----------
    ens : EnsembleResults
        The runs of a sweep or an ensemble.

    Returns
    -------
    pandas.DataFrame
        One row per finished run, in order of run.

    Raises
    ------
    corridors.errors.CorridorsError
        No input varies across the runs (an ensemble of a scenario without ``[uncertainty]``).
    """
    finished = ens.outcomes["run"]
    design = ens.design[ens.design["run"].isin(finished)].sort_values("run")
    names = [c for c in design.columns if c not in DESIGN_KEYS and design[c].nunique(dropna=False) > 1]
    if not names:
        msg = (
            "no uncertain input varies across the runs: discover needs a sweep (--param ranges) "
            "or an ensemble of a scenario with an [uncertainty] table"
        )
        raise CorridorsError(None, "runs", msg)
    inputs = design[["run", *names]].reset_index(drop=True)
    for name in names:
        if not pd.api.types.is_numeric_dtype(inputs[name]):
            raise CorridorsError(None, "runs", f"input {name!r} is not numeric; PRIM here takes numbers only")
        inputs[name] = inputs[name].astype(np.float64)
    return inputs


def discover(
    ens: EnsembleResults | str | Path,
    where: str,
    *,
    min_coverage: float = MIN_COVERAGE,
    threshold: float | None = None,
    box: int | None = None,
    peel_alpha: float = PEEL_ALPHA,
) -> Discovery:
    """Find the ranges of the uncertain inputs in which a condition on the runs holds (PRIM).

    Parameters
    ----------
    ens : EnsembleResults, str or Path
        The runs, or the directory of a sweep or an ensemble.
    where : str
        The condition (:func:`~corridors.experiments.conditions.parse_condition`), e.g.
        ``"middle_corridor_t[2030] > 8e6"``.
    min_coverage : float
        By default the chosen box is the densest on the trajectory among those holding at
        least this share of the cases.
    threshold : float, optional
        Choose instead the box of highest coverage among those at least this dense.
    box : int, optional
        Choose instead this box of the trajectory (0: all runs).
    peel_alpha : float
        The share of a box's runs peeled off at each step.

    Returns
    -------
    Discovery
        The trajectory, the chosen box and its limits.

    Raises
    ------
    corridors.errors.CorridorsError
        A malformed condition, a series or year the runs do not record, a condition that
        holds in every run or in none, no varying input, or a bad choice of box.

    Examples
    --------
    >>> d = discover("results/sweep", "middle_corridor_t[2030] > 8e6")  # doctest: +SKIP
    >>> d.limits[d.limits["restricted"]]  # doctest: +SKIP
    """
    if not isinstance(ens, EnsembleResults):
        ens = load_ensemble(ens)
    cond = parse_condition(where)
    series = run_series(ens)
    check_condition(cond, series)
    inputs = run_inputs(ens)
    cases = evaluate(cond, series.loc[inputs["run"]])
    if not cases.any() or cases.all():
        holds = "no run" if not cases.any() else f"every run (all {len(cases)})"
        msg = f"{cond} holds in {holds}: PRIM needs runs where it holds and runs where it does not"
        raise CorridorsError(None, "where", msg)
    return prim_box(
        inputs,
        cases,
        where=str(cond),
        min_coverage=min_coverage,
        threshold=threshold,
        box=box,
        peel_alpha=peel_alpha,
    )


def prim_box(
    inputs: pd.DataFrame,
    cases: np.ndarray,
    *,
    where: str = "",
    min_coverage: float = MIN_COVERAGE,
    threshold: float | None = None,
    box: int | None = None,
    peel_alpha: float = PEEL_ALPHA,
) -> Discovery:
    """Run PRIM on the inputs of the runs and their cases; choose a box on the trajectory.

    Parameters
    ----------
    inputs : pandas.DataFrame
        ``run`` and the numeric inputs, one row per run (:func:`run_inputs`).
    cases : numpy.ndarray of bool
        Whether each run is a case of interest; some must be and some not.
    where : str
        The condition, for the record.
    min_coverage, threshold, box, peel_alpha
        As for :func:`discover`.

    Returns
    -------
    Discovery
        The trajectory, the chosen box and its limits.
    """
    _check_options(min_coverage, threshold, box, peel_alpha)
    prim = _prim_module()
    x = inputs.drop(columns="run").reset_index(drop=True)
    y = np.asarray(cases, dtype=bool).astype(np.int64)
    with warnings.catch_warnings():
        # EMA Workbench 2.5.2 calls DataFrame.drop(inplace=True), which pandas 3.1 deprecates
        # (PDEP-8): harmless until pandas 4, and not ours to fix.
        warnings.filterwarnings("ignore", message="The inplace keyword", category=DeprecationWarning)
        # A binary y: any density threshold in (0, 1] makes the runs with y = 1 the cases;
        # the smallest keeps the whole trajectory whatever its last box's density.
        found = prim.Prim(x, y, threshold=np.nextafter(0.0, 1.0), peel_alpha=peel_alpha).find_box()
    trajectory = pd.DataFrame(
        {
            "box": found.peeling_trajectory["id"].astype(np.int64),
            "coverage": found.peeling_trajectory["coverage"].astype(np.float64),
            "density": found.peeling_trajectory["density"].astype(np.float64),
            "mass": found.peeling_trajectory["mass"].astype(np.float64),
            "restricted": found.peeling_trajectory["res_dim"].astype(np.int64),
            "runs": found.peeling_trajectory["n"].astype(np.int64),
            "cases": found.peeling_trajectory["k"].astype(np.int64),
        }
    ).reset_index(drop=True)
    chosen, rule = _choose(trajectory, min_coverage, threshold, box)
    trajectory["chosen"] = trajectory["box"] == chosen
    limits = _limits(found.box_lims[chosen], found.box_lims[0], found.qp[chosen])
    settings = {
        "peel_alpha": peel_alpha,
        "paste_alpha": found.prim.paste_alpha,
        "mass_min": found.prim.mass_min,
    }
    settings["library"] = f"ema_workbench {_ema_version()}"
    return Discovery(
        where,
        inputs.reset_index(drop=True),
        np.asarray(cases, dtype=bool),
        trajectory,
        chosen,
        rule,
        limits,
        settings,
    )


def _check_options(min_coverage: float, threshold: float | None, box: int | None, peel_alpha: float) -> None:
    if threshold is not None and box is not None:
        raise CorridorsError(None, "box", "choose a box by threshold or by number, not both")
    if not 0.0 <= min_coverage <= 1.0:
        raise CorridorsError(None, "min_coverage", f"must be between 0 and 1, got {min_coverage}")
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise CorridorsError(None, "threshold", f"a density, must be in (0, 1], got {threshold}")
    if not 0.0 < peel_alpha < 0.5:
        raise CorridorsError(None, "peel_alpha", f"must be in (0, 0.5), got {peel_alpha}")


def _choose(
    t: pd.DataFrame, min_coverage: float, threshold: float | None, box: int | None
) -> tuple[int, str]:
    """Pick a box on the trajectory; the first of equals (the least peeled) wins."""
    if box is not None:
        if not 0 <= box < len(t):
            raise CorridorsError(None, "box", f"the trajectory has boxes 0-{len(t) - 1}, got {box}")
        return box, f"box {box} of the trajectory, as asked"
    if threshold is not None:
        ok = t[t["density"] >= threshold]
        if ok.empty:
            msg = f"no box on the trajectory is {threshold:g} dense (the densest: {t['density'].max():.3f})"
            raise CorridorsError(None, "threshold", msg)
        i = int(ok["box"].iloc[int(ok["coverage"].to_numpy().argmax())])
        return i, f"the box of highest coverage among those with density >= {threshold:g}"
    ok = t[t["coverage"] >= min_coverage]  # never empty: box 0 holds every case
    i = int(ok["box"].iloc[int(ok["density"].to_numpy().argmax())])
    return i, f"the box of highest density among those with coverage >= {min_coverage:g}"


def _limits(lims: pd.DataFrame, initial: pd.DataFrame, qp: dict[str, list[float]]) -> pd.DataFrame:
    """One row per input: the box, the sampled range, whether restricted, the quasi-p-values."""
    rows = []
    for name in initial.columns:
        lower, upper = float(lims[name].iloc[0]), float(lims[name].iloc[1])
        low0, high0 = float(initial[name].iloc[0]), float(initial[name].iloc[1])
        qp_lower, qp_upper = qp.get(name, [-1.0, -1.0])
        rows.append(
            {
                "input": name,
                "lower": lower,
                "upper": upper,
                "sampled_min": low0,
                "sampled_max": high0,
                "restricted": bool(lower > low0 or upper < high0),
                "qp_lower": math.nan if qp_lower < 0 else float(qp_lower),
                "qp_upper": math.nan if qp_upper < 0 else float(qp_upper),
            }
        )
    return pd.DataFrame(rows)


def _prim_module():
    """Import EMA Workbench's PRIM (seconds: it loads the whole workbench, so only when needed)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ipyparallel not installed", category=UserWarning)
        from ema_workbench.analysis import prim
    return prim


def _ema_version() -> str:
    from importlib.metadata import version

    return version("ema_workbench")


def write_discovery(d: Discovery, out: str | Path, *, force: bool = False) -> Path:
    """Write a discovery into a directory, atomically.

    ``trajectory.parquet`` / ``.csv`` and ``trajectory.png`` (coverage against density),
    ``box_limits.parquet`` / ``.csv`` and ``box_limits.png`` (the chosen box and its
    quasi-p-values), ``runs.parquet`` (each run's inputs, whether the condition holds and
    whether it falls in the box) and ``discovery.json`` (:meth:`Discovery.summary`).

    Parameters
    ----------
    d : Discovery
        What :func:`discover` found.
    out : str or Path
        The directory.
    force : bool
        Replace an existing directory.

    Returns
    -------
    Path
        The directory.

    Raises
    ------
    FileExistsError
        ``out`` exists and ``force`` is False.
    """
    in_box = np.ones(len(d.inputs), dtype=bool)
    for r in d.limits.itertuples():
        values = d.inputs[r.input].to_numpy()
        in_box &= (values >= r.lower) & (values <= r.upper)
    runs = d.inputs.assign(case=d.cases, in_box=in_box)

    def fill(tmp: Path) -> None:
        for name, table in (("trajectory", d.trajectory), ("box_limits", d.limits)):
            (tmp / f"{name}.parquet").write_bytes(parquet_bytes(table))
            (tmp / f"{name}.csv").write_text(table.to_csv(index=False))
        (tmp / "runs.parquet").write_bytes(parquet_bytes(runs))
        (tmp / "discovery.json").write_text(json.dumps(d.summary(), indent=2))
        (tmp / "trajectory.png").write_bytes(png_bytes(trajectory_plot(d.trajectory, title=d.where), dpi=150))
        (tmp / "box_limits.png").write_bytes(
            png_bytes(box_limits_plot(d.limits, d.box, title=d.where), dpi=150)
        )

    return write_dir_atomic(out, fill, force=force)
