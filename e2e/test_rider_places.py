"""Places with names on the rider's pages, in a real browser: the booking form finds the
operator's places by name (keyboard only, a typo too), the ride keeps the names chosen, and the
price, the rides list and the tracking page show them with the coordinates a tap away; the
form starts from the last passenger; a map without tiles says so and shows the places by name,
and a tap on one chooses it.

Everything happens around Potsdam, away from the other browser tests' places and drivers.
Screenshots at 1366x768 and 390x844 go to E2E_SHOTS (default /tmp/shots-rider/).
"""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest
from conftest import ARTIFACTS, PASSWORD, ROOT, _cli_json, _stop
from playwright.sync_api import Page, expect
from test_rider import PHONE, api_customer, assert_in_view, offset, shot, sign_in

from hexfleet.devtools.testing import free_port, wait_until_ready

PLACES = [
    ("Potsdam Hauptbahnhof", "station", 52.39155, 13.06690),
    ("Sanssouci Palace", "landmark", 52.40430, 13.03840),
    ("Hotel am Luisenplatz", "hotel", 52.40040, 13.04940),
    ("Filmpark Babelsberg", "venue", 52.38480, 13.11940),
    ("Kiosk <b>Nord</b>", "other", 52.40250, 13.05600),  # a name is text, never markup
]
POTSDAM = (52.3980, 13.0560)
TILE_CREDIT = "© Test Tiles"
# A 1x1 transparent PNG: a tile that loads.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def place(name: str) -> tuple[str, str, float, float]:
    return next(p for p in PLACES if p[0] == name)


@pytest.fixture(scope="module")
def potsdam(stack):
    """The operator's places in Potsdam (added by an admin through the API), and a driver at
    the station, so rides from there are served at once."""
    admin = _cli_json(stack.env, "users", "add", "--email", "potsdam-admin@e2e.test", "--password", PASSWORD,
                      "--role", "admin")  # fmt: skip
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {admin['token']}"}) as client:
        for name, category, lat, lng in PLACES:
            r = client.post("/api/v1/places", json={"name": name, "category": category, "lat": lat, "lng": lng})
            assert r.status_code in (201, 409), r.text  # 409: made by an earlier run of this module
    driver = stack.add_driver("Theodor Fontane", "+49 331 5550101", "P-TF 1819")
    at_station = offset(*place("Potsdam Hauptbahnhof")[2:], 50, 0)
    stack.ping(driver, *at_station)
    stack.wait_for_fix(driver, *at_station)
    return driver


def cancel_all(stack, token: str) -> None:
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        for booking in client.get("/api/v1/bookings", params={"limit": 20}).json()["bookings"]:
            if booking["status"] not in ("completed", "cancelled", "no_driver"):
                client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={})


# ---------------------------------------------------------------- finding places by name


def quotes_sent(page: Page) -> list[dict]:
    """The bodies of the quotes the page asks for, as they are sent."""
    sent: list[dict] = []
    page.on(
        "request",
        lambda r: sent.append(r.post_data_json) if r.method == "POST" and r.url.endswith("/api/v1/quotes") else None,
    )
    return sent


def test_a_rider_books_between_two_places_found_by_name_with_the_keyboard(page: Page, stack, potsdam):
    email, token = api_customer(stack)
    sent = quotes_sent(page)
    sign_in(page, email)
    pickup, dropoff = page.locator("#pickup-input"), page.locator("#dropoff-input")
    expect(pickup).to_be_focused()  # the first thing to say: where from
    expect(page.locator("#passenger-name")).to_have_value("")  # a first booking: nothing to go on

    # Places first: a name's start, its category and how far it is from the map's centre.
    pickup.press_sequentially("Hauptbahn")
    options = page.locator("#pickup-suggestions .place-option")
    expect(options.first.locator(".place-option-name")).to_have_text("Potsdam Hauptbahnhof")
    expect(options.first.locator(".place-option-meta")).to_have_text(re.compile(r"^Station · [\d.]+\skm$"))
    shot(page, "ride-search-1366x768")
    pickup.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    pickup.press("Enter")
    expect(pickup).to_have_value("Potsdam Hauptbahnhof")
    expect(dropoff).to_be_focused()  # on to the drop-off
    # A typo still finds it.
    dropoff.press_sequentially("Sansouci")
    expect(page.locator("#dropoff-suggestions .place-option").first).to_contain_text("Sanssouci Palace")
    dropoff.press("Enter")
    expect(dropoff).to_have_value("Sanssouci Palace")
    expect(page.locator("#passenger-name")).to_be_focused()  # the passenger next, while the price comes

    # The price names the two places (the names chosen), the coordinates a hover or a tap away.
    expect(page.locator("#quote")).to_have_attribute("data-state", "ready")
    assert_in_view(page, "#book-button")
    # The names chosen go with the quote, and the ride keeps them.
    assert sent[-1]["pickup"]["label"] == "Potsdam Hauptbahnhof" and sent[-1]["dropoff"]["label"] == "Sanssouci Palace"
    quote = page.evaluate("() => window.hexfleetRide.quote")
    assert quote["pickup"]["label"] == "Potsdam Hauptbahnhof" and quote["dropoff"]["label"] == "Sanssouci Palace"
    route = page.locator("#quote-pickup .rd-where-name")
    expect(route).to_have_text("Potsdam Hauptbahnhof")
    expect(route).to_have_attribute("title", "52.39155, 13.06690")
    expect(page.locator("#quote-pickup .rd-where-coords")).to_be_hidden()
    route.click()
    expect(page.locator("#quote-pickup .rd-where-coords")).to_have_text("52.39155, 13.06690")
    expect(pickup).to_have_attribute("title", "52.39155, 13.06690")
    expect(page.locator("#quote-availability")).to_be_hidden()  # a driver waits at the station

    page.locator("#passenger-name").fill("Effi Briest")
    page.locator("#passenger-phone").fill("+49 331 5550123")
    page.get_by_label("Note for the driver").fill("At the taxi rank, north exit")
    shot(page, "ride-places-1366x768")
    with page.expect_navigation(url=re.compile(r"/t/[^/]+$")):
        page.get_by_role("button", name="Book now").click()

    # The ride's page: the names, the coordinates on a tap, and the rider's own note.
    facts = page.locator(".rd-facts")
    name = facts.locator(".rd-where-name").first
    expect(name).to_have_text("Potsdam Hauptbahnhof")
    expect(name).to_have_attribute("title", "52.39155, 13.06690")
    name.click()
    expect(facts.locator(".rd-where-coords").first).to_be_visible()
    expect(facts.locator(".rd-driver-note")).to_have_text("At the taxi rank, north exit")
    shot(page, "track-places-1366x768")

    # My rides: the same names.
    page.get_by_role("link", name="My rides").click()
    ride = page.locator(".ride-card").first
    expect(ride.locator(".rd-where-name")).to_have_text(["Potsdam Hauptbahnhof", "Sanssouci Palace"])
    expect(ride.locator(".ride-driver-note")).to_contain_text("At the taxi rank, north exit")
    shot(page, "rides-places-1366x768", full_page=True)

    # The next booking starts from this passenger.
    page.goto("/ride")
    expect(page.locator("#passenger-name")).to_have_value("Effi Briest")
    expect(page.locator("#passenger-phone")).to_have_value("+49 331 5550123")
    cancel_all(stack, token)


# ---------------------------------------------------------------- a map without tiles


def show_potsdam(page: Page) -> None:
    page.evaluate("([lat, lng]) => window.hexfleetRide.map.setView([lat, lng], 14, {animate: false})", list(POTSDAM))


def test_without_tiles_the_map_shows_the_places_and_a_tap_on_a_name_chooses_it(page: Page, stack, potsdam):
    """The stack has no MAP_TILE_URL: the map draws the places by name instead."""
    email, token = api_customer(stack)
    sent = quotes_sent(page)
    sign_in(page, email)
    expect(page.locator("#ride-map")).to_have_class(re.compile(r"\bmap-no-tiles\b"))
    show_potsdam(page)
    palace = page.locator(".place-point-label", has_text="Sanssouci Palace")
    expect(palace).to_be_visible()
    expect(page.locator(".place-point-label", has_text="Hotel am Luisenplatz")).to_be_visible()
    kiosk = page.locator(".place-point-label", has_text="Kiosk <b>Nord</b>")
    expect(kiosk).to_be_visible()
    expect(kiosk.locator("b")).to_have_count(0)
    # Nothing to credit: no tile was drawn.
    expect(page.locator(".leaflet-control-attribution")).to_have_text("")
    shot(page, "ride-no-tiles-1366x768")
    palace.click()
    expect(page.locator("#pickup-input")).to_have_value("Sanssouci Palace")
    page.locator(".place-point-label", has_text="Hotel am Luisenplatz").click()
    expect(page.locator("#dropoff-input")).to_have_value("Hotel am Luisenplatz")
    expect(page.locator("#quote")).to_have_attribute("data-state", "ready")
    assert sent[-1]["pickup"]["label"] == "Sanssouci Palace" and sent[-1]["dropoff"]["label"] == "Hotel am Luisenplatz"
    quote = page.evaluate("() => window.hexfleetRide.quote")
    assert quote["pickup"]["label"] == "Sanssouci Palace" and quote["dropoff"]["label"] == "Hotel am Luisenplatz"
    assert quote["pickup"]["lat"] == pytest.approx(place("Sanssouci Palace")[2])
    # A tap beside the places sets a bare point, which the server names after the nearest one.
    hotel = place("Hotel am Luisenplatz")
    near_hotel = offset(hotel[2], hotel[3], 0, 70)
    page.evaluate(
        "([lat, lng]) => window.hexfleetRide.map.fire('click', {latlng: L.latLng(lat, lng)})", list(near_hotel)
    )
    expect(page.locator("#dropoff-input")).to_have_value(re.compile(r"^Hotel am Luisenplatz, [67]0 m$"))
    assert "label" not in sent[-1]["dropoff"]  # a bare point: the server named it
    expect(page.locator("#dropoff-input")).to_have_attribute("title", f"{near_hotel[0]:.5f}, {near_hotel[1]:.5f}")
    cancel_all(stack, token)


@pytest.mark.browser_context_args(**PHONE)
def test_places_on_a_phone(page: Page, stack, potsdam):
    email, token = api_customer(stack)
    sign_in(page, email)
    show_potsdam(page)
    expect(page.locator(".place-point-label", has_text="Sanssouci Palace")).to_be_visible()
    shot(page, "ride-no-tiles-390x844")
    pickup = page.locator("#pickup-input")
    pickup.tap()
    pickup.press_sequentially("Filmp")
    expect(page.locator("#pickup-suggestions .place-option").first).to_contain_text("Filmpark Babelsberg")
    shot(page, "ride-search-390x844")
    page.locator("#pickup-suggestions .place-option").first.tap()
    expect(pickup).to_have_value("Filmpark Babelsberg")
    page.locator("#dropoff-input").press_sequentially("Hotel am L")
    page.locator("#dropoff-suggestions .place-option").first.tap()
    expect(page.locator("#quote")).to_have_attribute("data-state", "ready")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # The Book button sits at the foot of the screen once there is a price.
    assert_in_view(page, "#book-button")
    shot(page, "ride-priced-390x844")

    # The ride's page on a phone: a tap on a place's name shows where exactly.
    page.locator("#passenger-name").fill("Effi Briest")
    page.locator("#passenger-phone").fill("+49 331 5550123")
    page.get_by_role("button", name="Book now").tap()
    if page.locator("#book-confirm").is_visible():  # the driver at the station may be busy
        page.get_by_role("button", name="Book and keep looking").tap()
    page.wait_for_url(re.compile(r"/t/[^/]+$"))
    name = page.locator(".rd-facts .rd-where-name").first
    expect(name).to_have_text("Filmpark Babelsberg")
    name.tap()
    coords = page.locator(".rd-facts .rd-where-coords").first
    expect(coords).to_have_text("52.38480, 13.11940")
    coords.scroll_into_view_if_needed()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    shot(page, "track-places-390x844")
    cancel_all(stack, token)


# ---------------------------------------------------------------- tiles that cannot be had, or can


@pytest.fixture(scope="module")
def tiles_site(stack):
    """A second web process of the same stack whose MAP_TILE_URL points at a port where nothing
    listens (the tests may also answer it themselves, with page.route)."""
    port = free_port()
    dead = free_port()
    env = {
        **stack.env,
        "MAP_TILE_URL": f"http://127.0.0.1:{dead}/tiles/{{z}}/{{x}}/{{y}}.png",
        "MAP_TILE_ATTRIBUTION": TILE_CREDIT,
    }
    log = (ARTIFACTS / "web-tiles.log").open("wb")
    web = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "webapp:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(f"{url}/readyz", 60, failed=lambda: None if web.poll() is None else "web exited")
        yield url, dead
    finally:
        _stop(web)


def sign_in_at(page: Page, site: str, email: str) -> None:
    page.goto(f"{site}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Sign in").click()


def test_tiles_that_cannot_load_are_said_once_and_never_credited(page: Page, stack, potsdam, tiles_site):
    site, dead = tiles_site
    email, token = api_customer(stack)
    sign_in_at(page, site, email)
    notice = page.locator("#ride-map .map-tiles-notice")
    expect(notice).to_contain_text(f"Map tiles can't be loaded from 127.0.0.1:{dead}.")
    expect(notice).to_contain_text("The places you can choose are shown by name.")
    expect(page.locator(".leaflet-control-attribution")).not_to_contain_text(TILE_CREDIT)
    # Instead: the places, by name.
    show_potsdam(page)
    expect(page.locator(".place-point-label", has_text="Sanssouci Palace")).to_be_visible()
    # The notice never covers the map's own controls, and goes when dismissed.
    zoom = page.locator(".leaflet-control-zoom").bounding_box()
    box = notice.bounding_box()
    assert box["x"] + box["width"] <= zoom["x"] or box["y"] >= zoom["y"] + zoom["height"]
    shot(page, "ride-tiles-unreachable-1366x768")
    notice.get_by_role("button", name="Dismiss the map tiles notice").click()
    expect(notice).to_have_count(0)

    # The tracking page says it too.
    pickup, dropoff = place("Potsdam Hauptbahnhof"), place("Filmpark Babelsberg")
    with httpx.Client(base_url=site, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        quote = client.post(
            "/api/v1/quotes",
            json={"pickup": {"lat": pickup[2], "lng": pickup[3]}, "dropoff": {"lat": dropoff[2], "lng": dropoff[3]}},
        ).json()
        booking = client.post(
            "/api/v1/bookings",
            json={"quote_id": quote["quote_id"], "passenger": {"name": "Ida", "phone": "+49 331 5550142"},
                  "confirm_no_driver": True},
        ).json()  # fmt: skip
    page.goto(site + "/t/" + booking["tracking_url"].rsplit("/t/", 1)[1])
    track_notice = page.locator("#track-map .map-tiles-notice")
    expect(track_notice).to_contain_text("The pickup, the drop-off and your driver are still shown.")
    expect(page.locator(".leaflet-control-attribution")).not_to_contain_text(TILE_CREDIT)
    shot(page, "track-tiles-unreachable-1366x768")
    cancel_all(stack, token)


def test_tiles_that_load_are_credited_and_nothing_is_said(page: Page, stack, potsdam, tiles_site):
    site, dead = tiles_site
    page.route(f"http://127.0.0.1:{dead}/tiles/**", lambda route: route.fulfill(body=PNG, content_type="image/png"))
    email, _ = api_customer(stack)
    sign_in_at(page, site, email)
    expect(page.locator(".leaflet-control-attribution")).to_contain_text(TILE_CREDIT)
    expect(page.locator(".map-tiles-notice")).to_have_count(0)
    expect(page.locator("#ride-map")).not_to_have_class(re.compile(r"\bmap-no-tiles\b"))
    expect(page.locator(".place-point")).to_have_count(0)  # tiles show the way: no extra points
