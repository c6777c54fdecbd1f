"""The simulator's run loop: demo drivers in PostgreSQL, paced pings over HTTP, progress.

Creates or reuses "Demo Driver 01".."NN" in PostgreSQL with a fresh device token each,
waits for the web app's /readyz (so it can start together with the web process), then
posts one ping per driver every ``interval`` seconds. Each driver has its own phase within
the interval, so N drivers give a steady N/interval pings a second, not a burst.
``hexfleet.devtools.sim.command`` parses the command line into a ``SimConfig`` and calls ``simulate``.
"""

from __future__ import annotations

import asyncio
import math
import random
import signal
import sys
import time
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import asyncpg
import httpx
import orjson
from tqdm import tqdm

from hexfleet.devtools.sim.motion import DriverSim, Grid, Placement
from hexfleet.drivers import queries
from hexfleet.errors import Conflict
from hexfleet.tracking import queries as history

DEMO_PREFIX = "Demo Driver "
PINGS_PATH = "/api/v1/driver/pings"
READY_TIMEOUT_S = 60.0
SUMMARY_EVERY_S = 30.0
WARN_EVERY_S = 15.0
MAX_BACKOFF_S = 15.0
REQUEST_TIMEOUT_S = 10.0
CONNECTIONS = 8  # see Shared.gate; a local server answers in ~1 ms, so 8 carry thousands of pings/s
DRAIN_TIMEOUT_S = 15.0  # longer than one request, so in-flight pings finish


@dataclass(frozen=True)
class SimConfig:
    drivers: int
    interval: float
    duration: float
    center: tuple[float, float]
    radius_m: float
    url: str
    seed: int | None
    progress: bool


# --- demo drivers -------------------------------------------------------------------


def demo_name(n: int) -> str:
    return f"{DEMO_PREFIX}{n:02d}"


def demo_plate(n: int) -> str:
    return f"HF-DEMO-{n:02d}"


@dataclass(frozen=True)
class DemoDriver:
    name: str
    driver_id: int
    token: str
    # (lat, lng, heading) of its newest stored fix: a restarted demo resumes there.
    last: tuple[float, float, float | None] | None = None


async def prepare_drivers(dsn: str, count: int) -> tuple[list[DemoDriver], int]:
    """Create the missing demo drivers and issue every one a fresh token (only hashes are
    stored, so a reused driver's old token cannot be recovered). Returns (drivers, created)."""
    conn = await asyncpg.connect(dsn, timeout=10)
    drivers, created = [], 0
    try:
        async with conn.transaction():
            # Two simulators starting at once must not both create "Demo Driver 01".
            await queries.lock_driver_creation(conn)
            existing: dict[str, queries.Driver] = {}
            for driver in await queries.find_drivers_by_name_prefix(conn, DEMO_PREFIX):
                existing.setdefault(driver.name, driver)  # oldest first
            for n in range(1, count + 1):
                found = existing.get(demo_name(n))
                if found is None:
                    try:
                        driver = await queries.create_driver(conn, demo_name(n), None, demo_plate(n))
                    except Conflict:  # someone else drives that plate: go without one
                        driver = await queries.create_driver(conn, demo_name(n))
                    created += 1
                else:
                    driver = found
                    await queries.revoke_devices(conn, driver.id)
                device = await queries.issue_device(conn, driver.id)
                drivers.append(DemoDriver(driver.name, driver.id, device.token))
            last = await history.last_positions(conn, [d.driver_id for d in drivers])
            drivers = [replace(d, last=last.get(d.driver_id)) for d in drivers]
    finally:
        await conn.close()
    return drivers, created


# --- progress and warnings ----------------------------------------------------------


@dataclass
class Stats:
    sent: int = 0  # answered 2xx
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: int = 0  # unreachable, timeouts, non-2xx answers
    token_rejected: bool = False


@dataclass
class Reporter:
    """Counts, the progress bar or periodic summary lines, and rate-limited warnings."""

    config: SimConfig
    stats: Stats = field(default_factory=Stats)
    started: float = field(default_factory=time.monotonic)
    bar: Any = None
    _warned: dict[str, float] = field(default_factory=dict)
    _last_error_at: float = 0.0
    _failing: bool = False

    def open(self) -> None:
        self.started = time.monotonic()  # the rate counts driving time, not the wait for the server
        self.bar = tqdm(
            desc="simulate", unit=" pings", dynamic_ncols=True, disable=not self.config.progress, smoothing=0.1
        )

    def say(self, message: str, *, error: bool = False) -> None:
        out = sys.stderr if error else sys.stdout
        if self.bar is not None and not self.bar.disable:
            self.bar.write(message, file=out)
        else:
            print(message, file=out, flush=True)

    def warn(self, kind: str, message: str) -> None:
        """One line per kind of problem at most every WARN_EVERY_S, never a traceback."""
        now = time.monotonic()
        if now - self._warned.get(kind, -math.inf) >= WARN_EVERY_S:
            self._warned[kind] = now
            self.say(f"simulate: warning: {message}", error=True)

    def failed(self, kind: str, message: str) -> None:
        self.stats.errors += 1
        self._last_error_at, self._failing = time.monotonic(), True
        self.warn(kind, f"{message}; retrying with backoff ({self.stats.errors} errors so far)")

    def tick(self) -> None:
        if self._failing and time.monotonic() - self._last_error_at > max(5.0, 2 * self.config.interval):
            self._failing = False
            self._warned.clear()
            self.say("simulate: the server is answering again")
        if self.bar is not None and not self.bar.disable:
            s = self.stats
            self.bar.set_postfix(accepted=s.accepted, errors=s.errors, refresh=False)
            self.bar.update(s.sent - self.bar.n)

    def summary(self, final: bool = False) -> str:
        s, elapsed = self.stats, time.monotonic() - self.started
        rate = s.sent / elapsed if elapsed > 0 else 0.0
        head = "stopped after" if final else "running for"
        return (
            f"simulate: {head} {format_duration(elapsed)}: {s.sent} pings sent ({rate:.1f}/s), "
            f"{s.accepted} accepted, {s.duplicates} duplicates, {s.rejected} rejected, {s.errors} errors"
        )

    async def run(self, stop: asyncio.Event) -> None:
        next_summary = time.monotonic() + SUMMARY_EVERY_S
        while not stop.is_set():
            await _wait(stop, 0.5)
            self.tick()
            if not self.config.progress and time.monotonic() >= next_summary:
                next_summary += SUMMARY_EVERY_S
                self.say(self.summary())

    def close(self) -> None:
        self.tick()
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.say(self.summary(final=True))


def format_duration(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep up to ``seconds``, waking early when ``stop`` is set."""
    if seconds > 0 and not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except TimeoutError:
            pass


def describe_error(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# --- talking to the web app -----------------------------------------------------------


class Outcome(Enum):
    OK = "ok"
    FAILED = "failed"
    TOKEN_REJECTED = "token-rejected"


async def wait_ready(client, config: SimConfig, reporter: Reporter, stop: asyncio.Event) -> bool:
    """Poll /readyz until it answers 200; False when the deadline passes or we are stopped."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    announced = False
    while not stop.is_set():
        try:
            response = await client.get("/readyz", timeout=5.0)
            if response.status_code == 200:
                return True
            last = f"answered {response.status_code}"
        except httpx.HTTPError as error:
            last = describe_error(error)
        if time.monotonic() >= deadline:
            reporter.say(
                f"simulate: {config.url}/readyz did not answer 200 within {READY_TIMEOUT_S:.0f} s "
                f"(last: {last}); is the web app running at {config.url}?",
                error=True,
            )
            return False
        if not announced:
            announced = True
            reporter.say(f"simulate: waiting for {config.url}/readyz ({last})")
        await _wait(stop, 0.5)
    return False


async def post_ping(client, driver: DemoDriver, payload: dict, reporter: Reporter) -> tuple[Outcome, float]:
    """Post one ping and count the answer: (outcome, seconds the server asked us to wait)."""
    try:
        response = await client.post(
            PINGS_PATH,
            content=orjson.dumps(payload),
            headers={"Authorization": f"Bearer {driver.token}", "Content-Type": "application/json"},
        )
    except httpx.HTTPError as error:
        reporter.failed("unreachable", f"cannot reach {reporter.config.url}: {describe_error(error)}")
        return Outcome.FAILED, 0.0
    body = parse_json_object(response.content)
    if response.status_code == 401:
        if not reporter.stats.token_rejected:  # once, though several requests may be in flight
            reporter.stats.token_rejected = True
            reporter.say(
                f"simulate: the server rejected the token of {driver.name} (401{problem_detail(body)}); another "
                "simulator may have issued new demo tokens, or the drivers were deleted. Stopping.",
                error=True,
            )
        return Outcome.TOKEN_REJECTED, 0.0
    if not response.is_success:
        reporter.failed(
            f"http-{response.status_code}",
            f"{PINGS_PATH} answered {response.status_code} {response.reason_phrase}{problem_detail(body)}",
        )
        return Outcome.FAILED, parse_retry_after(response.headers.get("retry-after"))
    s = reporter.stats
    s.sent += 1
    s.accepted += count_field(body.get("accepted", 1))
    s.duplicates += count_field(body.get("duplicates"))
    rejected = count_field(body.get("rejected"))  # a list of {"index", "error"}, or a number
    if rejected:
        s.rejected += rejected
        reporter.warn(
            "rejected", f"the server rejected a ping ({body.get('rejected')}): {orjson.dumps(payload).decode()}"
        )
    return Outcome.OK, 0.0


def count_field(value: object) -> int:
    """A count in the server's answer: a list counts its items, a number itself, anything else 0."""
    if isinstance(value, list):
        return len(value)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def parse_retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header, clamped to 0..MAX_BACKOFF_S; 0 when absent or not a number."""
    try:
        return min(MAX_BACKOFF_S, max(0.0, float(value))) if value else 0.0
    except ValueError:  # an HTTP date: rare enough to fall back on our own backoff
        return 0.0


def parse_json_object(content: bytes) -> dict:
    """The answer's JSON object, or {} for anything else (an HTML error page, a list, no body)."""
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def problem_detail(body: dict) -> str:
    """The reason in a problem+json answer as a ": ..." suffix (at most 200 characters), or "" if none."""
    detail = body.get("detail") or body.get("title") or body.get("errors")
    return f": {str(detail)[:200]}" if detail else ""


def backoff_s(interval: float, failures: int, fraction: float) -> float:
    """Wait after the ``failures``-th failure in a row: the interval doubled per failure,
    capped at MAX_BACKOFF_S, times ``fraction`` (the jitter, drawn from 0.5..1)."""
    return min(MAX_BACKOFF_S, interval * 2 ** min(failures, 10)) * fraction


@dataclass
class Shared:
    """What every driver task shares."""

    config: SimConfig
    client: httpx.AsyncClient
    reporter: Reporter
    stop: asyncio.Event
    jitter: random.Random
    # httpcore's pool matches every queued request against every connection (with a poll()
    # per idle connection) whenever a request starts or ends: its cost grows with queue x pool.
    # So the pool stays small and requests queue here; 32 connections measured 2-3x slower
    # than 8 at 1,000 drivers, and 8 still carry ~150 pings/s to a server 50 ms away.
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONNECTIONS))


async def drive(n: int, driver: DemoDriver, sim: DriverSim, shared: Shared) -> None:
    """Ping for one driver until stopped. A failing server slows this driver down (with
    jittered exponential backoff, so drivers do not retry in lockstep); motion goes on."""
    loop = asyncio.get_running_loop()
    stop, interval = shared.stop, shared.config.interval
    last = start = loop.time()
    next_due = start + interval * n / shared.config.drivers
    failures = 0
    while not stop.is_set():
        await _wait(stop, next_due - loop.time())
        if stop.is_set():
            return
        now = loop.time()
        fix = sim.advance(now - last)
        last = now
        payload = fix.payload(round(time.time(), 3))
        async with shared.gate:
            outcome, retry_after = await post_ping(shared.client, driver, payload, shared.reporter)
        if outcome is Outcome.TOKEN_REJECTED:
            stop.set()
            return
        if outcome is Outcome.FAILED:
            failures += 1
            backoff = backoff_s(interval, failures, shared.jitter.uniform(0.5, 1.0))
            next_due = loop.time() + max(backoff, retry_after)
            continue
        failures = 0
        next_due += interval
        behind = loop.time() - next_due
        if behind > 0:  # a slow answer cost us slots: skip them rather than burst
            next_due += math.ceil(behind / interval) * interval


async def simulate(config: SimConfig, dsn: str) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reporter = Reporter(config)
    main_task = asyncio.current_task()

    def on_signal() -> None:
        if stop.is_set():  # second Ctrl-C: do not wait for in-flight requests
            if main_task is not None:
                main_task.cancel()
            return
        stop.set()
        reporter.say("simulate: stopping, finishing in-flight requests (Ctrl-C again to quit now)")

    signals = [s for s in (signal.SIGINT, signal.SIGTERM) if _add_signal_handler(loop, s, on_signal)]
    # trust_env=False: no proxy or netrc from the environment; settings come from Settings.
    # keepalive_expiry below uvicorn's 5 s keep-alive, so we never reuse a connection it closed.
    limits = httpx.Limits(max_connections=CONNECTIONS, keepalive_expiry=4.0)
    try:
        async with httpx.AsyncClient(
            base_url=config.url,
            timeout=httpx.Timeout(REQUEST_TIMEOUT_S, connect=5.0),
            limits=limits,
            trust_env=False,
            headers={"User-Agent": "hexfleet-simulate"},
        ) as client:
            if not await wait_ready(client, config, reporter, stop):
                return 0 if stop.is_set() else 1
            reporter.say(f"simulate: preparing {config.drivers} demo drivers")
            try:
                drivers, created = await prepare_drivers(dsn, config.drivers)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                hint = " (run `hexfleet migrate` first)" if isinstance(error, asyncpg.UndefinedTableError) else ""
                reporter.say(f"simulate: cannot prepare the demo drivers: {describe_error(error)}{hint}", error=True)
                return 1
            resumed = sum(d.last is not None for d in drivers)
            reporter.say(
                f"simulate: {len(drivers)} demo drivers ({created} created, {len(drivers) - created} "
                f"reused, {resumed} resume from their last position), one ping each every "
                f"{config.interval:g} s to {config.url}{PINGS_PATH}"
            )
            return await _drive_all(config, drivers, client, reporter, stop)
    finally:
        for s in signals:
            loop.remove_signal_handler(s)


async def _drive_all(config: SimConfig, drivers: list[DemoDriver], client, reporter, stop) -> int:
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**32)
    grid = Grid(*config.center, config.radius_m)
    shared = Shared(config, client, reporter, stop, random.Random(seed))
    sims = [DriverSim(grid, f"{seed}:{n}", start=resume_at(grid, d)) for n, d in enumerate(drivers)]
    deadline = asyncio.get_running_loop().call_later(config.duration, stop.set) if config.duration else None
    reporter.open()
    tasks = [
        asyncio.create_task(drive(n, d, sim, shared)) for n, (d, sim) in enumerate(zip(drivers, sims, strict=True))
    ]
    ticker = asyncio.create_task(reporter.run(stop))
    stopper = asyncio.create_task(stop.wait())
    try:
        # A driver task ends before the stop only through a bug: surface it instead of hanging.
        await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT_S)  # let in-flight pings finish
    finally:
        # Whatever still runs (drain timeout, or a second Ctrl-C cancelled us) is abandoned.
        stop.set()
        if deadline is not None:
            deadline.cancel()
        for task in (*tasks, ticker, stopper):
            task.cancel()
        await asyncio.gather(*tasks, ticker, stopper, return_exceptions=True)
        reporter.close()
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return 1 if reporter.stats.token_rejected else 0


def resume_at(grid: Grid, driver: DemoDriver) -> Placement | None:
    """Where a demo driver goes on from: its last stored position, put back on a street."""
    if driver.last is None:
        return None
    lat, lng, heading = driver.last
    return grid.nearest_street(lat, lng, heading)


def _add_signal_handler(loop, sig, handler) -> bool:
    try:
        loop.add_signal_handler(sig, handler)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        return False
    return True
