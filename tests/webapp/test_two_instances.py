"""Two web instances: a stream client on one sees pings posted to the other."""

import asyncio
import subprocess
import time

import httpx
import orjson
import pytest
from helpers import browser_login, make_driver, make_user, start_web
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import WebSocketException


@pytest.fixture
async def two_instances(settings, db, redis):
    procs = []
    try:
        a = await start_web(settings)
        procs.append(a[0])
        b = await start_web(settings)
        procs.append(b[0])
        yield a[1], b[1]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def read_sse_events(response, count: int) -> list[tuple[str, dict]]:
    events, name = [], None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name:
            events.append((name, orjson.loads(line[6:])))
            if len(events) == count:
                return events
    return events


async def test_sse_on_one_instance_sees_pings_posted_to_the_other(db, two_instances):
    url_a, url_b = two_instances
    drv, device = await make_driver(db, "Cross")
    _other, other_device = await make_driver(db, "Other")
    _, staff = await make_user(db)
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream(
            "GET",
            f"{url_a}/api/v1/stream/positions",
            params={"driver_id": drv.id},
            headers={"Authorization": f"Bearer {staff}"},
        ) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            reader = asyncio.create_task(read_sse_events(stream, 2))
            now = time.time()
            for dev, lat, ts in ((other_device, 48.1, now), (device, 52.52, now), (device, 52.53, now + 60)):
                r = await client.post(
                    f"{url_b}/api/v1/driver/pings",
                    json={"lat": lat, "lng": 13.4, "ts": ts},
                    headers={"Authorization": f"Bearer {dev.token}"},
                )
                assert r.status_code == 202
            events = await asyncio.wait_for(reader, 10)
    # Only the followed driver (filter), both fixes in order, with the documented fields.
    assert [(name, e["driver_id"], e["lat"]) for name, e in events] == [
        ("position", drv.id, 52.52),
        ("position", drv.id, 52.53),
    ]
    assert set(events[0][1]) == {"driver_id", "lat", "lng", "ts", "speed_mps", "heading", "status"}
    assert events[0][1]["status"] == "available"


async def test_websocket_stream_and_auth(db, two_instances):
    url_a, url_b = two_instances
    drv, device = await make_driver(db, "Socket")
    _, staff = await make_user(db)
    _, customer = await make_user(db, "customer")
    ws_url = url_a.replace("http://", "ws://") + "/api/v1/ws/positions"
    with pytest.raises(WebSocketException):
        async with ws_connect(ws_url, additional_headers={"Authorization": f"Bearer {customer}"}) as ws:
            await asyncio.wait_for(ws.recv(), 5)
    async with ws_connect(ws_url, additional_headers={"Authorization": f"Bearer {staff}"}) as ws:
        async with httpx.AsyncClient() as client:
            r = await client.post(
                f"{url_b}/api/v1/driver/pings",
                json={"lat": 52.5, "lng": 13.4, "ts": time.time()},
                headers={"Authorization": f"Bearer {device.token}"},
            )
            assert r.status_code == 202
        message = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert (message["driver_id"], message["lat"]) == (drv.id, 52.5)


async def test_websocket_refuses_other_sites_with_a_session_cookie(db, two_instances):
    """A browser on another site would send the dispatcher's cookie: its Origin is refused."""
    url_a, _ = two_instances
    user, _ = await make_user(db)
    async with httpx.AsyncClient(base_url=url_a, trust_env=False) as client:
        headers = await browser_login(client, user.email)
    ws_url = url_a.replace("http://", "ws://") + "/api/v1/ws/positions"
    cookie = {"Cookie": headers["Cookie"]}
    with pytest.raises(WebSocketException):
        async with ws_connect(ws_url, additional_headers=cookie, origin="https://evil.example") as ws:
            await asyncio.wait_for(ws.recv(), 5)
    host = url_a.removeprefix("http://")
    async with ws_connect(ws_url, additional_headers=cookie, origin=f"http://{host}") as ws:
        # Accepted: nothing to read yet, but the connection stays open.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)
