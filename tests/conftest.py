"""Real services for the tests: the ones the environment names, else embedded ones.

- PostgreSQL: DATABASE_URL's server, else an embedded one under .data/test. Each test
  session works in a fresh database (created, migrated, dropped at the end).
- Redis: REDIS_URL's server (database 11, or TEST_REDIS_DB; flushed per test), else an embedded one.
- Kafka: KAFKA_BOOTSTRAP_SERVERS, else a fresh Tansu broker; each test gets its own topic.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from hexfleet.devtools import embedded
from hexfleet.devtools.testing import create_database, drop_database, with_redis_db
from hexfleet.migrate import migrate
from hexfleet.settings import ROOT, Settings
from webapp.services import services

TEST_DATA = ROOT / ".data" / "test"


@pytest.fixture(scope="session")
def service_urls():
    started: list[embedded.Service] = []
    try:
        pg = os.environ.get("DATABASE_URL")
        if not pg:
            started.append(embedded.start_postgres(TEST_DATA))
            pg = started[-1].url
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            started.append(embedded.start_redis(TEST_DATA))
            redis_url = started[-1].url
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not kafka:
            started.append(embedded.start_kafka(log_dir=TEST_DATA / "logs"))
            kafka = started[-1].url
        # Database 11 unless TEST_REDIS_DB says otherwise (test sessions side by side on one Redis).
        db = int(os.environ.get("TEST_REDIS_DB", "11"))
        yield {"postgres": pg, "redis": with_redis_db(redis_url, db), "kafka": kafka}
    finally:
        embedded.stop_services(started)


@pytest.fixture(scope="session")
async def database_url(service_urls):
    name = f"hexfleet_test_{uuid.uuid4().hex[:8]}"
    url = await create_database(service_urls["postgres"], name)
    await migrate(url)
    yield url
    await drop_database(service_urls["postgres"], name)


@pytest.fixture(scope="session")
def base_settings(service_urls, database_url) -> Settings:
    return Settings.from_env(
        {},
        database_url=database_url,
        redis_url=service_urls["redis"],
        kafka_bootstrap_servers=service_urls["kafka"],
        # A strong random key, as the web process demands (a weak one stops it at start-up).
        secret_key=secrets.token_urlsafe(48),
        map_tile_url="",
        kafka_partitions=3,
        log_level="WARNING",
    )


@pytest.fixture
def settings(base_settings) -> Settings:
    """Per test: its own topics and tracker group, so tests never see each other's events."""
    suffix = uuid.uuid4().hex[:8]
    return base_settings.with_(
        kafka_topic_locations=f"driver-locations-{suffix}",
        tracker_group=f"tracker-{suffix}",
        kafka_topic_bookings=f"booking-events-{suffix}",
        kafka_topic_surge=f"surge-{suffix}",
    )


@pytest.fixture(scope="session")
async def pool(database_url):
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=5)
    yield pool
    await pool.close()


@pytest.fixture
async def db(pool):
    """The pool, with every table emptied first."""
    await pool.execute(
        """TRUNCATE users, api_tokens, vehicles, drivers, devices, positions, device_events, fares, quotes,
                    bookings, offers, booking_events, surge_history, duty_history, analytics_cells, analytics_drivers,
                    analytics_hours, analytics_state, places, speed_hours, speed_hours_done, learned_speeds,
                    alerts, alert_events, alert_anchors, zones
                    RESTART IDENTITY CASCADE"""
    )
    return pool


@pytest.fixture
async def redis(base_settings):
    client = Redis.from_url(base_settings.redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def app(request, settings, db, redis):
    from webapp import create_app

    app = create_app(settings)
    async with app.test_app():
        yield app
    _check_time_rejections(request, app)


# Reasons the ingest's time filter gives; a test meets them only on purpose.
TIME_REJECTIONS = ("too-old", "future")


def _check_time_rejections(request, app) -> None:
    """A fix refused for its time, in a test that did not ask for it, is a time bomb going off:
    a timestamp fixed when the test was written is now older than FILTER_PAST_S. Say so plainly
    instead of letting the test fail on a missing ping (tests/test_time_bombs.py catches the
    fixed dates on the day they are written; this names the test when one slips through)."""
    if request.node.get_closest_marker("time_rejections") is not None:
        return
    registry = services(app).metrics.registry
    refused = {
        reason: registry.get_sample_value("hexfleet_pings_rejected_total", {"reason": reason}) or 0
        for reason in TIME_REJECTIONS
    }
    if any(refused.values()):
        pytest.fail(
            f"{request.node.nodeid} sent fixes the time filter refused ({refused}) without "
            "@pytest.mark.time_rejections: build its timestamps from the current time",
            pytrace=False,
        )


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def browsers(app):
    """A new browser each call: its own cookie jar, like a second phone or a second tab profile."""
    clients: list[httpx.AsyncClient] = []

    def new(base_url: str = "http://test") -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
        clients.append(client)
        return client

    yield new
    for client in clients:
        await client.aclose()


@pytest.fixture
async def relayed(settings, db, redis):
    """``await relayed("database_url")`` (or ``"redis_url"``): settings whose server is reached
    through a relay the test can cut or freeze (hexfleet.devtools.testing.Relay), so an outage
    can be played without stopping the shared test server. Returns (settings, relay)."""
    from hexfleet.devtools.testing import relay_for, relayed_url

    relays = []

    async def through(field: str):
        url = getattr(settings, field)
        relay = relay_for(url)
        await relay.start()
        relays.append(relay)
        return settings.with_(**{field: relayed_url(url, relay)}), relay

    yield through
    for relay in relays:
        await relay.close()


@pytest.fixture
async def server(settings, db, redis):
    """The app under uvicorn with the real protocol (webapp/serving.py) on a free port: for
    tests of what happens on the wire (deadlines, streams). Yields (app, port)."""
    import uvicorn

    from hexfleet.devtools.testing import free_port
    from webapp import create_app

    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http="webapp.serving:HttpProtocol", lifespan="on", log_level="warning"
    )
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        await asyncio.sleep(0.05)
    yield app, port
    srv.should_exit = True
    await asyncio.wait_for(task, 20)
