"""The model's behavioural and policy parameters, with their reasons.

Every default is either calibrated (``corridors.experiments.calibrate`` overwrites those through a
scenario's ``parameters_file``) or an assumption whose reasoning is given here and in
docs/ODD.md. Alignments are scenario inputs: never fitted, varied in sensitivity analysis.

Each field declares its description and bounds once, as metadata beside its default
(``{"ge": 0, "le": 1, "doc": "..."}``; the bounds of a table or pair bound each number in it):
``corridors.scenario`` builds the scenario schema, its checks and ``corridors schema`` from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from corridors.vocabulary import BASE_YEAR, CORRIDORS, LAST_YEAR, POWERS

__all__ = ["BOUND_KINDS", "BUDGET_POWERS", "Parameters", "default_alignment", "table_keys"]

# The kinds of bound a field may declare, as in pydantic: > , >=, <, <=.
BOUND_KINDS: tuple[str, ...] = ("gt", "ge", "lt", "le")


BUDGET_POWERS: tuple[str, ...] = ("RU", "CN", "US", "EU")
"""The powers with a yearly budget (``power_budgets_usd_m``)."""


def table_keys() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Return the keys of the table-valued parameters, level by level.

    A scenario's ``[parameters.reliability_penalty_days]`` may hold only corridors; one
    key of a one-level table of numbers is a parameter of its own for ``--set`` and
    ``--param`` (``reliability_penalty_days.middle``).
    """
    return {
        "reliability_penalty_days": (CORRIDORS,),
        "corridor_constants": (CORRIDORS,),
        "bulk_corridor_constants": (CORRIDORS,),
        "power_budgets_usd_m": (BUDGET_POWERS,),
        "alignment": (tuple(default_alignment()), POWERS),
    }


def default_alignment() -> dict[str, dict[str, float]]:
    """Alignment of each C5 government with each power, 0 (hostile) to 1 (aligned).

    Assumption (A-alignment in SOURCES.md): all five are multi-vector; Kazakhstan and
    Uzbekistan lean to diversification (Middle Corridor, Western deals), Kyrgyzstan and
    Tajikistan are closest to Russia (EAEU, CSTO), Turkmenistan is neutral and sells its
    gas to China. Iran is treated as unaligned by all. Scenarios change these.
    """
    return {
        "KZ": {"russia": 0.55, "china": 0.6, "west": 0.6, "iran": 0.3, "neutral": 0.7},
        "KG": {"russia": 0.7, "china": 0.6, "west": 0.45, "iran": 0.3, "neutral": 0.7},
        "TJ": {"russia": 0.7, "china": 0.6, "west": 0.4, "iran": 0.4, "neutral": 0.7},
        "TM": {"russia": 0.5, "china": 0.65, "west": 0.45, "iran": 0.5, "neutral": 0.7},
        "UZ": {"russia": 0.55, "china": 0.6, "west": 0.6, "iran": 0.35, "neutral": 0.7},
        "CN": {"russia": 0.7, "china": 1.0, "west": 0.5, "iran": 0.5, "neutral": 0.7},
    }


@dataclass(frozen=True, kw_only=True)
class Parameters:
    """Parameters of :class:`corridors.model.CorridorModel` (keyword-only, with defaults).

    Attributes marked *calibrated* are fitted to 2019-2023 in ``corridors.experiments.calibrate``;
    the others are assumptions with the reasoning in their comment.

    Parameters
    ----------
    **fields
        Any of the fields below by name, each with a default. A field's meaning and bounds
        are declared once in its metadata: read them with :meth:`description` and
        :meth:`bounds` (``corridors schema`` shows them all). The bounds are checked where
        a scenario sets a parameter (``corridors.scenario``), not here.

    Raises
    ------
    TypeError
        For a name that is not a field.

    Examples
    --------
    >>> p = Parameters(cost_elasticity=3.5)
    >>> p.cost_elasticity, p.replace(cost_elasticity=4.0).cost_elasticity
    (3.5, 4.0)
    >>> Parameters.bounds("renewal_rate")
    {'ge': 0, 'le': 1}
    """

    # --- shippers' choice (calibrated: cost_elasticity, renewal_rate)
    cost_elasticity: float = field(
        default=4.0,
        metadata={
            "ge": 0,
            "doc": """Exponent of the relative-cost logit: share ~ (G / G_min) ** -cost_elasticity. Scale-free
            across commodities whose costs differ tenfold. Calibrated.""",
        },
    )
    renewal_rate: float = field(
        default=0.25,
        metadata={
            "ge": 0,
            "le": 1,
            "doc": "Share of private contracts renewed each quarter: annual contracts, a quarter renew. Calibrated.",
        },
    )
    memory_weight: float = field(
        default=0.5,
        metadata={
            "ge": 0,
            "le": 1,
            "doc": """Weight of the latest experienced cost in a shipper's memory (exponential smoothing, a
            half-life of one quarter): forwarders re-quote quarterly.""",
        },
    )
    quoted_money: bool = field(
        default=True,
        metadata={
            "doc": """Shippers expect the money cost of every corridor to be this quarter's quote (published
            tariffs and spot sea rates, re-quoted each quarter) and learn only its time and
            reliability by experience (A-price-expectations). False: money is learnt like time, by
            smoothing experience and, for unused corridors, quotes (``memory_weight``,
            ``market_info_weight``): an ablation that delays the response to the sea-rate cycle.""",
        },
    )
    market_info_weight: float = field(
        default=0.25,
        metadata={
            "ge": 0,
            "le": 1,
            "doc": """Weight of published quotes in the memory of corridors a shipper does not use: slower
            than own experience.""",
        },
    )
    carrying_cost_per_year: float = field(
        default=0.15,
        metadata={
            "ge": 0,
            "doc": """Value of time = cargo value x this / 365 per tonne-day: cost of capital plus
            obsolescence and insurance of goods in transit (A-value-of-time).""",
        },
    )
    vot_spread: float = field(
        default=0.6,
        metadata={
            "ge": 0,
            "doc": """Log-normal spread of the value of time across the shippers an agent stands for, drawn
            as three segments (low, middle, high).""",
        },
    )
    time_sensitive_share: float = field(
        default=0.1,
        metadata={
            "ge": 0,
            "le": 1,
            "doc": """Share of each container flow owned by time-sensitive shippers (parts and components,
            fashion, electronics: the goods Hummels & Schaur find most time-sensitive), who value a day
            at ``time_sensitive_vot_per_day`` of the cargo's value instead of its carrying cost. The
            other shippers keep the three carrying-cost segments. Bulk, crude and critical minerals
            have none (S-hummels-schaur, A-time-sensitive-share). Calibrated.""",
        },
    )
    time_sensitive_vot_per_day: float = field(
        default=0.0112,
        metadata={
            "ge": 0.006,
            "le": 0.023,
            "doc": """Value of a day in transit to a time-sensitive shipper, as a share of the cargo's value:
            0.6-2.1% a day (Hummels & Schaur, AER 2013; 0.6-2.3% in the 2012 NBER paper); the
            default is their range's geometric middle (S-hummels-schaur).""",
        },
    )
    reliability_weight: float = field(
        default=0.5,
        metadata={
            "ge": 0,
            "doc": """USD per tonne per day of the standard deviation of experienced transit time, per
            unit of value of time (a day of uncertainty costs half a day of delay).""",
        },
    )
    reliability_penalty_days: dict[str, float] = field(
        default_factory=lambda: {"middle": 10.0},
        metadata={
            "doc": """Days added to a corridor's perceived transit time for unreliability that memory of
            average times does not capture (missed connections at 4-5 transshipments, paperwork at 5+
            borders: S-middle-schedule, S-wb-2023), valued at each shipper's value of time, so it
            deters high-value container transit far more than bulk. Calibrated (the Middle Corridor's)."""
        },
    )
    corridor_constants: dict[str, float] = field(
        default_factory=dict,
        metadata={
            "doc": """USD/t added to a corridor's perceived cost (unobserved attributes: service frequency,
            paperwork, habit); set from 2019 shares by calibration."""
        },
    )
    bulk_corridor_constants: dict[str, float] = field(
        default_factory=dict,
        metadata={
            "doc": """USD/t added, on top of ``corridor_constants``, to a corridor's perceived cost for bulk
            (metals and ores, grain and cotton): a constant per market segment, as in mode-choice
            models with segment-specific constants. Bulk and containers weigh a corridor's
            unobserved attributes differently (wagonload contracts of the state railway against
            forwarders' box services); set from 2019 by calibration (the Middle Corridor's from its
            2019 tonnes through Kazakhstan)."""
        },
    )
    # --- sanctions and politics (calibrated: russia_premium_usd_per_t)
    russia_premium_usd_per_t: float = field(
        default=60.0,
        metadata={
            "ge": 0,
            "doc": """Premium from 2022Q1 on EU- and West-linked freight through Russia (insurance, finance,
            compliance, detention risk). Calibrated.""",
        },
    )
    russia_avoidance_share: float = field(
        default=0.4,
        metadata={
            "ge": 0,
            "le": 1,
            "doc": """Rise of the avoidance of Russian transit per new sanction: the part of the EU-linked
            transit not yet avoiding Russia that a new Western sanction on Russian transit turns away
            (bookings suspended, cover withdrawn, compliance bans), scaled by the part of the
            avoidance ban's flows the sanction touches. The EU agent holds the avoidance; it caps
            those flows through Russia from the quarter after the sanction, then fades
            (``avoidance_half_life_quarters``). Calibrated (A-russia-avoidance).""",
        },
    )
    avoidance_half_life_quarters: float = field(
        default=12.0,
        metadata={
            "gt": 0,
            "doc": """Half-life, in quarters, of the avoidance of Russian transit when no new sanction comes
            and the Russian route costs what its alternatives cost: compliance rules, insurers'
            exclusions and forwarders' suspensions are reviewed yearly and lifted slowly; three
            years, an assumption (A-avoidance-dynamics). A very large value freezes the avoidance
            (the permanent share of earlier versions).""",
        },
    )
    avoidance_cost_response: float = field(
        default=0.5,
        metadata={
            "ge": 0,
            "doc": """How the fading of the avoidance responds to the cost gap: the rate of fading is
            multiplied by ``(alternative / russian) ** avoidance_cost_response``, the money cost of the
            cheapest alternative over the Russian route's (with premiums and subsidies) for the
            flows the avoidance covers. Freight returns faster when the Russian route saves more and
            stays away when the alternatives are cheap anyway. 0: no response (A-avoidance-dynamics).""",
        },
    )
    cpc_risk_usd_per_t: float = field(
        default=40.0,
        metadata={
            "ge": 0,
            "doc": """From 2022Q3 (the court-ordered CPC stoppage of July 2022, S-cpc) the Kazakh state prices
            the risk of its crude pipeline through Russia at this premium per tonne when it weighs
            Caspian tankers against the pipeline (A-cpc-risk). Any value above the tanker route's extra
            cost (about USD 26-30/t) starts the diversion; its pace is the tanker charters'
            (``crude_diversion_step_t_per_quarter``), so the value beyond that changes little.""",
        },
    )
    political_weight_usd_per_t: float = field(
        default=40.0,
        metadata={
            "ge": 0,
            "doc": """USD/t for a route wholly controlled by a power the shipper's government is not aligned
            with (alignment 0); scaled by tonne-km share and (1 - alignment).""",
        },
    )
    route_iterations: int = field(
        default=4,
        metadata={
            "ge": 0,
            "doc": """Within a quarter each corridor's freight is spread over parallel routes (ports,
            crossings) by this many rounds of the method of successive averages on queue-aware
            costs; 1 loads each flow on one path (all-or-nothing). Forwarders split cargo between
            Aktau and Kuryk, Dostyk and Khorgos when one queues; the corridors themselves are not
            equilibrated within a quarter.""",
        },
    )
    spin_up_quarters: int = field(
        default=4,
        metadata={
            "ge": 0,
            "doc": """Quarters of 2019Q1 repeated before the run starts, recording nothing, so that shares,
            memories and expected queues start settled rather than from free-flow quotes.""",
        },
    )
    # --- capacity and queues
    bpr_alpha: float = field(
        default=0.15,
        metadata={
            "ge": 0,
            "doc": "Alpha of the BPR travel time below capacity, t0 x (1 + alpha (flow / capacity) ** beta).",
        },
    )
    bpr_beta: float = field(
        default=4.0, metadata={"ge": 0, "doc": "Exponent beta of the BPR travel time below capacity."}
    )
    weather_sd: float = field(
        default=0.15,
        metadata={
            "ge": 0,
            "doc": "Standard deviation of the quarterly Caspian capacity factor from storms (stochastic runs).",
        },
    )
    border_disruption_probability: float = field(
        default=0.02,
        metadata={
            "ge": 0,
            "le": 1,
            "doc": "Chance per quarter that a border crossing loses half its capacity (stochastic runs).",
        },
    )
    queue_patience_quarters: float = field(
        default=2.0,
        metadata={
            "gt": 0,
            "doc": """Backlog older than this is diverted (cancelled or sent by other modes): a shipper
            waits at most about half a year.""",
        },
    )
    rebook_queue_days: float = field(
        default=14.0,
        metadata={
            "ge": 0,
            "doc": """Freight banned from its corridor is booked onto another only while the queue there
            stays under this many days of capacity: two weekly Caspian sailings missed. Beyond it
            forwarders refuse the booking and the cargo goes by sea (A-rebook-queue).""",
        },
    )
    # --- operators and transit states
    fleet_response: bool = field(
        default=True,
        metadata={
            "doc": "The Caspian feeder operator charters ships when utilisation stays high (and redeploys them when it falls)."
        },
    )
    vessel_t_per_quarter: float = field(
        default=26_000.0,
        metadata={
            "gt": 0,
            "doc": """Capacity one Caspian container feeder adds per quarter and direction: 200 TEU on a
            weekly round trip (A-feeder-capacity: 3 ships, 600 TEU, 0.31 Mt/yr in 2019).""",
        },
    )
    fleet_trigger_utilisation: float = field(
        default=0.9,
        metadata={
            "gt": 0,
            "doc": "Caspian utilisation that, two quarters in a row, makes the operator charter two more feeders.",
        },
    )
    fleet_lag_quarters: int = field(
        default=2,
        metadata={
            "ge": 0,
            "doc": "Quarters from chartering a feeder to its delivery on the Caspian (3 ships in April 2022, 6-7 by September: S-caspian-feeders).",
        },
    )
    max_vessels: int = field(
        default=12,
        metadata={
            "ge": 0,
            "doc": """Upper bound of the feeder fleet: about twice the 6-7 ships of September 2022, what the
            region's yards and charter market could supply (A-feeder-capacity).""",
        },
    )
    transit_fee_response: bool = field(
        default=True,
        metadata={
            "doc": "Azerbaijan, Georgia and Turkey move their handling fees each year the way that raised their transit revenue."
        },
    )
    transit_fee_bounds: tuple[float, float] = field(
        default=(0.8, 1.3),
        metadata={
            "gt": 0,
            "doc": """Handling fees of Azerbaijan, Georgia and Turkey stay within -20%..+30% of their 2019
            level: Georgian port tariffs are already the region's highest (S-wb-2023), and discounts
            beyond 20% have not been offered outside Aktau's 2024 campaign (A-transit-fees).""",
        },
    )
    # --- powers
    russia_tariff_response: bool = field(
        default=True,
        metadata={
            "doc": """Russia moves its 1520 tariff (5% a quarter) toward a target that falls with the shortfall of its
            share of the China-Europe transit still free to use its route below its 2019-2021 level,
            and rises back as the share recovers (A-russia-tariff)."""
        },
    )
    russia_max_tariff_cut: float = field(
        default=0.3,
        metadata={
            "ge": 0,
            "le": 1,
            "doc": "Russia cuts its 1520 tariff by up to 30% when its transit share falls (A-russia-tariff).",
        },
    )
    china_subsidy_response: bool = field(
        default=True,
        metadata={
            "doc": """China subsidises China-Europe rail transit in proportion to the shortfall of the rail share of
            transit below its 2019-2021 level, and withdraws it as the share recovers (A-china-subsidy)."""
        },
    )
    china_max_subsidy_usd_per_t: float = field(
        default=40.0,
        metadata={
            "ge": 0,
            "doc": """'War insurance' and rate support for China-Europe rail after 2022, at most USD 800 per
            FEU (A-china-subsidy).""",
        },
    )
    us_secondary_sanctions: bool = field(
        default=False,
        metadata={
            "doc": """The US answers a rising reliance of the five on Russian routes (their share of trade
            through Russia above its 2019-2021 level by ``us_secondary_trigger``, relative) with a
            growing premium on their trade through Russia."""
        },
    )
    us_secondary_trigger: float = field(
        default=0.2,
        metadata={
            "ge": 0,
            "doc": "Relative rise of the five's trade share through Russia above its 2019-2021 level that starts the US secondary sanctions.",
        },
    )
    power_budgets_usd_m: dict[str, float] = field(
        default_factory=dict,
        metadata={
            "ge": 0,
            "doc": """Yearly budgets of the powers (EU, US, CN) for projects of projects.csv that name them;
            none in the baseline, where their pledges are dated events.""",
        },
    )
    crude_diversion_response: bool = field(
        default=True,
        metadata={
            "doc": """Kazakhstan's state oil company moves crude from the CPC pipeline (through Russia) to
            Caspian tankers while the tanker route costs less than the pipeline's route plus the
            sanctions risk on Russian transit (KazMunayGas after 2022, S-kmg-socar-2024)."""
        },
    )
    crude_diversion_step_t_per_quarter: float = field(
        default=62_500.0,
        metadata={
            "ge": 0,
            "doc": """How fast the diversion can grow or shrink: 0.25 Mt/yr more (or less) each quarter, the
            pace of new tanker charters and terminal slots at Aktau (A-crude-diversion).""",
        },
    )
    # --- governments
    government_projects: bool = field(
        default=True,
        metadata={
            "doc": "The five governments spend their infrastructure budgets on projects of projects.csv."
        },
    )
    project_budget_share: float = field(
        default=1.0,
        metadata={"ge": 0, "doc": "Multiplier on each state's infrastructure budget (A-budgets)."},
    )
    budget_window_years: int = field(
        default=3,
        metadata={
            "ge": 1,
            "le": 10,
            "doc": """Years an unspent project allocation stays available before it lapses: a funder
            holds at most this many years of its yearly budget (a three-year medium-term budget
            window, A-budget-window). The same window holds the bloc's pool and the powers'
            budgets.""",
        },
    )
    appraisal_years: int = field(
        default=20,
        metadata={
            "ge": 1,
            "le": 50,
            "doc": """Years of benefits a funder counts when it appraises a project (A-appraisal).""",
        },
    )
    appraisal_discount_rate: float = field(
        default=0.09,
        metadata={
            "ge": 0,
            "le": 0.5,
            "doc": """Discount rate of the funders' project appraisal, a year: the ADB's 9%
            (A-appraisal).""",
        },
    )
    bloc_from_year: int | None = field(
        default=None,
        metadata={
            "ge": BASE_YEAR,
            "le": LAST_YEAR,
            "doc": """From this year the five act as one bloc: pooled project budgets, and borders between
            them harmonised (dwell at their common borders x ``bloc_border_factor``).""",
        },
    )
    bloc_border_factor: float = field(
        default=0.7,
        metadata={
            "gt": 0,
            "le": 5,
            "doc": "Factor on dwell at the borders between the five once they act as a bloc (``bloc_from_year``).",
        },
    )
    alignment: dict[str, dict[str, float]] = field(
        default_factory=default_alignment,
        metadata={
            "ge": 0,
            "le": 1,
            "doc": "Alignment of each C5 government (and China's shippers) with each power, 0 (hostile) to 1 (aligned): see default_alignment (A-alignment).",
        },
    )

    def replace(self, **changes: Any) -> Parameters:
        """Return a copy with ``changes``; unknown names raise ``TypeError``."""
        return replace(self, **changes)

    def with_values(self, values: Mapping[str, float | int]) -> Parameters:
        """Return a copy with ``values`` set, by name; ``"table.key"`` sets one key of a table.

        A dotted name such as ``"reliability_penalty_days.middle"`` sets that key of a
        table-valued parameter and keeps its other keys (posterior draws and fitted values
        name table entries so).

        Raises
        ------
        TypeError
            An unknown parameter name (as :meth:`replace`).
        ValueError
            A dotted name whose head is not a table of numbers.
        """
        changes: dict[str, Any] = {}
        for name, v in values.items():
            head, dot, key = name.partition(".")
            if not dot:
                changes[name] = v
                continue
            current = getattr(self, head, None)
            if current is None and head not in self.names():
                raise TypeError(f"{name!r}: {head!r} is not a parameter")
            if not isinstance(current, dict):
                raise ValueError(f"{name!r}: {head} is not a table")
            table = changes.setdefault(head, dict(current))
            table[key] = float(v)
        return self.replace(**changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict by name (tables copied, as :func:`dataclasses.asdict`)."""
        return asdict(self)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Return the fields' names, in their order of declaration."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def bounds(cls, name: str) -> dict[str, float]:
        """Bounds of a parameter (of each number in it for a table or pair): kind -> value.

        Kinds are those of :data:`BOUND_KINDS`, lower bounds first; empty if unbounded.
        """
        metadata = _metadata(cls, name)
        return {k: metadata[k] for k in BOUND_KINDS if k in metadata}

    @classmethod
    def description(cls, name: str) -> str:
        """Return what the parameter ``name`` means: its field's ``doc``, whitespace collapsed."""
        return " ".join(_metadata(cls, name)["doc"].split())


def _metadata(cls: type, name: str) -> Mapping[str, Any]:
    """Return the metadata of the field ``name`` of a dataclass (``KeyError`` if there is none)."""
    return {f.name: f for f in fields(cls)}[name].metadata
