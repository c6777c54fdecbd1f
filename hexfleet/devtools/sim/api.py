"""Talking to the web app: readiness, pings, and the ride API calls of riders and drivers.

Every request goes through one small connection pool and a gate (see ``Shared.gate``).
Transport failures and server errors are counted and warned about once per kind and
interval; answers a caller expects (404, 409, 422) are handed back for it to judge.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

import httpx
import orjson

from hexfleet.devtools.sim.accounts import DemoDriver
from hexfleet.devtools.sim.config import SimConfig
from hexfleet.devtools.sim.report import Reporter, describe_error, pause

PINGS_PATH = "/api/v1/driver/pings"
READY_TIMEOUT_S = 60.0
MAX_BACKOFF_S = 15.0
REQUEST_TIMEOUT_S = 10.0
CONNECTIONS = 8  # see Shared.gate; a local server answers in ~1 ms, so 8 carry thousands of pings/s


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
        await pause(stop, 0.5)
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
        driver_token_rejected(reporter, driver, body)
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


def driver_token_rejected(reporter: Reporter, driver: DemoDriver, body: dict) -> None:
    """Say why the simulator stops: once, though several requests may be in flight."""
    if not reporter.stats.token_rejected:
        reporter.stats.token_rejected = True
        reporter.say(
            f"simulate: the server rejected the token of {driver.name} (401{problem_detail(body)}); another "
            "simulator may have issued new demo tokens, or the drivers were deleted. Stopping.",
            error=True,
        )


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
    """What every driver and rider task shares."""

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


# --- the ride API ----------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def call(
    shared: Shared, method: str, path: str, token: str, what: str, body: dict | None = None
) -> Answer | None:
    """One ride API request. None when the transport or the server failed (unreachable,
    timeout, 5xx, 429): counted and warned about once per ``what`` and status, for the
    caller to try again later. Any other answer (401, 404, 409, 422, ...) is the caller's."""
    headers = {"Authorization": f"Bearer {token}"}
    content = None
    if body is not None:
        content = orjson.dumps(body)
        headers["Content-Type"] = "application/json"
    try:
        async with shared.gate:
            response = await shared.client.request(method, path, content=content, headers=headers)
    except httpx.HTTPError as error:
        shared.reporter.failed("unreachable", f"cannot reach {shared.config.url}: {describe_error(error)}")
        return None
    answer = Answer(response.status_code, parse_json_object(response.content))
    if answer.status >= 500 or answer.status == 429:
        shared.reporter.failed(
            f"{what}-{answer.status}",
            f"{method} {path} answered {answer.status} {response.reason_phrase}{problem_detail(answer.body)}",
        )
        return None
    return answer


def parse_time(value: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 time in an answer; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.timestamp() if when.tzinfo is not None else None
