"""Browser tests against the real stack: PostgreSQL, Redis, Kafka, the web app, the stream
process (tracker and outbox relay) and the arq worker.

Run them in their own pytest process (e2e/pytest.ini switches pytest-asyncio off):

    .venv/bin/pytest e2e

Services come from DATABASE_URL / REDIS_URL / KAFKA_BOOTSTRAP_SERVERS when set, otherwise
``hexfleet.devtools.embedded`` starts them (data under .data/e2e, apart from `hexfleet dev`'s).
Every run gets its own database, Kafka topic and consumer group, and a dedicated Redis
database number that is flushed before and after, so nothing leaks between runs or into
a developer's data. The web app, `python -m streaming` and the worker run as subprocesses; their logs
and the screenshots go to e2e/artifacts/.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from hexfleet.devtools.testing import (
    NotReady,
    create_database,
    drop_database,
    free_port,
    wait_until_ready,
    with_database,
    with_redis_db,
)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
REDIS_DB = int(os.environ.get("E2E_REDIS_DB", "13"))
READY_TIMEOUT_S = 60.0
PASSWORD = "e2e-password-123"

sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_configure(config):
    # pytest-playwright deletes its --output folder at start: keep it inside the artifacts.
    if config.getoption("--output", default=None) == "test-results":
        config.option.output = str(ARTIFACTS / "test-results")


# ---------------------------------------------------------------- helpers


def _run_async(coro):
    """Run a coroutine to completion from sync code, even while Playwright's loop is set."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _flush_redis(url: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


def _cli(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "hexfleet.cli.main", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        command = " ".join(args[:2])
        raise RuntimeError(f"hexfleet {command} failed ({result.returncode}):\n{result.stderr}{result.stdout}")
    return result.stdout


def _cli_json(env: dict, *args: str) -> dict:
    return orjson.loads(_cli(env, *args, "--json").strip().splitlines()[-1])


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Driver:
    id: int
    name: str
    token: str
    device_id: str
    phone: str | None = None
    plate: str | None = None


@dataclass
class Stack:
    base_url: str
    env: dict
    dispatcher_email: str
    customer_email: str
    staff_token: str
    drivers: list[Driver] = field(default_factory=list)
    password: str = PASSWORD

    def ping(self, driver: Driver, lat: float, lng: float, ts: float | None = None, **extra) -> None:
        body = {"lat": lat, "lng": lng, "ts": time.time() if ts is None else ts, **extra}
        response = httpx.post(
            f"{self.base_url}/api/v1/driver/pings",
            json=body,
            headers={"Authorization": f"Bearer {driver.token}"},
            timeout=10,
        )
        assert response.status_code == 202, response.text

    def ping_batch(self, driver: Driver, pings: list[dict]) -> None:
        response = httpx.post(
            f"{self.base_url}/api/v1/driver/pings",
            json={"pings": pings},
            headers={"Authorization": f"Bearer {driver.token}"},
            timeout=10,
        )
        assert response.status_code == 202 and not response.json()["rejected"], response.text

    def add_driver(
        self, name: str, phone: str | None = None, plate: str | None = None, status: str = "available"
    ) -> Driver:
        """A driver added on the command line (new drivers start off duty), then put on
        ``status`` by a dispatcher: most scenes want one who has gone available."""
        args = ["drivers", "add", "--name", name]
        if phone:
            args += ["--phone", phone]
        if plate:
            args += ["--vehicle-plate", plate]
        made = _cli_json(self.env, *args)
        driver = Driver(made["id"], made["name"], made["token"], made["device_id"], phone, plate)
        if status != "off_duty":
            self.set_status(driver, status)
        return driver

    def wait_for_fix(self, driver: Driver, lat: float, lng: float, timeout: float = 10.0) -> None:
        """Wait until the tracker has stored this position (what a freshly loaded page shows)."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.staff_token}"}) as client:
            while True:
                view = client.get(f"/api/v1/drivers/{driver.id}", timeout=5).json()
                if view.get("lat") is not None and abs(view["lat"] - lat) < 1e-7 and abs(view["lng"] - lng) < 1e-7:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"driver {driver.id} not at {lat},{lng} after {timeout} s: {view}")
                time.sleep(0.05)

    def set_status(self, driver: Driver, status: str) -> None:
        response = httpx.post(
            f"{self.base_url}/api/v1/drivers/{driver.id}/status",
            json={"status": status},
            headers={"Authorization": f"Bearer {self.staff_token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text


# ---------------------------------------------------------------- the stack


@pytest.fixture(scope="session")
def stack():
    from hexfleet.settings import Settings

    ARTIFACTS.mkdir(exist_ok=True)
    run_id = secrets.token_hex(4)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    base_env.setdefault("HEXFLEET_DATA_DIR", str(ROOT / ".data" / "e2e"))
    settings = Settings.from_env(base_env)
    services = []
    if not (settings.database_url and settings.redis_url and settings.kafka_bootstrap_servers):
        from hexfleet.devtools.embedded import ensure_services

        settings, services = ensure_services(settings)

    db_name = f"hexfleet_e2e_{run_id}"
    admin_url = settings.database_url
    database_url = with_database(admin_url, db_name)
    redis_url = with_redis_db(settings.redis_url, REDIS_DB)
    port = free_port()
    env = {
        **base_env,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "KAFKA_TOPIC_LOCATIONS": f"driver-locations-e2e-{run_id}",
        "KAFKA_TOPIC_BOOKINGS": f"booking-events-e2e-{run_id}",
        "KAFKA_TOPIC_SURGE": f"surge-e2e-{run_id}",
        "KAFKA_PARTITIONS": "2",
        "TRACKER_GROUP": f"hexfleet-tracker-e2e-{run_id}",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MAP_TILE_URL": "",
        # The browser tests place drivers by hand, seconds apart; the GPS filters have their
        # own tests (tests/hexfleet/test_filters.py, tests/webapp/test_tracking_flow.py).
        "FILTER_MAX_SPEED_KMH": "100000",
        "MAP_CENTER": "52.5200,13.4050",
        # One browser signs in dozens of times a minute from one address: the limits have their
        # own tests (tests/webapp/test_login_limits.py, test_rate_limits.py).
        "RATE_LOGIN_ACCOUNT": "1000/minute",
        "RATE_LOGIN_PAIR": "1000/minute",
        "RATE_LOGIN_ADDRESS": "1000/minute",
        "RATE_SIGNUP": "1000/hour",
        "RATE_QUOTES": "1000/minute",
        "RATE_BOOKINGS": "1000/minute",
        # Every browser here is 127.0.0.1 and opens /login, /t/... and /d/login/... pages
        # many times a minute (tests/webapp/test_public_limits.py tests the limit).
        "RATE_PUBLIC": "1000/minute",
        "LOG_LEVEL": os.environ.get("E2E_LOG_LEVEL", "INFO"),
        "PYTHONUNBUFFERED": "1",
    }
    processes: list[subprocess.Popen] = []
    created_db = False
    try:
        _run_async(create_database(admin_url, db_name))
        created_db = True
        _run_async(_flush_redis(redis_url))
        _cli(env, "migrate")
        dispatcher = _cli_json(env, "users", "add", "--email", "dispatch@e2e.test", "--password", PASSWORD,
                               "--role", "dispatcher")  # fmt: skip
        _cli_json(env, "users", "add", "--email", "customer@e2e.test", "--password", PASSWORD, "--role", "customer")
        _cli(env, "fares", "set", "standard", "--currency", "EUR", "--base", "2.50", "--per-km", "1.35",
             "--per-minute", "0.30", "--booking-fee", "1.00", "--minimum", "7.00")  # fmt: skip
        drivers = []
        for name, phone, plate in (
            ("Ada Lovelace", "+49 30 1234567", "B-HX 101"),
            ("Grace Hopper", "+49 30 7654321", "B-HX 202"),
        ):
            made = _cli_json(env, "drivers", "add", "--name", name, "--phone", phone, "--vehicle-plate", plate)
            drivers.append(Driver(made["id"], made["name"], made["token"], made["device_id"], phone, plate))

        for name, argv in (
            ("web", [sys.executable, "-m", "uvicorn", "--factory", "webapp:create_app",
                     "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                     "--http", "webapp.serving:HttpProtocol",
                     "--timeout-graceful-shutdown", "3"]),
            ("stream", [sys.executable, "-m", "streaming"]),
            ("worker", [sys.executable, "-m", "workers"]),
        ):  # fmt: skip
            log = (ARTIFACTS / f"{name}.log").open("wb")
            processes.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            log.close()

        base_url = f"http://127.0.0.1:{port}"
        _wait_ready(base_url, processes)
        stack = Stack(
            base_url=base_url,
            env=env,
            dispatcher_email="dispatch@e2e.test",
            customer_email="customer@e2e.test",
            staff_token=dispatcher["token"],
            drivers=drivers,
        )
        for driver in drivers:  # new drivers start off duty: the scenes want these two working
            stack.set_status(driver, "available")
        yield stack
    finally:
        for proc in reversed(processes):
            _stop(proc)
        try:
            if created_db:
                _run_async(drop_database(admin_url, db_name))
            _run_async(_flush_redis(redis_url))
        finally:
            for service in reversed(services):
                service.stop()


def _wait_ready(base_url: str, processes: list[subprocess.Popen]) -> None:
    def exited() -> str | None:
        for proc, name in zip(processes, ("web", "stream", "worker"), strict=True):
            if proc.poll() is not None:
                return f"{name} exited with {proc.returncode}:\n{_log_tail(ARTIFACTS / f'{name}.log')}"
        return None

    try:
        wait_until_ready(f"{base_url}/readyz", READY_TIMEOUT_S, failed=exited)
    except NotReady as error:
        raise RuntimeError(f"web app not ready: {error}\n{_log_tail(ARTIFACTS / 'web.log')}") from None


# ---------------------------------------------------------------- playwright wiring


@pytest.fixture(scope="session")
def base_url(stack) -> str:
    return stack.base_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1366, "height": 768}}


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname in ("127.0.0.1", "localhost")


@pytest.fixture(autouse=True)
def _offline_and_clean(context):
    """No test may touch the internet, and no page may throw.

    Every request to another host is aborted; the page must not even try one (the app
    vendors its front-end and the e2e stack runs without map tiles). Uncaught script
    errors and console errors fail the test too.
    """
    blocked: list[str] = []
    errors: list[str] = []

    def block(route):
        blocked.append(route.request.url)
        route.abort()

    def console(message):
        # Chromium logs every 4xx response as a console error; the tests provoke some on purpose.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            where = message.location
            source = f"{where.get('url')}:{where.get('lineNumber')}:{where.get('columnNumber')}"
            errors.append(f"console: {message.text} (at {source}, page {message.page.url if message.page else '?'})")

    context.route(lambda url: not _is_local(url), block)
    context.on("weberror", lambda web_error: errors.append(f"uncaught: {web_error.error}"))
    context.on("console", console)
    yield
    assert not blocked, f"the page tried to reach the internet: {blocked}"
    assert not errors, "\n".join(errors)


@pytest.fixture
def login(stack):
    """Sign in through the form; returns the page on the control room."""

    def _login(page, email: str | None = None, password: str | None = None, next_path: str = "/"):
        page.goto(f"/login?next={next_path}")
        page.get_by_label("Email").fill(email or stack.dispatcher_email)
        page.get_by_label("Password").fill(password or stack.password)
        # Wait for the next page's load event: htmx binds its triggers only then.
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name="Sign in").click()
        return page

    return _login
