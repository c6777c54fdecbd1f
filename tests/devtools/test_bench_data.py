"""The benches' accounts, made in real PostgreSQL: what `make bench` signs in with must be usable."""

from __future__ import annotations

from hexfleet.devtools.bench.fleet import create_fleet
from hexfleet.devtools.bench.rides_data import create_customers
from hexfleet.users import queries as users


async def test_the_bench_fleet_and_its_dispatcher_can_sign_in(db, database_url):
    fleet = await create_fleet(database_url, 3)
    assert len(fleet.driver_ids) == 3 and len(fleet.tokens) == 3
    dispatcher = await users.user_for_token(db, fleet.dispatcher_token)
    assert dispatcher is not None and dispatcher.role == "dispatcher"
    devices = await db.fetchval("SELECT count(*) FROM devices WHERE driver_id = ANY($1::bigint[])", fleet.driver_ids)
    assert devices == 3


async def test_the_bench_customers_can_sign_in(db, database_url):
    tokens = await create_customers(database_url, 2)
    signed_in = [await users.user_for_token(db, token) for token in tokens]
    assert [u.role for u in signed_in if u is not None] == ["customer", "customer"]
