"""ROUTING_URL: road distance and duration from an OSRM-compatible server, and the estimate
when it fails or is slow (counted). The server here speaks OSRM's /route/v1 over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
import pytest

from hexfleet.devtools.testing import free_port
from hexfleet.rides.routes import EstimateRules, Router, estimate

RULES = EstimateRules()


@contextlib.asynccontextmanager
async def osrm(status: int = 200, body: dict | None = None, delay_s: float = 0.0):
    """A minimal OSRM: answers every request with ``body``; records the request lines."""
    seen: list[str] = []

    async def serve(reader, writer):
        request = await reader.readuntil(b"\r\n\r\n")
        seen.append(request.split(b"\r\n")[0].decode())
        await asyncio.sleep(delay_s)
        payload = orjson.dumps(body or {})
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            f"Connection: close\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", seen


async def test_road_distance_and_duration_come_from_the_routing_server():
    fallbacks = []
    async with osrm(body={"code": "Ok", "routes": [{"distance": 3456.7, "duration": 412.2}]}) as (url, seen):
        router = Router(url, 1.0, RULES, lambda: fallbacks.append(1))
        route = await router.route(52.52, 13.405, 52.53, 13.43)
        await router.close()
    assert (route.distance_m, route.duration_s, route.source) == (3457, 413, "routing")
    assert seen == ["GET /route/v1/driving/13.405000,52.520000;13.430000,52.530000?overview=false HTTP/1.1"]
    assert fallbacks == []


@pytest.mark.parametrize(
    ("status", "body", "delay_s"),
    [
        (500, {"message": "boom"}, 0.0),
        (200, {"code": "NoRoute", "routes": []}, 0.0),
        (200, {"unexpected": True}, 0.0),
        (200, {"routes": [{"distance": 1, "duration": 1}]}, 0.5),  # slower than the timeout
    ],
)
async def test_a_failing_routing_server_falls_back_to_the_estimate(status, body, delay_s):
    fallbacks = []
    async with osrm(status, body, delay_s) as (url, _):
        router = Router(url, 0.2, RULES, lambda: fallbacks.append(1))
        route = await router.route(52.52, 13.405, 52.53, 13.43)
        await router.close()
    assert route == estimate(52.52, 13.405, 52.53, 13.43, RULES)
    assert fallbacks == [1]


async def test_an_unreachable_routing_server_falls_back_too():
    fallbacks = []
    router = Router(f"http://127.0.0.1:{free_port()}", 0.5, RULES, lambda: fallbacks.append(1))
    assert (await router.route(52.52, 13.405, 52.53, 13.43)).source == "estimate"
    await router.close()
    assert fallbacks == [1]


async def test_the_web_app_counts_fallbacks_in_metrics(settings, db, redis):
    from helpers import make_fare, make_user

    from webapp import create_app

    await make_fare(db)
    _, rider = await make_user(db, "customer")
    app = create_app(settings.with_(routing_url=f"http://127.0.0.1:{free_port()}", routing_timeout_s=0.2))
    async with app.test_app():
        client = app.test_client()
        r = await client.post(
            "/api/v1/quotes",
            json={"pickup": {"lat": 52.52, "lng": 13.405}, "dropoff": {"lat": 52.53, "lng": 13.43}},
            headers={"Authorization": f"Bearer {rider}"},
        )
        assert r.status_code == 201 and (await r.get_json())["route_source"] == "estimate"
        # /metrics answers loopback only; Quart's test client has no address unless given one.
        loopback = {"client": ("127.0.0.1", 40000)}
        metrics = (await (await client.get("/metrics", scope_base=loopback)).get_data()).decode()
    assert "hexfleet_routing_fallbacks_total 1.0" in metrics
