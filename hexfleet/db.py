"""PostgreSQL connection pool."""

from __future__ import annotations

import asyncpg

from hexfleet.settings import Settings


async def create_pool(settings: Settings, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    settings.require_database()
    # timeout: a new connection to a server that does not answer (a partition, not a refusal)
    # fails in 5 s instead of asyncpg's 60, so requests answer 503 instead of hanging.
    return await asyncpg.create_pool(
        settings.database_url, min_size=min_size, max_size=max_size, command_timeout=30, timeout=5
    )


def contains_pattern(text: str) -> str:
    """A LIKE/ILIKE pattern (``ESCAPE '\\'``) matching ``text`` anywhere, its own % and _ literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
