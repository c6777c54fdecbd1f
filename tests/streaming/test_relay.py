"""The outbox relay against real PostgreSQL and a real Kafka-protocol broker: every booking event
reaches consumers once and in order, through relay kills and a broker restart."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import orjson
import pytest
from helpers import make_driver, make_fare, make_user, place_driver, wait_for

from hexfleet.devtools import embedded
from hexfleet.devtools.testing import free_port
from hexfleet.rides import bookings, dispatch, quotes
from hexfleet.rides.states import Actor
from streaming.events import BookingChanged, decode_ride_event, encode_booking
from streaming.hub import Filter, LiveHub
from streaming.kafka import ensure_ride_topics, make_consumer, make_producer
from streaming.relay import OutboxRelay
from streaming.ride_fanout import RideFanOut
from webapp.services import services


@pytest.fixture
def ride_settings(settings):
    return settings  # its own booking-events and surge topics (tests/conftest.py)


async def make_bookings(app, db, count: int) -> list[int]:
    """Immediate bookings through the real workflows (each writes its outbox rows)."""
    rides = services(app).rides
    await make_fare(db)
    customer, _ = await make_user(db, "customer")
    made = []
    for i in range(count):
        quote = await quotes.make_quote(
            rides, customer.id, quotes.QuoteRequest((52.52, 13.405 + i * 0.001), (52.53, 13.43))
        )
        booking = await bookings.create_booking(
            rides,
            bookings.Viewer(customer.id, "customer"),
            bookings.BookingRequest(quote.id, "Rita", "+49 30 555", confirm_no_driver=True),  # nobody is near
        )
        made.append(booking.id)
    return made


async def read_events(settings, expected: int, timeout: float = 20.0) -> list[BookingChanged]:
    consumer = make_consumer(settings, group_id=None, auto_offset_reset="earliest")
    consumer.subscribe([settings.kafka_topic_bookings])
    await consumer.start()
    seen: list[BookingChanged] = []
    try:
        deadline = time.monotonic() + timeout
        while len(seen) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for msgs in batch.values():
                seen += [e for m in msgs if isinstance(e := decode_ride_event(m.value), BookingChanged)]
    finally:
        await consumer.stop()
    return seen


def per_booking_ids(events: list[BookingChanged]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for e in events:
        out[e.booking_id].append(e.event_id)
    return out


async def run_relay(settings, db) -> tuple[OutboxRelay, asyncio.Task]:
    relay = OutboxRelay(settings, db, lambda: make_producer(settings))
    task = asyncio.create_task(relay.run())
    await asyncio.wait_for(relay.leading.wait(), 10)
    return relay, task


async def outbox_empty(db) -> bool:
    return await db.fetchval("SELECT count(*) FROM booking_events WHERE published_at IS NULL") == 0


async def test_events_reach_the_topic_once_in_order_and_a_second_relay_waits(app, db, ride_settings):
    await ensure_ride_topics(ride_settings)
    ids = await make_bookings(app, db, 5)
    relay, task = await run_relay(ride_settings, db)
    standby = OutboxRelay(ride_settings, db, lambda: make_producer(ride_settings))
    standby_task = asyncio.create_task(standby.run())
    try:
        await wait_for(lambda: outbox_empty(db), timeout=10)
        assert not standby.leading.is_set()  # one relay publishes at a time
        stored = [r["id"] for r in await db.fetch("SELECT id FROM booking_events ORDER BY id")]
        seen = await read_events(ride_settings, len(stored))
        assert sorted(e.event_id for e in seen) == stored  # every event, once
        for booking_id, event_ids in per_booking_ids(seen).items():
            assert event_ids == sorted(event_ids), booking_id  # in order per booking
        assert {e.booking_id for e in seen} == set(ids) and all(e.customer_id for e in seen)
        # The holder goes: the standby takes over and publishes what comes next.
        relay.stop()
        await asyncio.wait_for(task, 10)
        await asyncio.wait_for(standby.leading.wait(), 10)
        more = await make_bookings(app, db, 1)
        await wait_for(lambda: outbox_empty(db), timeout=10)
        assert more[0] in {e.booking_id for e in await read_events(ride_settings, len(stored) + 1)}
    finally:
        relay.stop()
        standby.stop()
        await asyncio.gather(task, standby_task, return_exceptions=True)


async def test_a_relay_killed_after_the_ack_publishes_again_and_consumers_drop_the_duplicates(app, db, ride_settings):
    await ensure_ride_topics(ride_settings)
    await make_bookings(app, db, 4)
    relay, task = await run_relay(ride_settings, db)
    await wait_for(lambda: outbox_empty(db), timeout=10)
    task.cancel()  # killed: no clean stop
    await asyncio.gather(task, return_exceptions=True)
    # What a kill between the broker's ack and the UPDATE leaves behind: published, not marked.
    await db.execute(
        """UPDATE booking_events SET published_at = NULL
           WHERE id IN (SELECT id FROM booking_events ORDER BY id DESC LIMIT 3)"""
    )
    relay, task = await run_relay(ride_settings, db)
    try:
        await wait_for(lambda: outbox_empty(db), timeout=10)
        stored = [r["id"] for r in await db.fetch("SELECT id FROM booking_events ORDER BY id")]
        raw = await read_events(ride_settings, len(stored) + 3)
        assert len(raw) == len(stored) + 3  # the broker has the three twice
        fanout = RideFanOut(ride_settings, LiveHub())
        hub = fanout.hub
        staff = hub.subscribe(Filter(channel="staff"))
        delivered = fanout.events([encode_booking(e) for e in raw])
        assert fanout.duplicates == 3
        assert sorted(orjson.loads(e.data)["event_id"] for e in delivered) == stored
        hub.unsubscribe(staff)
    finally:
        relay.stop()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_relay_rides_out_a_broker_restart(app, db, settings, tmp_path):
    """Events made while the broker is away wait in PostgreSQL and are all published, once,
    when it is back on the same address (this broker keeps nothing across its restart)."""
    port = free_port()
    broker = embedded.start_kafka(port=port, log_dir=tmp_path)
    own = settings.with_(kafka_bootstrap_servers=f"127.0.0.1:{port}", kafka_topic_bookings="booking-events")
    try:
        await ensure_ride_topics(own)
        relay, task = await run_relay(own, db)
        await make_bookings(app, db, 2)
        await wait_for(lambda: outbox_empty(db), timeout=10)
        published_before = await db.fetchval("SELECT max(id) FROM booking_events")
        broker.stop()
        during = await make_bookings(app, db, 3)  # the broker is down: nothing may be marked
        await asyncio.sleep(2)
        assert await db.fetchval("SELECT count(*) FROM booking_events WHERE published_at IS NULL") >= 3
        broker = embedded.start_kafka(port=port, log_dir=tmp_path)
        await ensure_ride_topics(own)
        await wait_for(lambda: outbox_empty(db), timeout=45)
        after = await db.fetch("SELECT id, booking_id FROM booking_events WHERE id > $1 ORDER BY id", published_before)
        seen = await read_events(own, len(after))
        assert sorted(e.event_id for e in seen) == [r["id"] for r in after]  # each once, none lost
        assert {e.booking_id for e in seen} == set(during)
    finally:
        relay.stop()
        await asyncio.gather(task, return_exceptions=True)
        broker.stop()


async def test_driver_and_customer_channels_see_only_their_own(app, db, ride_settings):
    """The fan-out's audience rules on a real topic: a customer sees their booking, the offered
    driver their offer, staff everything, nobody else anything."""
    await ensure_ride_topics(ride_settings)
    rides = services(app).rides
    driver, _ = await make_driver(db, "Offered")
    other_driver, _ = await make_driver(db, "Elsewhere")
    await place_driver(rides.store, driver.id, 52.5201, 13.4050)
    await place_driver(rides.store, other_driver.id, 48.14, 11.58)  # Munich: never offered
    [booking_id] = await make_bookings(app, db, 1)
    customer_id = await db.fetchval("SELECT customer_id FROM bookings WHERE id = $1", booking_id)
    await dispatch.offer_next(rides, booking_id)
    hub = LiveHub()
    fanout = RideFanOut(ride_settings, hub)
    subs = {
        name: hub.subscribe(Filter(channel=channel))
        for name, channel in (
            ("staff", "staff"),
            ("customer", f"customer:{customer_id}"),
            ("stranger", f"customer:{customer_id + 1}"),
            ("driver", f"driver:{driver.id}"),
            ("other_driver", f"driver:{other_driver.id}"),
            ("link", f"booking:{booking_id}"),
        )
    }
    relay, task = await run_relay(ride_settings, db)
    try:
        await wait_for(lambda: outbox_empty(db), timeout=10)
        stored = await db.fetchval("SELECT count(*) FROM booking_events")
        hub.publish(fanout.events([encode_booking(e) for e in await read_events(ride_settings, stored)]))
        got = {name: [e.kind for e in sub.pending.values()] for name, sub in subs.items()}
        assert got["staff"] == got["customer"] == got["link"] == ["booking"]  # coalesced to the latest state
        assert got["driver"] == ["booking"] and got["stranger"] == got["other_driver"] == []
        assert b'"status":"offered"' in next(iter(subs["driver"].pending.values())).data
    finally:
        relay.stop()
        await asyncio.gather(task, return_exceptions=True)
    await dispatch.cancel(rides, booking_id, dispatch.Who(Actor.CUSTOMER, customer_id), "changed my mind")
