"""Each input format through a running server reaches the dispatcher stream as the same position."""

import asyncio
import base64
import subprocess
import time

import httpx
import pytest
from helpers import make_driver, make_user
from test_two_instances import read_sse_events, start_web

from hexfleet.devtools.testing import free_port


@pytest.fixture
async def server(settings, db, redis):
    osmand_port = free_port()
    proc, url = await start_web(settings, OSMAND_PORT=str(osmand_port))
    try:
        yield url, f"http://127.0.0.1:{osmand_port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def test_every_format_reaches_the_stream(db, server):
    url, osmand_url = server
    names = ["native", "osmand-port", "osmand-form", "osmand-json", "owntracks"]
    drivers = {name: await make_driver(db, name) for name in names}
    _, staff = await make_user(db)
    now = int(time.time())
    lat = {name: 52.50 + i / 100 for i, name in enumerate(names)}

    async def send(client: httpx.AsyncClient) -> None:
        dev = drivers["native"][1]
        r = await client.post(f"{url}/api/v1/driver/pings", json={"lat": lat["native"], "lng": 13.4, "ts": now},
                              headers={"Authorization": f"Bearer {dev.token}"})  # fmt: skip
        assert r.status_code == 202
        dev = drivers["osmand-port"][1]  # stock Traccar Client: bare host:port, GET with a query string
        r = await client.get(f"{osmand_url}/", params={"id": dev.device_id, "lat": lat["osmand-port"], "lon": 13.4,
                                                       "timestamp": now, "speed": 10})  # fmt: skip
        assert r.status_code == 200
        dev = drivers["osmand-form"][1]
        r = await client.post(f"{url}/osmand", data={"id": dev.device_id, "lat": lat["osmand-form"], "lon": 13.4,
                                                     "timestamp": now})  # fmt: skip
        assert r.status_code == 200
        dev = drivers["osmand-json"][1]
        r = await client.post(
            f"{url}/osmand",
            json={
                "device_id": dev.device_id,
                "location": {
                    "timestamp": now,
                    "coords": {"latitude": lat["osmand-json"], "longitude": 13.4, "speed": 3.0},
                },
            },
        )
        assert r.status_code == 200
        dev = drivers["owntracks"][1]
        auth = base64.b64encode(f"{dev.device_id}:{dev.token}".encode()).decode()
        location = {"_type": "location", "lat": lat["owntracks"], "lon": 13.4, "tst": now, "vel": 18}
        r = await client.post(f"{url}/owntracks", json=location, headers={"Authorization": f"Basic {auth}"})
        assert (r.status_code, r.json()) == (200, [])

    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("GET", f"{url}/api/v1/stream/positions",
                                 headers={"Authorization": f"Bearer {staff}"}) as stream:  # fmt: skip
            reader = asyncio.create_task(read_sse_events(stream, len(names)))
            await send(client)
            events = await asyncio.wait_for(reader, 15)
    seen = {e["driver_id"]: e for _, e in events}
    for name, (driver, _) in drivers.items():
        assert seen[driver.id]["lat"] == pytest.approx(lat[name]), name
    assert seen[drivers["osmand-port"][0].id]["speed_mps"] == pytest.approx(5.144, abs=1e-3)  # 10 knots
    assert seen[drivers["owntracks"][0].id]["speed_mps"] == pytest.approx(5.0)  # 18 km/h
