"""Apply numbered SQL files from migrations/ in order.

Each file runs in its own transaction and is recorded in ``schema_migrations``. A
session-level advisory lock serialises concurrent runners (several web instances
starting at once, or the Procfile ``release`` step racing a developer), so running
this any number of times, concurrently or not, applies each file exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from hexfleet.settings import ROOT

MIGRATIONS_DIR = ROOT / "migrations"
# An arbitrary constant: the advisory lock key that means "hexfleet migrations".
LOCK_KEY = 7_402_915_118
_NAME = re.compile(r"^(\d{3,})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file name must look like 001_name.sql: {path.name}")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations share number {version}: {found[version].name}, {path.name}")
        found[version] = Migration(version, path.name, path)
    return [found[v] for v in sorted(found)]


async def migrate(
    dsn: str, directory: Path = MIGRATIONS_DIR, log: Callable[[str], None] = lambda _m: None
) -> list[str]:
    """Apply pending migrations; returns the names applied by this call."""
    migrations = discover(directory)
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            for m in migrations:
                if m.version in done:
                    continue
                log(f"applying {m.name}")
                async with conn.transaction():
                    await conn.execute(m.path.read_text())
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name
                    )
                applied_now.append(m.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    finally:
        await conn.close()
    return applied_now
