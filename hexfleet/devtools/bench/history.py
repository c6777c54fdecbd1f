"""How fast a day of one driver's history replays: `python -m hexfleet.devtools.bench.history`.

Builds a throw-away database on DATABASE_URL's server with ``--drivers`` drivers (50) that
each sent one fix every 2 s for the last 24 hours (43,200 fixes each, written interleaved
by time as the tracker writes them, so one driver's rows are spread over the table's pages,
about 1 in 200 flagged), then times what GET /api/v1/drivers/<id>/history does for one
driver's whole day: the query, the analysis (stops, speeds, summary), naming the stops by the
nearest of ``--places`` places (1,000, within about 300 m of the driver's route: most of the
day passes one) and the JSON; and what the CSV export adds: every fix and its place.

The first round reads from disk or the OS cache, the rest from PostgreSQL's buffers; the
median and the slowest of ``--rounds`` are printed, with the size of the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from hexfleet.devtools.testing import create_database, drop_database
from hexfleet.migrate import migrate
from hexfleet.places.labels import LabelPlace, PlaceIndex
from hexfleet.settings import Settings
from hexfleet.tracking import exports, replay
from hexfleet.tracking import queries as history
from hexfleet.tracking.filters import IMPLAUSIBLE_JUMP, INACCURATE

INTERVAL_S = 2.0
DAY_S = 86_400


def _day_of_driving(seed: int, start_ts: float, fixes: int) -> list[tuple]:
    """(device time, lat, lng, speed, heading, accuracy, flag): drives of 3 to 15 minutes at
    5 to 15 m/s with turns, stops of 2 to 10 minutes, a few metres of GPS noise."""
    rng = random.Random(seed)
    lat, lng = 52.52 + rng.uniform(-0.05, 0.05), 13.405 + rng.uniform(-0.08, 0.08)
    heading = rng.uniform(0, 360)
    rows = []
    moving, left = True, rng.uniform(180, 900)
    for i in range(fixes):
        if left <= 0:
            moving = not moving
            left = rng.uniform(180, 900) if moving else rng.uniform(120, 600)
        left -= INTERVAL_S
        speed = rng.uniform(5, 15) if moving else 0.0
        if moving:
            heading = (heading + rng.gauss(0, 8)) % 360
            lat += speed * INTERVAL_S * math.cos(math.radians(heading)) / 111_320
            lng += speed * INTERVAL_S * math.sin(math.radians(heading)) / (111_320 * math.cos(math.radians(lat)))
        flag = None
        if rng.random() < 0.005:
            flag = rng.choice((IMPLAUSIBLE_JUMP, INACCURATE))
        noise = 3 / 111_320
        rows.append(
            (
                start_ts + i * INTERVAL_S,
                lat + rng.uniform(-noise, noise),
                lng + rng.uniform(-noise, noise),
                speed,
                heading,
                rng.uniform(3, 15),
                flag,
            )
        )
    return rows


async def _fill(conn, drivers: int, now: float) -> list[int]:
    ids = [
        r["id"]
        for r in await conn.fetch(
            "INSERT INTO drivers (name) SELECT 'history bench ' || g FROM generate_series(1, $1) g RETURNING id",
            drivers,
        )
    ]
    fixes = int(DAY_S / INTERVAL_S)
    start = now - DAY_S
    days = [_day_of_driving(driver_id, start, fixes) for driver_id in ids]
    chunk = 2_000  # fixes per driver per COPY: rows go in interleaved by time, as the tracker writes them
    for first in range(0, fixes, chunk):
        records = [
            (
                driver_id,
                datetime.fromtimestamp(ts, UTC),
                datetime.fromtimestamp(ts + 0.3, UTC),
                la,
                ln,
                sp,
                hd,
                acc,
                flag,
            )
            for i in range(first, min(fixes, first + chunk))
            for driver_id, day in zip(ids, days, strict=True)
            for ts, la, ln, sp, hd, acc, flag in (day[i],)
        ]
        await conn.copy_records_to_table(
            "positions",
            records=records,
            columns=[
                "driver_id",
                "device_time",
                "server_time",
                "lat",
                "lng",
                "speed_mps",
                "heading",
                "accuracy_m",
                "flag",
            ],
        )
    return ids


def places_along(fixes: list[replay.Fix], count: int, radius_m: float = 150.0) -> PlaceIndex:
    """``count`` places, each within about 300 m of one of the fixes (as the label index holds them)."""
    rng = random.Random(count)
    picks = rng.sample(fixes, min(count, len(fixes)))
    return PlaceIndex(
        (
            LabelPlace(
                i, f"Place {i}", "other", f.lat + rng.uniform(-0.0027, 0.0027), f.lng + rng.uniform(-0.0044, 0.0044)
            )
            for i, f in enumerate(picks)
        ),
        radius_m,
    )


async def _round(conn, driver_id: int, start: datetime, end: datetime, places: int) -> tuple:
    t0 = time.perf_counter()
    fixes, _ = await history.fixes_between(conn, driver_id, start, end)
    t1 = time.perf_counter()
    result = await asyncio.to_thread(replay.analyse, fixes)
    t2 = time.perf_counter()
    index = places_along(fixes, places)  # built once per process in the app: not timed
    t3 = time.perf_counter()
    body = replay.to_json(result)
    for stop, label in zip(body["stops"], [index.nearest(s.lat, s.lng) for s in result.stops], strict=True):
        stop["label"] = label.to_json() if label else None
    encoded = orjson.dumps(body)
    t4 = time.perf_counter()
    plain = exports.to_csv(result)
    t5 = time.perf_counter()
    named = exports.to_csv(result, index.nearest)
    t6 = time.perf_counter()
    assert len(named) >= len(plain)
    return t1 - t0, t2 - t1, t4 - t3, t5 - t4, t6 - t5, len(fixes), len(encoded)


async def run(admin_url: str, drivers: int, rounds: int, keep: bool, places: int = 1000) -> None:
    name = f"hexfleet_bench_history_{uuid.uuid4().hex[:8]}"
    url = await create_database(admin_url, name)
    try:
        await migrate(url)
        conn = await asyncpg.connect(url)
        try:
            now = time.time()
            began = time.perf_counter()
            ids = await _fill(conn, drivers, now)
            rows = await conn.fetchval("SELECT count(*) FROM positions")
            size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('positions'))")
            print(f"{rows:,} fixes of {drivers} drivers ({size}) written in {time.perf_counter() - began:.0f} s")
            end = datetime.fromtimestamp(now + 1, UTC)
            start = end - timedelta(days=1, seconds=1)
            # Just written, before any vacuum: every page still needs a look at the table.
            await conn.execute("ANALYZE positions")
            await _phase(conn, "just written, not yet vacuumed", ids[len(ids) // 3], start, end, rounds, places)
            # What autovacuum leaves (every 50,000 new fixes, migration 007): index-only.
            await conn.execute("VACUUM ANALYZE positions")
            await _phase(conn, "vacuumed (the steady state)", ids[len(ids) // 2], start, end, rounds, places)
        finally:
            await conn.close()
    finally:
        if not keep:
            await drop_database(admin_url, name)
        else:
            print(f"kept database {name}")


async def _phase(conn, title: str, driver_id: int, start: datetime, end: datetime, rounds: int, places: int) -> None:
    plan = await history.explain_fixes_between(conn, driver_id, start, end)
    scan = next((line.strip(" ->") for line in plan.splitlines() if "Scan" in line), plan)
    results = [await _round(conn, driver_id, start, end, places) for _ in range(rounds)]
    query, analysis, encode, plain_csv, named_csv, count, body = zip(*results, strict=True)
    totals = [sum(parts) for parts in zip(query, analysis, encode, strict=True)]

    def ms(values) -> str:
        return f"median {statistics.median(values) * 1000:5.0f} ms, slowest {max(values) * 1000:5.0f} ms"

    print(f"{title}: one driver's day, {count[0]:,} fixes, JSON {body[0] / 1e6:.1f} MB, {rounds} rounds")
    print(f"  plan      {scan.split('  (cost')[0]}")
    print(f"  query     {ms(query)}  (first round {query[0] * 1000:.0f} ms)")
    print(f"  analysis  {ms(analysis)}")
    print(f"  JSON      {ms(encode)}  (stops named by {places:,} places)")
    print(f"  total     {ms(totals)}")
    print(f"  CSV       {ms(plain_csv)}  without places")
    print(f"  CSV       {ms(named_csv)}  with every fix's place")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--places", type=int, default=1000, help="places along the driver's route, for the labels")
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is random)")
    args = parser.parse_args()
    settings = Settings.from_env(dev_stack=True)  # a command line: finds a running `make run`
    settings.require_database()
    asyncio.run(run(settings.database_url or "", args.drivers, args.rounds, args.keep, args.places))


if __name__ == "__main__":
    main()
