"""Duty history from real status events and pings, through the real tracker and broker:
the rows it writes, a driver going stale and coming back, and records delivered again."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

import pytest
from helpers import make_driver, wait_for

from hexfleet.analytics import queries as aq
from hexfleet.geo import cell_of
from hexfleet.tracking.pings import Ping
from streaming.events import encode_pings, encode_status, key_for
from streaming.kafka import ensure_topic, make_producer
from streaming.tracker import Tracker

HOME = (52.5200, 13.4050)
AWAY = (52.5450, 13.4700)  # another resolution-7 cell, 5 km away
STALE_AFTER_S = 3.0


@pytest.fixture
async def producer(settings):
    await ensure_topic(settings)
    made = make_producer(settings)
    await made.start()
    yield made
    await made.stop()


async def run_tracker(settings, db, redis, group: str | None = None) -> tuple[Tracker, asyncio.Task]:
    tracker = Tracker(settings.with_(tracker_group=group or settings.tracker_group), db, redis)
    tracker.history_sweep_every_s = 0.2
    tracker.history_sweep_margin_s = 0.5
    task = asyncio.create_task(tracker.run())
    await asyncio.wait_for(tracker.assigned.wait(), 30)
    return tracker, task


async def stop(tracker: Tracker, task: asyncio.Task) -> None:
    tracker.stop()
    await asyncio.wait_for(task, 15)


def shape(rows) -> list[tuple]:
    return [(r.status, r.duty, r.online, r.cell, r.source) for r in rows]


async def test_duty_history_from_status_events_and_fixes_with_redelivery(settings, db, redis, producer):
    settings = settings.with_(stale_after_s=STALE_AFTER_S)
    driver, _ = await make_driver(db, "On shift")
    topic = settings.kafka_topic_locations
    key = key_for(driver.id)

    async def send(value: bytes) -> None:
        await (await producer.send(topic, value, key=key))

    tracker, task = await run_tracker(settings, db, redis)
    try:
        t0 = time.time()
        await send(encode_status(driver.id, "off_duty", t0))  # not yet seen: recorded, offline
        # Fixes are judged by device time (5 km takes a while), online-ness by server time.
        await send(encode_pings(driver.id, t0 + 0.1, [Ping(*HOME, t0 - 600)]))  # the phone is on
        await send(encode_status(driver.id, "available", t0 + 0.2))
        await send(encode_pings(driver.id, t0 + 0.3, [Ping(*HOME, t0 - 590)]))  # same cell: nothing new
        await send(encode_pings(driver.id, t0 + 0.6, [Ping(*AWAY, t0)]))  # another cell
        await send(encode_status(driver.id, "busy", t0 + 0.7))

        home, away = cell_of(*HOME, 7), cell_of(*AWAY, 7)
        expected = [
            ("off_duty", "off_duty", False, None, "duty"),  # the stored duty was available
            ("off_duty", "off_duty", True, home, "back"),
            ("available", "available", True, home, "duty"),
            ("available", "available", True, away, "moved"),
            ("busy", "busy", True, away, "duty"),
        ]

        async def rows(n: int):
            found = await aq.duty_rows(db, driver.id)
            return found if len(found) >= n else None

        first = await wait_for(lambda: rows(5), timeout=20)
        assert shape(first) == expected, shape(first)
        # The driver's phone goes quiet: the sweep writes it stale STALE_AFTER_S after the last fix.
        with_stale = await wait_for(lambda: rows(6), timeout=20)
        assert shape(with_stale)[5] == ("stale", "busy", False, away, "stale")
        assert with_stale[5].started_at.timestamp() == pytest.approx(t0 + 0.6 + STALE_AFTER_S, abs=1e-5)
        # And comes back.
        back_at = time.time()
        await send(encode_pings(driver.id, back_at, [Ping(*AWAY, back_at - 1)]))
        history = await wait_for(lambda: rows(7), timeout=20)
        assert shape(history)[6] == ("busy", "busy", True, away, "back")
        assert history[6].started_at.timestamp() == pytest.approx(back_at, abs=1e-5)
        for earlier, later in itertools.pairwise(history):
            assert earlier.ended_at == later.started_at  # rows tile time
        assert history[-1].ended_at is None
        assert history[2].started_at.timestamp() == pytest.approx(t0 + 0.2, abs=1e-5)  # the event's own time
        history = await wait_for(lambda: rows(8), timeout=20)  # silent again: stale again, then nothing more
        assert shape(history)[7] == ("stale", "busy", False, away, "stale")
    finally:
        await stop(tracker, task)

    # Every record delivered again (a new consumer group reads the topic from its start):
    # the same rows, no more.
    redelivered, task = await run_tracker(settings, db, redis, group=f"again-{uuid.uuid4().hex[:6]}")
    try:

        async def read_all():
            return redelivered.stats["records"] >= 7

        await wait_for(read_all, timeout=20)
        await asyncio.sleep(1.0)  # several sweeps too
    finally:
        await stop(redelivered, task)
    assert await aq.duty_rows(db, driver.id) == history

    # Again, as after a crash before Redis took the batch (Redis knows none of these fixes).
    await redis.flushdb()
    fresh, task = await run_tracker(settings, db, redis, group=f"crash-{uuid.uuid4().hex[:6]}")
    try:

        async def read_again():
            return fresh.stats["records"] >= 7

        await wait_for(read_again, timeout=20)
        await asyncio.sleep(1.0)
    finally:
        await stop(fresh, task)
    assert await aq.duty_rows(db, driver.id) == history


async def test_status_events_of_unknown_drivers_are_dropped(settings, db, redis, producer):
    driver, _ = await make_driver(db, "Known")
    tracker, task = await run_tracker(settings, db, redis)
    try:
        t0 = time.time()
        for driver_id in (driver.id + 1000, driver.id):
            await (await producer.send(settings.kafka_topic_locations, encode_status(driver_id, "busy", t0),
                                       key=key_for(driver_id)))  # fmt: skip

        async def written():
            return await aq.duty_rows(db, driver.id)

        rows = await wait_for(written, timeout=20)
        assert shape(rows) == [("stale", "busy", False, None, "duty")]
        assert await db.fetchval("SELECT count(*) FROM duty_history") == 1
    finally:
        await stop(tracker, task)


async def test_while_redis_is_away_fixes_write_no_flood_of_rows(settings, db, producer, tmp_path):
    """Without Redis the tracker judges fixes against what it read itself: a driver it saw
    before moves and changes duty as usual, and fixes in the same cell write nothing."""
    from redis.asyncio import Redis

    from hexfleet.devtools import embedded
    from hexfleet.devtools.testing import free_port

    port = free_port()
    server = embedded.start_redis(tmp_path, port=port)
    own = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=2, socket_connect_timeout=2)
    driver, _ = await make_driver(db, "Through the outage")
    key = key_for(driver.id)

    async def send(value: bytes) -> None:
        await (await producer.send(settings.kafka_topic_locations, value, key=key))

    async def rows(n: int):
        found = await aq.duty_rows(db, driver.id)
        return found if len(found) >= n else None

    tracker, task = await run_tracker(settings.with_(redis_url=f"redis://127.0.0.1:{port}/0"), db, own)
    try:
        t0 = time.time()
        await send(encode_pings(driver.id, t0, [Ping(*HOME, t0 - 600)]))
        await wait_for(lambda: rows(1), timeout=20)
        server.stop()  # Redis goes away
        for i in range(1, 6):
            await send(encode_pings(driver.id, t0 + i, [Ping(*HOME, t0 - 600 + i)]))
        await send(encode_pings(driver.id, t0 + 6, [Ping(*AWAY, t0)]))
        await send(encode_status(driver.id, "busy", t0 + 7))
        history = await wait_for(lambda: rows(3), timeout=20)

        async def all_read():
            return tracker.stats["records"] >= 8

        await wait_for(all_read, timeout=20)
        assert tracker.redis_down_since is not None
        home, away = cell_of(*HOME, 7), cell_of(*AWAY, 7)
        assert shape(await aq.duty_rows(db, driver.id)) == [
            ("available", "available", True, home, "back"),
            ("available", "available", True, away, "moved"),
            ("busy", "busy", True, away, "duty"),
        ]
        assert len(history) == 3
    finally:
        await stop(tracker, task)
        await own.aclose()
