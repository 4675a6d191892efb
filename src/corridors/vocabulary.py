"""The shared names of the model, each defined here once: who, which routes, what, and when.

Every other module imports these names from here; none types them out again.
"""

from __future__ import annotations

import functools
import re

__all__ = [
    "BASE_YEAR",
    "C5",
    "COMMODITIES",
    "CONTROLLER_BLOC",
    "CORRIDORS",
    "DIRECTIONS",
    "GROUP_KEYS",
    "LAST_OBSERVED_YEAR",
    "LAST_YEAR",
    "POWERS",
    "QUARTER_DAYS",
    "TRANSIT_STATES",
    "quarter_index",
    "quarter_label",
    "step_year",
]

# ----------------------------------------------------------------------- who

C5: tuple[str, ...] = ("KZ", "KG", "TJ", "TM", "UZ")
"""The five Central Asian states: Kazakhstan, Kyrgyzstan, Tajikistan, Turkmenistan, Uzbekistan."""

TRANSIT_STATES: tuple[str, ...] = ("AZ", "GE", "TR")
"""The Middle Corridor's transit states beyond the Caspian: Azerbaijan, Georgia, Turkey."""

POWERS: tuple[str, ...] = ("russia", "china", "west", "iran", "neutral")
"""Blocs a route's tonne-km are attributed to, from each link's controller."""

CONTROLLER_BLOC: dict[str, str] = {
    "RU": "russia", "BY": "russia",
    "CN": "china",
    "PL": "west", "DE": "west", "NL": "west", "IT": "west", "RO": "west", "HU": "west", "US": "west",
    "IR": "iran",
}  # fmt: skip
"""The bloc of each link controller that is not ``neutral``."""

# ----------------------------------------------------------------------- which routes, what

CORRIDORS: tuple[str, ...] = ("russian", "chinese", "middle", "sea", "iranian", "trans_afghan")
"""The corridors, in the order of every corridor axis of the model's arrays."""

COMMODITIES: tuple[str, ...] = (
    "containers", "metals_ores", "critical_minerals", "grain_cotton", "crude", "oil_products",
)  # fmt: skip
"""The commodity classes of the trade flows (``metals_ores`` includes coal; ``oil_products``:
tank- and hopper-wagon cargo, fertilisers included)."""

DIRECTIONS: tuple[str, ...] = ("export", "import", "transit")
"""The directions of a trade flow, seen from the five."""

GROUP_KEYS: tuple[str, ...] = ("origin", "market", "commodity", "direction", "country")
"""The attributes of a shipper (one per origin, market and commodity) that group its costs."""

# ----------------------------------------------------------------------- when

BASE_YEAR = 2019
"""The first simulated year: step 0 is its first quarter, and every run starts there."""

LAST_YEAR = 2100
"""The last year a run, an event or a data row may name."""

LAST_OBSERVED_YEAR = 2023
"""The last year of the observed history used for calibration (2019-2023)."""

QUARTER_DAYS = 91.25
"""Days in a quarter (a step)."""

_LABEL = re.compile(r"^(\d{4})(?:\s*-?\s*Q([1-4]))?$")


def quarter_index(label: str | int, *, end: bool = False) -> int:
    """Return the step of a quarter label.

    Parameters
    ----------
    label : str or int
        A quarter such as ``"2022Q3"`` or a year such as ``2022``.
    end : bool
        For a bare year: its Q4 instead of its Q1.

    Returns
    -------
    int
        Steps since 2019Q1 (``"2019Q1"`` is 0).

    Raises
    ------
    ValueError
        If ``label`` is not a quarter or a year, or the year is outside 2019-2100.

    Examples
    --------
    >>> quarter_index("2022Q3")
    14
    >>> quarter_index(2020, end=True)
    7
    """
    if isinstance(label, (str, int)):  # events ask for their steps every quarter: parse a label once
        return _parsed_quarter(label, end)
    return _parse_quarter(label, end)


def _parse_quarter(label, end: bool) -> int:
    """:func:`quarter_index`, parsed."""
    text = str(label).strip().upper()
    m = _LABEL.match(text)
    if not m:
        raise ValueError(f"{label!r} is not a quarter such as '2022Q3' or a year such as 2022")
    year = int(m.group(1))
    if not BASE_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"year {year} is outside {BASE_YEAR}-{LAST_YEAR}")
    quarter = int(m.group(2)) if m.group(2) else (4 if end else 1)
    return (year - BASE_YEAR) * 4 + quarter - 1


_parsed_quarter = functools.lru_cache(maxsize=4096)(_parse_quarter)


def quarter_label(step: int) -> str:
    """Return the label of step ``step``: ``"2019Q1"`` for 0.

    Examples
    --------
    >>> quarter_label(14)
    '2022Q3'
    """
    return f"{BASE_YEAR + step // 4}Q{step % 4 + 1}"


def step_year(step):
    """Return the year of a step (or of an array of steps): ``BASE_YEAR + step // 4``."""
    return BASE_YEAR + step // 4
