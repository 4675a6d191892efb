"""Tests of :mod:`corridors.known_events`: the known events 2019-2025 of every run."""

from __future__ import annotations

from corridors.events import NON_CRUDE, Sanction
from corridors.known_events import baseline_events
from corridors.parameters import Parameters
from corridors.vocabulary import quarter_index


def test_baseline_events_use_the_calibrated_premium():
    events = baseline_events(Parameters(russia_premium_usd_per_t=99.0, cpc_risk_usd_per_t=33.0))
    premiums = {
        ev.commodities: ev.premium_usd_per_t for ev in events if isinstance(ev, Sanction) and not ev.ban
    }
    assert premiums == {NON_CRUDE: 99.0, ("crude",): 33.0}  # the CPC's own risk for crude
    ban = next(ev for ev in events if isinstance(ev, Sanction) and ev.ban and ev.start == "2022Q2")
    assert ban.directions == ("transit",)  # the avoidance ban hits China-Europe transit only
    assert all(quarter_index(ev.start) <= quarter_index("2025Q4") for ev in events)


def test_every_known_event_is_dated_and_named():
    """Every known event is dated and has a note naming what it is (its source is in SOURCES.md)."""
    for ev in baseline_events():
        assert ev.start and ev.note, ev
