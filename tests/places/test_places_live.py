"""A process's label index, kept current: reloaded when another process announces a change (Redis),
and after REFRESH_EVERY_S when an announcement was lost; lookups never wait for PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from helpers import wait_for
from redis.asyncio import Redis

from hexfleet import audit
from hexfleet.places import admin, live, queries
from hexfleet.places.rules import PlaceIn

ALEX = PlaceIn("Alexanderplatz", "landmark", "", 52.52192, 13.41321)
NEAR_ALEX = (52.52192 + 60 / 111_195, 13.41321)  # 60 m north
ACTOR = audit.Actor("test")


@pytest.fixture
async def empty(pool):
    await pool.execute("TRUNCATE places, audit_log RESTART IDENTITY")
    return pool


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_change_announced_by_another_process_reloads_the_index(empty, redis, base_settings):
    listener = Redis.from_url(base_settings.redis_url)
    labels = live.PlaceLabels(empty, 150)
    pubsub = await live.subscribe(listener)
    following = asyncio.create_task(live.follow_changes(listener, labels, pubsub))
    try:
        await labels.reload()
        assert labels.nearest(*NEAR_ALEX) is None
        # "Another process": its own pool connection and its own Redis client announce the change.
        other = Redis.from_url(base_settings.redis_url)
        try:
            await admin.create(empty, ACTOR, ALEX, lambda: live.announce(other))
        finally:
            await other.aclose()
        label = await wait_for(lambda: _nearest(labels), timeout=5)
        assert label.text == "Alexanderplatz, 60 m" and label.category == "landmark"
        # Deactivated elsewhere: its label goes too.
        async with empty.acquire() as conn:
            [place] = await queries.all_places(conn)
        other = Redis.from_url(base_settings.redis_url)
        try:
            inactive = PlaceIn(ALEX.name, ALEX.category, "", ALEX.lat, ALEX.lng, active=False)
            await admin.update(empty, ACTOR, place.id, inactive, lambda: live.announce(other))
        finally:
            await other.aclose()
        await wait_for(lambda: _gone(labels), timeout=5)
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
        await labels.close()
        await listener.aclose()


async def _nearest(labels):
    return labels.nearest(*NEAR_ALEX)


async def _gone(labels):
    return labels.nearest(*NEAR_ALEX) is None


async def test_a_lost_announcement_is_caught_up_after_the_refresh_time(empty):
    clock = Clock()
    labels = live.PlaceLabels(empty, 150, refresh_every_s=300, clock=clock)
    try:
        await labels.reload()
        async with empty.acquire() as conn:
            await queries.insert_place(conn, ALEX)  # nobody announces it
        clock.now += 299
        assert labels.nearest(*NEAR_ALEX) is None
        await asyncio.sleep(0.05)
        assert labels.reloads == 1  # not yet due: no reload started
        clock.now += 2
        # Due: this lookup answers from the index it has, and reloads in the background.
        assert labels.nearest(*NEAR_ALEX) is None
        await wait_for(lambda: _nearest(labels), timeout=5)
        assert labels.reloads == 2
    finally:
        await labels.close()


async def test_a_burst_of_changes_costs_two_reloads_not_one_each(empty):
    labels = live.PlaceLabels(empty, 150)
    try:
        labels.reload_soon()
        await asyncio.sleep(0)  # the first reload is under way (waiting for PostgreSQL)
        for _ in range(49):
            labels.reload_soon()
        await wait_for(lambda: _idle(labels), timeout=5)
        assert labels.reloads == 2  # the one under way, and one more for everything asked meanwhile
    finally:
        await labels.close()


async def _idle(labels):
    await asyncio.sleep(0.01)
    return labels._reloading is not None and labels._reloading.done()


async def test_without_postgresql_the_old_index_keeps_answering(empty, relayed):
    cut_settings, relay = await relayed("database_url")
    import asyncpg

    pool = await asyncpg.create_pool(cut_settings.database_url, min_size=0, max_size=2, timeout=2)
    clock = Clock()
    labels = live.PlaceLabels(pool, 150, clock=clock)
    try:
        async with empty.acquire() as conn:
            await queries.insert_place(conn, ALEX)
        await labels.reload()
        await relay.cut()
        clock.now += live.REFRESH_EVERY_S + 1
        assert labels.nearest(*NEAR_ALEX).name == "Alexanderplatz"  # due, and PostgreSQL is away
        await wait_for(lambda: _idle(labels), timeout=10)
        assert labels.nearest(*NEAR_ALEX).name == "Alexanderplatz"
        assert labels.reloads == 1
    finally:
        await labels.close()
        await pool.close()
