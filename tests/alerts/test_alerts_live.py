"""Alerts reach the control room live: the desk's outbox → the relay → Kafka → each web
process's fan-out → the staff streams as `alert` events (and no one else's); and the desk under
the real arq worker (`python -m workers`), raising once however many times it runs."""

from __future__ import annotations

import asyncio
import time

import orjson
from helpers import make_fare, make_user, start_worker, wait_for

from hexfleet import audit
from hexfleet.alerts import desk
from hexfleet.rides import bookings, quotes
from streaming.hub import Filter
from streaming.kafka import ensure_ride_topics, make_producer
from streaming.relay import OutboxRelay
from webapp.services import services

PICKUP, DROPOFF = (52.52, 13.405), (52.53, 13.43)


async def book(app, db) -> tuple[int, int]:
    rides = services(app).rides
    await make_fare(db)
    customer, _ = await make_user(db, "customer")
    quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest(PICKUP, DROPOFF))
    booking = await bookings.create_booking(
        rides,
        bookings.Viewer(customer.id, "customer"),
        bookings.BookingRequest(quote.id, "Rita", "+49 30 555", confirm_no_driver=True),
    )
    return booking.id, customer.id


async def alert_events(sub, wanted: int, timeout: float = 15.0) -> list[dict]:
    """The `alert` events a hub subscriber gets (booking events pass by)."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(seen) < wanted and time.monotonic() < deadline:
        try:
            batch = await asyncio.wait_for(sub.next_batch(), max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            break
        seen += [orjson.loads(e.data) for e in batch if e.kind == "alert"]
    return seen


async def test_alert_changes_reach_staff_streams_only(app, db, settings):
    await ensure_ride_topics(settings)
    booking_id, customer_id = await book(app, db)
    hub = services(app).rides_hub
    staff, customer = hub.subscribe(Filter(channel="staff")), hub.subscribe(Filter(channel=f"customer:{customer_id}"))
    relay = OutboxRelay(settings, db, lambda: make_producer(settings))
    task = asyncio.create_task(relay.run())
    try:
        rides = services(app).rides
        rules = settings.alert_rules()
        [raised] = (
            await desk.evaluate(rides.pool, rides.store, rides.router, rules, now=time.time() + rules.unassigned_s + 1)
        ).raised
        [event] = await alert_events(staff, 1)
        assert (event["alert_id"], event["action"]) == (raised.id, "raised")
        assert event["alert"]["booking_id"] == booking_id and event["alert"]["state"] == "open"
        assert event["alert"]["label"] == "No driver yet"

        dispatcher, _ = await make_user(db, "dispatcher")
        await desk.acknowledge(db, audit.Actor(dispatcher.email, dispatcher.id), raised.id, "on it")
        [event] = await alert_events(staff, 1)
        assert (event["action"], event["alert"]["state"], event["alert"]["note"]) == (
            "acknowledged",
            "acknowledged",
            "on it",
        )
        assert event["alert"]["acknowledged_by"] == dispatcher.email
        assert await alert_events(customer, 1, timeout=1.0) == []  # riders never see the desk
        assert await db.fetchval("SELECT count(*) FROM alert_events WHERE published_at IS NULL") == 0
    finally:
        hub.unsubscribe(staff)
        hub.unsubscribe(customer)
        relay.stop()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_worker_raises_once_and_resolves(app, db, settings, tmp_path):
    first, _ = await book(app, db)
    second, _ = await book(app, db)
    # The first search started a minute ago; the second will pass ALERT_UNASSIGNED_S (30 s) in
    # 4 s: its alert comes from a later evaluation, which must leave the first one alone.
    await db.execute("UPDATE bookings SET search_started_at = now() - interval '60 seconds' WHERE id = $1", first)
    await db.execute("UPDATE bookings SET search_started_at = now() - interval '26 seconds' WHERE id = $1", second)
    log_path = tmp_path / "worker.log"
    worker = start_worker(settings, log_path, ALERT_EVERY_S="1", ALERT_UNASSIGNED_S="30")
    try:

        async def raised_for(booking_id: int) -> int:
            return await db.fetchval("SELECT count(*) FROM alerts WHERE subject_id = $1", booking_id)

        try:
            await wait_for(lambda: raised_for(first), timeout=45, interval=0.2)
            await wait_for(lambda: raised_for(second), timeout=20, interval=0.2)
        except AssertionError:
            raise AssertionError(log_path.read_text()) from None
        rows = await db.fetch("SELECT rule, subject_id, state FROM alerts ORDER BY id")
        assert [tuple(r) for r in rows] == [("unassigned", first, "open"), ("unassigned", second, "open")]
        assert await db.fetchval("SELECT count(*) FROM alert_events") == 2  # one each, however many runs
        await db.execute("UPDATE bookings SET status = 'cancelled', ended_at = now() WHERE id = $1", first)
        await wait_for(
            lambda: db.fetchval("SELECT resolution FROM alerts WHERE state = 'resolved'"), timeout=20, interval=0.2
        )
        assert await db.fetchval("SELECT resolution FROM alerts WHERE subject_id = $1", first) == "cancelled"
    finally:
        worker.terminate()
        worker.wait(15)
    assert "Traceback" not in log_path.read_text()
