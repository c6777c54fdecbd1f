"""A late event: a ride requested three hours ago is completed now, through the real ride
workflows. The cron rolls up its closed hour again, and no other closed hour changes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from helpers import make_driver, make_fare, make_user, place_driver

from hexfleet.analytics import queries as aq
from hexfleet.analytics import rollups
from hexfleet.rides import bookings, dispatch, quotes
from hexfleet.rides.states import Action
from webapp.services import services

PICKUP, DROPOFF = (52.52, 13.405), (52.53, 13.43)


async def snapshot(pool) -> dict[tuple, str]:
    rows = await pool.fetch(
        """SELECT 'cells' AS t, period_start, cell::text || ' ' || vehicle_class AS k, c::text AS v
           FROM analytics_cells c WHERE grain = 'hour'
           UNION ALL SELECT 'drivers', period_start, driver_id::text, d::text FROM analytics_drivers d
           WHERE grain = 'hour'"""
    )
    return {(r["t"], r["period_start"], r["k"]): r["v"] for r in rows}


async def test_a_ride_completed_after_its_hour_closed_changes_that_hour_and_no_other_closed_one(app, db):
    rides = services(app).rides
    await make_fare(db)
    customer, _ = await make_user(db, "customer")
    driver, _ = await make_driver(db, "Late")
    await place_driver(rides.store, driver.id, 52.5201, 13.4051)
    now = time.time()
    requested = aq.floor_hour(datetime.fromtimestamp(now, UTC)) - timedelta(hours=3) + timedelta(minutes=20)
    clock = requested.timestamp()
    rides.clock = lambda: clock
    quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest(PICKUP, DROPOFF))
    booking = await bookings.create_booking(
        rides, bookings.Viewer(customer.id, "customer"), bookings.BookingRequest(quote.id, "Rita", "+49 30 555")
    )
    offer = await dispatch.offer_next(rides, booking.id)
    assert offer is not None and offer.driver_id == driver.id
    for seconds, step in ((6, None), (300, Action.ARRIVE), (400, Action.START)):
        clock = requested.timestamp() + seconds
        if step is None:
            await dispatch.accept(rides, driver.id, offer.id)
        else:
            await dispatch.driver_step(rides, driver.id, booking.id, step)
    # The cron has rolled up everything since, and is up to date.
    hour = aq.floor_hour(requested)
    await rollups.backfill(db, hour - timedelta(hours=2), datetime.fromtimestamp(now, UTC))
    await rollups.tick(db, datetime.fromtimestamp(now, UTC))
    before = await snapshot(db)
    closed = {k[1] for k in before}
    assert {hour, hour + timedelta(hours=1), hour + timedelta(hours=2)} <= closed

    rides.clock = time.time  # the driver completes the ride only now
    completed = await dispatch.driver_step(rides, driver.id, booking.id, Action.COMPLETE)
    assert completed.status == "completed"
    report = await rollups.tick(db, datetime.now(UTC) + timedelta(seconds=1))

    assert hour in report.late_hours
    after = await snapshot(db)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert {k[1] for k in changed} <= {hour, report.open_hour}, sorted({k[1] for k in changed})
    assert any(k[1] == hour for k in changed)
    async with db.acquire() as conn:
        fleet = await aq.range_totals(conn, hour, hour + timedelta(hours=1))
        middle = await aq.range_totals(conn, hour + timedelta(hours=1), hour + timedelta(hours=2))
    assert fleet.completed == 1 and fleet.revenue == {quote.currency: (quote.price_minor, quote.distance_m)}
    # Its time on the trip stays where it was driven: the hours in between did not change.
    assert middle.on_trip_ms == 3_600_000 and middle.completed == 0
