"""All SQL for position history."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from hexfleet.tracking.pings import Ping
from hexfleet.tracking.replay import Fix
from hexfleet.tracking.timerange import MAX_FIXES


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def insert_positions(conn, rows: list[tuple[int, Ping, float, str | None]]) -> int:
    """Insert (driver_id, ping, received_at, flag) rows; redelivered ones are no-ops. Returns rows new.

    ``flag`` is None for a fix shown live, else why it was kept out (hexfleet.tracking.filters).
    """
    if not rows:
        return 0
    # unnest() turns the whole batch into one statement; ON CONFLICT makes redelivery harmless.
    result = await conn.fetchval(
        """WITH ins AS (
             INSERT INTO positions (driver_id, device_time, server_time, lat, lng, speed_mps, heading,
                                    accuracy_m, battery, altitude_m, flag, attributes)
             SELECT d, dt, st, lat, lng, spd, hdg, acc, bat, alt, flag, attrs::jsonb
             FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::float8[], $5::float8[],
                         $6::real[], $7::real[], $8::real[], $9::real[], $10::real[], $11::text[], $12::text[])
                  AS u(d, dt, st, lat, lng, spd, hdg, acc, bat, alt, flag, attrs)
             ON CONFLICT (driver_id, device_time) DO NOTHING
             RETURNING 1)
           SELECT count(*) FROM ins""",
        [r[0] for r in rows],
        [_dt(r[1].ts) for r in rows],
        [_dt(r[2]) for r in rows],
        [r[1].lat for r in rows],
        [r[1].lng for r in rows],
        [r[1].speed_mps for r in rows],
        [r[1].heading for r in rows],
        [r[1].accuracy_m for r in rows],
        [r[1].battery for r in rows],
        [r[1].altitude_m for r in rows],
        [r[3] for r in rows],
        [orjson.dumps(r[1].attributes).decode() if r[1].attributes else None for r in rows],
    )
    return int(result)


async def insert_device_events(conn, rows: list[tuple[int, float, float, dict]]) -> int:
    """Insert (driver_id, device time, received_at, attributes) reports that had no coordinates."""
    if not rows:
        return 0
    result = await conn.fetchval(
        """WITH ins AS (
             INSERT INTO device_events (driver_id, device_time, server_time, attributes)
             SELECT d, dt, st, attrs::jsonb
             FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::text[]) AS u(d, dt, st, attrs)
             ON CONFLICT (driver_id, device_time) DO NOTHING
             RETURNING 1)
           SELECT count(*) FROM ins""",
        [r[0] for r in rows],
        [_dt(r[1]) for r in rows],
        [_dt(r[2]) for r in rows],
        [orjson.dumps(r[3]).decode() for r in rows],
    )
    return int(result)


async def existing_driver_ids(conn, driver_ids: list[int]) -> set[int]:
    rows = await conn.fetch("SELECT id FROM drivers WHERE id = ANY($1::bigint[])", driver_ids)
    return {r["id"] for r in rows}


async def trail(conn, driver_id: int, since: datetime, limit: int = 5000) -> list[tuple[float, float, datetime]]:
    """The driver's route since ``since``: late fixes belong to it, jumps and inaccurate fixes would zig-zag."""
    rows = await conn.fetch(
        """SELECT lat, lng, device_time FROM positions
           WHERE driver_id = $1 AND device_time >= $2 AND (flag IS NULL OR flag = 'out-of-order')
           ORDER BY device_time LIMIT $3""",
        driver_id,
        since,
        limit,
    )
    return [(r["lat"], r["lng"], r["device_time"]) for r in rows]


async def last_positions(conn, driver_ids: list[int]) -> dict[int, tuple[float, float, float | None]]:
    """(lat, lng, heading) of each driver's newest fix that was shown live (not flagged)."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (driver_id) driver_id, lat, lng, heading FROM positions
           WHERE driver_id = ANY($1::bigint[]) AND flag IS NULL
           ORDER BY driver_id, device_time DESC""",
        driver_ids,
    )
    return {r["driver_id"]: (r["lat"], r["lng"], r["heading"]) for r in rows}


async def last_accepted(conn, driver_ids: list[int]) -> dict[int, tuple[float, float, float]]:
    """(lat, lng, device time) of each driver's newest accepted fix: the tracker's fallback
    when Redis (which holds the same) is away."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (driver_id) driver_id, lat, lng, device_time FROM positions
           WHERE driver_id = ANY($1::bigint[]) AND flag IS NULL
           ORDER BY driver_id, device_time DESC""",
        driver_ids,
    )
    return {r["driver_id"]: (r["lat"], r["lng"], r["device_time"].timestamp()) for r in rows}


async def prune_before(conn, cutoff: datetime) -> int:
    result = await conn.execute("DELETE FROM positions WHERE server_time < $1", cutoff)
    return int(result.split()[-1])


# --- history replay: one driver's stored fixes between two instants ----------------------
# Served by the positions primary key (driver_id, device_time): an index range scan that
# reads only that driver's rows in the range, already in order (EXPLAIN in
# tests/webapp/test_history.py checks it stays so).

# Epoch seconds as float8 rather than timestamptz: asyncpg builds no datetime per row.
# Rounded here, in float arithmetic (cheap in PostgreSQL, ~0.6 us a value in Python): a
# float4 speed of 12.3 reaches Python as 12.300000190734863 and would be written so.
# 1e-7 degrees is about a centimetre.
_FIXES_SQL = """
SELECT extract(epoch FROM device_time)::float8,
       round(lat * 1e7) / 1e7, round(lng * 1e7) / 1e7,
       round(speed_mps::float8 * 100) / 100, round(heading::float8 * 10) / 10,
       round(accuracy_m::float8 * 10) / 10, round(altitude_m::float8 * 10) / 10,
       flag
FROM positions
WHERE driver_id = $1 AND device_time >= $2 AND device_time < $3
ORDER BY device_time
LIMIT $4"""


async def fixes_between(
    conn, driver_id: int, start: datetime, end: datetime, limit: int = MAX_FIXES
) -> tuple[list[Fix], bool]:
    """The driver's fixes with device time in [start, end), oldest first, flagged ones
    included (their ``flag`` says why); at most ``limit``. Returns (fixes, truncated)."""
    rows = await conn.fetch(_FIXES_SQL, driver_id, start, end, limit + 1)
    truncated = len(rows) > limit
    return [Fix(*row) for row in rows[:limit]], truncated


async def explain_fixes_between(conn, driver_id: int, start: datetime, end: datetime) -> str:
    """The plan of ``fixes_between`` (for the test that keeps it on the index)."""
    rows = await conn.fetch("EXPLAIN " + _FIXES_SQL, driver_id, start, end, MAX_FIXES + 1)
    return "\n".join(r[0] for r in rows)
