"""How fast the analytics API answers: `python -m hexfleet.devtools.bench.analytics_api`.

Over ``--days`` (90) of a ``--drivers`` (500) fleet (hexfleet/devtools/bench/analytics_data.py,
rolled up by the real backfill) in a throw-away database on DATABASE_URL's server, or over a
database kept by ``python -m hexfleet.devtools.bench.analytics --keep`` (``--database NAME``),
the real web app (``create_app``, in this process, through its ASGI interface: no network, so
the figures are the app's own: the caller's token looked up, the range read, the KPIs made,
the JSON written) answers a dispatcher's requests for the whole range, ``--rounds`` times each:
the summary, series by day (counts; a percentile), by hour over the last week, cells (whole
range; one hour of the week), the drivers and the outlook. Prints p50 / p95 per request against
the target (p95 < 300 ms), then one JSON line. Redis and Kafka come from the environment, else
embedded ones are started (``hexfleet.devtools.embedded``).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import orjson
from tqdm import tqdm

from hexfleet import security
from hexfleet.analytics import rollups
from hexfleet.devtools.bench.analytics_data import generate
from hexfleet.devtools.testing import create_database, drop_database, with_database
from hexfleet.migrate import migrate
from hexfleet.settings import Settings
from hexfleet.users import queries as users

TARGET_P95_MS = 300.0


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000


async def _prepare(url: str, drivers: int, days: int) -> tuple[datetime, datetime]:
    """Generate and roll up the fleet; returns its range."""
    conn = await asyncpg.connect(url)
    try:
        with tqdm(total=days, desc="generate", unit=" days", dynamic_ncols=True) as bar:
            made = await generate(conn, drivers=drivers, days=days, progress=lambda _d: bar.update(1))
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
    try:
        hours = len(rollups.hours_of(made.start, made.end))
        with tqdm(total=hours, desc="backfill", unit=" hours", dynamic_ncols=True) as bar:
            await rollups.backfill(pool, made.start, made.end, progress=lambda _h: bar.update(1))
        await pool.execute("ANALYZE analytics_cells; ANALYZE analytics_drivers")
    finally:
        await pool.close()
    return made.start, made.end


async def _data_range(url: str) -> tuple[datetime, datetime]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT min(period_start) AS a, max(period_start) AS b FROM analytics_cells WHERE grain = 'hour'"
        )
    finally:
        await conn.close()
    if row["a"] is None:
        raise SystemExit("that database has no rollups: run the analytics bench with --keep first")
    return row["a"], row["b"] + timedelta(hours=1)


async def _staff_token(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        email = f"bench-{uuid.uuid4().hex[:8]}@bench.invalid"
        user = await users.create_user(conn, email, security.hash_password(secrets.token_urlsafe(16)), "dispatcher")
        return await users.create_api_token(conn, user.id)
    finally:
        await conn.close()


async def measure(settings: Settings, start: datetime, end: datetime, rounds: int) -> dict[str, dict]:
    from webapp import create_app

    token = await _staff_token(settings.database_url or "")
    span = {"from": _iso(start), "to": _iso(end), "tz": "Europe/Berlin"}
    week = {"from": _iso(end - timedelta(days=7)), "to": _iso(end), "tz": "Europe/Berlin"}
    requests = {
        "summary": ("summary", span),
        "series by day, requests": ("series", {**span, "metric": "requests"}),
        "series by day, pickup wait p90": ("series", {**span, "metric": "pickup_wait_p90"}),
        "series by day, revenue": ("series", {**span, "metric": "revenue"}),
        "series by hour, last 7 days": ("series", {**week, "metric": "requests", "bucket": "hour"}),
        "cells, demand": ("cells", {**span, "metric": "demand"}),
        "cells, one hour of week": ("cells", {**span, "metric": "unmet", "how": "8"}),
        "drivers": ("drivers", span),
        "outlook": ("outlook", {}),
    }
    times: dict[str, list[float]] = {label: [] for label in requests}
    app = create_app(settings)
    async with app.test_app():
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Quart is an ASGI app
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            for label, (path, query) in requests.items():  # once each first: warm caches and plans
                answer = await client.get(f"/api/v1/analytics/{path}", params=query)
                if answer.status_code != 200:
                    raise SystemExit(f"{label}: {answer.status_code} {answer.text[:300]}")
            for _ in tqdm(range(rounds), desc="measure", unit=" rounds", dynamic_ncols=True):
                for label, (path, query) in requests.items():
                    began = time.perf_counter()
                    answer = await client.get(f"/api/v1/analytics/{path}", params=query)
                    times[label].append(time.perf_counter() - began)
                    assert answer.status_code == 200, answer.text
    return {
        label: {"p50_ms": round(_p(v, 0.5), 1), "p95_ms": round(_p(v, 0.95), 1), "max_ms": round(max(v) * 1000, 1)}
        for label, v in times.items()
    }


async def run(settings: Settings, drivers: int, days: int, rounds: int, database: str | None, keep: bool) -> dict:
    admin_url = settings.database_url or ""
    name = database or f"hexfleet_bench_analytics_api_{uuid.uuid4().hex[:8]}"
    url = with_database(admin_url, name) if database else await create_database(admin_url, name)
    figures: dict = {"drivers": drivers, "days": days, "rounds": rounds}
    try:
        if database:
            start, end = await _data_range(url)
            figures["days"] = round((end - start) / timedelta(days=1))
        else:
            await migrate(url)
            start, end = await _prepare(url, drivers, days)
        suffix = uuid.uuid4().hex[:8]
        bench = settings.with_(
            database_url=url,
            kafka_topic_locations=f"bench-locations-{suffix}",
            tracker_group=f"bench-tracker-{suffix}",
            kafka_topic_bookings=f"bench-bookings-{suffix}",
            kafka_topic_surge=f"bench-surge-{suffix}",
            rate_analytics="1000000/minute",
            log_level="WARNING",
        )
        figures["requests"] = await measure(bench, start, end, rounds)
    finally:
        if keep or database:
            print(f"kept database {name}")
        else:
            await drop_database(admin_url, name)
    print(f"\n{'request (' + str(figures['days']) + ' days)':<36} {'p50':>9} {'p95':>9} {'max':>9}  target p95")
    for label, f in figures["requests"].items():
        verdict = "ok" if f["p95_ms"] < TARGET_P95_MS else "SLOW"
        print(f"{label:<36} {f['p50_ms']:>6.0f} ms {f['p95_ms']:>6.0f} ms {f['max_ms']:>6.0f} ms  < 300 ms {verdict}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", type=int, default=500)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database", help="measure over this database (kept by the analytics bench's --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the generated database (its name is printed)")
    args = parser.parse_args()
    settings = Settings.from_env()
    settings.require_database()
    from hexfleet.devtools.embedded import ensure_services, stop_services

    settings, services = ensure_services(settings)
    try:
        figures = asyncio.run(run(settings, args.drivers, args.days, args.rounds, args.database, args.keep))
    finally:
        stop_services(services)
    figures["at"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
