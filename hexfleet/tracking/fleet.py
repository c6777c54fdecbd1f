"""The read model the APIs and the control room show: drivers joined with live state."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.duty import waiting_for_gps
from hexfleet.geo import cells_within, haversine_m
from hexfleet.settings import Settings
from hexfleet.tracking.status import counts, liveness
from hexfleet.tracking.store import LiveFix, LiveStore


@dataclass(frozen=True)
class DriverView:
    id: int
    name: str
    phone: str | None
    vehicle_plate: str | None
    status: str  # duty status
    online: bool
    stale: bool
    lat: float | None
    lng: float | None
    ts: datetime | None  # device time of the last fix
    last_seen: datetime | None  # server time of the last fix
    speed_mps: float | None
    heading: float | None
    battery: float | None
    last_problem: str | None = None  # last rejected or flagged reason (hexfleet.tracking.filters)
    last_problem_at: datetime | None = None
    # Available by choice, but no fresh fix (no phone sending): counted, listed and offered
    # nothing as available until a fix arrives.
    waiting_for_gps: bool = False

    def to_json(self) -> dict:
        data = asdict(self)
        for key in ("ts", "last_seen", "last_problem_at"):
            data[key] = data[key].isoformat().replace("+00:00", "Z") if data[key] else None
        return data


@dataclass(frozen=True)
class Fleet:
    drivers: list[DriverView]
    counts: dict[str, int]


def _dt(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts is not None else None


def _view(driver, fix: LiveFix | None, now: float, stale_after_s: float) -> DriverView:
    online, stale = liveness(fix.received_at if fix else None, now, stale_after_s)
    return DriverView(
        id=driver.id,
        name=driver.name,
        phone=driver.phone,
        vehicle_plate=driver.vehicle_plate,
        status=driver.status,
        online=online,
        stale=stale,
        lat=fix.lat if fix else None,
        lng=fix.lng if fix else None,
        ts=_dt(fix.ts) if fix else None,
        last_seen=_dt(fix.received_at) if fix else None,
        speed_mps=fix.speed_mps if fix else None,
        heading=fix.heading if fix else None,
        battery=fix.battery if fix else None,
        last_problem=fix.problem if fix else None,
        last_problem_at=_dt(fix.problem_at) if fix else None,
        waiting_for_gps=waiting_for_gps(driver.status, online),
    )


async def fleet_snapshot(pool, redis, settings: Settings) -> Fleet:
    async with pool.acquire() as conn:
        drivers = await driver_queries.list_drivers(conn)
    store = LiveStore(redis, settings.h3_resolution)
    fixes = await store.fixes([d.id for d in drivers])
    now = time.time()
    views = [_view(d, fixes.get(d.id), now, settings.stale_after_s) for d in drivers]
    return Fleet(views, counts(views))


async def get_driver_view(pool, redis, settings: Settings, driver_id: int) -> DriverView:
    async with pool.acquire() as conn:
        driver = await driver_queries.get_driver(conn, driver_id)  # raises NotFound
    fixes = await LiveStore(redis, settings.h3_resolution).fixes([driver_id])
    return _view(driver, fixes.get(driver_id), time.time(), settings.stale_after_s)


@dataclass(frozen=True)
class NearbyDriver:
    id: int
    name: str
    vehicle_plate: str | None
    lat: float
    lng: float
    distance_m: float
    last_seen: datetime
    speed_mps: float | None
    heading: float | None


async def available_within(
    store: LiveStore, lat: float, lng: float, radius_m: float, stale_after_s: float, now: float | None = None
) -> list[tuple[float, LiveFix]]:
    """Available drivers with a fresh fix within ``radius_m`` (H3 index, then exact distance),
    nearest first; ties by driver id."""
    candidates = await store.candidates_in_cells(cells_within(lat, lng, radius_m, store.resolution))
    fixes = await store.fixes(sorted(candidates))
    fresh_after = (time.time() if now is None else now) - stale_after_s
    ranked = sorted(
        (
            (haversine_m(lat, lng, f.lat, f.lng), f)
            for f in fixes.values()
            if f.received_at >= fresh_after  # the sweep runs every few seconds; be exact at read time too
        ),
        # Ties (two phones at one depot) go by driver id: never compare the LiveFix objects.
        key=lambda pair: (pair[0], pair[1].driver_id),
    )
    return [(d, f) for d, f in ranked if d <= radius_m]


async def nearby(
    pool, redis, settings: Settings, lat: float, lng: float, radius_m: float, limit: int
) -> list[NearbyDriver]:
    """Online, available drivers within radius_m, nearest first, from the H3 index."""
    store = LiveStore(redis, settings.h3_resolution)
    ranked = (await available_within(store, lat, lng, radius_m, settings.stale_after_s))[:limit]
    if not ranked:
        return []
    async with pool.acquire() as conn:
        names = {d.id: d for d in await driver_queries.get_drivers(conn, [f.driver_id for _, f in ranked])}
    return [
        NearbyDriver(
            f.driver_id,
            names[f.driver_id].name,
            names[f.driver_id].vehicle_plate,
            f.lat,
            f.lng,
            round(d, 1),
            datetime.fromtimestamp(f.received_at, UTC),
            f.speed_mps,
            f.heading,
        )
        for d, f in ranked
        if f.driver_id in names
    ]
