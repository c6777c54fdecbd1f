"""A tracking link is view-only and can be replaced: its holder cannot cancel, the signed-in
rider can (from /t or /rides) and staff can (from the booking card); the rider and staff make
a new link, and the old one answers a readable 410 page (real app, PostgreSQL, Redis)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from helpers import browser_login, make_fare, make_user

HX = {"HX-Request": "true"}
META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
PICKUP = {"lat": 52.5200, "lng": 13.4050}
DROPOFF = {"lat": 52.5300, "lng": 13.4300}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def path_of(url: str) -> str:
    return "/t/" + url.rsplit("/t/", 1)[1]


async def book_later(client, token: str) -> dict:
    """A ride booked an hour ahead: nothing moves it while the test works."""
    quote = await client.post("/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=bearer(token))
    body = {
        "quote_id": quote.json()["quote_id"],
        "passenger": {"name": "Rita Rider", "phone": "+49 30 5550101"},
        "scheduled_for": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    r = await client.post("/api/v1/bookings", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


async def signed_in(client, db, role: str):
    user, token = await make_user(db, role)
    client.cookies.clear()
    return user, token, await browser_login(client, user.email)


async def stranger_with_the_page(client, path: str) -> dict:
    """A browser that opened the link (so it has the page's CSRF cookie and token), not signed in."""
    client.cookies.clear()
    page = await client.get(path)
    assert page.status_code == 200, page.text
    cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
    return {"Cookie": cookie, "X-CSRF-Token": META_TOKEN.search(page.text).group(1)}


async def untouched(db, booking_id: int) -> bool:
    row = await db.fetchrow("SELECT status, cancelled_by FROM bookings WHERE id = $1", booking_id)
    cancels = await db.fetchval(
        "SELECT count(*) FROM booking_events WHERE booking_id = $1 AND action = 'cancel'", booking_id
    )
    return tuple(row) == ("scheduled", None) and cancels == 0


# ---------------------------------------------------------------- cancelling


async def test_whoever_holds_the_link_cannot_cancel_the_ride(client, db):
    await make_fare(db)
    _, token = await make_user(db, "customer")
    booking = await book_later(client, token)
    path = path_of(booking["tracking_url"])

    client.cookies.clear()
    page = await client.get(path)
    assert page.status_code == 200 and "Cancel this ride" not in page.text and f"{path}/cancel" not in page.text
    assert 'href="/account"' not in page.text and 'action="/logout"' not in page.text  # nobody is signed in
    # A bare POST (a script, or a form on another site without cookies).
    client.cookies.clear()
    r = await client.post(path + "/cancel", data={"reason": "Plans changed"})
    assert r.status_code == 403 and "Only the rider can cancel" in r.text and "Traceback" not in r.text
    # A friend's browser that opened the link, with the page's own CSRF token.
    friend = await stranger_with_the_page(client, path)
    r = await client.post(path + "/cancel", data={"reason": "Plans changed"}, headers=friend)
    assert r.status_code == 403 and "Only the rider can cancel" in r.text  # past the CSRF check, refused here
    # Signed in, but not the rider: another customer, and staff (they use the booking card).
    for role in ("customer", "dispatcher"):
        _, _, session = await signed_in(client, db, role)
        assert "Cancel this ride" not in (await client.get(path, headers=session)).text
        r = await client.post(path + "/cancel", data={}, headers=session)
        assert r.status_code == 403 and "Only the rider can cancel" in r.text, role
    assert await untouched(db, booking["id"])


async def test_a_ride_dispatch_booked_is_cancelled_by_dispatch_not_by_its_link(client, db):
    await make_fare(db)
    staff, _, desk = await signed_in(client, db, "dispatcher")
    _, staff_token = await make_user(db, "dispatcher")
    booking = await book_later(client, staff_token)
    assert booking["customer_id"] is None
    path = path_of(booking["tracking_url"])
    client.cookies.clear()
    assert (await client.post(path + "/cancel", data={})).status_code == 403
    assert await untouched(db, booking["id"])
    card = await client.post(
        f"/ui/bookings/{booking['id']}/cancel", data={"reason": "caller rang back"}, headers={**desk, **HX}
    )
    assert card.status_code == 200 and f"Booking #{booking['id']} cancelled" in card.text
    event = await db.fetchrow(
        "SELECT actor, actor_id FROM booking_events WHERE booking_id = $1 AND action = 'cancel'", booking["id"]
    )
    assert tuple(event) == ("dispatcher", staff.id)
    page = (await client.get(path)).text
    assert "Cancelled by dispatch" in page and "rang back" not in page  # the reason stays with staff


async def test_the_signed_in_rider_cancels_from_the_rides_page(client, db):
    await make_fare(db)
    user, token, session = await signed_in(client, db, "customer")
    booking = await book_later(client, token)
    r = await client.get(f"/rides/{booking['id']}", headers=session)
    path = path_of(booking["tracking_url"])
    assert r.status_code == 302 and r.headers["location"] == path
    page = (await client.get(path, headers=session)).text
    assert f'action="{path}/cancel"' in page and "Cancel this ride" in page
    # The top bar keeps the account: its page, the email and "Log out", as on /ride and /rides.
    assert 'href="/account"' in page and user.email in page and 'action="/logout"' in page

    cookies_only = {"Cookie": session["Cookie"]}
    r = await client.post(path + "/cancel", data={"reason": "Plans changed"}, headers=cookies_only)
    assert r.status_code == 403 and await untouched(db, booking["id"])  # no CSRF token: refused
    r = await client.post(
        path + "/cancel", data={"reason": "Plans changed"}, headers={**session, "Origin": "https://evil.example"}
    )
    assert r.status_code == 403 and await untouched(db, booking["id"])
    r = await client.post(path + "/cancel", data={"reason": "Plans changed"}, headers=session)
    assert r.status_code == 303 and r.headers["location"] == path
    event = await db.fetchrow(
        "SELECT actor, actor_id, reason FROM booking_events WHERE booking_id = $1 AND action = 'cancel'", booking["id"]
    )
    assert tuple(event) == ("customer", user.id, "Plans changed")
    page = (await client.get(path, headers=session)).text
    assert "This ride was cancelled" in page and "Cancel this ride" not in page
    assert "Cancelled by the passenger" in page
    again = await client.post(path + "/cancel", data={}, headers=session)
    assert again.status_code == 409 and "can no longer be cancelled" in again.text


# ---------------------------------------------------------------- a new link


async def test_the_rider_makes_a_new_link_and_the_old_one_is_a_410_page(client, db):
    await make_fare(db)
    _, token, session = await signed_in(client, db, "customer")
    booking = await book_later(client, token)
    old = path_of(booking["tracking_url"])
    page = (await client.get(old, headers=session)).text
    assert f'action="/rides/{booking["id"]}/tracking-link"' in page and "Make a new link" in page
    client.cookies.clear()
    assert "Make a new link" not in (await client.get(old)).text  # the rider's button only

    no_token = {"Cookie": session["Cookie"]}
    assert (await client.post(f"/rides/{booking['id']}/tracking-link", headers=no_token)).status_code == 403
    assert (await client.get(old)).status_code == 200  # refused: nothing changed
    r = await client.post(f"/rides/{booking['id']}/tracking-link", headers=session)
    assert r.status_code == 303 and r.headers["location"].endswith("?renewed=1")
    new = r.headers["location"].split("?", 1)[0]
    assert new != old and new.startswith("/t/")
    shown = (await client.get(r.headers["location"], headers=session)).text
    assert "This is your ride's new link" in shown
    client.cookies.clear()
    assert "new link" not in (await client.get(r.headers["location"])).text  # said to the rider alone

    for suffix in ("", "/panel"):
        gone = await client.get(old + suffix)
        assert gone.status_code == 410 and "This tracking link was replaced" in gone.text, suffix
        assert "Traceback" not in gone.text
    assert "410" in (await client.get(old)).text
    assert (await client.post(old + "/cancel", data={}, headers=session)).status_code == 410
    assert (await client.get(new)).status_code == 200
    r = await client.get(f"/rides/{booking['id']}", headers=session)
    assert r.headers["location"] == new  # the rider's own address follows the new link

    # Someone else's ride does not exist for them, and its link stays.
    _, _, other = await signed_in(client, db, "customer")
    r = await client.post(f"/rides/{booking['id']}/tracking-link", headers=other)
    assert r.status_code == 404 and "No such ride" in r.text
    assert (await client.get(new)).status_code == 200


async def test_staff_make_a_new_link_from_the_booking_card(client, db):
    await make_fare(db)
    staff, _, desk = await signed_in(client, db, "dispatcher")
    _, token = await make_user(db, "customer")
    booking = await book_later(client, token)
    old = path_of(booking["tracking_url"])
    card = (await client.get(f"/ui/bookings/{booking['id']}", headers={**desk, **HX})).text
    assert f'hx-post="/ui/bookings/{booking["id"]}/tracking-link"' in card and old in card
    r = await client.post(f"/ui/bookings/{booking['id']}/tracking-link", headers={**desk, **HX})
    assert r.status_code == 200 and "New tracking link made" in r.text, r.text
    assert r.headers["HX-Trigger"] == "bookings-changed"
    assert old not in r.text
    new = re.search(r'href="http://test(/t/[^"]+)"', r.text).group(1)
    assert (await client.get(old)).status_code == 410 and (await client.get(new)).status_code == 200
    assert "new tracking link · dispatcher" in r.text  # in the card's timeline, with who asked
    event = await db.fetchrow(
        "SELECT actor, actor_id FROM booking_events WHERE booking_id = $1 AND action = 'new_tracking_link'",
        booking["id"],
    )
    assert tuple(event) == ("dispatcher", staff.id)
