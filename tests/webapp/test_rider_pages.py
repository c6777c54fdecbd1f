"""The customer side through the real app: signing up, /ride, /rides and its cancel button,
the tracking link's page and stream, and the address search proxy."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from helpers import browser_login, make_driver, make_fare, make_user, place_driver, wait_for

from hexfleet.tracking.pings import Ping
from streaming.events import BookingChanged
from streaming.fanout import position_event
from streaming.hub import LiveHub, make_channel_event
from streaming.ride_fanout import channels_of
from webapp.api.tracking import TrackStream
from webapp.errors import loggable_path
from webapp.services import services

PICKUP = {"lat": 52.5200, "lng": 13.4050}
DROPOFF = {"lat": 52.5300, "lng": 13.4300}
HX = {"HX-Request": "true"}
GROUPS = ("active", "upcoming", "past")
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def settings(settings):
    """A booking with nobody in reach gives up at once: these pages show what follows
    (tests/rides/test_patience.py has the waiting)."""
    return settings.with_(dispatch_patience_s=0.0)


async def form_headers(client, path: str) -> tuple[dict, str]:
    """Open a page as a fresh browser: its cookies (with the CSRF nonce) and the form's token."""
    client.cookies.clear()
    page = await client.get(path)
    assert page.status_code == 200, page.text
    token = TOKEN_FIELD.search(page.text).group(1)
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in page.cookies.items())}, token


async def book(client, token: str, pickup=PICKUP, dropoff=DROPOFF, **extra) -> dict:
    quote = await client.post("/api/v1/quotes", json={"pickup": pickup, "dropoff": dropoff}, headers=bearer(token))
    assert quote.status_code == 201, quote.text
    body = {
        "quote_id": quote.json()["quote_id"],
        "passenger": {"name": "Rita", "phone": "+49 30 5550101"},
        "confirm_no_driver": True,  # some book with nobody near on purpose
        **extra,
    }
    r = await client.post("/api/v1/bookings", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


def path_of(booking: dict) -> str:
    return "/t/" + booking["tracking_url"].rsplit("/t/", 1)[1]


async def status_of(db, booking_id: int) -> str:
    return await db.fetchval("SELECT status FROM bookings WHERE id = $1", booking_id)


async def settled(db, booking_id: int, *statuses: str) -> str:
    async def reached():
        status = await status_of(db, booking_id)
        return status if status in statuses else None

    return await wait_for(reached)


async def customer_session(client, db, email: str | None = None):
    user, token = await make_user(db, "customer", email)
    client.cookies.clear()
    return user, token, await browser_login(client, user.email)


# ---------------------------------------------------------------- signing up and in


async def test_signup_creates_a_customer_who_then_signs_in_and_lands_on_ride(client, db):
    cookies, token = await form_headers(client, "/signup")
    r = await client.post(
        "/signup",
        data={"email": "  New.Rider@Example.org ", "password": "long-enough", "csrf_token": token},
        headers=cookies,
    )
    # The sign-in form with the email filled in: nobody is signed in by a sign-up.
    assert r.status_code == 200 and "hexfleet_session" not in r.headers.get("set-cookie", "")
    assert 'value="New.Rider@Example.org"' in r.text and 'action="/login"' in r.text and "Thanks." in r.text
    row = await db.fetchrow("SELECT email, role, password_hash FROM users")
    assert (row["email"], row["role"]) == ("New.Rider@Example.org", "customer")
    assert row["password_hash"].startswith("$argon2") and "long-enough" not in row["password_hash"]
    signed_in = await client.post(
        "/login",
        data={"email": "New.Rider@Example.org", "password": "long-enough", "csrf_token": token},
        headers=cookies,
    )
    assert signed_in.status_code == 302 and signed_in.headers["location"] == "/ride"
    session = {"Cookie": "; ".join(f"{k}={v}" for k, v in {**client.cookies}.items())}
    page = await client.get("/ride", headers=session)
    assert page.status_code == 200 and "Book a ride" in page.text and "New.Rider@Example.org" in page.text
    # The top bar: the customer's links, the brand to /ride, no staff page.
    assert 'href="/rides"' in page.text and 'class="brand" href="/ride"' in page.text


async def test_signup_keeps_the_page_that_asked(client, db):
    cookies, token = await form_headers(client, "/signup?next=/rides")
    assert 'name="next" value="/rides"' in (await client.get("/signup?next=/rides")).text
    r = await client.post(
        "/signup",
        data={"email": "later@example.org", "password": "long-enough", "next": "/rides", "csrf_token": token},
        headers=cookies,
    )
    assert r.status_code == 200 and 'name="next" value="/rides"' in r.text  # carried on to the sign-in form
    signed_in = await client.post(
        "/login",
        data={"email": "later@example.org", "password": "long-enough", "next": "/rides", "csrf_token": token},
        headers=cookies,
    )
    assert signed_in.status_code == 302 and signed_in.headers["location"] == "/rides"


async def test_signup_answers_a_taken_email_exactly_as_a_new_one(client, db):
    """Nobody learns from sign-up whether an email has an account: the same status, the same
    page byte for byte, no session either way, and a password hashed either way (time)."""
    from hexfleet import security

    cookies, token = await form_headers(client, "/signup")

    async def sign_up(email: str, password: str) -> tuple[httpx.Response, float]:
        started = time.perf_counter()
        response = await client.post(
            "/signup", data={"email": email, "password": password, "csrf_token": token}, headers=cookies
        )
        return response, time.perf_counter() - started

    new, _ = await sign_up("Taken@Example.org", "first-password")
    taken, took = await sign_up("Taken@Example.org", "another-password")
    assert (new.status_code, taken.status_code) == (200, 200)
    assert new.text == taken.text
    for response in (new, taken):
        assert "hexfleet_session" not in response.headers.get("set-cookie", "")
    # A taken email in another case is the same account: still one, password unchanged.
    other_case, _ = await sign_up("TAKEN@example.org", "third-password")
    assert other_case.status_code == 200 and 'value="TAKEN@example.org"' in other_case.text
    assert await db.fetchval("SELECT count(*) FROM users") == 1
    row = await db.fetchrow("SELECT password_hash FROM users")
    assert security.verify_password(row["password_hash"], "first-password")
    # The taken email's answer took a password hash's time too (no early return to time).
    hash_s = min(_timed(security.hash_password, "x" * 12) for _ in range(3))
    assert took >= 0.8 * hash_s, (took, hash_s)


def _timed(work, *args) -> float:
    started = time.perf_counter()
    work(*args)
    return time.perf_counter() - started


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", "long-enough", "does not look like an email address"),
        ("a@b", "long-enough", "does not look like an email address"),
        ("nul\x00@example.org", "long-enough", "does not look like an email address"),
        ("", "long-enough", "Enter your email address"),
        ("short@example.org", "7chars!", "Use at least 8 characters"),
        ("huge@example.org", "x" * 1025, "Use at most 1024 characters"),
    ],
)
async def test_signup_refuses_bad_input_with_a_readable_message(client, db, email, password, message):
    cookies, token = await form_headers(client, "/signup")
    r = await client.post("/signup", data={"email": email, "password": password, "csrf_token": token}, headers=cookies)
    assert r.status_code == 400 and message in r.text
    assert "Traceback" not in r.text and 'aria-invalid="true"' in r.text
    assert await db.fetchval("SELECT count(*) FROM users") == 0


async def test_signup_needs_the_pages_token(client, db):
    cookies, _ = await form_headers(client, "/signup")
    r = await client.post("/signup", data={"email": "x@example.org", "password": "long-enough"}, headers=cookies)
    assert r.status_code == 403 and "security token" in r.text
    assert await db.fetchval("SELECT count(*) FROM users") == 0


async def test_login_page_offers_an_account(client):
    page = await client.get("/login")
    assert 'href="/signup"' in page.text and "Create an account" in page.text


@pytest.mark.parametrize(
    ("role", "next_path", "landing"),
    [
        ("customer", None, "/ride"),
        ("customer", "", "/ride"),
        ("customer", "/rides", "/rides"),
        ("customer", "https://evil.example/x", "/ride"),
        ("customer", "/", "/"),  # asked for the control room: its readable 403 says why not
        ("dispatcher", None, "/"),
        ("admin", "https://evil.example/x", "/"),
        ("dispatcher", "/ride", "/ride"),
    ],
)
async def test_login_lands_by_role_or_on_the_page_that_asked(client, db, role, next_path, landing):
    user, _ = await make_user(db, role)
    cookies, token = await form_headers(client, "/login")
    form = {"email": user.email, "password": "correct-horse", "csrf_token": token}
    if next_path is not None:
        form["next"] = next_path
    r = await client.post("/login", data=form, headers=cookies)
    assert r.status_code == 302 and r.headers["location"] == landing


async def test_signed_in_customer_opening_login_goes_to_ride(client, db):
    _, _, session = await customer_session(client, db)
    r = await client.get("/login", headers=session)
    assert r.status_code == 302 and r.headers["location"] == "/ride"
    r = await client.get("/signup", headers=session)
    assert r.status_code == 302 and r.headers["location"] == "/ride"


async def test_customers_get_a_readable_403_on_staff_pages_with_their_own_links(client, db):
    _user, token, session = await customer_session(client, db)
    for path in ("/", "/ui/drivers"):
        r = await client.get(path, headers=session)
        assert r.status_code == 403 and "Not for this account" in r.text and "Traceback" not in r.text
    page = await client.get("/", headers=session)
    assert 'href="/rides"' in page.text and "My rides" in page.text  # a way back to their pages
    assert (await client.get("/api/v1/drivers", headers=bearer(token))).status_code == 403


async def test_staff_may_book_but_have_no_rides_list(client, db):
    user, _ = await make_user(db, "dispatcher")
    client.cookies.clear()
    session = await browser_login(client, user.email)
    await make_fare(db)
    assert (await client.get("/ride", headers=session)).status_code == 200
    r = await client.get("/rides", headers=session)
    assert r.status_code == 403 and "for customers" in r.text
    assert 'href="/rides"' not in (await client.get("/ride", headers=session)).text  # customer links only


async def test_anonymous_visitors_are_sent_to_login(client):
    for path in ("/ride", "/rides"):
        r = await client.get(path)
        assert r.status_code == 302 and r.headers["location"] == f"/login?next={path}"


# ---------------------------------------------------------------- /ride


async def test_ride_page_offers_only_classes_with_a_fare_and_the_map_settings(client, db):
    await make_fare(db, "standard")
    await make_fare(db, "van")
    _, _, session = await customer_session(client, db)
    page = await client.get("/ride", headers=session)
    assert page.status_code == 200
    values = re.findall(r'name="vehicle_class" value="(\w+)"', page.text)
    assert values == ["standard", "van"]
    # The demo fare's minimum, as a money element the page shows in the rider's locale (lib/format.js).
    assert 'from <data class="money" value="700" data-currency="EUR">7.00 EUR</data>' in page.text
    config = orjson.loads(re.search(r'<script type="application/json" id="ride-config">(.*?)</script>', page.text)[1])
    assert config["center"] == [52.52, 13.405] and config["tile_url"] == "" and config["geocoder"] is False
    assert config["min_ahead_s"] == 900 and config["max_ahead_s"] == 30 * 86400
    # The names of the classes a quote may suggest instead, as the form shows them.
    assert config["class_labels"] == {"standard": "Standard", "van": "Van"}
    # One search box per end (static/js/lib/place-search.js), places first: no geocoder needed.
    assert page.text.count('role="combobox"') == 2 and "Search a place, or tap the map" in page.text
    assert "52.5200, 13.4050" in page.text  # without a geocoder: how to type coordinates
    assert "<script>" not in page.text and " style=" not in page.text and "onclick" not in page.text


async def test_ride_page_without_fares_says_booking_is_not_open(client, db):
    _, _, session = await customer_session(client, db)
    page = await client.get("/ride", headers=session)
    assert page.status_code == 200 and "Booking is not open yet" in page.text and 'id="ride-form"' not in page.text


# ---------------------------------------------------------------- /rides


async def test_rides_list_is_empty_at_first(client, db):
    _, _, session = await customer_session(client, db)
    page = await client.get("/rides", headers=session)
    assert page.status_code == 200 and "No rides yet — book one" in page.text and 'href="/ride"' in page.text
    assert 'data-stream-url="/api/v1/stream/bookings"' in page.text


async def test_rides_are_grouped_with_status_price_places_driver_and_links(client, app, db):
    await make_fare(db)
    _user, token, session = await customer_session(client, db)
    _, other = await make_user(db, "customer")
    nobody = await book(client, token)  # no driver anywhere: no_driver (past)
    await settled(db, nobody["id"], "no_driver")
    later = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    scheduled = await book(client, token, scheduled_for=later)
    driver, device = await make_driver(db, "Dora Driver", "B-DD-7")
    await place_driver(services(app).store, driver.id, 52.5205, 13.4050)
    active = await book(client, token)
    await settled(db, active["id"], "offered")
    offers = (await client.get("/api/v1/driver/offers", headers=bearer(device.token))).json()["offers"]
    r = await client.post(f"/api/v1/driver/offers/{offers[0]['id']}/accept", headers=bearer(device.token))
    assert r.status_code == 200
    theirs = await book(client, other)  # another customer's: never listed

    page = await client.get("/rides", headers=session)
    html = page.text
    groups = {g: html.split(f'data-group="{g}"', 1)[1].split("</section>", 1)[0] for g in GROUPS}
    assert f'data-booking-id="{active["id"]}"' in groups["active"] and "Driver on the way" in groups["active"]
    assert "Dora Driver" in groups["active"] and "B-DD-7" in groups["active"]
    assert f'data-booking-id="{scheduled["id"]}"' in groups["upcoming"] and "Scheduled" in groups["upcoming"]
    assert f'data-booking-id="{nobody["id"]}"' in groups["past"] and "No driver found" in groups["past"]
    assert f'data-booking-id="{theirs["id"]}"' not in html
    price = f"{active['price_minor'] // 100}.{active['price_minor'] % 100:02d} EUR"
    assert f'<data class="money" value="{active["price_minor"]}" data-currency="EUR">{price}</data>' in groups["active"]
    assert "52.52000, 13.40500" in groups["active"] and "52.53000, 13.43000" in groups["active"]
    assert f'href="{path_of(active)}"' in groups["active"] and f'href="{path_of(scheduled)}"' in groups["upcoming"]
    for booking in (active, scheduled, nobody):
        assert f'hx-post="/ui/rides/{booking["id"]}/cancel"' in html  # each may still be cancelled
    # The partial is the same list, for rides.js to swap in.
    partial = await client.get("/ui/rides", headers={**session, **HX})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert f'data-booking-id="{active["id"]}"' in partial.text


async def test_cancel_from_the_list_with_a_reason(client, db):
    await make_fare(db)
    user, token, session = await customer_session(client, db)
    booking = await book(client, token, scheduled_for=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    r = await client.post(
        f"/ui/rides/{booking['id']}/cancel", data={"reason": "Plans changed"}, headers={**session, **HX}
    )
    assert r.status_code == 200 and "Your ride was cancelled." in r.text and "Cancelled by you: Plans changed" in r.text
    row = await db.fetchrow("SELECT status, cancelled_by, cancel_reason FROM bookings WHERE id = $1", booking["id"])
    assert tuple(row) == ("cancelled", "customer", "Plans changed")
    event = await db.fetchrow(
        "SELECT actor, actor_id FROM booking_events WHERE booking_id = $1 AND action = 'cancel'", booking["id"]
    )
    assert (event["actor"], event["actor_id"]) == ("customer", user.id)
    # Cancelled: past, without a cancel button.
    assert f'hx-post="/ui/rides/{booking["id"]}/cancel"' not in r.text
    # Once more: a readable 409, not a stack trace.
    again = await client.post(f"/ui/rides/{booking['id']}/cancel", data={}, headers={**session, **HX})
    assert again.status_code == 409 and "can no longer be cancelled: it is cancelled" in again.text


async def test_cancel_without_htmx_goes_back_to_the_list(client, db):
    await make_fare(db)
    _, token, session = await customer_session(client, db)
    booking = await book(client, token, scheduled_for=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    r = await client.post(f"/ui/rides/{booking['id']}/cancel", data={"reason": ""}, headers=session)
    assert r.status_code == 303 and r.headers["location"] == "/rides"
    assert await status_of(db, booking["id"]) == "cancelled"


async def test_cancel_needs_the_token_and_ones_own_ride(client, db):
    await make_fare(db)
    _, token, session = await customer_session(client, db)
    mine = await book(client, token, scheduled_for=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    no_token = {k: v for k, v in session.items() if k != "X-CSRF-Token"}
    r = await client.post(f"/ui/rides/{mine['id']}/cancel", data={}, headers={**no_token, **HX})
    assert r.status_code == 403 and await status_of(db, mine["id"]) == "scheduled"
    _, _other_token, other_session = await customer_session(client, db)
    r = await client.post(f"/ui/rides/{mine['id']}/cancel", data={}, headers={**other_session, **HX})
    assert r.status_code == 404 and await status_of(db, mine["id"]) == "scheduled"
    r = await client.get(f"/rides/{mine['id']}", headers=other_session)
    assert r.status_code == 404 and "No such ride" in r.text


async def test_a_ride_started_cannot_be_cancelled_by_the_customer(client, app, db):
    await make_fare(db)
    _, token, session = await customer_session(client, db)
    driver, device = await make_driver(db, "Starter")
    await place_driver(services(app).store, driver.id, 52.5205, 13.4050)
    booking = await book(client, token)
    await settled(db, booking["id"], "offered")
    offer = (await client.get("/api/v1/driver/offers", headers=bearer(device.token))).json()["offers"][0]
    await client.post(f"/api/v1/driver/offers/{offer['id']}/accept", headers=bearer(device.token))
    for step in ("arrived", "start"):
        await client.post(f"/api/v1/driver/bookings/{booking['id']}/{step}", headers=bearer(device.token))
    page = await client.get("/rides", headers=session)
    assert "On the way" in page.text and f"/ui/rides/{booking['id']}/cancel" not in page.text
    r = await client.post(f"/ui/rides/{booking['id']}/cancel", data={}, headers={**session, **HX})
    assert r.status_code == 409 and "it is on the way" in r.text
    assert await status_of(db, booking["id"]) == "in_progress"


async def test_a_rides_own_address_opens_its_tracking_page(client, db):
    await make_fare(db)
    _, token, session = await customer_session(client, db)
    booking = await book(client, token)
    r = await client.get(f"/rides/{booking['id']}", headers=session)
    assert r.status_code == 302 and r.headers["location"] == path_of(booking)


# ---------------------------------------------------------------- the tracking page


async def test_tracking_page_shows_one_ride_without_login_or_referrer(client, app, db):
    await make_fare(db)
    _, token = await make_user(db, "customer", "private@example.org")
    driver, device = await make_driver(db, "Tess Tracker", "B-TT-1")
    await place_driver(services(app).store, driver.id, 52.5205, 13.4050)
    booking = await book(client, token)
    await settled(db, booking["id"], "offered")
    offer = (await client.get("/api/v1/driver/offers", headers=bearer(device.token))).json()["offers"][0]
    await client.post(f"/api/v1/driver/offers/{offer['id']}/accept", headers=bearer(device.token))

    client.cookies.clear()
    page = await client.get(path_of(booking))
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    html = page.text
    assert "Tess Tracker is on the way" in html and "B-TT-1" in html and "Less than a minute to the pickup" in html
    assert 'data-status="assigned"' in html and 'data-live="true"' in html
    assert 'data-driver-lat="52.5205"' in html and 'data-pickup-lat="52.52"' in html
    assert 'aria-current="step"' in html and "Driver assigned" in html
    # Nothing that opens anything else: no ids, no contact details, no account.
    assert "private@example.org" not in html and "5550101" not in html and f"/ui/rides/{booking['id']}" not in html
    # View-only: nothing on the page changes the ride for whoever holds the link.
    assert "/cancel" not in html and "Cancel this ride" not in html and "tracking-link" not in html
    assert '<meta name="referrer" content="no-referrer">' in html and '<meta name="robots" content="noindex">' in html
    panel = await client.get(path_of(booking) + "/panel", headers=HX)
    assert panel.status_code == 200 and "<html" not in panel.text and "Tess Tracker" in panel.text


async def test_tampered_and_unknown_links_are_a_friendly_404_and_expired_ones_a_410(client, app, db):
    await make_fare(db)
    _, token = await make_user(db, "customer")
    booking = await book(client, token)
    path = path_of(booking)
    tampered = path[:-3] + ("xyz" if not path.endswith("xyz") else "abc")
    for bad in (tampered, "/t/not-a-token", "/t/" + "a" * 300):
        for suffix in ("", "/panel"):
            r = await client.get(bad + suffix)
            assert r.status_code == 404 and "This tracking link does not work" in r.text and "Traceback" not in r.text
        client.cookies.clear()  # no ambient cookie, so no CSRF token needed: the link itself is refused
        r = await client.post(bad + "/cancel", data={})
        assert r.status_code == 404 and "This tracking link does not work" in r.text
    assert (await client.get(f"/api/v1/track/{tampered.rsplit('/', 1)[1]}/stream")).status_code == 404
    assert (await client.get(path)).status_code == 200
    await client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}, headers=bearer(token))
    assert (await client.get(path)).status_code == 200  # still shown for a while after the ride ended
    rides = services(app).rides
    rides.clock = lambda: time.time() + rides.settings.tracking_link_ttl_s + 60
    for suffix in ("", "/panel"):
        r = await client.get(path + suffix)
        assert r.status_code == 410 and "This tracking link has expired" in r.text
    assert "410" in (await client.get(path)).text  # the page says so, as the 404 page says 404
    api = await client.get("/api/v1/track/" + path.rsplit("/", 1)[1])
    assert api.status_code == 410 and api.headers["content-type"] == "application/problem+json"
    assert api.json()["type"].endswith("/tracking-link-expired") and api.json()["title"] == "Gone"


def test_tracking_paths_are_logged_without_their_token():
    assert loggable_path("/t/eyJhbGciOi.abc/panel") == "/t/<token>/panel"
    assert loggable_path("/t/eyJhbGciOi.abc/cancel") == "/t/<token>/cancel"
    assert loggable_path("/api/v1/track/eyJ.x/stream") == "/api/v1/track/<token>/stream"


# ---------------------------------------------------------------- the tracking stream


class Frames:
    """Reads a TrackStream's frames as a browser would, one event at a time."""

    def __init__(self, stream: TrackStream) -> None:
        self.gen = stream.events()
        self.buffer: list[tuple[str, dict]] = []

    async def next(self, timeout: float = 2.0) -> tuple[str, dict]:
        while not self.buffer:
            chunk = await asyncio.wait_for(self.gen.__anext__(), timeout)
            for block in chunk.decode().split("\n\n"):
                lines = dict(line.split(": ", 1) for line in block.splitlines() if line.startswith(("event", "data")))
                if "event" in lines:
                    self.buffer.append((lines["event"], orjson.loads(lines["data"])))
        return self.buffer.pop(0)

    async def nothing_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await self.next(seconds)
            return False
        return True

    async def close(self) -> None:
        await self.gen.aclose()


def booking_event(event_id: int, booking_id: int, status: str, driver_id: int | None) -> BookingChanged:
    snapshot = {"id": booking_id, "status": status, "driver_id": driver_id}
    return BookingChanged(
        event_id, booking_id, "reassign", "assigned", status, "dispatcher", time.time(), 7, driver_id, None, None,
        None, snapshot,
    )  # fmt: skip


def publish_booking(hub: LiveHub, event: BookingChanged) -> None:
    hub.publish([make_channel_event("booking", event.booking_id, orjson.dumps(event.public()), channels_of(event))])


def publish_fix(hub: LiveHub, driver_id: int, lat: float, lng: float, heading: float | None = None) -> None:
    hub.publish([position_event(driver_id, Ping(lat, lng, time.time(), heading=heading), "busy")])


async def test_track_stream_follows_the_drivers_position_and_switches_with_the_ride(client, app, db):
    await make_fare(db)
    _, token = await make_user(db, "customer")
    store = services(app).store
    first, first_device = await make_driver(db, "First")
    second, _ = await make_driver(db, "Second")
    await place_driver(store, first.id, 52.5205, 13.4050)
    booking = await book(client, token)
    await settled(db, booking["id"], "offered")
    offer = (await client.get("/api/v1/driver/offers", headers=bearer(first_device.token))).json()["offers"][0]
    await client.post(f"/api/v1/driver/offers/{offer['id']}/accept", headers=bearer(first_device.token))
    await place_driver(store, second.id, 52.5100, 13.4000)

    from hexfleet.rides import bookings

    row = await bookings.by_tracking_token(services(app).rides, path_of(booking).rsplit("/", 1)[1])
    rides_hub, hub = LiveHub(), LiveHub()
    frames = Frames(TrackStream(rides_hub, hub, store, row))
    try:
        kind, data = await frames.next()
        assert kind == "position" and data["lat"] == 52.5205  # the latest fix first
        assert set(data) == {"lat", "lng", "heading", "ts"}  # never who
        publish_fix(hub, second.id, 52.5101, 13.4001)  # not this ride's driver
        publish_fix(hub, first.id, 52.5210, 13.4052, heading=90.0)
        assert await frames.next() == ("position", {"lat": 52.5210, "lng": 13.4052, "heading": 90.0, "ts": ANY_TS})

        publish_booking(rides_hub, booking_event(101, booking["id"], "assigned", second.id))  # reassigned
        kind, data = await frames.next()
        assert kind == "booking" and data["status"] == "assigned" and "driver_id" not in data and "booking" not in data
        kind, data = await frames.next()
        assert kind == "position" and data["lat"] == 52.5100  # the new driver's latest fix
        publish_fix(hub, first.id, 52.5220, 13.4060)  # the first driver no longer counts
        publish_fix(hub, second.id, 52.5110, 13.4010)
        assert (await frames.next())[1]["lat"] == 52.5110

        publish_booking(rides_hub, booking_event(102, booking["id"], "cancelled", second.id))
        kind, data = await frames.next()
        assert kind == "booking" and data["status"] == "cancelled"
        publish_fix(hub, second.id, 52.5120, 13.4020)  # nobody's ride now: nothing more
        assert await frames.nothing_within(0.3)
        assert len(hub) == 0  # unsubscribed from the positions
    finally:
        await frames.close()
    assert len(rides_hub) == 0


class _AnyTs:
    def __eq__(self, other) -> bool:
        return isinstance(other, str) and other.endswith("Z")


ANY_TS = _AnyTs()


# ---------------------------------------------------------------- address search


@contextlib.asynccontextmanager
async def geocoder_server(body, status: int = 200):
    """A minimal geocoder speaking Photon's or Nominatim's JSON; records the request lines."""
    seen: list[str] = []

    async def serve(reader, writer):
        request = await reader.readuntil(b"\r\n\r\n")
        seen.append(request.decode())
        payload = orjson.dumps(body)
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            f"Connection: close\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen


@contextlib.asynccontextmanager
async def app_with(settings, **changes):
    from webapp import create_app

    app = create_app(settings.with_(**changes))
    async with app.test_app():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield client


PHOTON = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [13.4132, 52.5219]},
            "properties": {"name": "Alexanderplatz", "postcode": "10178", "city": "Berlin", "country": "Germany"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [13.3777, 52.5163]},
            "properties": {"street": "Pariser Platz", "housenumber": "1", "city": "Berlin"},
        },
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [999, 52]}, "properties": {"name": "Bad"}},
        {"type": "Feature", "properties": {"name": "No geometry"}},
    ],
}


async def test_geocoder_unset_says_so_clearly(client, db):
    _, token = await make_user(db, "customer")
    r = await client.get("/ui/geocode?q=Alexanderplatz", headers={**bearer(token), "Accept": "application/json"})
    assert r.status_code == 503 and "GEOCODER_URL is unset" in r.json()["detail"]
    assert "type coordinates" in r.json()["detail"]


async def test_geocoder_needs_a_login(client):
    r = await client.get("/ui/geocode?q=Alexanderplatz", headers={"Accept": "application/json"})
    assert r.status_code == 401


async def test_geocoder_suggestions_come_from_a_photon_server(settings, db, redis):
    await make_fare(db)
    _, token = await make_user(db, "customer")
    async with geocoder_server(PHOTON) as (url, seen), app_with(settings, geocoder_url=url) as client:
        r = await client.get(
            "/ui/geocode?q=Alexander%20platz&lat=52.5&lng=13.4",
            headers={**bearer(token), "Accept": "application/json", "Accept-Language": "de-DE"},
        )
        short = await client.get("/ui/geocode?q=Al", headers=bearer(token))
        page = await client.get("/ride", headers=bearer(token))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.json() == {
        "results": [
            {"label": "Alexanderplatz, 10178 Berlin, Germany", "lat": 52.5219, "lng": 13.4132},
            {"label": "Pariser Platz 1, Berlin", "lat": 52.5163, "lng": 13.3777},
        ]
    }
    request_line, *headers = seen[0].split("\r\n")
    assert request_line.startswith("GET /api?q=Alexander+platz&limit=6&lat=52.50000&lon=13.40000 ")
    assert "accept-language: de-de" in [h.lower() for h in headers]
    assert any(h.lower().startswith("user-agent: hexfleet/") for h in headers)
    assert short.json() == {"results": []} and len(seen) == 1  # too short to ask
    assert 'role="combobox"' in page.text and "Search a place or address, or tap the map" in page.text


async def test_geocoder_speaks_nominatim_too(settings, db, redis):
    _, token = await make_user(db, "customer")
    places = [{"lat": "52.5219", "lon": "13.4132", "display_name": "Alexanderplatz, Mitte, Berlin"}, {"lat": "x"}]
    async with geocoder_server(places) as (url, seen), app_with(settings, geocoder_url=url + "/search") as client:
        r = await client.get("/ui/geocode?q=Alexanderplatz", headers={**bearer(token), "Accept": "application/json"})
    assert r.json()["results"] == [{"label": "Alexanderplatz, Mitte, Berlin", "lat": 52.5219, "lng": 13.4132}]
    assert seen[0].startswith("GET /search?format=json&q=Alexanderplatz&limit=6&viewbox=")


async def test_a_failing_geocoder_is_a_readable_error(settings, db, redis):
    _, token = await make_user(db, "customer")
    async with geocoder_server({"message": "boom"}, 500) as (url, _), app_with(settings, geocoder_url=url) as client:
        r = await client.get("/ui/geocode?q=Alexanderplatz", headers={**bearer(token), "Accept": "application/json"})
    assert r.status_code == 502 and "did not answer" in r.json()["detail"]


async def test_geocoder_use_is_rate_limited_per_account(settings, db, redis):
    from webapp.geocoder import PER_MINUTE as GEOCODER_PER_MINUTE

    _, token = await make_user(db, "customer")
    _, other = await make_user(db, "customer")
    async with geocoder_server(PHOTON) as (url, seen), app_with(settings, geocoder_url=url) as client:
        headers = {**bearer(token), "Accept": "application/json"}
        codes = [
            (await client.get(f"/ui/geocode?q=street{i}", headers=headers)).status_code
            for i in range(GEOCODER_PER_MINUTE + 1)
        ]
        elsewhere = await client.get("/ui/geocode?q=street", headers={**bearer(other), "Accept": "application/json"})
    assert codes == [200] * GEOCODER_PER_MINUTE + [429]
    assert elsewhere.status_code == 200 and len(seen) == GEOCODER_PER_MINUTE + 1  # the refused one never left


# ---------------------------------------------------------------- the timeline (pure)


def _entries(*statuses: str) -> list[dict]:
    start = datetime.now(UTC)
    return [
        {"status": s, "at": (start + timedelta(minutes=i)).isoformat(), "by": "system", "reason": None}
        for i, s in enumerate(statuses)
    ]


ALL_NEXT = "assigned:next arrived:next in_progress:next completed:next"


@pytest.mark.parametrize(
    ("status", "entries", "expected"),
    [
        ("scheduled", ("scheduled",), "booked:done searching:next " + ALL_NEXT),
        ("offered", ("searching", "offered"), "booked:done searching:current " + ALL_NEXT),
        ("arrived", ("searching", "offered", "assigned", "arrived"),
         "booked:done searching:done assigned:done arrived:current in_progress:next completed:next"),
        # The driver gave the ride back: looking again, the old assignment is not shown as done.
        ("searching", ("searching", "offered", "assigned", "searching"), "booked:done searching:current " + ALL_NEXT),
        ("completed", ("searching", "offered", "assigned", "arrived", "in_progress", "completed"),
         "booked:done searching:done assigned:done arrived:done in_progress:done completed:done"),
        ("cancelled", ("searching", "offered", "assigned", "cancelled"),
         "booked:done searching:done assigned:done cancelled:stopped"),
        ("no_driver", ("searching", "no_driver"), "booked:done searching:done no_driver:stopped"),
    ],
)  # fmt: skip
def test_timeline_steps(status, entries, expected):
    from types import SimpleNamespace

    from hexfleet.rides.states import BookingStatus
    from webapp.pages.tracking import timeline

    booking = SimpleNamespace(
        status=BookingStatus(status), scheduled_for=None, cancelled_by="customer", cancel_reason="Plans changed"
    )
    steps = timeline(booking, {"timeline": _entries(*entries)})
    assert " ".join(f"{s.key}:{s.state}" for s in steps) == expected
    assert all(s.at is None for s in steps if s.state == "next")
    if status == "cancelled":
        assert steps[-1].note == "Cancelled by the passenger"  # never the reason: the link is forwarded
