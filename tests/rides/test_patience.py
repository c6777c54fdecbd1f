"""A booking with nobody in reach keeps searching for DISPATCH_PATIENCE_S, looking again
through deferred jobs (a real arq worker runs them), and only then becomes no_driver; a
driver who comes within reach meanwhile gets the offer."""

from __future__ import annotations

import time

import pytest
from helpers import make_driver, make_fare, make_user, place_driver

from hexfleet.rides import bookings, dispatch, patience, quotes
from hexfleet.rides import queries as q
from webapp.services import services

PICKUP = (52.5200, 13.4050)
DROPOFF = (52.5300, 13.4300)


# ---------------------------------------------------------------- the rule (pure)


@pytest.mark.parametrize(
    ("started", "now", "patience_s", "every_s", "expected"),
    [
        (1000.0, 1000.0, 300.0, 10.0, 1010.0),  # the next step of the grid
        (1000.0, 1003.7, 300.0, 10.0, 1010.0),  # every caller within one step asks for the same time
        (1000.0, 1009.99, 300.0, 10.0, 1010.0),
        (1000.0, 1010.0, 300.0, 10.0, 1020.0),
        (1000.0, 1295.0, 300.0, 10.0, 1300.0),  # the last look is at the deadline
        (1003.0, 1295.0, 300.0, 10.0, 1300.0),
        (1003.0, 1301.0, 300.0, 10.0, 1303.0),
        (1000.0, 1300.0, 300.0, 10.0, None),  # patience has run out: give up now
        (1000.0, 5000.0, 300.0, 10.0, None),
        (1000.0, 1000.0, 0.0, 10.0, None),  # no patience: give up at once, as before
        (1000.0, 1000.0, 4.0, 10.0, 1004.0),
    ],
)
def test_next_look(started, now, patience_s, every_s, expected):
    assert patience.next_look(started, now, patience_s, every_s) == expected


@pytest.mark.parametrize(
    ("patience_s", "minutes", "phrase"),
    [
        (300.0, 5, "dispatch will keep looking for 5 minutes"),
        (59.0, 1, "dispatch will keep looking for 1 minute"),
        (90.0, 2, "dispatch will keep looking for 2 minutes"),
        (0.0, 0, "dispatch will not wait for one to come near"),
    ],
)
def test_minutes_as_told(patience_s, minutes, phrase):
    assert patience.minutes(patience_s) == minutes
    assert patience.keep_looking_phrase(patience_s) == phrase


# ---------------------------------------------------------------- the workflow


@pytest.fixture
async def rides(app, db):
    await make_fare(db)
    return services(app).rides


async def book_now(rides, db) -> q.Booking:
    customer, _ = await make_user(db, "customer")
    quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest(PICKUP, DROPOFF))
    return await bookings.create_booking(
        rides,
        bookings.Viewer(customer.id, "customer"),
        bookings.BookingRequest(quote.id, "Rita", "+49 30 555", confirm_no_driver=True),
    )


async def dispatch_jobs(redis, booking_id: int) -> list[float]:
    """The times of the booking's deferred dispatch jobs waiting in arq's queue."""
    keys = [k.decode() async for k in redis.scan_iter(match=f"arq:job:dispatch:{booking_id}:*")]
    return sorted(int(k.rsplit(":", 1)[1]) / 1000 for k in keys)


async def test_nobody_in_reach_keeps_looking_then_gives_up(rides, db, redis):
    booking = await book_now(rides, db)  # nobody on duty anywhere
    start = booking.search_started_at.timestamp()
    assert await dispatch.offer_next(rides, booking.id) is None
    assert (await q.get_booking(db, booking.id)).status == "searching"
    await dispatch.offer_next(rides, booking.id)  # another process finds nobody within the same step…
    looks = await dispatch_jobs(redis, booking.id)
    assert len(looks) == 1  # …and asks for the same job, not a second chain of retries
    assert time.time() < looks[0] <= time.time() + patience.LOOK_AGAIN_S

    # The reconcile cron resumes it too once it looks stalled; still nobody, still searching.
    real_clock = rides.clock
    rides.clock = lambda: real_clock() + dispatch.STALLED_AFTER_S + 1  # well within its patience (300 s)
    await dispatch.reconcile(rides)
    assert (await q.get_booking(db, booking.id)).status == "searching"

    rides.clock = lambda: start + rides.settings.dispatch_patience_s  # the last look finds nobody
    await dispatch.dispatch_job(rides, booking.id)
    gave_up = await q.get_booking(db, booking.id)
    assert gave_up.status == "no_driver"
    event = await db.fetchrow(
        "SELECT reason, at FROM booking_events WHERE booking_id = $1 AND action = 'give_up'", booking.id
    )
    assert event["reason"] == "no driver within 6 km"
    assert event["at"].timestamp() - start == pytest.approx(rides.settings.dispatch_patience_s)


async def test_a_driver_who_comes_within_reach_gets_the_offer(rides, db):
    booking = await book_now(rides, db)
    await dispatch.offer_next(rides, booking.id)
    assert (await q.get_booking(db, booking.id)).status == "searching"
    driver, _ = await make_driver(db, "Back from lunch")
    await place_driver(rides.store, driver.id, 52.5205, 13.4050)
    await dispatch.dispatch_job(rides, booking.id)  # the next look
    offer = await q.pending_offer_of_booking(db, booking.id)
    assert offer is not None and offer.driver_id == driver.id


async def test_a_ride_given_back_starts_a_new_search_and_a_decline_does_not(rides, db):
    driver, _ = await make_driver(db, "Giver")
    await place_driver(rides.store, driver.id, 52.5205, 13.4050)
    booking = await book_now(rides, db)
    first_start = booking.search_started_at
    offer = await dispatch.offer_next(rides, booking.id)
    later = first_start.timestamp() + 20  # fixes stay fresh (STALE_AFTER_S)
    rides.clock = lambda: later
    await dispatch.decline(rides, driver.id, offer.id)
    assert (await q.get_booking(db, booking.id)).search_started_at == first_start  # the same search goes on

    other, _ = await make_driver(db, "Taker")
    await place_driver(rides.store, other.id, 52.5206, 13.4050)
    offer = await dispatch.offer_next(rides, booking.id)
    await dispatch.accept(rides, other.id, offer.id)
    rides.clock = lambda: later + 10
    await dispatch.driver_step(rides, other.id, booking.id, dispatch.Action.RELEASE, "flat tyre")
    again = await q.get_booking(db, booking.id)
    assert again.search_started_at.timestamp() == pytest.approx(later + 10)  # a new search: patience anew
