"""Who the simulator acts as: the demo drivers (device tokens) and the demo riders'
customer accounts (API tokens).

Both are prepared directly in PostgreSQL, with the app's own queries, before the first request.
The riders are simulated customers of their own, never the demo rider a person signs in as
(``rider@hexfleet.local``), whose "My rides" then holds only what that person booked.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, replace

import asyncpg

from hexfleet import security
from hexfleet.devtools.sim.demand import fleet_classes
from hexfleet.drivers import queries, revocation
from hexfleet.errors import Conflict
from hexfleet.tracking import queries as history
from hexfleet.users import queries as users

DEMO_PREFIX = "Demo Driver "
# Simulated customers (passwords nobody knows) book the rides, spread over several accounts:
# the platform limits bookings per customer (RATE_BOOKINGS), and a city has many riders.
SIM_RIDER_DOMAIN = "@simulated-riders.hexfleet.local"
TOKEN_LABEL = "hexfleet simulate"


def sim_rider_email(n: int) -> str:
    return f"rider-{n:03d}{SIM_RIDER_DOMAIN}"


def demo_name(n: int) -> str:
    return f"{DEMO_PREFIX}{n:02d}"


def demo_plate(n: int) -> str:
    return f"HF-DEMO-{n:02d}"


@dataclass(frozen=True)
class DemoDriver:
    name: str
    driver_id: int
    token: str
    # (lat, lng, heading) of its newest stored fix: a restarted demo resumes there.
    last: tuple[float, float, float | None] | None = None
    vehicle_class: str = "standard"


async def prepare_drivers(dsn: str, count: int) -> tuple[list[DemoDriver], int]:
    """Create the missing demo drivers and issue every one a fresh token (only hashes are
    stored, so a reused driver's old token cannot be recovered). Returns (drivers, created).

    Their vehicles get the demo fleet's class mix (demand.CLASS_MIX), reused drivers too.
    New drivers start off duty: each goes available when its simulated phone starts
    (driving.DriverAgent), as a real driver does.

    A reused driver's old device is revoked; announce_revocations() then tells the web
    processes, like every other revocation.
    """
    conn = await asyncpg.connect(dsn, timeout=10)
    drivers, created = [], 0
    classes = fleet_classes(count)
    try:
        async with conn.transaction():
            # Two simulators starting at once must not both create "Demo Driver 01".
            await queries.lock_driver_creation(conn)
            existing: dict[str, queries.Driver] = {}
            for driver in await queries.find_drivers_by_name_prefix(conn, DEMO_PREFIX):
                existing.setdefault(driver.name, driver)  # oldest first
            for n in range(1, count + 1):
                found = existing.get(demo_name(n))
                if found is None:
                    try:
                        driver = await queries.create_driver(conn, demo_name(n), None, demo_plate(n))
                    except Conflict:  # someone else drives that plate: go without one
                        driver = await queries.create_driver(conn, demo_name(n))
                    created += 1
                else:
                    driver = found
                    await queries.revoke_devices(conn, driver.id)
                device = await queries.issue_device(conn, driver.id)
                # A driver without a vehicle (its plate was taken) drives as standard.
                has_vehicle = await queries.set_vehicle_class(conn, driver.id, classes[n - 1])
                vehicle_class = classes[n - 1] if has_vehicle else "standard"
                drivers.append(DemoDriver(driver.name, driver.id, device.token, vehicle_class=vehicle_class))
            last = await history.last_positions(conn, [d.driver_id for d in drivers])
            drivers = [replace(d, last=last.get(d.driver_id)) for d in drivers]
    finally:
        await conn.close()
    return drivers, created


async def announce_revocations(redis_url: str, drivers: list[DemoDriver]) -> None:
    """Tell every web process that these drivers' old devices are revoked (hexfleet.drivers.
    revocation), so the old tokens stop at once rather than after AUTH_CACHE_TTL_S. New
    drivers are announced too: harmless, and it needs no bookkeeping."""
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await revocation.announce_many(redis, [d.driver_id for d in drivers])
    finally:
        await redis.aclose()


async def prepare_riders(dsn: str, count: int) -> list[tuple[str, str]]:
    """(email, Bearer API token) of ``count`` simulated customers for the demo riders
    (created on first use, reused after)."""
    conn = await asyncpg.connect(dsn, timeout=10)
    riders: list[users.User] = []
    try:
        password_hash = None
        n = 0
        while len(riders) < count:
            n += 1
            found = await users.get_user_by_email(conn, sim_rider_email(n))
            if found is None:
                # One random password nobody is told, for all: they book through API tokens only.
                if password_hash is None:
                    password_hash = await asyncio.to_thread(security.hash_password, secrets.token_urlsafe(24))
                riders.append(await _create_rider(conn, sim_rider_email(n), password_hash))
            else:
                riders.append(found)
        # Earlier runs' tokens stay valid: a second simulator may be booking as the same riders.
        return [(user.email, await users.create_api_token(conn, user.id, TOKEN_LABEL)) for user in riders]
    finally:
        await conn.close()


async def _create_rider(conn, email: str, password_hash: str) -> users.User:
    try:
        return await users.create_user(conn, email, password_hash, "customer")
    except Conflict:  # another simulator created it meanwhile: use that one
        found = await users.get_user_by_email(conn, email)
        if found is None:  # created and deleted in between: give up with a clear message
            raise
        return found
