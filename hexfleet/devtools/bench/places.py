"""What place labels cost: `python -m hexfleet.devtools.bench.places`.

1. Lookups: ``--lookups`` (1,000) nearest-place lookups in an index of N places (the demo's, and
   random ones around Berlin), as a quote makes two, and the same through PlaceLabels.label_points.
2. Quotes (with ``--quotes N``, needs DATABASE_URL and REDIS_URL): N quotes made by the real
   workflow (hexfleet.rides.quotes.make_quote) in a throw-away database, alternating between
   a context without labels (the code path of quotes before places) and one with them, so both
   see the same server and the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid

import asyncpg

from hexfleet.devtools.demo import DEMO_FARES, DEMO_PLACES
from hexfleet.places import live
from hexfleet.places.labels import LabelPlace, PlaceIndex

CENTRE = (52.52, 13.405)


def _places(count: int, rng: random.Random) -> list[LabelPlace]:
    demo = [LabelPlace(i, p.name, p.category, p.lat, p.lng) for i, p in enumerate(DEMO_PLACES)]
    extra = [
        LabelPlace(1000 + i, f"P{i}", "other", CENTRE[0] + rng.uniform(-0.1, 0.1), CENTRE[1] + rng.uniform(-0.15, 0.15))
        for i in range(max(0, count - len(demo)))
    ]
    return demo + extra


def _points(count: int, rng: random.Random) -> list[tuple[float, float]]:
    return [(CENTRE[0] + rng.uniform(-0.05, 0.05), CENTRE[1] + rng.uniform(-0.08, 0.08)) for _ in range(count)]


def bench_lookups(sizes: list[int], lookups: int, radius_m: float) -> None:
    rng = random.Random(16)
    points = _points(lookups, rng)
    print(f"{lookups:,} nearest-place lookups (radius {radius_m:g} m):")
    for size in sizes:
        places = _places(size, rng)
        started = time.perf_counter()
        index = PlaceIndex(places, radius_m)
        built = time.perf_counter() - started
        rounds = []
        for _ in range(5):
            started = time.perf_counter()
            found = sum(index.nearest(lat, lng) is not None for lat, lng in points)
            rounds.append(time.perf_counter() - started)
        best = min(rounds)
        print(
            f"  {len(places):>6,} places: {best * 1000:7.2f} ms ({best / lookups * 1e6:5.2f} µs a lookup, "
            f"{found} labelled); index built in {built * 1000:.1f} ms"
        )


async def bench_label_points(lookups: int, radius_m: float) -> None:
    """The web app's call, as a quote makes it (two points), from an index of the demo's places."""

    class Loaded(live.PlaceLabels):
        async def reload(self) -> None:  # no database: the demo's places
            self.index = PlaceIndex(_places(len(DEMO_PLACES), random.Random(1)), self.radius_m)
            self._loaded_at = self._clock()

    labels = Loaded(None, radius_m)
    await labels.reload()
    pairs = list(zip(*[iter(_points(lookups * 2, random.Random(7)))] * 2, strict=True))
    started = time.perf_counter()
    for pair in pairs:
        await labels.label_points(pair)
    spent = time.perf_counter() - started
    print(f"{lookups:,} quotes' labels (label_points, 2 points each): {spent * 1000:.2f} ms "
          f"({spent / lookups * 1e6:.1f} µs a quote)")  # fmt: skip


async def bench_quotes(count: int) -> None:
    from hexfleet.devtools.testing import create_database, drop_database
    from hexfleet.migrate import migrate
    from hexfleet.places import queries as place_queries
    from hexfleet.rides import queries as ride_queries
    from hexfleet.rides import quotes
    from hexfleet.rides.context import Rides
    from hexfleet.rides.routes import Router
    from hexfleet.rides.surge_index import SurgeIndex
    from hexfleet.settings import Settings
    from hexfleet.tracking.store import LiveStore
    from hexfleet.users import queries as user_queries

    env = Settings.from_env()
    env.require_database()
    name = f"hexfleet_bench_places_{uuid.uuid4().hex[:8]}"
    url = await create_database(env.database_url, name)
    from redis.asyncio import Redis

    redis = Redis.from_url(env.redis_url)
    try:
        await migrate(url)
        settings = env.with_(database_url=url)
        pool = await asyncpg.create_pool(url, min_size=2, max_size=4)
        async with pool.acquire() as conn:
            for fare in DEMO_FARES:
                await ride_queries.put_fare(conn, fare, None)
            await place_queries.add_missing_places(conn, DEMO_PLACES)
            user = await user_queries.create_user(conn, "bench@example.org", "x", "customer")
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
        labels = live.PlaceLabels(pool, settings.place_label_radius_m)
        await labels.reload()
        contexts = {"without labels": Rides(**common), "with labels": Rides(**common, labels=labels)}  # type: ignore[arg-type]
        rng = random.Random(3)
        timings: dict[str, list[float]] = {k: [] for k in contexts}
        labelled = 0
        for i in range(count * 2 + 20):
            kind = list(contexts)[(i + i // 2) % 2]  # without, with, with, without, ...: neither always first
            pickup, dropoff = _points(2, rng)
            started = time.perf_counter()
            quote = await quotes.make_quote(contexts[kind], user.id, quotes.QuoteRequest(pickup, dropoff))
            if i >= 20:  # the first ones warm the pool and the caches up
                timings[kind].append(time.perf_counter() - started)
                labelled += quote.pickup_label is not None
        print(f"{count:,} quotes each way, alternating ({labelled} ends labelled):")
        for kind, spent in timings.items():
            spent.sort()
            print(
                f"  {kind:<15} median {statistics.median(spent) * 1000:.3f} ms, "
                f"p90 {spent[int(len(spent) * 0.9)] * 1000:.3f} ms"
            )
        await router.close()
        await pool.close()
    finally:
        await redis.aclose()
        await drop_database(env.database_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--places", default="21,1000,5000", help="index sizes, comma-separated")
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--radius", type=float, default=150.0)
    parser.add_argument("--quotes", type=int, default=0, help="also time this many quotes each way")
    args = parser.parse_args()
    bench_lookups([int(n) for n in args.places.split(",")], args.lookups, args.radius)
    asyncio.run(bench_label_points(args.lookups, args.radius))
    if args.quotes:
        asyncio.run(bench_quotes(args.quotes))


if __name__ == "__main__":
    main()
