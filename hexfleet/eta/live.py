"""The learned speeds each web and worker process keeps in memory: a quote or an offer reads
them without a round trip; a background task reloads them every LEARNED_SPEEDS_REFRESH_S."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from hexfleet.eta import queries as q
from hexfleet.eta.table import SpeedTable
from hexfleet.settings import Settings

log = logging.getLogger("hexfleet.eta")


class LiveSpeeds:
    """``table``: None until loaded, and always None with LEARNED_SPEEDS off (estimates then
    drive at AVERAGE_SPEED_KMH). Replaced whole on reload, so a reader never sees half a table."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.table: SpeedTable | None = None
        self._task: asyncio.Task | None = None

    async def reload(self, pool: asyncpg.Pool) -> None:
        s = self.settings
        if not s.learned_speeds:
            return
        async with pool.acquire() as conn:
            rows = await q.learned_rows(conn, s.learned_speeds_min_passes)
        self.table = SpeedTable.from_rows(rows, s.average_speed_kmh, s.speed_zone(), s.learned_speeds_min_passes)

    def start(self, pool: asyncpg.Pool) -> None:
        """Reload now and every LEARNED_SPEEDS_REFRESH_S until ``stop`` (a failed reload keeps
        the table it had and is logged)."""
        if self.settings.learned_speeds and self._task is None:
            self._task = asyncio.create_task(self._refresh(pool), name="learned speeds")

    async def _refresh(self, pool: asyncpg.Pool) -> None:
        while True:
            try:
                await self.reload(pool)
            except Exception as error:
                log.warning("could not reload learned speeds (%s); keeping the ones loaded", type(error).__name__)
            await asyncio.sleep(self.settings.learned_speeds_refresh_s)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
