"""Slow and abusive clients against the real server protocol (webapp/serving.py under uvicorn):
header and body deadlines, header caps, stuck stream readers closed, and normal clients served
throughout."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import pytest
from helpers import make_driver, make_user

from webapp import serving
from webapp.services import services


async def raw(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    return reader, writer


async def answer(reader: asyncio.StreamReader, within: float) -> bytes:
    return await asyncio.wait_for(reader.read(), within)  # until the server closes


async def test_slow_headers_are_cut_off_and_normal_clients_are_served_meanwhile(server):
    _, port = server
    started = time.monotonic()
    slow = [await raw(port, b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Drip: ") for _ in range(200)]
    async with httpx.AsyncClient(trust_env=False) as client:
        for _ in range(20):  # while 200 clients dribble their headers
            assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    replies = await asyncio.gather(*(answer(r, serving.HEADER_TIMEOUT_S + 5) for r, _ in slow))
    assert all(reply.startswith(b"HTTP/1.1 408") for reply in replies)
    assert time.monotonic() - started < serving.HEADER_TIMEOUT_S + 5
    for _, writer in slow:
        writer.close()


@pytest.mark.parametrize(
    "headers",
    [
        b"X-Big: " + b"a" * (200 * 1024) + b"\r\n",
        b"".join(b"X-N%d: 1\r\n" % i for i in range(5000)),
    ],
)
async def test_oversized_headers_are_refused(server, headers):
    _, port = server
    reader, writer = await raw(port, b"GET /healthz HTTP/1.1\r\nHost: test\r\n" + headers + b"\r\n")
    reply = await answer(reader, 5)
    assert reply.startswith(b"HTTP/1.1 431")
    writer.close()


async def test_an_ingest_body_must_arrive_in_time_and_strangers_wait_for_nothing(server, db):
    _, port = server
    _, device = await make_driver(db, "Slow Body")
    head = (
        b"POST /api/v1/driver/pings HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b'Content-Length: 60\r\nAuthorization: Bearer %s\r\n\r\n{"lat":'
    )
    reader, writer = await raw(port, head % b"junk-token")
    stranger = await asyncio.wait_for(reader.read(4096), 3)  # answered before any body arrives
    assert stranger.startswith(b"HTTP/1.1 401")
    writer.close()
    started = time.monotonic()
    reader, writer = await raw(port, head % device.token.encode())
    reply = await asyncio.wait_for(reader.read(4096), 15)
    assert reply.startswith(b"HTTP/1.1 408") and 9 < time.monotonic() - started < 14
    writer.close()


async def test_a_stream_reader_that_falls_behind_is_disconnected(server, db):
    app, port = server
    _, staff = await make_user(db)
    reader, writer = await raw(
        port,
        b"GET /api/v1/stream/positions HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\n\r\n" % staff.encode(),
    )
    assert (await asyncio.wait_for(reader.readuntil(b"connected\n\n"), 5)).startswith(b"HTTP/1.1 200")
    hub = services(app).hub
    assert len(hub) == 1
    [sub] = list(hub._all)
    hub._drop(sub)  # what the hub does to a client that stopped reading (tests/streaming/test_hub.py)
    # Closed by the server at once (not the keep-alive timeout, 5 s): read() reaches EOF.
    await asyncio.wait_for(reader.read(), 3)
    with contextlib.suppress(Exception):
        writer.close()
    for _ in range(50):
        if len(hub) == 0:
            break
        await asyncio.sleep(0.05)
    assert len(hub) == 0


async def test_abrupt_disconnects_leave_no_subscriber_behind(server, db):
    app, port = server
    _, staff = await make_user(db)
    request = b"GET /api/v1/stream/positions HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\n\r\n" % (
        staff.encode()
    )
    conns = [await raw(port, request) for _ in range(100)]
    for reader, _ in conns:
        await asyncio.wait_for(reader.readuntil(b"connected\n\n"), 5)
    assert len(services(app).hub) == 100
    for _, writer in conns:
        writer.transport.abort()  # RST, no goodbye
    for _ in range(100):
        if len(services(app).hub) == 0:
            break
        await asyncio.sleep(0.05)
    assert len(services(app).hub) == 0
