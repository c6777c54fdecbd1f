"""This process's place labels: the in-memory index of active places, kept current, and the
geocoder's reverse lookup for positions no place is near.

Whoever changes places announces it on a Redis channel (``announce``); every process listening
(``follow_changes``) reloads its index at once. A lost announcement (Redis away for a moment) is
bounded by REFRESH_EVERY_S: an index older than that is reloaded in the background by the next
lookup, which meanwhile answers from the one it has. A lookup never waits for PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from hexfleet.keys import PLACES_CHANNEL
from hexfleet.places import queries
from hexfleet.places.geocoding import ReverseGeocoder
from hexfleet.places.labels import GEOCODER, Label, PlaceIndex

log = logging.getLogger("hexfleet.places")

REFRESH_EVERY_S = 300.0
RETRY_S = 5.0  # after a failed reload


async def announce(redis) -> None:
    """Tell every process that places changed. Never raises: the change is committed, and a
    process that misses this reloads within REFRESH_EVERY_S anyway."""
    try:
        await redis.publish(PLACES_CHANNEL, "changed")
    except Exception as error:
        log.warning("could not announce a change of places (%s); others reload within %.0f s", error, REFRESH_EVERY_S)


class PlaceLabels:
    def __init__(
        self,
        pool,
        radius_m: float,
        reverse: ReverseGeocoder | None = None,
        refresh_every_s: float = REFRESH_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pool = pool
        self.radius_m = radius_m
        self.reverse = reverse
        self.refresh_every_s = refresh_every_s
        self._clock = clock
        self.index = PlaceIndex((), radius_m)
        self._loaded_at: float | None = None  # None: never loaded
        self._reloading: asyncio.Task | None = None
        self._again = False
        self.reloads = 0  # completed (tests, diagnostics)

    async def reload(self) -> None:
        """Read the active places again and swap the index in (one assignment: a lookup sees the
        old index or the new one, never half of either)."""
        started = self._clock()
        async with self.pool.acquire() as conn:
            places = await queries.active_for_labels(conn)
        # 10,000 places take ~70 ms to file: in a thread, so requests meanwhile are not held up.
        self.index = await asyncio.to_thread(PlaceIndex, places, self.radius_m)
        self._loaded_at = started
        self.reloads += 1

    def _refresh_if_old(self) -> None:
        loaded = self._loaded_at
        if loaded is None or self._clock() - loaded >= self.refresh_every_s:
            self.reload_soon()

    def reload_soon(self) -> None:
        """Reload in the background. Asked again while a reload runs, it reloads once more after
        it: a burst of changes costs two reads, not one per change."""
        self._again = True
        if self._reloading is None or self._reloading.done():
            self._reloading = asyncio.get_running_loop().create_task(self._reload_while_asked(), name="reload places")

    async def _reload_while_asked(self) -> None:
        while self._again:
            self._again = False
            try:
                await self.reload()
            except Exception as error:  # PostgreSQL away: keep the index we have, try again later
                log.warning("could not reload places for labels (%s)", type(error).__name__)
                self._loaded_at = self._clock() - self.refresh_every_s + RETRY_S  # not at every lookup
                return

    def nearest(self, lat: float, lng: float) -> Label | None:
        """The nearest active place within the radius, from memory (microseconds)."""
        self._refresh_if_old()
        return self.index.nearest(lat, lng)

    async def label_points(self, points: Sequence[tuple[float, float]]) -> list[Label | None]:
        """A label for each point: the nearest place; else, with a geocoder, its address (looked up
        at once for all of them, each at most the geocoder's timeout); else None. Never raises."""
        labels = [self.nearest(lat, lng) for lat, lng in points]
        reverse = self.reverse
        missing = [i for i, label in enumerate(labels) if label is None]
        if reverse is None or not missing:
            return labels
        keys = list(dict.fromkeys(reverse.key(*points[i]) for i in missing))  # each place asked once
        found = dict(zip(keys, await asyncio.gather(*(reverse.lookup(*k) for k in keys)), strict=True))
        for i in missing:
            address = found.get(reverse.key(*points[i]))
            if address:
                labels[i] = Label(address, None, None, GEOCODER)
        return labels

    async def close(self) -> None:
        if self._reloading is not None:
            self._reloading.cancel()
            await asyncio.gather(self._reloading, return_exceptions=True)
        if self.reverse is not None:
            await self.reverse.close()


async def subscribe(subscriber):
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(PLACES_CHANNEL)
    return pubsub


async def follow_changes(subscriber, labels: PlaceLabels, pubsub) -> None:
    """Reload ``labels`` whenever any process announces a change (run as a task; ``pubsub`` is
    subscribed before the first load, so no change between the two is missed)."""
    while True:
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    labels.reload_soon()
        except asyncio.CancelledError:
            await pubsub.aclose()
            raise
        except Exception:
            log.warning("places channel lost; resubscribing", exc_info=True)
            labels.reload_soon()  # we may have missed an announcement
            await asyncio.sleep(1)
            try:
                pubsub = await subscribe(subscriber)
            except Exception:
                log.warning("resubscribing to the places channel failed; retrying", exc_info=True)
