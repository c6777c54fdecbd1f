"""This web process's services, in one typed object, and the core's workflows bound to them.

``create_app`` builds one ``Services`` and keeps it on the app (``install``); views and
streams reach it through ``services()`` and take what they need from it. Workflows in
``hexfleet`` take what they touch as arguments (so the worker and the tests call the same
code); the helpers below call them with this process's pool, live store and publisher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from arq import create_pool as create_arq_pool
from arq.connections import RedisSettings
from quart import Quart, current_app

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
from hexfleet.settings import Settings
from hexfleet.zones import live as zones_live
from workers.scheduler import ArqJobs

if TYPE_CHECKING:  # the modules below import this one
    import asyncpg
    from arq.connections import ArqRedis
    from redis.asyncio import Redis

    from hexfleet.tracking.store import LiveStore
    from streaming.fanout import FanOut
    from streaming.hub import LiveHub
    from streaming.producer import ReliableProducer
    from streaming.publisher import KafkaPublisher
    from streaming.ride_fanout import RideFanOut
    from webapp.geocoder import Geocoder
    from webapp.ingest import Ingest
    from webapp.limits import Limiter
    from webapp.metrics import WebMetrics
    from webapp.ops import ReplicationCheck
    from webapp.osmand_listener import OsmAndListener

log = logging.getLogger("hexfleet.web")

# Dispatch steps one web process runs at once. In a flood of bookings, one unbounded task
# per booking had hundreds of searches interleaved: each took seconds instead of
# milliseconds, and drivers' accept requests waited behind them past the offer's timeout.
# Eight keep the event loop and the database pool free for requests; more steps wait in
# line, in order.
DISPATCH_CONCURRENCY = 8
STOP_WAIT_S = 5.0


# Where the one Services object lives on the app: the only key this package puts there.
_KEY = "hexfleet.services"


@dataclass(eq=False)
class Services:
    """Everything a view or stream of this process uses.

    ``settings`` and ``metrics`` exist from ``create_app`` on. The connections, hubs and
    workflows are opened before serving (``webapp.app``'s start-up, in its order) and are
    absent until then (reading one is an AttributeError, as a missing key was); shutdown
    takes them back one by one (``take``), in its order; what may be looked at outside
    that window (metrics, the ingest fast path) asks ``opened``. The ``None`` ones are
    optional: a setting turns them on, or the first request makes them.
    """

    settings: Settings
    metrics: WebMetrics
    # Opened before serving.
    db: asyncpg.Pool = field(init=False)
    redis: Redis = field(init=False)
    redis_listener: Redis = field(init=False)  # its own client: a subscriber waits with no deadline
    store: LiveStore = field(init=False)
    producer: ReliableProducer = field(init=False)
    publisher: KafkaPublisher = field(init=False)
    hub: LiveHub = field(init=False)  # drivers' positions, for the control room's streams
    rides_hub: LiveHub = field(init=False)  # booking and surge events, by audience
    ride_fanout: RideFanOut = field(init=False)
    arq: ArqRedis = field(init=False)
    speeds: LiveSpeeds = field(init=False)  # learned driving speeds, reloaded in the background
    router: Router = field(init=False)
    rides: Rides = field(init=False)
    places: live.PlaceLabels = field(init=False)
    places_changes: asyncio.Task = field(init=False)
    zones: zones_live.LiveZones = field(init=False)  # the zones' H3 cover, rebuilt when they change
    zones_changes: asyncio.Task = field(init=False)
    dispatch_queue: DispatchQueue = field(init=False)
    limiter: Limiter = field(init=False)
    ingest: Ingest = field(init=False)  # the ping fast path passes requests on while it is absent
    revocations: asyncio.Task = field(init=False)
    undo_stop_hook: Callable[[], None] = field(init=False)
    background: set[asyncio.Task] = field(default_factory=set)  # dispatch steps after the response
    fanout: FanOut | None = None  # set once it consumes: /readyz says "starting" until then
    geocoder: Geocoder | None = None  # with GEOCODER_URL
    osmand_listener: OsmAndListener | None = None  # with OSMAND_PORT
    kafka_replication: ReplicationCheck | None = None  # made by the first /readyz

    def opened(self, name: str) -> Any:
        """The resource ``name`` if start-up opened it (and shutdown did not take it), else None."""
        return self.__dict__.get(name)

    def take(self, name: str) -> Any:
        """Shutdown's hand: the resource ``name`` (None when it was never opened), forgotten here."""
        return self.__dict__.pop(name, None)  # an optional one reads as its default (None) again


def install(app: Quart, settings: Settings, metrics: WebMetrics) -> Services:
    """The app's one Services object (create_app)."""
    app.extensions[_KEY] = built = Services(settings, metrics)
    return built


def services(app: Quart | None = None) -> Services:
    """This web process's services (``app`` outside a request: tests, the ASGI fast path)."""
    return (current_app if app is None else app).extensions[_KEY]


async def change_duty(driver_id: int, status: duty.DutyStatus) -> dict:
    svc = services()
    return await duty.change_duty(svc.db, svc.store, svc.publisher, driver_id, status, svc.settings.stale_after_s)


async def start_places(svc: Services) -> live.PlaceLabels:
    """This process's place labels: subscribed to changes first, then loaded, so a change made in
    between is not missed. PostgreSQL away at start: no labels until the first lookup reloads."""
    settings = svc.settings
    reverse = None
    if settings.geocoder_url:
        reverse = ReverseGeocoder(settings.geocoder_url, f"hexfleet/0.1 (+{settings.base_url()})")
    labels = live.PlaceLabels(svc.db, settings.place_label_radius_m, reverse)
    svc.places = labels
    subscriber = svc.redis_listener
    pubsub = await live.subscribe(subscriber)
    svc.places_changes = asyncio.create_task(live.follow_changes(subscriber, labels, pubsub), name="places")
    try:
        await labels.reload()
    except Exception:
        log.warning("could not load places for labels; trying again on the first lookup", exc_info=True)
    return labels


async def stop_places(svc: Services) -> None:
    task = svc.take("places_changes")
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    labels = svc.take("places")
    if labels is not None:
        await labels.close()


async def label_points(points: list[tuple[float, float]]) -> list[Label | None]:
    """Names for positions, for any view: the nearest active place within PLACE_LABEL_RADIUS_M
    (label.text: "Alexanderplatz, 60 m"), else the geocoder's address when GEOCODER_URL is set,
    else None. From memory (microseconds a point) except for geocoder lookups, which are cached
    and bounded by a short timeout; never raises."""
    return await services().places.label_points(points)


def nearest_place(lat: float, lng: float) -> Label | None:
    """The nearest active place within PLACE_LABEL_RADIUS_M, from memory only (never the
    geocoder): for what refreshes every few seconds, such as a moving driver's card."""
    return services().places.nearest(lat, lng)


async def places_changed() -> None:
    """After a change of places is committed: this process's labels at once (its next quote sees
    the change), every other process by the announcement."""
    svc = services()
    try:
        await svc.places.reload()
    except Exception as error:
        log.warning("could not reload places after a change (%s)", type(error).__name__)
    await live.announce(svc.redis)


async def start_zones(svc: Services) -> zones_live.LiveZones:
    """This process's zones: subscribed to changes first, then covered, so a change made in
    between is not missed. PostgreSQL away at start: no zones until the first lookup reloads."""
    zones = zones_live.LiveZones(svc.db)
    svc.zones = zones
    subscriber = svc.redis_listener
    pubsub = await zones_live.subscribe(subscriber)
    svc.zones_changes = asyncio.create_task(zones_live.follow_changes(subscriber, zones, pubsub), name="zones")
    try:
        await zones.reload()
    except Exception:
        log.warning("could not load zones; trying again on the first lookup", exc_info=True)
    return zones


async def stop_zones(svc: Services) -> None:
    task = svc.take("zones_changes")
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    zones = svc.take("zones")
    if zones is not None:
        await zones.close()


async def zones_changed() -> None:
    """After a change of zones is committed: this process's cover at once (its next quote sees
    the change), every other process by the announcement."""
    svc = services()
    try:
        await svc.zones.reload()
    except Exception as error:
        log.warning("could not reload zones after a change (%s)", type(error).__name__)
    await zones_live.announce(svc.redis)


async def start_rides(svc: Services) -> None:
    """The rides context of this process (before serving)."""
    settings, store = svc.settings, svc.store
    labels = await start_places(svc)
    zones = await start_zones(svc)
    svc.arq = arq = await create_arq_pool(RedisSettings.from_dsn(settings.redis_url))
    svc.speeds = speeds = LiveSpeeds(settings)
    speeds.start(svc.db)  # learned speeds in memory: estimates never wait on PostgreSQL
    svc.router = router = Router(
        settings.routing_url,
        settings.routing_timeout_s,
        settings.estimate_rules(),
        svc.metrics.routing_fallbacks.inc,
        speeds,
    )
    svc.rides = rides = Rides(
        pool=svc.db,
        store=store,
        surge=SurgeIndex(svc.redis, settings.surge_resolution),
        duty=svc.publisher,
        jobs=ArqJobs(arq),
        settings=settings,
        router=router,
        labels=labels,
        zones=zones,
    )
    svc.background = set()
    try:
        # Drivers indexed by a version before hf:geo existed are found by dispatch at once,
        # not only after their next fix (the tracker's start-up duty sync fills it too).
        await store.repair_geo()
    except Exception:
        log.warning("could not check the GEO index of available drivers", exc_info=True)
    svc.dispatch_queue = DispatchQueue(lambda booking_id: dispatch.offer_next(rides, booking_id), Leases(svc.redis))


async def stop_rides(svc: Services) -> None:
    queue: DispatchQueue | None = svc.take("dispatch_queue")
    if queue is not None:
        await queue.close(STOP_WAIT_S)
    pending = svc.take("background") or set()
    if pending:
        await asyncio.wait(pending, timeout=STOP_WAIT_S)  # steps already running finish; reconcile covers the rest
    await stop_places(svc)
    await stop_zones(svc)
    for name, closer in (("speeds", "stop"), ("router", "close"), ("arq", "aclose")):
        resource = svc.take(name)
        if resource is not None:
            try:
                await getattr(resource, closer)()
            except Exception:
                log.warning("closing %s failed", name, exc_info=True)


def in_background(work: Coroutine, what: str) -> None:
    """Run a dispatch step after the response: the client does not wait for it, and a
    failure is logged (the worker's reconcile job repeats what a lost step would have done)."""
    tasks = services().background

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
    services().dispatch_queue.submit(booking_id)
