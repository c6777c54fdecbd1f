"""Point-in-zone speed: `python -m hexfleet.devtools.bench.zones`.

Covers 200 zones around a city centre (one city-sized outline of 400 vertices with a park cut
out, circles of 60 m to 4 km, multipolygons, star-shaped polygons of 5 to 80 vertices: bays and
capes at every scale), then times ``ZoneIndex.zones_at`` over random fixes: spread over the area,
and right on the zones' boundaries (where the exact test runs). Also the time to cover them
(each process does it at start and after each change, in a thread) and, for comparison, the
exact test of every zone without the cover. The target: under 20 µs a fix. With ``--quotes N``
(needs DATABASE_URL and REDIS_URL): N quotes each way through the real workflow, without zones
and with them (bench_quotes). Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
import uuid

import orjson

from hexfleet.zones.cover import CoveredZone, ZoneHit, ZoneIndex
from hexfleet.zones.geometry import Shape, parse

CENTRE = (52.52, 13.40)
TARGET_US = 20.0
SEED = 18


def _star(rng: random.Random, lat: float, lng: float, size: float, points: int) -> list[list[float]]:
    """A star-shaped ring (never self-intersecting): bays and capes at every scale."""
    ring = []
    for i in range(points):
        angle = 2 * math.pi * i / points
        r = size * (0.5 + 0.5 * rng.random())
        ring.append([lng + 1.6 * r * math.cos(angle), lat + r * math.sin(angle)])
    return [*ring, ring[0]]


def city_zones(count: int = 200, seed: int = 18) -> list[Shape]:
    """``count`` zones of every kind of shape around CENTRE (the same ones for a seed)."""
    rng = random.Random(seed)
    lat, lng = CENTRE
    city = _star(rng, lat, lng, 0.15, 400)
    park = _star(rng, lat, lng, 0.02, 30)[::-1]
    shapes = [parse({"type": "Polygon", "coordinates": [city, park]})]
    while len(shapes) < count:
        zlat, zlng = lat + rng.uniform(-0.2, 0.2), lng + rng.uniform(-0.3, 0.3)
        kind = len(shapes) % 4
        if kind == 0:
            shapes.append(parse({"type": "Circle", "center": [zlng, zlat], "radius_m": rng.uniform(60, 4000)}))
        elif kind == 1:
            a = _star(rng, zlat, zlng, 0.004, 12)
            b = _star(rng, zlat + 0.02, zlng + 0.03, 0.003, 9)
            shapes.append(parse({"type": "MultiPolygon", "coordinates": [[a], [b]]}))
        else:
            ring = _star(rng, zlat, zlng, rng.uniform(0.001, 0.03), rng.randint(5, 80))
            shapes.append(parse({"type": "Polygon", "coordinates": [ring]}))
    return shapes


def index_of(shapes: list[Shape]) -> ZoneIndex:
    return ZoneIndex(
        CoveredZone(ZoneHit(i + 1, f"zone {i + 1}", "custom", "#000000", None), shape) for i, shape in enumerate(shapes)
    )


def _per_call_us(index: ZoneIndex, points: list[tuple[float, float]], rounds: int = 5) -> float:
    best = math.inf
    zones_at = index.zones_at
    for _ in range(rounds):
        began = time.perf_counter()
        for lat, lng in points:
            zones_at(lat, lng)
        best = min(best, time.perf_counter() - began)
    return best / len(points) * 1e6


def run(count: int, fixes: int, seed: int) -> dict:
    shapes = city_zones(count, seed)
    began = time.perf_counter()
    index = index_of(shapes)
    build_s = time.perf_counter() - began
    rng = random.Random(seed)
    spread = [(CENTRE[0] + rng.uniform(-0.25, 0.25), CENTRE[1] + rng.uniform(-0.4, 0.4)) for _ in range(fixes)]
    edges = []
    for _ in range(fixes):
        shape = rng.choice(shapes)
        x, y = rng.choice(list(shape.area.exterior.coords if shape.area.geom_type == "Polygon" else
                                shape.area.geoms[0].exterior.coords))  # fmt: skip
        edges.append((y + rng.gauss(0, 0.00005), x + rng.gauss(0, 0.00005)))
    hits = sum(len(index.zones_at(lat, lng)) for lat, lng in spread)
    exact_began = time.perf_counter()
    sample = spread[:500]
    for lat, lng in sample:
        [s for s in shapes if s.covers(lat, lng)]
    exact_us = (time.perf_counter() - exact_began) / len(sample) * 1e6
    return {
        "zones": count,
        "fixes": fixes,
        "build_s": round(build_s, 2),
        "inner_cells": index.stats.inner_cells,
        "boundary_cells": index.stats.boundary_cells,
        "spread_us": round(_per_call_us(index, spread), 2),
        "boundary_us": round(_per_call_us(index, edges), 2),
        "zones_per_fix": round(hits / fixes, 2),
        "exact_every_zone_us": round(exact_us, 1),
        "target_us": TARGET_US,
    }


async def bench_quotes(count: int, zones: int) -> dict:
    """``count`` quotes each way through the real workflow in a throw-away database: without
    zones (the code path of quotes before zones) and with ``zones`` zones in memory (a service
    area around the city, an airport with fees and a fixed fare, the rest of city_zones),
    alternating, so both see the same server and the same load."""
    import asyncpg
    from redis.asyncio import Redis

    from hexfleet import audit
    from hexfleet.devtools.demo import DEMO_FARES
    from hexfleet.devtools.testing import create_database, drop_database
    from hexfleet.migrate import migrate
    from hexfleet.rides import queries as ride_queries
    from hexfleet.rides import quotes
    from hexfleet.rides.context import Rides
    from hexfleet.rides.routes import Router
    from hexfleet.rides.surge_index import SurgeIndex
    from hexfleet.settings import Settings
    from hexfleet.tracking.store import LiveStore
    from hexfleet.users import queries as user_queries
    from hexfleet.zones import admin, live
    from hexfleet.zones.rules import check_zone

    env = Settings.from_env()
    env.require_database()
    name = f"hexfleet_bench_zones_{uuid.uuid4().hex[:8]}"
    url = await create_database(env.database_url, name)
    redis = Redis.from_url(env.redis_url)
    try:
        await migrate(url)
        settings = env.with_(database_url=url)
        pool = await asyncpg.create_pool(url, min_size=2, max_size=4)
        async with pool.acquire() as conn:
            for fare in DEMO_FARES:
                await ride_queries.put_fare(conn, fare, None)
            user = await user_queries.create_user(conn, "bench@example.org", "x", "customer")
        lat, lng = CENTRE
        square = [[lng - 0.3, lat - 0.2], [lng + 0.3, lat - 0.2], [lng + 0.3, lat + 0.2], [lng - 0.3, lat + 0.2]]
        drawn = [
            {
                "name": "City",
                "kind": "service_area",
                "geometry": {"type": "Polygon", "coordinates": [[*square, square[0]]]},
            },
            {
                "name": "Centre",
                "kind": "custom",
                "geometry": {"type": "Circle", "center": [lng, lat], "radius_m": 3000},
            },
        ]
        for i, shape in enumerate(city_zones(max(0, zones - 3), SEED)):
            drawn.append({"name": f"Zone {i + 1}", "kind": "custom", "geometry": shape.geojson})

        async def noop() -> None:
            return None

        actor = audit.Actor("bench")
        for data in drawn:
            zone, errors = check_zone(data)
            assert zone is not None, errors
            saved = await admin.create(pool, actor, zone, noop)
            if data["name"] == "Centre":
                centre_id = saved.id
        airport = {"name": "Airport", "kind": "airport",
                   "geometry": {"type": "Circle", "center": [lng + 0.05, lat - 0.03], "radius_m": 2000},
                   "rules": {"pickup_fee_minor": 500, "fixed_fares": [
                       {"to_zone_id": centre_id, "vehicle_class": "standard", "amount_minor": 4500}]}}  # fmt: skip
        zone, errors = check_zone(airport)
        assert zone is not None, errors
        await admin.create(pool, actor, zone, noop)
        covered = live.LiveZones(pool)
        await covered.reload()
        router = Router("", 1.0, settings.estimate_rules())
        common = {
            "pool": pool,
            "store": LiveStore(redis, settings.h3_resolution),
            "surge": SurgeIndex(redis, settings.surge_resolution),
            "duty": None,
            "jobs": None,
            "settings": settings,
            "router": router,
        }
        contexts = {"without zones": Rides(**common), "with zones": Rides(**common, zones=covered)}  # type: ignore[arg-type]
        rng = random.Random(SEED)
        timings: dict[str, list[float]] = {k: [] for k in contexts}
        lined = 0
        for i in range(count * 2 + 20):
            kind = list(contexts)[(i + i // 2) % 2]  # without, with, with, without, ...: neither always first
            pickup = (lat + rng.uniform(-0.05, 0.05), lng + rng.uniform(-0.08, 0.08))
            dropoff = (lat + rng.uniform(-0.05, 0.05), lng + rng.uniform(-0.08, 0.08))
            if i % 5 == 0:  # some from the airport
                pickup = (lat - 0.03 + rng.uniform(-0.005, 0.005), lng + 0.05 + rng.uniform(-0.005, 0.005))
            started = time.perf_counter()
            quote = await quotes.make_quote(contexts[kind], user.id, quotes.QuoteRequest(pickup, dropoff))
            if i >= 20:  # the first ones warm the pool and the caches up
                timings[kind].append(time.perf_counter() - started)
                lined += bool(quote.breakdown.get("zone_lines"))
        figures = {}
        print(f"{count:,} quotes each way, alternating ({lined} with zone lines; {len(covered.index)} zones):")
        for kind, spent in timings.items():
            spent.sort()
            figures[kind] = {"median_ms": round(statistics.median(spent) * 1000, 3),
                             "p90_ms": round(spent[int(len(spent) * 0.9)] * 1000, 3)}  # fmt: skip
            print(f"  {kind:<14} median {figures[kind]['median_ms']:.3f} ms, p90 {figures[kind]['p90_ms']:.3f} ms")
        await router.close()
        await pool.close()
        return figures
    finally:
        await redis.aclose()
        await drop_database(env.database_url, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hexfleet.devtools.bench.zones", description=__doc__.split("\n")[0])
    parser.add_argument("--zones", type=int, default=200)
    parser.add_argument("--fixes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--quotes", type=int, default=0, help="also time this many quotes each way (DATABASE_URL)")
    args = parser.parse_args(argv)
    r = run(args.zones, args.fixes, args.seed)
    print(f"{r['zones']} zones covered in {r['build_s']} s: {r['inner_cells']} inner cells, "
          f"{r['boundary_cells']} boundary cells (resolution 9)")  # fmt: skip
    print(f"zones_at, fixes spread over the city:  {r['spread_us']:6.2f} µs a fix ({r['zones_per_fix']} zones each)")
    print(f"zones_at, fixes on zone boundaries:    {r['boundary_us']:6.2f} µs a fix")
    print(f"exact test of every zone, no cover:    {r['exact_every_zone_us']:6.1f} µs a fix")
    worst = max(r["spread_us"], r["boundary_us"])
    print(f"target under {TARGET_US:g} µs: {'met' if worst < TARGET_US else 'MISSED'}")
    if args.quotes:
        r["quotes"] = asyncio.run(bench_quotes(args.quotes, args.zones))
    print(orjson.dumps(r).decode())
    return 0 if worst < TARGET_US else 1


if __name__ == "__main__":
    sys.exit(main())
