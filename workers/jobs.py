"""Thin jobs: each re-reads state from the database, so running one twice is harmless."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from hexfleet.tracking import queries as history

log = logging.getLogger("hexfleet.worker")


async def prune_history(ctx) -> int:
    """Delete position history older than HISTORY_RETENTION_DAYS."""
    settings = ctx["settings"]
    cutoff = datetime.now(UTC) - timedelta(days=settings.history_retention_days)
    async with ctx["db"].acquire() as conn:
        deleted = await history.prune_before(conn, cutoff)
    log.info("pruned %d positions older than %s", deleted, cutoff.isoformat())
    return deleted
