"""What a run measures: the modelled counterparts of observed series, and the measures claims compare.

:data:`OBSERVABLES` are the modelled counterparts of the series of ``history.csv``
(:meth:`corridors.results.Results.observable` computes them); :data:`MEASURES` are what a
scenario's ``[[expect]]`` claims may compare against the baseline
(:func:`corridors.results.measures.measure` computes them). Names, units and scopes only, so
that the scenario schema can check a claim's names without importing the results.
"""

from dataclasses import dataclass

__all__ = ["COMPARISONS", "MEASURES", "OBSERVABLES", "QUALIFIERS", "Measure", "Observable"]


@dataclass(frozen=True)
class Observable:
    """A modelled counterpart of an observed series: its unit and scope."""

    name: str
    unit: str
    scope: str


_ACROSS_KZ = (
    "freight crossing the Caspian from or to Aktau and Kuryk, both directions, crude tankers included"
)

OBSERVABLES: dict[str, Observable] = {
    o.name: o
    for o in (
        Observable(
            "middle_corridor_t",
            "t/yr",
            f"all {_ACROSS_KZ}: the Middle Corridor (TITR) through Kazakhstan as the KZ Ministry "
            "of Transport series counts it (all freight on the route, both directions, oil included)",
        ),
        Observable(
            "northern_transit_teu",
            "TEU/yr",
            "China-EU-China transit by the Russian corridor (1520 track), "
            "tonnes / t_per_teu_loaded (ERAI definition)",
        ),
        Observable(
            "middle_kz_share",
            "share",
            f"Kazakh exports by the Middle Corridor over all {_ACROSS_KZ} (the scope of middle_corridor_t)",
        ),
        Observable(
            "middle_transit_days",
            "days",
            "China-to-Europe transit time on the Middle Corridor: "
            "volume-weighted experienced time of westbound transit (NaN in a year when none moves)",
        ),
        Observable(
            "middle_teu",
            "TEU/yr",
            "containers shipped across the Caspian from and to Aktau and Kuryk, "
            "both directions, tonnes / t_per_teu_loaded (the TITR count, the Turkmen route excluded)",
        ),
        Observable(
            "middle_oil_share",
            "share",
            "crude shipped by tanker across the Caspian from Kazakh ports (aktau_oil_t) over "
            "middle_corridor_t: the oil part of the Middle Corridor through Kazakhstan (0 in a year "
            "with no freight across)",
        ),
        Observable(
            "aktau_oil_t",
            "t/yr",
            "Kazakh crude shipped by tanker across the Caspian from Aktau (to Baku, for the BTC "
            "pipeline): the crude-only Caspian crossings from a Kazakh seaport",
        ),
        Observable(
            "baku_port_no_trucks_t",
            "t/yr",
            "everything crossing the Caspian into or out of Baku-Alat (rail ferries, container "
            "feeders, tankers and bulk ships), both directions, every Caspian port: the Baku port's "
            "throughput less the ro-ro trucks, which the model does not carry (A-baku-port-scope)",
        ),
        Observable(
            "baku_port_teu",
            "TEU/yr",
            "containers crossing the Caspian into or out of Baku-Alat, both directions, "
            "container tonnes / t_per_teu_loaded",
        ),
        Observable(
            "ady_east_west_t",
            "t/yr",
            "East-West transit on Azerbaijan's railway: the tonnes leaving it at the Georgian "
            "border (baku_alat -> tbilisi) or onto the Caspian at Baku-Alat (tbilisi -> baku_alat); "
            "nothing is loaded or unloaded on it in Azerbaijan in the model, which has no "
            "North-South or North-West (Russian) transit, so the series is ADY's East-West corridor",
        ),
        Observable(
            "gr_transit_t",
            "t/yr",
            "transit on Georgia's railway: the tonnes leaving it at the Azerbaijani or Turkish "
            "border or onto the Black Sea at Poti and Batumi (Georgian rail exits)",
        ),
        Observable(
            "kz_china_rail_t",
            "t/yr",
            "rail freight across the Kazakhstan-China border, both directions "
            "(Dostyk-Alashankou and Altynkol-Khorgos)",
        ),
        Observable(
            "kz_transit_t",
            "t/yr",
            "transit through Kazakhstan, all modes: the tonnes entering Kazakhstan (land borders, "
            "Caspian arrivals, market connectors) less Kazakh imports (the countries table)",
        ),
        Observable(
            "iran_route_t",
            "t/yr",
            "freight across the Turkmenistan-Iran rail crossing of the Kazakhstan-Turkmenistan-Iran "
            "line (Etrek-Tehran, reached from Bolashak), both directions",
        ),
    )
}
"""The modelled counterparts of the observed series of ``history.csv``, by name.

The edge sets are those of :data:`corridors.layout.OBSERVED_EDGE_SETS`, kept in a run's
``meta["observed_edges"]`` (``middle_corridor_t`` and ``middle_teu`` use ``meta["kz_caspian_edges"]``)."""


QUALIFIERS: tuple[str, ...] = (
    "corridor",
    "country",
    "commodity",
    "market",
    "direction",
    "links",
    "project",
    "funder",
)
"""What narrows a measure: a corridor, a shipper country (one of the five, ``CN`` for the
China-Europe transit, ``C5`` for the five together), a commodity, a market node, a direction,
links (``"tail>head"``) or a project of projects.csv (its links), a funder."""

COMPARISONS: tuple[str, ...] = (
    "ratio_at_most",
    "ratio_at_least",
    "change_at_most",
    "change_at_least",
    "above",
    "below",
)
"""How a claim compares the scenario's value with the baseline's: ``ratio_*`` on scenario /
baseline, ``change_*`` on scenario - baseline (in the measure's unit), ``above`` and ``below``
on the scenario's value alone (strictly)."""


@dataclass(frozen=True)
class Measure:
    """A quantity of a run, by year, that a scenario's claims may compare with the baseline's.

    Attributes
    ----------
    name, unit, description : str
        Its name in ``[[expect]]`` (``observable = "..."``), its unit, and what it is.
    needs : tuple of str
        The qualifiers (:data:`QUALIFIERS`) it must be given.
    takes : tuple of str
        The qualifiers it may be given (``needs`` included).
    one_of : tuple of str
        Qualifiers of which it must be given exactly one.
    """

    name: str
    unit: str
    description: str
    needs: tuple[str, ...] = ()
    takes: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()


_FLOW_FILTERS = ("country", "commodity", "market", "direction")

MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure(
            "volume_t",
            "t/yr",
            "tonnes carried in the year by the corridor (all corridors if none is given), of the "
            "flows matching the country, commodity, market and direction given",
            takes=("corridor", *_FLOW_FILTERS),
        ),
        Measure(
            "share",
            "share",
            "the corridor's share of the year's tonnes of the flows matching the country, commodity, "
            "market and direction given (pipelines excluded)",
            needs=("corridor",),
            takes=("corridor", *_FLOW_FILTERS),
        ),
        Measure(
            "time_days",
            "days",
            "experienced time on the corridor in the year, weighted by the tonnes of the flows matching "
            "the country, commodity, market and direction given (NaN in a year when none moves)",
            needs=("corridor",),
            takes=("corridor", *_FLOW_FILTERS),
        ),
        Measure(
            "cost_usd_per_t",
            "USD/t",
            "the corridor's generalised cost per tonne in the year, weighted by its quarters' tonnes",
            needs=("corridor",),
            takes=("corridor",),
        ),
        Measure(
            "backlog_t",
            "t",
            "freight waiting for the corridor's capacity, mean over the year's quarters",
            needs=("corridor",),
            takes=("corridor",),
        ),
        Measure(
            "utilisation",
            "share",
            "flow over capacity at the corridor's fullest hard-capacity link, mean over the year's quarters",
            needs=("corridor",),
            takes=("corridor",),
        ),
        Measure(
            "load_ratio",
            "ratio",
            "freight offered over capacity at the corridor's most pressed hard-capacity link (above 1: "
            "the capacity binds), mean over the year's quarters",
            needs=("corridor",),
            takes=("corridor",),
        ),
        Measure(
            "russian_dependence",
            "share",
            "share of the country's own trade (C5: the five's together) on the russian corridor in the year",
            needs=("country",),
            takes=("country",),
        ),
        Measure(
            "herfindahl",
            "index",
            "Herfindahl index of the country's own trade over the corridors in the year (1: one corridor)",
            needs=("country",),
            takes=("country",),
        ),
        Measure(
            "critical_minerals_to_west_t",
            "t/yr",
            "critical-mineral exports reaching the EU market in the year (of the country given, else all)",
            takes=("country",),
        ),
        Measure(
            "link_flow_t",
            "t/yr",
            "tonnes on the links given (or a project's links) in the year, added over the links",
            takes=("links", "project"),
            one_of=("links", "project"),
        ),
        Measure(
            "link_load_ratio",
            "ratio",
            "freight offered over capacity on the links given (or a project's links), their loads "
            "added over their capacities, mean over the year's quarters (above 1: they bind)",
            takes=("links", "project"),
            one_of=("links", "project"),
        ),
        Measure(
            "projects_funded",
            "projects",
            "projects funded by the governments (and the bloc) from their budgets, from the first "
            "reported year to the end of the year (of the funder given, else all)",
            takes=("funder",),
        ),
        Measure(
            "projects_funded_usd_m",
            "USD m",
            "the cost (projects.csv) of the projects counted by projects_funded",
            takes=("funder",),
        ),
        *(Measure(o.name, o.unit, o.scope) for o in OBSERVABLES.values()),
    )
}
"""The measures a scenario's ``[[expect]]`` claims may name: those above, then every
:data:`OBSERVABLES` series (no qualifiers)."""
