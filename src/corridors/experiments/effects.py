"""A scenario's claims (``[[expect]]``) checked against the baseline: the runs, the comparisons, the rows.

:func:`check_effects` runs a scenario and the baseline with the same seed, period and
stochastic mode, and returns one row per claim: the values compared, the ratio and the
change, and whether the claim held. :func:`compare` is the comparison of one year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from corridors.experiments.runs import run
from corridors.observables import MEASURES, QUALIFIERS
from corridors.results.measures import measure
from corridors.scenario import Scenario, find_scenario, load_scenario

if TYPE_CHECKING:
    from corridors.results import Results
    from corridors.scenario.schema import Claim

__all__ = [
    "EFFECT_COLUMNS",
    "EffectRuns",
    "baseline_scenario",
    "check_effects",
    "claim_rows",
    "compare",
    "effect_runs",
    "format_test",
    "format_value",
]

EFFECT_COLUMNS = (
    "scenario",
    "claim",
    "observable",
    "qualifiers",
    "years",
    "year",
    "test",
    "bound",
    "unit",
    "scenario_value",
    "baseline_value",
    "ratio",
    "change",
    "held",
)
"""The columns of :func:`check_effects`' table."""

_TESTS = {
    "ratio_at_most": "ratio <=",
    "ratio_at_least": "ratio >=",
    "change_at_most": "change <=",
    "change_at_least": "change >=",
    "above": "value >",
    "below": "value <",
}


def compare(kind: str, bound: float, scenario: float, baseline: float) -> tuple[float, bool]:
    """Compare a scenario's value with the baseline's, as a claim's comparison says.

    Parameters
    ----------
    kind : str
        ``ratio_at_most``, ``ratio_at_least`` (on ``scenario / baseline``),
        ``change_at_most``, ``change_at_least`` (on ``scenario - baseline``), ``above`` or
        ``below`` (on ``scenario``, strictly).
    bound : float
        The claim's number.
    scenario, baseline : float
        The two values of one year.

    Returns
    -------
    tuple of (float, bool)
        The quantity compared (the ratio, the change or the value), and whether the claim
        holds. A ratio to a baseline of 0, or any NaN, is NaN, and the claim does not hold.

    Examples
    --------
    >>> compare("ratio_at_most", 0.6, 12.0, 24.0)
    (0.5, True)
    >>> compare("change_at_least", 0.0, 1.0, 2.0)
    (-1.0, False)
    >>> compare("above", 0.0, 0.0, 0.0)
    (0.0, False)
    """
    if kind not in _TESTS:
        msg = f"compare: unknown comparison {kind!r}; expected one of {', '.join(_TESTS)}"
        raise ValueError(msg)
    if kind.startswith("ratio"):
        value = scenario / baseline if baseline != 0 else math.nan
    elif kind.startswith("change"):
        value = scenario - baseline
    else:
        value = scenario
    if math.isnan(value):
        return value, False
    held = {
        "ratio_at_most": value <= bound,
        "ratio_at_least": value >= bound,
        "change_at_most": value <= bound,
        "change_at_least": value >= bound,
        "above": value > bound,
        "below": value < bound,
    }[kind]
    return value, bool(held)


def _margin(kind: str, bound: float, value: float) -> float:
    """How far a year's compared quantity is inside its bound (negative: outside; NaN: -inf)."""
    if math.isnan(value):
        return -math.inf
    return bound - value if kind.endswith(("at_most", "below")) else value - bound


@dataclass(frozen=True)
class EffectRuns:
    """A scenario's run and the baseline's, with the same seed, period and stochastic mode."""

    scenario: Scenario
    result: Results
    baseline: Results
    seed: int
    stochastic: bool


def baseline_scenario(sc: Scenario) -> Scenario:
    """Return the baseline (``baseline.toml``) over the period of ``sc``: what its claims compare with.

    Parameters
    ----------
    sc : Scenario
        The scenario whose claims are checked.

    Returns
    -------
    Scenario
        The shipped baseline with ``sc``'s ``end_year`` and ``report_from``.
    """
    period = {"period.end_year": sc.period.end_year, "period.report_from": sc.period.report_from}
    return load_scenario(find_scenario("baseline"), overrides=period)


def effect_runs(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    stochastic: bool = False,
    baseline: Results | None = None,
) -> EffectRuns:
    """Run a scenario and the baseline (``baseline.toml``) with its seed, period and stochastic mode.

    Parameters
    ----------
    scenario : Scenario, path or name
        The scenario.
    seed : int, optional
        The seed of both runs (default: the scenario's, else the baseline's, else 0).
    stochastic : bool
        Random draws (weather, disruptions, whether and when pledges deliver) in both runs;
        False (the default) delivers the pledges of probability 0.5 or more, on time.
    baseline : Results, optional
        The baseline's run, if already made with this seed, period and mode (it is not
        checked).

    Returns
    -------
    EffectRuns
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(find_scenario(scenario))
    base_sc = baseline_scenario(sc)
    if seed is None:
        seed = next((s for s in (sc.seed, base_sc.seed) if s is not None), 0)
    res = run(sc, seed=seed, stochastic=stochastic)
    if baseline is None:
        baseline = run(base_sc, seed=seed, stochastic=stochastic)
    return EffectRuns(sc, res, baseline, seed, stochastic)


def claim_rows(runs: EffectRuns) -> pd.DataFrame:
    """Return one row per claim of the scenario (:data:`EFFECT_COLUMNS`), from its runs.

    For a claim over several years (``to_year``), the row gives the first year where it
    fails, or, if it holds in every year, the year where it holds with the least margin.

    Parameters
    ----------
    runs : EffectRuns
        The scenario's run and the baseline's.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EFFECT_COLUMNS`: the scenario's name, the claim's text, its measure
        and qualifiers, the years it covers, the year reported, the test (``ratio <=``, ...)
        and its bound, the measure's unit, the two values, their ratio and change, and
        ``held``.
    """
    rows = [_claim_row(runs, claim) for claim in runs.scenario.expect]
    return pd.DataFrame(rows, columns=list(EFFECT_COLUMNS)).astype({"held": bool})


def _qualifiers(claim: Claim) -> dict:
    return {q: getattr(claim, q) for q in QUALIFIERS if getattr(claim, q) is not None}


def _claim_row(runs: EffectRuns, claim: Claim) -> dict:
    qualifiers = _qualifiers(claim)
    s = measure(runs.result, claim.observable, **qualifiers)
    b = measure(runs.baseline, claim.observable, **qualifiers)
    ((kind, bound),) = claim.comparisons().items()
    checked = []
    for year in claim.years():
        sv, bv = float(s.get(year, math.nan)), float(b.get(year, math.nan))
        value, held = compare(kind, bound, sv, bv)
        checked.append((held, _margin(kind, bound, value), year, sv, bv))
    failed = [c for c in checked if not c[0]]
    held, _, year, sv, bv = failed[0] if failed else min(checked, key=lambda c: c[1])
    years = claim.years()
    return {
        "scenario": runs.scenario.name,
        "claim": claim.claim,
        "observable": claim.observable,
        "qualifiers": ", ".join(f"{q}={_text(v)}" for q, v in qualifiers.items()),
        "years": str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}",
        "year": year,
        "test": _TESTS[kind],
        "bound": bound,
        "unit": MEASURES[claim.observable].unit,
        "scenario_value": sv,
        "baseline_value": bv,
        "ratio": sv / bv if bv != 0 and not math.isnan(bv) else math.nan,
        "change": sv - bv,
        "held": not failed,
    }


def _text(value) -> str:
    return "+".join(value) if isinstance(value, list) else str(value)


def check_effects(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    stochastic: bool = False,
) -> pd.DataFrame:
    """Run a scenario and the baseline, and check each of the scenario's ``[[expect]]`` claims.

    The baseline is ``baseline.toml`` with the scenario's seed, period and stochastic mode.

    Parameters
    ----------
    scenario : Scenario, path or name
        The scenario (a file, or the name of a shipped one).
    seed : int, optional
        The seed of both runs (default: the scenario's).
    stochastic : bool
        Random draws in both runs; False (the default): no weather or disruptions, and the
        pledges of probability 0.5 or more delivered on time, so that a claim checks the
        lever's mechanism rather than one draw.

    Returns
    -------
    pandas.DataFrame
        One row per claim (:func:`claim_rows`); empty if the scenario makes none (then
        nothing is run).

    Raises
    ------
    ScenarioError
        If the scenario file, or a claim in it, is invalid.

    Examples
    --------
    >>> import corridors
    >>> table = corridors.check_effects("eu_global_gateway")  # doctest: +SKIP
    >>> table[["claim", "scenario_value", "baseline_value", "held"]]  # doctest: +SKIP
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(find_scenario(scenario))
    if not sc.expect:
        return pd.DataFrame(columns=list(EFFECT_COLUMNS))
    return claim_rows(effect_runs(sc, seed=seed, stochastic=stochastic))


def format_value(value: float, unit: str) -> str:
    """Write a measure's value for a reader: tonnes in Mt (from 0.1 Mt), shares to 4 places, days to 0.1.

    Examples
    --------
    >>> format_value(3_254_000.0, "t/yr"), format_value(0.41234, "share"), format_value(float("nan"), "days")
    ('3.254 Mt/yr', '0.4123', 'n/a')
    >>> format_value(8.1e-6, "share"), format_value(5_120.0, "t/yr")
    ('8.1e-06', '5,120 t/yr')
    """
    if math.isnan(value):
        return "n/a"
    if unit in ("t/yr", "t"):
        return f"{value / 1e6:,.3f} M{unit}" if abs(value) >= 1e5 else f"{value:,.0f} {unit}"
    if unit in ("share", "index"):
        return f"{value:.4g}"
    if unit in ("days", "USD/t"):
        return f"{value:,.1f} {unit}"
    if unit == "projects":
        return f"{value:.0f}"
    return f"{value:,.4g} {unit}"


def format_test(test: str, bound: float, ratio: float, change: float, value: float) -> str:
    """Write a claim's test with the quantity it compared: ``"ratio 0.709 <= 0.6"``.

    Examples
    --------
    >>> format_test("change >=", 0.0, 1.1, 2.5e5, 2.5e6)
    'change +2.5e+05 >= 0'
    """
    what, op = test.split()
    quantity = {"ratio": ratio, "change": change, "value": value}[what]
    shown = "n/a" if math.isnan(quantity) else f"{quantity:+.4g}" if what == "change" else f"{quantity:.4g}"
    return f"{what} {shown} {op} {bound:g}"
