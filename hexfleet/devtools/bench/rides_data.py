"""What the rides phases need before they start: customers, fares, drivers placed, quotes.

Drivers are placed by writing their fixes through ``LiveStore.apply_fixes``, exactly as
the tracker would after their pings, so the availability index, the stale sweep and
dispatch see ordinary drivers. The two areas are far from the ingest phases' Berlin grid
(wrk.py, sse.py) and from each other: the quote and booking→offer phases use one half
of the fleet in Hamburg, the dispatch phase the other half, still all available, in
Munich, so no phase finds drivers another phase made busy. Afterwards every driver is
put back on its Berlin grid position: otherwise the tracker would judge the ingest
phases' next pings an implausible jump from Hamburg.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass

import asyncpg
import orjson
from redis.asyncio import Redis

from hexfleet import security
from hexfleet.devtools.bench.rawhttp import ERRORS, Pool
from hexfleet.devtools.demo import DEMO_FARES
from hexfleet.rides import queries as ride_queries
from hexfleet.tracking.pings import Ping
from hexfleet.tracking.store import LiveStore

QUOTES_AREA = (53.5511, 9.9937)  # Hamburg
DISPATCH_AREA = (48.1374, 11.5755)  # Munich
# A city's drivers within 3 km of the centre and pickups within 2.5 km: every pickup has
# drivers in its first dispatch ring (1.5 km), and the whole fleet within the last (6 km).
DRIVER_RADIUS_M = 3000.0
PICKUP_RADIUS_M = 2500.0
TRIP_M = (1000.0, 8000.0)
GEOMETRY = (
    f"drivers spread over {DRIVER_RADIUS_M / 1000:g} km around each city centre, pickups within "
    f"{PICKUP_RADIUS_M / 1000:g} km, trips {TRIP_M[0] / 1000:g}–{TRIP_M[1] / 1000:g} km"
)
CUSTOMER_EMAIL = "bench-rider-%s@hexfleet.invalid"  # a format() pattern
QUOTES_PATH = "/api/v1/quotes"
M_PER_DEG = 111_320.0
SEED = 20261202


@dataclass(frozen=True)
class Area:
    name: str
    center: tuple[float, float]
    driver_ids: list[int]
    tokens: dict[int, str]  # driver id → device token


def offset(lat: float, lng: float, distance_m: float, bearing: float) -> tuple[float, float]:
    """A point ``distance_m`` from (lat, lng) towards ``bearing`` (radians); flat-earth is
    plenty at city scale."""
    dlat = distance_m * math.cos(bearing) / M_PER_DEG
    dlng = distance_m * math.sin(bearing) / (M_PER_DEG * math.cos(math.radians(lat)))
    return lat + dlat, lng + dlng


def in_disc(rng: random.Random, center: tuple[float, float], radius_m: float) -> tuple[float, float]:
    # sqrt: uniform over the disc's area, not crowded at its centre.
    return offset(*center, radius_m * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi))


def quote_bodies(center: tuple[float, float], count: int, seed: int) -> list[bytes]:
    """``count`` quote requests: a pickup near the centre and a drop-off 1–8 km away."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        plat, plng = in_disc(rng, center, PICKUP_RADIUS_M)
        dlat, dlng = offset(plat, plng, rng.uniform(*TRIP_M), rng.uniform(0, 2 * math.pi))
        out.append(
            orjson.dumps(
                {
                    "pickup": {"lat": round(plat, 6), "lng": round(plng, 6)},
                    "dropoff": {"lat": round(dlat, 6), "lng": round(dlng, 6)},
                }
            )
        )
    return out


def split_fleet(driver_ids: list[int], tokens: list[str], per_area: int) -> tuple[Area, Area]:
    """Two disjoint halves of the bench fleet (at most ``per_area`` drivers each)."""
    per_area = min(per_area, len(driver_ids) // 2)
    if per_area < 1:
        raise RuntimeError("the rides phases need a fleet of at least 2 drivers")
    by_id = dict(zip(driver_ids, tokens, strict=True))
    first, second = driver_ids[:per_area], driver_ids[per_area : 2 * per_area]
    return (
        Area("Hamburg", QUOTES_AREA, first, {d: by_id[d] for d in first}),
        Area("Munich", DISPATCH_AREA, second, {d: by_id[d] for d in second}),
    )


async def create_customers(dsn: str, count: int) -> list[str]:
    """Customer accounts with API tokens (only their hashes stored), and the demo fares
    where a vehicle class has none; returns the tokens."""
    tokens = [security.new_user_token() for _ in range(count)]
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            # '!' is no argon2 hash: these accounts can never log in with a password.
            ids = await conn.fetch(
                "INSERT INTO users (email, password_hash, role) "
                "SELECT format($1::text, g), '!', 'customer' FROM generate_series(1, $2) g RETURNING id",
                CUSTOMER_EMAIL,
                count,
            )
            await conn.execute(
                """INSERT INTO api_tokens (user_id, token_hash, label, expires_at)
                   SELECT *, 'bench', now() + interval '1 day' FROM unnest($1::bigint[], $2::bytea[])""",
                [r["id"] for r in ids],
                [security.token_hash(t) for t in tokens],
            )
        existing = {f.vehicle_class for f in await ride_queries.list_fares(conn)}
        for fare in DEMO_FARES:
            if fare.vehicle_class not in existing:
                await ride_queries.put_fare(conn, fare, None)
    finally:
        await conn.close()
    return tokens


def _positions(area: Area) -> list[tuple[float, float]]:
    rng = random.Random(SEED + len(area.name))
    return [in_disc(rng, area.center, DRIVER_RADIUS_M) for _ in area.driver_ids]


def home_position(index: int) -> tuple[float, float]:
    """Where wrk.py and sse.py put the fleet's ``index``-th driver (same formula)."""
    return 52.45 + (index % 100) * 0.0012, 13.30 + (index // 100) * 0.0012


async def place(redis_url: str, resolution: int, fixes: list[tuple[int, tuple[float, float]]]) -> int:
    """Write a fresh fix for each (driver id, position), as the tracker would; returns how
    many were applied. Device and server time are now, so they are fresh for STALE_AFTER_S."""
    redis = Redis.from_url(redis_url)
    try:
        store = LiveStore(redis, resolution)
        now = time.time()
        applied = 0
        for start in range(0, len(fixes), 500):
            chunk = fixes[start : start + 500]
            applied += await store.apply_fixes(
                (d, Ping(lat, lng, now, speed_mps=0.0, heading=0.0), now) for d, (lat, lng) in chunk
            )
        return applied
    finally:
        await redis.aclose()


async def place_area(redis_url: str, resolution: int, area: Area) -> int:
    return await place(redis_url, resolution, list(zip(area.driver_ids, _positions(area), strict=True)))


async def send_home(redis_url: str, resolution: int, driver_ids: list[int]) -> int:
    return await place(redis_url, resolution, [(d, home_position(i)) for i, d in enumerate(driver_ids)])


async def create_quotes(
    host: str, port: int, customers: list[str], bodies: list[bytes], concurrency: int = 16
) -> list[tuple[str, int]]:
    """Ask for one quote per body through the API (customers in turn): (customer token, quote id).

    Made before a booking phase starts, so the phase's clock and CPU figures hold bookings only.
    """
    pool = Pool(host, port, concurrency)
    out: list[tuple[str, int] | None] = [None] * len(bodies)
    failures: dict[str, int] = {}

    async def one(i: int) -> None:
        token = customers[i % len(customers)]
        try:
            status, body = await pool.call("POST", QUOTES_PATH, token, bodies[i])
        except ERRORS as error:
            failures[type(error).__name__] = failures.get(type(error).__name__, 0) + 1
            return
        if status == 201:
            out[i] = (token, orjson.loads(body)["quote_id"])
        else:
            failures[str(status)] = failures.get(str(status), 0) + 1

    try:
        await asyncio.gather(*(one(i) for i in range(len(bodies))))
    finally:
        pool.close()
    made = [q for q in out if q is not None]
    if len(made) < len(bodies) * 0.99:
        raise RuntimeError(f"only {len(made)} of {len(bodies)} quotes were made ({failures})")
    return made


async def booking_outcomes(dsn: str, booking_ids: list[int]) -> dict[str, float]:
    """From PostgreSQL: how many of these bookings are in each status, and when the first
    and last were assigned (epoch seconds)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM bookings WHERE id = ANY($1::bigint[]) GROUP BY status", booking_ids
        )
        span = await conn.fetchrow(
            """SELECT extract(epoch FROM min(assigned_at)) AS first, extract(epoch FROM max(assigned_at)) AS last
               FROM bookings WHERE id = ANY($1::bigint[]) AND assigned_at IS NOT NULL""",
            booking_ids,
        )
        offers = await conn.fetchval("SELECT count(*) FROM offers WHERE booking_id = ANY($1::bigint[])", booking_ids)
    finally:
        await conn.close()
    out: dict[str, float] = {f"status_{r['status']}": r["n"] for r in rows}
    out["offers"] = offers
    if span and span["first"] is not None:
        out["first_assigned_at"] = float(span["first"])
        out["last_assigned_at"] = float(span["last"])
    return out


async def offer_times(dsn: str, booking_ids: list[int]) -> dict[int, tuple[float, float, float | None]]:
    """booking id → (booking created, first offer decided, that event published), epoch seconds.

    ``created`` and the offer's ``at`` are the server's clock when each step began; the
    relay sets ``published_at`` once the broker acknowledged the event."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT DISTINCT ON (e.booking_id) e.booking_id, extract(epoch FROM b.created_at) AS created,
                      extract(epoch FROM e.at) AS offered, extract(epoch FROM e.published_at) AS published
               FROM booking_events e JOIN bookings b ON b.id = e.booking_id
               WHERE e.booking_id = ANY($1::bigint[]) AND e.action = 'offer'
               ORDER BY e.booking_id, e.id""",
            booking_ids,
        )
    finally:
        await conn.close()
    return {
        r["booking_id"]: (
            float(r["created"]),
            float(r["offered"]),
            float(r["published"]) if r["published"] is not None else None,
        )
        for r in rows
    }
