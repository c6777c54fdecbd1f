"""Quotes and dispatch estimate with the learned speeds the process holds in memory."""

from __future__ import annotations

import time

import pytest
from helpers import make_driver, make_fare, make_user, place_driver

from hexfleet.eta.live import LiveSpeeds
from hexfleet.eta.table import CITY, hour_of_week
from hexfleet.rides import bookings, dispatch, quotes
from webapp.services import services

PICKUP = (52.5200, 13.4050)
DROPOFF = (52.5300, 13.4300)
M_PER_DEG_LAT = 111_195.0


async def learn_city_speed(app, db, kmh: float) -> None:
    """What the worker would have learned: the whole city at ``kmh`` in this hour of week."""
    how = hour_of_week(time.time(), services(app).rides.settings.speed_zone())
    await db.execute(
        """INSERT INTO learned_speeds
               (resolution, cell, hour_of_week, passes, segments, distance_m, seconds, learned_at)
           VALUES (0, $1, $2, 100, 1000, $3, 3600, now())""",
        CITY,
        how,
        kmh * 1000,
    )
    await services(app).speeds.reload(db)


async def test_quote_and_offer_etas_use_the_learned_speed(app, db):
    rides = services(app).rides
    await make_fare(db)
    driver, _ = await make_driver(db)
    await place_driver(rides.store, driver.id, PICKUP[0] + 1000 / M_PER_DEG_LAT, PICKUP[1])
    constant = (await quotes.look_near(rides, *PICKUP, "standard")).eta_s
    assert constant == pytest.approx(1000 * 1.3 / (25 / 3.6), abs=2)

    await learn_city_speed(app, db, 10)
    assert rides.router.learned
    learned = (await quotes.look_near(rides, *PICKUP, "standard")).eta_s
    assert learned == pytest.approx(1000 * 1.3 / (10 / 3.6), abs=2)

    customer, _ = await make_user(db, "customer")
    quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest(PICKUP, DROPOFF))
    assert quote.eta_pickup_s == learned
    # The trip itself (no ROUTING_URL) is driven at the learned speed too.
    assert quote.duration_s == pytest.approx(quote.distance_m / (10 / 3.6), rel=0.01)
    booking = await bookings.create_booking(
        rides, bookings.Viewer(customer.id, "customer"), bookings.BookingRequest(quote.id, "Rita", "+49 30 555")
    )
    offer = await dispatch.offer_next(rides, booking.id)
    assert offer is not None and offer.eta_s == pytest.approx(learned, abs=1)  # the promise an acceptance records


async def test_with_learned_speeds_off_estimates_stay_at_the_average(app, db):
    speeds = LiveSpeeds(services(app).rides.settings.with_(learned_speeds=False))
    await learn_city_speed(app, db, 10)
    await speeds.reload(db)
    assert speeds.table is None
