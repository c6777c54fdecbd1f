"""Cross-site request forgery: state changes from browsers need our Origin and the page's token."""

from __future__ import annotations

import base64
import re

import pytest
from helpers import browser_login, make_driver, make_user

from webapp.csrf import allowed_origin


@pytest.mark.parametrize(
    ("origin", "host", "extra", "ok"),
    [
        ("http://test", "test", (), True),
        ("https://fleet.example.com", "fleet.example.com", (), True),  # TLS ends at the proxy: host is enough
        ("http://127.0.0.1:8000", "127.0.0.1:8000", (), True),
        ("http://127.0.0.1:9000", "127.0.0.1:8000", (), False),  # another port is another site
        ("https://evil.example", "fleet.example.com", (), False),
        ("https://ops.fleet.example.com", "fleet.example.com", (), False),  # a sibling subdomain
        ("null", "fleet.example.com", (), False),
        ("", "fleet.example.com", (), False),
        ("https://admin.example.com", "fleet.example.com", ("https://admin.example.com",), True),
    ],
)
def test_allowed_origin(origin, host, extra, ok):
    assert allowed_origin(origin, host, extra) is ok


@pytest.fixture
async def desk(client, db):
    user, _ = await make_user(db, "dispatcher")
    return await browser_login(client, user.email)


async def test_a_form_with_the_token_and_our_origin_works(client, db, desk):
    drv, _ = await make_driver(db)
    r = await client.post(
        f"/ui/drivers/{drv.id}/status", data={"status": "busy"}, headers={**desk, "Origin": "http://test"}
    )
    assert r.status_code == 200 and "is-current" in r.text


@pytest.mark.parametrize(
    "change",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},  # a sandboxed frame or a data: page
        {"Origin": "http://test.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain's page
        {"X-CSRF-Token": ""},
        {"X-CSRF-Token": "0" * 64},
    ],
)
async def test_cross_site_or_tokenless_state_changes_are_refused(client, db, desk, change):
    drv, _ = await make_driver(db)
    headers = {**desk, **change}
    for method, path, data in (
        ("POST", f"/ui/drivers/{drv.id}/status", {"status": "busy"}),
        ("POST", "/logout", {}),
        ("POST", f"/ui/drivers/{drv.id}/rotate", {}),
    ):
        r = await client.request(method, path, data=data, headers=headers)
        assert r.status_code == 403, (path, change)
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", drv.id) == "available"
    # The session still works: nothing was logged out by the forged request.
    assert (await client.get("/api/v1/drivers", headers=desk)).status_code == 200


async def test_our_own_pages_send_origin_null_and_same_origin(client, db, desk):
    """Our pages send no referrer, so browsers send "Origin: null" even for our own forms."""
    drv, _ = await make_driver(db)
    headers = {**desk, "Origin": "null", "Sec-Fetch-Site": "same-origin"}
    r = await client.post(f"/ui/drivers/{drv.id}/status", data={"status": "busy"}, headers=headers)
    assert r.status_code == 200


async def test_a_cookie_session_calling_the_json_api_needs_the_token_too(client, db, desk):
    drv, _ = await make_driver(db)
    bare = {"Cookie": desk["Cookie"]}
    r = await client.post(f"/api/v1/drivers/{drv.id}/status", json={"status": "off_duty"}, headers=bare)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = await client.post(f"/api/v1/drivers/{drv.id}/status", json={"status": "off_duty"}, headers=desk)
    assert r.status_code == 200


async def test_bearer_clients_and_phones_are_not_browsers(client, db):
    _, staff = await make_user(db)
    drv, device = await make_driver(db)
    r = await client.post(
        f"/api/v1/drivers/{drv.id}/status",
        json={"status": "off_duty"},
        headers={"Authorization": f"Bearer {staff}", "Origin": "https://script.example"},
    )
    assert r.status_code == 200
    r = await client.get(f"/osmand?id={device.device_id}&lat=52.5&lon=13.4")
    assert r.status_code == 200


# What a browser sends by itself, on every request to a site behind HTTP Basic auth (a staging
# site's proxy asks for it once): forged cross-site requests carry it too.
PROXY_BASIC = {"Authorization": "Basic " + base64.b64encode(b"staging:door-password").decode()}


@pytest.mark.parametrize(
    "forged",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {},  # no Origin at all (an old browser): the missing page token still refuses it
    ],
)
async def test_a_proxys_basic_credentials_exempt_no_cookie_request(client, db, desk, forged):
    """Behind a proxy's Basic auth the session cookie still authenticates: such a request gets
    the Origin and token checks of any cookie request (it was waved through before)."""
    drv, _ = await make_driver(db)
    headers = {"Cookie": desk["Cookie"], **PROXY_BASIC, **forged}
    page = await client.post(f"/ui/drivers/{drv.id}/status", data={"status": "busy"}, headers=headers)
    assert page.status_code == 403 and "Traceback" not in page.text
    api = await client.post(f"/api/v1/drivers/{drv.id}/status", json={"status": "off_duty"}, headers=headers)
    assert api.status_code == 403 and api.headers["content-type"] == "application/problem+json"
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", drv.id) == "available"


async def test_our_own_pages_keep_working_behind_a_proxys_basic_auth(client, db, desk):
    drv, _ = await make_driver(db)
    ours = {**desk, **PROXY_BASIC, "Origin": "http://test"}
    page = await client.post(f"/ui/drivers/{drv.id}/status", data={"status": "busy"}, headers=ours)
    assert page.status_code == 200 and "is-current" in page.text
    assert (await client.get("/api/v1/drivers", headers=ours)).status_code == 200  # the cookie signs in


async def test_a_bearer_request_is_judged_by_its_token_alone(client, db, desk):
    """A Bearer request is exempt from the CSRF check because its cookies count for nothing: a
    bad token with a good session cookie is a 401, never the cookie's user."""
    drv, _ = await make_driver(db)
    headers = {"Cookie": desk["Cookie"], "Authorization": "Bearer hfu_not-a-token", "Origin": "https://evil.example"}
    r = await client.post(f"/api/v1/drivers/{drv.id}/status", json={"status": "off_duty"}, headers=headers)
    assert r.status_code == 401
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", drv.id) == "available"


async def test_the_driver_web_app_works_behind_a_proxys_basic_auth(browsers, db):
    """The /d session cookie still signs the driver in when the browser sends a proxy's Basic
    header (a 401 "send Bearer" before), and its state changes are checked like any cookie's."""
    from test_driver_app import signed_in_phone

    drv, _ = await make_driver(db, "Basil Proxy", "B-BP-1")
    phone = await signed_in_phone(browsers, db, drv.id)
    phone.client.headers.update(PROXY_BASIC)
    assert (await phone.get("/d/me")).status_code == 200
    forged = await phone.post("/api/v1/driver/status", json={"status": "available"}, csrf=False)
    assert forged.status_code == 403
    ours = await phone.post("/api/v1/driver/status", json={"status": "available"})
    assert ours.status_code == 200, ours.text


async def test_login_from_another_site_is_refused(client, db):
    user, _ = await make_user(db)
    r = await client.post(
        "/login",
        data={"email": user.email, "password": "correct-horse"},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "hexfleet_session" not in r.headers.get("set-cookie", "")


async def test_pages_carry_the_token_for_forms_and_htmx(client, db, desk):
    page = await client.get("/", headers=desk)
    token = desk["X-CSRF-Token"]
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page.text
    assert re.search(rf'name="csrf_token" value="{token}"', page.text)  # the logout form


@pytest.mark.parametrize("sent", ["ü" * 64, "\u0663" * 10, "tökën"])
async def test_a_non_ascii_token_is_refused_not_a_500(client, db, desk, sent):
    """hmac.compare_digest raises TypeError on str with non-ASCII characters: compared as bytes."""
    drv, _ = await make_driver(db)
    cookie = {"Cookie": desk["Cookie"]}
    form = await client.post(
        f"/ui/drivers/{drv.id}/status", data={"status": "busy", "csrf_token": sent}, headers=cookie
    )
    assert form.status_code == 403 and "security token" in form.text
    header = await client.post(
        f"/api/v1/drivers/{drv.id}/status",
        json={"status": "busy"},
        headers={**cookie, "X-CSRF-Token": sent.encode()},  # bytes: as a hostile client sends them
    )
    assert header.status_code == 403
