"""The demo riders' customer accounts, prepared in real PostgreSQL."""

from __future__ import annotations

from helpers import make_user

from hexfleet.devtools.sim.accounts import SIM_RIDER_DOMAIN, prepare_drivers, prepare_riders
from hexfleet.devtools.sim.demand import fleet_classes
from hexfleet.users import queries as users

DEMO_RIDER = "rider@hexfleet.local"  # the demo login `hexfleet dev` seeds for a person to use


async def test_riders_book_as_simulated_customers_never_as_the_demo_rider(db, database_url):
    demo, _ = await make_user(db, "customer", DEMO_RIDER)
    first = await prepare_riders(database_url, 3)
    emails = [email for email, _ in first]
    assert emails == [f"rider-00{n}{SIM_RIDER_DOMAIN}" for n in (1, 2, 3)]
    async with db.acquire() as conn:
        for email, token in first:
            user = await users.user_for_token(conn, token)
            assert user is not None and (user.email, user.role) == (email, "customer")
        assert await conn.fetchval("SELECT count(*) FROM api_tokens WHERE user_id = $1", demo.id) == 1  # its own only

    again = await prepare_riders(database_url, 3)
    assert [email for email, _ in again] == emails  # reused, none created
    assert await db.fetchval("SELECT count(*) FROM users") == 4
    async with db.acquire() as conn:
        # Tokens of an earlier run still work: two simulators may share the customers.
        assert await users.user_for_token(conn, first[2][1]) is not None

    assert await prepare_riders(database_url, 0) == []


async def test_the_demo_fleet_has_every_class_in_its_share(db, database_url):
    drivers, created = await prepare_drivers(database_url, 20)
    assert created == 20
    stored = dict(
        (r["name"], r["class"])
        for r in await db.fetch(
            "SELECT d.name, v.class FROM drivers d JOIN vehicles v ON v.id = d.vehicle_id ORDER BY d.id"
        )
    )
    assert [stored[d.name] for d in drivers] == [d.vehicle_class for d in drivers] == fleet_classes(20)
    assert sorted(stored.values()).count("standard") == 14 and sorted(stored.values()).count("van") == 1
    # New drivers start off duty: each goes available when its simulated phone starts.
    assert {r["status"] for r in await db.fetch("SELECT status FROM drivers")} == {"off_duty"}
    # A demo made before the mix existed gets it when it is reused.
    await db.execute("UPDATE vehicles SET class = 'standard'")
    again, created = await prepare_drivers(database_url, 20)
    assert created == 0 and [d.vehicle_class for d in again] == fleet_classes(20)
    assert await db.fetchval("SELECT count(*) FROM vehicles WHERE class = 'xl'") == 2


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
