"""The control room as a dispatcher meets it for the first time (issue "First impressions"): a
caller's places found by name, what an action did said at the top of the booking card, a driver's
card that a long name or the Follow note does not spoil, a phone where the map's controls never
lie over each other and an open card keeps the tabs, History one click away, a quiet console
while typing in the search, places by name on a map without tiles, and a readable warning when
no car of the class is near.

Everything happens around Hamburg and Bremen, far from the other browser tests' drivers, so
dispatch offers these rides to nobody else. Screenshots go to E2E_SHOTS (default /tmp/shots-disp).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import ARTIFACTS, PASSWORD, _cli, _cli_json
from playwright.sync_api import Page, expect
from test_control_room import offset, wait_until_live

SHOTS = Path(os.environ.get("E2E_SHOTS", "/tmp/shots-disp"))
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}

HAMBURG = (53.5511, 9.9937)
BREMEN = (53.0793, 8.8017)  # nobody drives here but this file's van
PLACES = {
    "Hamburg Hauptbahnhof": ("station", 53.5530, 10.0069, ["Hbf"]),
    "Elbphilharmonie": ("venue", 53.5413, 9.9841, []),
    "Hotel Atlantic Kempinski": ("hotel", 53.5571, 10.0051, ["Atlantic"]),
    "Asklepios Klinik St. Georg": ("hospital", 53.5567, 10.0196, []),
}
ADMIN = "first-look-admin@e2e.test"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    shutil.copy(path, ARTIFACTS / path.name)


def show(page: Page, where: tuple[float, float], zoom: int = 14) -> None:
    page.evaluate("([c, z]) => window.hexfleetMap.map.setView(c, z, {animate: false})", [list(where), zoom])


def boxes_overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def api(stack, token: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=stack.base_url, headers={"Authorization": f"Bearer {token or stack.staff_token}"}, timeout=10
    )


@pytest.fixture(scope="module")
def admin(stack) -> dict:
    return _cli_json(stack.env, "users", "add", "--email", ADMIN, "--password", PASSWORD, "--role", "admin")


@pytest.fixture(scope="module")
def places(stack, admin) -> dict[str, int]:
    """The operator's own places in Hamburg (the admin API, as /admin/places would)."""
    made = {}
    with api(stack, admin["token"]) as client:
        for name, (category, lat, lng, aliases) in PLACES.items():
            answer = client.post(
                "/api/v1/places", json={"name": name, "category": category, "lat": lat, "lng": lng, "aliases": aliases}
            )
            assert answer.status_code == 201, answer.text
            made[name] = answer.json()["id"]
    return made


@pytest.fixture(scope="module")
def hamburg_drivers(stack):
    """Two drivers a few hundred metres from the Hauptbahnhof; off duty when the module ends."""
    station = PLACES["Hamburg Hauptbahnhof"][1:3]
    made = [
        (stack.add_driver("Ann Lee", "+49 40 5550101", "B-HF 1"), offset(*station, 200, 0)),
        (stack.add_driver("Ben Ode", "+49 40 5550102", "B-HF 2"), offset(*station, -350, 150)),
    ]
    for driver, where in made:
        stack.ping(driver, *where)
    for driver, where in made:
        stack.wait_for_fix(driver, *where)
    yield [driver for driver, _ in made]
    for driver, _ in made:
        stack.set_status(driver, "off_duty")


def keep_fresh(stack, drivers) -> None:
    """A fresh fix where each stands (a loaded machine may outlast STALE_AFTER_S within the module)."""
    station = PLACES["Hamburg Hauptbahnhof"][1:3]
    for driver, where in zip(drivers, (offset(*station, 200, 0), offset(*station, -350, 150)), strict=True):
        stack.ping(driver, *where)
        stack.wait_for_fix(driver, *where)


def open_bookings(page: Page, login, where=HAMBURG) -> None:
    login(page)
    wait_until_live(page)
    show(page, where)
    page.get_by_role("tab", name="Bookings").click()
    expect(page.locator("#booking-queue-body")).to_be_visible()


def cancel_booking(stack, booking_id: int) -> None:
    with api(stack) as client:
        client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "test over"})


# ---------------------------------------------------------------- 1. places by name in a phone booking


def test_a_caller_s_places_are_found_by_name(page: Page, login, stack, places, hamburg_drivers):
    open_bookings(page, login)
    page.get_by_role("button", name="New booking for a caller").click()
    form = page.locator("#phone-booking-form")
    form.get_by_label("Passenger").fill("Clara Caller")
    form.get_by_label("Phone").fill("+49 40 5550199")

    # Part of a name; the results say what each place is and how far it is; the keyboard picks.
    pickup = form.get_by_role("combobox", name="Pickup")
    pickup.fill("hauptbahn")
    options = page.locator("#pb-pickup-options")
    expect(options.get_by_role("option").first).to_contain_text("Hamburg Hauptbahnhof")
    expect(options.get_by_role("option").first).to_contain_text(re.compile(r"Station · [\d.,]+\s*(m|km)"))
    shot(page, "disp-place-search-1366x768")
    pickup.press("ArrowDown")
    expect(options.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    pickup.press("Enter")
    expect(pickup).to_have_value("Hamburg Hauptbahnhof")
    expect(form.locator("input[name=pickup_label]")).to_have_value("Hamburg Hauptbahnhof")
    expect(form.locator("input[name=pickup_lat]")).to_have_value(re.compile(r"^53\.553"))
    expect(page.locator(".hf-pin-pickup")).to_have_count(1)

    # The drop-off box has the focus now; a misspelt name is found too, and a click picks.
    dropoff = form.get_by_role("combobox", name="Drop-off")
    expect(dropoff).to_be_focused()
    dropoff.press_sequentially("Elbfilharmonie", delay=20)
    page.locator("#pb-dropoff-options").get_by_role("option", name=re.compile("Elbphilharmonie")).click()
    expect(dropoff).to_have_value("Elbphilharmonie")
    form.get_by_label("When").select_option("later")  # booked ahead: no automatic offer meanwhile
    in_two_hours = datetime.now() + timedelta(hours=2)
    form.get_by_label("Pickup time (your time zone)").fill(in_two_hours.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Notes for the driver").fill("Wheelchair; meet at the north entrance")
    shot(page, "disp-phone-booking-1366x768")
    form.get_by_role("button", name="Get the price").click()

    # The price names both ends; the coordinates are on hover, and on a tap.
    card = page.locator("#booking-detail")
    expect(card.locator(".quote-price")).to_contain_text("€")
    from_place = card.locator(".place-fact").first.get_by_role("button")
    expect(from_place).to_have_text("Hamburg Hauptbahnhof")
    expect(from_place).to_have_attribute("title", re.compile(r"^53\.55300, 10\.00690"))
    from_place.click()
    expect(from_place).to_have_text("53.55300, 10.00690")
    expect(from_place).to_have_attribute("aria-pressed", "true")
    from_place.click()
    expect(from_place).to_have_text("Hamburg Hauptbahnhof")
    expect(card.locator(".place-fact").nth(1)).to_have_text("Elbphilharmonie")
    card.get_by_role("button", name="Book it").click()

    expect(card.locator(".card-outcome")).to_contain_text("for Clara Caller")
    booking_id = int(card.get_attribute("data-booking-id"))
    pickup_fact = card.locator("dd.place-fact").first.get_by_role("button")
    expect(pickup_fact).to_have_text("Hamburg Hauptbahnhof")
    expect(pickup_fact).to_have_attribute("title", re.compile(r"^53\.55300, 10\.00690"))
    expect(card.locator(".driver-note")).to_contain_text("Wheelchair; meet at the north entrance")
    # The queue says where from and to; the coordinates in the title.
    row = page.locator(f'.booking-row[data-booking-id="{booking_id}"]')
    expect(row.locator(".row-route")).to_have_text(re.compile(r"Hamburg Hauptbahnhof\s*→\s*to\s*Elbphilharmonie"))
    expect(row.locator(".place-name").first).to_have_attribute("title", "53.55300, 10.00690")
    with api(stack) as client:
        booked = client.get(f"/api/v1/bookings/{booking_id}").json()
    assert booked["pickup"]["label"] == "Hamburg Hauptbahnhof" and booked["dropoff"]["label"] == "Elbphilharmonie"
    page.wait_for_timeout(400)
    shot(page, "disp-booking-card-1366x768")
    cancel_booking(stack, booking_id)


def test_coordinates_and_the_map_still_set_the_ends(page: Page, login, stack, places):
    open_bookings(page, login)
    page.get_by_role("button", name="New booking for a caller").click()
    form = page.locator("#phone-booking-form")
    form.get_by_label("Passenger").fill("Max Mapclick")
    form.get_by_label("Phone").fill("+49 40 5550198")
    # A new form picks the pickup on the next click of the map: a point ~60 m from the station
    # (the map's centre; 40 px at zoom 16).
    show(page, PLACES["Hamburg Hauptbahnhof"][1:3], zoom=16)
    area = page.locator("#map").bounding_box()
    page.locator("#map").click(position={"x": area["width"] / 2 - 40, "y": area["height"] / 2})
    pickup = form.get_by_role("combobox", name="Pickup")
    expect(pickup).to_have_value(re.compile(r"^53\.5\d+, 10\.0\d+$"))
    expect(form.locator("[data-point-note=pickup]")).to_contain_text(re.compile(r"Near Hamburg Hauptbahnhof \("))
    expect(form.locator("input[name=pickup_label]")).to_have_value("")
    # Coordinates typed into the box.
    lat, lng = PLACES["Elbphilharmonie"][1:3]
    form.get_by_role("combobox", name="Drop-off").fill(f"{lat}, {lng}")
    expect(form.locator("input[name=dropoff_lat]")).to_have_value(f"{lat:.6f}")
    expect(page.locator(".hf-pin-dropoff")).to_have_count(1)
    expect(page.locator("#pb-dropoff-options")).to_be_hidden()  # coordinates are not a search
    form.get_by_label("When").select_option("later")
    form.get_by_label("Pickup time (your time zone)").fill(
        (datetime.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    )
    form.get_by_role("button", name="Get the price").click()
    card = page.locator("#booking-detail")
    # No name was chosen: the server names the ends after the nearest place.
    expect(card.locator(".place-fact").first).to_contain_text(re.compile(r"^Hamburg Hauptbahnhof(, \d+ m)?$"))
    expect(card.locator(".place-fact").nth(1)).to_have_text("Elbphilharmonie")
    # Back to the form: what was chosen is still there.
    card.get_by_role("button", name="Change").click()
    expect(form.get_by_role("combobox", name="Drop-off")).to_have_value(re.compile(r"^53\.54130*, 9\.98410*$"))
    expect(form.locator("input[name=pickup_lat]")).not_to_have_value("")
    # A name typed but not chosen is refused at the box, before any request.
    form.get_by_role("combobox", name="Drop-off").fill("Somewhere nice")
    form.get_by_role("button", name="Get the price").click()
    message = form.get_by_role("combobox", name="Drop-off").evaluate("el => el.validationMessage")
    assert message.startswith("Choose the drop-off from the places found"), message
    expect(page.locator(".quote-price")).to_have_count(0)


# ---------------------------------------------------------------- 2. what an action did, at the top


def test_assign_reassign_cancel_and_restart_say_what_they_did(page: Page, login, stack, places, hamburg_drivers):
    ann, ben = hamburg_drivers
    keep_fresh(stack, hamburg_drivers)
    station = PLACES["Hamburg Hauptbahnhof"][1:3]
    with api(stack) as client:
        when = (datetime.now().astimezone() + timedelta(hours=3)).isoformat()
        quote = client.post(
            "/api/v1/quotes",
            json={"pickup": {"lat": station[0], "lng": station[1], "label": "Hamburg Hauptbahnhof"},
                  "dropoff": {"lat": 53.5413, "lng": 9.9841}, "pickup_at": when},
        )  # fmt: skip
        assert quote.status_code == 201, quote.text
        booked = client.post(
            "/api/v1/bookings",
            json={"quote_id": quote.json()["quote_id"], "scheduled_for": when,
                  "passenger": {"name": "Dora Dispatch", "phone": "+49 40 5550177"}},
        )  # fmt: skip
        assert booked.status_code == 201, booked.text
    booking_id = booked.json()["id"]
    open_bookings(page, login)
    page.locator(f'.booking-row[data-booking-id="{booking_id}"]').click()
    card = page.locator("#booking-detail")
    assign = card.locator(f'[data-assign="{ann.id}"]')
    expect(assign).to_have_text("Assign")
    assign_box = assign.bounding_box()
    assign.click()

    outcome = card.locator(".card-outcome")
    expect(outcome).to_have_text("Assigned to Ann Lee (B-HF 1).")
    expect(outcome).to_be_in_viewport()
    expect(outcome).to_be_focused()
    # Nothing to give the ride away with is left under the pointer: the list is folded.
    expect(card.get_by_role("button", name="Reassign")).to_have_count(0)
    expect(card.locator(".reassign")).not_to_have_attribute("open", "")
    under = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.closest('[data-assign]') ? 'reassign' : 'ok'",
        [assign_box["x"] + assign_box["width"] / 2, assign_box["y"] + assign_box["height"] / 2],
    )
    assert under == "ok"
    # A change made elsewhere refreshes the card live: what the dispatcher did stays its first line.
    with api(stack) as client:
        assert client.post(f"/api/v1/bookings/{booking_id}/tracking-link").status_code == 201
    expect(card.locator(".timeline")).to_contain_text("new tracking link", timeout=10_000)
    expect(outcome).to_have_text("Assigned to Ann Lee (B-HF 1).")
    shot(page, "disp-assigned-1366x768")

    # Reassigning asks first; saying no changes nothing.
    card.locator(".reassign > summary").click()
    asked = []

    def refuse(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", refuse)
    card.locator(f'[data-assign="{ben.id}"]').click()
    expect(card.locator(f'[data-assign="{ben.id}"]')).to_be_visible()
    assert asked == [f"Give booking #{booking_id} to Ben Ode instead of Ann Lee?"], asked
    with api(stack) as client:
        assert client.get(f"/api/v1/bookings/{booking_id}").json()["driver_id"] == ann.id
    page.once("dialog", lambda dialog: dialog.accept())
    card.locator(f'[data-assign="{ben.id}"]').click()
    expect(outcome).to_have_text("Reassigned to Ben Ode (B-HF 2) (was Ann Lee).")
    expect(outcome).to_be_in_viewport()

    card.get_by_placeholder("Reason (told to the rider)").fill("Caller rang back")
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Cancel booking").click()
    expect(outcome).to_have_text(f"Booking #{booking_id} cancelled: Caller rang back.")
    expect(outcome).to_be_in_viewport()
    with api(stack) as client:
        assert client.get(f"/api/v1/drivers/{ben.id}").json()["status"] == "available"

    # A scheduled ride sent to dispatch early says so too (far from any driver: nobody is asked).
    far = offset(*BREMEN, 3000, 3000)
    with api(stack) as client:
        when = (datetime.now().astimezone() + timedelta(hours=3)).isoformat()
        quote = client.post(
            "/api/v1/quotes",
            json={"pickup": {"lat": far[0], "lng": far[1]}, "dropoff": {"lat": BREMEN[0], "lng": BREMEN[1]},
                  "pickup_at": when},
        ).json()  # fmt: skip
        later = client.post(
            "/api/v1/bookings",
            json={"quote_id": quote["quote_id"], "scheduled_for": when,
                  "passenger": {"name": "Eve Early", "phone": "+49 421 5550100"}},
        ).json()  # fmt: skip
    page.locator(f'.booking-row[data-booking-id="{later["id"]}"]').click()
    expect(card).to_have_attribute("data-booking-id", str(later["id"]))
    card.get_by_role("button", name="Find a driver automatically").click()
    expect(outcome).to_have_text("Dispatch restarted: looking for a driver again.")
    cancel_booking(stack, later["id"])


# ---------------------------------------------------------------- 3. the driver's card


def test_the_follow_note_and_a_long_name_leave_the_card_readable(page: Page, login, stack):
    name = "Maximiliane Alexandra von Hohenzollern-Sigmaringen"
    driver = stack.add_driver(name, "+49 40 5550303", "HH-LN 303")
    where = offset(*HAMBURG, -900, -900)
    stack.ping(driver, *where)
    stack.wait_for_fix(driver, *where)
    try:
        login(page)
        wait_until_live(page)
        show(page, where)
        page.locator(f'.driver-row[data-driver-id="{driver.id}"]').click()
        card = page.locator("#driver-detail")
        title = card.get_by_role("heading", name=name)
        expect(title).to_have_attribute("title", name)
        # At most two lines, beside the close button only; the tools have their own row.
        lines = title.evaluate("el => el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)")
        assert lines <= 2.05, lines
        tools = card.locator(".detail-tools").bounding_box()
        assert title.bounding_box()["y"] + title.bounding_box()["height"] <= tools["y"]
        card.get_by_role("button", name="Follow").click()
        toast = page.locator("#cr-toast")
        expect(toast).to_contain_text("Following " + name)
        assert not boxes_overlap(toast.bounding_box(), page.locator("#detail").bounding_box())
        shot(page, "disp-follow-long-name-1366x768")
    finally:
        stack.set_status(driver, "off_duty")


# ---------------------------------------------------------------- 4. a phone


def unreachable_tiles(page: Page) -> None:
    """The page as a server with MAP_TILE_URL set to a tile server nobody answers would send it."""
    tile_url = "http://127.0.0.1:9/{z}/{x}/{y}.png"

    def with_tiles(route):
        response = route.fetch()
        body = response.text().replace('data-tile-url=""', f'data-tile-url="{tile_url}"')
        headers = dict(response.headers)
        headers["content-security-policy"] = headers["content-security-policy"].replace(
            "img-src 'self' data:", "img-src 'self' data: http://127.0.0.1:9"
        )
        route.fulfill(response=response, body=body, headers=headers)

    page.route(lambda url: urlsplit(url).path == "/", with_tiles)


MAP_CONTROLS = {
    "zoom": ".leaflet-control-zoom",
    "names": ".hf-map-tools",
    "surge": ".hf-layer-control",
    "legend": ".hf-legend-box",
    "tiles notice": ".map-tiles-notice",
    "scale": ".leaflet-control-scale",
}


def control_boxes(page: Page) -> dict[str, dict]:
    found = {}
    for name, selector in MAP_CONTROLS.items():
        element = page.locator(selector)
        if element.count() and element.first.is_visible():
            found[name] = element.first.bounding_box()
    return found


def assert_apart(boxes: dict[str, dict]) -> None:
    names = sorted(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not boxes_overlap(boxes[a], boxes[b]), f"{a} {boxes[a]} overlaps {b} {boxes[b]}"


@pytest.mark.browser_context_args(**PHONE)
def test_on_a_phone_the_map_controls_never_overlap(page: Page, login, stack):
    login(page)
    unreachable_tiles(page)
    page.goto("/")
    wait_until_live(page)
    notice = page.locator(".map-tiles-notice")
    expect(notice).to_contain_text("Map tiles can't be loaded from 127.0.0.1:9", timeout=10_000)
    page.locator("#surge-toggle").check()
    expect(page.locator(".hf-surge-legend")).to_be_visible()
    page.get_by_role("button", name="Legend").tap()
    expect(page.locator("#hf-legend")).to_be_visible()
    boxes = control_boxes(page)
    assert set(boxes) == set(MAP_CONTROLS), boxes
    assert_apart(boxes)
    sheet = page.locator("#panel").bounding_box()
    for name, box in boxes.items():
        assert box["y"] + box["height"] <= sheet["y"], f"{name} is under the sheet: {box} {sheet}"
    shot(page, "disp-phone-controls-390x844")

    # The raised sheet leaves a strip of map: what is left there still does not overlap.
    page.get_by_role("button", name="Drivers").first.tap()
    expect(page.locator("#panel")).to_have_attribute("data-expanded", "true")
    page.wait_for_timeout(400)
    assert_apart(control_boxes(page))
    page.locator("#sheet-handle").tap()
    expect(page.locator("#panel")).to_have_attribute("data-expanded", "false")

    # The notice goes when dismissed, and its button is a comfortable tap.
    close = page.get_by_role("button", name="Dismiss the map tiles notice")
    box = close.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44, box
    close.tap()
    expect(notice).to_have_count(0)


@pytest.mark.browser_context_args(**PHONE)
def test_on_a_phone_an_open_booking_card_keeps_the_tabs(page: Page, login, stack, places):
    login(page)
    wait_until_live(page)
    show(page, HAMBURG)
    page.get_by_role("tab", name="Bookings").tap()
    page.get_by_role("button", name="New booking for a caller").tap()
    form = page.locator("#phone-booking-form")
    expect(form).to_be_visible()
    # A place by another of its names; the results fit the screen and a tap picks one.
    pickup = form.get_by_role("combobox", name="Pickup")
    pickup.tap()
    pickup.fill("Hbf")
    option = page.locator("#pb-pickup-options").get_by_role("option", name=re.compile("Hamburg Hauptbahnhof"))
    expect(option).to_be_in_viewport(ratio=1)
    assert option.bounding_box()["height"] >= 44
    shot(page, "disp-phone-place-search-390x844")
    option.tap()
    expect(pickup).to_have_value("Hamburg Hauptbahnhof")
    form.get_by_role("button", name="Get the price").scroll_into_view_if_needed()
    drivers_tab = page.get_by_role("tab", name="Drivers")
    expect(drivers_tab).to_be_in_viewport()
    box = drivers_tab.bounding_box()
    on_top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('[role=tab]')?.id || null",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert on_top == "tab-drivers", on_top
    shot(page, "disp-phone-booking-390x844")
    drivers_tab.tap()
    expect(page.locator("#pane-drivers")).to_be_visible()
    page.get_by_role("tab", name="Bookings").tap()
    expect(form).to_be_visible()  # the form is where it was left


# ---------------------------------------------------------------- 5. History in the header


def test_history_is_one_link_away_for_staff(page: Page, login, stack, admin):
    login(page)
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link", name="Control room")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Fleet admin")).to_have_count(0)  # dispatchers have no admin
    # By keyboard: a few tabs from the top of the page.
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "History":
            break
    history = nav.get_by_role("link", name="History")
    expect(history).to_be_focused()
    shot(page, "disp-header-1366x768")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/history$"))
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link", name="History")).to_have_attribute("aria-current", "page")
    nav.get_by_role("link", name="Control room").click()
    expect(page).to_have_url(re.compile(r"/$"))

    page.get_by_role("button", name="Log out").click()
    login(page, email=ADMIN)
    expect(page.get_by_role("navigation", name="Sections").get_by_role("link", name="Fleet admin")).to_be_visible()


@pytest.mark.browser_context_args(**PHONE)
def test_the_header_fits_a_phone(page: Page, login, stack, admin):
    login(page, email=ADMIN)
    wait_until_live(page)
    header = page.locator("header.topbar")
    # One line: every item of the bar inside the screen, none over another.
    items = {
        "brand": header.locator(".brand"),
        "live": page.locator("#live-indicator"),
        "sections": header.locator(".staff-menu > summary"),
        "account": header.get_by_role("link", name=re.compile("^Your account")),
        "log out": header.get_by_role("button", name="Log out"),
    }
    boxes = {name: item.bounding_box() for name, item in items.items()}
    bar = header.bounding_box()
    for name, box in boxes.items():
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
        assert bar["y"] <= box["y"] and box["y"] + box["height"] <= bar["y"] + bar["height"] + 0.5, (name, box, bar)
    assert_apart(boxes)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    menu = items["sections"]
    expect(menu).to_have_text("Sections: Control room")
    assert boxes["sections"]["height"] >= 44
    menu.tap()
    nav = page.get_by_role("navigation", name="Sections")
    for name in ("Control room", "History", "Fleet admin"):
        link = nav.get_by_role("link", name=name)
        expect(link).to_be_in_viewport(ratio=1)
        assert link.bounding_box()["height"] >= 44
    expect(nav.get_by_role("link", name="Control room")).to_have_attribute("aria-current", "page")
    shot(page, "disp-header-390x844")
    nav.get_by_role("link", name="History").tap()
    expect(page).to_have_url(re.compile(r"/history$"))
    page.wait_for_load_state("load")  # its stylesheets too
    expect(page.locator(".staff-menu > summary")).to_have_text("Sections: History")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_riders_have_no_staff_sections(page: Page, login, stack):
    login(page, email=stack.customer_email, next_path="/rides")
    expect(page.get_by_role("link", name="My rides")).to_be_visible()
    expect(page.get_by_role("navigation", name="Sections")).to_have_count(0)


# ---------------------------------------------------------------- 6. a quiet console while typing


def test_typing_fast_in_the_driver_search_logs_no_errors(page: Page, login, stack):
    messages = []
    page.on("console", lambda message: messages.append((message.type, message.text)))
    login(page)
    wait_until_live(page)
    # A slow network, as on a busy shift: each pause in the typing asks for the list while the
    # last answer is still on its way.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 400, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    search = page.get_by_label("Filter drivers")
    for word in ("ada", "grace", "nobody", "hopper"):
        search.fill("")
        search.press_sequentially(word, delay=300)
    ada, grace = stack.drivers
    expect(page.locator(f'.driver-row[data-driver-id="{grace.id}"]')).to_be_visible(timeout=10_000)
    expect(page.locator(f'.driver-row[data-driver-id="{ada.id}"]')).to_have_count(0)
    page.wait_for_timeout(1000)
    errors = [text for kind, text in messages if kind == "error"]
    assert not errors, errors


# ---------------------------------------------------------------- 7. a map without tiles


def test_without_tiles_the_map_shows_places_by_name(page: Page, login, stack, places):
    login(page)
    wait_until_live(page)
    show(page, HAMBURG, zoom=14)
    label = page.locator(".place-point-label", has_text="Elbphilharmonie")
    # Drawn again for where the map now is (the labels of the last drawing fade out for 200 ms).
    expect(label).to_have_count(1, timeout=10_000)
    expect(label).to_be_visible()
    expect(page.locator(".place-point-label", has_text="Hamburg Hauptbahnhof")).to_be_visible()
    box = label.bounding_box()
    area = page.locator("#map").bounding_box()
    assert area["x"] <= box["x"] and box["x"] + box["width"] <= area["x"] + area["width"]
    shot(page, "disp-places-no-tiles-1366x768")


# ---------------------------------------------------------------- 8. no car of the class near


@pytest.fixture(scope="module")
def bremen_van(stack):
    """A van (and its fare) near Bremen, and no car of any other class there."""
    _cli(stack.env, "fares", "set", "van", "--currency", "EUR", "--base", "4.00", "--per-km", "1.90",
         "--per-minute", "0.40", "--booking-fee", "1.00", "--minimum", "10.00")  # fmt: skip
    made = _cli_json(
        stack.env, "drivers", "add", "--name", "Vera Van", "--vehicle-plate", "HB-V 1", "--vehicle-class", "van"
    )
    from conftest import Driver

    van = Driver(made["id"], made["name"], made["token"], made["device_id"], None, "HB-V 1")
    stack.set_status(van, "available")
    where = offset(*BREMEN, 300, 0)
    stack.ping(van, *where)
    stack.wait_for_fix(van, *where)
    yield van
    stack.set_status(van, "off_duty")


def price_in_bremen(page: Page, login) -> None:
    open_bookings(page, login, where=BREMEN)
    page.get_by_role("button", name="New booking for a caller").click()
    form = page.locator("#phone-booking-form")
    form.get_by_label("Passenger").fill("Nora Nobody")
    form.get_by_label("Phone").fill("+49 421 5550111")
    form.get_by_role("combobox", name="Pickup").fill(f"{BREMEN[0]}, {BREMEN[1]}")
    there = offset(*BREMEN, 2000, 1500)
    form.get_by_role("combobox", name="Drop-off").fill(f"{there[0]:.5f}, {there[1]:.5f}")
    form.get_by_role("button", name="Get the price").click()


def test_no_car_of_the_class_near_is_said_first_and_another_class_is_one_click(page: Page, login, stack, bremen_van):
    price_in_bremen(page, login)
    card = page.locator("#booking-detail")
    warning = card.get_by_role("alert")
    expect(warning).to_contain_text("No standard car is near: dispatch will keep looking for 5 minutes.")
    expect(warning).to_contain_text("Near the pickup now:")
    # Read before the price, and the button says what booking anyway means.
    assert warning.bounding_box()["y"] < card.locator(".quote-price").bounding_box()["y"]
    expect(card.get_by_role("button", name="Book anyway: keep looking 5 min")).to_be_visible()
    shot(page, "disp-no-driver-near-1366x768")
    warning.get_by_role("button", name="Price a van instead").click()
    expect(card.locator(".quote-class")).to_have_text("van")
    expect(card.get_by_role("alert")).to_have_count(0)
    expect(card.get_by_role("button", name="Book it")).to_be_visible()
    card.get_by_role("button", name="Change").click()
    expect(page.locator("#phone-booking-form").get_by_label("Vehicle")).to_have_value("van")


@pytest.mark.browser_context_args(**PHONE)
def test_no_car_near_reads_well_on_a_phone(page: Page, login, stack, bremen_van):
    price_in_bremen(page, login)
    card = page.locator("#booking-detail")
    warning = card.get_by_role("alert")
    expect(warning).to_contain_text("No standard car is near")
    warning.scroll_into_view_if_needed()
    expect(warning).to_be_in_viewport(ratio=1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    book = card.get_by_role("button", name="Book anyway: keep looking 5 min")
    book.scroll_into_view_if_needed()
    assert book.bounding_box()["height"] >= 44
    warning.scroll_into_view_if_needed()
    time.sleep(0.3)
    shot(page, "disp-no-driver-near-390x844")
