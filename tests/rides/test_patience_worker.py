"""Dispatch patience under a real arq worker: with nobody in reach, the web's first look asks
for the next one, the worker runs it, offers the ride to a driver who came within reach, and
gives up on a booking nobody came for once DISPATCH_PATIENCE_S has passed (not before)."""

from __future__ import annotations

import pytest
from helpers import make_driver, make_fare, make_user, place_driver, start_worker, wait_for

from webapp.services import services

PICKUP = (52.5200, 13.4050)
DROPOFF = (52.5300, 13.4300)


async def dispatch_jobs(redis, booking_id: int) -> list[str]:
    return [k.decode() async for k in redis.scan_iter(match=f"arq:job:dispatch:{booking_id}:*")]


PATIENCE_S = 4.0


@pytest.fixture
def settings(settings):
    """A patience of a few seconds, the same in the test's web app and in the worker."""
    return settings.with_(dispatch_patience_s=PATIENCE_S)


async def test_a_real_worker_keeps_looking_for_the_patience_then_gives_up(app, client, db, redis, settings, tmp_path):
    await make_fare(db)
    _, token = await make_user(db, "customer")
    auth = {"Authorization": f"Bearer {token}"}
    worker = start_worker(settings, tmp_path / "worker.log", DISPATCH_PATIENCE_S=str(PATIENCE_S))
    try:
        await wait_for(lambda: redis.exists("arq:queue:health-check"), timeout=30, interval=0.1)

        async def booked(lat: float) -> dict:
            ask = {"pickup": {"lat": lat, "lng": PICKUP[1]}, "dropoff": {"lat": DROPOFF[0], "lng": DROPOFF[1]}}
            quote = (await client.post("/api/v1/quotes", json=ask, headers=auth)).json()
            assert quote["availability"]["needs_confirmation"] is True
            body = {"quote_id": quote["quote_id"], "passenger": {"name": "Rita", "phone": "+4930555"}}
            r = await client.post("/api/v1/bookings", json={**body, "confirm_no_driver": True}, headers=auth)
            assert r.status_code == 201, r.text
            return r.json()

        async def status(booking_id: int) -> str:
            return await db.fetchval("SELECT status FROM bookings WHERE id = $1", booking_id)

        # Two pickups 9 km apart, out of each other's reach, with nobody on duty anywhere.
        lonely, helped = await booked(PICKUP[0]), await booked(PICKUP[0] + 0.08)
        for booking in (lonely, helped):  # the web's first look found nobody and asked for the next one
            await wait_for(lambda b=booking: dispatch_jobs(redis, b["id"]), timeout=5)
        # A driver comes on duty near the second pickup: the worker's next look offers them the ride.
        driver, _ = await make_driver(db, "Late shift")
        await place_driver(services(app).store, driver.id, PICKUP[0] + 0.0805, PICKUP[1])
        await wait_for(lambda: _is(db, helped["id"], "offered"), timeout=PATIENCE_S + 10)
        assert await status(lonely["id"]) in ("searching", "no_driver")
        await wait_for(lambda: _is(db, lonely["id"], "no_driver"), timeout=PATIENCE_S + 10)
    finally:
        worker.terminate()
        worker.wait(15)
    log = (tmp_path / "worker.log").read_text()
    assert "Traceback" not in log
    waited = await db.fetchval(
        """SELECT extract(epoch FROM e.at - b.search_started_at) FROM bookings b
           JOIN booking_events e ON e.booking_id = b.id AND e.action = 'give_up' WHERE b.id = $1""",
        lonely["id"],
    )
    assert PATIENCE_S <= float(waited) < PATIENCE_S + 3  # not at once, nor much after its patience ran out
    offered_to = await db.fetchval("SELECT driver_id FROM offers WHERE booking_id = $1", helped["id"])
    assert offered_to == driver.id  # by the worker: nothing else here looks again


async def _is(db, booking_id: int, status: str) -> bool:
    return await db.fetchval("SELECT status FROM bookings WHERE id = $1", booking_id) == status
