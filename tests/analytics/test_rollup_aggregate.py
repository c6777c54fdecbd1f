"""One hour's facts → its rollup rows (hexfleet/analytics/aggregate.py), by tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hexfleet.analytics import histogram
from hexfleet.analytics.aggregate import (
    FLEET,
    BookingFact,
    DutyFact,
    EventFact,
    HourFacts,
    OfferFact,
    QuoteFact,
    aggregate,
)

H = datetime(2026, 3, 2, 10, tzinfo=UTC)  # the hour rolled up: 10:00–11:00
CELL, OTHER = 608_533_827_635_118_079, 608_533_827_903_553_535
LATE = H + timedelta(hours=5)  # "now" for a closed hour


def m(minutes: float) -> datetime:
    return H + timedelta(minutes=minutes)


def booking(**changes) -> BookingFact:
    base = BookingFact(
        id=1, demand_at=m(10), scheduled=False, status="completed", vehicle_class="standard", cell=CELL,
        driver_id=7, cancelled_by=None, assigned_at=m(11), arrived_at=m(16), ended_at=m(40), eta_pickup_s=240,
        price_minor=1500, currency="EUR", distance_m=8000,
    )  # fmt: skip
    return replace(base, **changes)


def story(*events: tuple[float, str, int | None]) -> list[EventFact]:
    return [EventFact(i, 1, action, driver, m(minute)) for i, (minute, action, driver) in enumerate(events, 1)]


RIDE = story((11, "accept", 7), (16, "arrive", 7), (18, "start", 7), (40, "complete", 7))


def test_a_completed_ride_in_its_hour():
    cells, drivers = aggregate(H, LATE, HourFacts(bookings=[booking()], events=RIDE))
    assert set(cells) == {(CELL, "standard"), (FLEET, "standard")}
    t = cells[(CELL, "standard")]
    assert cells[(FLEET, "standard")] == t
    assert (t.requests, t.assigned, t.completed, t.distance_m, t.revenue) == (1, 1, 1, 8000, {"EUR": (1500, 8000)})
    assert histogram.percentile(t.assign, 0.5) == pytest.approx(60, rel=histogram.RELATIVE_ERROR)
    assert histogram.percentile(t.wait, 0.5) == pytest.approx(300, rel=histogram.RELATIVE_ERROR)
    # promised 4 min, arrived after 5: 60 s late, within the 3–6 min band (−1 … +2.5 min)
    assert (t.eta_n, t.eta_abs_ms, t.eta_sum_ms, t.eta_band_n, t.eta_band_ok) == (1, 60_000, 60_000, 1, 1)
    assert (t.en_route_ms, t.on_trip_ms) == (5 * 60_000, 22 * 60_000)
    d = drivers[7]
    assert (d.trips, d.distance_m, d.revenue, d.en_route_ms, d.on_trip_ms) == (
        1, 8000, {"EUR": (1500, 8000)}, 5 * 60_000, 22 * 60_000,
    )  # fmt: skip


def test_a_ride_that_reached_dispatch_in_another_hour_counts_there_but_its_time_counts_here():
    earlier = booking(demand_at=m(-20), assigned_at=m(-15), arrived_at=m(-5), ended_at=m(20))
    events = story((-15, "accept", 7), (-5, "arrive", 7), (0, "start", 7), (20, "complete", 7))
    cells, drivers = aggregate(H, LATE, HourFacts(bookings=[earlier], events=events))
    t = cells[(CELL, "standard")]
    assert (t.requests, t.completed, t.revenue, t.en_route_ms) == (0, 0, {}, 0)
    assert t.on_trip_ms == 20 * 60_000  # cut at the hour's start
    assert drivers[7].trips == 0 and drivers[7].on_trip_ms == 20 * 60_000


def test_the_open_hour_is_cut_at_now():
    under_way = booking(status="in_progress", ended_at=None)
    events = story((11, "accept", 7), (16, "arrive", 7), (18, "start", 7))
    cells, _ = aggregate(H, m(30), HourFacts(bookings=[under_way], events=events))
    t = cells[(CELL, "standard")]
    assert t.on_trip_ms == 12 * 60_000 and t.completed == 0 and t.requests == 1


@pytest.mark.parametrize(
    ("changes", "events", "expect"),
    [
        ({"status": "cancelled", "cancelled_by": "customer", "assigned_at": None, "arrived_at": None,
          "ended_at": m(12)}, [(12, "cancel", None)],
         {"cancelled_rider": 1, "cancelled_before_assign": 1, "assigned": 0}),
        ({"status": "cancelled", "cancelled_by": "admin", "arrived_at": None, "ended_at": m(14)},
         [(11, "accept", 7), (14, "cancel", 7)],
         {"cancelled_dispatcher": 1, "cancelled_after_assign": 1, "assigned": 1, "en_route_ms": 180_000}),
        ({"status": "cancelled", "cancelled_by": "system", "assigned_at": None, "arrived_at": None,
          "ended_at": m(12)}, [(12, "cancel", None)], {"cancelled_system": 1}),
        ({"status": "no_driver", "assigned_at": None, "arrived_at": None, "ended_at": m(13)}, [],
         {"no_driver": 1, "assigned": 0, "completed": 0}),
        # given back by driver 7 after 2 min, then driver 8 took it: a driver "cancellation", both drivers' time
        ({"driver_id": 8, "assigned_at": m(15), "arrived_at": m(19)},
         [(11, "accept", 7), (13, "release", 7), (15, "accept", 8), (19, "arrive", 8), (20, "start", 8),
          (40, "complete", 8)],
         {"cancelled_driver": 1, "completed": 1, "en_route_ms": 6 * 60_000, "on_trip_ms": 20 * 60_000}),
        # booked ahead, dispatched at :10, a dispatcher assigned by hand without a promise
        ({"scheduled": True, "eta_pickup_s": None}, [(11, "assign", 7), (16, "arrive", 7), (18, "start", 7),
                                                      (40, "complete", 7)],
         {"requests_scheduled": 1, "eta_n": 0, "completed": 1}),
        # promised 2 min, came after 5: outside the 0–3 min band (+90 s at most)
        ({"eta_pickup_s": 120}, [(11, "accept", 7), (16, "arrive", 7)],
         {"eta_n": 1, "eta_sum_ms": 180_000, "eta_band_n": 1, "eta_band_ok": 0}),
        # promised 20 min: no band, but in the mean error
        ({"eta_pickup_s": 1200}, [(11, "accept", 7), (16, "arrive", 7)],
         {"eta_n": 1, "eta_sum_ms": -900_000, "eta_abs_ms": 900_000, "eta_band_n": 0}),
    ],
)  # fmt: skip
def test_how_bookings_end(changes, events, expect):
    cells, _ = aggregate(H, LATE, HourFacts(bookings=[booking(**changes)], events=story(*events)))
    t = cells[(FLEET, "standard")]
    for name, value in expect.items():
        assert getattr(t, name) == value, name


def test_drivers_who_gave_a_ride_back_are_counted_on_them():
    events = story((11, "accept", 7), (13, "release", 7), (15, "accept", 8))
    b = booking(status="assigned", driver_id=8, assigned_at=m(15), arrived_at=None, ended_at=None)
    _, drivers = aggregate(H, LATE, HourFacts(bookings=[b], events=events))
    assert drivers[7].releases == 1 and drivers[7].en_route_ms == 2 * 60_000
    assert drivers[8].en_route_ms == 45 * 60_000  # still on the way at the hour's end


def test_offers_quotes_and_duty():
    facts = HourFacts(
        offers=[
            OfferFact(7, "accepted", m(1), m(1) + timedelta(seconds=6), CELL, "standard"),
            OfferFact(8, "declined", m(2), m(2) + timedelta(seconds=10), CELL, "standard"),
            OfferFact(9, "expired", m(3), m(3) + timedelta(seconds=15), CELL, "standard"),
            OfferFact(9, "withdrawn", m(4), m(4) + timedelta(seconds=1), OTHER, "xl"),
        ],
        quotes=[QuoteFact(CELL, "standard", True, 12), QuoteFact(CELL, "standard", False, 10),
                QuoteFact(OTHER, "xl", False, None)],
        duty=[
            DutyFact(7, m(-30), m(30), "available", CELL, "standard"),  # started before the hour
            DutyFact(7, m(30), None, "busy", OTHER, "standard"),  # still open: until the hour's end
            DutyFact(8, m(10), m(20), "available", None, "xl"),  # no position yet: the fleet row only
        ],
    )  # fmt: skip
    cells, drivers = aggregate(H, LATE, facts)
    here, there, fleet = cells[(CELL, "standard")], cells[(OTHER, "standard")], cells[(FLEET, "standard")]
    assert (here.offers_sent, here.offers_accepted, here.offers_declined, here.offers_expired) == (3, 1, 1, 1)
    assert histogram.percentile(here.response, 0.5) == pytest.approx(6, rel=histogram.RELATIVE_ERROR)
    assert sum(here.response.values()) == 2  # only the drivers' answers, not the timeouts
    assert (here.searches, here.searches_booked, here.surge_quotes, here.surge_tenths) == (2, 1, 2, 22)
    assert cells[(OTHER, "xl")].searches == 1 and cells[(OTHER, "xl")].surge_quotes == 0
    assert (here.available_ms, here.online_ms) == (30 * 60_000, 30 * 60_000)
    assert (there.busy_ms, there.online_ms) == (30 * 60_000, 30 * 60_000)
    assert fleet.online_ms == 60 * 60_000
    assert cells[(FLEET, "xl")].available_ms == 10 * 60_000 and (None, "xl") not in cells
    assert drivers[7].online_ms == 60 * 60_000 and drivers[9].offers_expired == 1 and drivers[9].offers_sent == 2


def test_an_hour_with_nothing_has_no_rows():
    assert aggregate(H, LATE, HourFacts()) == ({}, {})
