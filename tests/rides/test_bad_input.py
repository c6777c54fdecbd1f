"""Bad input to the rides API: a 4xx problem+json naming the field or the state, nothing half-written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers import make_driver, make_fare, make_user, place_driver, wait_for

from webapp.services import services

PICKUP = {"lat": 52.52, "lng": 13.405}
DROPOFF = {"lat": 52.53, "lng": 13.43}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def rider(app, db):
    await make_fare(db)
    _, token = await make_user(db, "customer")
    return token


def later(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"pickup": PICKUP, "dropoff": PICKUP}, 422, "same place"),
        ({"pickup": {"lat": 52.52, "lng": 13.40501}, "dropoff": PICKUP}, 422, "same place"),
        ({"pickup": {"lat": 91, "lng": 13.4}, "dropoff": DROPOFF}, 422, "pickup.lat"),
        ({"pickup": PICKUP, "dropoff": {"lat": 52.5, "lng": -181}}, 422, "dropoff.lng"),
        ({"pickup": PICKUP}, 422, "dropoff"),
        ({"pickup": PICKUP, "dropoff": DROPOFF, "vehicle_class": "limousine"}, 422, "vehicle_class"),
        ({"pickup": PICKUP, "dropoff": DROPOFF, "vehicle_class": "van"}, 422, "no fare"),
        ({"pickup": PICKUP, "dropoff": DROPOFF, "pickup_at": later(minutes=5)}, 422, "pickup_at must be between"),
        ({"pickup": PICKUP, "dropoff": DROPOFF, "pickup_at": later(days=31)}, 422, "pickup_at must be between"),
        ({"pickup": PICKUP, "dropoff": DROPOFF, "pickup_at": "tomorrow at noon"}, 422, "pickup_at"),
        ({"pickup": PICKUP, "dropoff": DROPOFF, "pickup_at": later(hours=2).replace("+00:00", "")}, 422, "UTC offset"),
        ({"pickup": {"lat": "north", "lng": 1}, "dropoff": DROPOFF}, 422, "pickup.lat"),
    ],
)
async def test_bad_quotes(client, db, rider, body, status, names):
    r = await client.post("/api/v1/quotes", json=body, headers=bearer(rider))
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert names in r.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM quotes") == 0


async def quote(client, token: str) -> int:
    r = await client.post("/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=bearer(token))
    return r.json()["quote_id"]


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"passenger": {"name": "Rita", "phone": "call me maybe"}}, "passenger.phone"),
        ({"passenger": {"name": "Rita", "phone": "12"}}, "passenger.phone"),
        ({"passenger": {"name": "", "phone": "+49 30 555 0101"}}, "passenger.name"),
        ({"passenger": {"phone": "+49 30 555 0101"}}, "passenger.name"),
        ({"scheduled_for": later(minutes=-10)}, "scheduled_for must be between 15 minutes and 30 days"),
        ({"scheduled_for": later(minutes=14)}, "scheduled_for must be between 15 minutes and 30 days"),
        ({"scheduled_for": "next friday"}, "scheduled_for"),
        ({"notes": "x" * 1001}, "notes"),
        ({"quote_id": "abc"}, "quote_id"),
        ({"quote_id": 2**64}, "quote_id"),
    ],
)
async def test_bad_bookings_leave_the_quote_usable(client, db, rider, change, names):
    quote_id = await quote(client, rider)
    body = {"quote_id": quote_id, "passenger": {"name": "Rita", "phone": "+49 30 555 0101"}, **change}
    r = await client.post("/api/v1/bookings", json=body, headers=bearer(rider))
    assert r.status_code == 422, r.text
    assert names in r.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM bookings") == 0
    assert await db.fetchval("SELECT used_at FROM quotes WHERE id = $1", quote_id) is None  # still usable
    good = {"quote_id": quote_id, "passenger": {"name": "Rita", "phone": "+49 30 555 0101"}, "confirm_no_driver": True}
    assert (await client.post("/api/v1/bookings", json=good, headers=bearer(rider))).status_code == 201


async def test_double_accept_and_accept_after_cancel(client, app, db, rider):
    driver, device = await make_driver(db, "Quick")
    await place_driver(services(app).store, driver.id, 52.5201, 13.405)
    body = {"quote_id": await quote(client, rider), "passenger": {"name": "Rita", "phone": "+49 30 555 0101"}}
    booking = (await client.post("/api/v1/bookings", json=body, headers=bearer(rider))).json()

    async def offer():
        offers = (await client.get("/api/v1/driver/offers", headers=bearer(device.token))).json()["offers"]
        return offers[0] if offers else None

    first = await wait_for(offer)
    ok = await client.post(f"/api/v1/driver/offers/{first['id']}/accept", headers=bearer(device.token))
    assert ok.status_code == 200
    again = await client.post(f"/api/v1/driver/offers/{first['id']}/accept", headers=bearer(device.token))
    assert again.status_code == 409 and "accepted" in again.json()["detail"]

    r = await client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}, headers=bearer(rider))
    assert r.json()["status"] == "cancelled"
    step = await client.post(f"/api/v1/driver/bookings/{booking['id']}/arrived", headers=bearer(device.token))
    assert step.status_code == 409 and step.json()["current_status"] == "cancelled"

    # A second booking: the rider cancels while the offer is open; accepting it then is refused.
    body = {"quote_id": await quote(client, rider), "passenger": {"name": "Rita", "phone": "+49 30 555 0101"}}
    second = (await client.post("/api/v1/bookings", json=body, headers=bearer(rider))).json()
    pending = await wait_for(offer)
    await client.post(f"/api/v1/bookings/{second['id']}/cancel", json={"reason": "found a bike"}, headers=bearer(rider))
    late = await client.post(f"/api/v1/driver/offers/{pending['id']}/accept", headers=bearer(device.token))
    assert late.status_code == 409 and "withdrawn" in late.json()["detail"]
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", driver.id) == "available"


@pytest.mark.parametrize("path", ["/api/v1/bookings/9223372036854775808", "/api/v1/bookings/99999999999999999999"])
async def test_ids_past_64_bits_are_404(client, rider, path):
    r = await client.get(path, headers=bearer(rider))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def test_who_sees_what(client, app, db, rider):
    """Customers see only their bookings, drivers only their offers: anyone else's is 404, never 403."""
    driver, device = await make_driver(db, "Mine")
    _, other_device = await make_driver(db, "Other")
    await place_driver(services(app).store, driver.id, 52.5201, 13.405)
    body = {"quote_id": await quote(client, rider), "passenger": {"name": "Rita", "phone": "+49 30 555 0101"}}
    booking = (await client.post("/api/v1/bookings", json=body, headers=bearer(rider))).json()
    _, stranger = await make_user(db, "customer")
    for method, path in (
        ("GET", f"/api/v1/bookings/{booking['id']}"),
        ("POST", f"/api/v1/bookings/{booking['id']}/cancel"),
        ("GET", f"/api/v1/stream/bookings?booking_id={booking['id']}"),
    ):
        r = await client.request(method, path, json={} if method == "POST" else None, headers=bearer(stranger))
        assert r.status_code == 404, (path, r.text)
    assert (await client.get("/api/v1/bookings", headers=bearer(stranger))).json()["bookings"] == []

    async def offer():
        offers = (await client.get("/api/v1/driver/offers", headers=bearer(device.token))).json()["offers"]
        return offers[0] if offers else None

    mine = await wait_for(offer)
    r = await client.post(f"/api/v1/driver/offers/{mine['id']}/accept", headers=bearer(other_device.token))
    assert r.status_code == 404
    await client.post(f"/api/v1/driver/offers/{mine['id']}/accept", headers=bearer(device.token))
    r = await client.post(f"/api/v1/driver/bookings/{booking['id']}/arrived", headers=bearer(other_device.token))
    assert r.status_code == 404
    # Customers cannot dispatch, nor read fares' editing side.
    r = await client.post(
        f"/api/v1/bookings/{booking['id']}/assign", json={"driver_id": driver.id}, headers=bearer(rider)
    )
    assert r.status_code == 403
    assert (await client.get("/api/v1/bookings")).status_code == 401  # no credentials at all
