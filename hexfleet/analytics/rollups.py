"""The rollups: an hour's raw facts → its rows, the cron that keeps them current, backfill
and verify (the workflow; hexfleet/analytics/aggregate.py decides what the rows hold).

- ``rollup_hour``: one hour, in one transaction that holds the hour's bookkeeping row
  (``queries.claim_hour``), so the cron, a backfill and a late fact never step on each other;
  recomputing gives the same rows (an upsert that leaves unchanged rows alone, and deletes
  rows that no longer have anything).
- ``rollup_day``: a UTC day's rows as the sum of its hour rows (reads over long ranges use them).
- ``tick``: the arq cron, every minute. Rolls up the open hour (so nothing is more than a
  minute behind), and every closed hour a late fact touched: hours the tracker marked (duty
  rows written late), hours of bookings, offers and quotes that booking events changed since
  the last tick, the hour that just closed, and hours missed while no worker ran.
- ``backfill``: hours of a range not yet final (rolled up after they closed, untouched
  since); resumable, and safe beside the cron.
- ``verify``: recompute closed hours from the raw rows and compare with what is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hexfleet.analytics import histogram
from hexfleet.analytics import queries as q
from hexfleet.analytics.aggregate import FLEET, HOUR, aggregate
from hexfleet.analytics.duty_log import closed_hours_since
from hexfleet.analytics.totals import COUNTS, DRIVER_COUNTS, HISTOGRAMS, DriverTotals, Totals

DAY = timedelta(days=1)
OPEN_HOUR = "open_hour"  # analytics_state: the open hour the last tick rolled up
EVENTS_READ = "booking_events_read"  # analytics_state: the tick read booking events up to here
# Booking events are read again this far back: a change commits a little after its time.
EVENTS_OVERLAP = timedelta(minutes=2)
DIRTY_PER_TICK = 24  # a long backlog is worked off over several minutes (or by backfill)


def floor_day(value: datetime) -> datetime:
    return q.floor_hour(value).replace(hour=0)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


@dataclass
class HourResult:
    hour: datetime
    cells: dict[tuple[int, str], Totals]
    drivers: dict[int, DriverTotals]
    seconds: float = 0.0


async def rollup_hour(pool, hour: datetime, now: datetime | None = None) -> HourResult:
    """Roll up the hour starting at ``hour`` as known at ``now`` (an open hour is cut there)."""
    now, hour = _now(now), q.floor_hour(hour)
    began = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction():
        await q.claim_hour(conn, hour)
        facts = await q.hour_facts(conn, hour, hour + HOUR)
        cells, drivers = aggregate(hour, now, facts)
        await q.replace_cell_rows(conn, "hour", hour, cells)
        await q.replace_driver_rows(conn, "hour", hour, drivers)
        await q.hour_done(conn, hour, now)
    return HourResult(hour, cells, drivers, time.perf_counter() - began)


def _by_key(rows: dict, key: Callable, make: Callable) -> dict:
    out: dict = {}
    for k, totals in rows.items():
        out.setdefault(key(k), make()).add(totals)
    return out


async def rollup_day(pool, day: datetime) -> None:
    """A UTC day's rows: the sum of its hour rows."""
    day = floor_day(day)
    async with pool.acquire() as conn, conn.transaction():
        await q.lock_day(conn, day)
        cells = _by_key(await q.cell_rows(conn, "hour", day, day + DAY), lambda k: (k[1], k[2]), Totals)
        drivers = _by_key(await q.driver_rows(conn, "hour", day, day + DAY), lambda k: k[1], DriverTotals)
        await q.replace_cell_rows(conn, "day", day, cells)
        await q.replace_driver_rows(conn, "day", day, drivers)


@dataclass
class TickReport:
    open_hour: datetime
    late_hours: list[datetime] = field(default_factory=list)
    seconds: float = 0.0


async def tick(pool, now: datetime | None = None) -> TickReport:
    """The cron (every minute): the open hour, then the closed hours late facts touched."""
    now = _now(now)
    began = time.perf_counter()
    open_hour = q.floor_hour(now)
    async with pool.acquire() as conn:
        last_open = await q.get_mark(conn, OPEN_HOUR)
        if last_open is not None and last_open < open_hour:
            # The hour that just closed gets a last pass (its final minute), and hours no tick saw get one.
            await q.mark_dirty(conn, closed_hours_since(last_open, now))
        await q.set_mark(conn, OPEN_HOUR, open_hour)
        read_to = await q.get_mark(conn, EVENTS_READ)
        await q.mark_dirty(
            conn, await q.hours_touched_by_booking_events(conn, (read_to or now) - EVENTS_OVERLAP, open_hour)
        )
        await q.set_mark(conn, EVENTS_READ, now)
        late = await q.dirty_hours(conn, open_hour, DIRTY_PER_TICK)
    await rollup_hour(pool, open_hour, now)
    for hour in late:
        await rollup_hour(pool, hour, now)
    for day in sorted({floor_day(h) for h in [open_hour, *late]}):
        await rollup_day(pool, day)
    return TickReport(open_hour, late, time.perf_counter() - began)


def hours_of(start: datetime, end: datetime) -> list[datetime]:
    """The hours starting in [start, end), start rounded down to its hour."""
    hour, out = q.floor_hour(start), []
    while hour < end:
        out.append(hour)
        hour += HOUR
    return out


@dataclass
class BackfillReport:
    hours: int = 0  # in the range
    rolled_up: int = 0
    skipped: int = 0  # already final
    days: int = 0
    seconds: float = 0.0


async def backfill(
    pool,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    *,
    redo: bool = False,
    progress: Callable[[datetime], None] | None = None,
) -> BackfillReport:
    """Roll up every hour starting in [start, end) (up to the open hour) that is not final yet
    (``redo``: every one), and each day once its hours are done. Stopped half-way, it goes on
    where it was the next time: an hour is final once rolled up after it closed."""
    now = _now(now)
    began = time.perf_counter()
    hours = hours_of(start, min(end, q.floor_hour(now) + HOUR))
    report = BackfillReport(hours=len(hours))
    if not hours:
        return report
    async with pool.acquire() as conn:
        final = set() if redo else await q.final_hours(conn, hours[0], hours[-1] + HOUR)
    days_done: set[datetime] = set()
    pending_day: datetime | None = None
    for hour in hours:
        day = floor_day(hour)
        if pending_day is not None and day != pending_day:
            await rollup_day(pool, pending_day)
            days_done.add(pending_day)
            pending_day = None
        if hour in final:
            report.skipped += 1
        else:
            await rollup_hour(pool, hour, now)
            report.rolled_up += 1
        pending_day = day  # even when every hour was final: a stop may have come before its day
        if progress is not None:
            progress(hour)
    if pending_day is not None:
        await rollup_day(pool, pending_day)
        days_done.add(pending_day)
    report.days = len(days_done)
    report.seconds = time.perf_counter() - began
    return report


# ---------------------------------------------------------------- verify


@dataclass(frozen=True)
class Difference:
    period: str  # "hour 2026-05-01 10:00 UTC" or "day 2026-05-01"
    row: str  # "whole fleet, standard", "cell 871f1d489ffffff, xl", "driver 42"
    figure: str
    stored: object
    recomputed: object

    def __str__(self) -> str:
        return f"{self.period}, {self.row}: {self.figure} stored {self.stored}, from raw rows {self.recomputed}"


def _fields(t: Totals | DriverTotals | None, names) -> dict:
    if t is None:
        return {}
    out = {n: getattr(t, n) for n in names}
    if isinstance(t, Totals):
        for h in HISTOGRAMS:
            out[h] = dict(sorted(getattr(t, h).items()))
    out["revenue"] = dict(sorted(t.revenue.items()))
    return out


def _compare(period: str, stored: dict, recomputed: dict, names, describe: Callable) -> list[Difference]:
    out = []
    for key in sorted(set(stored) | set(recomputed), key=str):
        mine, theirs = _fields(stored.get(key), names), _fields(recomputed.get(key), names)
        if key not in stored:
            out.append(Difference(period, describe(key), "row", "missing", "present"))
            continue
        if key not in recomputed:
            out.append(Difference(period, describe(key), "row", "present", "nothing to roll up"))
            continue
        for name in mine:
            if mine[name] != theirs[name]:
                if name in HISTOGRAMS:
                    a, b = mine[name], theirs[name]
                    out.append(Difference(period, describe(key), f"{name} histogram", _hist(a), _hist(b)))
                else:
                    out.append(Difference(period, describe(key), name, mine[name], theirs[name]))
    return out


def _hist(counts: dict[int, int]) -> str:
    return f"{sum(counts.values())} values, p50 {histogram.percentile(counts, 0.5)}"


def _cell_name(key) -> str:
    from hexfleet.geo import cell_name

    cell, vehicle_class = key
    return f"{'whole fleet' if cell == FLEET else 'cell ' + cell_name(cell)}, {vehicle_class}"


@dataclass
class VerifyReport:
    hours: int = 0
    days: int = 0
    differences: list[Difference] = field(default_factory=list)


async def verify(
    pool,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    *,
    progress: Callable[[datetime], None] | None = None,
) -> VerifyReport:
    """Recompute the closed hours starting in [start, end) from the raw rows, and their whole
    UTC days from those, and compare with the stored rows. The open hour is left out: it
    changes by the minute."""
    now = _now(now)
    report = VerifyReport()
    hours = hours_of(start, min(end, q.floor_hour(now)))
    days: dict[datetime, tuple[dict, dict]] = {}
    for hour in hours:
        async with pool.acquire() as conn:
            facts = await q.hour_facts(conn, hour, hour + HOUR)
            stored_cells = await q.cell_rows(conn, "hour", hour, hour + HOUR)
            stored_drivers = await q.driver_rows(conn, "hour", hour, hour + HOUR)
        cells, drivers = aggregate(hour, now, facts)
        label = f"hour {hour:%Y-%m-%d %H:%M} UTC"
        report.differences += _compare(label, {k[1:]: v for k, v in stored_cells.items()}, cells, COUNTS, _cell_name)
        report.differences += _compare(
            label, {k[1]: v for k, v in stored_drivers.items()}, drivers, DRIVER_COUNTS, lambda d: f"driver {d}"
        )
        day_cells, day_drivers = days.setdefault(floor_day(hour), ({}, {}))
        for k, cell_totals in cells.items():
            day_cells.setdefault(k, Totals()).add(cell_totals)
        for d, driver_totals in drivers.items():
            day_drivers.setdefault(d, DriverTotals()).add(driver_totals)
        report.hours += 1
        if progress is not None:
            progress(hour)
    for day, (whole_cells, whole_drivers) in days.items():
        if day < q.floor_hour(start) or day + DAY > min(end, q.floor_hour(now)):
            continue  # only whole days are compared: a day row also holds the hours outside the range
        async with pool.acquire() as conn:
            stored_cells = await q.cell_rows(conn, "day", day, day + HOUR)
            stored_drivers = await q.driver_rows(conn, "day", day, day + HOUR)
        label = f"day {day:%Y-%m-%d} (UTC)"
        report.differences += _compare(
            label, {k[1:]: v for k, v in stored_cells.items()}, whole_cells, COUNTS, _cell_name
        )
        report.differences += _compare(
            label, {k[1]: v for k, v in stored_drivers.items()}, whole_drivers, DRIVER_COUNTS, lambda d: f"driver {d}"
        )
        report.days += 1
    return report
