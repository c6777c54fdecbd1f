"""Test helpers: rows inserted through the app's own queries, and polling without fixed sleeps."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from hexfleet import security
from hexfleet.devtools.testing import NotReady, free_port, wait_until_ready_async
from hexfleet.drivers import queries as drivers
from hexfleet.users import queries as users
from streaming.events import decode
from streaming.kafka import make_consumer

# Hashing with argon2 costs ~50 ms: hash once for every test user.
_PASSWORD = "correct-horse"
_HASH = security.hash_password(_PASSWORD)


async def make_user(pool, role: str = "dispatcher", email: str | None = None) -> tuple[users.User, str]:
    async with pool.acquire() as conn:
        count = await conn.fetchval("SELECT count(*) FROM users")
        user = await users.create_user(conn, email or f"{role}{count}@example.org", _HASH, role)
        token = await users.create_api_token(conn, user.id)
    return user, token


async def make_driver(pool, name: str = "Test Driver", plate: str | None = None, status: str = "available"):
    """A driver with a device, on duty as ``status`` (new drivers start off duty: most tests
    want one that has gone available)."""
    async with pool.acquire() as conn:
        driver = await drivers.create_driver(conn, name, None, plate)
        if status != driver.status:
            await drivers.set_status(conn, driver.id, status)
            driver = await drivers.get_driver(conn, driver.id)
        device = await drivers.issue_device(conn, driver.id)
    return driver, device


async def stored_devices(pool) -> str:
    """Every row of ``devices``, every column, as PostgreSQL prints them: where a plain device
    id would show if one were stored."""
    rows = await pool.fetch("SELECT d::text AS row FROM devices d")
    return "\n".join(r["row"] for r in rows)


async def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll an async predicate until it returns a truthy value (no fixed sleeps)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


def server_env(settings) -> dict:
    """Environment for a server subprocess that uses the same services and topic as ``settings``."""
    import os

    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "KAFKA_TOPIC_LOCATIONS": settings.kafka_topic_locations,
        "TRACKER_GROUP": settings.tracker_group,
        "KAFKA_TOPIC_BOOKINGS": settings.kafka_topic_bookings,
        "KAFKA_TOPIC_SURGE": settings.kafka_topic_surge,
        "KAFKA_PARTITIONS": str(settings.kafka_partitions),
        "SECRET_KEY": settings.secret_key,
        "MAP_TILE_URL": "",
        "LOG_LEVEL": "WARNING",
    }


async def start_web(settings, **extra_env: str) -> tuple[subprocess.Popen, str]:
    """A real web process (uvicorn, as the Procfile runs it) on a free port, once it is ready."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--factory", "webapp:create_app", "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [*argv, "--port", str(port), "--http", "webapp.serving:HttpProtocol"],
        env={**server_env(settings), **extra_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"

    def exited() -> str | None:
        if proc.poll() is None:
            return None
        return f"web instance exited: {proc.stderr.read().decode()[-2000:]}"  # type: ignore[union-attr]

    try:
        await wait_until_ready_async(f"{url}/readyz", 30, failed=exited)
    except NotReady:
        proc.kill()
        raise
    return proc, url


async def make_fare(pool, vehicle_class: str = "standard"):
    """The demo's euro fare for a vehicle class."""
    from hexfleet.devtools.demo import DEMO_FARES
    from hexfleet.rides import queries as rides

    fare = next(f for f in DEMO_FARES if f.vehicle_class == vehicle_class)
    async with pool.acquire() as conn:
        return await rides.put_fare(conn, fare, None)


async def place_driver(store, driver_id: int, lat: float, lng: float) -> None:
    """A fresh fix for a driver in the live index, as the tracker would write it. A driver
    whose duty Redis has not heard of yet gets the one make_driver gives by default
    (available), as the tracker's duty sync would copy it from PostgreSQL."""
    from hexfleet.keys import DUTY
    from hexfleet.tracking.pings import Ping

    await store.redis.hsetnx(DUTY, driver_id, "available")
    now = time.time()
    await store.apply_fixes([(driver_id, Ping(lat, lng, now), now)])


def start_worker(settings, log_path, **extra_env: str) -> subprocess.Popen:
    """The real arq worker (as the Procfile runs it), its output in ``log_path``."""
    with open(log_path, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "workers"],
            env={**server_env(settings), "LOG_LEVEL": "INFO", **extra_env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def browser_login(client, email: str, password: str = "correct-horse") -> dict:
    """Sign in as a browser does: the form page (which sets the CSRF cookie), then the form.

    Returns the headers a browser then sends: its cookies, and the page's CSRF token (as htmx does).
    """
    import re

    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    cookies = dict(page.cookies)
    cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    response = await client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        headers={"Cookie": cookie_header},
    )
    assert response.status_code == 302, response.text
    cookies.update(response.cookies)
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "X-CSRF-Token": token}


async def read_topic(settings, count: int, timeout: float = 10.0) -> list:
    """(key, decoded event) of what reached the locations topic, until ``count`` or ``timeout``."""
    consumer = make_consumer(settings, group_id=None, auto_offset_reset="earliest")
    consumer.subscribe([settings.kafka_topic_locations])
    await consumer.start()
    events = []
    try:
        deadline = time.monotonic() + timeout
        while len(events) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            events += [(m.key, decode(m.value)) for msgs in batch.values() for m in msgs]
    finally:
        await consumer.stop()
    return events
