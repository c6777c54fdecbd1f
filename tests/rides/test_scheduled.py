"""Scheduled rides: dispatch starts DISPATCH_LEAD_S before pickup through a real arq worker and
Redis, a lost job is found by the reconcile cron, and a job that runs twice dispatches once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from helpers import make_driver, make_fare, make_user, place_driver, start_worker, wait_for

from hexfleet.rides import bookings, dispatch, quotes
from webapp.services import services

LEAD_S = 900.0  # so a ride booked 15 min + a few seconds ahead is due in a few seconds


@pytest.fixture
async def lead_app(settings, db, redis):
    from webapp import create_app

    app = create_app(settings.with_(dispatch_lead_s=LEAD_S))
    async with app.test_app():
        yield app


async def schedule(rides, customer, seconds_to_dispatch: float):
    quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest((52.52, 13.405), (52.53, 13.43)))
    when = datetime.now(UTC) + timedelta(seconds=LEAD_S + seconds_to_dispatch)
    return await bookings.create_booking(
        rides,
        bookings.Viewer(customer.id, "customer"),
        bookings.BookingRequest(quote.id, "Rita", "+49 30 555", scheduled_for=when),
    )


async def status_of(db, booking_id: int) -> str:
    return await db.fetchval("SELECT status FROM bookings WHERE id = $1", booking_id)


async def test_a_real_worker_dispatches_on_time_and_finds_lost_jobs(lead_app, db, redis, settings, tmp_path):
    rides = services(lead_app).rides
    await make_fare(db)
    customer, _ = await make_user(db, "customer")
    driver, _ = await make_driver(db, "Ready")
    await place_driver(rides.store, driver.id, 52.5201, 13.4050)
    worker = start_worker(settings, tmp_path / "worker.log")
    try:

        async def worker_ready():  # arq records its health check once it polls
            return await redis.exists("arq:queue:health-check")

        try:
            await wait_for(worker_ready, timeout=30, interval=0.1)
        except AssertionError:
            keys = [k async for k in redis.scan_iter(match="*")]
            raise AssertionError(f"the worker never polled {keys}:\n{(tmp_path / 'worker.log').read_text()}") from None
        on_time = await schedule(rides, customer, 3)
        assert on_time.status == "scheduled"
        lost = await schedule(rides, customer, 5)
        # Lose the second booking's job (a Redis flush, a worker that crashed with it): only its id key goes.
        job_keys = [k async for k in redis.scan_iter(match=f"arq:job:dispatch:{lost.id}:*")]
        assert job_keys, "the deferred job was enqueued"
        await redis.delete(*job_keys)
        await redis.zrem("arq:queue", *[k.decode().removeprefix("arq:job:") for k in job_keys])
        assert await status_of(db, on_time.id) == "scheduled"  # not before its time

        async def offered(booking_id: int):
            return await status_of(db, booking_id) == "offered"

        await wait_for(lambda: offered(on_time.id), timeout=20)
        started = await db.fetchval(
            "SELECT at FROM booking_events WHERE booking_id = $1 AND action = 'dispatch'", on_time.id
        )
        assert started >= on_time.dispatch_at  # never early
        # The lost one is found by the reconcile cron (every 5 s); its only driver is busy with
        # the first offer, so it waits for that offer to end.

        async def started_late():
            return await status_of(db, lost.id) != "scheduled"

        await wait_for(started_late, timeout=20)
        assert await status_of(db, lost.id) in ("searching", "offered", "no_driver")
    finally:
        worker.terminate()
        worker.wait(15)
    assert "Traceback" not in (tmp_path / "worker.log").read_text()


async def test_the_scheduled_dispatch_job_is_idempotent_under_a_controlled_clock(lead_app, db):
    rides = services(lead_app).rides
    await make_fare(db)
    customer, _ = await make_user(db, "customer")
    booking = await schedule(rides, customer, 3600)  # due in an hour
    due = booking.dispatch_at.timestamp()
    rides.clock = lambda: due - 1
    assert await dispatch.start_scheduled(rides, booking.id) is False  # early: nothing happens
    rides.clock = lambda: due + 0.5
    await dispatch.dispatch_job(rides, booking.id)
    await dispatch.dispatch_job(rides, booking.id)  # arq may run a job twice
    await dispatch.reconcile(rides)  # and the reconcile cron may find it too
    assert await status_of(db, booking.id) == "searching"  # no drivers at all: it keeps looking a while
    rides.clock = lambda: due + 0.5 + rides.settings.dispatch_patience_s
    await dispatch.dispatch_job(rides, booking.id)  # its last look
    actions = [r["action"] for r in await db.fetch(
        "SELECT action FROM booking_events WHERE booking_id = $1 ORDER BY id", booking.id
    )]  # fmt: skip
    assert actions.count("dispatch") == 1
    assert actions[:2] == ["create", "dispatch"] and actions[-1] == "give_up"
    assert time.time() < due  # the real clock never had to move
