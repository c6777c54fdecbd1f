"""The SQL of learned speeds: fixes in, per-hour tallies and per-hour-of-week speeds out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from hexfleet.eta.segments import Tally
from hexfleet.eta.table import Row

# Each driver's accepted fixes in order: one range scan of the positions key per driver
# (index-only: the key carries lat, lng and flag), the same path history replay takes.
_FIXES_SQL = """
SELECT driver_id, extract(epoch FROM device_time)::float8, lat, lng
FROM positions
WHERE driver_id = ANY($1::bigint[]) AND device_time >= $2 AND device_time < $3 AND flag IS NULL
ORDER BY driver_id, device_time"""


async def driver_ids(conn) -> list[int]:
    return [r[0] for r in await conn.fetch("SELECT id FROM drivers ORDER BY id")]


async def fixes_between(
    conn, drivers: list[int], start: datetime, end: datetime, page: int = 5000
) -> AsyncIterator[list[tuple[int, float, float, float]]]:
    """Pages of (driver_id, epoch s, lat, lng), by driver then time (needs a transaction)."""
    cursor = await conn.cursor(_FIXES_SQL, drivers, start, end)
    while rows := await cursor.fetch(page):
        yield [tuple(r) for r in rows]


async def replace_hour(conn, hour: datetime, tallies: list[tuple[int, int, Tally]], now: datetime) -> None:
    """The tallies of one clock hour, (cell8, cell7, tally) each, replacing what it had; the
    hour marked done. Recomputing an hour gives the same rows."""
    await conn.execute("DELETE FROM speed_hours WHERE hour = $1", hour)
    await conn.executemany(
        """INSERT INTO speed_hours (hour, cell8, cell7, passes, segments, distance_m, seconds)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [(hour, c8, c7, t.passes, t.segments, t.distance_m, t.seconds) for c8, c7, t in tallies],
    )
    await conn.execute(
        """INSERT INTO speed_hours_done (hour, done_at) VALUES ($1, $2)
           ON CONFLICT (hour) DO UPDATE SET done_at = EXCLUDED.done_at""",
        hour,
        now,
    )


async def hours_done(conn, start: datetime, end: datetime) -> set[datetime]:
    rows = await conn.fetch("SELECT hour FROM speed_hours_done WHERE hour >= $1 AND hour < $2", start, end)
    return {r[0] for r in rows}


async def prune_hours(conn, before: datetime) -> int:
    """Forget tallies older than the learning window."""
    await conn.execute("DELETE FROM speed_hours_done WHERE hour < $1", before)
    result = await conn.execute("DELETE FROM speed_hours WHERE hour < $1", before)
    return int(result.split()[-1])


async def rebuild_speeds(conn, since: datetime, zone: str, now: datetime) -> int:
    """learned_speeds from the tallies since ``since``: per hour of week (in ``zone``), one row per
    resolution-8 cell, per resolution-7 cell and for the whole city. Returns the rows written."""
    await conn.execute("DELETE FROM learned_speeds")
    result = await conn.execute(
        """INSERT INTO learned_speeds
               (resolution, cell, hour_of_week, passes, segments, distance_m, seconds, learned_at)
           SELECT CASE WHEN GROUPING(cell8) = 0 THEN 8 WHEN GROUPING(cell7) = 0 THEN 7 ELSE 0 END,
                  coalesce(cell8, cell7, 0), how, sum(passes), sum(segments), sum(distance_m), sum(seconds), $3
           FROM (SELECT cell8, cell7, passes, segments, distance_m, seconds,
                        ((extract(isodow FROM hour AT TIME ZONE $2)::int - 1) * 24
                         + extract(hour FROM hour AT TIME ZONE $2)::int) AS how
                 FROM speed_hours WHERE hour >= $1) s
           GROUP BY GROUPING SETS ((how, cell8), (how, cell7), (how))""",
        since,
        zone,
        now,
    )
    return int(result.split()[-1])


async def learned_rows(conn, min_passes: int) -> list[Row]:
    """The rows estimates may use (enough passes); the rest are fallbacks by absence."""
    rows = await conn.fetch(
        """SELECT resolution, cell, hour_of_week, passes, distance_m, seconds
           FROM learned_speeds WHERE passes >= $1""",
        min_passes,
    )
    return [Row(*r) for r in rows]


async def speeds_summary(conn) -> list[tuple[int, int, int, int]]:
    """(resolution, rows, rows' passes, hours of week) per resolution, for the CLI."""
    rows = await conn.fetch(
        """SELECT resolution, count(*), sum(passes), count(DISTINCT hour_of_week)
           FROM learned_speeds GROUP BY resolution ORDER BY resolution DESC"""
    )
    return [tuple(r) for r in rows]
