"""The driver web app (/d) through the real app: one-time sign-in links, the driver session
cookie on the driver API, browser positions into the ingest, and how a session ends."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time

import httpx
import orjson
import pytest
from helpers import browser_login, make_driver, make_fare, make_user, place_driver, read_topic, wait_for
from itsdangerous import URLSafeTimedSerializer

from hexfleet import keys
from hexfleet.devtools.demo import DEMO_PLACES
from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers import revocation
from hexfleet.places import queries as place_queries
from streaming.events import PingsEvent
from webapp import driver_session
from webapp.services import services

HX = {"HX-Request": "true"}
PICKUP = {"lat": 52.5200, "lng": 13.4050}
DROPOFF = {"lat": 52.5300, "lng": 13.4300}
LINK = re.compile(r"https?://test/d/login/([A-Za-z0-9_-]+)")


@pytest.fixture
def link_ttl() -> float:
    return 900.0


@pytest.fixture
def session_hours() -> float:
    return 24.0


@pytest.fixture
def secure_cookies() -> bool:
    return False


@pytest.fixture
def rate_ingest() -> str:
    return "1200/minute"


@pytest.fixture
def rate_places() -> str:
    return "120/minute"


@pytest.fixture
def settings(settings, link_ttl, session_hours, secure_cookies, rate_ingest, rate_places):
    # A device cache that outlives every test: a session can only end at a rotation because
    # the rotation was announced, never because a cache entry happened to expire.
    return settings.with_(
        auth_cache_ttl_s=600.0,
        driver_link_ttl_s=link_ttl,
        driver_session_hours=session_hours,
        secure_cookies=secure_cookies,
        rate_ingest=rate_ingest,
        rate_places=rate_places,
    )


@pytest.fixture
async def driver(db):
    return await make_driver(db, "Ada Lovelace", "B-AL-1")


async def staff_headers(client, db, role: str = "dispatcher") -> dict:
    user, _ = await make_user(db, role)
    return {**await browser_login(client, user.email), **HX}


async def create_link(client, headers: dict, driver_id: int) -> str:
    response = await client.post(f"/ui/drivers/{driver_id}/driver-link", headers=headers)
    assert response.status_code == 200, response.text
    return LINK.search(response.text).group(0)


def code(response: httpx.Response) -> str:
    """A problem+json answer's machine code (the last part of its type)."""
    return response.json()["type"].rsplit("/", 1)[1]


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Phone:
    """A driver's browser: signs in with a link, then calls the driver API with its cookie."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""

    async def open_link(self, link: str) -> httpx.Response:
        response = await self.client.get(link)
        if response.status_code == 200:
            self.csrf = form_token(response.text)
        return response

    async def start_working(self, link: str) -> httpx.Response:
        return await self.client.post(link, data={"csrf_token": self.csrf})

    async def sign_in(self, link: str) -> Phone:
        assert (await self.open_link(link)).status_code == 200
        response = await self.start_working(link)
        assert (response.status_code, response.headers["location"]) == (303, "/d"), response.text
        return self

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path, headers={"Accept": "application/json"})

    async def post(self, path: str, json=None, csrf: bool = True) -> httpx.Response:
        headers = {"Accept": "application/json", **({"X-CSRF-Token": self.csrf} if csrf else {})}
        return await self.client.post(path, json=json, headers=headers)


async def signed_in_phone(browsers, db, driver_id: int) -> Phone:
    staff = browsers()
    link = await create_link(staff, await staff_headers(staff, db), driver_id)
    return await Phone(browsers()).sign_in(link)


async def revocations_heard(redis) -> None:
    """The app's revocation listener has subscribed (it starts with the app, asynchronously)."""

    async def subscribed():
        [(_, count)] = await redis.pubsub_numsub(revocation.CHANNEL)
        return count >= 1

    await wait_for(subscribed)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def book(client, customer_token: str) -> dict:
    quote = await client.post(
        "/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=bearer(customer_token)
    )
    assert quote.status_code == 201, quote.text
    body = {"quote_id": quote.json()["quote_id"], "passenger": {"name": "Rita", "phone": "+49 30 5550101"}}
    response = await client.post("/api/v1/bookings", json=body, headers=bearer(customer_token))
    assert response.status_code == 201, response.text
    return response.json()


async def offer_for(phone: Phone) -> dict:
    async def pending():
        offers = (await phone.get("/api/v1/driver/offers")).json()["offers"]
        return offers[0] if offers else None

    return await wait_for(pending)


# ---------------------------------------------------------------- creating links


async def test_the_connect_pane_offers_a_sign_in_link(browsers, db, driver):
    drv, _ = driver
    staff = browsers()
    response = await staff.get(f"/ui/drivers/{drv.id}/connect", headers=await staff_headers(staff, db))
    assert response.status_code == 200
    assert "Driver web app" in response.text
    assert f'hx-post="/ui/drivers/{drv.id}/driver-link"' in response.text
    assert "within 15 min" in response.text


@pytest.mark.parametrize("role", ["dispatcher", "admin"])
async def test_staff_create_a_one_time_link_kept_hashed_in_redis(browsers, db, redis, driver, role):
    drv, device = driver
    staff = browsers()
    headers = await staff_headers(staff, db, role)
    response = await staff.post(f"/ui/drivers/{drv.id}/driver-link", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    token = LINK.search(response.text).group(1)
    assert '<svg width="' in response.text and 'data-qr="driver-link"' in response.text
    assert "Works once" in response.text
    # Only the token's hash is stored, with the driver, its device and the TTL.
    assert await redis.get(keys.driver_link(token)) is None
    key = keys.driver_link(hashlib.sha256(token.encode()).hexdigest())
    # The device by its row: its id is a credential, kept nowhere but as a hash in PostgreSQL.
    assert await redis.get(key) == f"{drv.id}:{device.row_id}".encode()
    assert 890_000 < await redis.pttl(key) <= 900_000
    # Every click makes another link.
    again = await staff.post(f"/ui/drivers/{drv.id}/driver-link", headers=headers)
    assert LINK.search(again.text).group(1) != token


async def test_only_staff_create_links(browsers, db, redis, driver):
    drv, _ = driver
    anonymous = await browsers().post(f"/ui/drivers/{drv.id}/driver-link")
    assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/login")
    customer = browsers()
    refused = await customer.post(
        f"/ui/drivers/{drv.id}/driver-link", headers=await staff_headers(customer, db, "customer")
    )
    assert refused.status_code == 403 and "Not for this account" in refused.text
    driver_phone = await signed_in_phone(browsers, db, drv.id)
    as_driver = await driver_phone.client.post(
        f"/ui/drivers/{drv.id}/driver-link", headers={"X-CSRF-Token": driver_phone.csrf}
    )
    assert as_driver.status_code == 302  # a driver session is no staff login
    # One link was made (for the driver's phone), none by anyone else.
    assert len([k async for k in redis.scan_iter(f"{keys.DRIVER_LINK_PREFIX}*")]) == 0  # and it is spent


async def test_no_link_for_a_driver_without_a_device(browsers, db):
    async with db.acquire() as conn:
        drv = await driver_queries.create_driver(conn, "No Phone")
    staff = browsers()
    headers = await staff_headers(staff, db)
    response = await staff.post(f"/ui/drivers/{drv.id}/driver-link", headers=headers)
    assert response.status_code == 409
    assert "has no device yet" in response.text and "/d/login/" not in response.text
    missing = await staff.post("/ui/drivers/999999/driver-link", headers=headers)
    assert missing.status_code == 404 and "Traceback" not in missing.text


# ---------------------------------------------------------------- using a link


async def test_a_link_signs_in_once_after_a_confirmation(browsers, db, driver):
    drv, _ = driver
    staff = browsers()
    link = await create_link(staff, await staff_headers(staff, db), drv.id)
    phone = Phone(browsers())
    # Opening it (as a link preview or a QR scanner would) only shows the confirmation.
    for _ in range(2):
        page = await phone.open_link(link)
        assert page.status_code == 200
        assert "Hello, Ada Lovelace" in page.text and "Start working" in page.text
        assert f'<form method="post" action="/d/login/{link.rsplit("/", 1)[1]}"' in page.text
        assert page.headers["Cache-Control"] == "no-store"
    started = await phone.start_working(link)
    assert started.status_code == 303 and started.headers["location"] == "/d"
    cookie = started.headers["set-cookie"]
    assert cookie.startswith(f"{driver_session.COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Max-Age=86400" in cookie and "Secure" not in cookie
    app_page = await phone.client.get("/d")
    assert app_page.status_code == 200 and "Ada Lovelace" in app_page.text
    assert '<script type="application/json" id="d-config">' in app_page.text
    assert "<script>" not in app_page.text and " style=" not in app_page.text and "onclick" not in app_page.text

    # Used: a friendly page, whether opened again or submitted again (from any browser).
    for attempt in (phone.client.get(link), phone.start_working(link), browsers().get(link)):
        gone = await attempt
        assert gone.status_code == 410
        assert "This sign-in link no longer works" in gone.text and "Traceback" not in gone.text
    assert "This phone is signed in already" in (await phone.client.get(link)).text


async def test_the_cookie_names_a_server_side_session_and_no_driver_or_device(browsers, db, redis, driver):
    drv, device = driver
    phone = await signed_in_phone(browsers, db, drv.id)
    cookie = phone.client.cookies[driver_session.COOKIE]
    # Signed, not encrypted: anyone holding the phone can decode it, without the key.
    valid, payload = URLSafeTimedSerializer("not the key").loads_unsafe(cookie)
    assert not valid and set(payload) == {"s"} and len(payload["s"]) == 43  # a random session id, no more
    assert device.device_id not in orjson.dumps(payload).decode() and device.token not in cookie
    # The server keeps the session: its id's hash names the driver and the device's row.
    stored = await redis.get(keys.driver_session(hashlib.sha256(payload["s"].encode()).hexdigest()))
    assert stored == f"{drv.id}:{device.row_id}".encode()
    for key in await redis.keys("*"):  # nothing in Redis holds the device id either
        assert device.device_id.encode() not in key and device.device_id.encode() not in (await redis.dump(key) or b"")
    assert (await phone.get("/d/me")).json()["id"] == drv.id


async def test_a_session_from_before_device_ids_were_hashed_is_over(browsers, db, redis, driver, settings):
    """Sessions and links made before this release named the device by its id: refused and deleted."""
    drv, device = driver
    session_id = "b" * 43
    key = keys.driver_session(hashlib.sha256(session_id.encode()).hexdigest())
    await redis.set(key, f"{drv.id}:{device.device_id}", px=60_000)
    client = browsers()
    old = URLSafeTimedSerializer(settings.require_secret_key(), salt="hexfleet.driver-session").dumps(
        {"d": drv.id, "v": device.device_id, "s": session_id}
    )
    client.cookies.set(driver_session.COOKIE, old)
    page = await client.get("/d")
    assert page.status_code == 401 and "Your session has ended" in page.text
    assert await redis.get(key) is None  # the id it held is gone from Redis
    # An unused sign-in link from then too: it no longer works, and its record goes.
    token = "c" * 43
    link_key = keys.driver_link(hashlib.sha256(token.encode()).hexdigest())
    await redis.set(link_key, f"{drv.id}:{device.device_id}", px=60_000)
    assert (await browsers().get(f"/d/login/{token}")).status_code == 410
    assert await redis.get(link_key) is None


@pytest.mark.parametrize("secure_cookies", [True])
async def test_the_session_cookie_is_secure_behind_https(browsers, db, driver):
    drv, _ = driver
    staff = browsers("https://test")
    link = await create_link(staff, await staff_headers(staff, db), drv.id)
    assert link.startswith("https://test/d/login/")  # the address the browser used
    phone = Phone(browsers("https://test"))
    await phone.open_link(link)
    started = await phone.start_working(link)
    assert started.status_code == 303
    cookie = next(c for c in started.headers.get_list("set-cookie") if c.startswith(driver_session.COOKIE))
    assert "; Secure" in cookie and "HttpOnly" in cookie


async def test_start_working_needs_the_pages_csrf_token(browsers, db, driver):
    drv, _ = driver
    staff = browsers()
    link = await create_link(staff, await staff_headers(staff, db), drv.id)
    phone = Phone(browsers())
    await phone.open_link(link)
    refused = await phone.client.post(link, data={"csrf_token": "forged"})
    assert refused.status_code == 403
    # A refused attempt does not spend the link.
    assert (await phone.start_working(link)).status_code == 303


@pytest.mark.parametrize("link_ttl", [0.5])
async def test_a_link_expires_after_driver_link_ttl(browsers, db, redis, driver):
    drv, _ = driver
    staff = browsers()
    link = await create_link(staff, await staff_headers(staff, db), drv.id)
    phone = Phone(browsers())
    assert (await phone.open_link(link)).status_code == 200

    async def expired():
        return (await phone.client.get(link)).status_code == 410

    await wait_for(expired, timeout=3.0)
    late = await phone.start_working(link)
    assert late.status_code == 410 and "already used or has expired" in late.text
    assert driver_session.COOKIE not in late.headers.get("set-cookie", "")


async def test_made_up_and_malformed_links_get_the_friendly_page(browsers):
    client = browsers()
    for token in ("x" * 43, "short", "a" * 101, "not%20a%20token"):
        response = await client.get(f"/d/login/{token}")
        assert response.status_code == 410, token
        assert "This sign-in link no longer works" in response.text


# ---------------------------------------------------------------- the session on the driver API


@pytest.fixture
async def ride_setup(app, db):
    await make_fare(db)
    _, customer = await make_user(db, "customer")
    return customer


async def test_the_cookie_session_drives_a_whole_ride(app, client, browsers, db, driver, ride_setup):
    drv, _ = driver
    await place_driver(services(app).store, drv.id, 52.5205, 13.4050)
    phone = await signed_in_phone(browsers, db, drv.id)

    me = (await phone.get("/d/me")).json()
    assert (me["id"], me["name"], me["status"], me["online"]) == (drv.id, "Ada Lovelace", "available", True)
    assert abs(me["server_time"] - time.time()) < 5

    booking = await book(client, ride_setup)
    offer = await offer_for(phone)
    assert offer["booking_id"] == booking["id"] and offer["booking"]["currency"] == "EUR"

    # A state change needs the page's CSRF token, like any browser request with cookies.
    refused = await phone.post(f"/api/v1/driver/offers/{offer['id']}/accept", csrf=False)
    assert refused.status_code == 403 and code(refused) == "csrf"
    accepted = await phone.post(f"/api/v1/driver/offers/{offer['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["passenger"] == {"name": "Rita", "phone": "+49 30 5550101"}
    current = (await phone.get("/api/v1/driver/bookings/current")).json()["booking"]
    assert (current["id"], current["status"]) == (booking["id"], "assigned")
    assert (await phone.get("/d/me")).json()["status"] == "busy"

    for step, status in (("arrived", "arrived"), ("start", "in_progress"), ("complete", "completed")):
        response = await phone.post(f"/api/v1/driver/bookings/{booking['id']}/{step}")
        assert (response.status_code, response.json()["status"]) == (200, status)
    assert (await phone.get("/api/v1/driver/bookings/current")).json() == {"booking": None}

    # Duty from the page: off duty, and back (busy only ever comes with a ride).
    off = await phone.post("/api/v1/driver/status", json={"status": "off_duty"})
    assert off.json() == {"driver_id": drv.id, "status": "off_duty", "waiting_for_gps": False}
    busy = await phone.post("/api/v1/driver/status", json={"status": "busy"})
    assert busy.status_code == 422
    assert (await phone.post("/api/v1/driver/status", json={"status": "off_duty"}, csrf=False)).status_code == 403
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", drv.id) == "off_duty"


async def test_declining_and_giving_back_with_the_cookie(app, client, browsers, db, driver, ride_setup):
    drv, _ = driver
    await place_driver(services(app).store, drv.id, 52.5205, 13.4050)
    phone = await signed_in_phone(browsers, db, drv.id)
    first = await book(client, ride_setup)
    offer = await offer_for(phone)
    declined = await phone.post(f"/api/v1/driver/offers/{offer['id']}/decline")
    assert declined.json() == {"offer_id": offer["id"], "status": "declined"}
    # Too late for the same offer now: 409, which the page explains.
    late = await phone.post(f"/api/v1/driver/offers/{offer['id']}/accept")
    assert late.status_code == 409 and code(late) == "offer-declined"

    second = await book(client, ride_setup)
    offer = await offer_for(phone)
    assert offer["booking_id"] == second["id"] != first["id"]
    assert (await phone.post(f"/api/v1/driver/offers/{offer['id']}/accept")).status_code == 200
    released = await phone.post(f"/api/v1/driver/bookings/{second['id']}/cancel", json={"reason": "Vehicle problem"})
    assert released.status_code == 200 and released.json()["released"] is True
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", drv.id) == "available"


async def test_a_session_cannot_touch_another_drivers_offer_or_ride(app, client, browsers, db, ride_setup):
    store = services(app).store
    near, _ = await make_driver(db, "Near", "B-NR-1")
    other, _ = await make_driver(db, "Other", "B-OT-2")
    await place_driver(store, near.id, 52.5205, 13.4050)
    near_phone = await signed_in_phone(browsers, db, near.id)
    other_phone = await signed_in_phone(browsers, db, other.id)
    booking = await book(client, ride_setup)
    offer = await offer_for(near_phone)

    assert (await other_phone.get("/api/v1/driver/offers")).json() == {"offers": []}
    for action in ("accept", "decline"):
        response = await other_phone.post(f"/api/v1/driver/offers/{offer['id']}/{action}")
        assert (response.status_code, code(response)) == (404, "offer-not-found")
    assert (await near_phone.post(f"/api/v1/driver/offers/{offer['id']}/accept")).status_code == 200
    for step in ("arrived", "start", "complete"):
        response = await other_phone.post(f"/api/v1/driver/bookings/{booking['id']}/{step}")
        assert (response.status_code, code(response)) == (404, "booking-not-found")
    response = await other_phone.post(f"/api/v1/driver/bookings/{booking['id']}/cancel", json={"reason": "mine now"})
    assert response.status_code == 404
    current = (await near_phone.get("/api/v1/driver/bookings/current")).json()["booking"]
    assert current["status"] == "assigned"


async def test_a_bearer_token_still_wins_over_the_cookie(browsers, db, driver):
    drv, _ = driver
    other, other_device = await make_driver(db, "Other", "B-OT-2")
    phone = await signed_in_phone(browsers, db, drv.id)
    # Whoever sends Authorization is judged by it alone (and needs no CSRF token).
    response = await phone.client.post(
        "/api/v1/driver/status", json={"status": "off_duty"}, headers=bearer(other_device.token)
    )
    assert response.json() == {"driver_id": other.id, "status": "off_duty", "waiting_for_gps": False}
    bad = await phone.client.get("/api/v1/driver/offers", headers=bearer("hfd_not-a-token"))
    assert bad.status_code == 401
    assert (await phone.get("/api/v1/driver/offers")).status_code == 200  # the cookie alone: Ada


# ---------------------------------------------------------------- how a session ends


async def test_rotating_the_device_token_ends_the_session_and_unused_links(browsers, db, redis, driver):
    drv, _ = driver
    await revocations_heard(redis)
    admin = browsers()
    admin_headers = await staff_headers(admin, db, "admin")
    phone = await Phone(browsers()).sign_in(await create_link(admin, admin_headers, drv.id))
    unused = await create_link(admin, admin_headers, drv.id)
    assert (await phone.get("/api/v1/driver/offers")).status_code == 200

    rotated = await admin.post(f"/ui/drivers/{drv.id}/rotate", headers=admin_headers)
    assert rotated.status_code == 200

    async def ended():
        return (await phone.get("/api/v1/driver/offers")).status_code == 401

    await wait_for(ended, timeout=2.0)  # announced, not the 600 s cache running out
    page = await phone.client.get("/d")
    assert page.status_code == 401 and "Your session has ended" in page.text
    assert (await phone.post("/d/pings", json={"lat": 52.52, "lng": 13.4, "ts": time.time()})).status_code == 401
    # A link made before the rotation names the old device: it no longer signs in.
    assert (await browsers().get(unused)).status_code == 410
    # A new link signs in as the new device.
    assert (await Phone(browsers()).sign_in(await create_link(admin, admin_headers, drv.id))).client


@pytest.mark.parametrize("session_hours", [1 / 3600])  # one second
async def test_a_session_ends_after_driver_session_hours(browsers, db, driver):
    drv, _ = driver
    phone = await signed_in_phone(browsers, db, drv.id)
    cookie = phone.client.cookies[driver_session.COOKIE]
    assert (await phone.get("/d/me")).status_code == 200
    # The browser forgets the cookie after its Max-Age; the server refuses it after the
    # session's lifetime too, from the time signed into it, whoever still sends it.
    kept = {"Cookie": f"{driver_session.COOKIE}={cookie}", "Accept": "application/json"}
    stranger = browsers()

    async def ended():
        return (await stranger.get("/d/me", headers=kept)).status_code == 401

    await wait_for(ended, timeout=4.0, interval=0.2)
    page = await browsers().get("/d", headers={"Cookie": f"{driver_session.COOKIE}={cookie}"})
    assert page.status_code == 401 and "Your session has ended" in page.text
    assert (await phone.client.get("/d")).status_code == 401


async def test_signing_out_clears_the_cookie_and_goes_off_duty(browsers, db, driver):
    drv, _ = driver
    phone = await signed_in_phone(browsers, db, drv.id)
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", drv.id) == "available"
    refused = await phone.client.post("/d/logout")
    assert refused.status_code == 403  # without the page's token
    out = await phone.client.post("/d/logout", data={"csrf_token": phone.csrf})
    assert (out.status_code, out.headers["location"]) == (303, "/d/signed-out")
    assert (
        out.headers["set-cookie"].startswith(f'{driver_session.COOKIE}=""') or "Max-Age=0" in out.headers["set-cookie"]
    )
    assert await db.fetchval("SELECT status FROM drivers WHERE id = $1", drv.id) == "off_duty"
    page = await phone.client.get("/d/signed-out")
    assert page.status_code == 200 and "You are signed out" in page.text
    assert (await phone.client.get("/d")).status_code == 401


async def test_without_a_session(browsers):
    client = browsers()
    page = await client.get("/d")
    assert page.status_code == 401 and "Sign in to start working" in page.text and "Traceback" not in page.text
    for method, path in (("GET", "/d/me"), ("GET", "/api/v1/driver/offers"), ("GET", "/api/v1/driver/offers/stream")):
        response = await client.request(method, path)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"
    # A browser with no cookies at all passes the CSRF check (nothing ambient to abuse).
    pings = await browsers().post("/d/pings", json={"lat": 52.52, "lng": 13.4, "ts": time.time()})
    assert pings.status_code == 401
    # A cookie that is not ours (tampered, or signed with another key) is no session either.
    forged = driver_session.cookie_value("another-secret", driver_session.DriverSession(1, 1, "a" * 43))
    client.cookies.set(driver_session.COOKIE, forged)
    page = await client.get("/d")
    assert page.status_code == 401 and "Your session has ended" in page.text
    assert (await client.get("/api/v1/driver/offers")).status_code == 401


# ---------------------------------------------------------------- positions from the browser


async def test_browser_positions_reach_the_ingest(settings, browsers, db, driver):
    drv, _ = driver
    phone = await signed_in_phone(browsers, db, drv.id)
    now = time.time()
    one = await phone.post("/d/pings", json={"lat": 52.52, "lng": 13.405, "ts": now, "accuracy_m": 8.5})
    assert (one.status_code, one.json()) == (202, {"accepted": 1, "duplicates": 0, "rejected": []})
    batch = [
        {"lat": 52.521, "lng": 13.406, "ts": now + 5, "speed_mps": 4.0, "heading": 90},
        {"lat": 52.521, "lng": 13.406, "ts": now + 5},  # the same fix again (a retry)
        {"lat": 500, "lng": 13.4, "ts": now + 10},
    ]
    many = await phone.post("/d/pings", json={"pings": batch})
    assert many.status_code == 202
    assert many.json() == {
        "accepted": 1,
        "duplicates": 1,
        "rejected": [{"index": 2, "error": "lat must be between -90 and 90"}],
    }
    events = await read_topic(settings, 2)
    assert [key for key, _ in events] == [str(drv.id).encode()] * 2
    assert all(isinstance(event, PingsEvent) and event.driver_id == drv.id for _, event in events)
    fixes = [p for _, event in events for p in event.pings]
    assert [(p.lat, p.accuracy_m, p.speed_mps) for p in fixes] == [(52.52, 8.5, None), (52.521, None, 4.0)]


async def test_bad_browser_positions_get_readable_answers(browsers, db, driver):
    drv, _ = driver
    phone = await signed_in_phone(browsers, db, drv.id)
    now = time.time()
    no_csrf = await phone.post("/d/pings", json={"lat": 52.52, "lng": 13.4, "ts": now}, csrf=False)
    assert no_csrf.status_code == 403
    broken = await phone.client.post(
        "/d/pings", content=b"{not json", headers={"X-CSRF-Token": phone.csrf, "Content-Type": "application/json"}
    )
    assert (broken.status_code, code(broken)) == (400, "malformed-json")
    for body, detail in (
        ({"lat": 52.52, "lng": 13.4, "ts": now, "driver_id": 99}, "unknown field(s): driver_id"),
        ({"lat": 0, "lng": 0, "ts": now}, "0,0 is not a real position"),
        ({"pings": [{"lat": 52.5, "lng": 13.4, "ts": now}] * 101}, "at most 100 pings per request"),
    ):
        response = await phone.post("/d/pings", json=body)
        assert (response.status_code, response.json()["detail"]) == (422, detail)


@pytest.mark.time_rejections
async def test_a_phone_clock_far_ahead_is_explained(browsers, db, driver):
    drv, _ = driver
    phone = await signed_in_phone(browsers, db, drv.id)
    ahead = await phone.post("/d/pings", json={"lat": 52.52, "lng": 13.4, "ts": time.time() + 3600})
    assert ahead.status_code == 422 and ahead.json()["detail"] == "ts is more than 600 s ahead of server time"
    both = await phone.post("/d/pings", json={"pings": [{"lat": 52.52, "lng": 13.4, "ts": time.time() + 3600}]})
    assert both.json()["rejected"] == [{"index": 0, "error": "ts is more than 600 s ahead of server time"}]


async def test_browser_positions_answer_503_while_the_broker_is_away(app, browsers, db, driver):
    drv, _ = driver
    phone = await signed_in_phone(browsers, db, drv.id)
    await services(app).producer.stop()  # the real producer, closed: nothing can be acknowledged
    response = await phone.post("/d/pings", json={"lat": 52.52, "lng": 13.4, "ts": time.time()})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2" and code(response) == "broker-unavailable"


@pytest.mark.parametrize("rate_ingest", ["3/minute"])
async def test_browser_positions_share_the_drivers_rate_limit(browsers, db, driver):
    drv, _ = driver
    phone = await signed_in_phone(browsers, db, drv.id)
    now = time.time()
    pings = [{"lat": 52.52, "lng": 13.4 + i / 1000, "ts": now - 60 + i} for i in range(30)]
    assert (await phone.post("/d/pings", json={"pings": pings[:3]})).status_code == 202
    # The budget is spent in lumps (webapp.ingest.DeviceBudget): a lump past it is refused, whole.
    over = await phone.post("/d/pings", json={"pings": pings[3:]})
    assert over.status_code == 429 and code(over) == "rate-limited"
    assert int(over.headers["Retry-After"]) >= 1 and over.json()["retry_after"] >= 1


async def test_the_driver_page_sets_up_the_script(app, browsers, db, driver):
    drv, _ = driver
    await place_driver(services(app).store, drv.id, 52.5, 13.3)
    phone = await signed_in_phone(browsers, db, drv.id)
    page = await phone.client.get("/d")
    assert page.headers["Cache-Control"] == "no-store"
    config = re.search(r'<script type="application/json" id="d-config">(.*?)</script>', page.text).group(1)
    assert f'"driver_id": {drv.id}' in config and '"center": [52.5, 13.3]' in config
    assert '"max_batch": 100' in config
    assert '<meta name="csrf-token" content="' in page.text
    assert "/static/js/driver-app/main.js" in page.text and "/static/css/driver.css" in page.text
    assert 'action="/d/logout"' in page.text


async def test_concurrent_start_working_spends_a_link_once(browsers, db, driver):
    drv, _ = driver
    staff = browsers()
    link = await create_link(staff, await staff_headers(staff, db), drv.id)
    phones = [Phone(browsers()) for _ in range(5)]
    for phone in phones:
        await phone.open_link(link)
    answers = await asyncio.gather(*(phone.start_working(link) for phone in phones))
    assert sorted(r.status_code for r in answers) == [303, 410, 410, 410, 410]


async def test_a_new_driver_opens_off_duty_and_goes_available_waiting_for_gps(app, browsers, db):
    """A driver just added starts off duty, and /d opens so; going available before the phone
    has sent a position is allowed, and said to be waiting for GPS until a fix arrives."""
    staff = browsers()
    headers = await staff_headers(staff, db, "admin")
    form = {"name": "Nia New", "phone": "", "vehicle_plate": "B-NN-1", "vehicle_class": "standard"}
    added = await staff.post("/admin/drivers", data=form, headers=headers)
    assert added.status_code == 201 and "off duty until they go available" in added.text, added.text
    drv = await db.fetchrow("SELECT id, status FROM drivers WHERE name = 'Nia New'")
    assert drv["status"] == "off_duty"
    phone = await signed_in_phone(browsers, db, drv["id"])
    page = await phone.client.get("/d")
    config = orjson.loads(
        re.search(r'<script type="application/json" id="d-config">(.*?)</script>', page.text).group(1)
    )
    assert (config["status"], config["waiting_for_gps"]) == ("off_duty", False)
    assert 'id="d-status">Off duty<' in page.text
    me = (await phone.get("/d/me")).json()
    assert (me["status"], me["waiting_for_gps"]) == ("off_duty", False)

    went = await phone.post("/api/v1/driver/status", json={"status": "available"})
    assert went.status_code == 200 and went.json() == {
        "driver_id": drv["id"],
        "status": "available",
        "waiting_for_gps": True,
    }
    assert (await phone.get("/d/me")).json()["waiting_for_gps"] is True
    # Opened now, the page says so, not "Available" (static/js/driver-app keeps it so from /d/me).
    waiting = (await phone.client.get("/d")).text
    assert 'class="badge badge-waiting" id="d-status">Waiting for GPS<' in waiting
    assert '"waiting_for_gps": true' in waiting and '"status": "available"' in waiting
    await place_driver(services(app).store, drv["id"], 52.5201, 13.4050)  # the phone's first fix, as tracked
    me = (await phone.get("/d/me")).json()
    assert (me["status"], me["online"], me["waiting_for_gps"]) == ("available", True, False)
    assert 'class="badge badge-available" id="d-status">Available<' in (await phone.client.get("/d")).text


# ---------------------------------------------------------------- places for a map without tiles


@pytest.fixture
async def places(app, db):
    """The demo's Berlin places, searchable and labelling."""
    async with db.acquire() as conn:
        await place_queries.add_missing_places(conn, DEMO_PLACES)
    await services(app).places.reload()


async def test_a_signed_in_driver_reads_the_places_near_and_nothing_more(browsers, db, driver, places):
    """The driver's map draws places by name when it has no tiles: the places API answers the
    driver web app's session, for searching only (no geocoder, no inactive places, no changes)."""
    drv, _ = driver
    phone = await signed_in_phone(browsers, db, drv.id)
    near = await phone.get("/api/v1/places?near=52.5219,13.4132&limit=5")
    assert near.status_code == 200, near.text
    body = near.json()
    assert body["geocoder"] == "skipped" and len(body["results"]) == 5
    assert body["results"][0]["name"] == "Alexanderplatz" and body["results"][0]["distance_m"] < 100
    assert near.headers["Cache-Control"] == "no-store"
    found = (await phone.get("/api/v1/places?q=Hbf&near=52.52,13.405")).json()["results"]
    assert found[0]["name"] == "Berlin Hauptbahnhof"
    assert (await phone.get("/api/v1/places?all=1")).status_code == 403
    place = {"name": "Driver's Own", "category": "other", "lat": 52.5, "lng": 13.4}
    for method, path in (("POST", "/api/v1/places"), ("PUT", "/api/v1/places/1"), ("DELETE", "/api/v1/places/1")):
        answer = await phone.client.request(method, path, json=place, headers={"X-CSRF-Token": phone.csrf})
        assert answer.status_code == 401, (method, answer.text)
    assert (await phone.get("/api/v1/places/1")).status_code == 401
    assert await db.fetchval("SELECT count(*) FROM places WHERE name = $1", place["name"]) == 0

    # Signed out, the cookie reads nothing.
    await phone.client.post("/d/logout", data={"csrf_token": phone.csrf})
    assert (await phone.get("/api/v1/places?near=52.52,13.405")).status_code == 401


@pytest.mark.parametrize("rate_places", ["3/minute"])
async def test_a_drivers_place_reads_are_rate_limited(browsers, db, driver, places):
    drv, _ = driver
    phone = await signed_in_phone(browsers, db, drv.id)
    for _ in range(3):
        assert (await phone.get("/api/v1/places?near=52.52,13.405")).status_code == 200
    over = await phone.get("/api/v1/places?near=52.52,13.405")
    assert over.status_code == 429 and code(over) == "rate-limited" and int(over.headers["Retry-After"]) >= 1
