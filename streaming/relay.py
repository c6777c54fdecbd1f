"""The outbox relay: booking events (and alert events) from PostgreSQL to the ``booking-events`` topic.

Every booking change writes its event row in the same transaction as the change
(hexfleet.rides.queries.record_event), so an event exists if and only if the change
committed. This relay publishes unpublished rows in id order, keyed by booking id, with
the idempotent producer, and marks them published only after the broker acknowledged
all of them. A crash between the ack and the mark publishes those rows again: consumers
drop them by event id (at-least-once delivery, exactly-once effect).

One relay publishes at a time (a PostgreSQL advisory lock, held by its own connection),
so a booking's events never race each other from two relays; others wait as standbys
and take over within seconds when the holder's connection goes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

import asyncpg

from hexfleet.alerts import queries as alert_queries
from hexfleet.rides import queries as q
from hexfleet.settings import Settings, SettingsError
from streaming.events import AlertChanged, BookingChanged, alert_key, booking_key, encode_alert, encode_booking
from streaming.kafka import ensure_topic

log = logging.getLogger("hexfleet.relay")
# An arbitrary constant: the advisory lock key that means "the outbox relay".
LOCK_KEY = 7_402_915_120
BATCH = 500
IDLE_WAIT_S = 1.0  # a NOTIFY wakes us at once; this only bounds a lost one
STANDBY_RETRY_S = 2.0
ERROR_PAUSE_S = 1.0
PUBLISH_TIMEOUT_S = 15.0


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def to_wire(event: q.BookingEvent) -> BookingChanged:
    return BookingChanged(
        event_id=event.id,
        booking_id=event.booking_id,
        action=event.action,
        from_status=event.from_status,
        to_status=event.to_status,
        actor=event.actor,
        at=event.at.timestamp(),
        customer_id=event.customer_id,
        driver_id=event.driver_id,
        offer_id=event.offer_id,
        offer_expires_at=_epoch(event.offer_expires_at),
        reason=event.reason,
        booking=event.snapshot,
    )


class OutboxRelay:
    """``make_producer``: a new, unstarted idempotent producer. The relay owns it and makes a
    fresh one after a failure: a producer that lost its broker can stay unusable after the
    broker returns (its producer id is unknown to a restarted broker)."""

    def __init__(self, settings: Settings, pool, make_producer) -> None:
        self.settings = settings
        self.pool = pool
        self.make_producer = make_producer
        self.producer = None
        self.topic = settings.kafka_topic_bookings
        self.published = 0
        self.leading = asyncio.Event()  # set while this relay holds the lock (tests, logs)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._lead()
            except (asyncio.CancelledError, SettingsError):
                raise  # a topic that cannot be created as configured stops the process with its reason
            except Exception as error:
                # PostgreSQL or the broker away: nothing is marked, so nothing is lost.
                log.warning("outbox relay paused (%s: %s); retrying", type(error).__name__, error or "")
                self.leading.clear()
                await self._drop_producer()
                await self._pause(ERROR_PAUSE_S)
        await self._drop_producer()

    async def _drop_producer(self) -> None:
        producer, self.producer = self.producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), 5)
            except Exception:  # it failed already; a new one replaces it
                log.debug("stopping a failed producer", exc_info=True)

    async def _lead(self) -> None:
        conn = await asyncpg.connect(self.settings.database_url, timeout=10)
        try:
            if not await q.try_relay_lock(conn, LOCK_KEY):
                await self._pause(STANDBY_RETRY_S)  # another relay publishes; stand by
                return
            await conn.add_listener(q.OUTBOX_CHANNEL, lambda *_: self._wake.set())
            self.leading.set()
            log.info("outbox relay publishing to %s", self.topic)
            while not self._stopping.is_set():
                self._wake.clear()
                while await self.publish_batch() == BATCH:
                    pass
                while await self.publish_alert_batch() == BATCH:
                    pass
                await self._pause(IDLE_WAIT_S)
                if conn.is_closed():
                    raise ConnectionError("the relay's lock connection closed")
        finally:
            self.leading.clear()
            await conn.close(timeout=5)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    async def _producer(self):
        producer = self.producer
        if producer is None:
            # A broker that restarted without its data has no topic either: make sure of it.
            await ensure_topic(self.settings, self.topic)
            producer = self.make_producer()
            await producer.start()
            self.producer = producer
        return producer

    async def publish_batch(self) -> int:
        """Publish up to BATCH unpublished events (all acknowledged), then mark them."""
        async with self.pool.acquire() as conn:
            events = await q.unpublished_events(conn, BATCH)
        if not events:
            return 0
        producer = await self._producer()
        sent = [
            await producer.send(self.topic, encode_booking(to_wire(e)), key=booking_key(e.booking_id)) for e in events
        ]
        # acks=all: every event is on the broker before any is marked. A deadline, so a broker
        # that went away mid-batch turns into a retry instead of a hang.
        await asyncio.wait_for(asyncio.gather(*sent), PUBLISH_TIMEOUT_S)
        async with self.pool.acquire() as conn:
            await q.mark_published(conn, [e.id for e in events], time.time())
        self.published += len(events)
        return len(events)

    async def publish_alert_batch(self) -> int:
        """The same for alert events (hexfleet.alerts): raised, acknowledged, resolved."""
        async with self.pool.acquire() as conn:
            events = await alert_queries.unpublished_events(conn, BATCH)
        if not events:
            return 0
        producer = await self._producer()
        sent = [
            await producer.send(
                self.topic,
                encode_alert(AlertChanged(e.id, e.alert_id, e.action, e.at.timestamp(), e.snapshot)),
                key=alert_key(e.alert_id),
            )
            for e in events
        ]
        await asyncio.wait_for(asyncio.gather(*sent), PUBLISH_TIMEOUT_S)
        async with self.pool.acquire() as conn:
            await alert_queries.mark_published(conn, [e.id for e in events], time.time())
        self.published += len(events)
        return len(events)
