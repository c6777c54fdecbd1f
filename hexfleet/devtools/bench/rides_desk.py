"""The staff booking stream and the accept-bot, as the rides load tools use them.

The accept-bot plays every driver: it knows their device tokens, learns each offer from
the staff stream (``offered`` events carry the booking, the driver and the offer id) and
accepts it at once with that driver's token, as a driver app that taps "accept" would.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from dataclasses import dataclass

import orjson

from hexfleet.devtools.bench.rawhttp import ERRORS, Pool, StreamStats, follow

STREAM_PATH = "/api/v1/stream/bookings"
ACCEPT_PATH = "/api/v1/driver/offers/{}/accept"
ACCEPT_CONNECTIONS = 64
CONNECT_TIMEOUT_S = 15.0
STOP_WAIT_S = 5.0
TERMINAL = frozenset({"assigned", "no_driver", "cancelled"})


def count(counts: dict, key) -> None:
    counts[key] = counts.get(key, 0) + 1


class Desk:
    """What the staff stream told us about each booking, and the accept-bot answering it."""

    def __init__(self, host: str, port: int, driver_tokens: dict[int, str]) -> None:
        self.drivers = driver_tokens
        self.pool = Pool(host, port, ACCEPT_CONNECTIONS)
        self.offered_at: dict[int, float] = {}  # booking id → first offered event (perf_counter)
        self.offered_wall: dict[int, float] = {}  # the same, wall clock (compared with PostgreSQL's times)
        self.outcome: dict[int, tuple[str, float]] = {}  # booking id → terminal status, when seen
        self.accept_statuses: dict[int, int] = {}
        self.accept_errors: dict[str, int] = {}
        self.accept_ms = array("d")
        self.foreign_offers = 0  # offers to drivers the bot does not play (another area's)
        self.bad_events = 0
        self.stream = StreamStats()
        self.connected = asyncio.Event()
        self.stopping = asyncio.Event()
        self._remaining: set[int] | None = None  # bookings wait_for still waits for
        self._until_offered = False
        self._all_done = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()

    def on_data(self, data: bytes, now: float) -> None:
        try:
            event = orjson.loads(data)
            booking_id, status = event["booking_id"], event["status"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self.bad_events += 1
            return
        if status == "offered":
            if booking_id not in self.offered_at:
                self.offered_at[booking_id] = now
                self.offered_wall[booking_id] = time.time()
            if self._until_offered:
                self._done(booking_id)
            offer, driver_id = event.get("offer") or {}, event.get("driver_id")
            token = self.drivers.get(driver_id)
            if token is None or "id" not in offer:
                self.foreign_offers += 1
                return
            task = asyncio.create_task(self._accept(offer["id"], token))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif status in TERMINAL and booking_id not in self.outcome:
            self.outcome[booking_id] = (status, now)
            self._done(booking_id)

    def _done(self, booking_id: int) -> None:
        if self._remaining is not None:
            self._remaining.discard(booking_id)
            if not self._remaining:
                self._all_done.set()

    async def wait_for(self, booking_ids: set[int], until_offered: bool, within_s: float) -> bool:
        """Until each booking was offered (or ended), or each ended; False on timeout."""
        self._until_offered = until_offered
        seen = set(self.outcome) | (set(self.offered_at) if until_offered else set())
        self._remaining = booking_ids - seen
        if self._remaining:
            try:
                await asyncio.wait_for(self._all_done.wait(), max(0.0, within_s))
            except TimeoutError:
                return False
        return True

    async def _accept(self, offer_id: int, token: str) -> None:
        started = time.perf_counter()
        try:
            status, _ = await self.pool.call("POST", ACCEPT_PATH.format(offer_id), token)
        except ERRORS as error:
            count(self.accept_errors, type(error).__name__)
            return
        count(self.accept_statuses, status)
        self.accept_ms.append((time.perf_counter() - started) * 1000)

    async def start(self, host: str, port: int, staff_token: str) -> asyncio.Task:
        task = asyncio.create_task(
            follow(host, port, STREAM_PATH, staff_token, self.on_data, self.connected, self.stopping, self.stream)
        )
        try:
            await asyncio.wait_for(self.connected.wait(), CONNECT_TIMEOUT_S)
        except TimeoutError:
            task.cancel()
            raise RuntimeError(f"the staff booking stream did not connect ({self.stream.failures})") from None
        return task

    async def stop(self, task: asyncio.Task) -> None:
        self.stopping.set()
        if self._tasks:
            # Accepts still queued behind a server that fell behind are given up on.
            _, pending = await asyncio.wait(set(self._tasks), timeout=STOP_WAIT_S)
            for late in pending:
                late.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            self.accept_errors["given up"] = self.accept_errors.get("given up", 0) + len(pending)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        self.pool.close()


@dataclass
class DeskResult:
    accept_statuses: dict[int, int]
    accept_errors: dict[str, int]
    accept_ms: bytes
    foreign_offers: int
    bad_events: int
    stream_events: int
    stream_ended: int
    stream_failures: dict[str, int]


def desk_result(desk: Desk) -> DeskResult:
    s = desk.stream
    return DeskResult(
        desk.accept_statuses,
        desk.accept_errors,
        desk.accept_ms.tobytes(),
        desk.foreign_offers,
        desk.bad_events,
        s.events,
        s.ended,
        s.failures,
    )
