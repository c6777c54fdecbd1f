"""A minimal HTTP/1.1 keep-alive client and SSE follower on asyncio streams.

The rides phases' load tools share the two cores with the servers they measure, and
httpx spends several times the CPU per request of writing the bytes ourselves; sse.py
made the same choice for pings. Only what the hexfleet API answers is understood:
``Content-Length`` bodies (every JSON answer) and chunked ones (streams).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# What a failed request raises: the connection is closed and the caller counts an error.
ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)
# uvicorn closes a keep-alive connection after 5 idle seconds (--timeout-keep-alive): one
# idle longer is not reused, or a POST would meet a closed socket and count as a failure.
IDLE_MAX_S = 4.0


def request_bytes(method: str, path: str, host: str, token: str, body: bytes = b"") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.reusable = True
        self.last_used = time.monotonic()

    async def call(self, data: bytes) -> tuple[int, bytes]:
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.find(b"\r\n", at + 2)
            body = await self.reader.readexactly(int(head[at + 17 : end]))
        elif b"\r\ntransfer-encoding: chunked" in lower:
            body = await self._chunked()
        else:
            body = b""
        if b"\r\nconnection: close" in lower:
            self.reusable = False
        self.last_used = time.monotonic()
        return status, body

    async def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Keep-alive connections to one server, at most ``limit`` requests in flight.

    A request that finds every connection busy opens another (up to the limit), so an
    open-loop schedule is never held back by a slow answer on another connection.
    """

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.authority = f"{host}:{port}"
        self._idle: list[Conn] = []
        self._gate = asyncio.Semaphore(limit)
        self.in_flight = 0
        self.max_in_flight = 0
        self.opened = 0

    async def call(self, method: str, path: str, token: str, body: bytes = b"") -> tuple[int, bytes]:
        data = request_bytes(method, path, self.authority, token, body)
        async with self._gate:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                conn = self._take_idle() or await self._open()
                try:
                    result = await conn.call(data)
                except BaseException:
                    conn.close()
                    raise
                if conn.reusable:
                    self._idle.append(conn)
                else:
                    conn.close()
                return result
            finally:
                self.in_flight -= 1

    def _take_idle(self) -> Conn | None:
        while self._idle:
            conn = self._idle.pop()
            if time.monotonic() - conn.last_used < IDLE_MAX_S:
                return conn
            conn.close()
        return None

    async def _open(self) -> Conn:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened += 1
        return Conn(reader, writer)

    async def warm(self, count: int) -> None:
        """Open connections ahead of a timed phase: a handshake is no part of the figures."""
        for conn in await asyncio.gather(*(self._open() for _ in range(count))):
            self._idle.append(conn)

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()


@dataclass
class StreamStats:
    connects: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    ended: int = 0  # streams the server ended while we still read (a dropped subscriber)
    events: int = 0


async def follow(
    host: str,
    port: int,
    path: str,
    token: str,
    on_data: Callable[[bytes, float], None],
    connected: asyncio.Event,
    stopping: asyncio.Event,
    stats: StreamStats,
) -> None:
    """Read an SSE stream until ``stopping``, reconnecting if the server ends it.

    ``on_data`` gets each ``data:`` payload and its arrival time (time.perf_counter).
    Chunk-size lines need no decoding: the server writes whole events per chunk, so
    they are lines of their own and are skipped like comments.
    """
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()
    while not stopping.is_set():
        writer = None
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                key = head[9:12].decode(errors="replace")
                stats.failures[key] = stats.failures.get(key, 0) + 1
                await asyncio.sleep(0.5)
                continue
            stats.connects += 1
            buf = b""
            while True:
                data = await reader.read(262_144)
                if not data:
                    break
                now = time.perf_counter()
                buf += data
                lines = buf.split(b"\n")
                buf = lines.pop()
                for line in lines:
                    if line.startswith(b": connected"):
                        connected.set()  # subscribed: nothing published from now on is missed
                    elif line[:6] == b"data: ":
                        stats.events += 1
                        on_data(line[6:], now)
            if not stopping.is_set():
                stats.ended += 1
        except ERRORS as error:
            name = type(error).__name__
            stats.failures[name] = stats.failures.get(name, 0) + 1
            await asyncio.sleep(0.5)
        finally:
            if writer is not None:
                writer.close()
