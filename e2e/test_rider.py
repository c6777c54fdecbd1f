"""The customer side in a real browser against the real stack: signing up, booking a ride by
tapping the map, the rides list, and the tracking link following the driver live. Screenshots
go to E2E_SHOTS (default /tmp/shots-rider/) and e2e/artifacts/."""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from conftest import ARTIFACTS, PASSWORD, ROOT, _cli_json, _run_async, _stop
from playwright.sync_api import Page, expect

from hexfleet.devtools.testing import free_port, wait_until_ready

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
LIVE_DEADLINE_MS = 3000
SHOTS = Path(os.environ.get("E2E_SHOTS", "/tmp/shots-rider"))


def shot(page: Page, name: str, full_page: bool = False) -> None:
    """A screenshot to look at: in SHOTS and in e2e/artifacts/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    shutil.copy(path, ARTIFACTS / path.name)


def assert_uncovered(page: Page, selector: str) -> None:
    """The element is in view and nothing lies over its middle (a sticky bar, a notice)."""
    assert_in_view(page, selector)
    on_top = page.evaluate(
        """(selector) => {
             const el = document.querySelector(selector);
             const r = el.getBoundingClientRect();
             const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
             return el.contains(hit);
           }""",
        selector,
    )
    assert on_top, f"{selector} is covered"


def assert_in_view(page: Page, selector: str) -> None:
    """The element is on the screen as it is, without scrolling."""
    box = page.locator(selector).bounding_box()
    view = page.viewport_size
    assert box is not None and view is not None, selector
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= view["width"] and box["y"] + box["height"] <= view["height"], (selector, box)


def offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_320, lng + east_m / (111_320 * math.cos(math.radians(lat)))


def new_email(prefix: str = "rider") -> str:
    return f"{prefix}-{secrets.token_hex(4)}@e2e.test"


def sign_up(page: Page, email: str, password: str = PASSWORD) -> None:
    """Create an account, then sign in: sign-up answers a new email and a taken one alike (the
    sign-in form, email filled in), so it signs nobody in by itself."""
    page.goto("/login")
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_contain_text("Sign in with this email and your password")
    expect(page.get_by_label("Email")).to_have_value(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Sign in").click()


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Sign in").click()


def tap_map(page: Page, kind: str, x: int, y: int) -> dict:
    """Tap the booking map at (x, y) of the map and return the point it set."""
    page.locator("#ride-map").click(position={"x": x, "y": y})
    page.wait_for_function(f"() => window.hexfleetRide.points.{kind} !== null")
    return page.evaluate(f"() => window.hexfleetRide.points.{kind}")


def wait_for_driver_at(page: Page, lat: float, lng: float, timeout: float = LIVE_DEADLINE_MS) -> None:
    page.wait_for_function(
        """([lat, lng]) => {
             const m = window.hexfleetTrack && window.hexfleetTrack.driver();
             if (!m) return false;
             const p = m.getLatLng();
             return Math.abs(p.lat - lat) < 1e-6 && Math.abs(p.lng - lng) < 1e-6;
           }""",
        arg=[lat, lng],
        timeout=timeout,
        polling="raf",
    )


def accept_offer(stack, driver, booking_id: int, timeout: float = 15.0) -> None:
    """The driver's app: wait for the offer of this ride and accept it."""
    headers = {"Authorization": f"Bearer {driver.token}"}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=stack.base_url, headers=headers, timeout=10) as client:
        while True:
            offers = client.get("/api/v1/driver/offers").json()["offers"]
            mine = [o for o in offers if o["booking_id"] == booking_id]
            if mine:
                r = client.post(f"/api/v1/driver/offers/{mine[0]['id']}/accept")
                assert r.status_code == 200, r.text
                return
            assert time.monotonic() < deadline, f"no offer of booking {booking_id} reached {driver.name}"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def rider_driver(stack):
    """A driver of our own, so rides here never wait on the control room tests' drivers."""
    return stack.add_driver("Rosa Parks", "+49 30 5550199", "B-RP 909")


def api_customer(stack) -> tuple[str, str]:
    email = new_email("api")
    made = _cli_json(stack.env, "users", "add", "--email", email, "--password", PASSWORD, "--role", "customer")
    return email, made["token"]


def api_booking(stack, token: str, pickup: tuple[float, float], dropoff: tuple[float, float], **extra) -> dict:
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        quote = client.post(
            "/api/v1/quotes",
            json={"pickup": {"lat": pickup[0], "lng": pickup[1]}, "dropoff": {"lat": dropoff[0], "lng": dropoff[1]}},
        )
        assert quote.status_code == 201, quote.text
        body = {
            "quote_id": quote.json()["quote_id"],
            "passenger": {"name": "Ida", "phone": "+49 30 5550142"},
            "confirm_no_driver": True,  # some book where nobody is near (ignored when a driver is)
            **extra,
        }
        booking = client.post("/api/v1/bookings", json=body)
        assert booking.status_code == 201, booking.text
        return booking.json()


def tracking_path(booking: dict) -> str:
    return "/t/" + booking["tracking_url"].rsplit("/t/", 1)[1]


# ---------------------------------------------------------------- the whole ride


def test_sign_up_book_by_tapping_the_map_and_follow_the_driver(page: Page, stack, rider_driver):
    email = new_email()
    sign_up(page, email)
    expect(page).to_have_url(re.compile(r"/ride$"))
    expect(page.locator("header")).to_contain_text(email)
    expect(page.get_by_role("link", name="My rides")).to_be_visible()
    expect(page.locator("#ride-map.leaflet-container")).to_be_visible()
    expect(page.locator("#quote")).to_have_attribute("data-state", "empty")

    box = page.locator("#ride-map").bounding_box()
    pickup = tap_map(page, "pickup", int(box["width"] * 0.35), int(box["height"] * 0.6))
    # The driver waits 40 m from the pickup, so the price comes with an ETA.
    driver_at = offset(pickup["lat"], pickup["lng"], 40, 0)
    stack.set_status(rider_driver, "available")
    stack.ping(rider_driver, *driver_at)
    stack.wait_for_fix(rider_driver, *driver_at)
    expect(page.get_by_role("button", name="Drop-off", exact=False).first).to_have_attribute("aria-pressed", "true")
    tap_map(page, "dropoff", int(box["width"] * 0.7), int(box["height"] * 0.3))
    assert page.locator("#pickup-input").input_value() == f"{pickup['lat']:.5f}, {pickup['lng']:.5f}"

    quote = page.locator("#quote")
    expect(quote).to_have_attribute("data-state", "ready")
    assert_in_view(page, "#book-button")  # once there is a price, "Book now" needs no scroll
    expect(page.locator("#quote-price")).to_have_text(re.compile(r"^€\d+\.\d\d$"))  # the browser's locale: en-US
    expect(page.locator("#quote-expiry")).to_have_text(re.compile(r"Price held for [0-4]:\d\d"))
    expect(page.locator("#quote-eta")).to_have_text(re.compile(r"min away"))
    page.get_by_text("Price breakdown").click()
    expect(page.locator("#quote-breakdown")).to_contain_text("Booking fee")
    expect(page.locator("#quote-breakdown .rd-total")).to_contain_text(page.locator("#quote-price").inner_text())
    price = page.locator("#quote-price").inner_text()

    # Booking without a passenger is refused in the page, with the reason beside the field.
    page.get_by_role("button", name="Book now").click()
    expect(page.locator("#passenger-name-msg")).to_have_text("Enter the passenger's name.")
    page.get_by_label("Name").fill("Rita Rider")
    page.get_by_label("Phone").fill("+49 30 5550101")
    shot(page, "ride-1366x768")
    with page.expect_navigation(url=re.compile(r"/t/[^/]+$")):
        page.get_by_role("button", name="Book now").click()

    # The tracking page: the ride, then the driver taking it.
    expect(page.locator(".track-title")).to_have_text(re.compile("Finding you a driver|is on the way"))
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=10_000)
    # Signed in, the ride's page keeps the account: its link and "Log out".
    expect(page.locator(".topbar .user-email")).to_have_text(email)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    track_url = page.url
    booking_id = page.evaluate(
        """() => fetch('/api/v1/bookings?limit=1', {headers: {Accept: 'application/json'}})
                   .then(r => r.json()).then(b => b.bookings[0].id)"""
    )
    accept_offer(stack, rider_driver, booking_id)
    state = page.locator("#track-state")
    expect(state).to_have_attribute("data-status", "assigned", timeout=10_000)
    expect(page.locator(".track-title")).to_have_text("Rosa Parks is on the way")
    expect(page.locator(".rd-driver")).to_contain_text("B-RP 909")
    expect(page.locator(".rd-step-current")).to_contain_text("Driver assigned")
    wait_for_driver_at(page, *driver_at, timeout=10_000)
    driver_marker = page.locator(".hf-marker.hf-driver")
    expect(driver_marker).to_be_visible()
    before = driver_marker.bounding_box()

    moved = offset(*driver_at, 150, 250)  # north-east
    stack.ping(rider_driver, *moved, heading=45)
    wait_for_driver_at(page, *moved)
    after = driver_marker.bounding_box()
    assert after["y"] < before["y"] and after["x"] > before["x"]  # up and to the right, on screen
    expect(page.locator("#eta")).to_have_text(re.compile(r"(About \d+ min|Less than a minute) to the pickup"))
    expect(driver_marker).to_have_class(re.compile(r"\bhas-heading\b"))
    # Nothing on the page names the driver's id.
    assert "driver_id" not in page.content() and f"/drivers/{rider_driver.id}" not in page.content()
    page.wait_for_timeout(400)  # let the glide settle for a clean picture
    shot(page, "track-1366x768")

    # The rides list has it, live, in the "Now" group with its driver.
    page.get_by_role("link", name="My rides").click()
    active = page.locator('[data-group="active"]')
    card = active.locator(f'[data-booking-id="{booking_id}"]')
    expect(card).to_contain_text("Driver on the way")
    expect(card).to_contain_text("Rosa Parks")
    expect(card).to_contain_text(price)
    expect(card.get_by_role("link", name="Track ride")).to_have_attribute("href", re.compile(r"^/t/"))
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=10_000)
    shot(page, "rides-1366x768", full_page=True)

    # The driver arrives: the list changes by itself (a booking event, no polling).
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {rider_driver.token}"}) as client:
        assert client.post(f"/api/v1/driver/bookings/{booking_id}/arrived").status_code == 200
    expect(card).to_contain_text("Driver has arrived", timeout=10_000)

    # The rider cancels from the list (with a reason); the driver is free again.
    card.get_by_text("Cancel ride").click()
    card.get_by_label("Why are you cancelling?").select_option("Plans changed")
    card.get_by_role("button", name="Yes, cancel this ride").click()
    expect(page.get_by_role("status").filter(has_text="Your ride was cancelled.")).to_be_visible()
    past = page.locator(f'[data-group="past"] [data-booking-id="{booking_id}"]')
    expect(past).to_contain_text("Cancelled by you: Plans changed")
    page.screenshot(path=str(ARTIFACTS / "rides-1366x768-cancelled.png"), full_page=True)
    page.goto(track_url)
    expect(page.locator(".track-title")).to_have_text("This ride was cancelled")
    expect(page.locator(".hf-marker.hf-driver")).to_have_count(0)
    expect(page.get_by_text("Cancel this ride")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "track-1366x768-cancelled.png"))


# ---------------------------------------------------------------- tracking links that open nothing


def test_tampered_and_unknown_links_show_a_friendly_404_and_expired_ones_a_410(page: Page, stack):
    _, token = api_customer(stack)
    booking = api_booking(stack, token, offset(52.52, 13.405, 2000, 2000), offset(52.52, 13.405, 3000, 3500))
    path = tracking_path(booking)
    tampered = path[:-3] + ("xyz" if not path.endswith("xyz") else "abc")
    for bad in (tampered, "/t/not-a-real-link"):
        response = page.goto(bad)
        assert response.status == 404
        expect(page.get_by_role("heading", name="This tracking link does not work")).to_be_visible()
        assert "Traceback" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "track-missing-1366x768.png"))

    # A ride that ended longer ago than TRACKING_LINK_TTL_S (2 h here): the link has expired.
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}).status_code == 200
    assert page.goto(path).status == 200
    _run_async(_end_long_ago(stack.env["DATABASE_URL"], booking["id"]))
    response = page.goto(path)
    assert response.status == 410
    expect(page.get_by_role("heading", name="This tracking link has expired")).to_be_visible()


async def _end_long_ago(database_url: str, booking_id: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE bookings SET ended_at = now() - interval '3 hours' WHERE id = $1", booking_id)
    finally:
        await conn.close()


# ---------------------------------------------------------------- a link is view-only, and can be replaced


def test_a_shared_link_only_shows_and_the_rider_replaces_it_and_cancels(page: Page, stack, browser):
    email, token = api_customer(stack)
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    booking = api_booking(
        stack, token, offset(52.52, 13.405, -3000, -3000), offset(52.52, 13.405, -3500, -2000), scheduled_for=later
    )
    old_path = tracking_path(booking)

    # A friend the rider sent the link to: the ride, the first name, and no button.
    friend_ctx = browser.new_context(base_url=stack.base_url)
    try:
        friend = friend_ctx.new_page()
        friend.goto(old_path)
        expect(friend.locator(".track-title")).to_have_text("Your ride is booked")
        expect(friend.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=10_000)
        expect(friend.locator(".rd-facts")).to_contain_text("Ida")
        expect(friend.get_by_text("Cancel this ride", exact=True)).to_have_count(0)
        expect(friend.get_by_text("Stop sharing this link")).to_have_count(0)

        # The rider, signed in, has their buttons on the same page: a new link first.
        sign_in(page, email)
        page.goto(old_path)
        expect(page.get_by_text("Cancel this ride", exact=True)).to_be_visible()
        page.get_by_text("Stop sharing this link").click()
        with page.expect_navigation(url=re.compile(r"/t/[^/?]+$")):
            page.get_by_role("button", name="Make a new link").click()
        expect(page.get_by_role("status").filter(has_text="This is your ride's new link")).to_be_visible()
        new_path = urlsplit(page.url).path
        assert new_path != old_path and urlsplit(page.url).query == ""  # nothing extra in the address to share
        page.screenshot(path=str(ARTIFACTS / "track-new-link-1366x768.png"))

        # The friend's open page learns at once that its link was replaced, and stops following.
        expect(friend.locator("#track-panel")).to_contain_text("This tracking link was replaced", timeout=10_000)
        expect(friend.locator("#live-indicator")).to_have_attribute("data-state", "offline")
        response = friend.goto(old_path)
        assert response.status == 410
        expect(friend.get_by_role("heading", name="This tracking link was replaced")).to_be_visible()
        friend.screenshot(path=str(ARTIFACTS / "track-replaced-1366x768.png"))
        # The friend's browser posting to the cancel route, CSRF token and all, is refused.
        csrf = friend.locator('meta[name="csrf-token"]').get_attribute("content")
        refused = friend.request.post(new_path + "/cancel", form={"reason": "Plans changed", "csrf_token": csrf})
        assert refused.status == 403 and "Only the rider can cancel" in refused.text()

        # The rider cancels from the ride's page.
        page.get_by_text("Cancel this ride", exact=True).click()
        page.get_by_label("Why are you cancelling?").select_option("Plans changed")
        page.get_by_role("button", name="Yes, cancel this ride").click()
        expect(page.locator(".track-title")).to_have_text("This ride was cancelled")
        expect(page.locator(".rd-step-stopped")).to_contain_text("Cancelled by the passenger")
        expect(page.get_by_text("Cancel this ride", exact=True)).to_have_count(0)
    finally:
        friend_ctx.close()


# ---------------------------------------------------------------- what a customer may not open


def test_a_customer_cannot_open_another_customers_ride_or_the_control_room(page: Page, stack):
    _, theirs_token = api_customer(stack)
    theirs = api_booking(stack, theirs_token, offset(52.52, 13.405, -2000, 1500), offset(52.52, 13.405, -2500, 2500))
    sign_up(page, new_email("nosy"))
    response = page.goto(f"/rides/{theirs['id']}")
    assert response.status == 404
    expect(page.get_by_role("heading", name="No such ride")).to_be_visible()
    api = page.request.get(f"/api/v1/bookings/{theirs['id']}")
    assert api.status == 404
    cancel = page.request.post(f"/api/v1/bookings/{theirs['id']}/cancel", data={})
    assert cancel.status in (403, 404)  # refused either way: without the page's token, or as not theirs
    response = page.goto("/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not for this account")).to_be_visible()
    expect(page.get_by_role("link", name="My rides")).to_be_visible()  # and a way back
    response = page.goto("/rides")
    expect(page.locator(f'[data-booking-id="{theirs["id"]}"]')).to_have_count(0)
    expect(page.get_by_text("No rides yet — book one")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "rides-empty-1366x768.png"))
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {theirs_token}"}) as client:
        assert client.post(f"/api/v1/bookings/{theirs['id']}/cancel", json={}).status_code == 200


# ---------------------------------------------------------------- bad input, readable


def test_signup_errors_are_readable(page: Page, stack):
    page.goto("/signup")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#email-error")).to_contain_text("does not look like an email address")
    expect(page.locator("#password-error")).to_have_text("Use at least 8 characters.")
    page.screenshot(path=str(ARTIFACTS / "signup-error-1366x768.png"))
    # A taken email gets no error (that would tell anyone which emails have accounts): the
    # same sign-in form a new one gets, and its account is unchanged.
    page.get_by_label("Email").fill(stack.customer_email)
    page.get_by_label("Password").fill("long-enough-password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("nothing about it has changed")
    expect(page.get_by_role("alert")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "signup-answer-1366x768.png"))


def test_schedule_window_is_checked_in_the_browser(page: Page, stack):
    sign_in(page, stack.customer_email)
    expect(page).to_have_url(re.compile(r"/ride$"))
    page.get_by_text("Later", exact=True).click()
    when = page.get_by_label("Pickup time")
    expect(when).to_be_visible()
    soon = time.localtime(time.time() + 5 * 60)
    when.fill(time.strftime("%Y-%m-%dT%H:%M", soon))
    when.dispatch_event("change")
    expect(page.locator("#when-msg")).to_have_text("Choose a time at least 15 minutes from now.")
    far = time.localtime(time.time() + 40 * 86400)
    when.fill(time.strftime("%Y-%m-%dT%H:%M", far))
    when.dispatch_event("change")
    expect(page.locator("#when-msg")).to_have_text("You can book at most 30 days ahead.")
    later = time.localtime(time.time() + 3 * 3600)
    when.fill(time.strftime("%Y-%m-%dT%H:%M", later))
    when.dispatch_event("change")
    expect(page.locator("#when-msg")).to_be_hidden()
    box = page.locator("#ride-map").bounding_box()
    tap_map(page, "pickup", int(box["width"] * 0.3), int(box["height"] * 0.5))
    tap_map(page, "dropoff", int(box["width"] * 0.7), int(box["height"] * 0.5))
    expect(page.locator("#quote")).to_have_attribute("data-state", "ready")
    expect(page.locator("#quote-eta-label")).to_have_text("Pickup")
    page.get_by_label("Name").fill("Sam Later")
    page.get_by_label("Phone").fill("+49 30 5550177")
    with page.expect_navigation(url=re.compile(r"/t/[^/]+$")):
        page.get_by_role("button", name="Schedule ride").click()
    expect(page.locator(".track-title")).to_have_text("Your ride is booked")
    expect(page.locator(".track-sub")).to_contain_text("Pickup")


def test_typed_coordinates_and_a_refused_location(page: Page, stack):
    sign_in(page, stack.customer_email)
    page.get_by_role("button", name="My location").click()
    expect(page.locator("#pickup-msg")).to_contain_text(re.compile("denied|not available|too long"), timeout=15_000)
    page.get_by_label("Pickup", exact=True).fill("somewhere nice")
    page.get_by_label("Pickup", exact=True).press("Enter")
    expect(page.locator("#pickup-msg")).to_contain_text("Nothing found by that name")
    page.get_by_label("Pickup", exact=True).fill("52.5200, 13.4050")
    page.get_by_label("Pickup", exact=True).press("Enter")
    page.get_by_label("Drop-off", exact=True).fill("52.5201, 13.4051")
    page.get_by_label("Drop-off", exact=True).press("Enter")
    expect(page.locator("#quote")).to_have_attribute("data-state", "error")
    expect(page.locator("#quote-error-text")).to_contain_text("the same place")
    page.get_by_label("Drop-off", exact=True).fill("52.5300 13.4300")
    page.get_by_label("Drop-off", exact=True).press("Enter")
    expect(page.locator("#quote")).to_have_attribute("data-state", "ready")


def test_my_location_sets_the_pickup(page: Page, stack, context):
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"latitude": 52.5163, "longitude": 13.3777, "accuracy": 12})
    sign_in(page, stack.customer_email)
    page.get_by_role("button", name="My location").click()
    expect(page.locator("#pickup-input")).to_have_value("My location (±12 m)")
    assert page.evaluate("() => window.hexfleetRide.points.pickup.lat") == pytest.approx(52.5163)


# ---------------------------------------------------------------- phones


@pytest.mark.browser_context_args(**PHONE)
def test_phone_layouts(page: Page, stack, rider_driver):
    email, token = api_customer(stack)
    sign_in(page, email)
    expect(page.locator("#ride-map.leaflet-container")).to_be_visible()
    map_box = page.locator("#ride-map").bounding_box()
    assert map_box["width"] >= 380 and 240 <= map_box["height"] <= 844 * 0.5
    page.locator("#ride-map").tap(position={"x": 120, "y": int(map_box["height"] * 0.6)})
    page.locator("#ride-map").tap(position={"x": 280, "y": int(map_box["height"] * 0.3)})
    expect(page.locator("#quote")).to_have_attribute("data-state", "ready")
    # Nothing wider than the screen.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "ride-390x844.png"))
    page.screenshot(path=str(ARTIFACTS / "ride-390x844-full.png"), full_page=True)

    pickup = offset(52.52, 13.405, 2500, -2500)
    stack.set_status(rider_driver, "available")
    driver_at = offset(*pickup, 30, 0)
    stack.ping(rider_driver, *driver_at)
    stack.wait_for_fix(rider_driver, *driver_at)
    booking = api_booking(stack, token, pickup, offset(*pickup, 1200, 900))
    accept_offer(stack, rider_driver, booking["id"])
    page.goto(tracking_path(booking))
    expect(page.locator("#track-state")).to_have_attribute("data-status", "assigned")
    wait_for_driver_at(page, *driver_at, timeout=10_000)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # The header on a phone: the live dot says it in words too, and the account stays in reach.
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(page.locator("#live-indicator .live-label")).to_be_visible()
    expect(page.locator("#live-indicator .live-label")).to_have_text("live")
    for selector in ("#live-indicator", ".topbar .account-icon", ".topbar .logout-form .btn"):
        expect(page.locator(selector)).to_be_visible()
        assert_in_view(page, selector)
    # The longest word it may say still leaves the account's links on the screen.
    page.evaluate("document.querySelector('#live-indicator .live-label').textContent = 'offline · retrying'")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert_in_view(page, ".topbar .logout-form .btn")
    shot(page, "track-header-offline-390x844")
    page.evaluate("document.querySelector('#live-indicator .live-label').textContent = 'live'")
    page.wait_for_timeout(300)
    shot(page, "track-390x844")
    page.screenshot(path=str(ARTIFACTS / "track-390x844-full.png"), full_page=True)

    page.goto("/rides")
    expect(page.locator(f'[data-booking-id="{booking["id"]}"]')).to_contain_text("Driver on the way")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    expect(page.locator("#live-indicator .live-label")).to_be_visible()
    shot(page, "rides-390x844", full_page=True)
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}).status_code == 200

    page.goto("/t/not-a-real-link")
    page.screenshot(path=str(ARTIFACTS / "track-missing-390x844.png"))
    page.goto("/")
    page.screenshot(path=str(ARTIFACTS / "forbidden-customer-390x844.png"))
    page.get_by_role("button", name="Log out and sign in as someone else").tap()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/signup")
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "signup-390x844.png"))


def test_signup_screenshot(page: Page):
    page.goto("/signup")
    page.screenshot(path=str(ARTIFACTS / "signup-1366x768.png"))


# ---------------------------------------------------------------- address search (GEOCODER_URL)

PLACES = [
    ("Alexanderplatz", "10178", 52.5219, 13.4132),
    ("Alexanderstraße", "10179", 52.5190, 13.4180),
    ("Alexa Shopping Centre", "10179", 52.5196, 13.4149),
]


class _Photon(BaseHTTPRequestHandler):
    """A tiny geocoder speaking Photon's /api GeoJSON: places whose name starts like the query."""

    def do_GET(self):
        query = parse_qs(urlsplit(self.path).query).get("q", [""])[0].casefold()
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lng, lat]},
                "properties": {"name": name, "postcode": postcode, "city": "Berlin", "country": "Germany"},
            }
            for name, postcode, lat, lng in PLACES
            if name.casefold().startswith(query[:4])
        ]
        body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def geocoding_site(stack):
    """A second web process of the same stack, with GEOCODER_URL pointing at a local Photon."""
    geocoder = ThreadingHTTPServer(("127.0.0.1", 0), _Photon)
    threading.Thread(target=geocoder.serve_forever, daemon=True).start()
    port = free_port()
    env = {**stack.env, "GEOCODER_URL": f"http://127.0.0.1:{geocoder.server_port}"}
    log = (ARTIFACTS / "web-geocoder.log").open("wb")
    web = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "webapp:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(f"{url}/readyz", 60, failed=lambda: None if web.poll() is None else "web exited")
        yield url
    finally:
        _stop(web)
        geocoder.shutdown()


def search_address(page: Page, stack, site: str, shots: str) -> None:
    """Sign in on ``site``, find the pickup and drop-off by typing parts of their names."""
    email, _ = api_customer(stack)
    page.goto(f"{site}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Sign in").click()
    pickup = page.get_by_label("Pickup", exact=True)
    pickup.fill("Alexan")
    options = page.get_by_role("option")
    expect(options).to_have_count(3)
    # The geocoder's answers after the places (none match here): each an address, how far it is.
    expect(options.first.locator(".place-option-name")).to_have_text("Alexanderplatz")
    expect(options.first.locator(".place-option-meta")).to_have_text(re.compile(r"^Address · [\d.]+\s(m|km)$"))
    shot(page, f"ride-address-{shots}")
    pickup.press("ArrowDown")
    pickup.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    pickup.press("Enter")
    expect(pickup).to_have_value("Alexanderstraße, 10179 Berlin, Germany")
    assert page.evaluate("() => window.hexfleetRide.points.pickup.lat") == pytest.approx(52.5190)
    dropoff = page.get_by_label("Drop-off", exact=True)
    expect(dropoff).to_be_focused()
    dropoff.fill("Alexa S")
    page.get_by_role("option").filter(has_text="Alexa Shopping Centre").click()
    expect(dropoff).to_have_value("Alexa Shopping Centre, 10179 Berlin, Germany")
    expect(page.locator("#quote")).to_have_attribute("data-state", "ready")
    # The address chosen is the name the ride keeps.
    assert (
        page.evaluate("() => window.hexfleetRide.quote.dropoff.label") == "Alexa Shopping Centre, 10179 Berlin, Germany"
    )


def test_address_suggestions_through_the_server(page: Page, stack, geocoding_site):
    elsewhere = []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(geocoding_site) else None)
    search_address(page, stack, geocoding_site, "1366x768")
    assert elsewhere == []  # the browser only ever talked to this site, never to the geocoder


@pytest.mark.browser_context_args(**PHONE)
def test_address_suggestions_on_a_phone(page: Page, stack, geocoding_site):
    search_address(page, stack, geocoding_site, "390x844")
