"""Redis stops answering (a hung server, a lost network: connections stay open, nothing
comes back): requests that need it answer 503 with Retry-After within the client's
deadline, never a hang; pings are still taken; everything works again when Redis answers.

Redis is reached through a relay the test freezes (hexfleet.devtools.testing.Relay)."""

from __future__ import annotations

import time

import httpx
from helpers import make_driver, make_fare, make_user, wait_for

from hexfleet import redisconn
from webapp.limits import LIMIT_TIMEOUT_S


async def test_requests_give_up_on_a_hung_redis_with_503_and_recover(relayed, db):
    from webapp import create_app

    settings, relay = await relayed("redis_url")
    await make_fare(db)
    _, staff_token = await make_user(db, "dispatcher")
    _, rider_token = await make_user(db, "customer")
    _, device = await make_driver(db, "Hung Hanna")
    staff = {"Authorization": f"Bearer {staff_token}"}
    app = create_app(settings)
    async with app.test_app():
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

        def requests():
            yield "drivers", client.get("/api/v1/drivers", headers=staff)
            yield "nearby", client.get("/api/v1/drivers/nearby?lat=52.52&lng=13.405", headers=staff)
            yield (
                "quote",
                client.post(
                    "/api/v1/quotes",
                    json={"pickup": {"lat": 52.52, "lng": 13.405}, "dropoff": {"lat": 52.53, "lng": 13.43}},
                    headers={"Authorization": f"Bearer {rider_token}"},
                ),
            )
            yield (
                "ping",
                client.post(
                    "/api/v1/driver/pings",
                    json={"lat": 52.52, "lng": 13.405, "ts": time.time()},
                    headers={"Authorization": f"Bearer {device.token}"},
                ),
            )

        before = {name: (await call).status_code for name, call in requests()}
        assert before == {"drivers": 200, "nearby": 200, "quote": 201, "ping": 202}

        relay.freeze()
        for name, call in requests():
            started = time.monotonic()
            response = await call
            took = time.monotonic() - started
            if name == "ping":
                # Pings do not need Redis to be kept: the limits fail open and the broker takes
                # them, so a driver's positions are not lost while Redis hangs.
                assert response.status_code == 202, (name, response.status_code, response.text[:300])
            else:
                assert response.status_code == 503, (name, response.status_code, response.text[:300])
                assert int(response.headers["retry-after"]) >= 1, name
            assert "Traceback" not in response.text
            # A rate-limit check's deadline (it fails open) and one command's, with room to spare.
            assert took < LIMIT_TIMEOUT_S + redisconn.COMMAND_TIMEOUT_S + 2, (name, took)

        relay.thaw()

        async def answers_again() -> bool:
            return (await client.get("/api/v1/drivers", headers=staff)).status_code == 200

        await wait_for(answers_again, timeout=15, interval=0.2)
        after = {name: (await call).status_code for name, call in requests()}
        assert after == before
        await client.aclose()
