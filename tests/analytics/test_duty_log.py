"""Writing duty history to PostgreSQL (hexfleet/analytics/duty_log.py): late rows find their
place, writers racing end in the same rows, and closed hours touched late are marked."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from helpers import make_driver

from hexfleet.analytics import duty_log
from hexfleet.analytics import queries as aq
from hexfleet.analytics.duty import Observation

A, B = 608_533_827_635_118_079, 608_533_827_903_553_535


def shape(rows) -> list[tuple]:
    return [(r.status, r.cell, r.source) for r in rows]


async def test_a_late_status_event_rewrites_the_rows_after_it_and_marks_its_closed_hours(db):
    driver, _ = await make_driver(db, "Late")
    now = datetime.now(UTC)
    t0 = aq.floor_hour(now) - timedelta(hours=2) + timedelta(minutes=10)  # two closed hours ago

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    async with db.acquire() as conn:
        await duty_log.record(
            conn,
            [Observation(driver.id, at(0), "seen", cell=A), Observation(driver.id, at(600), "seen", cell=B)],
            now,
        )
        assert shape(await aq.duty_rows(conn, driver.id)) == [("available", A, "back"), ("available", B, "moved")]
        await conn.execute("UPDATE analytics_hours SET dirty_at = NULL")
        # The status event of 500 s arrives now: the move at 600 s was made while busy, not available.
        written = await duty_log.record(conn, [Observation(driver.id, at(500), "duty", duty="busy")], now)
        rows = await aq.duty_rows(conn, driver.id)
    assert written == 3  # the new row, the move it changed, the row before it (now ended by it)
    assert shape(rows) == [("available", A, "back"), ("busy", A, "duty"), ("busy", B, "moved")]
    assert [r.ended_at for r in rows] == [at(500), at(600), None]
    dirty = {r["hour"] for r in await db.fetch("SELECT hour FROM analytics_hours WHERE dirty_at IS NOT NULL")}
    assert dirty == {aq.floor_hour(t0), aq.floor_hour(t0) + timedelta(hours=1)}  # not the open hour


async def test_writers_racing_end_in_the_rows_one_writer_would_write(db):
    rng = random.Random(4)
    racing, alone = (await make_driver(db, "Racing"))[0], (await make_driver(db, "Alone"))[0]
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    script = []
    for i in range(60):
        kind = rng.choice(("seen", "seen", "duty", "stale"))
        value = {"seen": {"cell": rng.choice((A, B))}, "duty": {"duty": rng.choice(("available", "busy"))}}
        script.append((t0 + timedelta(seconds=i * 7), kind, value.get(kind, {})))
    now = datetime.now(UTC)
    async with db.acquire() as conn:
        await duty_log.record(conn, [Observation(alone.id, t, k, **v) for t, k, v in script], now)
    shuffled = script[:]
    rng.shuffle(shuffled)  # arrival order is not time order, and four writers at once

    async def write(part) -> None:
        async with db.acquire() as conn:
            for t, k, v in part:
                await duty_log.record(conn, [Observation(racing.id, t, k, **v)], now)

    await asyncio.gather(*(write(shuffled[i::4]) for i in range(4)))
    async with db.acquire() as conn:
        raced, expected = await aq.duty_rows(conn, racing.id), await aq.duty_rows(conn, alone.id)

    # Whatever order the observations arrived in, and however the writers interleaved.
    assert [(r.started_at, r.status, r.duty, r.online, r.cell, r.source, r.ended_at) for r in raced] == [
        (r.started_at, r.status, r.duty, r.online, r.cell, r.source, r.ended_at) for r in expected
    ]
    assert raced[-1].ended_at is None
