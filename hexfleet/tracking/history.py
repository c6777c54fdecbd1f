"""The SQL of history replay: one driver's stored fixes between two instants.

Served by the positions primary key (driver_id, device_time): an index range scan that
reads only that driver's rows in the range, already in order (EXPLAIN in
tests/webapp/test_history.py checks it stays so).
"""

from __future__ import annotations

from datetime import datetime

from hexfleet.tracking.replay import Fix
from hexfleet.tracking.timerange import MAX_FIXES

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
