"""Hostile or odd input gets a clear answer, never a 500 (findings of the code review)."""

import subprocess
import sys
import time

import pytest
from helpers import make_driver, make_user, server_env

from hexfleet.settings import SettingsError
from streaming.hub import Filter, LiveHub, make_event
from webapp.services import services


@pytest.mark.parametrize("driver_id", ["%C2%B2", "1" * 40, "-1", "abc"])
async def test_bad_driver_id_filter_is_422(client, db, driver_id):
    _, staff = await make_user(db)
    r = await client.get(
        f"/api/v1/stream/positions?driver_id={driver_id}", headers={"Authorization": f"Bearer {staff}"}
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


async def test_nul_in_identifiers_is_refused_cleanly(client, db):
    await make_driver(db)
    r = await client.get("/osmand?id=%00&lat=52.5&lon=13.4")
    assert r.status_code == 404
    r = await client.post("/owntracks", json={"_type": "location"}, headers={"Authorization": "Basic AGE6Yg=="})
    assert r.status_code == 401  # user "\0a", password "b"
    r = await client.post("/login", data={"email": "a\x00@example.org", "password": "whatever-long"})
    assert r.status_code == 400 and "Traceback" not in r.text


async def test_osmand_json_has_the_batch_limit(client, settings, db):
    _, device = await make_driver(db)
    now = int(time.time())
    too_many = settings.max_batch_pings + 1
    locations = [{"timestamp": now - i, "coords": {"latitude": 52.5, "longitude": 13.4}} for i in range(too_many)]
    body = {"device_id": device.device_id, "location": locations}
    r = await client.post("/osmand", json=body)
    assert r.status_code == 413


async def test_a_lookup_racing_a_rotation_is_not_cached(app):
    auth = services(app).ingest.auth

    async def lookup_during_rotation(conn):
        auth.forget()  # the rotation's announcement arrives while this lookup is in flight
        return 42

    assert await auth._cached(("t", b"old"), lookup_during_rotation) == 42

    async def after(conn):
        return None  # what the database says now

    assert await auth._cached(("t", b"old"), after) is None


def test_subscriber_with_both_filters_gets_only_matching_events():
    hub = LiveHub()
    sub = hub.subscribe(Filter(bbox=(13.0, 52.0, 14.0, 53.0), driver_id=1))
    hub.publish([make_event("position", 1, b"{}", 40.0, -3.7)])  # driver 1, outside the box
    assert not sub.wake.is_set()
    hub.publish([make_event("position", 1, b"{}", 52.5, 13.4)])
    assert sub.wake.is_set()


def test_web_app_needs_a_secret_key(settings):
    from webapp import create_app

    with pytest.raises(SettingsError, match="SECRET_KEY"):
        create_app(settings.with_(secret_key=""))
    with pytest.raises(SettingsError, match="SECRET_KEY is too weak"):
        create_app(settings.with_(secret_key="test-secret"))


@pytest.mark.parametrize("key", ["test-secret", "s" * 64, "a-short-key"])
def test_the_web_process_stops_on_a_weak_secret_key_with_one_line(settings, key):
    """As the Procfile starts it (uvicorn's factory): one readable line and uvicorn's start-up
    failure code (a supervisor of several workers stops), no traceback."""
    argv = [sys.executable, "-m", "uvicorn", "--factory", "webapp:create_app", "--host", "127.0.0.1", "--port", "0"]
    done = subprocess.run(
        argv, env={**server_env(settings), "SECRET_KEY": key}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hexfleet web: SECRET_KEY is too weak"), done.stderr
    assert "at least 256" in lines[0] and key not in lines[0] and "Traceback" not in done.stderr


async def test_deeply_nested_bodies_are_a_clear_400(client, db):
    _, device = await make_driver(db)
    body = '{"a":' * 2000 + "1" + "}" * 2000
    for path in ("/api/v1/driver/status", "/api/v1/quotes"):
        r = await client.post(
            path, content=body, headers={"Content-Type": "application/json", "Authorization": f"Bearer {device.token}"}
        )
        assert r.status_code in (400, 401, 422) and r.headers["content-type"] == "application/problem+json"


async def test_the_driver_form_refuses_control_characters_by_name(client, db):
    """A NUL character in the admin's driver form: the form names the field (PostgreSQL could not
    store it), nothing is saved."""
    from helpers import browser_login

    admin, _ = await make_user(db, "admin")
    headers = {**await browser_login(client, admin.email), "HX-Request": "true"}
    form = {"name": "\x00", "phone": "", "vehicle_plate": "", "vehicle_class": "standard"}
    response = await client.post("/admin/drivers", data=form, headers=headers)
    assert response.status_code == 400 and "no control characters" in response.text
    assert "Traceback" not in response.text
    assert await db.fetchval("SELECT count(*) FROM drivers") == 0


async def test_text_postgresql_cannot_hold_is_a_clear_422_not_a_500(settings, db, redis):
    """The net under any check that lets a NUL through to PostgreSQL: the client's input,
    answered as a 422 it can read, not a 500 (a route of this test's own reaches the database
    with one, as a form without the check would)."""
    import httpx

    from webapp import create_app

    app = create_app(settings)

    @app.post("/api/v1/test-only/store-text")
    async def store_text():
        async with services(app).db.acquire() as conn:
            await conn.fetchval("SELECT $1::text", "before\x00after")
        return "stored"

    async with app.test_app():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/api/v1/test-only/store-text", headers={"Authorization": "Bearer none"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "cannot be stored" in response.json()["detail"]
