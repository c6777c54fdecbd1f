"""The dispatcher's control room in a real browser against the real stack."""

from __future__ import annotations

import math
import re
import time

import pytest
from conftest import ARTIFACTS
from playwright.sync_api import Page, expect

CENTER = (52.5200, 13.4050)
LIVE_DEADLINE_MS = 2000  # a ping must show on the map within this


def offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    return (
        lat + north_m / 111_320,
        lng + east_m / (111_320 * math.cos(math.radians(lat))),
    )


def wait_for_marker_at(page: Page, driver_id: int, lat: float, lng: float, timeout: float = LIVE_DEADLINE_MS):
    page.wait_for_function(
        """([id, lat, lng]) => {
             const m = window.hexfleetMap && window.hexfleetMap.markers.get(id);
             if (!m) return false;
             const p = m.getLatLng();
             return Math.abs(p.lat - lat) < 1e-6 && Math.abs(p.lng - lng) < 1e-6;
           }""",
        arg=[driver_id, lat, lng],
        timeout=timeout,
        polling="raf",
    )


def wait_until_live(page: Page):
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=10_000)


# ---------------------------------------------------------------- login


def test_anonymous_visitor_is_sent_to_login(page: Page):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_wrong_password_shows_a_readable_error(page: Page, login, stack):
    response_status = []
    page.on("response", lambda r: response_status.append(r.status) if r.url.endswith("/login") else None)
    login(page, password="not-the-password")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(stack.dispatcher_email)
    assert 400 in response_status
    assert "Traceback" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "login-error.png"))


def test_login_shows_the_control_room(page: Page, login, stack):
    login(page)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header")).to_contain_text(stack.dispatcher_email)
    expect(page.locator("#map.leaflet-container")).to_be_visible()
    expect(page.locator("#fleet-counts")).to_contain_text("Online")
    for driver in stack.drivers:
        expect(page.locator(f'.driver-row[data-driver-id="{driver.id}"]')).to_contain_text(driver.name)
    wait_until_live(page)


def test_login_never_redirects_off_site(page: Page, login):
    login(page, next_path="https://example.com/phish")
    expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))


def test_customer_gets_a_readable_403(page: Page, login, stack):
    login(page, email=stack.customer_email)
    expect(page.get_by_role("heading", name=re.compile("Not"))).to_be_visible()
    expect(page.locator("body")).to_contain_text(stack.customer_email)
    assert "Traceback" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "forbidden.png"))


def test_logout(page: Page, login):
    login(page)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


# ---------------------------------------------------------------- live map


def test_ping_shows_the_marker_and_it_moves(page: Page, login, stack):
    ada = stack.drivers[0]
    login(page)
    wait_until_live(page)

    lat, lng = offset(*CENTER, 120, -80)
    # Device times a minute apart: 400 m in one second would be (rightly) filtered as a jump.
    stack.ping(ada, lat, lng, ts=time.time() - 60, heading=90, speed_mps=8.3)
    wait_for_marker_at(page, ada.id, lat, lng)
    marker = page.locator(f'.hf-marker[data-driver-id="{ada.id}"]')
    expect(marker).to_be_visible()
    before = marker.bounding_box()

    lat2, lng2 = offset(lat, lng, 250, 300)  # ~400 m north-east
    sent = time.monotonic()
    stack.ping(ada, lat2, lng2, ts=time.time(), heading=45, speed_mps=9.0)
    wait_for_marker_at(page, ada.id, lat2, lng2)
    assert time.monotonic() - sent < LIVE_DEADLINE_MS / 1000 + 0.5
    after = marker.bounding_box()
    assert (after["x"], after["y"]) != (before["x"], before["y"])
    assert after["y"] < before["y"]  # moved north: up the screen
    assert after["x"] > before["x"]  # and east: to the right

    # The list catches up on its next poll: the driver is online.
    row = page.locator(f'.driver-row[data-driver-id="{ada.id}"]')
    expect(row).to_have_class(re.compile(r"\bis-online\b"), timeout=5000)
    expect(row).to_contain_text(re.compile(r"\d+\s+s ago|just now"))
    expect(page.locator('[data-count="online"]')).not_to_have_text("0", timeout=5000)


def test_marker_moves_smoothly_not_in_a_jump(page: Page, login, stack):
    grace = stack.drivers[1]
    lat, lng = offset(*CENTER, -200, 150)
    stack.ping(grace, lat, lng)
    stack.wait_for_fix(grace, lat, lng)
    login(page)
    wait_until_live(page)
    wait_for_marker_at(page, grace.id, lat, lng)

    lat2, lng2 = offset(lat, lng, 0, 500)
    # Sample the marker's longitude on every frame while it travels.
    page.evaluate(
        """id => {
             window.__samples = [];
             const m = window.hexfleetMap.markers.get(id);
             const tick = () => {
               window.__samples.push(m.getLatLng().lng);
               if (window.__samples.length < 600) requestAnimationFrame(tick);
             };
             requestAnimationFrame(tick);
           }""",
        grace.id,
    )
    stack.ping(grace, lat2, lng2)
    wait_for_marker_at(page, grace.id, lat2, lng2)
    samples = page.evaluate("window.__samples")
    between = [x for x in samples if lng + 1e-7 < x < lng2 - 1e-7]
    assert len(set(between)) >= 3, "the marker jumped instead of gliding"


def test_clicking_a_driver_opens_the_detail_pane_and_trail(page: Page, login, stack):
    ada = stack.drivers[0]
    lat, lng = offset(*CENTER, 300, 300)
    stack.ping(ada, lat, lng, speed_mps=10, heading=180, battery=76)
    stack.wait_for_fix(ada, lat, lng)
    login(page)
    wait_until_live(page)

    page.locator(f'.driver-row[data-driver-id="{ada.id}"]').click()
    detail = page.locator("#driver-detail")
    expect(detail).to_be_visible()
    expect(detail.get_by_role("heading", name=ada.name)).to_be_visible()
    expect(detail).to_contain_text(ada.phone)
    expect(detail).to_contain_text(ada.plate)
    expect(detail).to_contain_text("Available")
    expect(page.locator(f'.driver-row[data-driver-id="{ada.id}"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f'.hf-marker[data-driver-id="{ada.id}"]')).to_have_class(re.compile("is-selected"))

    # The trail is drawn, and grows with live positions.
    trail = page.locator("path.hf-trail")
    expect(trail).to_have_count(1)
    points_before = page.evaluate("document.querySelector('path.hf-trail').getAttribute('d').split('L').length")
    stack.ping(ada, *offset(lat, lng, 100, 0))
    page.wait_for_function(
        "n => document.querySelector('path.hf-trail').getAttribute('d').split('L').length > n",
        arg=points_before,
        timeout=LIVE_DEADLINE_MS,
    )

    page.get_by_role("button", name="Close driver details").click()
    expect(detail).to_have_count(0)
    expect(trail).to_have_count(0)


def test_clicking_a_marker_opens_the_detail_pane(page: Page, login, stack):
    grace = stack.drivers[1]
    lat, lng = offset(*CENTER, -300, -300)
    stack.ping(grace, lat, lng)
    stack.wait_for_fix(grace, lat, lng)
    login(page)
    wait_until_live(page)
    wait_for_marker_at(page, grace.id, lat, lng)
    page.locator(f'.hf-marker[data-driver-id="{grace.id}"]').click()
    expect(page.locator("#driver-detail").get_by_role("heading", name=grace.name)).to_be_visible()


def test_unknown_driver_detail_is_a_readable_404(page: Page, login):
    login(page)
    response = page.request.get("/ui/drivers/999999", headers={"HX-Request": "true"})
    assert response.status == 404
    assert "Driver not found" in response.text()


def test_filter_narrows_the_list(page: Page, login, stack):
    ada, grace = stack.drivers
    login(page)
    everyone = page.locator(".driver-row").count()
    assert everyone >= 2
    page.get_by_label("Filter drivers").fill("grace")
    expect(page.locator(f'.driver-row[data-driver-id="{ada.id}"]')).to_have_count(0)
    expect(page.locator(f'.driver-row[data-driver-id="{grace.id}"]')).to_be_visible()
    page.get_by_label("Filter drivers").fill("nobody-by-this-name")
    expect(page.locator("#driver-list")).to_contain_text("No drivers match")
    page.get_by_label("Filter drivers").fill("")
    expect(page.locator(".driver-row")).to_have_count(everyone)


# ---------------------------------------------------------------- layouts and screenshots


@pytest.fixture(scope="module")
def demo_fleet(stack):
    """A small, varied fleet for the screenshots: statuses, headings, a trail, one driver without a fix.

    Module-scoped and created last (only the screenshot tests use it), so the tests above
    see just the two drivers of the session.
    """
    ada, grace = stack.drivers
    now = time.time()
    # Katherine drove a dog-leg over the last two minutes: that is her trail.
    katherine = stack.add_driver("Katherine Johnson", "+49 30 5550101", "B-HX 303")
    legs = [(0, 0), (120, 0), (240, 40), (300, 160), (320, 300), (420, 380), (520, 420), (560, 560), (600, 700)]
    start = offset(*CENTER, -150, -1100)
    trail = [offset(*start, n, e) for n, e in legs]
    stack.ping_batch(katherine, [
        {"lat": lat, "lng": lng, "ts": now - 120 + i * 15, "speed_mps": 9.5, "heading": 50, "battery": 81}
        for i, (lat, lng) in enumerate(trail)
    ])  # fmt: skip
    stack.wait_for_fix(katherine, *trail[-1])
    others = [
        (ada, "available", 650, 450, 300),
        (grace, "busy", -500, 700, 200),
        (stack.add_driver("Alan Turing", "+49 30 5550102", "B-HX 404"), "busy", -250, -650, 110),
        (stack.add_driver("Margaret Hamilton", "+49 30 5550103", "B-HX 505"), "available", -900, -150, None),
        (stack.add_driver("Edsger Dijkstra", "+49 30 5550104", "B-HX 606"), "off_duty", 300, 1300, None),
        (stack.add_driver("Radia Perlman", "+49 30 5550105", "B-HX 707"), "busy", 1000, -300, 20),
    ]
    for driver, status, north, east, heading in others:
        lat, lng = offset(*CENTER, north, east)
        stack.ping(driver, lat, lng, heading=heading, speed_mps=7.0 if heading is not None else 0.0, battery=64)
        if status != "available":
            stack.set_status(driver, status)
    for driver, _, north, east, _ in others:
        stack.wait_for_fix(driver, *offset(*CENTER, north, east))
    stack.add_driver("Barbara Liskov", "+49 30 5550106", "B-HX 808")  # no position yet
    yield katherine
    stack.set_status(grace, "available")


def test_desktop_screenshot(page: Page, login, stack, demo_fleet):
    login(page)
    wait_until_live(page)
    expect(page.locator(".hf-marker")).to_have_count(7)
    page.screenshot(path=str(ARTIFACTS / "control-room-1366x768.png"))
    page.locator(f'.driver-row[data-driver-id="{demo_fleet.id}"]').click()
    expect(page.locator("#driver-detail")).to_contain_text(demo_fleet.name)
    expect(page.locator("path.hf-trail")).to_have_count(1)
    page.wait_for_timeout(600)  # let the pan animation settle for a clean picture
    page.screenshot(path=str(ARTIFACTS / "control-room-1366x768-detail.png"))


@pytest.mark.browser_context_args(
    viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
)
def test_phone_layout_keeps_map_and_list(page: Page, login, stack, demo_fleet):
    login(page)
    wait_until_live(page)
    map_box = page.locator("#map").bounding_box()
    panel_box = page.locator("#panel").bounding_box()
    assert map_box["width"] >= 380 and map_box["height"] >= 300
    # The sheet leaves at least the top half of the screen to the map...
    assert panel_box["y"] > 844 * 0.45
    expect(page.locator(".driver-row").first).to_be_in_viewport()
    # ...and the drivers are fitted into that visible part, not hidden under the sheet.
    for marker in page.locator(".hf-marker").all():
        box = marker.bounding_box()
        assert map_box["y"] <= box["y"] and box["y"] + box["height"] <= panel_box["y"], box
    page.screenshot(path=str(ARTIFACTS / "control-room-390x844.png"))

    page.locator(f'.driver-row[data-driver-id="{stack.drivers[1].id}"]').tap()
    expect(page.locator("#driver-detail")).to_be_in_viewport()
    page.wait_for_timeout(600)  # let the pan settle for a clean picture
    marker = page.locator(f'.hf-marker[data-driver-id="{stack.drivers[1].id}"]').bounding_box()
    assert marker["y"] + marker["height"] <= panel_box["y"]
    page.screenshot(path=str(ARTIFACTS / "control-room-390x844-detail.png"))

    page.get_by_role("button", name="Drivers").tap()
    expect(page.locator("#panel")).to_have_attribute("data-expanded", "true")
