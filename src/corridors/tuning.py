"""Interactive tuning: a scenario re-run, deterministic and fast, for each change of a few levers.

``notebooks/02_tune_parameters.ipynb`` binds one ipywidgets slider to each lever of
:data:`LEVERS` and calls :meth:`Tuner.update` on every change; the tests call the same method
without a browser. This module does not import ipywidgets (an optional extra): it holds the
levers and the re-run, and draws with :class:`corridors.plots.TunerFigure` (one figure whose
lines each update replaces); all package code, so that it is linted and tested like the rest.

A lever is one of the main behavioural and policy inputs:

- sanction intensity: ``russia_premium_usd_per_t`` and ``russia_avoidance_share`` (the
  premium on EU-linked freight through Russia from 2022Q1, and the share of EU-bound transit
  banned from Russian routes from 2022Q2: :func:`corridors.known_events.baseline_events`);
- investment size and timing: ``caspian_capacity_factor`` and ``caspian_investment_year`` (an
  :class:`~corridors.events.Investment` multiplying the capacity of every Caspian crossing to
  and from Baku/Alat, rail ferries, container feeders and tankers, from Q1 of that year);
- choice scale: ``cost_elasticity``;
- alignments: ``alignment_russia_shift`` and ``alignment_west_shift``, added to each of the
  five states' alignment with Russia and with the West (clipped to [0, 1]);
- sea rates: ``sea_rate_factor``, a multiplier on the deep-sea container rate from 2026Q1 on.

Runs are deterministic (``stochastic=False``) and stop at ``end_year`` (default 2030): an
update takes about 0.3-0.4 s on two cores once the first run has loaded the Numba cache (0.25 s
to 2027), nearly all of it the model's run.

Example::

    from corridors.tuning import Tuner

    tuner = Tuner("baseline", end_year=2030)      # runs the reference once (warm-up)
    res, fig, seconds = tuner.update(russia_premium_usd_per_t=120.0)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from corridors.events import Event, Investment
from corridors.experiments.runs import run
from corridors.parameters import Parameters
from corridors.plots import TunerFigure
from corridors.results import Results
from corridors.scenario import Scenario, find_scenario, load_scenario
from corridors.vocabulary import BASE_YEAR, C5, quarter_index, quarter_label

if TYPE_CHECKING:  # the figure is drawn by corridors.plots; only its type is named here
    from matplotlib.figure import Figure

__all__ = ["LEVERS", "Lever", "Tuner", "Update"]

# Sea-rate changes, like every hypothetical event of the shipped scenarios, start after the
# C5+1 summit of November 2025 (scenarios/README.md), so 2019-2025 stay the known history.
SEA_RATE_FROM = "2026Q1"
# The investment's links: the Caspian crossings between Aktau, Kuryk, Turkmenbashi and
# Baku/Alat (rail ferries, container feeders, tankers: the links of projects.csv's
# caspian_ferry_newbuilds and caspian_feeder_fleet_expansion, and the tanker link), found by
# node and mode so that the selection does not depend on edge ids. The feeders bind first.
CASPIAN_NODES = ("baku_alat",)
CASPIAN_MODES = ("ferry", "sea")


@dataclass(frozen=True)
class Lever:
    """One slider: its range, step, default ("no change" unless a parameter's default) and unit.

    ``label`` names the lever with its unit in brackets (``"Russia premium (USD/t)"``), as
    sliders, the notebook and the figure's title show it; ``name`` is the short name alone.
    """

    name: str
    title: str
    unit: str
    low: float
    high: float
    step: float
    default: float
    help: str
    integer: bool = False

    @property
    def label(self) -> str:
        """The lever's title and unit: ``"Russia premium (USD/t)"``."""
        return f"{self.title} ({self.unit})"


def _levers() -> dict[str, Lever]:
    p = Parameters()
    levers = (
        Lever("russia_premium_usd_per_t", "Russia premium", "USD/t", 0.0, 200.0, 5.0, p.russia_premium_usd_per_t,
              "Premium on EU-linked freight through Russia from 2022Q1 (sanctions, insurance, compliance)."),
        Lever("russia_avoidance_share", "Russia avoidance", "share of EU transit", 0.0, 1.0, 0.05,
              p.russia_avoidance_share,
              "Share of EU-bound transit that stopped using Russia from 2022Q2 (a ban on that share)."),
        Lever("caspian_capacity_factor", "Caspian capacity", "x today", 1.0, 4.0, 0.1, 1.0,
              "Investment: factor on the capacity of the Caspian crossings to Baku/Alat (1 = none)."),
        Lever("caspian_investment_year", "Investment year", "from Q1", 2026.0, 2035.0, 1.0, 2027.0,
              "Year (Q1) from which the Caspian investment adds its capacity.", integer=True),
        Lever("cost_elasticity", "Cost elasticity", "logit exponent", 0.5, 20.0, 0.25, p.cost_elasticity,
              "Choice scale: shares ~ (cost / cheapest cost) ** -elasticity."),
        Lever("alignment_russia_shift", "Alignment with Russia", "+ points of 0-1", -0.5, 0.5, 0.05, 0.0,
              "Added to each of the five states' alignment with Russia (clipped to [0, 1])."),
        Lever("alignment_west_shift", "Alignment with the West", "+ points of 0-1", -0.5, 0.5, 0.05, 0.0,
              "Added to each of the five states' alignment with the West (clipped to [0, 1])."),
        Lever("sea_rate_factor", "Sea rate", "x the scenario's", 0.25, 3.0, 0.05, 1.0,
              f"Factor on the deep-sea container rate from {SEA_RATE_FROM} on (1 = the scenario's rates)."),
    )  # fmt: skip
    return {lever.name: lever for lever in levers}


LEVERS: dict[str, Lever] = _levers()
"""The levers by name, in the order the notebook shows them; a :class:`Tuner`'s ``levers`` are
these with the scenario's values as defaults, ranges widened to hold them."""


def _around(lever: Lever, default: float) -> Lever:
    """``lever`` with ``default``, its range widened to hold it (a fitted value may lie outside)."""
    return replace(lever, default=default, low=min(lever.low, default), high=max(lever.high, default))


class Update(NamedTuple):
    """What one change of the levers gives: the run, the redrawn figure, and the seconds it took."""

    results: Results
    figure: Figure
    seconds: float


class Tuner:
    """Re-runs one scenario with changed levers and redraws corridor volumes and shares.

    Parameters
    ----------
    scenario : Scenario, path or name
        The scenario to tune (a :class:`~corridors.scenario.Scenario`, a file, or the name
        of a shipped one).
    end_year : int
        Last simulated year; shorter is faster (every run starts in 2019).
    seed : int, optional
        Passed to :func:`corridors.run`; irrelevant since runs are deterministic.

    The constructor runs the scenario once with every lever at its default: the reference,
    drawn dashed, and the warm-up (the first run of a process loads the Numba cache).
    """

    def __init__(
        self, scenario: Scenario | str | Path = "baseline", *, end_year: int = 2030, seed: int | None = None
    ) -> None:
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(find_scenario(scenario))
        if not sc.period.report_from <= end_year:
            msg = f"end_year: {end_year} is before the scenario's report_from {sc.period.report_from}"
            raise ValueError(msg)
        self.scenario = sc
        self.end_year = end_year
        self.seed = seed
        base = sc.parameters()
        self.levers: dict[str, Lever] = dict(LEVERS)
        for name in ("russia_premium_usd_per_t", "russia_avoidance_share", "cost_elasticity"):
            self.levers[name] = _around(LEVERS[name], float(getattr(base, name)))
        self.defaults: dict[str, float] = {name: lever.default for name, lever in self.levers.items()}
        self.values: dict[str, float] = dict(self.defaults)
        self.reference = self.run()
        self.results = self.reference
        self._figure = TunerFigure(self.reference, f"{sc.name} to {end_year}")
        self.figure: Figure = self._figure.figure

    # ---------------------------------------------------------------- running

    def resolve(self, **values: float) -> dict[str, float]:
        """Resolve the full set of lever values: the current ones with ``values`` changed.

        Unknown names and values outside a lever's range raise ``ValueError``.
        """
        unknown = sorted(set(values) - set(self.levers))
        if unknown:
            msg = f"unknown lever(s) {', '.join(unknown)}; the levers are {', '.join(self.levers)}"
            raise ValueError(msg)
        out = dict(self.values)
        for name, value in values.items():
            lever = self.levers[name]
            value = float(value)
            if not lever.low <= value <= lever.high:
                msg = f"{name}: {value} is outside [{lever.low}, {lever.high}]"
                raise ValueError(msg)
            out[name] = value
        return out

    def inputs(self, **values: float) -> tuple[Scenario, Parameters, list[Event]]:
        """Build the scenario (with its sea rates), parameters and timeline that ``values`` give."""
        v = self.resolve(**values)
        sc = self.scenario
        base = sc.parameters()
        alignment = {state: dict(row) for state, row in base.alignment.items()}
        for state in C5:
            row = alignment[state]
            row["russia"] = float(np.clip(row["russia"] + v["alignment_russia_shift"], 0.0, 1.0))
            row["west"] = float(np.clip(row["west"] + v["alignment_west_shift"], 0.0, 1.0))
        params = base.replace(
            russia_premium_usd_per_t=v["russia_premium_usd_per_t"],
            russia_avoidance_share=v["russia_avoidance_share"],
            cost_elasticity=v["cost_elasticity"],
            alignment=alignment,
        )
        events = sc.events(params)
        if v["caspian_capacity_factor"] != 1.0:
            year = round(v["caspian_investment_year"])
            events.append(
                Investment(
                    start=f"{year}Q1",
                    funder="tuning",
                    nodes=CASPIAN_NODES,
                    modes=CASPIAN_MODES,
                    capacity_factor=v["caspian_capacity_factor"],
                    note="tuning: Caspian crossing capacity",
                )
            )
        if v["sea_rate_factor"] != 1.0:
            sc = sc.model_copy(update={"sea_rates": self._sea_rates(v["sea_rate_factor"])})
        return sc, params, events

    def _sea_rates(self, factor: float) -> list:
        """Scale the scenario's sea rates by ``factor`` from SEA_RATE_FROM to the end of the run."""
        from corridors.inputs import packaged_inputs
        from corridors.scenario import SeaRate

        inputs = packaged_inputs().with_sea_rates(self.scenario.sea_rate_overrides())
        first = quarter_index(SEA_RATE_FROM)
        kept = [r for r in self.scenario.sea_rates if quarter_index(r.quarter) < first]
        rows = []
        for step in range(first, (self.end_year - BASE_YEAR + 1) * 4):
            usd, cape = inputs.sea_rate(step)
            rows.append(SeaRate(quarter=quarter_label(step), usd_per_feu=usd * factor, cape_detour_days=cape))
        return kept + rows

    def run(self, **values: float) -> Results:
        """One deterministic run of the scenario with ``values`` changed (the others as they are)."""
        sc, params, events = self.inputs(**values)
        return run(sc, seed=self.seed, params=params, events=events, end_year=self.end_year, stochastic=False)

    def update(self, *, draw: bool = True, **values: float) -> Update:
        """Change levers, re-run, redraw; the callback of the notebook's sliders.

        Returns the run, the figure (the same :class:`Figure` each time, its lines replaced)
        and the seconds taken by the run and the redraw together. ``draw=False`` leaves the
        figure as it was (a calibration or a script that only wants the numbers).
        """
        start = time.perf_counter()
        resolved = self.resolve(**values)
        res = self.run(**resolved)
        self.values, self.results = resolved, res
        if draw:
            self._figure.update(res, {self.levers[n].label: v for n, v in self.changes().items()})
        return Update(res, self.figure, time.perf_counter() - start)

    def changes(self) -> Mapping[str, float]:
        """Give the levers whose current value differs from the default."""
        return {n: v for n, v in self.values.items() if v != self.defaults[n]}
