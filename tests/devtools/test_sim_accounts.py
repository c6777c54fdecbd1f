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
