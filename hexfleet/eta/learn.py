"""Learning speeds: per clock hour, fixes → tallies (``speed_hours``); then per hour of week,
tallies → ``learned_speeds``. The worker's cron calls ``tick``; ``hexfleet speeds learn`` calls
``relearn``. Both are safe to run twice or side by side: an hour's rows are replaced whole in
one transaction, and the speeds table is rebuilt whole in another.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import h3.api.basic_int as h3i

from hexfleet.eta import queries as q
from hexfleet.eta.segments import Deriver, SegmentRules
from hexfleet.settings import Settings

HOUR = timedelta(hours=1)
# Every run derives the last closed hours again: phones upload buffered fixes late.
RECENT_HOURS = 2
# Hours never derived (a new install, a worker that was down) are caught up this many a run,
# newest first; deriving costs about 3.6 µs a fix in Python (measured), so an hour of a
# 500-driver fleet pinging every 4 s (450,000 fixes) is under 2 s plus its read.
CATCH_UP_HOURS = 48


@dataclass(frozen=True)
class Report:
    hours: int  # hours derived
    rows: int  # learned_speeds rows written
    seconds: float


def floor_hour(when: datetime) -> datetime:
    return when.replace(minute=0, second=0, microsecond=0)


def window_start(settings: Settings, now: datetime) -> datetime:
    """The oldest hour learned from: LEARNED_SPEEDS_WEEKS back."""
    return floor_hour(now - timedelta(weeks=settings.learned_speeds_weeks))


def derivable_start(settings: Settings, now: datetime) -> datetime:
    """The oldest hour whose fixes still exist (HISTORY_RETENTION_DAYS), within the window."""
    kept = floor_hour(now - timedelta(days=settings.history_retention_days)) + HOUR
    return max(kept, window_start(settings, now))


async def derive_hour(
    pool: asyncpg.Pool, hour: datetime, now: datetime, drivers: list[int], rules: SegmentRules | None = None
) -> int:
    """Derive one clock hour from position history and store its tallies; returns their count."""
    rules = rules or SegmentRules()
    deriver = Deriver(rules, since=hour.timestamp())
    start = hour - timedelta(seconds=rules.lookback_s)
    # A segment that begins before the hour ends counts in it, though its second fix comes later.
    end = hour + HOUR + timedelta(seconds=rules.max_gap_s)
    async with pool.acquire() as conn, conn.transaction():
        async for page in q.fixes_between(conn, drivers, start, end):
            deriver.feed(page)
            await asyncio.sleep(0)  # a page is a few milliseconds of CPU: let the loop breathe
        stamp = int(hour.timestamp())
        tallies = [
            (cell, h3i.cell_to_parent(cell, 7), tally)
            for (when, cell), tally in deriver.finish().items()
            if when == stamp
        ]
        await q.replace_hour(conn, hour, tallies, now)
    return len(tallies)


async def rebuild(pool: asyncpg.Pool, settings: Settings, now: datetime) -> int:
    async with pool.acquire() as conn, conn.transaction():
        await q.prune_hours(conn, window_start(settings, now))
        return await q.rebuild_speeds(conn, window_start(settings, now), str(settings.speed_zone()), now)


async def tick(pool: asyncpg.Pool, settings: Settings, now: datetime | None = None) -> Report:
    """The cron: the last closed hours again, up to CATCH_UP_HOURS never derived, then the speeds."""
    began = time.perf_counter()
    now = now or datetime.now(UTC)
    if not settings.learned_speeds:
        return Report(0, 0, 0.0)
    last = floor_hour(now) - HOUR
    first = derivable_start(settings, now)
    async with pool.acquire() as conn:
        done = await q.hours_done(conn, first, last + HOUR)
        drivers = await q.driver_ids(conn)
    hours: list[datetime] = []
    hour = last
    while hour >= first and len(hours) < RECENT_HOURS + CATCH_UP_HOURS:
        if hour > last - RECENT_HOURS * HOUR or hour not in done:
            hours.append(hour)
        hour -= HOUR
    for hour in hours:
        await derive_hour(pool, hour, now, drivers)
    rows = await rebuild(pool, settings, now)
    return Report(len(hours), rows, time.perf_counter() - began)


async def relearn(
    pool: asyncpg.Pool,
    settings: Settings,
    hours: int,
    now: datetime | None = None,
    progress: Callable[[datetime], None] = lambda _hour: None,
) -> Report:
    """On demand: derive the last ``hours`` closed hours again (those whose fixes still exist)."""
    began = time.perf_counter()
    now = now or datetime.now(UTC)
    last = floor_hour(now) - HOUR
    first = max(derivable_start(settings, now), last - (hours - 1) * HOUR)
    async with pool.acquire() as conn:
        drivers = await q.driver_ids(conn)
    count = 0
    hour = first
    while hour <= last:
        await derive_hour(pool, hour, now, drivers)
        progress(hour)
        count += 1
        hour += HOUR
    rows = await rebuild(pool, settings, now)
    return Report(count, rows, time.perf_counter() - began)
