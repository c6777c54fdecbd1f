"""Rollups over a real PostgreSQL, on a month of a small fleet written by the bench's generator
(hexfleet/devtools/bench/analytics_data.py), with every time built from now."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from hexfleet.analytics import histogram, kpis, rollups
from hexfleet.analytics import queries as aq
from hexfleet.analytics.totals import HISTOGRAMS, Totals
from hexfleet.devtools.bench.analytics_data import generate


def as_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


async def snapshot(pool, grain: str | None = None) -> dict[tuple, str]:
    """Every rollup row as PostgreSQL prints it, by (table, grain, period start, cell and class or driver)."""
    out = {}
    for table, rest in (("analytics_cells", "cell::text || ' ' || vehicle_class"),
                        ("analytics_drivers", "driver_id::text")):  # fmt: skip
        rows = await pool.fetch(
            f"""SELECT grain, period_start, {rest} AS k, t::text AS v FROM {table} t
                WHERE $1::text IS NULL OR grain = $1""",
            grain,
        )
        out.update({(table, r["grain"], r["period_start"], r["k"]): r["v"] for r in rows})
    return out


@pytest.fixture(scope="module")
async def month(pool):
    """31 days of a 10-driver fleet, ending 3 hours before the current hour, rolled up: made
    once for this module's tests, which leave it as they found it (the backfill test works
    in days of its own, before the month)."""
    await pool.execute(
        """TRUNCATE users, vehicles, drivers, fares, quotes, bookings, offers, booking_events, duty_history,
                    analytics_cells, analytics_drivers, analytics_hours, analytics_state RESTART IDENTITY CASCADE"""
    )
    async with pool.acquire() as conn:
        made = await generate(conn, drivers=10, days=31, seed=5)
    report = await rollups.backfill(pool, made.start, made.end)
    assert report.rolled_up == 31 * 24 and report.skipped == 0
    return made


async def test_rolling_up_again_gives_the_same_rows(pool, month):
    db = pool
    before = await snapshot(db)
    assert len(before) > 1000
    again = await rollups.backfill(db, month.start, month.end, redo=True)
    assert again.rolled_up == 31 * 24
    assert await snapshot(db) == before
    hour = month.start + timedelta(days=10, hours=18)
    await rollups.rollup_hour(db, hour)
    await rollups.rollup_hour(db, hour)
    assert await snapshot(db) == before


async def test_merged_percentiles_over_a_month_match_the_raw_rows(pool, month):
    db = pool
    async with db.acquire() as conn:
        totals = await aq.range_totals(conn, month.start, month.end)
    raw = await db.fetch(
        """SELECT extract(epoch FROM (SELECT min(e.at) FROM booking_events e WHERE e.booking_id = b.id
                                      AND e.action IN ('accept', 'assign', 'reassign'))
                                     - coalesce(b.dispatch_at, b.created_at)) AS to_assign,
                  extract(epoch FROM b.arrived_at - b.assigned_at) AS wait
           FROM bookings b
           WHERE coalesce(b.dispatch_at, b.created_at) >= $1 AND coalesce(b.dispatch_at, b.created_at) < $2""",
        month.start,
        month.end,
    )
    to_assign = [float(r["to_assign"]) for r in raw if r["to_assign"] is not None]
    waits = [float(r["wait"]) for r in raw if r["wait"] is not None]
    assert len(to_assign) > 300 and len(waits) > 300
    assert totals.requests == len(raw)
    for values, counts in ((to_assign, totals.assign), (waits, totals.wait)):
        assert sum(counts.values()) == len(values)
        for p in (0.5, 0.9):
            exact = histogram.exact_percentile(values, p)
            assert abs(histogram.percentile(counts, p) - exact) <= histogram.RELATIVE_ERROR * exact, (p, exact)
    summary = kpis.summary(totals)
    assert summary["completed"] == await db.fetchval(
        """SELECT count(*) FROM bookings WHERE status = 'completed'
           AND coalesce(dispatch_at, created_at) >= $1 AND coalesce(dispatch_at, created_at) < $2""",
        month.start,
        month.end,
    )


async def test_day_rows_hour_rows_cells_and_series_add_up_to_the_same(pool, month):
    async with pool.acquire() as db:  # the reads take a connection
        # A range that starts and ends mid-day: whole days from day rows, the ends from hour rows.
        start, end = month.start + timedelta(days=2, hours=5), month.end - timedelta(days=3, hours=7)
        merged = await aq.range_totals(db, start, end)
        by_hour = Totals()
        for (_, cell, _), t in (await aq.cell_rows(db, "hour", start, end)).items():
            if cell == 0:
                by_hour.add(t)
        assert merged == by_hour and merged.requests > 0
        cells = Totals()
        for t in (await aq.per_cell(db, start, end, histograms=HISTOGRAMS, revenue=True)).values():
            cells.add(t)
        assert cells == merged
        counts_only = await aq.per_cell(db, start, end)
        assert sum(t.requests for t in counts_only.values()) == merged.requests
        assert all(not t.revenue and not t.assign for t in counts_only.values())  # the map's reads skip them
        for bucket, tz in (("day", "Europe/Berlin"), ("hour", "UTC"), ("day", "Asia/Kolkata")):
            days = Totals()
            for _, t in await aq.series(db, start, end, bucket, tz):
                days.add(t)
            assert days == merged
        one = await aq.series(db, start, end, "day", "UTC", histograms=("wait",), revenue=False)
        assert sum(sum(t.wait.values()) for _, t in one) == sum(merged.wait.values())
        assert not any(t.assign or t.revenue for _, t in one)
        standard = await aq.range_totals(db, start, end, vehicle_class="standard")
        assert 0 < standard.requests < merged.requests
        some = sorted(await aq.per_cell(db, start, end))[:5]
        boxed = await aq.range_totals(db, start, end, cells=some)
        assert 0 < boxed.requests < merged.requests
        drivers = await aq.per_driver(db, start, end)
        assert sum(t.trips for _, _, t in drivers) == merged.completed
        assert all(name and name.startswith("Analytics driver") for _, name, _ in drivers)


async def test_backfill_goes_on_where_it_stopped_and_is_safe_beside_the_cron(pool, month):
    db = pool
    async with db.acquire() as conn:  # two days of another small fleet, well before the month
        made = await generate(conn, drivers=6, days=2, seed=9, end=month.start - timedelta(days=5))
    done: list[datetime] = []

    def stop_after_ten(hour: datetime) -> None:
        done.append(hour)
        if len(done) == 10:
            raise KeyboardInterrupt  # Ctrl-C in the middle

    with pytest.raises(KeyboardInterrupt):
        await rollups.backfill(db, made.start, made.end, progress=stop_after_ten)
    # Again, with the cron's tick running beside it (each hour is rolled up by one at a time).
    report, _ = await asyncio.gather(rollups.backfill(db, made.start, made.end), rollups.tick(db))
    assert report.skipped >= 10 and report.rolled_up + report.skipped == 48
    alongside = await snapshot(db, "hour")
    await rollups.backfill(db, made.start, made.end, redo=True)
    assert await snapshot(db, "hour") == alongside
    assert any(made.start <= k[2] < made.end for k in alongside)


async def test_rollups_never_read_positions(pool, month, database_url):
    """Positions are pruned after HISTORY_RETENTION_DAYS, rollups kept for years: the rollups,
    the cron and verify must work without them. Run as a role that may not read them at all."""
    role = f"analytics_probe_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"CREATE ROLE {role} LOGIN")
    try:
        await pool.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        await pool.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
        await pool.execute(f"REVOKE ALL ON positions FROM {role}")
        probe = await asyncpg.create_pool(as_user(database_url, role), min_size=1, max_size=2)
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await probe.fetchval("SELECT count(*) FROM positions")  # the role really cannot
            await rollups.backfill(probe, month.start, month.start + timedelta(days=2), redo=True)
            await rollups.tick(probe)
            checked = await rollups.verify(probe, month.start, month.start + timedelta(days=1))
            assert checked.hours == 24 and not checked.differences
        finally:
            await probe.close()
    finally:
        await pool.execute(f"REASSIGN OWNED BY {role} TO CURRENT_USER")
        await pool.execute(f"DROP OWNED BY {role}")
        await pool.execute(f"DROP ROLE {role}")
