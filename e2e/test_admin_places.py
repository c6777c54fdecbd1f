"""Places in a real browser: an admin adds a place by clicking the map, finds it again with a typo,
edits it, imports a file with a bad row (the report names it; nothing is saved) and a good one;
the page fits a phone. Screenshots at 1366x768 and 390x844 go to /tmp/shots/ (and e2e/artifacts/)."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, _cli_json
from playwright.sync_api import Page, expect
from test_admin import PHONE, assert_fits_the_phone, shot

PLACES_ADMIN = "places-admin@e2e.test"


@pytest.fixture(scope="module")
def places_admin(stack) -> str:
    _cli_json(stack.env, "users", "add", "--email", PLACES_ADMIN, "--password", PASSWORD, "--role", "admin")
    return PLACES_ADMIN


def test_an_admin_keeps_the_places_list(page: Page, login, stack, places_admin):
    login(page, email=places_admin)
    page.goto("/admin/places")
    expect(page.get_by_role("link", name="Places", exact=True)).to_have_attribute("aria-current", "page")
    page.locator(".admin-add > summary", has_text="Add a place").click()
    slot = page.locator("#add-place-slot")
    slot.get_by_label("Name", exact=True).fill("Tegel Depot")
    slot.get_by_label("Category").select_option("depot")
    slot.get_by_label("Other names").fill("TXL\nNorth depot")
    # The map places the pin where it is clicked, and the coordinates follow.
    the_map = slot.locator("[data-place-map]")
    expect(the_map).to_have_class(re.compile("leaflet-container"))
    box = the_map.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2)
    expect(slot.locator(".place-pin")).to_be_visible()
    lat, lng = float(slot.get_by_label("Latitude").input_value()), float(slot.get_by_label("Longitude").input_value())
    assert 52.3 < lat < 52.7 and 13.2 < lng < 13.7, (lat, lng)  # near the map's centre (MAP_CENTER)
    shot(page, "admin-places-add-1366x768")
    slot.get_by_role("button", name="Add place").click()
    expect(slot.get_by_role("status")).to_contain_text("Added Tegel Depot.")
    rows = page.locator("#place-rows")
    expect(rows).to_contain_text("Tegel Depot")

    # Found again with a typo; edited in place.
    page.get_by_label("Search places").fill("Tegl Depot")
    expect(rows.locator(".places-count")).to_have_text("1 place matches “Tegl Depot”")
    expect(rows.locator(".place-row")).to_have_count(1)
    row = rows.locator(".place-row", has_text="Tegel Depot")
    row.get_by_role("button", name="Edit").click()
    editing = rows.locator(".is-editing")
    editing.get_by_label("Address").fill("Flughafen Tegel, 13405 Berlin")
    editing.get_by_role("button", name="Save").click()
    expect(rows.locator(".place-row", has_text="Tegel Depot")).to_contain_text("Saved.")
    expect(rows).to_contain_text("Flughafen Tegel, 13405 Berlin")

    # A file with a bad row: the report names it and nothing is saved.
    page.locator(".admin-add > summary", has_text="Import a file").click()
    bad = "name,category,lat,lng\nSpandau Station,station,52.5345,13.1968\nCastle,castle,52.5,13.3\n"
    page.get_by_label("CSV or GeoJSON file").set_input_files(
        files=[{"name": "stations.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    page.get_by_role("button", name="Import", exact=True).click()
    report = page.locator("#import-report")
    expect(report).to_contain_text("Nothing was imported from stations.csv.")
    expect(report).to_contain_text("Line 3 (category): Choose one of airport, station")
    shot(page, "admin-places-import-report-1366x768")
    page.get_by_label("Search places").fill("Spandau")
    expect(rows).to_contain_text("No place matches “Spandau”.")
    good = bad.replace("Castle,castle", "Castle,landmark")
    page.get_by_label("CSV or GeoJSON file").set_input_files(
        files=[{"name": "stations.csv", "mimeType": "text/csv", "buffer": good.encode()}]
    )
    page.get_by_role("button", name="Import", exact=True).click()
    expect(report).to_contain_text("Imported stations.csv: 2 places, 2 added, 0 updated, 0 unchanged.")
    expect(rows).to_contain_text("Spandau Station")  # the list refreshed, the search kept
    shot(page, "admin-places-1366x768")


@pytest.mark.browser_context_args(**PHONE)
def test_the_places_page_fits_a_phone(page: Page, login, stack, places_admin):
    login(page, email=places_admin)
    page.goto("/admin/places")
    expect(page.locator("#place-rows")).to_be_visible()
    assert_fits_the_phone(page)
    shot(page, "admin-places-390x844")
    page.locator(".admin-add > summary", has_text="Add a place").click()
    expect(page.locator("#add-place-slot [data-place-map]")).to_be_visible()
    assert_fits_the_phone(page)
    shot(page, "admin-places-add-390x844", full_page=True)
