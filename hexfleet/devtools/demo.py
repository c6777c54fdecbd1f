"""`hexfleet seed-demo`: create the demo logins and fares, skipping the ones that exist.

The passwords are public (they are printed by `hexfleet dev`): for local demos only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from hexfleet import security
from hexfleet.errors import Conflict
from hexfleet.rides import queries as ride_queries
from hexfleet.rides.fares import Fare
from hexfleet.settings import SettingsError
from hexfleet.users import queries

# (email, password, role)
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("dispatcher@hexfleet.local", "dispatch-demo", "dispatcher"),
    ("admin@hexfleet.local", "admin-demo", "admin"),
    ("rider@hexfleet.local", "ride-demo", "customer"),
]

# Euro fares in cents, roughly a European city's taxi tariff; admins change them with
# PUT /api/v1/fares/{class} or `hexfleet fares set`.
DEMO_FARES = [
    Fare("standard", "EUR", base_minor=250, per_km_minor=135, per_minute_minor=30, booking_fee_minor=100,
         minimum_minor=700),
    Fare("comfort", "EUR", base_minor=350, per_km_minor=180, per_minute_minor=40, booking_fee_minor=100,
         minimum_minor=1000),
    Fare("xl", "EUR", base_minor=450, per_km_minor=210, per_minute_minor=45, booking_fee_minor=100,
         minimum_minor=1200),
    Fare("van", "EUR", base_minor=600, per_km_minor=240, per_minute_minor=50, booking_fee_minor=150,
         minimum_minor=1500),
]  # fmt: skip


def configure(parser) -> None:
    pass


async def seed_demo(dsn: str, log: Callable[[str], None] = lambda _m: None) -> list[str]:
    """Create the missing demo logins; returns the emails created by this call."""
    created: list[str] = []
    conn = await asyncpg.connect(dsn)
    try:
        for email, password, role in DEMO_LOGINS:
            if await queries.get_login(conn, email) is not None:
                log(f"{email} exists, skipped")
                continue
            password_hash = await asyncio.to_thread(security.hash_password, password)
            try:
                await queries.create_user(conn, email, password_hash, role)
            except Conflict:  # a concurrent seed created it meanwhile: same outcome
                log(f"{email} exists, skipped")
                continue
            log(f"created {role} {email}")
            created.append(email)
        existing = {f.vehicle_class for f in await ride_queries.list_fares(conn)}
        for fare in DEMO_FARES:
            if fare.vehicle_class not in existing:  # an admin's fare is never overwritten
                await ride_queries.put_fare(conn, fare, None)
                log(f"fare for {fare.vehicle_class} set")
    finally:
        await conn.close()
    return created


def run(args, settings) -> int:
    if not settings.database_url:
        raise SettingsError("DATABASE_URL not set. Run `hexfleet dev`, or point it at PostgreSQL.")
    created = asyncio.run(seed_demo(settings.database_url, log=lambda m: print(f"seed: {m}")))
    print(f"seed: {len(created)} demo logins created (demo passwords: never use them in production)")
    return 0
