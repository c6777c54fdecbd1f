"""The driver web app (/d) on a phone, against the real stack: a dispatcher makes a one-time
sign-in link, the driver opens it on the phone, works rides end to end, and the phone's
position reaches the control room.

Each test places its driver in its own city, far from the Berlin drivers of the other
browser tests, so dispatch can only ever offer these rides to this test's driver.
"""

from __future__ import annotations

import math
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import ARTIFACTS, PASSWORD, _cli_json, _is_local
from playwright.sync_api import Page, expect

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"width": 1366, "height": 768}
HAMBURG = (53.5511, 9.9937)
MUNICH = (48.1372, 11.5756)
COLOGNE = (50.9375, 6.9603)
STUTTGART = (48.7758, 9.1829)
LEIPZIG = (51.3397, 12.3731)
SHOTS = Path("/tmp/shots-drv")


def offset(point: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    lat, lng = point
    return round(lat + north_m / 111_320, 6), round(lng + east_m / (111_320 * math.cos(math.radians(lat))), 6)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def customer(stack) -> str:
    """A rider's API token (the rider's pages are not part of this test)."""
    made = _cli_json(stack.env, "users", "add", "--email", "rider-d@e2e.test", "--password", PASSWORD,
                     "--role", "customer")  # fmt: skip
    return made["token"]


@pytest.fixture(scope="module")
def admin(stack) -> str:
    """An admin's API token: the operator's places are theirs to add."""
    made = _cli_json(stack.env, "users", "add", "--email", "admin-d@e2e.test", "--password", PASSWORD,
                     "--role", "admin")  # fmt: skip
    return made["token"]


def add_place(stack, token: str, name: str, category: str, point: tuple) -> None:
    with api(stack, token) as client:
        made = client.post(
            "/api/v1/places", json={"name": name, "category": category, "lat": point[0], "lng": point[1]}
        )
        assert made.status_code == 201, made.text


@contextmanager
def phone_context(browser, stack, **options):
    """A second browser (the driver's phone), held to the same rules as every test page:
    no request leaves the machine, no script error, no console error."""
    context = browser.new_context(base_url=stack.base_url, **PHONE, **options)
    blocked: list[str] = []
    errors: list[str] = []

    def block(route):
        blocked.append(route.request.url)
        route.abort()

    def console(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(f"console: {message.text}")

    context.route(lambda url: not _is_local(url), block)
    context.on("weberror", lambda web_error: errors.append(f"uncaught: {web_error.error}"))
    context.on("console", console)
    try:
        yield context
    finally:
        context.close()
    assert not blocked, f"the phone page tried to reach the internet: {blocked}"
    assert not errors, "\n".join(errors)


def settle(page: Page) -> None:
    """Two animation frames: layout and Leaflet have caught up with a resize."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")


# Every control a thumb may need, as long as it is shown (radio buttons count by their label).
CONTROLS = "button, a[href], summary, .d-reasons label, input:not([type=hidden]):not([type=radio]), textarea"


def assert_fits_a_phone(page: Page) -> None:
    """Nothing sticks out sideways, and every visible control is at least 44 × 44 px."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    small = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
             .map((el) => [el, el.getBoundingClientRect()])
             .filter(([el, box]) => box.height > 0 && el.checkVisibility() && (box.height < 44 || box.width < 44))
             .map(([el, box]) => `${el.id || el.className || el.tagName} ${box.width}×${box.height}`)""",
        CONTROLS,
    )
    assert not small, f"touch targets under 44 px: {small}"


def shots(page: Page, name: str) -> None:
    """The phone page at the phone size (checked for fit), and the same state on a desktop screen
    (into e2e/artifacts and /tmp/shots-drv)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    settle(page)
    assert_fits_a_phone(page)
    for size, viewport in (("390x844", PHONE["viewport"]), ("1366x768", DESKTOP)):
        page.set_viewport_size(viewport)
        settle(page)
        path = ARTIFACTS / f"driver-{name}-{size}.png"
        page.screenshot(path=str(path))
        shutil.copy(path, SHOTS / path.name)
    page.set_viewport_size(PHONE["viewport"])
    settle(page)


def create_link(page: Page, driver_id: int) -> str:
    """In the control room: the driver's "Connect a phone" pane makes a one-time link."""
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=10_000)
    page.locator(f'.driver-row[data-driver-id="{driver_id}"]').click()
    connect = page.locator(f"#connect-{driver_id}")
    connect.get_by_text("Connect a phone").click()
    connect.get_by_role("button", name="Create sign-in link").click()
    field = connect.locator("[data-field='driver-link']")
    expect(field).to_contain_text("/d/login/")
    expect(connect.locator("[data-qr='driver-link'] svg")).to_be_visible()
    return field.inner_text().strip()


def sign_in(phone: Page, link: str, name: str) -> None:
    phone.goto(link)
    expect(phone.get_by_role("heading", name=f"Hello, {name}")).to_be_visible()
    phone.get_by_role("button", name="Start working").tap()
    expect(phone).to_have_url(re.compile(r"/d$"))


def api(stack, token: str) -> httpx.Client:
    return httpx.Client(base_url=stack.base_url, headers=bearer(token), timeout=10)


def driver_view(stack, driver_id: int) -> dict:
    with api(stack, stack.staff_token) as client:
        return client.get(f"/api/v1/drivers/{driver_id}").json()


def book(
    stack, token: str, pickup: tuple, dropoff: tuple, name: str = "Rita Levi", label: str | None = None, notes=None
) -> dict:
    """A ride booked by a rider; ``label``: the name the rider chose the pickup by."""
    with api(stack, token) as client:
        start = {"lat": pickup[0], "lng": pickup[1], **({"label": label} if label else {})}
        quote = client.post("/api/v1/quotes", json={"pickup": start, "dropoff": {"lat": dropoff[0], "lng": dropoff[1]}})
        assert quote.status_code == 201, quote.text
        body = {"quote_id": quote.json()["quote_id"], "passenger": {"name": name, "phone": "+49 40 555-0123"}}
        booking = client.post("/api/v1/bookings", json={**body, **({"notes": notes} if notes else {})})
        assert booking.status_code == 201, booking.text
        return booking.json()


def poll(page: Page, check, what: str, timeout: float = 10.0):
    """Wait for ``check()`` while the phone page keeps running.

    The guard routes every request of the phone's context through this (Python) process,
    so a plain sleep here would hold the page's own requests until the next Playwright call;
    waiting through Playwright lets them go on."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what} after {timeout} s"
        page.wait_for_timeout(50)
    return value


def wait_for_fix(page: Page, stack, driver, point: tuple, timeout: float = 10.0) -> None:
    """The control room API has this position for the driver (ingest → Kafka → tracker)."""

    def there():
        view = driver_view(stack, driver.id)
        return view.get("lat") is not None and abs(view["lat"] - point[0]) < 1e-7 and abs(view["lng"] - point[1]) < 1e-7

    poll(page, there, f"driver {driver.id} not at {point}", timeout)


def booking_status(stack, booking_id: int) -> str:
    with api(stack, stack.staff_token) as client:
        return client.get(f"/api/v1/bookings/{booking_id}").json()["status"]


def wait_for_booking(page: Page, stack, booking_id: int, status: str, timeout: float = 10.0) -> None:
    poll(page, lambda: booking_status(stack, booking_id) == status, f"booking {booking_id} not {status}", timeout)


def wait_for_duty(page: Page, stack, driver_id: int, status: str, timeout: float = 5.0) -> None:
    poll(page, lambda: driver_view(stack, driver_id)["status"] == status, f"driver {driver_id} not {status}", timeout)


# ---------------------------------------------------------------- a whole working session


def test_a_driver_signs_in_works_a_ride_and_shares_their_position(page: Page, login, stack, browser, customer, admin):
    driver = stack.add_driver("Katherine Johnson", "+49 40 5550301", "HH-HX 301", status="off_duty")  # as added
    # The operator's places near the driver and where the ride goes (the map has no tiles here).
    add_place(stack, admin, "Hamburg Rathaus", "landmark", offset(HAMBURG, 60, -40))
    add_place(stack, admin, "Hamburg Dammtor", "station", offset(HAMBURG, 2500, 1830))
    login(page)
    link = create_link(page, driver.id)
    assert link.startswith(f"{stack.base_url}/d/login/")
    page.locator(f"#connect-{driver.id} [data-qr='driver-link']").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "driver-link-1366x768.png"))

    here = HAMBURG
    geolocation = {"latitude": here[0], "longitude": here[1], "accuracy": 8}
    with phone_context(browser, stack, geolocation=geolocation, permissions=["geolocation"]) as context:
        phone = context.new_page()
        phone.goto(link)
        expect(phone.get_by_role("button", name="Start working")).to_be_visible()
        shots(phone, "signin")
        sign_in(phone, link, driver.name)

        # Location: granted, so the page sends the phone's position and says so.
        location = phone.locator("#d-location")
        expect(location).to_have_attribute("data-state", "sending", timeout=10_000)
        expect(location).to_contain_text("Sharing your position with dispatch")
        wait_for_fix(phone, stack, driver, here)

        # Duty: a new driver starts off duty and goes available with a tap; then off and on again.
        duty = phone.locator("#d-duty")
        expect(duty.locator("#d-status")).to_have_text("Off duty")
        duty.get_by_role("button", name="Go available").tap()
        expect(duty.locator("#d-status")).to_have_text("Available")
        wait_for_duty(phone, stack, driver.id, "available")
        expect(duty).to_contain_text("Ride offers appear here")
        duty.get_by_role("button", name="Go off duty").tap()
        expect(duty.locator("#d-status")).to_have_text("Off duty")
        wait_for_duty(phone, stack, driver.id, "off_duty")
        duty.get_by_role("button", name="Go available").tap()
        expect(duty.locator("#d-status")).to_have_text("Available")
        wait_for_duty(phone, stack, driver.id, "available")
        expect(phone.locator("#d-live")).to_have_attribute("data-state", "live")
        shots(phone, "idle")

        # No tiles: the map shows the places around the driver by name, and gives no credit.
        # (Drawn around the map's centre, then again around the driver: one layer, the first fades out.)
        rathaus = phone.locator(".place-point-label", has_text="Hamburg Rathaus")
        expect(rathaus).to_have_count(1, timeout=10_000)
        expect(rathaus).to_be_visible()
        expect(phone.locator(".leaflet-control-attribution")).to_be_hidden()

        # A rider books nearby: the offer arrives live, with price, distance and countdown.
        note_for_driver = "Two suitcases. I wait by the pier gate."
        booking = book(stack, customer, offset(here, 400, 0), offset(here, 2500, 1800), label="Jungfernstieg, pier 4",
                       notes=note_for_driver)  # fmt: skip
        offer = phone.locator("#d-offer")
        expect(offer).to_be_visible(timeout=10_000)
        expect(offer.locator("#d-offer-price")).to_have_text(re.compile(r"€\s?\d+\.\d\d"))
        # Where from and where to, by name: the one the rider chose, and the nearest place.
        pickup_name = offer.locator("#d-offer-pickup-name")
        expect(pickup_name).to_have_text("Jungfernstieg, pier 4")
        pickup = offset(here, 400, 0)
        pickup_coords = offer.locator("#d-offer-pickup-coords")
        expect(pickup_coords).to_be_hidden()
        expect(pickup_name).to_have_attribute("title", f"{pickup[0]:.5f}, {pickup[1]:.5f}")
        expect(offer.locator("#d-offer-dropoff-name")).to_have_text("Hamburg Dammtor, 30 m")
        expect(offer.locator("#d-offer-notes-row")).to_contain_text("Note from the rider")
        expect(offer.locator("#d-offer-notes")).to_have_text(note_for_driver)
        expect(offer.locator("#d-offer-distance")).to_have_text(re.compile(r"^\d+\s+m away$"))
        expect(offer.locator("#d-offer-eta")).to_have_text(re.compile(r"^about \d+\s+min$"))
        expect(offer.locator("#d-offer-trip")).to_have_text(re.compile(r"^about \d+\.\d\s+km$"))
        seconds = int(offer.locator("#d-countdown-s").inner_text())
        assert 1 <= seconds <= 15
        alerts = phone.evaluate("window.hexfleetDriver.alerts")
        assert [a["offer"] for a in alerts] == [phone.evaluate("window.hexfleetDriver.state.offer.id")]
        assert alerts[0]["vibrated"] and alerts[0]["sounded"], alerts  # the driver has tapped: both allowed
        shots(phone, "offer")
        # A tap on the name shows the coordinates, another hides them.
        pickup_name.tap()
        expect(pickup_coords).to_have_text(f"{pickup[0]:.5f}, {pickup[1]:.5f}")
        expect(pickup_name).to_have_attribute("aria-expanded", "true")
        pickup_name.tap()
        expect(pickup_coords).to_be_hidden()
        # The countdown runs down.
        # (A function, not an expression string: the page's CSP forbids eval.)
        phone.wait_for_function(
            "(start) => Number(document.getElementById('d-countdown-s').textContent) < start", arg=seconds
        )

        # A reload shows the same offer again.
        phone.reload()
        expect(offer).to_be_visible()
        expect(offer.locator("#d-offer-price")).to_have_text(re.compile(r"€"))
        offer.get_by_role("button", name="Accept").tap()

        # The trip: pickup first, passenger, navigation, the next step only.
        trip = phone.locator("#d-trip")
        expect(trip).to_be_visible()
        expect(trip.locator("#d-trip-title")).to_have_text("Drive to the pickup")
        expect(trip.locator("#d-passenger-name")).to_have_text("Rita Levi")
        expect(trip.locator("#d-passenger-phone")).to_have_attribute("href", "tel:+49405550123")
        expect(trip.locator("#d-target-name")).to_have_text("Jungfernstieg, pier 4")
        expect(trip.locator("#d-then-row")).to_contain_text("Then to")
        expect(trip.locator("#d-then-name")).to_have_text("Hamburg Dammtor, 30 m")
        expect(trip.locator("#d-trip-notes")).to_have_text(note_for_driver)
        expect(trip.locator("#d-nav-geo")).to_have_attribute(
            "href", f"geo:{pickup[0]},{pickup[1]}?q={pickup[0]},{pickup[1]}"
        )
        expect(trip.locator("#d-nav-osm")).to_have_attribute(
            "href", f"https://www.openstreetmap.org/directions?to={pickup[0]}%2C{pickup[1]}"
        )
        expect(trip.get_by_role("button", name="Give the ride back")).to_be_visible()
        expect(phone.locator("#d-duty")).to_be_hidden()
        wait_for_booking(phone, stack, booking["id"], "assigned")
        shots(phone, "trip")

        phone.reload()  # the ride in hand comes back after a reload
        expect(trip.locator("#d-trip-title")).to_have_text("Drive to the pickup")
        trip.get_by_role("button", name="I have arrived").tap()
        expect(trip.locator("#d-trip-title")).to_have_text("Waiting at the pickup")
        expect(trip.get_by_role("button", name="I have arrived")).to_have_count(0)
        trip.get_by_role("button", name="Start the trip").tap()
        expect(trip.locator("#d-trip-title")).to_have_text("Drive to the drop-off")
        expect(trip.locator("#d-target-label")).to_have_text("Drop-off")
        expect(trip.locator("#d-target-name")).to_have_text("Hamburg Dammtor, 30 m")
        expect(trip.locator("#d-then-row")).to_be_hidden()
        expect(trip.locator("#d-trip-notes")).to_have_text(note_for_driver)
        expect(trip.get_by_role("button", name="Give the ride back")).to_be_hidden()
        shots(phone, "trip-dropoff")
        trip.get_by_role("button", name="Complete the trip").tap()
        expect(phone.locator("#d-note")).to_contain_text("Ride complete")
        expect(phone.locator("#d-status")).to_have_text("Available")
        wait_for_booking(phone, stack, booking["id"], "completed")
        shots(phone, "completed")

        # The phone moves: the new position reaches the control room.
        moved = offset(here, 900, -300)
        context.set_geolocation({"latitude": moved[0], "longitude": moved[1], "accuracy": 6})
        wait_for_fix(phone, stack, driver, moved, timeout=15)

        # Signing out ends the session and the duty.
        phone.get_by_role("button", name="Sign out").tap()
        expect(phone).to_have_url(re.compile(r"/d/signed-out$"))
        expect(phone.get_by_role("heading", name="You are signed out")).to_be_visible()
        wait_for_duty(phone, stack, driver.id, "off_duty")
        phone.goto("/d")
        expect(phone.get_by_role("heading", name="Sign in to start working")).to_be_visible()


# ---------------------------------------------------------------- saying no, too late, and a lost network


def test_decline_a_late_accept_and_a_lost_network(page: Page, login, stack, browser, customer):
    driver = stack.add_driver("Mae Jemison", "+49 89 5550302", "M-HX 302")
    login(page)
    link = create_link(page, driver.id)
    here = MUNICH
    geolocation = {"latitude": here[0], "longitude": here[1], "accuracy": 10}
    with phone_context(browser, stack, geolocation=geolocation, permissions=["geolocation"]) as context:
        phone = context.new_page()
        sign_in(phone, link, driver.name)
        wait_for_fix(phone, stack, driver, here)
        offer = phone.locator("#d-offer")
        note = phone.locator("#d-note")

        # Declined: the ride goes on (here: nobody else is near, so it keeps looking for
        # DISPATCH_PATIENCE_S without asking us again), and we stay available.
        first = book(stack, customer, offset(here, 300, 200), offset(here, -2000, 900))
        expect(offer).to_be_visible(timeout=10_000)
        offer.get_by_role("button", name="Decline").tap()
        expect(note).to_contain_text("Offer declined")
        expect(offer).to_be_hidden()
        expect(phone.locator("#d-status")).to_have_text("Available")
        wait_for_booking(phone, stack, first["id"], "searching")

        # Too late: the rider cancels while the driver taps Accept; the server answers 409.
        second = book(stack, customer, offset(here, -250, 100), offset(here, 1500, 1500))
        expect(offer).to_be_visible(timeout=10_000)

        def cancel_first(route):
            with api(stack, customer) as client:
                assert client.post(
                    f"/api/v1/bookings/{second['id']}/cancel", json={"reason": "changed plans"}
                ).is_success
            route.continue_()

        phone.route("**/api/v1/driver/offers/*/accept", cancel_first)
        offer.get_by_role("button", name="Accept").tap()
        expect(note).to_contain_text("Too late: this offer expired or was withdrawn")
        expect(offer).to_be_hidden()
        expect(phone.locator("#d-trip")).to_be_hidden()
        phone.unroute("**/api/v1/driver/offers/*/accept")
        shots(phone, "too-late")

        # The network goes away: positions wait on the phone, and everything comes back with it.
        expect(phone.locator("#d-live")).to_have_attribute("data-state", "live")
        context.set_offline(True)
        moved = offset(here, 600, 600)
        context.set_geolocation({"latitude": moved[0], "longitude": moved[1], "accuracy": 10})
        expect(phone.locator("#d-location")).to_have_attribute("data-state", "offline", timeout=15_000)
        expect(phone.locator("#d-location")).to_contain_text(re.compile(r"No connection: \d+ positions? waiting"))
        third = book(stack, customer, offset(moved, 200, 0), offset(moved, 3000, 0))
        context.set_offline(False)
        wait_for_fix(phone, stack, driver, moved, timeout=15)
        expect(offer).to_be_visible(timeout=15_000)
        expect(phone.locator("#d-live")).to_have_attribute("data-state", "live", timeout=15_000)
        offer.get_by_role("button", name="Accept").tap()
        expect(phone.locator("#d-trip")).to_be_visible()
        wait_for_booking(phone, stack, third["id"], "assigned")

        # Giving the ride back needs a reason; the ride searches again and the driver is free.
        phone.get_by_role("button", name="Give the ride back").tap()
        dialog = phone.locator("#d-release-dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Vehicle problem").check()
        dialog.get_by_label("Details").fill("Flat tyre")
        shots(phone, "give-back")
        dialog.get_by_role("button", name="Give it back").tap()
        expect(dialog).to_be_hidden()
        expect(note).to_contain_text("You gave the ride back")
        expect(phone.locator("#d-status")).to_have_text("Available")
        with api(stack, stack.staff_token) as client:
            events = client.get(f"/api/v1/bookings/{third['id']}").json()["events"]
        assert any(e.get("reason") == "Vehicle problem: Flat tyre" for e in events), events


# ---------------------------------------------------------------- location off, and a used link


def test_location_off_is_explained_and_a_used_link_is_friendly(page: Page, login, stack, browser):
    driver = stack.add_driver("Dorothy Johnson", "+49 221 5550303", "K-HX 303")
    login(page)
    link = create_link(page, driver.id)
    geolocation = {"latitude": COLOGNE[0], "longitude": COLOGNE[1], "accuracy": 10}
    # No permission granted: the page asks for it on a tap, and this browser says no (as a
    # driver who taps "Block" does).
    with phone_context(browser, stack, geolocation=geolocation) as context:
        phone = context.new_page()
        sign_in(phone, link, driver.name)
        location = phone.locator("#d-location")
        expect(location).to_have_attribute("data-state", "prompt")
        expect(location).to_contain_text("Share your location so dispatch can see you")
        shots(phone, "location-ask")
        location.get_by_role("button", name="Share my location").tap()
        expect(location).to_have_attribute("data-state", "denied")
        expect(location).to_contain_text("Location is off for this page")
        expect(location.get_by_text("How to turn location on")).to_be_visible()
        # Available (as the dispatcher set them), but nothing from the phone: not "Available".
        expect(phone.locator("#d-status")).to_have_text("Waiting for GPS")
        expect(phone.locator("#d-duty")).to_contain_text("Location is off for this page")
        location.get_by_text("How to turn location on").tap()
        expect(location.get_by_text("Then reload this page.")).to_be_visible()
        shots(phone, "location-off")
        assert driver_view(stack, driver.id)["lat"] is None  # nothing was sent

        # Granted later (in the browser's site settings): the page notices and starts sending.
        context.grant_permissions(["geolocation"])
        phone.reload()
        expect(location).to_have_attribute("data-state", "sending", timeout=10_000)
        wait_for_fix(phone, stack, driver, COLOGNE)
        expect(phone.locator("#d-status")).to_have_text("Available", timeout=10_000)

        # The link was spent: opening it again is a friendly page, not an error.
        phone.goto(link)
        expect(phone.get_by_role("heading", name="This sign-in link no longer works")).to_be_visible()
        expect(phone.get_by_role("link", name="Open the driver app")).to_be_visible()
        shots(phone, "link-used")


# ---------------------------------------------------------------- off duty, then waiting for GPS


def test_a_new_driver_goes_available_and_waits_for_gps(page: Page, login, stack, browser, customer):
    """A new driver opens /d off duty and taps to go available; until the phone's first position
    reaches dispatch the page says "Waiting for GPS" (no offers), then "Available" by itself.
    The offer then reads in the phone's own language: German here (the first test is in English)."""
    driver = stack.add_driver("Valentina Tereshkova", "+49 711 5550304", "S-HX 304", status="off_duty")
    login(page)
    link = create_link(page, driver.id)
    # Location allowed, but the phone has no position to give yet.
    with phone_context(
        browser, stack, permissions=["geolocation"], locale="de-DE", timezone_id="Europe/Berlin"
    ) as context:
        phone = context.new_page()
        sign_in(phone, link, driver.name)
        duty = phone.locator("#d-duty")
        status = duty.locator("#d-status")
        expect(status).to_have_text("Off duty")
        expect(duty).to_contain_text("You are off duty: no ride offers.")
        shots(phone, "off-duty")

        duty.get_by_role("button", name="Go available").tap()
        expect(status).to_have_text("Waiting for GPS")
        expect(status).to_have_class(re.compile(r"\bbadge-waiting\b"))
        expect(duty).to_contain_text("Waiting for your phone's position: ride offers come once it reaches dispatch.")
        expect(duty.get_by_role("button", name="Go off duty")).to_be_visible()
        view = driver_view(stack, driver.id)
        assert (view["status"], view["waiting_for_gps"]) == ("available", True)
        shots(phone, "waiting-for-gps")
        phone.reload()  # the page opens the same way
        expect(status).to_have_text("Waiting for GPS")

        # The phone finds itself: the position goes out, and the page turns Available by itself.
        context.set_geolocation({"latitude": STUTTGART[0], "longitude": STUTTGART[1], "accuracy": 9})
        wait_for_fix(phone, stack, driver, STUTTGART, timeout=15)
        expect(status).to_have_text("Available", timeout=10_000)
        expect(status).to_have_class(re.compile(r"\bbadge-available\b"))
        expect(duty).to_contain_text("Ride offers appear here")

        # An offer in German: the fare as "12,34 €", distances with a decimal comma.
        book(stack, customer, offset(STUTTGART, 500, 300), offset(STUTTGART, -3000, 2500), label="Schlossplatz")
        offer = phone.locator("#d-offer")
        expect(offer).to_be_visible(timeout=10_000)
        expect(offer.locator("#d-offer-price")).to_have_text(re.compile(r"^\d+,\d\d\s€$"))
        expect(offer.locator("#d-offer-eta")).to_have_text(re.compile(r"^about \d+\s+min$"))
        expect(offer.locator("#d-offer-trip")).to_have_text(re.compile(r"^about \d+,\d\s+km$"))
        expect(offer.locator("#d-offer-pickup-name")).to_have_text("Schlossplatz")
        # No place near the drop-off: its coordinates stand in for a name.
        dropoff = offset(STUTTGART, -3000, 2500)
        expect(offer.locator("#d-offer-dropoff-name")).to_be_hidden()
        expect(offer.locator("#d-offer-dropoff-coords")).to_have_text(f"{dropoff[0]:.5f}, {dropoff[1]:.5f}")
        expect(offer.locator("#d-offer-notes-row")).to_be_hidden()
        shots(phone, "offer-de")
        offer.get_by_role("button", name="Decline").tap()
        expect(offer).to_be_hidden()


# ---------------------------------------------------------------- map tiles


def tiles_at(tile_url: str, attribution: str):
    """/d as a server configured with MAP_TILE_URL=<tile_url> would send it."""

    def route_handler(route):
        response = route.fetch()
        body = response.text().replace('"tile_url": ""', f'"tile_url": "{tile_url}"')
        body = re.sub(r'"tile_attribution": "[^"]*"', f'"tile_attribution": "{attribution}"', body)
        host = "http://" + urlsplit(tile_url).netloc
        headers = dict(response.headers)
        headers["content-security-policy"] = headers["content-security-policy"].replace(
            "img-src 'self' data:", f"img-src 'self' data: {host}"
        )
        route.fulfill(response=response, body=body, headers=headers)

    return route_handler


# A 1×1 PNG: a tile server that answers.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8ffff3f0005fe02fe"
    "a7d6a4c20000000049454e44ae426082"
)


def test_the_map_says_when_tiles_cannot_load_and_credits_them_once_they_do(page: Page, login, stack, browser):
    driver = stack.add_driver("Hedy Lamarr", "+49 341 5550305", "L-HX 305")
    login(page)
    link = create_link(page, driver.id)
    geolocation = {"latitude": LEIPZIG[0], "longitude": LEIPZIG[1], "accuracy": 10}
    with phone_context(browser, stack, geolocation=geolocation, permissions=["geolocation"]) as context:
        phone = context.new_page()
        sign_in(phone, link, driver.name)
        wait_for_fix(phone, stack, driver, LEIPZIG)

        # Nothing listens there: one notice, dismissible, and no credit for tiles never shown.
        serve = {"page": tiles_at("http://127.0.0.1:9/{z}/{x}/{y}.png", "Tiles by Nobody")}
        phone.route(lambda url: urlsplit(url).path == "/d", lambda route: serve["page"](route))
        phone.reload()
        notice = phone.locator(".map-tiles-notice")
        expect(notice).to_have_text(
            re.compile(r"Map tiles can't be loaded from 127\.0\.0\.1:9\. Nearby places are shown by name instead\."),
            timeout=10_000,
        )
        expect(notice).to_have_count(1)
        expect(phone.locator(".leaflet-control-attribution")).not_to_contain_text("Tiles by Nobody")
        expect(phone.locator(".leaflet-control-attribution")).to_be_hidden()
        # It covers none of the map's controls.
        zoom = phone.locator(".leaflet-control-zoom").bounding_box()
        box = notice.bounding_box()
        assert box["x"] + box["width"] <= zoom["x"] or box["y"] >= zoom["y"] + zoom["height"], (box, zoom)
        shots(phone, "tiles-unreachable")
        notice.get_by_role("button", name="Dismiss the map tiles notice").tap()
        expect(notice).to_have_count(0)

        # A tile server that answers: its credit shows once a tile is in, and no notice.
        serve["page"] = tiles_at("http://127.0.0.1:7/{z}/{x}/{y}.png", "Tiles by Test")
        phone.route("http://127.0.0.1:7/**", lambda route: route.fulfill(body=PNG, content_type="image/png"))
        phone.reload()
        expect(phone.locator(".leaflet-control-attribution")).to_have_text("Tiles by Test", timeout=10_000)
        expect(phone.locator(".map-tiles-notice")).to_have_count(0)
