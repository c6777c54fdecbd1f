"""The Quart application factory."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any, cast

import orjson
from quart import Quart, Request, request
from quart_schema import QuartSchema
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from hexfleet import redisconn
from hexfleet.db import create_pool
from hexfleet.drivers import revocation
from hexfleet.logs import setup_logging
from hexfleet.places import imports as places_imports
from hexfleet.settings import ROOT, Settings, SettingsError
from hexfleet.tracking.store import LiveStore
from hexfleet.zones import transfer as zone_transfer
from streaming.fanout import FanOut
from streaming.hub import LiveHub
from streaming.kafka import ensure_ride_topics, ensure_topic
from streaming.producer import ReliableProducer
from streaming.publisher import KafkaPublisher
from streaming.ride_fanout import RideFanOut
from webapp import errors, static_files
from webapp.apidocs import HexfleetOpenAPI
from webapp.auth import init_auth
from webapp.csrf import init_csrf
from webapp.headers import BASIC as BASIC_HEADERS
from webapp.headers import content_security_policy
from webapp.ingest import FastPath, Ingest
from webapp.limits import Limiter
from webapp.metrics import WebMetrics
from webapp.osmand_listener import OsmAndListener
from webapp.public_limits import init_public_limits
from webapp.services import install, start_rides, stop_rides
from webapp.shutdown import end_streams_on_stop

log = logging.getLogger("hexfleet.web")


class HexfleetQuart(Quart):
    """Quart, with a start-up stopped by configuration told in one line.

    Quart logs whatever stops its start-up with a traceback, then uvicorn prints the error's
    text. For a SettingsError (a Kafka topic that cannot be created as configured, say) the
    text is the whole story, and a traceback above it only buries it."""

    _starting = False

    async def startup(self) -> None:
        self._starting = True
        try:
            await super().startup()
        finally:
            self._starting = False

    def log_exception(self, exception_info) -> None:
        if self._starting and isinstance(exception_info[1], SettingsError):
            return  # uvicorn prints it: "ERROR: <the message>", then "Application startup failed"
        super().log_exception(exception_info)


def bound_json(app: Quart) -> None:
    """Request bodies are parsed by orjson: several times faster, and it refuses nesting past
    1,024 levels instead of the stdlib parser's RecursionError (a 500 for a 2,000-deep body).
    The provider quart-schema installed (it serialises pydantic models) keeps doing the rest."""

    class BoundedJSON(type(app.json)):  # type: ignore[misc]
        def loads(self, s, **kwargs):
            return orjson.loads(s)

    app.json = BoundedJSON(app)
    app.request_class = BytesJSONRequest


# Routes that take a file of places (up to 10,000 of them): a larger body than MAX_BODY_BYTES.
LARGE_BODY_PATHS = frozenset(("/api/v1/places/import", "/admin/places/import"))
# A zone's outline (up to 5,000 vertices) and a file of zones: larger bodies too.
ZONE_PATH = re.compile(r"^/api/v1/zones(/[0-9]{1,19})?$")
ZONE_IMPORT_PATH = "/api/v1/zones/import"


def large_body_limit(path: str) -> int | None:
    """The body limit of a route that takes more than MAX_BODY_BYTES; None for the rest."""
    if path in LARGE_BODY_PATHS:
        return places_imports.MAX_BYTES + 64 * 1024
    if path == ZONE_IMPORT_PATH:
        return zone_transfer.MAX_BYTES
    if ZONE_PATH.match(path):
        return zone_transfer.MAX_ZONE_BYTES
    return None


class BytesJSONRequest(Request):
    def __init__(self, method: str, scheme: str, path: str, *args, max_content_length: int | None = None, **kwargs):
        # Quart sizes the body's buffer when it makes the request, before any view runs: the
        # larger limit of a places import is chosen here, by path (the view checks who asks
        # before it reads the body). 64 KiB more for a form's own lines around the file.
        larger = large_body_limit(path)
        if larger is not None and max_content_length is not None:
            max_content_length = max(max_content_length, larger)
            self._max_content_length = max_content_length  # what form parsing reads
        super().__init__(method, scheme, path, *args, max_content_length=max_content_length, **kwargs)

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """Quart's, with the body handed to the parser as bytes. Quart decodes it as UTF-8
        first, outside its error handling, so invalid UTF-8 in a JSON body was a 500; orjson
        checks the UTF-8 itself, and such a body is malformed JSON (400) like any other."""
        if cache and self._cached_json[silent] is not Ellipsis:
            return self._cached_json[silent]
        if not (force or self.is_json):
            return None
        data = await self.get_data(cache=cache, as_text=False)
        try:
            result = self.json_module.loads(data)
        except ValueError as error:
            result = None if silent else self.on_json_loading_failed(error)
        if cache:
            self._cached_json[silent] = result
        return result


def safe_static_files(app: Quart) -> None:
    """A static file name the file system refuses (longer than NAME_MAX, say) names no file:
    404, not the OSError that errors.py would take for a backing service being down (503)."""
    send = cast(Callable[[str], Awaitable[Any]], app.view_functions["static"])

    async def static(filename: str):
        try:
            return await send(filename)
        except OSError:
            raise NotFound() from None

    app.view_functions["static"] = static


class BigintConverter(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


SWAGGER_DIR = "vendor/swagger-ui-5.35.0"


async def _subscribe_revocations(subscriber):
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(revocation.CHANNEL)
    return pubsub


async def _forget_on_revocation(subscriber, ingest: Ingest, pubsub) -> None:
    """Drop cached device lookups whenever any process rotates or revokes credentials.

    The first subscription is made before the app serves (the caller passes it in), so
    no rotation between start-up and the first request can be missed.
    """
    while True:
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    ingest.auth.forget()
        except asyncio.CancelledError:
            await pubsub.aclose()
            raise
        except Exception:
            log.warning("revocation channel lost; resubscribing", exc_info=True)
            ingest.auth.forget()  # we may have missed an announcement
            await asyncio.sleep(1)
            try:
                pubsub = await _subscribe_revocations(subscriber)
            except Exception:
                log.warning("resubscribing failed; retrying", exc_info=True)


# uvicorn's exit code for "the app cannot start": its supervisor of several workers then stops
# instead of starting them again and again (uvicorn.config.STARTUP_FAILURE).
STARTUP_FAILURE = 3


def create_app(settings: Settings | None = None) -> Quart:
    if settings is None:
        # Started by uvicorn (the Procfile's `webapp:create_app`): a setting we cannot use stops
        # the process with one readable line, not a traceback through uvicorn's loader.
        try:
            settings = Settings.from_env()
            settings.require_services()
            settings.require_secret_key()
        except SettingsError as error:
            print(f"hexfleet web: {error}", file=sys.stderr, flush=True)
            raise SystemExit(STARTUP_FAILURE) from None
    settings.require_services()
    setup_logging(settings)
    app = HexfleetQuart(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        # A request body must arrive within this (Quart's default is a minute); the ingest
        # fast path has its own, and webapp/serving.py bounds the headers.
        BODY_TIMEOUT=10,
        QUART_SCHEMA_SWAGGER_JS_URL=f"/static/{SWAGGER_DIR}/swagger-ui-bundle.js",
        QUART_SCHEMA_SWAGGER_CSS_URL=f"/static/{SWAGGER_DIR}/swagger-ui.css",
    )
    QuartSchema(
        app,
        info={"title": "hexfleet API", "version": "1"},
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        redoc_ui_path=None,
        scalar_ui_path=None,
        openapi_provider_class=HexfleetOpenAPI,
    )
    svc = install(app, settings, WebMetrics())
    bound_json(app)
    safe_static_files(app)
    static_files.install(app)
    # Ids in paths are PostgreSQL bigints: a longer number is a 404 like any unknown id, not a 500.
    app.url_map.converters["int"] = BigintConverter
    init_public_limits(app)
    init_auth(app, settings)
    init_csrf(app, settings.secure_cookies)
    errors.register(app)

    from webapp import ops, pages, phones
    from webapp.api import alerts, driver_rides, drivers, places, rides, stream, tracking, zones

    for bp in (ops.bp, *pages.BLUEPRINTS, phones.bp, drivers.bp, stream.bp, rides.bp, driver_rides.bp, tracking.bp):
        app.register_blueprint(bp)
    app.register_blueprint(places.bp)
    app.register_blueprint(alerts.bp)
    app.register_blueprint(zones.bp)

    @app.before_serving
    async def start_services() -> None:
        svc.db = await create_pool(settings)
        svc.redis = redis = redisconn.connect(settings.redis_url)
        # Its own client: the subscriber's reads wait for the next message with no deadline.
        svc.redis_listener = subscriber = redisconn.connect(settings.redis_url, listener=True)
        svc.store = store = LiveStore(redis, settings.h3_resolution)
        await ensure_topic(settings)
        producer = ReliableProducer(
            settings,
            {settings.kafka_topic_locations: None, settings.kafka_topic_bookings: None, settings.kafka_topic_surge: 1},
        )
        await producer.start()
        svc.producer = producer
        svc.publisher = KafkaPublisher(producer, settings)
        svc.hub = hub = LiveHub(settings.hub_max_pending, settings.hub_send_timeout_s)
        svc.rides_hub = rides_hub = LiveHub(settings.hub_max_pending, settings.hub_send_timeout_s)

        def close_streams() -> None:
            hub.close()
            rides_hub.close()

        svc.undo_stop_hook = end_streams_on_stop(close_streams)
        fanout = FanOut(settings, hub, store)
        await fanout.start(await producer.partitions_for(settings.kafka_topic_locations))
        svc.fanout = fanout
        await ensure_ride_topics(settings)
        ride_fanout = RideFanOut(settings, rides_hub)
        await ride_fanout.start(
            {t: await producer.partitions_for(t) for t in (settings.kafka_topic_bookings, settings.kafka_topic_surge)}
        )
        svc.ride_fanout = ride_fanout
        await start_rides(svc)
        svc.limiter = limiter = Limiter(settings.redis_url, settings.rate_rules())
        svc.ingest = ingest = Ingest(settings, svc.db, producer, svc.metrics, store, limiter)
        pubsub = await _subscribe_revocations(subscriber)
        svc.revocations = asyncio.create_task(_forget_on_revocation(subscriber, ingest, pubsub), name="revocations")
        if settings.osmand_port:
            listener = OsmAndListener(app, settings.host, settings.osmand_port)
            await listener.start()
            svc.osmand_listener = listener
        log.info("web ready: consuming %s for live streams", settings.kafka_topic_locations)

    @app.after_serving
    async def stop_services() -> None:
        svc.take("ingest")
        for hub_name in ("hub", "rides_hub"):
            hub = svc.opened(hub_name)
            if hub is not None:
                hub.close()
        await stop_rides(svc)
        undo_stop_hook = svc.take("undo_stop_hook")
        if undo_stop_hook is not None:
            undo_stop_hook()
        revocations = svc.take("revocations")
        if revocations is not None:
            revocations.cancel()
            await asyncio.gather(revocations, return_exceptions=True)
        for name, closer in (
            ("osmand_listener", "stop"),
            ("fanout", "stop"),
            ("ride_fanout", "stop"),
            ("producer", "stop"),
            ("redis", "aclose"),
            ("redis_listener", "aclose"),
            ("db", "close"),
        ):
            resource = svc.take(name)
            if resource is not None:
                try:
                    await asyncio.wait_for(getattr(resource, closer)(), timeout=5)
                except Exception:
                    log.warning("closing %s failed", name, exc_info=True)

    page_csp = content_security_policy(settings.map_tile_url)
    docs_csp = content_security_policy(settings.map_tile_url, docs=True)

    @app.after_request
    async def security_headers(response):
        for name, value in BASIC_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            docs = request.path in ("/docs", "/redocs", "/scalar")
            response.headers.setdefault("Content-Security-Policy", docs_csp if docs else page_csp)
        return response

    app.asgi_app = FastPath(app.asgi_app, app)  # type: ignore[method-assign]
    return app
