"""POST /api/v1/driver/pings as a raw ASGI handler in front of Quart.

This is the hottest endpoint (every driver, every few seconds). Quart costs ~285 µs a
request here (MEASUREMENTS.md) against ~30 µs for a raw handler, so this path parses,
authenticates and produces without the framework, while keeping the public contract:
Bearer device token, 202 with counts, problem+json errors. Everything else is Quart.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

import orjson

from hexfleet.drivers import queries as driver_queries
from hexfleet.tracking import filters
from hexfleet.tracking.pings import Ping, PingError, parse_body
from streaming.events import encode_attributes, encode_pings, key_for
from streaming.producer import ProduceFailed
from webapp import auth_failures
from webapp.headers import BASIC as BASIC_HEADERS
from webapp.problems import CONTENT_TYPE, problem_body
from webapp.services import services

log = logging.getLogger("hexfleet.ingest")
PATH = "/api/v1/driver/pings"
# A whole ingest body (at most MAX_BODY_BYTES) must arrive within this: slow senders let go.
BODY_TIMEOUT_S = 10.0
_JSON = b"application/json"


class DeviceAuth:
    """Device credentials → driver id, cached briefly so ingest rarely touches PostgreSQL.

    Whoever rotates or revokes credentials announces it (hexfleet.drivers.revocation) and
    every web process calls ``forget()``; the TTL bounds staleness if a message is lost.
    """

    def __init__(self, pool, ttl: float, max_entries: int = 100_000) -> None:
        self.pool = pool
        self.ttl = ttl
        self.max_entries = max_entries
        self._known: dict[tuple, tuple[int, float]] = {}
        # Failed lookups are cached apart, so junk credentials can only ever flush this
        # dict, never the real devices' entries.
        self._unknown: dict[tuple, float] = {}
        # Bumped by forget(): a lookup that started before a rotation must not cache its
        # (now stale) answer after the announcement has cleared the cache.
        self._generation = 0

    async def _cached(self, key: tuple, lookup) -> int | None:
        now = time.monotonic()
        hit = self._known.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        if self._unknown.get(key, 0.0) > now:
            return None
        generation = self._generation
        async with self.pool.acquire() as conn:
            driver_id = await lookup(conn)
        if generation == self._generation:
            cache = self._known if driver_id is not None else self._unknown
            if len(cache) >= self.max_entries:
                cache.clear()  # bounded; a refill costs one query per device
            if driver_id is not None:
                self._known[key] = (driver_id, now + self.ttl)
            else:
                self._unknown[key] = now + min(self.ttl, 5.0)  # a new device works within seconds
        return driver_id

    async def driver_for(self, token: str) -> int | None:
        """A Bearer device token (native API, driver status)."""
        key = ("t", hashlib.sha256(token.encode()).digest())
        return await self._cached(key, lambda conn: driver_queries.driver_for_token(conn, token))

    async def driver_for_device(self, device_id: str) -> int | None:
        """An OsmAnd device id, the protocol's only identity (a credential: cached by its hash)."""
        key = ("d", hashlib.sha256(device_id.encode()).digest())
        return await self._cached(key, lambda conn: driver_queries.driver_for_device_id(conn, device_id))

    async def driver_for_basic(self, device_id: str, token: str) -> int | None:
        """OwnTracks' HTTP Basic credentials: device id and token of one live device."""
        key = ("b", hashlib.sha256(device_id.encode()).digest(), hashlib.sha256(token.encode()).digest())
        return await self._cached(
            key, lambda conn: driver_queries.driver_for_device_credentials(conn, device_id, token)
        )

    async def driver_for_device_row(self, row_id: int) -> int | None:
        """A live device named by its row (the driver web app's sessions): its driver, or None
        once it was rotated or revoked."""
        return await self._cached(("r", row_id), lambda conn: driver_queries.driver_for_device_row(conn, row_id))

    def forget(self) -> None:
        self._generation += 1
        self._known.clear()
        self._unknown.clear()


class RecentPings:
    """Which (device time, client id) each driver sent lately, to answer retries as duplicates.

    Per process and bounded: a retry that lands on another instance is accepted again,
    and the tracker's idempotent writes (unique driver + device time) absorb it.
    """

    def __init__(self, per_driver: int = 256, max_drivers: int = 200_000) -> None:
        self.per_driver = per_driver
        self.max_drivers = max_drivers
        self._seen: OrderedDict[int, OrderedDict] = OrderedDict()

    def split(self, driver_id: int, pings: list[Ping]) -> tuple[list[Ping], int]:
        seen = self._seen.get(driver_id)
        fresh: list[Ping] = []
        batch_keys: set = set()
        for p in pings:
            keys = (("t", p.ts), ("i", p.id)) if p.id is not None else (("t", p.ts),)
            if any(k in batch_keys or (seen is not None and k in seen) for k in keys):
                continue
            batch_keys.update(keys)
            fresh.append(p)
        return fresh, len(pings) - len(fresh)

    def remember(self, driver_id: int, pings: list[Ping]) -> None:
        seen = self._seen.get(driver_id)
        if seen is None:
            seen = self._seen[driver_id] = OrderedDict()
            if len(self._seen) > self.max_drivers:
                self._seen.popitem(last=False)
        for p in pings:
            seen[("t", p.ts)] = None
            if p.id is not None:
                seen[("i", p.id)] = None
        while len(seen) > self.per_driver:
            seen.popitem(last=False)


# The headers every answer carries (webapp/headers.py), encoded once.
_SECURITY = [(k.lower().encode(), v.encode()) for k, v in BASIC_HEADERS.items()]


async def _send(send, status: int, body: bytes, content_type: bytes = _JSON, extra: list | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *_SECURITY]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class DeviceBudget:
    """How many pings each driver may send (RATE_INGEST, counted in pings), across every web process.

    Asking Redis on every request would cost more than the rest of the ingest path, so each
    process counts a driver's pings itself and spends them from the shared budget in lumps:
    after FLUSH_PINGS pings, or FLUSH_EVERY_S seconds (a phone pinging every few seconds asks
    Redis about every fifth ping). A driver over budget is refused locally until the window
    frees, so a flood costs one Redis call, not one per request; what slips through per
    process is at most one lump.
    """

    FLUSH_PINGS = 20
    FLUSH_EVERY_S = 10.0
    MAX_DRIVERS = 200_000

    def __init__(self, limiter) -> None:
        self.limiter = limiter
        self._pending: dict[int, int] = {}
        self._flushed_at: dict[int, float] = {}
        self._blocked_until: dict[int, float] = {}

    async def spend(self, driver_id: int, pings: int) -> float | None:
        """None when the pings may go on; else the seconds to wait."""
        now = time.monotonic()
        blocked = self._blocked_until.get(driver_id)
        if blocked is not None:
            if now < blocked:
                return blocked - now
            del self._blocked_until[driver_id]
        pending = self._pending.get(driver_id, 0) + pings
        if (
            pending < self.FLUSH_PINGS
            and now - self._flushed_at.get(driver_id, -self.FLUSH_EVERY_S) < self.FLUSH_EVERY_S
        ):
            self._pending[driver_id] = pending
            return None
        if len(self._flushed_at) > self.MAX_DRIVERS:  # bounded: forgetting only costs a Redis call
            self._pending.clear()
            self._flushed_at.clear()
        self._pending[driver_id] = 0
        self._flushed_at[driver_id] = now
        wait = await self.limiter.retry_after("ingest", str(driver_id), cost=pending)
        if wait is not None:
            self._blocked_until[driver_id] = now + wait
        return wait


class RateLimited(Exception):
    """The driver sent more pings than RATE_INGEST allows: nothing was accepted."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many pings: retry in {round(retry_after_s)} s")
        self.retry_after_s = max(1, round(retry_after_s))


class BrokerUnavailable(Exception):
    """Kafka did not acknowledge: nothing was accepted, the client should retry."""


@dataclass(frozen=True, slots=True)
class Outcome:
    accepted: int
    duplicates: int
    rejected: list[tuple[int, str]]  # (index in the submitted list, reason from hexfleet.tracking.filters)


class Ingest:
    """Takes pings in, whichever protocol they came by: judge, de-duplicate, produce, count."""

    def __init__(self, settings, pool, producer, metrics, store, limiter) -> None:
        self.settings = settings
        self.budget = DeviceBudget(limiter)
        self.auth_failures = auth_failures.AuthFailures(limiter)
        self.rules = settings.filter_rules()
        self.auth = DeviceAuth(pool, settings.auth_cache_ttl_s)
        self.recent = RecentPings()
        self.producer = producer
        self.metrics = metrics
        self.store = store
        self.topic = settings.kafka_topic_locations

    async def submit(self, driver_id: int, pings: list[Ping]) -> Outcome:
        """Judge the pings' time, drop repeats, produce the rest as one record (acked).

        Raises BrokerUnavailable when Kafka does not acknowledge, RateLimited past RATE_INGEST.
        """
        wait = await self.budget.spend(driver_id, len(pings))
        if wait is not None:
            self.metrics.pings_rejected.labels("rate-limited").inc(len(pings))
            raise RateLimited(wait)
        now = time.time()
        good: list[Ping] = []
        rejected: list[tuple[int, str]] = []
        for index, ping in enumerate(pings):
            verdict = filters.judge_time(ping, now, self.rules)
            if verdict == filters.ACCEPTED:
                good.append(ping)
            else:
                rejected.append((index, verdict))
        fresh, duplicates = self.recent.split(driver_id, good)
        if fresh:
            started = time.perf_counter()
            try:
                # One record per request: a batch from one driver stays in order and costs one send.
                # Acknowledged (acks=all) before anyone is told "accepted", within the producer's deadline.
                await self.producer.send(self.topic, encode_pings(driver_id, now, fresh), key=key_for(driver_id))
            except ProduceFailed as error:
                raise BrokerUnavailable(str(error)) from error
            self.metrics.produce_seconds.observe(time.perf_counter() - started)
            self.recent.remember(driver_id, fresh)
            self.metrics.pings_accepted.inc(len(fresh))
        if duplicates:
            self.metrics.pings_duplicate.inc(duplicates)
        if rejected:
            await self.reject(driver_id, [reason for _, reason in rejected], now)
        return Outcome(len(fresh), duplicates, rejected)

    async def reject(self, driver_id: int | None, reasons: list[str], now: float | None = None) -> None:
        """Count rejected pings; remember the last reason for the driver's detail pane."""
        for reason in reasons:
            self.metrics.pings_rejected.labels(reason).inc()
        if driver_id is not None and reasons:
            try:
                await self.store.note_problem(driver_id, reasons[-1], now or time.time())
            except Exception:  # a display nicety: never fail the request (and its good pings) for it
                log.warning("could not note a rejected fix for driver %s", driver_id, exc_info=True)

    async def submit_attributes(self, driver_id: int, ts: float, attributes: dict) -> None:
        """A report without coordinates (cell or wifi data only): history, not the map."""
        try:
            await self.producer.send(
                self.topic, encode_attributes(driver_id, time.time(), ts, attributes), key=key_for(driver_id)
            )
        except ProduceFailed as error:
            raise BrokerUnavailable(str(error)) from error
        self.metrics.device_events.inc()

    async def _problem(self, send, status: int, detail: str, reason: str, extra: list | None = None, **fields) -> None:
        self.metrics.pings_rejected.labels(reason).inc()
        await _send(send, status, problem_body(status, detail, reason, **fields), CONTENT_TYPE, extra)

    async def __call__(self, scope, receive, send) -> None:
        """The native API: POST /api/v1/driver/pings. Unexpected failures (PostgreSQL away
        during a token lookup, say) answer a problem+json 503, never a bare 500."""
        started = False

        async def tracked_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._handle(scope, receive, tracked_send)
        except Exception:
            log.exception("ingest request failed")
            if not started:
                await self._problem(send, 503, "ingest is unavailable; retry shortly", "unavailable",
                                    [(b"retry-after", b"2")])  # fmt: skip

    async def _handle(self, scope, receive, send) -> None:
        address = (scope.get("client") or ("unknown",))[0]
        blocked = self.auth_failures.blocked(address)
        if blocked is not None:  # before any lookup: a guess made now cannot be confirmed
            return await self._refuse_guesses(send, blocked)
        headers = dict(scope["headers"])
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() != b"bearer " or len(auth) > 200:
            return await self._problem(
                send, 401, "send Authorization: Bearer <device token>", "unauthenticated",
                [(b"www-authenticate", b'Bearer realm="hexfleet"')],
            )  # fmt: skip
        length = headers.get(b"content-length")
        limit = self.settings.max_body_bytes
        if length is not None and length.isdigit() and int(length) > limit:
            return await self._problem(send, 413, f"body larger than {limit} bytes", "too-large")
        # Credentials before the body: a stranger never gets to make us wait for one.
        token = auth[7:].strip().decode("latin-1")
        driver_id = await self.auth.driver_for(token)
        if driver_id is None:
            wait = await self.auth_failures.failed(address, token)
            if wait is not None:
                return await self._refuse_guesses(send, wait)
            return await self._problem(
                send, 401, "unknown or revoked device token", "bad-token",
                [(b"www-authenticate", b'Bearer realm="hexfleet", error="invalid_token"')],
            )  # fmt: skip
        try:
            body = await asyncio.wait_for(_read_body(receive, limit), BODY_TIMEOUT_S)
        except TimeoutError:
            return await self._problem(
                send, 408, f"the body did not arrive within {BODY_TIMEOUT_S:g} s", "body-timeout",
                [(b"connection", b"close")],
            )  # fmt: skip
        if body is None:
            return await self._problem(send, 413, f"body larger than {limit} bytes", "too-large")
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            return await self._problem(send, 400, "body is not valid JSON", "malformed-json")
        try:
            is_batch, parsed = parse_body(decoded, self.settings.max_batch_pings)
        except PingError as error:
            await self.reject(driver_id, [filters.INVALID])
            return await _send(send, 422, problem_body(422, str(error), "invalid-ping"), CONTENT_TYPE)
        if parsed.rejected:
            await self.reject(driver_id, [filters.INVALID] * len(parsed.rejected))
        try:
            outcome = await self.submit(driver_id, parsed.pings)
        except BrokerUnavailable:
            return await self._problem(
                send, 503, "could not queue the pings; retry shortly", "broker-unavailable", [(b"retry-after", b"2")]
            )
        except RateLimited as limited:
            return await _send(
                send, 429, problem_body(429, str(limited), "rate-limited", retry_after=limited.retry_after_s),
                CONTENT_TYPE, [(b"retry-after", str(limited.retry_after_s).encode())],
            )  # fmt: skip
        if not is_batch and outcome.rejected:
            reason = outcome.rejected[0][1]
            return await _send(send, 422, problem_body(422, self._explain(reason), reason), CONTENT_TYPE)
        rejected = parsed.rejected + [
            {"index": parsed.indexes[i], "error": self._explain(reason)} for i, reason in outcome.rejected
        ]
        rejected.sort(key=lambda r: r["index"])
        await _send(
            send,
            202,
            orjson.dumps({"accepted": outcome.accepted, "duplicates": outcome.duplicates, "rejected": rejected}),
        )

    async def _refuse_guesses(self, send, wait: float) -> None:
        seconds, detail = auth_failures.refusal(wait)
        await self._problem(send, 429, detail, auth_failures.CODE, [(b"retry-after", str(seconds).encode())],
                            retry_after=seconds)  # fmt: skip

    def _explain(self, reason: str) -> str:
        if reason == filters.FUTURE:
            return f"ts is more than {self.rules.future_s:g} s ahead of server time"
        if reason == filters.TOO_OLD:
            return f"ts is more than {self.rules.past_s:g} s in the past"
        return filters.DESCRIPTIONS.get(reason, reason)


async def _read_body(receive, limit: int) -> bytes | None:
    """The request body, or None once it passes ``limit`` (without reading the rest)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


class FastPath:
    """ASGI middleware: route the ingest endpoint to ``Ingest``, everything else to Quart."""

    def __init__(self, app, quart_app) -> None:
        self.app = app
        self.quart_app = quart_app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST":
            ingest = services(self.quart_app).opened("ingest")
            if ingest is not None:
                return await ingest(scope, receive, send)
        return await self.app(scope, receive, send)
