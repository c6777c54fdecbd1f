"""How fast analytics rolls up: `python -m hexfleet.devtools.bench.analytics`.

Builds a throw-away database on DATABASE_URL's server, writes ``--days`` (90) of a
``--drivers`` (500) fleet into it (hexfleet/devtools/bench/analytics_data.py: rides, offers,
booking events, quotes, duty history), then measures:

- the rollup of one busy hour (a weekday evening peak), ``--rounds`` times: what the cron
  does every minute for the open hour, and again for each late hour;
- a full backfill of every hour and day (``hexfleet analytics backfill``);
- reads of the whole range from the rollups (the summary and per-cell totals the API serves).

Prints a table, then one JSON line. ``--keep`` keeps the database (its name is printed), so
the API's endpoints can be measured over the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections import defaultdict
from datetime import timedelta

import asyncpg
import orjson
from tqdm import tqdm

from hexfleet.analytics import queries as aq
from hexfleet.analytics import rollups
from hexfleet.devtools.bench.analytics_data import generate
from hexfleet.devtools.testing import create_database, drop_database
from hexfleet.migrate import migrate
from hexfleet.settings import Settings


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:6.0f} ms, slowest {max(values) * 1000:6.0f} ms"


async def run(admin_url: str, drivers: int, days: int, rounds: int, keep: bool) -> dict:
    name = f"hexfleet_bench_analytics_{uuid.uuid4().hex[:8]}"
    url = await create_database(admin_url, name)
    figures: dict = {"drivers": drivers, "days": days}
    try:
        await migrate(url)
        conn = await asyncpg.connect(url)
        try:
            began = time.perf_counter()
            with tqdm(total=days, desc="generate", unit=" days", dynamic_ncols=True) as bar:
                made = await generate(conn, drivers=drivers, days=days, progress=lambda _d: bar.update(1))
            figures["generate_s"] = round(time.perf_counter() - began, 1)
            size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
            counts = ", ".join(f"{n:,} {t}" for t, n in made.counts.items())
            print(f"wrote {counts} ({size}) in {figures['generate_s']:.0f} s")
            figures["rows"] = dict(made.counts)
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
        try:
            await _measure(pool, made, rounds, figures)
        finally:
            await pool.close()
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            await drop_database(admin_url, name)
    return figures


async def _measure(pool, made, rounds: int, figures: dict) -> None:
    async with pool.acquire() as conn:  # the busiest hour: an evening peak
        hour = await conn.fetchval(
            """SELECT date_trunc('hour', coalesce(dispatch_at, created_at), 'UTC') FROM bookings
               GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"""
        )
    now = made.end + timedelta(hours=3)
    times, result = [], None
    for _ in range(rounds):
        result = await rollups.rollup_hour(pool, hour, now)
        times.append(result.seconds)
    assert result is not None
    fleet = [t for (cell, _), t in result.cells.items() if cell == 0]
    requests = sum(t.requests for t in fleet)
    print(
        f"rollup of one hour ({hour:%a %Y-%m-%d %H:00} UTC: {requests} requests, {len(result.cells)} cell rows, "
        f"{len(result.drivers)} driver rows): {_ms(times)}"
    )
    figures["hour"] = {"median_ms": round(statistics.median(times) * 1000), "max_ms": round(max(times) * 1000)}
    figures["hour"].update(requests=requests, cell_rows=len(result.cells), driver_rows=len(result.drivers))
    hours = len(rollups.hours_of(made.start, made.end))
    with tqdm(total=hours, desc="backfill", unit=" hours", dynamic_ncols=True) as bar:
        report = await rollups.backfill(pool, made.start, made.end, now, redo=True, progress=lambda _h: bar.update(1))
    print(
        f"backfill of {report.rolled_up:,} hours and {report.days} days: {report.seconds:.0f} s "
        f"({report.rolled_up / report.seconds:.1f} hours/s)"
    )
    figures["backfill"] = {"hours": report.rolled_up, "days": report.days, "seconds": round(report.seconds, 1)}
    async with pool.acquire() as conn:
        await conn.execute("ANALYZE analytics_cells; ANALYZE analytics_drivers")  # as autovacuum would, soon
        size = await conn.fetchval(
            """SELECT pg_size_pretty(pg_total_relation_size('analytics_cells')
                                     + pg_total_relation_size('analytics_drivers'))"""
        )
        figures["rollup_rows"] = await conn.fetchval("SELECT count(*) FROM analytics_cells")
        print(f"rollup tables: {figures['rollup_rows']:,} cell rows, {size} with the driver rows")
        reads: dict[str, list[float]] = defaultdict(list)
        start, end = made.start, made.end
        for _ in range(rounds):
            for label, read in (
                ("range_totals (the summary)", aq.range_totals(conn, start, end)),
                ("per_cell (the map)", aq.per_cell(conn, start, end)),
                ("series by day, counts", aq.series(conn, start, end, "day", "Europe/Berlin", histograms=())),
                ("series by day, one percentile", aq.series(conn, start, end, "day", "Europe/Berlin",
                                                            histograms=("assign",), revenue=False)),
                ("series by hour, counts", aq.series(conn, start, end, "hour", "Europe/Berlin", histograms=())),
                ("per_driver", aq.per_driver(conn, start, end)),
            ):  # fmt: skip
                t0 = time.perf_counter()
                await read
                reads[label].append(time.perf_counter() - t0)
    for label, values in reads.items():
        print(f"read {label} over {(made.end - made.start).days} days: {_ms(values)}")
    figures["reads_ms"] = {k: round(statistics.median(v) * 1000) for k, v in reads.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", type=int, default=500)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is random)")
    args = parser.parse_args()
    settings = Settings.from_env(dev_stack=True)  # a command line: finds a running `make run`
    settings.require_database()
    figures = asyncio.run(run(settings.database_url or "", args.drivers, args.days, args.rounds, args.keep))
    figures["at"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
