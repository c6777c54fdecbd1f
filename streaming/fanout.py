"""Per-process fan-out: this web process's own view of every ping.

The consumer has no group (``group_id=None``): it is assigned every partition, starts at
the end, commits nothing and so leaves no consumer group behind when the process
restarts. Every web instance therefore sees every ping and streams it to its own
browsers, whichever instance took the ping in (the seed design's "distinct groups").
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from aiokafka import TopicPartition

from hexfleet.settings import Settings
from hexfleet.tracking.pings import iso
from hexfleet.tracking.store import LiveStore
from streaming.events import BadEvent, PingsEvent, decode
from streaming.hub import LiveEvent, LiveHub, make_event
from streaming.kafka import make_consumer

log = logging.getLogger("hexfleet.fanout")


def position_event(driver_id: int, ping, status: str) -> LiveEvent:
    data = orjson.dumps(
        {
            "driver_id": driver_id,
            "lat": ping.lat,
            "lng": ping.lng,
            "ts": iso(ping.ts),
            "speed_mps": ping.speed_mps,
            "heading": ping.heading,
            "status": status,
        }
    )
    return make_event("position", driver_id, data, ping.lat, ping.lng)


def status_event(driver_id: int, status: str) -> LiveEvent:
    return make_event("status", driver_id, orjson.dumps({"event": "status", "driver_id": driver_id, "status": status}))


class FanOut:
    def __init__(self, settings: Settings, hub: LiveHub, store: LiveStore) -> None:
        self.settings = settings
        self.hub = hub
        self.store = store
        self.duty: dict[int, str] = {}
        self.consumer = make_consumer(settings, group_id=None, auto_offset_reset="latest", enable_auto_commit=False)
        self.ready = False
        self.lag = 0
        self._task: asyncio.Task | None = None
        # The newest device time streamed per driver: older (out-of-order) fixes go to
        # history but must not jump a marker backwards.
        self._latest_ts: dict[int, float] = {}

    async def start(self, partitions: set[int]) -> None:
        """Start at the end of every partition (the caller read them from the producer's metadata)."""
        topic = self.settings.kafka_topic_locations
        await self.consumer.start()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        for tp in tps:  # resolve positions now, so "ready" means no ping after this is missed
            await self.consumer.position(tp)
        self.duty = await self.store.duty()
        self._task = asyncio.create_task(self._run(), name="fanout")
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
                batch = await self.consumer.getmany(timeout_ms=1000, max_records=5000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("fan-out fetch failed; retrying")
                await asyncio.sleep(1)
                continue
            if batch:
                self.hub.publish(self.events([m.value for msgs in batch.values() for m in msgs]))
                self._update_lag(batch)

    def events(self, values: list[bytes]) -> list[LiveEvent]:
        out: list[LiveEvent] = []
        for value in values:
            try:
                event = decode(value)
            except BadEvent:
                continue
            if isinstance(event, PingsEvent):
                newest = max(event.pings, key=lambda p: p.ts)
                if newest.ts <= self._latest_ts.get(event.driver_id, 0.0):
                    continue
                self._latest_ts[event.driver_id] = newest.ts
                out.append(position_event(event.driver_id, newest, self.duty.get(event.driver_id, "available")))
            else:
                self.duty[event.driver_id] = event.status
                out.append(status_event(event.driver_id, event.status))
        return out

    def _update_lag(self, batch) -> None:
        lag = 0
        for tp, msgs in batch.items():
            high = self.consumer.highwater(tp)
            if high is not None and msgs:
                lag += max(0, high - (msgs[-1].offset + 1))
        self.lag = lag
