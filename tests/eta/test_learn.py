"""Learning from real position history in PostgreSQL: the hourly job, its idempotence, the SQL
rebuild against the pure derivation, what each process loads, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from helpers import make_driver, start_worker, wait_for

from hexfleet.eta import learn
from hexfleet.eta import queries as q
from hexfleet.eta.live import LiveSpeeds
from hexfleet.eta.segments import derive
from hexfleet.eta.table import CITY, rows_from_tallies
from hexfleet.rides.routes import Router
from workers.jobs import learn_speeds

LAT, LNG = 52.52, 13.405
M_PER_DEG_LAT = 111_195.0
NO_DEV_STACK = "/nonexistent/hexfleet-data"


def last_closed_hour() -> datetime:
    return learn.floor_hour(datetime.now(UTC)) - learn.HOUR


async def drive(db, driver_id: int, start: datetime, minutes: float, mps: float = 10.0, flag=None) -> list[tuple]:
    """A driver heading north at ``mps``, a fix every 4 s; returns the fixes as the deriver reads them."""
    rows = []
    for k in range(int(minutes * 15)):
        at = start + timedelta(seconds=4 * k)
        rows.append((driver_id, at, at, LAT + 4 * k * mps / M_PER_DEG_LAT, LNG, flag))
    await db.executemany(
        "INSERT INTO positions (driver_id, device_time, server_time, lat, lng, flag) VALUES ($1, $2, $3, $4, $5, $6)",
        rows,
    )
    return [(d, t.timestamp(), lat, lng) for d, t, _, lat, lng, f in rows if f is None]


async def learned(db) -> dict:
    rows = await db.fetch(
        "SELECT resolution, cell, hour_of_week, passes, segments, distance_m, seconds FROM learned_speeds"
    )
    return {(r[0], r[1], r[2]): (r[3], r[4], round(r[5], 3), round(r[6], 3)) for r in rows}


async def test_the_job_learns_the_closed_hours_and_running_it_again_changes_nothing(db, settings):
    hour = last_closed_hour()
    fixes = []
    for n in range(3):
        driver, _ = await make_driver(db, f"Driver {n}")
        fixes += await drive(db, driver.id, hour + timedelta(minutes=5 + n), 10)
    noise, _ = await make_driver(db, "Flagged")
    await drive(db, noise.id, hour + timedelta(minutes=5), 10, mps=40, flag="implausible-jump")

    report = await learn_speeds({"db": db, "settings": settings})
    assert report["hours"] >= 1 and report["rows"] > 0
    first = await learned(db)
    assert await learn_speeds({"db": db, "settings": settings}) == report
    assert await learned(db) == first  # recomputing gives the same rows

    # The SQL rebuild and the pure derivation agree (the flagged driver is not in either).
    zone = settings.speed_zone()
    expected = {
        (r.resolution, r.cell, r.hour_of_week): (r.passes, round(r.distance_m, 3), round(r.seconds, 3))
        for r in rows_from_tallies(derive(sorted(fixes), since=hour.timestamp()), zone)
    }
    assert {k: (v[0], v[2], v[3]) for k, v in first.items()} == expected
    city = [v for (res, cell, _), v in first.items() if (res, cell) == (0, CITY)]
    assert len(city) == 1 and city[0][2] / city[0][3] * 3.6 == pytest.approx(36, rel=0.01)
    assert {res for res, _, _ in first} == {0, 7, 8}


async def test_a_late_fix_is_learned_when_its_hour_is_derived_again(db, settings):
    hour = last_closed_hour()
    driver, _ = await make_driver(db)
    await drive(db, driver.id, hour + timedelta(minutes=1), 5)
    await learn.tick(db, settings)
    before = await learned(db)
    late, _ = await make_driver(db, "Buffered")
    await drive(db, late.id, hour + timedelta(minutes=30), 5)
    await learn.tick(db, settings)  # the last closed hours are derived on every run
    after = await learned(db)
    city = next(k for k in after if k[0] == 0)
    assert after[city][:2] == (2 * before[city][0], 2 * before[city][1])  # the same drive again


async def test_learning_is_off_with_learned_speeds_off(db, settings):
    driver, _ = await make_driver(db)
    await drive(db, driver.id, last_closed_hour() + timedelta(minutes=1), 5)
    off = settings.with_(learned_speeds=False)
    assert await learn_speeds({"db": db, "settings": off}) == {"hours": 0, "rows": 0}
    speeds = LiveSpeeds(off)
    await speeds.reload(db)
    assert speeds.table is None


async def test_old_tallies_are_forgotten_after_the_learning_window(db, settings):
    old = learn.floor_hour(datetime.now(UTC) - timedelta(weeks=settings.learned_speeds_weeks + 1))
    async with db.acquire() as conn:
        await q.replace_hour(conn, old, [], datetime.now(UTC))
        await conn.execute("INSERT INTO speed_hours VALUES ($1, 1, 1, 9, 9, 100, 10)", old)
    await learn.tick(db, settings)
    assert await db.fetchval("SELECT count(*) FROM speed_hours WHERE hour = $1", old) == 0


async def test_each_process_loads_what_has_enough_passes_and_estimates_with_it(db, settings):
    hour = last_closed_hour()
    for n in range(3):
        driver, _ = await make_driver(db, f"Driver {n}")
        await drive(db, driver.id, hour + timedelta(minutes=5 + n), 10, mps=5)  # 18 km/h
    await learn.tick(db, settings)
    speeds = LiveSpeeds(settings.with_(learned_speeds_min_passes=3))
    await speeds.reload(db)
    assert speeds.table is not None and speeds.table.city and speeds.table.res8
    router = Router("", 1.0, settings.estimate_rules(), speeds=speeds)
    assert router.learned
    at = hour.timestamp() + 600 + 7 * 86400  # the same hour of week, a week on
    slow = router.estimate(LAT, LNG, LAT + 0.005, LNG, at)
    constant = Router("", 1.0, settings.estimate_rules()).estimate(LAT, LNG, LAT + 0.005, LNG, at)
    assert slow.duration_s == pytest.approx(constant.duration_s * 25 / 18, rel=0.02)
    other_hour = router.estimate(LAT, LNG, LAT + 0.005, LNG, at + 3600)
    assert other_hour == constant  # nothing learned then: AVERAGE_SPEED_KMH

    # Only 3 drivers passed each cell; an area or the city sums the passes of its cells.
    few = LiveSpeeds(settings.with_(learned_speeds_min_passes=4))
    await few.reload(db)
    assert few.table is not None and not few.table.res8 and few.table.city


def hexfleet(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env.update(DATABASE_URL=database_url, HEXFLEET_DATA_DIR=NO_DEV_STACK)
    return subprocess.run(
        [sys.executable, "-m", "hexfleet.cli.main", "speeds", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_cli_learns_on_demand_and_shows_what_it_learned(db, database_url):
    shown = hexfleet(database_url, "show")
    assert shown.returncode == 0 and "nothing learned yet" in shown.stdout
    driver, _ = await make_driver(db)
    await drive(db, driver.id, last_closed_hour() - timedelta(hours=2), 10)
    done = hexfleet(database_url, "learn", "--hours", "4", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "derived 4 hours" in done.stdout and "resolution-8 cells: " in done.stdout
    bad = hexfleet(database_url, "learn", "--hours", "0")
    assert bad.returncode == 2 and "--hours must be at least 1" in bad.stderr and "Traceback" not in bad.stderr


async def test_the_real_worker_learns_at_start_up(db, redis, settings, tmp_path):
    """`python -m workers` as the Procfile runs it: the cron runs at start-up, then hourly."""
    driver, _ = await make_driver(db)
    await drive(db, driver.id, last_closed_hour() + timedelta(minutes=5), 10)
    worker = start_worker(settings, tmp_path / "worker.log")
    try:

        async def learned_rows():
            return await db.fetchval("SELECT count(*) FROM learned_speeds WHERE resolution = 0") or None

        try:
            assert await wait_for(learned_rows, timeout=60, interval=0.25) == 1
        except AssertionError:
            raise AssertionError((tmp_path / "worker.log").read_text()) from None
    finally:
        worker.terminate()
        worker.wait(15)
    assert "Traceback" not in (tmp_path / "worker.log").read_text()
