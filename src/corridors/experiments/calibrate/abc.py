"""Bayesian calibration: ABC-SMC (pyabc) on the stochastic model, resumable from its database.

Every simulation draws its free parameters from the current population (the priors of
``calibration.toml`` at first), draws its own seed, sets the corridor constants from the
2019 levels on that seed (as the least-squares fit does, :data:`CONSTANT_TARGETS`), runs the
baseline in stochastic mode (as forecasts run) to 2023, and is compared with the history
by :class:`SeriesDistance`: the standardised error of every observed point, averaged within
each kind of series, the kinds summed with the weights of ``calibration.toml``.

The runs execute on the same executors as ensembles (:class:`Execution`): pyabc's
``ConcurrentFutureSampler`` on the local process pool, or its ``DaskDistributedSampler`` on
the Dask client, each worker prepared as for an ensemble. The database (SQLite) lives in the
output directory; a second call with the same settings loads it and runs only the
generations still missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridors.experiments.calibrate.priors import KINDS, AbcSettings, Prior, load_abc_settings
from corridors.experiments.calibrate.problem import (
    CONSTANT_TARGETS,
    FIT_YEARS,
    MISSING_TRANSIT_ERROR,
    FreeParameter,
    _Evaluator,
)
from corridors.experiments.executors import DaskExecutor, Execution, Executor
from corridors.history import load_history, observed
from corridors.results import OBSERVABLES
from corridors.vocabulary import LAST_OBSERVED_YEAR

__all__ = [
    "FULL",
    "QUICK",
    "AbcFit",
    "AbcOptions",
    "CalibrationModel",
    "SeriesDistance",
    "observed_points",
    "posterior_frame",
    "predictive_draws",
    "run_abc",
]

VOLUME_FLOOR = 0.01  # a modelled volume of zero counts as 1% of the observed (log error ~ -4.6)
SEED_RANGE = 2**31
FIRST_EPSILON = 1e6  # the first generation's threshold: every prior draw is accepted


@dataclass(frozen=True)
class AbcOptions:
    """How big an ABC-SMC run is.

    Parameters
    ----------
    population : int
        Particles per generation.
    generations : int
        Generations in all (a resumed run adds only the missing ones).
    max_simulations : int
        Stop after the generation in which the simulations in all pass this.
    predictive : int
        Posterior predictive simulations (new seeds, particles drawn by weight).
    """

    population: int = 1000
    generations: int = 10
    max_simulations: int = 30_000
    predictive: int = 200

    def __post_init__(self) -> None:
        """Check every count (an integer >= 1; ``population`` >= 2)."""
        for name, least in (("population", 2), ("generations", 1), ("max_simulations", 1), ("predictive", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < least:
                raise ValueError(f"{name}: must be an integer >= {least}, got {v!r}")


FULL = AbcOptions()
"""The calibration of the baseline: 10 generations of 1,000 particles (at least 10,000 simulations)."""
QUICK = AbcOptions(population=8, generations=2, max_simulations=200, predictive=6)
"""A pipeline check (tests, ``--quick``): 8 particles, 2 generations."""


# ----------------------------------------------------------------------- the data and the distance


def _key(series: str, year: int) -> str:
    return f"{series}/{year}"


def observed_points(
    history: pd.DataFrame, settings: AbcSettings, years: tuple[int, int] = FIT_YEARS
) -> pd.DataFrame:
    """One row per observed point in ``years``: series, year, observed, kind, sd, key.

    Raises
    ------
    ValueError
        A series of the history without an observation error in ``calibration.toml``.
    """
    rows = []
    for series in sorted(history["series"].unique()):
        if series not in settings.errors:
            raise ValueError(f"{settings.path.name}: no observation error for the series {series!r}")
        err = settings.errors[series]
        for year, value in observed(history, series).items():
            if years[0] <= year <= years[1]:
                rows.append(
                    {
                        "series": series,
                        "year": int(year),
                        "observed": float(value),
                        "kind": err.kind,
                        "sd": err.sd,
                        "key": _key(series, int(year)),
                    }
                )
    return pd.DataFrame(rows, columns=["series", "year", "observed", "kind", "sd", "key"])


def standardised_errors(points: pd.DataFrame, modelled: Mapping[str, float]) -> np.ndarray:
    """Return the standardised error of every point: ``log(model / observed) / sd``, or ``(model - observed) / sd`` for shares."""
    m = np.array([float(modelled.get(k, np.nan)) for k in points["key"]])
    o = points["observed"].to_numpy(float)
    sd = points["sd"].to_numpy(float)
    share = (points["kind"] == "share").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(np.maximum(m, VOLUME_FLOOR * o) / o)
    z = np.where(share, (m - o) / sd, ratio / sd)
    return np.where(np.isfinite(z), z, MISSING_TRANSIT_ERROR / sd)  # no modelled value: a 100% error


class SeriesDistance:
    """The distance between a simulation and the history (``SOURCES.md``, A-abc-distance).

    ``d = sqrt(sum over kinds of weight(kind) * mean over the kind's points of z ** 2)``, with
    ``z`` the standardised error of each point (:func:`standardised_errors`). A picklable
    callable ``distance(x, x0)`` for pyabc; ``x0`` (the observed summary) is not read: the
    observed points are fixed when the distance is made.
    """

    def __init__(self, points: pd.DataFrame, kind_weights: Mapping[str, float]) -> None:
        self.points = points.reset_index(drop=True)
        kinds = self.points["kind"].to_numpy()
        counts = {k: int((kinds == k).sum()) for k in KINDS}
        self.point_weights = np.array([kind_weights[k] / counts[k] for k in kinds])

    def per_point_weights(self) -> dict[str, float]:
        """Return the weight of one point of each kind (the kind's weight over its number of points)."""
        out = {}
        for k, w in zip(self.points["kind"], self.point_weights, strict=True):
            out[k] = float(w)
        return out

    def __call__(self, x: Mapping[str, float], x0: Mapping[str, float] | None = None, *args: Any) -> float:
        """Return the distance of the simulated summary ``x`` from the history."""
        z = standardised_errors(self.points, x)
        return float(math.sqrt(np.sum(self.point_weights * z**2)))


# ----------------------------------------------------------------------- the model


_EVALUATORS: dict[tuple, _Evaluator] = {}  # one per worker process and (scenario, parameters, end year)


class CalibrationModel:
    """The simulation pyabc calls: free parameters in, every observable of 2019-2023 out.

    Picklable (it carries the resolved scenario's text); the runs' evaluator is built once
    per worker process. Each call draws its seed from NumPy's global generator (which pyabc
    seeds per worker), sets the corridor constants on that seed, and returns a flat summary:
    ``"series/year"`` for every observable and year, ``"constant/<name>"`` for the constants
    set, and ``"seed"``.
    """

    def __init__(
        self, scenario_toml: str, names: Sequence[str], *, end_year: int = LAST_OBSERVED_YEAR
    ) -> None:
        self.scenario_toml = scenario_toml
        self.names = tuple(names)
        self.end_year = end_year

    def _evaluator(self) -> _Evaluator:
        key = (hashlib.sha256(self.scenario_toml.encode()).hexdigest(), self.names, self.end_year)
        ev = _EVALUATORS.get(key)
        if ev is None:
            from corridors.experiments.executors import prepare_worker
            from corridors.experiments.plans import _scenario_from_toml

            prepare_worker()
            free = [FreeParameter(n, -math.inf, math.inf, "ABC") for n in self.names]
            sc = _scenario_from_toml(self.scenario_toml)
            ev = _Evaluator(free, scenario=sc, stochastic=True, end_year=self.end_year, seeds=(0,))
            _EVALUATORS[key] = ev
        return ev

    def simulate(self, values: Mapping[str, float], seed: int) -> dict[str, float]:
        """Run the model at ``values`` with ``seed``: the flat summary (class docstring)."""
        ev = self._evaluator()
        theta = [float(values[n]) for n in self.names]
        obs = ev.observables(theta, seeds=(seed,))
        out: dict[str, float] = {"seed": float(seed)}
        for name in OBSERVABLES:
            for year, v in obs[name].items():
                out[_key(name, int(year))] = float(v)
        for name, v in ev.constants(theta, seeds=(seed,)).items():
            out[f"constant/{name}"] = float(v)
        ev.cache.clear()  # every call has a new seed: nothing to reuse
        ev.constants_of.clear()
        return out

    def __call__(self, pars: Mapping[str, float]) -> dict[str, float]:
        """Simulate with a seed drawn now (pyabc's model interface)."""
        return self.simulate(pars, int(np.random.randint(SEED_RANGE)))  # noqa: NPY002 (pyabc's generator)


def _predict(task: tuple[CalibrationModel, dict[str, float], int]) -> dict[str, float]:
    model, values, seed = task
    return model.simulate(values, seed)


# ----------------------------------------------------------------------- priors for pyabc


def _prior_rv(prior: Prior):
    import pyabc  # lazy: +1 s to import; only the Bayesian calibration needs it

    dist = prior.dist

    class PriorRV(pyabc.RVBase):
        """A bounded distribution of corridors.uncertainty as a pyabc random variable."""

        def copy(self):
            return PriorRV()

        def rvs(self, *args, **kwargs) -> float:
            return float(dist.ppf(np.random.random()))  # noqa: NPY002 (pyabc draws from NumPy's global one)

        def pdf(self, x, *args, **kwargs) -> float:
            return float(dist.pdf(x))

        def pmf(self, x, *args, **kwargs) -> float:
            return float(dist.pdf(x))

        def cdf(self, x, *args, **kwargs) -> float:
            grid = dist.ppf(np.linspace(0.0, 1.0, 2001))
            return float(np.searchsorted(grid, x, side="right") / len(grid))

    return PriorRV()


def _prior(settings: AbcSettings):
    import pyabc

    return pyabc.Distribution(**{p.name: _prior_rv(p) for p in settings.priors})


# ----------------------------------------------------------------------- running


@dataclass
class AbcFit:
    """The outcome of :func:`run_abc`: the last population, its generations and its predictive draws."""

    posterior: pd.DataFrame
    """One row per particle: particle, generation, weight (summing to 1), distance, the free
    parameters and the corridor constants set for it."""
    generations: pd.DataFrame
    """One row per generation: generation, epsilon, particles, simulations, acceptance, ess."""
    points: pd.DataFrame
    """The observed points fitted (:func:`observed_points`)."""
    predictive: pd.DataFrame
    """Posterior predictive draws: draw, particle, seed, then ``series/year`` columns."""
    settings: AbcSettings
    options: AbcOptions
    years: tuple[int, int]
    simulations: int
    simulations_this_session: int
    generations_this_session: int
    seconds: float
    executor: dict[str, Any] = field(default_factory=dict)


def _fingerprint(
    scenario_toml: str, settings: AbcSettings, points: pd.DataFrame, options: AbcOptions
) -> dict[str, Any]:
    """Return what must match for a database to be resumed (the number of generations may grow)."""
    return {
        "scenario_sha256": hashlib.sha256(scenario_toml.encode()).hexdigest(),
        "priors": {p.name: p.describe() for p in settings.priors},
        "kind_weights": settings.kind_weights,
        "points": json.loads(points.to_json(orient="records")),
        "population": options.population,
    }


def _sampler(ex: Executor):
    from pyabc.sampler import ConcurrentFutureSampler, DaskDistributedSampler

    jobs = 2 * max(1, ex.workers)
    if isinstance(ex, DaskExecutor):
        return DaskDistributedSampler(dask_client=ex.submitter(), client_max_jobs=jobs, batch_size=1)
    return ConcurrentFutureSampler(cfuture_executor=ex.submitter(), client_max_jobs=jobs, batch_size=1)


def _generations(history) -> pd.DataFrame:
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].sort_values("t")
    rows = []
    for r in pops.itertuples():
        _, w = history.get_distribution(t=int(r.t))
        w = np.asarray(w, float)
        particles = len(w)
        rows.append(
            {
                "generation": int(r.t),
                "epsilon": float(r.epsilon),
                "particles": particles,
                "simulations": int(r.samples),
                "acceptance": particles / int(r.samples) if r.samples else math.nan,
                "ess": float(w.sum() ** 2 / np.sum(w**2)),
            }
        )
    return pd.DataFrame(rows)


def posterior_frame(history, names: Sequence[str]) -> pd.DataFrame:
    """Return the last population of a pyabc history as the posterior table (:attr:`AbcFit.posterior`)."""
    t = int(history.max_t)
    pop = history.get_population(t=t)
    rows = []
    for i, p in enumerate(pop.particles):
        row = {"particle": i, "generation": t, "weight": float(p.weight), "distance": float(p.distance)}
        row |= {n: float(p.parameter[n]) for n in names}
        row |= {n: float(p.sum_stat[f"constant/{n}"]) for n in CONSTANT_TARGETS}
        rows.append(row)
    out = pd.DataFrame(rows)
    out["weight"] = out["weight"] / out["weight"].sum()
    return out


def _weighted_choice(weights: np.ndarray, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(np.random.SeedSequence(seed)).choice(len(weights), size=n, p=weights)


def predictive_draws(
    model: CalibrationModel, posterior: pd.DataFrame, n: int, seed: int, ex: Executor
) -> pd.DataFrame:
    """Simulate ``n`` posterior predictive runs: particles drawn by weight, each with a new seed.

    The particles and seeds come from ``seed`` alone, so the draws do not depend on which
    worker ran them. Returns one row per draw: draw, particle, seed and the summary columns.
    """
    names = [c for c in posterior.columns if c not in ("particle", "generation", "weight", "distance")]
    picks = _weighted_choice(posterior["weight"].to_numpy(float), n, seed)
    seeds = np.random.default_rng(np.random.SeedSequence([seed, 1])).integers(0, SEED_RANGE, size=n)
    tasks = []
    for i in picks:
        row = posterior.iloc[int(i)]
        values = {k: float(row[k]) for k in names if k in model.names}
        tasks.append((model, values, int(seeds[len(tasks)])))
    out: dict[int, dict[str, float]] = {}
    for i, result, error in ex.imap_unordered(_predict, tasks):
        if error is not None:
            raise RuntimeError(f"posterior predictive draw {i} failed: {error}") from error
        out[i] = result
    rows = [{"draw": i, "particle": int(picks[i]), **out[i]} for i in range(n)]
    return pd.DataFrame(rows)


def run_abc(
    db: str | Path,
    *,
    history: pd.DataFrame | None = None,
    years: tuple[int, int] = FIT_YEARS,
    options: AbcOptions = FULL,
    execution: Execution | None = None,
    settings: AbcSettings | None = None,
    scenario=None,
    seed: int = 0,
    on_generation: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> AbcFit:
    """Run (or resume) ABC-SMC of the free parameters against ``history`` in ``years``.

    Parameters
    ----------
    db : path
        The SQLite database of the run (created, or loaded to resume). A sibling
        ``<db>.settings.json`` records what must match to resume it.
    history : pandas.DataFrame, optional
        The observed history (default ``history.csv``); a synthetic one for a recovery check.
    years : (first, last)
        The observed years fitted (the rolling-origin checks fit fewer).
    options : AbcOptions
        Population, generations, the simulations' cap, the predictive draws.
    execution : Execution, optional
        Where the simulations run, as for ensembles (default: local processes on every core).
    settings : AbcSettings, optional
        Priors, observation errors, kind weights (default ``calibration.toml``).
    scenario : Scenario, optional
        The scenario calibrated (default the baseline).
    seed : int
        Seeds NumPy's global generator here (the first generation's draws with one worker)
        and the posterior predictive draws.
    on_generation : callable, optional
        Called as ``on_generation(generations_done, generations)`` as generations finish.
    executor : Executor, optional
        An executor already started (several fits share its workers); default one made from
        ``execution`` for this fit.

    Returns
    -------
    AbcFit

    Raises
    ------
    FileExistsError
        ``db`` holds a run with other settings (scenario, priors, errors, points, population).
    ValueError
        Bad options, or a history series without an observation error.
    """
    import pyabc

    from corridors.experiments.calibrate.problem import _baseline

    t0 = time.perf_counter()
    history = load_history() if history is None else history
    settings = load_abc_settings() if settings is None else settings
    execution = Execution() if execution is None else execution
    sc = _baseline() if scenario is None else scenario
    text = sc.to_toml()
    points = observed_points(history, settings, years)
    names = settings.names
    model = CalibrationModel(text, names, end_year=LAST_OBSERVED_YEAR)
    distance = SeriesDistance(points, settings.kind_weights)
    observed_summary = dict(zip(points["key"], points["observed"].astype(float), strict=True))
    db = Path(db)
    stamp = db.with_name(db.name + ".settings.json")
    want = _fingerprint(text, settings, points, options)
    resume = db.exists() and stamp.exists()
    if db.exists() and not resume:
        raise FileExistsError(
            f"{db}: a database without its settings ({stamp.name}): remove it or use --force"
        )
    if resume and json.loads(stamp.read_text()) != want:
        raise FileExistsError(
            f"{db}: holds an ABC run with other settings (scenario, priors, observation errors, points or "
            "population): use another --out or --force"
        )
    db.parent.mkdir(parents=True, exist_ok=True)
    np.random.seed(seed % SEED_RANGE)  # noqa: NPY002 (pyabc draws from NumPy's global generator)
    ex = execution.make_executor() if executor is None else executor
    with ex if executor is None else contextlib.nullcontext(ex):
        abc = pyabc.ABCSMC(
            model,
            _prior(settings),
            distance,
            population_size=options.population,
            sampler=_sampler(ex),
            # the first generation accepts every prior draw (no separate calibration sample of
            # the same size; distances are of order 1-100, so 1e6 accepts all, and a finite
            # value keeps pyabc's stopping check free of inf - inf); each later generation
            # the median distance of the one before
            eps=pyabc.MedianEpsilon(initial_epsilon=FIRST_EPSILON),
        )
        if resume:
            hist = abc.load(f"sqlite:///{db}", 1)
        else:
            hist = abc.new(f"sqlite:///{db}", observed_summary)
            stamp.write_text(json.dumps(want, indent=1))
        done_before = int(hist.max_t) + 1 if hist.n_populations else 0
        sims_before = int(hist.total_nr_simulations) if done_before else 0
        remaining = options.generations - done_before
        if on_generation is not None:
            on_generation(done_before, options.generations)
        if remaining > 0 and sims_before < options.max_simulations:
            hist = abc.run(
                max_nr_populations=remaining,
                max_total_nr_simulations=options.max_simulations,
            )
        done = int(hist.max_t) + 1
        if on_generation is not None:
            on_generation(done, options.generations)
        posterior = posterior_frame(hist, names)
        generations = _generations(hist)
        predictive = predictive_draws(model, posterior, options.predictive, seed, ex)
        described = ex.describe()
    total = int(hist.total_nr_simulations)
    return AbcFit(
        posterior=posterior,
        generations=generations,
        points=points,
        predictive=predictive,
        settings=settings,
        options=options,
        years=tuple(years),
        simulations=total,
        simulations_this_session=total - sims_before,
        generations_this_session=done - done_before,
        seconds=time.perf_counter() - t0,
        executor=described,
    )


def synthetic_history(
    values: Mapping[str, float], *, seed: int, like: pd.DataFrame | None = None, scenario=None
) -> pd.DataFrame:
    """Build a history with the points of ``like`` (default history.csv), valued by one stochastic run at ``values``.

    The recovery check fits this back: the run uses ``seed`` and the constants set from
    2019 on it, as every simulation of the calibration does.
    """
    from corridors.experiments.calibrate.problem import _baseline

    like = load_history() if like is None else like
    sc = _baseline() if scenario is None else scenario
    model = CalibrationModel(sc.to_toml(), list(values))
    summary = model.simulate(values, seed)
    out = like.copy()
    out["value"] = [
        summary.get(_key(s, int(y)), np.nan) for s, y in zip(out["series"], out["year"], strict=True)
    ]
    if out["value"].isna().any():
        missing = out.loc[out["value"].isna(), ["series", "year"]].to_numpy().tolist()
        raise ValueError(f"synthetic history: the model has no value for {missing} at {dict(values)}")
    return out
