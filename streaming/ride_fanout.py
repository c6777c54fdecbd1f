"""Per-process fan-out of ride events: booking changes and surge, to this process's streams.

Like the position fan-out, the consumer has no group: every web process reads every
event from the end of ``booking-events`` and ``surge`` and keeps what its own
subscribers may see. Each booking event names its audience (channels): staff see
everything, a customer their own bookings, a driver their own offers and rides, a
tracking link its one booking.

The relay delivers at least once: an event whose id is not newer than the last one
passed on for its booking is a duplicate (or stale) and is dropped, so a stream never
shows a booking's state going backwards.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

import orjson
from aiokafka import TopicPartition

from hexfleet.settings import Settings
from streaming import channels as ch
from streaming.events import AlertChanged, BadEvent, BookingChanged, SurgeChanged, decode_ride_event
from streaming.hub import LiveEvent, LiveHub, make_channel_event
from streaming.kafka import make_consumer

log = logging.getLogger("hexfleet.ride_fanout")
REMEMBERED_BOOKINGS = 200_000
# Alert events are coalesced per alert (a slow client gets each alert's latest state) under keys
# far below surge's (minus epoch milliseconds) and booking ids (positive).
ALERT_KEY_BASE = -(1 << 62)
STAFF_ONLY = frozenset({"staff"})


def channels_of(event: BookingChanged) -> frozenset[str]:
    channels = {ch.STAFF, ch.booking(event.booking_id)}
    if event.customer_id is not None:
        channels.add(ch.customer(event.customer_id))
    if event.driver_id is not None:
        channels.add(ch.driver(event.driver_id))
    return frozenset(channels)


def alert_event(event: AlertChanged) -> LiveEvent:
    """An ``alert`` event on the staff streams (GET /api/v1/stream/bookings as staff)."""
    return make_channel_event("alert", ALERT_KEY_BASE - event.alert_id, orjson.dumps(event.public()), STAFF_ONLY)


def surge_event(event: SurgeChanged) -> LiveEvent:
    data = orjson.dumps({"at": event.at, "cells": {str(c): t / 10 for c, t in event.cells.items()}})
    # Keyed by time, not coalesced: each carries only the cells that changed.
    return make_channel_event(ch.SURGE_CHANGED, -int(event.at * 1000), data, frozenset({ch.STAFF, ch.SURGE}))


class RideFanOut:
    def __init__(self, settings: Settings, hub: LiveHub) -> None:
        self.settings = settings
        self.hub = hub
        self.topics = (settings.kafka_topic_bookings, settings.kafka_topic_surge)
        self.consumer = make_consumer(settings, group_id=None, auto_offset_reset="latest", enable_auto_commit=False)
        self._last: OrderedDict[int, int] = OrderedDict()  # booking id → newest event id passed on
        self._last_alert: OrderedDict[int, int] = OrderedDict()  # alert id → newest event id passed on
        self.duplicates = 0
        self.ready = False
        self._task: asyncio.Task | None = None

    async def start(self, partitions: dict[str, set[int]]) -> None:
        await self.consumer.start()
        tps = [TopicPartition(topic, p) for topic in self.topics for p in sorted(partitions.get(topic, ()))]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        for tp in tps:
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._run(), name="ride-fanout")
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.consumer.stop()

    async def _run(self) -> None:
        while True:
            try:
                batch = await self.consumer.getmany(timeout_ms=1000, max_records=2000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ride fan-out fetch failed; retrying")
                await asyncio.sleep(1)
                continue
            if batch:
                self.hub.publish(self.events([m.value for msgs in batch.values() for m in msgs]))

    def events(self, values: list[bytes]) -> list[LiveEvent]:
        out: list[LiveEvent] = []
        for value in values:
            try:
                event = decode_ride_event(value)
            except BadEvent as error:
                log.warning("skipping %s", error)
                continue
            if isinstance(event, SurgeChanged):
                out.append(surge_event(event))
            elif isinstance(event, AlertChanged):
                if self._newer(self._last_alert, event.alert_id, event.event_id):
                    out.append(alert_event(event))
            elif self._fresh(event):
                data = orjson.dumps(event.public())
                out.append(make_channel_event(ch.BOOKING, event.booking_id, data, channels_of(event)))
        return out

    def _fresh(self, event: BookingChanged) -> bool:
        return self._newer(self._last, event.booking_id, event.event_id)

    def _newer(self, seen: OrderedDict[int, int], subject: int, event_id: int) -> bool:
        last = seen.get(subject)
        if last is not None and event_id <= last:
            self.duplicates += 1
            return False
        seen[subject] = event_id
        seen.move_to_end(subject)
        if len(seen) > REMEMBERED_BOOKINGS:
            seen.popitem(last=False)
        return True
