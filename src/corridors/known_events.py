"""The known events 2019-2025 that every run goes through (sources in SOURCES.md)."""

from __future__ import annotations

from corridors.events import NON_CRUDE, Event, Sanction, Subsidy, TariffChange
from corridors.parameters import Parameters

__all__ = ["baseline_events"]


def baseline_events(params: Parameters | None = None) -> list[Event]:
    """Return the known events 2019-2025 that every run goes through (sources in SOURCES.md).

    The premium on EU-linked freight through Russia from 2022Q1 (insurance, finance,
    compliance, detentions) is the calibrated ``russia_premium_usd_per_t``; Kazakh crude, whose
    way through Russia is the CPC pipeline, carries its own risk (``cpc_risk_usd_per_t``) from
    the court-ordered CPC stoppage of July 2022; the Red Sea
    diversions come from ``sea_rates.csv``; completed projects (Baku-Tbilisi-Kars, May 2024)
    from ``projects.csv``; the Caspian fleet growth of 2022 is the operator agent's own
    decision, and the shift of state cargo to the Caspian the governments'.

    Parameters
    ----------
    params : Parameters or None
        The parameters whose ``russia_premium_usd_per_t`` and ``cpc_risk_usd_per_t`` the
        sanctions take (default: ``Parameters()``); the avoidance ban's share is the EU
        agent's evolving state (``russia_avoidance_share`` is its rise per sanction).

    Returns
    -------
    list of Event
        The sanctions, subsidies and tariff changes, in a fixed order.

    Examples
    --------
    >>> events = baseline_events()
    >>> len(events), events[0].kind, events[0].start
    (10, 'sanction', '2022Q1')
    """
    p = params or Parameters()
    return [
        Sanction(
            start="2022Q1",
            imposed_by="EU",
            transit="RU",
            markets=("market_eu",),
            commodities=NON_CRUDE,
            premium_usd_per_t=p.russia_premium_usd_per_t,
            note="S-eu-sanctions: sanctions on Russia from February 2022",
        ),
        # The Novorossiysk court's order of July 2022 to halt the CPC (S-cpc): from then the
        # Kazakh state prices the risk of its crude pipeline through Russia (A-cpc-risk)
        Sanction(
            start="2022Q3",
            imposed_by="RU",
            transit="RU",
            markets=("market_eu",),
            commodities=("crude",),
            premium_usd_per_t=p.cpc_risk_usd_per_t,
            note="S-cpc: the 2022 CPC stoppage ruling",
        ),
        # European forwarders, carriers and their customers suspended China-Europe bookings
        # through Russia (A-russia-avoidance); the five's own trade with Europe kept its
        # routes through Russia and pays the premium above. The share avoiding Russia is the
        # EU agent's evolving state (it rose with the sanctions of 2022Q1 and fades when no
        # new ones come): this event names the flows it applies to, from 2022Q2
        Sanction(
            start="2022Q2",
            imposed_by="EU",
            transit="RU",
            markets=("market_eu",),
            directions=("transit",),
            ban=True,
            evolving=True,
            note="S-eu-sanctions: bookings suspended, self-sanctioning (evolving avoidance)",
        ),
        # China's rail subsidy cap: 40% of the rail freight rate in 2019, 30% in 2020,
        # nominally abolished by 2022 (S-cn-subsidy). Modelled as a per-tonne subsidy on
        # China-Europe transit by rail (russian and middle corridors), capped by share.
        Subsidy(
            start="2019Q1",
            end="2019Q4",
            funder="CN",
            corridor="russian",
            usd_per_t=60.0,
            directions=("transit",),
            share_of_price=0.40,
            note="S-cn-subsidy: cap 40% of the rate in 2019",
        ),
        Subsidy(
            start="2019Q1",
            end="2019Q4",
            funder="CN",
            corridor="middle",
            usd_per_t=60.0,
            directions=("transit",),
            share_of_price=0.40,
            note="S-cn-subsidy",
        ),
        Subsidy(
            start="2020Q1",
            end="2021Q4",
            funder="CN",
            corridor="russian",
            usd_per_t=45.0,
            directions=("transit",),
            share_of_price=0.30,
            note="S-cn-subsidy: cap 30% from 2020",
        ),
        Subsidy(
            start="2020Q1",
            end="2021Q4",
            funder="CN",
            corridor="middle",
            usd_per_t=45.0,
            directions=("transit",),
            share_of_price=0.30,
            note="S-cn-subsidy",
        ),
        # EU 11th package (23 Jun 2023): ban on transit via Russia of sensitive EU exports
        # to third countries; 12th package (18 Dec 2023) widens it. Share of EU-origin
        # container imports affected is an assumption (A-eu-transit-ban-share).
        Sanction(
            start="2023Q3",
            imposed_by="EU",
            transit="RU",
            commodities=("containers",),
            directions=("import",),
            markets=("market_eu",),
            ban=True,
            share=0.15,
            note="S-eu-sanctions: 11th package transit ban",
        ),
        Sanction(
            start="2024Q1",
            imposed_by="EU",
            transit="RU",
            commodities=("containers",),
            directions=("import",),
            markets=("market_eu",),
            ban=True,
            share=0.15,
            note="S-eu-sanctions: 12th package widens the ban",
        ),
        # Aktau's 50% transshipment discounts (2024), S-aktau-discount.
        TariffChange(
            start="2024Q1",
            end="2024Q4",
            nodes=("aktau",),
            modes=("ferry", "sea"),
            handling_factor=0.5,
            note="Aktau 50% transshipment discount, 2024",
        ),
    ]
