"""The ingest contract through the real app, Kafka, PostgreSQL and Redis."""

import time

import orjson
import pytest
from helpers import browser_login, make_driver, make_user, read_topic

from streaming.events import PingsEvent
from webapp.services import services

PATH = "/api/v1/driver/pings"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def driver(db):
    return await make_driver(db, "Ann", "B-AN-1")


async def test_single_ping_is_produced_keyed_by_the_token_driver(client, settings, driver):
    drv, device = driver
    now = time.time()
    r = await client.post(
        PATH, json={"lat": 52.52, "lng": 13.405, "ts": now, "speed_mps": 4.2}, headers=bearer(device.token)
    )
    assert r.status_code == 202
    assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    [(key, event)] = await read_topic(settings, 1)
    assert key == str(drv.id).encode()
    assert isinstance(event, PingsEvent) and event.driver_id == drv.id
    assert (event.pings[0].lat, event.pings[0].speed_mps) == (52.52, 4.2)


async def test_driver_in_body_is_never_trusted(client, driver):
    _, device = driver
    r = await client.post(
        PATH, json={"lat": 1, "lng": 1, "ts": time.time(), "driver_id": 99}, headers=bearer(device.token)
    )
    assert r.status_code == 422
    assert "unknown field" in r.json()["detail"]


async def test_batch_with_bad_items_and_duplicates(client, settings, driver):
    _, device = driver
    now = time.time()
    pings = [{"lat": 52.5, "lng": 13.4, "ts": now + i, "id": f"p{i}"} for i in range(3)]
    r = await client.post(
        PATH, json={"pings": [*pings, {"lat": 500, "lng": 1, "ts": now}]}, headers=bearer(device.token)
    )
    assert r.json() == {
        "accepted": 3,
        "duplicates": 0,
        "rejected": [{"index": 3, "error": "lat must be between -90 and 90"}],
    }
    # A retry of the same pings (same ids / device times) is answered as duplicates, not produced again.
    r = await client.post(PATH, json={"pings": pings[1:]}, headers=bearer(device.token))
    assert r.json() == {"accepted": 0, "duplicates": 2, "rejected": []}
    events = await read_topic(settings, 1)
    assert sum(len(e.pings) for _, e in events) == 3


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b"{not json", 400, "not valid JSON"),
        (orjson.dumps({"lat": 100, "lng": 1, "ts": 1}), 422, "lat must be between"),
        (orjson.dumps({"pings": [{}] * 501}), 422, "at most 500"),
        (b"x" * 300_000, 413, "larger than"),
    ],
)
async def test_errors_are_problem_json(client, driver, body, status, detail):
    _, device = driver
    r = await client.post(PATH, content=body, headers=bearer(device.token))
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == status and detail in r.json()["detail"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer hfd_nope"}, {"Authorization": "Basic abc"}])
async def test_unknown_token_is_401(client, db, headers):
    r = await client.post(PATH, json={"lat": 1, "lng": 1, "ts": time.time()}, headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"] == "application/problem+json"


async def test_revoked_device_stops_working(client, app, db, driver):
    drv, device = driver
    ok = await client.post(PATH, json={"lat": 1, "lng": 1, "ts": time.time()}, headers=bearer(device.token))
    assert ok.status_code == 202
    async with db.acquire() as conn:
        from hexfleet.drivers.queries import revoke_devices

        assert await revoke_devices(conn, drv.id) == 1
    services(app).ingest.auth.forget()  # what the cache TTL does within AUTH_CACHE_TTL_S
    r = await client.post(PATH, json={"lat": 1, "lng": 1, "ts": time.time() + 1}, headers=bearer(device.token))
    assert r.status_code == 401


async def test_status_read_apis_and_roles(client, db, redis, settings, driver):
    drv, device = driver
    _, staff = await make_user(db, "dispatcher")
    _, customer = await make_user(db, "customer")
    r = await client.post("/api/v1/driver/status", json={"status": "off_duty"}, headers=bearer(device.token))
    assert r.json() == {"driver_id": drv.id, "status": "off_duty", "waiting_for_gps": False}
    r = await client.post("/api/v1/driver/status", json={"status": "busy"}, headers=bearer(device.token))
    assert r.status_code == 422  # only dispatchers set busy
    assert (await client.get("/api/v1/drivers", headers=bearer(customer))).status_code == 403
    assert (await client.get("/api/v1/drivers")).status_code == 401
    listing = (await client.get("/api/v1/drivers", headers=bearer(staff))).json()
    assert listing["drivers"][0]["status"] == "off_duty" and listing["drivers"][0]["online"] is False
    r = await client.post(f"/api/v1/drivers/{drv.id}/status", json={"status": "available"}, headers=bearer(staff))
    assert r.status_code == 200
    r = await client.post("/api/v1/drivers/999/status", json={"status": "available"}, headers=bearer(staff))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def test_dispatcher_sets_duty_from_the_control_room(client, db, driver):
    drv, _ = driver
    await make_user(db, "dispatcher", email="desk@example.org")
    cookie = await browser_login(client, "desk@example.org")
    r = await client.post(
        f"/ui/drivers/{drv.id}/status", data={"status": "busy"}, headers={**cookie, "HX-Request": "true"}
    )
    assert r.status_code == 200 and 'value="busy"' in r.text and "is-current" in r.text
    assert (await db.fetchval("SELECT status FROM drivers WHERE id = $1", drv.id)) == "busy"
    r = await client.post(
        f"/ui/drivers/{drv.id}/status", data={"status": "asleep"}, headers={**cookie, "HX-Request": "true"}
    )
    assert r.status_code == 422 and "not a duty status" in r.text
