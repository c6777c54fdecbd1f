"""A live stream outlives the request that opened it: when its caller signs out, is
disabled or loses the token, the stream ends within STREAM_RECHECK_S instead of going on
until the browser reconnects. Real server (uvicorn with webapp/serving.py), real PostgreSQL."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import websockets
from helpers import browser_login, make_user

from hexfleet.users import queries as users

RECHECK_S = 0.3


@pytest.fixture
def settings(settings):
    return settings.with_(stream_recheck_s=RECHECK_S)


async def open_stream(port: int, path: str, header: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{header}\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"connected\n\n"), 5)
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return reader, writer


async def ends_within(reader: asyncio.StreamReader, seconds: float) -> float:
    """Seconds until the server ended the stream: the chunked body's last chunk (the
    connection may then stay open for keep-alive), or the connection closed."""
    started = time.monotonic()
    tail = b""
    async with asyncio.timeout(seconds):
        while data := await reader.read(65536):
            tail = (tail + data)[-16:]
            if tail.endswith(b"\r\n0\r\n\r\n"):
                break
    return time.monotonic() - started


async def still_open(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        await asyncio.wait_for(ends_within(reader, seconds + 1), seconds)
    except TimeoutError:
        return True
    return False


async def test_a_disabled_accounts_token_stream_ends_and_others_go_on(server, db):
    _, port = server
    ann, ann_token = await make_user(db, "dispatcher")
    _, bob_token = await make_user(db, "dispatcher")
    # Keep the writers: a StreamWriter that is collected closes its connection.
    ann_stream, ann_writer = await open_stream(port, "/api/v1/stream/positions", f"Authorization: Bearer {ann_token}")
    bob_stream, bob_writer = await open_stream(port, "/api/v1/stream/bookings", f"Authorization: Bearer {bob_token}")
    assert await still_open(ann_stream, 4 * RECHECK_S)  # checked a few times: still allowed

    async with db.acquire() as conn:
        assert await users.set_disabled(conn, ann.id, True)
    took = await ends_within(ann_stream, 5)
    assert took < 3 * RECHECK_S + 1, took
    assert await still_open(bob_stream, 4 * RECHECK_S)
    for writer in (ann_writer, bob_writer):
        writer.close()


async def test_signing_out_ends_the_browsers_streams(server, db):
    _, port = server
    user, _ = await make_user(db, "dispatcher")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as browser:
        headers = await browser_login(browser, user.email)
        stream, writer = await open_stream(port, "/api/v1/stream/positions", f"Cookie: {headers['Cookie']}")
        origin = {"Origin": f"http://127.0.0.1:{port}", **headers}
        out = await browser.post("/logout", data={"csrf_token": headers["X-CSRF-Token"]}, headers=origin)
        assert out.status_code in (302, 303), out.text
    assert await ends_within(stream, 5) < 3 * RECHECK_S + 1
    writer.close()


async def test_a_revoked_tokens_websocket_is_closed(server, db):
    _, port = server
    user, token = await make_user(db, "dispatcher")
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/api/v1/ws/positions", additional_headers={"Authorization": f"Bearer {token}"}
    ) as ws:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 4 * RECHECK_S)  # open, nothing to say yet
        async with db.acquire() as conn:
            assert await users.revoke_api_tokens(conn, user.id) == 1
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 3 * RECHECK_S + 1)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_a_drivers_offer_stream_ends_when_its_device_is_rotated(server, db, redis):
    from helpers import make_driver

    from hexfleet.drivers import queries as drivers
    from hexfleet.drivers import revocation

    _, port = server
    driver, device = await make_driver(db, "Rota Rotated")
    stream, writer = await open_stream(port, "/api/v1/driver/offers/stream", f"Authorization: Bearer {device.token}")
    assert await still_open(stream, 4 * RECHECK_S)
    async with db.acquire() as conn:
        await drivers.rotate_device(conn, driver.id)
    await revocation.announce(redis, driver.id)  # as every rotation does: web processes drop the old token
    assert await ends_within(stream, 5) < 3 * RECHECK_S + 1
    writer.close()
