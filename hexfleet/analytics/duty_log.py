"""Writing duty history (the tracker's side): observations → rows, in one transaction.

Per driver, under a lock held until commit: read the row before the earliest observation and
every row after it, work the rows out again with the new observations among them
(``duty.refold``), insert what is new and rewrite what changed. Any number of trackers,
batches read twice and sweeps racing fixes all end in the same rows.

A row that starts in an hour already closed (a tracker catching up on a backlog, a late
status event) marks the closed hours from there on dirty, so the rollup cron does them again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from hexfleet.analytics import duty
from hexfleet.analytics import queries as q
from hexfleet.analytics.duty import Observation, Row


def closed_hours_since(since: datetime, now: datetime) -> list[datetime]:
    """The whole hours from the one holding ``since`` up to (not including) the one holding ``now``."""
    hour, current = q.floor_hour(since), q.floor_hour(now)
    out = []
    while hour < current:
        out.append(hour)
        hour += timedelta(hours=1)
    return out


# Drivers per transaction: each holds an advisory lock until commit, and PostgreSQL's lock
# table is shared (max_locks_per_transaction × max_connections): a fleet's first batch after a
# restart sees every driver at once.
CHUNK = 200


async def record(conn, observations: Iterable[Observation], now: datetime) -> int:
    """Write what the tracker observed; returns the rows inserted or changed. Observations of
    drivers that do not exist (deleted since) are dropped."""
    by_driver: dict[int, list[Observation]] = defaultdict(list)
    for obs in observations:
        by_driver[obs.driver_id].append(obs)
    drivers = sorted(by_driver)
    written = 0
    for first in range(0, len(drivers), CHUNK):
        written += await _record(conn, {d: by_driver[d] for d in drivers[first : first + CHUNK]}, now)
    return written


async def _record(conn, by_driver: dict[int, list[Observation]], now: datetime) -> int:
    async with conn.transaction():
        await q.lock_drivers(conn, list(by_driver))
        context = await q.duty_context(conn, {d: min(o.at for o in obs) for d, obs in by_driver.items()})
        new: list[Row] = []
        changed: list[Row] = []
        earliest: datetime | None = None
        for driver_id, (vehicle_class, stored_duty, before, later) in context.items():
            start = before.state if before is not None else duty.initial_state(stored_duty)
            rows = duty.refold(driver_id, start, later, by_driver[driver_id], vehicle_class)
            stored = {r.started_at: r for r in later}
            new += [r for r in rows if r.started_at not in stored]
            changed += [r for r in rows if r.started_at in stored and r != stored[r.started_at]]
            if before is not None and rows and before.ended_at != rows[0].started_at:
                changed.append(replace(before, ended_at=rows[0].started_at))
            since = duty.affected_since(rows, later)
            if since is not None and (earliest is None or since < earliest):
                earliest = since
        await q.save_duty_rows(conn, new, changed)
        if earliest is not None:
            await q.mark_dirty(conn, closed_hours_since(earliest, now))
    return len(new) + len(changed)
