"""PostgreSQL connection pool."""

from __future__ import annotations

import asyncpg

from hexfleet.settings import Settings


async def create_pool(settings: Settings, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    settings.require_database()
    return await asyncpg.create_pool(settings.database_url, min_size=min_size, max_size=max_size, command_timeout=30)
