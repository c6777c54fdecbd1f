"""What bookings now record for analytics, through the real ride workflows: the pickup cells
when created, the pickup ETA promised at each assignment."""

from __future__ import annotations

import math

from helpers import make_driver, make_fare, make_user, place_driver

from hexfleet.geo import cell_of
from hexfleet.rides import bookings, dispatch, quotes
from hexfleet.rides.routes import estimate
from hexfleet.rides.states import Action, Actor
from webapp.services import services

PICKUP, DROPOFF = (52.52, 13.405), (52.53, 13.43)


async def columns(db, booking_id: int):
    return await db.fetchrow(
        "SELECT pickup_cell7, pickup_cell8, eta_pickup_s, driver_id FROM bookings WHERE id = $1", booking_id
    )


async def test_cells_at_creation_and_the_eta_promised_at_each_assignment(app, db):
    rides = services(app).rides
    await make_fare(db)
    customer, _ = await make_user(db, "customer")
    staff, _ = await make_user(db, "dispatcher")
    near, _ = await make_driver(db, "Near")
    far, _ = await make_driver(db, "Far")
    await place_driver(rides.store, near.id, 52.5230, 13.4100)
    quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest(PICKUP, DROPOFF))
    booking = await bookings.create_booking(
        rides, bookings.Viewer(customer.id, "customer"), bookings.BookingRequest(quote.id, "Rita", "+49 30 555")
    )
    row = await columns(db, booking.id)
    assert (row["pickup_cell7"], row["pickup_cell8"]) == (cell_of(*PICKUP, 7), cell_of(*PICKUP, 8))
    assert row["eta_pickup_s"] is None  # nobody assigned yet

    offer = await dispatch.offer_next(rides, booking.id)
    assert offer is not None and offer.eta_s is None  # no ROUTING_URL: the offer has a distance only
    await dispatch.accept(rides, near.id, offer.id)
    rules = rides.settings.estimate_rules()
    promised = math.ceil(offer.distance_m * rules.detour_factor / (rules.average_speed_kmh / 3.6))
    assert (await columns(db, booking.id))["eta_pickup_s"] == promised > 0  # the offer's promise

    # The driver gives it back: no promise stands.
    await dispatch.driver_step(rides, near.id, booking.id, Action.RELEASE, reason="flat tyre")
    released = await columns(db, booking.id)
    assert released["eta_pickup_s"] is None and released["driver_id"] is None

    # A dispatcher assigns one by hand: the estimate from where that driver is.
    await place_driver(rides.store, far.id, 52.5400, 13.4500)
    await dispatch.assign(rides, booking.id, far.id, dispatch.Who(Actor.DISPATCHER, staff.id))
    expected = estimate(52.5400, 13.4500, *PICKUP, rules).duration_s
    assigned = await columns(db, booking.id)
    assert assigned["driver_id"] == far.id and assigned["eta_pickup_s"] == expected
    assert expected > promised  # farther away: a longer promise

    # Swapped for a driver the platform has no position of: no promise to measure.
    silent, _ = await make_driver(db, "No phone")
    await dispatch.assign(rides, booking.id, silent.id, dispatch.Who(Actor.DISPATCHER, staff.id))
    assert (await columns(db, booking.id))["eta_pickup_s"] is None
