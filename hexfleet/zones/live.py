"""This process's zones: the in-memory cover of the active zones, kept current.

Whoever changes zones announces it on a Redis channel (``announce``); every process listening
(``follow_changes``) covers them again at once. A lost announcement (Redis away for a moment) is
bounded by REFRESH_EVERY_S: a cover older than that is rebuilt in the background by the next
lookup, which meanwhile answers from the one it has. A lookup never waits for PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from hexfleet.keys import ZONES_CHANNEL
from hexfleet.zones import queries
from hexfleet.zones.cover import CoveredZone, ZoneHit, ZoneIndex
from hexfleet.zones.geometry import parse
from hexfleet.zones.rules import check_rules

log = logging.getLogger("hexfleet.zones")

REFRESH_EVERY_S = 300.0
RETRY_S = 5.0  # after a failed reload


def build_index(zones: Iterable[queries.Zone]) -> ZoneIndex:
    """The cover of these zones (the active ones, as the caller chose). A stored zone that no
    longer passes the checks (written around the API) is left out and logged, not fatal."""
    covered = []
    for zone in zones:
        errors: dict[str, str] = {}
        rules = check_rules(zone.kind, zone.rules, errors)
        try:
            shape = parse(zone.geometry)
        except ValueError as error:
            errors["geometry"] = str(error)
        if errors:
            log.warning("zone %s (%s) is left out of the cover: %s", zone.id, zone.name, errors)
            continue
        covered.append(CoveredZone(ZoneHit(zone.id, zone.name, zone.kind, zone.color, rules), shape))
    return ZoneIndex(covered)


async def announce(redis) -> None:
    """Tell every process that zones changed. Never raises: the change is committed, and a
    process that misses this rebuilds within REFRESH_EVERY_S anyway."""
    try:
        await redis.publish(ZONES_CHANNEL, "changed")
    except Exception as error:
        log.warning("could not announce a change of zones (%s); others reload within %.0f s", error, REFRESH_EVERY_S)


class LiveZones:
    def __init__(
        self, pool, refresh_every_s: float = REFRESH_EVERY_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.pool = pool
        self.refresh_every_s = refresh_every_s
        self._clock = clock
        self.index = ZoneIndex(())
        self._loaded_at: float | None = None  # None: never loaded
        self._reloading: asyncio.Task | None = None
        self._again = False
        self.reloads = 0  # completed (tests, diagnostics)

    async def reload(self) -> None:
        """Read the active zones again and swap the cover in (one assignment: a lookup sees the
        old cover or the new one, never half of either)."""
        started = self._clock()
        async with self.pool.acquire() as conn:
            zones = await queries.active_for_index(conn)
        # 200 zones take ~1.5 s to cover: in a thread, so requests meanwhile are not held up
        # for long (the GIL is handed back every few milliseconds).
        self.index = await asyncio.to_thread(build_index, zones)
        self._loaded_at = started
        self.reloads += 1

    def _refresh_if_old(self) -> None:
        loaded = self._loaded_at
        if loaded is None or self._clock() - loaded >= self.refresh_every_s:
            self.reload_soon()

    def reload_soon(self) -> None:
        """Reload in the background; asked again while a reload runs, it reloads once more after
        it: a burst of changes costs two reads, not one per change."""
        self._again = True
        if self._reloading is None or self._reloading.done():
            self._reloading = asyncio.get_running_loop().create_task(self._reload_while_asked(), name="reload zones")

    async def _reload_while_asked(self) -> None:
        while self._again:
            self._again = False
            try:
                await self.reload()
            except Exception as error:  # PostgreSQL away: keep the cover we have, try again later
                log.warning("could not reload zones (%s)", type(error).__name__)
                self._loaded_at = self._clock() - self.refresh_every_s + RETRY_S  # not at every lookup
                return

    @property
    def loaded(self) -> bool:
        return self._loaded_at is not None

    def current(self) -> ZoneIndex:
        """The cover to answer from (microseconds a point); an old one asks for a rebuild."""
        self._refresh_if_old()
        return self.index

    def zones_at(self, lat: float, lng: float) -> list[ZoneHit]:
        return self.current().zones_at(lat, lng)

    async def close(self) -> None:
        if self._reloading is not None:
            self._reloading.cancel()
            await asyncio.gather(self._reloading, return_exceptions=True)


async def subscribe(subscriber):
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(ZONES_CHANNEL)
    return pubsub


async def follow_changes(subscriber, zones: LiveZones, pubsub) -> None:
    """Rebuild ``zones`` whenever any process announces a change (run as a task; ``pubsub`` is
    subscribed before the first load, so no change between the two is missed)."""
    while True:
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    zones.reload_soon()
        except asyncio.CancelledError:
            await pubsub.aclose()
            raise
        except Exception:
            log.warning("zones channel lost; resubscribing", exc_info=True)
            zones.reload_soon()  # we may have missed an announcement
            await asyncio.sleep(1)
            try:
                pubsub = await subscribe(subscriber)
            except Exception:
                log.warning("resubscribing to the zones channel failed; retrying", exc_info=True)
