"""Ping→SSE latency: a paced load generator and SSE readers in separate processes.

The generator posts unary pings at a fixed rate, round-robin over the fleet, each with
``ts`` = the wall clock at send (truncated to ms, so the latency can only be overstated,
by under 1 ms). Readers hold the SSE connections, most following one driver each (a
customer watching their driver) and a few unfiltered (dispatcher maps receiving every
ping), and record receive time - ts for each event whose ts is inside the measuring
window. Both use a minimal HTTP/1.1 client on raw asyncio streams: the load tools share
the two cores with the servers, so they must cost as little as possible.

Chunked transfer framing needs no decoding here: the server writes whole SSE events per
chunk, so the chunk-size lines are lines of their own and are skipped like comments.
"""

from __future__ import annotations

import asyncio
import calendar
import math
import multiprocessing
import signal
import time
from array import array
from dataclasses import dataclass, field

INGEST_PATH = "/api/v1/driver/pings"
STREAM_PATH = "/api/v1/stream/positions"
CONNECT_DEADLINE_S = 60.0
GRACE_S = 3.0  # after the window: let the last events arrive
MAX_BEHIND_S = 1.0


def _run(coro):
    # A terminal Ctrl-C reaches the whole process group: the bench stops these processes
    # itself, so they ignore it instead of each printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


# --- load generator ----------------------------------------------------------------


@dataclass
class GenResult:
    sent: int = 0
    skipped: int = 0  # sends dropped because the lane was more than MAX_BEHIND_S late
    sent_in_window: int = 0
    accepted: int = 0  # 202s in the window
    failed: int = 0  # non-202 answers and connection errors, whole run
    statuses: dict[int, int] = field(default_factory=dict)
    post_ms: bytes = b""  # array('d') of POST round trips in the window
    late_ms: bytes = b""  # array('d') of send time - scheduled time in the window


def loadgen_main(host: str, port: int, tokens: list[str], rate: float, t_start: float, window, connections, pipe):
    pipe.send(_run(_generate(host, port, tokens, rate, t_start, window, connections)))
    pipe.close()


async def _generate(host, port, tokens, rate, t_start, window, connections) -> GenResult:
    w0, w1 = window
    heads = [
        (
            f"POST {INGEST_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {t}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        for t in tokens
    ]
    n_drivers = len(tokens)
    last_ts = [0.0] * n_drivers
    result = GenResult()
    post_ms, late_ms = array("d"), array("d")

    async def lane(first: int) -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        n = first
        while True:
            target = t_start + n / rate
            if target >= w1 or time.time() >= w1:
                break  # a generator that fell behind drops its backlog: the achieved rate says so
            delay = target - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -MAX_BEHIND_S:
                # Hopelessly behind (the server answers slower than the rate needs): skip rather
                # than burst, which would send one driver's pings back to back, out of pace.
                result.skipped += 1
                n += connections
                continue
            try:
                if reader is None or writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                d = n % n_drivers
                now = time.time()
                # Never the same device time twice for a driver (the server would count a
                # duplicate), even when lanes that fell behind send a driver's pings back to back.
                ts = max(math.floor(now * 1000) / 1000, last_ts[d] + 0.001)
                last_ts[d] = ts
                body = b'{"lat":%.6f,"lng":%.6f,"ts":%.3f,"speed_mps":8.5,"heading":90}' % (
                    52.45 + (d % 100) * 0.0012 + (n % 50) * 0.00001,
                    13.30 + (d // 100) * 0.0012,
                    ts,
                )
                writer.write(heads[d] + b"%d\r\n\r\n" % len(body) + body)
                started = time.perf_counter()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                at = head.lower().find(b"content-length:")
                length = int(head[at + 15 : head.find(b"\r\n", at)]) if at >= 0 else 0
                if length:
                    await reader.readexactly(length)
                elapsed = time.perf_counter() - started
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                result.failed += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.05)
                n += connections
                continue
            result.sent += 1
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status != 202:
                result.failed += 1
            if w0 <= ts < w1:
                result.sent_in_window += 1
                if status == 202:
                    result.accepted += 1
                post_ms.append(elapsed * 1000)
                late_ms.append(max(0.0, now - target) * 1000)
            n += connections
        if writer is not None:
            writer.close()

    await asyncio.gather(*(lane(c) for c in range(connections)))
    result.post_ms = post_ms.tobytes()
    result.late_ms = late_ms.tobytes()
    return result


# --- SSE readers -------------------------------------------------------------------


@dataclass
class ReaderResult:
    connected: int = 0
    connect_failures: int = 0
    failure_statuses: dict[str, int] = field(default_factory=dict)
    ended: int = 0  # streams the server ended while running (dropped subscribers)
    events: int = 0  # position events received, whole run
    follower_ms: bytes = b""
    dispatcher_ms: bytes = b""


def reader_main(host: str, port: int, token: str, followed: list[int], dispatchers: int, pipe):
    pipe.send(_run(_read(host, port, token, followed, dispatchers, pipe)))
    pipe.close()


async def _read(host, port, token, followed, dispatchers, pipe) -> ReaderResult:
    loop = asyncio.get_running_loop()
    result = ReaderResult()
    window = [math.inf, math.inf]
    stopping = asyncio.Event()
    seconds_cache: dict[bytes, int] = {}
    follower_ms, dispatcher_ms = array("d"), array("d")
    gate = asyncio.Semaphore(50)  # connect in waves, not 500 handshakes at once
    first_done = 0
    all_first_done = asyncio.Event()
    specs = [(d, follower_ms) for d in followed] + [(None, dispatcher_ms)] * dispatchers

    def epoch(ts: bytes) -> float:
        # "2026-11-21T10:00:00.123Z": whole seconds cached, they change once a second.
        head = ts[:19]
        seconds = seconds_cache.get(head)
        if seconds is None:
            seconds = calendar.timegm(time.strptime(head.decode(), "%Y-%m-%dT%H:%M:%S"))
            seconds_cache[head] = seconds
        return seconds + int(ts[20:23]) / 1000

    async def client(driver_id: int | None, sink: array) -> None:
        nonlocal first_done
        query = f"?driver_id={driver_id}" if driver_id is not None else ""
        request = (
            f"GET {STREAM_PATH}{query} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        ).encode()
        first = True
        while not stopping.is_set():
            writer = None
            try:
                async with gate:
                    reader, writer = await asyncio.open_connection(host, port)
                    writer.write(request)
                    head = await reader.readuntil(b"\r\n\r\n")
                ok = head.startswith(b"HTTP/1.1 200")
                if first:
                    first = False
                    first_done += 1
                    if ok:
                        result.connected += 1
                    if first_done == len(specs):
                        all_first_done.set()
                if not ok:
                    result.connect_failures += 1
                    key = head[9:12].decode(errors="replace")
                    result.failure_statuses[key] = result.failure_statuses.get(key, 0) + 1
                    writer.close()
                    await asyncio.sleep(1)
                    continue
                buf = b""
                while True:
                    data = await reader.read(262_144)
                    if not data:
                        break
                    now = time.time()
                    buf += data
                    lines = buf.split(b"\n")
                    buf = lines.pop()
                    w0, w1 = window
                    for line in lines:
                        if line[:6] != b"data: ":
                            continue
                        at = line.find(b'"ts":"')
                        if at < 0:
                            continue  # a status event
                        result.events += 1
                        sent = epoch(line[at + 6 : at + 30])
                        if w0 <= sent < w1:
                            sink.append((now - sent) * 1000)
                if not stopping.is_set():
                    result.ended += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
                if first:
                    first = False
                    first_done += 1
                    result.connect_failures += 1
                    name = type(error).__name__
                    result.failure_statuses[name] = result.failure_statuses.get(name, 0) + 1
                    if first_done == len(specs):
                        all_first_done.set()
                await asyncio.sleep(0.5)
            finally:
                if writer is not None:
                    writer.close()

    tasks = [asyncio.create_task(client(d, sink)) for d, sink in specs]
    if not specs:
        all_first_done.set()
    try:
        await asyncio.wait_for(all_first_done.wait(), CONNECT_DEADLINE_S)
    except TimeoutError:
        pass
    pipe.send(("connected", result.connected, result.connect_failures))
    command = await loop.run_in_executor(None, pipe.recv)
    if command[0] == "go":
        window[0], window[1] = command[1]
        await asyncio.sleep(max(0.0, window[1] + GRACE_S - time.time()))
    stopping.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    result.follower_ms = follower_ms.tobytes()
    result.dispatcher_ms = dispatcher_ms.tobytes()
    return result


# --- the phase ---------------------------------------------------------------------


@dataclass
class SseResult:
    target_rate: float
    achieved_rate: float
    window_s: float
    sent_in_window: int
    accepted_in_window: int
    gen_failed: int
    gen_skipped: int
    gen_statuses: dict[int, int]
    post_ms: array
    late_ms: array
    clients: int
    followers: int
    dispatchers: int
    connected: int
    connect_failures: int
    failure_statuses: dict[str, int]
    ended: int
    events: int
    follower_ms: array
    dispatcher_ms: array
    expected_follower_events: float
    expected_dispatcher_events: float

    @property
    def all_ms(self) -> array:
        return self.follower_ms + self.dispatcher_ms


def _terminate(processes) -> None:
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(5)
        if p.is_alive():
            p.kill()
            p.join(5)


def run_phase(
    host: str,
    port: int,
    driver_ids: list[int],
    tokens: list[str],
    dispatcher_token: str,
    *,
    rate: float,
    clients: int,
    dispatchers: int,
    warmup_s: float,
    duration_s: float,
    readers: int,
    gen_connections: int,
    on_started=lambda name, pid: None,
) -> SseResult:
    """Connect the SSE clients, run the paced load, collect the latencies."""
    ctx = multiprocessing.get_context("spawn")
    dispatchers = min(dispatchers, clients)
    followed = [driver_ids[i % len(driver_ids)] for i in range(clients - dispatchers)]
    readers = max(1, min(readers, clients))
    processes: list = []
    try:
        pipes = []
        for r in range(readers):
            parent, child = ctx.Pipe()
            share = (followed[r::readers], len(range(r, dispatchers, readers)))
            proc = ctx.Process(
                target=reader_main,
                args=(host, port, dispatcher_token, *share, child),
                daemon=True,
                name=f"sse-reader-{r}",
            )
            proc.start()
            processes.append(proc)
            pipes.append(parent)
            on_started("sse-readers", proc.pid)
        connected = failures = 0
        for parent in pipes:
            _, ok, failed = _receive(parent, CONNECT_DEADLINE_S + 30, "an SSE reader did not report its connections")
            connected += ok
            failures += failed
        t_start = time.time() + 0.2
        window = (t_start + warmup_s, t_start + warmup_s + duration_s)
        for parent in pipes:
            parent.send(("go", window))
        gen_parent, gen_child = ctx.Pipe()
        gen = ctx.Process(
            target=loadgen_main,
            args=(host, port, tokens, rate, t_start, window, gen_connections, gen_child),
            daemon=True,
            name="sse-loadgen",
        )
        gen.start()
        processes.append(gen)
        on_started("loadgen", gen.pid)
        gen_result: GenResult = _receive(gen_parent, window[1] - time.time() + 60, "the load generator did not finish")
        results: list[ReaderResult] = [
            _receive(parent, window[1] + GRACE_S + 30 - time.time(), "an SSE reader did not report its results")
            for parent in pipes
        ]
    finally:
        _terminate(processes)  # also reaps them, so their CPU time counts in the phase
    return _combine(
        gen_result, results, rate, duration_s, len(driver_ids), clients, followed, dispatchers, connected, failures
    )


def _receive(pipe, timeout: float, what: str):
    try:
        if not pipe.poll(max(1.0, timeout)):
            raise RuntimeError(f"{what} in time")
        return pipe.recv()
    except EOFError:
        raise RuntimeError(f"{what}: the process died (see its error above)") from None


def _combine(gen_result, results, rate, duration_s, drivers, clients, followed, dispatchers, connected, failures):
    follower_ms, dispatcher_ms = array("d"), array("d")
    failure_statuses: dict[str, int] = {}
    for r in results:
        follower_ms.frombytes(r.follower_ms)
        dispatcher_ms.frombytes(r.dispatcher_ms)
        for k, v in r.failure_statuses.items():
            failure_statuses[k] = failure_statuses.get(k, 0) + v
    post_ms, late_ms = array("d"), array("d")
    post_ms.frombytes(gen_result.post_ms)
    late_ms.frombytes(gen_result.late_ms)
    # Each driver pings rate/drivers times a second; a follower sees its driver's pings,
    # a dispatcher every accepted ping (the hub may coalesce a few when a client lags).
    per_driver_in_window = gen_result.accepted / drivers
    return SseResult(
        target_rate=rate,
        achieved_rate=gen_result.sent_in_window / duration_s,
        window_s=duration_s,
        sent_in_window=gen_result.sent_in_window,
        accepted_in_window=gen_result.accepted,
        gen_failed=gen_result.failed,
        gen_skipped=gen_result.skipped,
        gen_statuses=gen_result.statuses,
        post_ms=post_ms,
        late_ms=late_ms,
        clients=clients,
        followers=len(followed),
        dispatchers=dispatchers,
        connected=connected,
        connect_failures=failures,
        failure_statuses=failure_statuses,
        ended=sum(r.ended for r in results),
        events=sum(r.events for r in results),
        follower_ms=follower_ms,
        dispatcher_ms=dispatcher_ms,
        expected_follower_events=len(followed) * per_driver_in_window,
        expected_dispatcher_events=dispatchers * gen_result.accepted,
    )


def percentiles(values: array, points=(50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles and the maximum; empty input gives an empty dict."""
    if not values:
        return {}
    ordered = sorted(values)
    out = {f"p{p}": ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))] for p in points}
    out["max"] = ordered[-1]
    return out
