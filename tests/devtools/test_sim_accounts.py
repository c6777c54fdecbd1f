"""The demo riders' customer accounts, prepared in real PostgreSQL."""

from __future__ import annotations

from helpers import make_user

from hexfleet.devtools.sim.accounts import DEMO_RIDER_EMAIL, SIM_RIDER_DOMAIN, prepare_riders
from hexfleet.users import queries as users


async def test_riders_book_as_the_demo_rider_and_simulated_customers(db, database_url):
    first = await prepare_riders(database_url, 3)
    emails = [email for email, _ in first]
    assert emails == [f"rider-00{n}{SIM_RIDER_DOMAIN}" for n in (1, 2, 3)]  # no demo rider in this database
    async with db.acquire() as conn:
        for email, token in first:
            user = await users.user_for_token(conn, token)
            assert user is not None and (user.email, user.role) == (email, "customer")

    demo, _ = await make_user(db, "customer", DEMO_RIDER_EMAIL)  # what `hexfleet dev` seeds
    again = await prepare_riders(database_url, 3)
    assert [email for email, _ in again] == [DEMO_RIDER_EMAIL, *emails[:2]]  # reused, none created
    assert await db.fetchval("SELECT count(*) FROM users") == 4
    async with db.acquire() as conn:
        assert (await users.user_for_token(conn, again[0][1])).id == demo.id  # type: ignore[union-attr]
        # Tokens of an earlier run still work: two simulators may share the customers.
        assert await users.user_for_token(conn, first[2][1]) is not None

    assert await prepare_riders(database_url, 0) == []


async def test_a_restarted_simulator_stops_the_previous_demo_tokens_at_once(settings, db, redis, client):
    """The reused demo drivers get new devices; the announcement makes every web process drop
    the old tokens now, not when its device cache (AUTH_CACHE_TTL_S) expires."""
    import time

    from helpers import wait_for

    from hexfleet.devtools.sim.accounts import announce_revocations, prepare_drivers
    from hexfleet.drivers import revocation

    async def ping(token: str) -> int:
        body = {"lat": 52.52, "lng": 13.405, "ts": time.time()}
        response = await client.post("/api/v1/driver/pings", json=body, headers={"Authorization": f"Bearer {token}"})
        return response.status_code

    async def listening() -> bool:
        [(_, count)] = await redis.pubsub_numsub(revocation.CHANNEL)
        return count >= 1

    first, _ = await prepare_drivers(settings.database_url, 2)
    assert [await ping(d.token) for d in first] == [202, 202]  # now in the web process' cache
    await wait_for(listening)
    again, created = await prepare_drivers(settings.database_url, 2)
    assert created == 0 and [d.driver_id for d in again] == [d.driver_id for d in first]
    await announce_revocations(settings.redis_url, again)

    async def old_tokens_refused() -> bool:
        return [await ping(d.token) for d in first] == [401, 401]

    await wait_for(old_tokens_refused, timeout=2.0)  # AUTH_CACHE_TTL_S is 300 s by default
    assert [await ping(d.token) for d in again] == [202, 202]
