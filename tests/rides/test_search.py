"""Finding a driver through the GEO index: nearest first, ring by ring, past drivers who may
not be asked; a driver lost to another booking hands the offer to the next candidate; the
reconcile job leaves bookings whose dispatch a process has in hand alone."""

from __future__ import annotations

import time

import pytest
from helpers import make_driver, make_fare, make_user, place_driver

from hexfleet.rides import bookings, dispatch, quotes, search
from hexfleet.rides import queries as q
from hexfleet.rides.leases import Leases
from webapp.services import services

PICKUP = (52.5200, 13.4050)
DROPOFF = (52.5300, 13.4300)
M_PER_DEG_LAT = 111_195.0


def north_of(metres: float) -> tuple[float, float]:
    return PICKUP[0] + metres / M_PER_DEG_LAT, PICKUP[1]


@pytest.fixture
async def rides(app, db):
    await make_fare(db)
    await make_fare(db, "comfort")
    return services(app).rides


async def driver_at(rides, db, metres: float, vehicle_class: str = "standard") -> int:
    driver, _ = await make_driver(db, f"{vehicle_class} at {metres:g} m", plate=f"B-{vehicle_class[:2]}-{metres:g}")
    await db.execute("UPDATE vehicles SET class = $1 WHERE plate = $2", vehicle_class, driver.vehicle_plate)
    await place_driver(rides.store, driver.id, *north_of(metres))
    return driver.id


async def searching(rides, db, vehicle_class: str = "standard") -> q.Booking:
    customer, _ = await make_user(db, "customer")
    quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest(PICKUP, DROPOFF, vehicle_class))
    booking = await bookings.create_booking(
        rides,
        bookings.Viewer(customer.id, "customer"),
        bookings.BookingRequest(quote.id, "Rita", "+49 30 555", confirm_no_driver=True),  # whoever is near
    )
    assert booking.status == "searching"
    return booking


async def test_the_nearest_driver_who_may_be_asked_gets_the_offer_ring_by_ring(rides, db):
    engaged = await driver_at(rides, db, 200)
    await driver_at(rides, db, 400, "comfort")  # another vehicle class
    ring_two = await driver_at(rides, db, 2000)
    await driver_at(rides, db, 2500)
    first = await searching(rides, db)
    assert (await dispatch.offer_next(rides, first.id)).driver_id == engaged  # now answering that offer
    second = await searching(rides, db)
    offer = await dispatch.offer_next(rides, second.id)
    assert (offer.driver_id, offer.ring, offer.distance_m) == (ring_two, 2, 2000)
    assert (await q.get_booking(db, second.id)).search_ring == 2


async def test_search_reads_past_a_batch_of_drivers_it_may_not_ask(rides, db):
    for i in range(search.SEARCH_BATCH + quotes.ETA_CANDIDATES + 4):
        await driver_at(rides, db, 100 + i * 10, "comfort")
    far = await driver_at(rides, db, 3500)
    eta = (await quotes.look_near(rides, *PICKUP, "standard")).eta_s
    assert eta is not None and eta > 3500 / (rides.settings.average_speed_kmh / 3.6)  # the far one's, not a comfort's
    assert (await quotes.look_near(rides, *PICKUP, "comfort")).eta_s < 60
    booking = await searching(rides, db)
    offer = await dispatch.offer_next(rides, booking.id)
    assert (offer.driver_id, offer.ring) == (far, 3)


async def test_engaged_drivers_are_waited_for_and_nobody_in_reach_is_no_driver(rides, db):
    near = await driver_at(rides, db, 300)
    beyond = rides.settings.dispatch_max_rings * rides.settings.dispatch_ring_m + 200
    await driver_at(rides, db, beyond)  # outside the last ring
    first, second = await searching(rides, db), await searching(rides, db)
    await dispatch.offer_next(rides, first.id)
    assert await search.find_driver(rides, second, set()) == search.ENGAGED
    assert await dispatch.offer_next(rides, second.id) is None
    assert (await q.get_booking(db, second.id)).status == "searching"  # retried shortly (a deferred job)
    await dispatch.cancel(rides, first.id, dispatch.SYSTEM, "test")  # the driver is free again…
    await db.execute("UPDATE drivers SET status = 'off_duty' WHERE id = $1", near)  # …but goes home
    await rides.store.set_duty(near, "off_duty", time.time() - 60)
    assert await search.find_driver(rides, second, set()) is None
    await dispatch.offer_next(rides, second.id)
    assert (await q.get_booking(db, second.id)).status == "searching"  # it keeps looking for a while…
    real_clock = rides.clock
    rides.clock = lambda: real_clock() + rides.settings.dispatch_patience_s + 1
    await dispatch.offer_next(rides, second.id)
    assert (await q.get_booking(db, second.id)).status == "no_driver"  # …and then gives up


async def test_a_driver_lost_to_another_booking_hands_the_offer_to_the_next_candidate(rides, db, monkeypatch):
    best, runner_up = await driver_at(rides, db, 100), await driver_at(rides, db, 300)
    ours, theirs = await searching(rides, db), await searching(rides, db)
    searches = []
    real_find = dispatch.find_driver

    async def find_then_lose_the_best(rides_, booking, exclude):
        found = await real_find(rides_, booking, exclude)
        searches.append([c.driver_id for c in found.ranked])
        if len(searches) == 1:  # another dispatcher offers `theirs` to the best driver meanwhile
            now = time.time()
            async with db.acquire() as conn:
                await q.insert_offer(conn, theirs.id, best, 1, 100, None, now, now + 15)
        return found

    monkeypatch.setattr(dispatch, "find_driver", find_then_lose_the_best)
    offer = await dispatch.offer_next(rides, ours.id)
    assert offer.driver_id == runner_up
    assert searches == [[best, runner_up]]  # one search: the claim went down the ranking


async def test_reconcile_leaves_bookings_whose_dispatch_is_in_hand_alone(rides, db, redis):
    await driver_at(rides, db, 300)
    booking = await searching(rides, db)
    real_clock = rides.clock
    rides.clock = lambda: real_clock() + dispatch.STALLED_AFTER_S + 1  # it looks stalled
    leases = Leases(redis)
    token = await leases.hold(booking.id)  # a web process has it queued
    done = await dispatch.reconcile(rides)
    assert (done.searches_leased, done.searches_resumed) == (1, 0)
    assert (await q.get_booking(db, booking.id)).status == "searching"
    await leases.release(booking.id, token)
    done = await dispatch.reconcile(rides)
    assert (done.searches_leased, done.searches_resumed) == (0, 1)
    assert (await q.get_booking(db, booking.id)).status == "offered"


async def test_a_lease_is_released_only_by_its_holder(redis):
    leases = Leases(redis)
    old = await leases.hold(5)
    new = await leases.hold(5)  # a newer step for the same booking
    await leases.release(5, old)
    assert await redis.exists("hf:dispatching:5")
    await leases.release(5, new)
    assert not await redis.exists("hf:dispatching:5")
    await Leases(redis, lease_s=2).hold(6)
    assert 0 < await redis.pttl("hf:dispatching:6") <= 2000  # a dead holder's mark goes by itself
