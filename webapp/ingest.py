"""POST /api/v1/driver/pings as a raw ASGI handler in front of Quart.

This is the hottest endpoint (every driver, every few seconds). Quart costs ~285 µs a
request here (MEASUREMENTS.md) against ~30 µs for a raw handler, so this path parses,
authenticates and produces without the framework, while keeping the public contract:
Bearer device token, 202 with counts, problem+json errors. Everything else is Quart.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

import orjson

from hexfleet.drivers import queries as driver_queries
from hexfleet.tracking.pings import Ping, PingError, parse_body
from streaming.events import encode_pings, key_for
from webapp.problems import CONTENT_TYPE, problem_body

PATH = "/api/v1/driver/pings"
_JSON = b"application/json"


class DeviceAuth:
    """Device token → driver id, cached briefly so the hot path rarely touches PostgreSQL.

    Revocation takes effect within ``ttl`` seconds on every web process.
    """

    def __init__(self, pool, ttl: float, max_entries: int = 100_000) -> None:
        self.pool = pool
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: dict[bytes, tuple[int | None, float]] = {}

    async def driver_for(self, token: str) -> int | None:
        digest = hashlib.sha256(token.encode()).digest()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        async with self.pool.acquire() as conn:
            driver_id = await driver_queries.driver_for_token(conn, token)
        if len(self._cache) >= self.max_entries:
            self._cache.clear()  # crude but bounded; a refill costs one query per device
        self._cache[digest] = (driver_id, now + self.ttl)
        return driver_id

    def forget(self) -> None:
        self._cache.clear()


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


async def _send(send, status: int, body: bytes, content_type: bytes = _JSON, extra: list | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Ingest:
    def __init__(self, settings, pool, producer, metrics) -> None:
        self.settings = settings
        self.auth = DeviceAuth(pool, settings.auth_cache_ttl_s)
        self.recent = RecentPings()
        self.producer = producer
        self.metrics = metrics
        self.topic = settings.kafka_topic_locations

    async def _problem(self, send, status: int, detail: str, reason: str, extra: list | None = None, **fields) -> None:
        self.metrics.pings_rejected.labels(reason).inc()
        await _send(send, status, problem_body(status, detail, reason, **fields), CONTENT_TYPE, extra)

    async def __call__(self, scope, receive, send) -> None:
        headers = dict(scope["headers"])
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() != b"bearer " or len(auth) > 200:
            return await self._problem(
                send,
                401,
                "send Authorization: Bearer <device token>",
                "unauthenticated",
                [(b"www-authenticate", b'Bearer realm="hexfleet"')],
            )
        length = headers.get(b"content-length")
        limit = self.settings.max_body_bytes
        if length is not None and length.isdigit() and int(length) > limit:
            return await self._problem(send, 413, f"body larger than {limit} bytes", "too-large")
        body = await _read_body(receive, limit)
        if body is None:
            return await self._problem(send, 413, f"body larger than {limit} bytes", "too-large")
        driver_id = await self.auth.driver_for(auth[7:].strip().decode("latin-1"))
        if driver_id is None:
            return await self._problem(
                send,
                401,
                "unknown or revoked device token",
                "bad-token",
                [(b"www-authenticate", b'Bearer realm="hexfleet", error="invalid_token"')],
            )
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            return await self._problem(send, 400, "body is not valid JSON", "malformed-json")
        try:
            _, result = parse_body(decoded, self.settings.max_batch_pings)
        except PingError as error:
            return await self._problem(send, 422, str(error), "invalid-ping")
        for _ in result.rejected:
            self.metrics.pings_rejected.labels("invalid-ping").inc()
        fresh, duplicates = self.recent.split(driver_id, result.pings)
        if fresh:
            started = time.perf_counter()
            try:
                # One record per request: a batch from one driver stays in order and costs one send.
                future = await self.producer.send(
                    self.topic, encode_pings(driver_id, time.time(), fresh), key=key_for(driver_id)
                )
                await future  # acknowledged (acks=all) before we promise 202
            except Exception:
                return await self._problem(
                    send,
                    503,
                    "could not queue the pings; retry shortly",
                    "broker-unavailable",
                    [(b"retry-after", b"2")],
                )
            self.metrics.produce_seconds.observe(time.perf_counter() - started)
            self.recent.remember(driver_id, fresh)
            self.metrics.pings_accepted.inc(len(fresh))
        if duplicates:
            self.metrics.pings_duplicate.inc(duplicates)
        await _send(
            send, 202, orjson.dumps({"accepted": len(fresh), "duplicates": duplicates, "rejected": result.rejected})
        )


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
            ingest = self.quart_app.extensions.get("ingest")
            if ingest is not None:
                return await ingest(scope, receive, send)
        return await self.app(scope, receive, send)
