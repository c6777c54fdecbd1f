"""A dispatcher's shift in the control room: filter list and map together, follow a driver,
work by keyboard, notice an outage. Real stack, real browser.

The drivers here are set off duty when the module ends, so later modules' rides never
offer them a booking. Screenshots go to E2E_SHOTS (default e2e/artifacts/) as cr-*.png.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import ARTIFACTS
from playwright.sync_api import Page, expect
from test_control_room import CENTER, offset, wait_for_marker_at, wait_until_live

from hexfleet.devtools.testing import Relay

SHOTS = Path(os.environ.get("E2E_SHOTS", str(ARTIFACTS)))
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"cr-{name}.png"))


# Where the shift's drivers stand (metres north and east of CENTER).
PLACES = {"avail": (400, -400), "busy": (-400, 400), "other": (-350, -500)}


_LATEST_TS = [0.0]


def later(ts: float | None = None) -> float:
    """A device time after every fix this module sent (at least ``ts``, default now). Some scenes
    send fixes timed ahead of now (device times a minute apart); a fix sent after them with the
    clock's time would be out of order: kept in history, flagged, never shown live."""
    chosen = max(time.time() if ts is None else ts, _LATEST_TS[0] + 1)
    _LATEST_TS[0] = chosen
    return chosen


def keep_online(stack, shift, key: str) -> None:
    """A fresh fix where the driver stands: on a loaded machine this module outlasts STALE_AFTER_S
    (60 s) after the fixture's fixes, and a stale driver counts as neither busy nor available."""
    driver = shift[key]
    stack.ping(driver, *offset(*CENTER, *PLACES[key]), ts=later(), heading=90, speed_mps=5.0)
    deadline = time.monotonic() + 10
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {stack.staff_token}"}) as client:
        while not client.get(f"/api/v1/drivers/{driver.id}", timeout=5).json().get("online"):
            assert time.monotonic() < deadline, f"driver {driver.id} still not online"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def shift(stack):
    """Three drivers of our own, a few hundred metres apart: two available, one busy."""
    made = {
        "avail": stack.add_driver("Shift Avery Available", "+49 30 5551001", "SH-A 101"),
        "busy": stack.add_driver("Shift Bea Busy", "+49 30 5551002", "SH-B 202"),
        "other": stack.add_driver("Shift Cole Available", "+49 30 5551003", "SH-C 303"),
    }
    for key, driver in made.items():
        stack.ping(driver, *offset(*CENTER, *PLACES[key]), ts=later(), heading=90, speed_mps=5.0)
    stack.set_status(made["busy"], "busy")
    for key, driver in made.items():
        stack.wait_for_fix(driver, *offset(*CENTER, *PLACES[key]))
    yield made
    for driver in made.values():
        stack.set_status(driver, "off_duty")


def marker_visible(page: Page, driver_id: int) -> bool:
    return page.evaluate("id => window.hexfleetMap.visible(id)", driver_id)


def expect_markers(page: Page, shown: list[int], hidden: list[int]) -> None:
    for driver_id in shown:
        expect(page.locator(f'.hf-marker[data-driver-id="{driver_id}"]')).to_have_count(1)
    for driver_id in hidden:
        expect(page.locator(f'.hf-marker[data-driver-id="{driver_id}"]')).to_have_count(0)
    page.wait_for_function(
        "([shown, hidden]) => shown.every(id => window.hexfleetMap.visible(id))"
        " && !hidden.some(id => window.hexfleetMap.visible(id))",
        arg=[shown, hidden],
    )


def row(page: Page, driver_id: int):
    return page.locator(f'.driver-row[data-driver-id="{driver_id}"]')


def url_params(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def open_room(page: Page, login, path: str = "/") -> Page:
    login(page, next_path=path)
    wait_until_live(page)
    show_shift_area(page)
    return page


def show_shift_area(page: Page, zoom: int = 14) -> None:
    """Our drivers' streets, close enough that no marker is in a cluster (the whole session's
    fleet, fitted, may be clustered at a lower zoom)."""
    page.evaluate("([c, z]) => window.hexfleetMap.map.setView(c, z, {animate: false})", [list(CENTER), zoom])


# ---------------------------------------------------------------- 1. filter list and map together


def test_status_filter_and_search_filter_list_and_map(page: Page, login, shift):
    avail, busy, other = shift["avail"].id, shift["busy"].id, shift["other"].id
    open_room(page, login)
    expect_markers(page, [avail, busy, other], [])
    shot(page, "normal-1366x768")

    page.get_by_label("Show").select_option("busy")
    expect(row(page, busy)).to_be_visible()
    expect(row(page, avail)).to_have_count(0)
    expect(row(page, other)).to_have_count(0)
    expect_markers(page, [busy], [avail, other])
    assert url_params(page)["status"] == ["busy"]

    page.get_by_label("Show").select_option("")
    expect_markers(page, [avail, busy, other], [])

    # Searching a status word finds the drivers in that status: "available" is not a name.
    page.get_by_label("Filter drivers").fill("available")
    expect(row(page, busy)).to_have_count(0)
    expect(row(page, avail)).to_be_visible()
    expect_markers(page, [avail, other], [busy])

    # A plate narrows to one driver, on the map too.
    page.get_by_label("Filter drivers").fill("sh-c 3")
    expect(row(page, other)).to_be_visible()
    expect(row(page, avail)).to_have_count(0)
    expect_markers(page, [other], [avail, busy])
    assert url_params(page)["q"] == ["sh-c 3"]
    shot(page, "filtered-1366x768")

    page.get_by_label("Filter drivers").fill("")
    expect_markers(page, [avail, busy, other], [])
    assert "q" not in url_params(page)


def test_clicking_a_count_card_filters(page: Page, login, shift):
    avail, busy = shift["avail"].id, shift["busy"].id
    open_room(page, login)
    card = page.locator('#fleet-counts [data-filter="busy"]')
    expect(card).to_have_attribute("aria-pressed", "false")
    card.click()
    expect(card).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_label("Show")).to_have_value("busy")
    expect(row(page, avail)).to_have_count(0)
    expect(row(page, busy)).to_be_visible()
    expect_markers(page, [busy], [avail])
    # Every row left is busy, and the card stays pressed through the 3 s refresh.
    for badge in page.locator(".driver-row .row-badges .badge:first-child").all():
        expect(badge).to_have_text("Busy")
    page.wait_for_timeout(3500)
    expect(page.locator('#fleet-counts [data-filter="busy"]')).to_have_attribute("aria-pressed", "true")

    page.locator('#fleet-counts [data-filter="busy"]').click()  # again: everyone
    expect(page.locator('#fleet-counts [data-filter="busy"]')).to_have_attribute("aria-pressed", "false")
    expect(row(page, avail)).to_be_visible()
    expect_markers(page, [busy, avail], [])


def test_the_url_keeps_the_filter(page: Page, login, shift):
    avail, busy, other = shift["avail"].id, shift["busy"].id, shift["other"].id
    open_room(page, login)
    page.get_by_label("Filter drivers").fill("shift")
    page.get_by_label("Show").select_option("available")
    page.wait_for_function("() => location.search.includes('status=available') && location.search.includes('q=shift')")
    expect(row(page, busy)).to_have_count(0)

    page.reload()
    wait_until_live(page)
    show_shift_area(page)
    expect(page.get_by_label("Filter drivers")).to_have_value("shift")
    expect(page.get_by_label("Show")).to_have_value("available")
    expect(page.locator('#fleet-counts [data-filter="available"]')).to_have_attribute("aria-pressed", "true")
    expect(row(page, busy)).to_have_count(0)
    expect(row(page, avail)).to_be_visible()
    expect_markers(page, [avail, other], [busy])

    # A shared link shows the same view, with the driver it names open.
    page.goto(f"/?status=busy&driver={busy}")
    wait_until_live(page)
    show_shift_area(page)
    expect(row(page, avail)).to_have_count(0)
    expect_markers(page, [busy], [avail, other])
    expect(page.locator("#driver-detail").get_by_role("heading", name=shift["busy"].name)).to_be_visible()


# ---------------------------------------------------------------- 2. follow this driver


def test_follow_keeps_the_driver_in_view(page: Page, login, stack, shift):
    driver = shift["other"]
    open_room(page, login)
    row(page, driver.id).click()
    detail = page.locator("#driver-detail")
    expect(detail.get_by_role("heading", name=driver.name)).to_be_visible()
    follow = detail.get_by_role("button", name="Follow")
    follow.click()
    expect(follow).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#cr-toast")).to_contain_text("Following")

    # Far off the screen: 6 km east, then 3 km further north (device times a minute apart).
    lat, lng = offset(*CENTER, -350, -500)
    for north, east in ((0, 6000), (3000, 6000)):
        target = offset(lat, lng, north, east)
        stack.ping(driver, *target, ts=later(time.time() + north / 100))
        wait_for_marker_at(page, driver.id, *target, timeout=12_000)
        page.wait_for_timeout(1200)  # the pan follows the glide
        assert_in_view(page, driver.id)
    page.wait_for_timeout(3500)  # the detail card refreshes: the toggle stays on
    expect(detail.get_by_role("button", name="Follow")).to_have_attribute("aria-pressed", "true")
    shot(page, "detail-follow-1366x768")

    # Dragging the map is looking elsewhere: following stops, and the page says so.
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + 200, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 320, box["y"] + 380, steps=8)
    page.mouse.up()
    expect(detail.get_by_role("button", name="Follow")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#cr-toast")).to_contain_text("Stopped following")
    stack.ping(driver, *offset(lat, lng, 0, 0), ts=later(time.time() + 120))


def assert_in_view(page: Page, driver_id: int) -> None:
    """The marker is on the map and not under the detail card floating over it."""
    marker = page.locator(f'.hf-marker[data-driver-id="{driver_id}"]').bounding_box()
    area = page.locator("#map").bounding_box()
    assert marker is not None
    right = area["x"] + area["width"]
    card = page.locator("#detail").bounding_box()
    if card and card["x"] > area["x"] and card["x"] < right:
        right = card["x"]
    assert area["x"] <= marker["x"] and marker["x"] + marker["width"] <= right, (marker, area, card)
    assert area["y"] <= marker["y"] and marker["y"] + marker["height"] <= area["y"] + area["height"], (marker, area)


# ---------------------------------------------------------------- 3. keyboard


def test_enter_or_space_on_a_focused_marker_opens_the_driver(page: Page, login, shift):
    open_room(page, login)
    for key, driver in (("Enter", shift["avail"]), (" ", shift["busy"])):
        marker = page.locator(f'.hf-marker[data-driver-id="{driver.id}"]')
        marker.focus()
        expect(marker).to_be_focused()
        page.keyboard.press("Space" if key == " " else key)
        expect(page.locator("#driver-detail").get_by_role("heading", name=driver.name)).to_be_visible()


def test_skip_link_comes_first_and_reaches_the_list(page: Page, login, shift):
    open_room(page, login)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to driver list")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    focused = page.evaluate("document.activeElement.classList.contains('driver-row')")
    assert focused, page.evaluate("document.activeElement.outerHTML.slice(0, 200)")


def test_focus_stays_on_the_row_through_a_list_refresh(page: Page, login, shift, stack):
    driver, other = shift["busy"], shift["other"]
    open_room(page, login)
    page.evaluate(
        """() => {
             window.__listSwaps = 0;
             window.__listAnswers = [];
             const list = document.getElementById("driver-list");
             document.body.addEventListener("htmx:afterSwap", (e) => {
               if (e.detail.target === list) window.__listSwaps++;
             });
             document.body.addEventListener("htmx:afterRequest", (e) => {
               if (e.detail.elt === list) window.__listAnswers.push(e.detail.xhr.status);
             });
           }"""
    )
    row(page, driver.id).focus()
    # A fresh fix alone changes no row: the refresh is a 304 with nothing to swap, and the age
    # starts again from the stream. (Where the follow test left this driver, newer than its last
    # fix there, which it timestamped 120 s ahead.)
    stack.ping(other, *offset(*CENTER, -350, -500), ts=later(time.time() + 150), heading=90, speed_mps=5.0)
    expect(row(page, other.id).locator("time[data-format='ago']")).to_have_text(
        re.compile(r"^(just now|[0-2]\s+s ago)$")
    )
    page.wait_for_function("() => window.__listAnswers.includes(304)", timeout=10_000)
    assert page.evaluate("document.activeElement.dataset.driverId") == str(driver.id)
    # A status change is new rows, swapped in: focus stays on the same row...
    swaps = page.evaluate("window.__listSwaps")
    stack.set_status(other, "busy")
    expect(row(page, other.id).locator(".badge-busy")).to_have_count(1, timeout=10_000)
    assert page.evaluate("window.__listSwaps") > swaps
    assert page.evaluate("document.activeElement.dataset.driverId") == str(driver.id)
    # ...and on a count card.
    page.locator('#fleet-counts [data-filter="online"]').focus()
    stack.set_status(other, "available")
    expect(row(page, other.id).locator(".badge-available")).to_have_count(1, timeout=10_000)
    assert page.evaluate("document.activeElement.dataset.filter") == "online"


# ---------------------------------------------------------------- 4. an outage is unmistakable


class BackgroundRelay:
    """hexfleet.devtools.testing.Relay on a loop of its own, for sync tests: the browser reaches
    the web app through it, so cutting it is the server going away for this page only."""

    def __init__(self, port: int):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.relay = Relay("127.0.0.1", port)
        self.call(self.relay.start())
        self.url = f"http://127.0.0.1:{self.relay.port}"

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def cut(self):
        self.call(self.relay.cut())

    def restore(self):
        self.call(self.relay.start())

    def close(self):
        self.call(self.relay.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def relay(stack):
    background = BackgroundRelay(urlsplit(stack.base_url).port)
    yield background
    background.close()


def test_outage_banner_while_the_server_is_away(page: Page, stack, shift, relay):
    page.goto(f"{relay.url}/login?next=/")
    page.get_by_label("Email").fill(stack.dispatcher_email)
    page.get_by_label("Password").fill(stack.password)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Sign in").click()
    wait_until_live(page)
    show_shift_area(page)
    ago = row(page, shift["avail"].id).locator("time[data-format='ago']")
    expect(ago).to_have_count(1)
    expect(page.locator("#outage-banner")).to_be_empty()

    # Cut right after a list refresh, so no poll is in flight: the page must not poll while away.
    with page.expect_response(lambda r: "/ui/drivers?" in r.url):
        pass
    relay.cut()
    banner = page.get_by_role("alert")
    expect(banner).to_have_text("Connection lost — positions are not live. Reconnecting…", timeout=10_000)
    expect(page.locator("body")).to_have_class(re.compile(r"\bis-outage\b"))
    expect(page.locator("#live-indicator")).not_to_have_attribute("data-state", "live")
    # The ages keep counting from the stored times, though nothing is refreshed.
    first = ago.inner_text()
    page.wait_for_timeout(2200)
    assert ago.inner_text() != first, first
    shot(page, "outage-1366x768")

    relay.restore()
    wait_until_live(page)
    expect(page.locator("#outage-banner")).to_be_empty(timeout=10_000)
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bis-outage\b"))
    expect(page.locator("#cr-toast")).to_contain_text("Connection back")


# ---------------------------------------------------------------- 5. local times, UTC on hover


@pytest.mark.browser_context_args(timezone_id="Asia/Kolkata")  # UTC+5:30: even the minutes differ
def test_times_are_local_with_utc_on_hover(page: Page, login, shift):
    open_room(page, login)
    row(page, shift["avail"].id).click()
    clock = page.locator("#driver-detail time[data-format='time-seconds']")
    expect(clock).not_to_contain_text("UTC")
    at = datetime.fromisoformat(clock.get_attribute("datetime"))
    local = at.astimezone(ZoneInfo("Asia/Kolkata"))
    expect(clock).to_contain_text(f"{local:%M:%S}")
    assert f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" in clock.get_attribute("title")
    # The list's ages carry both on hover too.
    expect(row(page, shift["avail"].id).locator("time[data-format='ago']")).to_have_attribute(
        "title", re.compile(r"UTC$")
    )


# ---------------------------------------------------------------- 6. a phone


@pytest.mark.browser_context_args(**PHONE)
def test_phone_touch_targets_and_reachable_duty_buttons(page: Page, login, shift):
    open_room(page, login)
    small = page.evaluate(
        """() => {
             const sel = ".count, .driver-row, .sheet-handle, .hf-legend-toggle, .hf-tool, .leaflet-bar a, "
               + "#q, #status-filter, #sort-order, .panel-tab";
             return [...document.querySelectorAll(sel)]
               .filter(el => el.offsetParent !== null)
               .map(el => [el.className || el.id, el.getBoundingClientRect().height])
               .filter(([, h]) => h < 44);
           }"""
    )
    assert not small, small
    shot(page, "phone-390x844")

    # The legend opens from its button.
    page.get_by_role("button", name="Legend").tap()
    expect(page.locator("#hf-legend")).to_be_visible()
    expect(page.locator("#hf-legend")).to_contain_text("Needs attention")
    page.get_by_role("button", name="Legend").tap()
    expect(page.locator("#hf-legend")).to_be_hidden()

    driver = shift["other"]
    row(page, driver.id).tap()
    detail = page.locator("#driver-detail")
    expect(detail.get_by_role("heading", name=driver.name)).to_be_visible()
    for button in (detail.get_by_role("button", name="Busy"), detail.get_by_role("button", name="Follow")):
        button.scroll_into_view_if_needed()
        expect(button).to_be_in_viewport()
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box
    detail.get_by_role("button", name="Busy").tap()
    expect(detail.get_by_role("button", name="Busy")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f'.hf-marker[data-driver-id="{driver.id}"]')).to_have_class(re.compile("status-busy"))
    page.evaluate("document.getElementById('panel').scrollTop = 0")
    page.wait_for_timeout(300)
    shot(page, "phone-detail-390x844")
    detail.get_by_role("button", name="Available").tap()
    expect(detail.get_by_role("button", name="Available")).to_have_attribute("aria-pressed", "true")


# ---------------------------------------------------------------- 7. copy buttons


def test_copy_buttons_in_connect_a_phone(page: Page, login, shift):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_room(page, login)
    driver = shift["avail"]
    row(page, driver.id).click()
    connect = page.locator(f"#connect-{driver.id}")
    connect.get_by_text("Connect a phone").click()
    url = connect.locator("[data-field='traccar-url']")
    expect(url).to_be_visible()
    copy = connect.get_by_role("button", name="Copy server url")
    copy.click()
    expect(copy).to_have_text("Copied")
    expect(page.locator("#cr-toast")).to_have_text("Copied the server url.")
    assert page.evaluate("navigator.clipboard.readText()") == url.inner_text().strip()
    # A masked device id is no credential to copy: no button for it.
    expect(connect.locator("[data-field='traccar-id'] + .copy-btn")).to_have_count(0)


# ---------------------------------------------------------------- 8. tiles that cannot load


def test_unreachable_tiles_are_explained_once(page: Page, login, shift):
    tile_url = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # nothing listens on the discard port

    def with_tiles(route):
        # The page as a server configured with MAP_TILE_URL=<that> would send it.
        response = route.fetch()
        body = response.text().replace('data-tile-url=""', f'data-tile-url="{tile_url}"')
        headers = dict(response.headers)
        headers["content-security-policy"] = headers["content-security-policy"].replace(
            "img-src 'self' data:", "img-src 'self' data: http://127.0.0.1:9"
        )
        route.fulfill(response=response, body=body, headers=headers)

    login(page)
    # A fresh load (a route does not see the redirect after signing in).
    page.route(lambda url: urlsplit(url).path == "/", with_tiles)
    page.goto("/")
    wait_until_live(page)
    show_shift_area(page)
    expect(page.locator("#map")).to_have_attribute("data-tile-url", tile_url)
    notice = page.locator("#map-notice")
    expect(notice).to_have_text(
        re.compile(r"Map tiles can't be loaded from 127\.0\.0\.1:9\. Set MAP_TILE_URL to a tile server you can reach")
    )
    expect(notice).to_have_count(1)
    page.mouse.wheel(0, -400)  # more failing tiles: still one notice
    page.wait_for_timeout(500)
    expect(notice.locator("p")).to_have_count(1)
    shot(page, "tiles-1366x768")
    notice.get_by_role("button", name="Dismiss the map tiles notice").click()
    expect(notice).to_be_empty()


# ---------------------------------------------------------------- 9. drivers that need attention


def test_needs_attention_first(page: Page, login, stack, shift):
    driver = shift["busy"]
    keep_online(stack, shift, "busy")  # flagged, not stale: the "GPS check" badge
    # Stale drivers need attention too: the two the filter must leave out get a fresh fix.
    keep_online(stack, shift, "avail")
    keep_online(stack, shift, "other")
    # A fix far less accurate than the filter allows: kept out of the live view, flagged.
    stack.ping(driver, *offset(*CENTER, -400, 420), ts=later(), accuracy_m=900)
    open_room(page, login)
    page.get_by_label("Sort").select_option("attention")
    flagged = row(page, driver.id)
    expect(flagged).to_have_class(re.compile(r"\bneeds-attention\b"), timeout=10_000)
    expect(flagged.locator(".badge-flagged")).to_have_text("GPS check")
    # The page may show the flag before the list sorted by attention has arrived.
    expect(page.locator(".driver-row").first).to_have_class(re.compile(r"\bneeds-attention\b"))
    attention = page.evaluate(
        "[...document.querySelectorAll('.driver-row')].map(r => r.classList.contains('needs-attention'))"
    )
    assert attention[0] and attention == sorted(attention, reverse=True), attention
    expect(page.locator(f'.hf-marker[data-driver-id="{driver.id}"]')).to_have_class(re.compile(r"\bneeds-attention\b"))
    page.get_by_label("Show").select_option("attention")
    expect(row(page, shift["avail"].id)).to_have_count(0)
    expect_markers(page, [driver.id], [shift["avail"].id, shift["other"].id])
    shot(page, "attention-1366x768")


# ---------------------------------------------------------------- 10. names on demand


def test_drivers_cluster_below_street_zoom(page: Page, login, stack, shift):
    keep_online(stack, shift, "busy")  # the busy filter below shows online busy drivers
    open_room(page, login)
    ids = [d.id for d in shift.values()]
    show_shift_area(page, zoom=11)
    expect(page.locator(".hf-cluster").first).to_be_visible()
    for driver_id in ids:  # all three are within a few hundred metres: one cluster at a city's zoom
        expect(page.locator(f'.hf-marker[data-driver-id="{driver_id}"]')).to_have_count(0)
    shot(page, "clustered-1366x768")
    show_shift_area(page, zoom=14)
    for driver_id in ids:
        expect(page.locator(f'.hf-marker[data-driver-id="{driver_id}"]')).to_have_count(1)
    # A filter applies in either layer: the busy driver alone is left, unclustered or not.
    page.get_by_label("Show").select_option("busy")
    show_shift_area(page, zoom=11)
    show_shift_area(page, zoom=14)
    expect_markers(page, [shift["busy"].id], [shift["avail"].id, shift["other"].id])


def test_show_names(page: Page, login, shift):
    open_room(page, login)
    names = page.get_by_role("button", name="Show names")
    names.click()
    expect(names).to_have_attribute("aria-pressed", "true")
    label = page.locator(".hf-tooltip-name", has_text=shift["other"].name)
    expect(label).to_be_visible()
    expect(label).to_contain_text("SH-C 303")
    names.click()
    expect(page.locator(".hf-tooltip-name")).to_have_count(0)


# ---------------------------------------------------------------- 12. the detail pane leaves the list alone


def test_detail_pane_keeps_the_list_usable_at_1366x768(page: Page, login, shift):
    open_room(page, login)
    before = page.locator("#driver-list").bounding_box()
    row(page, shift["avail"].id).click()
    expect(page.locator("#driver-detail")).to_be_visible()
    after = page.locator("#driver-list").bounding_box()
    assert after["height"] >= before["height"] - 1 and after["height"] >= 300, (before, after)
    card = page.locator("#detail").bounding_box()
    panel = page.locator("#panel").bounding_box()
    assert card["x"] + card["width"] <= panel["x"], (card, panel)
    assert card["y"] + card["height"] <= 768


# ---------------------------------------------------------------- 11. smooth motion


def test_a_glide_lasts_the_interval_between_fixes(page: Page, login, stack, shift):
    driver = shift["avail"]
    open_room(page, login)
    start = offset(*CENTER, 400, -400)
    t0 = later()
    stack.ping(driver, *start, ts=t0)
    wait_for_marker_at(page, driver.id, *start, timeout=5000)
    page.evaluate(
        """([id, lng]) => {
             const m = window.hexfleetMap.markers.get(id);
             window.__glide = {left: null, arrived: null};
             const tick = (now) => {
               const x = m.getLatLng().lng;
               if (window.__glide.left === null && Math.abs(x - lng) > 1e-9) window.__glide.left = now;
               if (window.__glide.arrived === null && window.__glide.left !== null
                   && Math.abs(x - window.__target) < 1e-9) window.__glide.arrived = now;
               if (window.__glide.arrived === null) requestAnimationFrame(tick);
             };
             requestAnimationFrame(tick);
           }""",
        [driver.id, start[1]],
    )
    end = offset(*start, 0, 60)  # 60 m in the 3 s between the two fixes (device time)
    page.evaluate("lng => { window.__target = lng; }", end[1])
    stack.ping(driver, *end, ts=later(t0 + 3))
    page.wait_for_function("() => window.__glide.arrived !== null", timeout=8000)
    took = page.evaluate("window.__glide.arrived - window.__glide.left")
    assert 2500 <= took <= 3600, f"the glide took {took:.0f} ms for fixes 3 s apart"
