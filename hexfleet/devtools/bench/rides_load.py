"""The rides phases' load: quotes at a steady rate, bookings timed to their offer, and a
booking flood answered by the accept-bot (rides_desk). Each runs in a process of its own.

Timing is client-side, on time.perf_counter in one process: a booking's POST and the
``offered`` event that answers it on the staff stream are seen by the same clock.
"""

from __future__ import annotations

import asyncio
import signal
import time
from array import array
from dataclasses import dataclass, field

import orjson

from hexfleet.devtools.bench.rawhttp import ERRORS, Pool
from hexfleet.devtools.bench.rides_desk import ACCEPT_CONNECTIONS, Desk, DeskResult, desk_result
from hexfleet.devtools.bench.rides_desk import count as _count

QUOTES_PATH = "/api/v1/quotes"
BOOKINGS_PATH = "/api/v1/bookings"
# Open-loop requests in flight at most: 200/s answered within 300 ms needs 60, so a
# healthy server never meets the cap; one that falls behind sees the rest wait here (and
# the wait counted in their latency) instead of a backlog it keeps serving after the phase.
MAX_IN_FLIGHT = 64
DRAIN_S = 10.0  # after the last scheduled request
ACCEPT_GRACE_S = 0.5


def _run(coro):
    # A terminal Ctrl-C reaches the whole process group: the bench stops this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def passenger(n: int) -> dict:
    return {"name": f"Bench Rider {n}", "phone": f"+49 30 {1_000_000 + n % 9_000_000}"}


# --- quotes --------------------------------------------------------------------------


@dataclass
class QuoteResult:
    rate: float
    window_s: float
    sent_in_window: int = 0
    ok_in_window: int = 0
    statuses: dict[int, int] = field(default_factory=dict)  # whole run
    errors: dict[str, int] = field(default_factory=dict)  # connection errors, whole run
    latency_ms: bytes = b""  # array('d'): answer time - scheduled send time, requests scheduled in the window
    late_ms: bytes = b""  # array('d'): actual send - scheduled send (the client's own lateness)
    max_in_flight: int = 0
    connections: int = 0

    @property
    def achieved_rate(self) -> float:
        return self.ok_in_window / self.window_s


def quotes_main(host, port, customers, bodies, rate, warmup_s, duration_s, pipe) -> None:
    pipe.send(_run(_quotes(host, port, customers, bodies, rate, warmup_s, duration_s, pipe)))
    pipe.close()


async def _quotes(host, port, customers, bodies, rate, warmup_s, duration_s, pipe) -> QuoteResult:
    result = QuoteResult(rate, duration_s)
    latency, late = array("d"), array("d")
    pool = Pool(host, port, MAX_IN_FLIGHT)
    await pool.warm(8)
    tasks: set[asyncio.Task] = set()
    pipe.send(("started",))
    t0 = time.perf_counter() + 0.05
    w0, w1 = t0 + warmup_s, t0 + warmup_s + duration_s

    async def one(n: int, target: float) -> None:
        started = time.perf_counter()
        try:
            status, _ = await pool.call("POST", QUOTES_PATH, customers[n % len(customers)], bodies[n % len(bodies)])
        except ERRORS as error:
            _count(result.errors, type(error).__name__)
            return
        except asyncio.CancelledError:
            # Unanswered at the end: its latency is at least this long (and it counts as failed).
            _count(result.errors, "unanswered")
            if w0 <= target < w1:
                result.sent_in_window += 1
                latency.append((time.perf_counter() - target) * 1000)
                late.append((started - target) * 1000)
            raise
        done = time.perf_counter()
        _count(result.statuses, status)
        if w0 <= target < w1:
            result.sent_in_window += 1
            if status == 201:
                result.ok_in_window += 1
            # From the scheduled time: a client that fell behind can only overstate the latency.
            latency.append((done - target) * 1000)
            late.append((started - target) * 1000)

    n = 0
    while (target := t0 + n / rate) < w1:
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(n, target))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    await _finish(tasks)
    pool.close()
    result.latency_ms, result.late_ms = latency.tobytes(), late.tobytes()
    result.max_in_flight, result.connections = pool.max_in_flight, pool.opened
    return result


async def _finish(tasks: set[asyncio.Task]) -> None:
    """Wait for the requests still in flight, for a while: a server that fell far behind
    would otherwise keep the phase going long after its window."""
    if tasks:
        _, pending = await asyncio.wait(set(tasks), timeout=DRAIN_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


# --- booking → offer -----------------------------------------------------------------


@dataclass
class OfferResult:
    rate: float
    window_s: float
    desk: DeskResult
    booked_in_window: int = 0
    offered_in_window: int = 0
    assigned_in_window: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    offer_ms: bytes = b""  # array('d'): offered event - start of the booking's POST
    post_ms: bytes = b""  # array('d'): the booking POST's round trip
    late_ms: bytes = b""
    booking_ids: list[int] = field(default_factory=list)
    # (booking id, POST start, offered event), wall clock: set against PostgreSQL's times of
    # the same booking, they say where the time went (rides.offer_segments).
    timeline: list[tuple[int, float, float]] = field(default_factory=list)

    @property
    def achieved_rate(self) -> float:
        return self.booked_in_window / self.window_s


def offers_main(host, port, quotes, driver_tokens, staff_token, rate, warmup_s, duration_s, grace_s, pipe) -> None:
    coro = _offers(host, port, quotes, driver_tokens, staff_token, rate, warmup_s, duration_s, grace_s, pipe)
    pipe.send(_run(coro))
    pipe.close()


async def _offers(
    host, port, quotes, driver_tokens, staff_token, rate, warmup_s, duration_s, grace_s, pipe
) -> OfferResult:
    desk = Desk(host, port, driver_tokens)
    stream = await desk.start(host, port, staff_token)
    pool = Pool(host, port, MAX_IN_FLIGHT)
    await pool.warm(4)
    await desk.pool.warm(4)
    started_at: dict[int, tuple[float, bool, float]] = {}  # booking id → (POST start, in the window, wall clock)
    post_ms, late = array("d"), array("d")
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}
    tasks: set[asyncio.Task] = set()
    pipe.send(("started",))
    t0 = time.perf_counter() + 0.05
    w0, w1 = t0 + warmup_s, t0 + warmup_s + duration_s

    async def one(n: int, target: float) -> None:
        token, quote_id = quotes[n]
        body = orjson.dumps({"quote_id": quote_id, "passenger": passenger(n)})
        started, wall = time.perf_counter(), time.time()
        try:
            status, answer = await pool.call("POST", BOOKINGS_PATH, token, body)
        except ERRORS as error:
            _count(errors, type(error).__name__)
            return
        _count(statuses, status)
        if status == 201:
            in_window = w0 <= target < w1
            started_at[orjson.loads(answer)["id"]] = (started, in_window, wall)
            if in_window:
                post_ms.append((time.perf_counter() - started) * 1000)
                late.append((started - target) * 1000)

    n = 0
    while (target := t0 + n / rate) < w1 and n < len(quotes):
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(n, target))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    await _finish(tasks)
    # Late offers count with their full latency; only the grace's end makes one missing.
    await desk.wait_for(set(started_at), True, grace_s)
    await asyncio.sleep(ACCEPT_GRACE_S)  # the last accepts
    await desk.stop(stream)
    pool.close()
    result = OfferResult(rate, duration_s, desk_result(desk), statuses=statuses, errors=errors)
    offer_ms = array("d")
    for booking_id, (started, in_window, wall) in started_at.items():
        if not in_window:
            continue
        result.booked_in_window += 1
        offered = desk.offered_at.get(booking_id)
        if offered is not None:
            result.offered_in_window += 1
            offer_ms.append((offered - started) * 1000)
            result.timeline.append((booking_id, wall, desk.offered_wall[booking_id]))
        if desk.outcome.get(booking_id, ("",))[0] == "assigned":
            result.assigned_in_window += 1
    result.offer_ms, result.post_ms, result.late_ms = offer_ms.tobytes(), post_ms.tobytes(), late.tobytes()
    result.booking_ids = sorted(started_at)
    return result


# --- dispatch throughput ---------------------------------------------------------------


@dataclass
class DispatchResult:
    bookings: int
    connections: int
    desk: DeskResult
    created: int = 0
    post_s: float = 0.0  # from the first POST to the last booking created
    finished_s: float = 0.0  # until every booking was terminal (or the deadline)
    timed_out: bool = False
    abandoned: int = 0  # bookings not even sent: the first half of the deadline had passed
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    post_ms: bytes = b""
    offer_ms: bytes = b""  # array('d'): offered event - booking POST start
    assigned_s: bytes = b""  # array('d'): when each assigned event arrived, seconds from the start
    outcomes: dict[str, int] = field(default_factory=dict)  # as seen on the stream
    booking_ids: list[int] = field(default_factory=list)
    start_epoch: float = 0.0  # wall clock at the start, to compare with PostgreSQL's assigned_at


def dispatch_main(host, port, quotes, driver_tokens, staff_token, connections, deadline_s, pipe) -> None:
    pipe.send(_run(_dispatch(host, port, quotes, driver_tokens, staff_token, connections, deadline_s, pipe)))
    pipe.close()


async def _dispatch(host, port, quotes, driver_tokens, staff_token, connections, deadline_s, pipe) -> DispatchResult:
    desk = Desk(host, port, driver_tokens)
    stream = await desk.start(host, port, staff_token)
    pool = Pool(host, port, connections)
    await pool.warm(connections)
    await desk.pool.warm(ACCEPT_CONNECTIONS // 2)
    result = DispatchResult(len(quotes), connections, desk_result(desk))
    started_at: dict[int, float] = {}
    post_ms = array("d")
    pipe.send(("started",))
    result.start_epoch = time.time()
    t0 = time.perf_counter()
    following = iter(range(len(quotes)))

    async def lane() -> None:
        for n in following:  # shared: each lane takes the next booking as soon as it is free
            if time.perf_counter() - t0 > deadline_s / 2:
                result.abandoned += 1  # the server takes bookings too slowly to finish in time
                continue
            token, quote_id = quotes[n]
            body = orjson.dumps({"quote_id": quote_id, "passenger": passenger(n)})
            started = time.perf_counter()
            try:
                status, answer = await pool.call("POST", BOOKINGS_PATH, token, body)
            except ERRORS as error:
                _count(result.errors, type(error).__name__)
                continue
            _count(result.statuses, status)
            if status == 201:
                started_at[orjson.loads(answer)["id"]] = started
                post_ms.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(lane() for _ in range(connections)))
    result.created = len(started_at)
    result.post_s = time.perf_counter() - t0
    result.timed_out = not await desk.wait_for(set(started_at), False, t0 + deadline_s - time.perf_counter())
    result.finished_s = time.perf_counter() - t0
    await desk.stop(stream)
    pool.close()
    result.desk = desk_result(desk)
    offer_ms, assigned_s = array("d"), array("d")
    for booking_id, started in started_at.items():
        offered = desk.offered_at.get(booking_id)
        if offered is not None:
            offer_ms.append((offered - started) * 1000)
        status, seen = desk.outcome.get(booking_id, ("open", 0.0))
        _count(result.outcomes, status)
        if status == "assigned":
            assigned_s.append(seen - t0)
    result.post_ms, result.offer_ms = post_ms.tobytes(), offer_ms.tobytes()
    result.assigned_s = array("d", sorted(assigned_s)).tobytes()
    result.booking_ids = sorted(started_at)
    return result
