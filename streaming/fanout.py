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

from hexfleet.drivers.duty import DutyStatus
from hexfleet.settings import Settings
from hexfleet.tracking import filters
from hexfleet.tracking.pings import Ping, iso
from hexfleet.tracking.store import LiveStore
from streaming import channels as ch
from streaming.events import BadEvent, PingsRecord, StatusEvent, decode_lazily
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
    return make_event(ch.POSITION, driver_id, data, ping.lat, ping.lng)


def status_event(driver_id: int, status: str) -> LiveEvent:
    return make_event(ch.STATUS, driver_id, orjson.dumps({"event": "status", "driver_id": driver_id, "status": status}))


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
        self.rules = settings.filter_rules()
        # The last fix streamed per driver: the next one is judged against it with the same
        # rules as the tracker, so a late, jumping or inaccurate fix never moves a marker.
        self._last: dict[int, filters.LastFix] = {}

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
                self.hub.publish(await self.events([m.value for msgs in batch.values() for m in msgs]))
                self._update_lag(batch)

    async def events(self, values: list[bytes]) -> list[LiveEvent]:
        records: list[PingsRecord | StatusEvent] = []
        for value in values:
            try:
                event = decode_lazily(value)
            except BadEvent:
                continue  # the tracker counts undecodable records; the map just skips them
            if isinstance(event, PingsRecord | StatusEvent):
                records.append(event)
        await self._learn_last_fixes([r for r in records if isinstance(r, PingsRecord)])
        out: list[LiveEvent] = []
        for record in records:
            if isinstance(record, StatusEvent):
                self.duty[record.driver_id] = record.status
                out.append(status_event(record.driver_id, record.status))
                continue
            try:
                newest = self._streamable(record)
            except (KeyError, TypeError, ValueError):
                continue
            if newest is not None:
                out.append(
                    position_event(record.driver_id, newest, self.duty.get(record.driver_id, DutyStatus.AVAILABLE))
                )
        return out

    def _streamable(self, record: PingsRecord) -> Ping | None:
        """The fix to show for this record, or None; remembers it as the driver's last.

        Only a record's newest fix can move the marker, so build and judge that one first
        (one check instead of a batch's hundred); only if it is refused, decode the whole
        record and walk the sequence for the newest acceptable fix, as the tracker does.
        """
        driver_id = record.driver_id
        last = self._last.get(driver_id)
        newest = record.newest()
        if filters.judge_motion(newest, last, self.rules) == filters.ACCEPTED:
            self._last[driver_id] = filters.LastFix(newest.lat, newest.lng, newest.ts)
            return newest
        pings = record.pings()
        verdicts, new_last = filters.judge_sequence(pings, last, self.rules)
        if filters.ACCEPTED not in verdicts or new_last is None:
            return None
        self._last[driver_id] = new_last
        return pings[len(verdicts) - 1 - verdicts[::-1].index(filters.ACCEPTED)]

    async def _learn_last_fixes(self, records: list[PingsRecord]) -> None:
        """Fetch the tracker's last accepted fix for drivers this process has not streamed yet."""
        first_ts: dict[int, float] = {}
        for record in records:
            if record.driver_id in self._last or record.driver_id in first_ts:
                continue
            try:
                first_ts[record.driver_id] = record.first_ts()
            except (KeyError, TypeError, ValueError):
                continue
        if not first_ts:
            return
        try:
            known = await self.store.last_fixes(sorted(first_ts))
        except Exception:  # without a baseline the first fix is judged on its own; streaming goes on
            log.warning("could not read last fixes from Redis", exc_info=True)
            return
        for driver_id, (lat, lng, ts) in known.items():
            # The tracker may already have taken this very ping: a baseline that is not older
            # than it would hide it from the map, so only an older fix is a baseline.
            if ts < first_ts[driver_id]:
                self._last[driver_id] = filters.LastFix(lat, lng, ts)

    def _update_lag(self, batch) -> None:
        lag = 0
        for tp, msgs in batch.items():
            high = self.consumer.highwater(tp)
            if high is not None and msgs:
                lag += max(0, high - (msgs[-1].offset + 1))
        self.lag = lag
