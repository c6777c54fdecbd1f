"""The rollup cron under the real arq worker (`python -m workers`, as the Procfile runs it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpers import make_fare, make_user, start_worker, wait_for

from hexfleet.analytics import queries as aq
from hexfleet.geo import cell_of
from hexfleet.rides import bookings, quotes
from webapp.services import services

PICKUP, DROPOFF = (52.52, 13.405), (52.53, 13.43)


async def test_the_worker_rolls_up_the_open_hour(app, db, redis, settings, tmp_path):
    rides = services(app).rides
    await make_fare(db)
    customer, _ = await make_user(db, "customer")
    for _ in range(2):  # two requests now (no driver anywhere: they search on)
        quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest(PICKUP, DROPOFF))
        await bookings.create_booking(
            rides,
            bookings.Viewer(customer.id, "customer"),
            bookings.BookingRequest(quote.id, "Rita", "+49 30 555", confirm_no_driver=True),
        )
    await quotes.make_quote(rides, customer.id, quotes.QuoteRequest(PICKUP, DROPOFF))  # a search that never books
    worker = start_worker(settings, tmp_path / "worker.log")
    hour = aq.floor_hour(datetime.now(UTC))
    try:

        async def rolled_up():
            async with db.acquire() as conn:
                found = await aq.range_totals(conn, hour, hour + timedelta(hours=1))
            return found if found.requests == 2 else None

        try:
            totals = await wait_for(rolled_up, timeout=45, interval=0.25)
        except AssertionError:
            raise AssertionError((tmp_path / "worker.log").read_text()) from None
        assert totals.searches == 3 and totals.searches_booked == 2
        async with db.acquire() as conn:
            cells = await aq.per_cell(conn, hour, hour + timedelta(hours=1))
        assert set(cells) == {cell_of(*PICKUP, 7)}
        computed = await db.fetchval("SELECT computed_at FROM analytics_hours WHERE hour = $1", hour)
        assert computed is not None
    finally:
        worker.terminate()
        worker.wait(15)
    log = (tmp_path / "worker.log").read_text()
    assert "Traceback" not in log
