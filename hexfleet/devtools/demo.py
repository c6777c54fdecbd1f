"""`hexfleet seed-demo`: create the demo logins, skipping the ones that exist.

The passwords are public (they are printed by `hexfleet dev`): for local demos only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from hexfleet import security
from hexfleet.errors import Conflict
from hexfleet.settings import SettingsError
from hexfleet.users import queries

# (email, password, role)
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("dispatcher@hexfleet.local", "dispatch-demo", "dispatcher"),
    ("admin@hexfleet.local", "admin-demo", "admin"),
]


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
    finally:
        await conn.close()
    return created


def run(args, settings) -> int:
    if not settings.database_url:
        raise SettingsError("DATABASE_URL not set. Run `hexfleet dev`, or point it at PostgreSQL.")
    created = asyncio.run(seed_demo(settings.database_url, log=lambda m: print(f"seed: {m}")))
    print(f"seed: {len(created)} demo logins created (demo passwords: never use them in production)")
    return 0
