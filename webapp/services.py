"""The core's workflows, bound to this web process's pool, live store and publisher.

Workflows in ``hexfleet`` take what they touch as arguments (so the worker and the tests
call the same code); views call them through here instead of reaching into
``app.extensions`` themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine

from arq import create_pool as create_arq_pool
from arq.connections import RedisSettings
from quart import current_app

from hexfleet.drivers import duty
from hexfleet.eta.live import LiveSpeeds
from hexfleet.places import live
from hexfleet.places.geocoding import ReverseGeocoder
from hexfleet.places.labels import Label
from hexfleet.rides import dispatch
from hexfleet.rides.context import Rides
from hexfleet.rides.leases import Leases
from hexfleet.rides.routes import Router
from hexfleet.rides.surge_index import SurgeIndex
from hexfleet.zones import live as zones_live
from workers.scheduler import ArqJobs

log = logging.getLogger("hexfleet.web")

# Dispatch steps one web process runs at once. In a flood of bookings, one unbounded task
# per booking had hundreds of searches interleaved: each took seconds instead of
# milliseconds, and drivers' accept requests waited behind them past the offer's timeout.
# Eight keep the event loop and the database pool free for requests; more steps wait in
# line, in order.
DISPATCH_CONCURRENCY = 8
STOP_WAIT_S = 5.0


async def change_duty(driver_id: int, status: duty.DutyStatus) -> dict:
    ext = current_app.extensions
    return await duty.change_duty(
        ext["db"], ext["store"], ext["publisher"], driver_id, status, ext["settings"].stale_after_s
    )


async def start_places(app, settings) -> live.PlaceLabels:
    """This process's place labels: subscribed to changes first, then loaded, so a change made in
    between is not missed. PostgreSQL away at start: no labels until the first lookup reloads."""
    ext = app.extensions
    reverse = None
    if settings.geocoder_url:
        reverse = ReverseGeocoder(settings.geocoder_url, f"hexfleet/0.1 (+{settings.base_url()})")
    labels = live.PlaceLabels(ext["db"], settings.place_label_radius_m, reverse)
    ext["places"] = labels
    subscriber = ext["redis_listener"]
    pubsub = await live.subscribe(subscriber)
    ext["places_changes"] = asyncio.create_task(live.follow_changes(subscriber, labels, pubsub), name="places")
    try:
        await labels.reload()
    except Exception:
        log.warning("could not load places for labels; trying again on the first lookup", exc_info=True)
    return labels


async def stop_places(app) -> None:
    ext = app.extensions
    task = ext.pop("places_changes", None)
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    labels = ext.pop("places", None)
    if labels is not None:
        await labels.close()


async def label_points(points: list[tuple[float, float]]) -> list[Label | None]:
    """Names for positions, for any view: the nearest active place within PLACE_LABEL_RADIUS_M
    (label.text: "Alexanderplatz, 60 m"), else the geocoder's address when GEOCODER_URL is set,
    else None. From memory (microseconds a point) except for geocoder lookups, which are cached
    and bounded by a short timeout; never raises."""
    return await current_app.extensions["places"].label_points(points)


def nearest_place(lat: float, lng: float) -> Label | None:
    """The nearest active place within PLACE_LABEL_RADIUS_M, from memory only (never the
    geocoder): for what refreshes every few seconds, such as a moving driver's card."""
    return current_app.extensions["places"].nearest(lat, lng)


async def places_changed() -> None:
    """After a change of places is committed: this process's labels at once (its next quote sees
    the change), every other process by the announcement."""
    ext = current_app.extensions
    labels: live.PlaceLabels = ext["places"]
    try:
        await labels.reload()
    except Exception as error:
        log.warning("could not reload places after a change (%s)", type(error).__name__)
    await live.announce(ext["redis"])


async def start_zones(app) -> zones_live.LiveZones:
    """This process's zones: subscribed to changes first, then covered, so a change made in
    between is not missed. PostgreSQL away at start: no zones until the first lookup reloads."""
    ext = app.extensions
    zones = zones_live.LiveZones(ext["db"])
    ext["zones"] = zones
    subscriber = ext["redis_listener"]
    pubsub = await zones_live.subscribe(subscriber)
    ext["zones_changes"] = asyncio.create_task(zones_live.follow_changes(subscriber, zones, pubsub), name="zones")
    try:
        await zones.reload()
    except Exception:
        log.warning("could not load zones; trying again on the first lookup", exc_info=True)
    return zones


async def stop_zones(app) -> None:
    ext = app.extensions
    task = ext.pop("zones_changes", None)
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    zones = ext.pop("zones", None)
    if zones is not None:
        await zones.close()


def live_zones() -> zones_live.LiveZones:
    return current_app.extensions["zones"]


async def zones_changed() -> None:
    """After a change of zones is committed: this process's cover at once (its next quote sees
    the change), every other process by the announcement."""
    ext = current_app.extensions
    zones: zones_live.LiveZones = ext["zones"]
    try:
        await zones.reload()
    except Exception as error:
        log.warning("could not reload zones after a change (%s)", type(error).__name__)
    await zones_live.announce(ext["redis"])


async def start_rides(app, settings, redis, store) -> None:
    """The rides context of this process (before serving)."""
    ext = app.extensions
    labels = await start_places(app, settings)
    zones = await start_zones(app)
    ext["arq"] = arq = await create_arq_pool(RedisSettings.from_dsn(settings.redis_url))
    metrics = ext["metrics"]
    ext["speeds"] = speeds = LiveSpeeds(settings)
    speeds.start(ext["db"])  # learned speeds in memory: estimates never wait on PostgreSQL
    ext["router"] = router = Router(
        settings.routing_url,
        settings.routing_timeout_s,
        settings.estimate_rules(),
        metrics.routing_fallbacks.inc,
        speeds,
    )
    ext["rides"] = Rides(
        pool=ext["db"],
        store=store,
        surge=SurgeIndex(redis, settings.surge_resolution),
        duty=ext["publisher"],
        jobs=ArqJobs(arq),
        settings=settings,
        router=router,
        labels=labels,
        zones=zones,
    )
    ext["background"] = set()
    try:
        # Drivers indexed by a version before hf:geo existed are found by dispatch at once,
        # not only after their next fix (the tracker's start-up duty sync fills it too).
        await store.repair_geo()
    except Exception:
        log.warning("could not check the GEO index of available drivers", exc_info=True)
    ext["dispatch_queue"] = DispatchQueue(
        lambda booking_id: dispatch.offer_next(ext["rides"], booking_id), Leases(redis)
    )


async def stop_rides(app) -> None:
    ext = app.extensions
    queue: DispatchQueue | None = ext.pop("dispatch_queue", None)
    if queue is not None:
        await queue.close(STOP_WAIT_S)
    pending = ext.pop("background", set())
    if pending:
        await asyncio.wait(pending, timeout=STOP_WAIT_S)  # steps already running finish; reconcile covers the rest
    await stop_places(app)
    await stop_zones(app)
    for name, closer in (("speeds", "stop"), ("router", "close"), ("arq", "aclose")):
        resource = ext.pop(name, None)
        if resource is not None:
            try:
                await getattr(resource, closer)()
            except Exception:
                log.warning("closing %s failed", name, exc_info=True)


def rides() -> Rides:
    return current_app.extensions["rides"]


def in_background(work: Coroutine, what: str) -> None:
    """Run a dispatch step after the response: the client does not wait for it, and a
    failure is logged (the worker's reconcile job repeats what a lost step would have done)."""
    tasks: set[asyncio.Task] = current_app.extensions["background"]

    async def guarded() -> None:
        try:
            await work
        except Exception:
            log.exception("%s failed; reconcile will retry it", what)

    task = asyncio.create_task(guarded(), name=what)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


class DispatchQueue:
    """This process's dispatch steps after the response: first come, first served, at most
    ``limit`` at a time.

    Each booking is marked with a dispatch lease while it waits and runs, so the worker's
    reconcile job does not resume it too. A booking already waiting is not queued twice
    (its step reads the booking when it starts); one whose step is running is, since the
    step may have read it before the change that asked for another.
    """

    def __init__(self, run: Callable[[int], Awaitable[object]], leases: Leases, limit: int = DISPATCH_CONCURRENCY):
        self._run = run
        self._leases = leases
        self.limit = limit
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._waiting: dict[int, asyncio.Task[str | None]] = {}  # booking id → its lease being taken
        self._workers: list[asyncio.Task] = []  # started with the first step (they need the running loop)
        self.running = 0
        self.peak = 0  # most steps running at once (tests, diagnostics)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def idle(self) -> bool:
        return not self._waiting and not self.running

    def submit(self, booking_id: int) -> None:
        if booking_id in self._waiting:
            return
        self._waiting[booking_id] = asyncio.create_task(self._hold(booking_id))
        self._queue.put_nowait(booking_id)
        if not self._workers:
            self._workers = [asyncio.create_task(self._work(), name=f"dispatch {n}") for n in range(self.limit)]

    async def _hold(self, booking_id: int) -> str | None:
        try:
            return await self._leases.hold(booking_id)
        except Exception:  # only a hint for reconcile: dispatch goes on without it
            log.warning("could not mark the dispatch of booking %s", booking_id, exc_info=True)
            return None

    async def _release(self, booking_id: int, marking: asyncio.Task[str | None]) -> None:
        token = await marking
        if token is None:
            return
        try:
            await self._leases.release(booking_id, token)
        except Exception:  # the lease expires by itself
            log.warning("could not release the dispatch lease of booking %s", booking_id, exc_info=True)

    async def _work(self) -> None:
        while True:
            booking_id = await self._queue.get()
            marking = self._waiting.pop(booking_id)
            self.running += 1
            self.peak = max(self.peak, self.running)
            try:
                await asyncio.shield(marking)  # marked before it runs (a Redis round trip, usually done)
                await self._run(booking_id)
            except Exception:
                log.exception("dispatch of booking %s failed; reconcile will retry it", booking_id)
            finally:
                self.running -= 1
                await self._release(booking_id, marking)
                self._queue.task_done()

    async def close(self, wait_s: float) -> None:
        """Drop the steps still waiting (their leases are released, so reconcile resumes them at
        once); give the running ones ``wait_s`` seconds to finish."""
        while not self._queue.empty():
            booking_id = self._queue.get_nowait()
            self._queue.task_done()
            await self._release(booking_id, self._waiting.pop(booking_id))
        try:
            await asyncio.wait_for(self._queue.join(), wait_s)
        except TimeoutError:
            log.warning("%d dispatch steps still running at shutdown; reconcile will repeat them", self.running)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)


def dispatch_soon(booking_id: int) -> None:
    """Offer the booking to a driver after the response (the client does not wait for it)."""
    current_app.extensions["dispatch_queue"].submit(booking_id)
