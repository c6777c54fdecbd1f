"""Redis stops answering (a hung server, a lost network: connections stay open, nothing
comes back): requests that need it answer 503 with Retry-After within the client's
deadline, never a hang; pings are still taken; everything works again when Redis answers.

Sign-in and sign-up fail closed instead (503): their limits are all that stops password guessing.

Redis is reached through a relay the test freezes or cuts (hexfleet.devtools.testing.Relay)."""

from __future__ import annotations

import re
import time

import httpx
import pytest
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


@pytest.mark.parametrize("outage", ["freeze", "cut"])
async def test_sign_in_and_sign_up_fail_closed_while_pings_are_still_taken(relayed, db, outage):
    """Without Redis the limits cannot be checked: sign-in and sign-up answer 503 with
    Retry-After (a page, or problem+json for an API client) instead of letting password
    guesses through unlimited; pings keep failing open (202)."""
    from webapp import create_app

    settings, relay = await relayed("redis_url")
    user, _ = await make_user(db, "customer")
    _, device = await make_driver(db, "Open Otto")
    app = create_app(settings)
    async with app.test_app():
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        page = await client.get("/login")
        form = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)}

        async def sign_in(**headers):
            return await client.post(
                "/login", data={**form, "email": user.email, "password": "correct-horse"}, headers=headers
            )

        async def ping():
            return await client.post(
                "/api/v1/driver/pings",
                json={"lat": 52.52, "lng": 13.405, "ts": time.time()},
                headers={"Authorization": f"Bearer {device.token}"},
            )

        if outage == "freeze":
            relay.freeze()
        else:
            await relay.cut()
        refused = await sign_in()
        assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
        assert "briefly unavailable" in refused.text and "hexfleet_session" not in refused.headers.get("set-cookie", "")
        api = await sign_in(Accept="application/json")
        assert api.status_code == 503 and api.headers["content-type"] == "application/problem+json"
        assert api.json()["type"].endswith("limits-unavailable") and int(api.headers["retry-after"]) >= 1
        signup = await client.post("/signup", data={**form, "email": "new@example.org", "password": "long-enough"})
        assert signup.status_code == 503 and int(signup.headers["retry-after"]) >= 1
        assert "briefly unavailable" in signup.text
        assert await db.fetchval("SELECT count(*) FROM users WHERE email = 'new@example.org'") == 0
        assert (await ping()).status_code == 202  # pings fail open, as before

        if outage == "freeze":
            relay.thaw()
        else:
            await relay.start()

        async def signs_in_again() -> bool:
            return (await sign_in()).status_code == 302

        await wait_for(signs_in_again, timeout=15, interval=0.2)
        await client.aclose()
