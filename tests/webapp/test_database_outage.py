"""PostgreSQL goes away and comes back: every route that needs it answers 503 with
Retry-After at once (a page for browsers, problem+json for the API and the phone
protocols), never a 500 or a hang, and everything works again when it is back.

PostgreSQL is reached through a TCP relay the test can cut (hexfleet.devtools.testing.Relay):
closing it resets every pooled connection and refuses new ones, as a restarting server does,
without stopping the shared test server."""

from __future__ import annotations

import time

import httpx
from helpers import make_driver, make_fare, make_user


def looks_unavailable(response: httpx.Response, took: float) -> None:
    assert response.status_code == 503, (response.request.url, response.status_code, response.text[:300])
    assert int(response.headers["retry-after"]) >= 1
    assert "Traceback" not in response.text and "asyncpg" not in response.text
    assert took < 8, f"{response.request.url} took {took:.1f} s"


async def test_every_route_answers_503_while_postgres_is_away_and_recovers(relayed, db):
    from webapp import create_app

    settings, relay = await relayed("database_url")
    await make_fare(db)
    _, staff_token = await make_user(db, "dispatcher")
    _, rider_token = await make_user(db, "customer")
    login_user, _ = await make_user(db, "dispatcher")
    # Fresh devices: their first use must look them up in PostgreSQL.
    osmand, osmand_device = await make_driver(db, "OsmAnd Olga")
    _, status_device = await make_driver(db, "Status Stan")
    app = create_app(settings)
    async with app.test_app():
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        page = await client.get("/login")
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

        def requests():
            now = time.time()
            yield (
                "osmand",
                client.post(
                    "/osmand",
                    params={"id": osmand_device.device_id, "lat": "52.52", "lon": "13.405", "timestamp": str(int(now))},
                ),
            )
            yield (
                "login",
                client.post(
                    "/login", data={"email": login_user.email, "password": "correct-horse", "csrf_token": csrf}
                ),
            )
            yield "drivers", client.get("/api/v1/drivers", headers={"Authorization": f"Bearer {staff_token}"})
            yield (
                "driver status",
                client.post(
                    "/api/v1/driver/status",
                    json={"status": "available"},
                    headers={"Authorization": f"Bearer {status_device.token}"},
                ),
            )
            yield (
                "quote",
                client.post(
                    "/api/v1/quotes",
                    json={"pickup": {"lat": 52.52, "lng": 13.405}, "dropoff": {"lat": 52.53, "lng": 13.43}},
                    headers={"Authorization": f"Bearer {rider_token}"},
                ),
            )

        assert (await client.get("/readyz")).status_code == 200
        await relay.cut()
        for name, call in requests():
            started = time.monotonic()
            response = await call
            looks_unavailable(response, time.monotonic() - started)
            wants_json = name != "login"
            kind = response.headers["content-type"]
            assert ("problem+json" in kind) == wants_json, (name, kind)
        login_page = await client.post("/login", data={"email": "x@y.z", "password": "whatever1", "csrf_token": csrf})
        assert "try again" in login_page.text.lower()
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["postgres"].startswith("failed")

        await relay.start()
        results = {}
        for name, call in requests():
            results[name] = (await call).status_code
        assert results == {"osmand": 200, "login": 302, "drivers": 200, "driver status": 200, "quote": 201}
        assert (await client.get("/readyz")).status_code == 200
        await client.aclose()
    assert osmand.id  # the OsmAnd fix was accepted for this driver once PostgreSQL was back
