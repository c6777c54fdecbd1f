"""The tracker through a Redis outage: history keeps being written (judged against PostgreSQL's
last accepted fix), and the live position catches up once Redis is back on its address."""

from __future__ import annotations

import asyncio
import time

import pytest
from helpers import make_driver, wait_for
from redis.asyncio import Redis

from hexfleet.devtools import embedded
from hexfleet.devtools.testing import free_port
from hexfleet.tracking.pings import Ping
from hexfleet.tracking.store import LiveStore
from streaming.events import encode_pings, key_for
from streaming.kafka import ensure_topic, make_producer
from streaming.tracker import Tracker


@pytest.fixture
async def own_redis(tmp_path):
    port = free_port()
    holder = {"server": embedded.start_redis(tmp_path, port=port), "port": port, "dir": tmp_path}
    yield holder
    holder["server"].stop()


async def test_history_goes_on_while_redis_is_away(settings, db, own_redis):
    drv, _ = await make_driver(db, "Through the outage")
    redis_url = f"redis://127.0.0.1:{own_redis['port']}/0"
    redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    tracker = Tracker(settings.with_(redis_url=redis_url), db, redis)
    await ensure_topic(settings)
    task = asyncio.create_task(tracker.run())
    producer = make_producer(settings)
    await producer.start()
    now = time.time()

    async def send(ping: Ping):
        await (await producer.send(settings.kafka_topic_locations, encode_pings(drv.id, time.time(), [ping]),
                                   key=key_for(drv.id)))  # fmt: skip

    async def rows() -> int:
        return await db.fetchval("SELECT count(*) FROM positions WHERE driver_id = $1", drv.id)

    try:
        await asyncio.wait_for(tracker.assigned.wait(), 30)
        await send(Ping(52.5200, 13.4050, now - 30))
        await wait_for(lambda: rows_are(rows, 1), timeout=15)
        own_redis["server"].stop()  # Redis goes away
        await send(Ping(52.5201, 13.4051, now - 20))
        await send(Ping(48.1, 11.5, now - 15))  # Munich five seconds later: judged, flagged, kept
        await send(Ping(52.5202, 13.4052, now - 10))
        await wait_for(lambda: rows_are(rows, 4), timeout=20)
        flags = [r["flag"] for r in await db.fetch(
            "SELECT flag FROM positions WHERE driver_id = $1 ORDER BY device_time", drv.id
        )]  # fmt: skip
        assert flags == [None, None, "implausible-jump", None]  # judged against PostgreSQL's last fix
        assert tracker.redis_down_since is not None
        own_redis["server"] = embedded.start_redis(own_redis["dir"], port=own_redis["port"])

        async def caught_up():
            try:
                fix = (await LiveStore(redis).fixes([drv.id])).get(drv.id)
            except Exception:
                return False
            return fix is not None and fix.lat == 52.5202

        await wait_for(caught_up, timeout=20, interval=0.2)
        assert tracker.redis_down_since is None
    finally:
        tracker.stop()
        await asyncio.wait_for(task, 15)
        await producer.stop()
        await redis.aclose()


async def rows_are(count, expected: int) -> bool:
    return await count() == expected
