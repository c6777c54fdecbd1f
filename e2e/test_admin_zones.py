"""Zones in a real browser against the real stack: an admin draws a polygon and a circle on the map
(Leaflet-Geoman) and saves them, edits one, deletes one, and reads the server's 422 for a polygon that
crosses itself; a dispatcher sees the zones layer in the control room; a customer is refused, as on
every admin page. The page fits a phone. Screenshots at 1366x768 and 390x844 go to /tmp/shots/ (and e2e/artifacts/)."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from conftest import PASSWORD, _cli_json, _run_async
from playwright.sync_api import Page, expect
from redis.asyncio import Redis
from test_admin import PHONE, assert_fits_the_phone, shot

from hexfleet.zones import live as zones_live

ZONES_ADMIN = "zones-admin@e2e.test"


async def _clear_zones(env: dict) -> None:
    conn = await asyncpg.connect(env["DATABASE_URL"])
    try:
        await conn.execute("DELETE FROM zones")
    finally:
        await conn.close()
    redis = Redis.from_url(env["REDIS_URL"])
    try:
        await zones_live.announce(redis)
    finally:
        await redis.aclose()


@pytest.fixture(scope="module", autouse=True)
def no_zones_left_behind(stack):
    """The stack is shared: a service area left here would refuse the other files' quotes."""
    yield
    _run_async(_clear_zones(stack.env))


@pytest.fixture(scope="module")
def zones_admin(stack) -> str:
    _cli_json(stack.env, "users", "add", "--email", ZONES_ADMIN, "--password", PASSWORD, "--role", "admin")
    return ZONES_ADMIN


def api(stack, page: Page) -> httpx.Client:
    """The signed-in browser's session, to read what the server kept and to clear it."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return httpx.Client(base_url=stack.base_url, cookies=cookies, timeout=10)


def stored_zones(stack, page: Page) -> dict[str, dict]:
    with api(stack, page) as client:
        answer = client.get("/api/v1/zones")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    zones = body if isinstance(body, list) else body["zones"]
    return {z["name"]: z for z in zones}


def delete_all_zones(stack, page: Page) -> None:
    """Each test starts from no zones (they share one stack): through the API, as this admin."""
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    with api(stack, page) as client:
        for zone in stored_zones(stack, page).values():
            gone = client.delete(f"/api/v1/zones/{zone['id']}", headers={"X-CSRF-Token": token})
            assert gone.status_code in (200, 204), gone.text


def map_point(page: Page, dx: float, dy: float) -> tuple[float, float]:
    """A point of the editor's map, `dx`, `dy` pixels from its centre (keep clear of the
    toolbar on the left: a drawing tool's Finish and Cancel open beside it)."""
    box = page.locator("#zones-map").bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy


def settled_box(page: Page, locator) -> dict:
    """Where an element is once the map has stopped moving (selecting a zone flies to it)."""
    before = None
    for _ in range(50):
        box = locator.bounding_box()
        if box is not None and box == before:
            return box
        before = box
        page.wait_for_timeout(100)
    raise AssertionError("the map did not settle")


def on_the_map(page: Page) -> int:
    """Zones drawn on the editor's map (saved or not)."""
    return page.evaluate("() => window.hexfleetZones.records().filter((r) => r.layer._map).length")


def tool(page: Page, title: str):
    return page.locator(f'#zones-map .leaflet-pm-toolbar [title="{title}"]')


def draw_polygon(page: Page, corners: list[tuple[float, float]]) -> None:
    tool(page, "Draw Polygons").click()
    for dx, dy in corners:
        page.mouse.click(*map_point(page, dx, dy))
    page.mouse.click(*map_point(page, *corners[0]))  # the first corner again closes it


def draw_circle(page: Page, dx: float, dy: float, radius_px: float) -> None:
    tool(page, "Draw Circle").click()
    page.mouse.click(*map_point(page, dx, dy))
    page.mouse.move(*map_point(page, dx + radius_px / 2, dy))
    page.mouse.click(*map_point(page, dx + radius_px, dy))


def name_and_save(page: Page, name: str, kind: str | None = None) -> None:
    form = page.locator("#zone-form")
    form.get_by_label("Name").fill(name)
    if kind:
        form.get_by_label("Kind").select_option(kind)
    form.get_by_role("button", name="Save zone").click()
    expect(page.locator("#zones-status")).to_have_text(f"Saved {name}.")


def test_an_admin_draws_edits_and_deletes_zones(page: Page, login, stack, zones_admin):
    login(page, email=zones_admin)
    page.goto("/admin/zones")
    delete_all_zones(stack, page)
    page.reload()
    expect(page.get_by_role("link", name="Zones", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.locator("#zones-empty")).to_be_visible()
    expect(page.locator("#zones-empty")).to_contain_text("No zones yet.")
    shot(page, "admin-zones-empty-1366x768")

    # A polygon: the airport, with a pickup fee.
    draw_polygon(page, [(-20, -120), (140, -140), (160, 10), (0, 40)])
    form = page.locator("#zone-form")
    expect(form.get_by_role("heading", name="New zone")).to_be_visible()
    expect(form.locator("#zone-shape")).to_have_text("Polygon, 4 corners")
    form.get_by_label("Name").fill("Tegel Airport")
    form.get_by_label("Kind").select_option("airport")
    expect(form.get_by_label("Colour")).to_have_value("#1565c0")  # the kind's colour until one is picked
    form.get_by_label("Pickup fee").fill("3.50")
    form.get_by_role("button", name="Save zone").click()
    expect(page.locator("#zones-status")).to_have_text("Saved Tegel Airport.")
    expect(page.locator("#zones-empty")).to_be_hidden()

    # A circle: a restricted zone with its own wait.
    draw_circle(page, 300, 100, 70)
    expect(form.locator("#zone-shape")).to_contain_text("Circle, radius")
    form.get_by_label("Name").fill("Hauptbahnhof taxi rank")
    form.get_by_label("Kind").select_option("restricted")
    form.get_by_label("Alert after a driver waits (minutes)").fill("7")
    form.get_by_role("button", name="Save zone").click()
    expect(page.locator("#zones-status")).to_have_text("Saved Hauptbahnhof taxi rank.")

    zones = stored_zones(stack, page)
    airport, rank = zones["Tegel Airport"], zones["Hauptbahnhof taxi rank"]
    assert airport["kind"] == "airport" and airport["geometry"]["type"] == "Polygon"
    assert len(airport["geometry"]["coordinates"][0]) == 5  # 4 corners, closed
    assert airport["rules"]["pickup_fee_minor"] == 350 and airport["color"] == "#1565c0"
    assert rank["kind"] == "restricted" and rank["geometry"]["type"] == "Circle"
    assert rank["rules"]["wait_minutes"] == 7 and rank["geometry"]["radius_m"] > 10
    # Both in the list, each in its colour; both on the map.
    items = page.locator("#zones-list .zone-item")
    expect(items).to_have_count(2)
    expect(items.filter(has_text="Tegel Airport")).to_contain_text("Airport")
    assert on_the_map(page) == 2

    # Edit: rename the airport, make it inactive, move one corner on the map.
    items.filter(has_text="Tegel Airport").click()
    expect(form.get_by_role("heading", name="Edit Tegel Airport")).to_be_visible()
    before = airport["geometry"]["coordinates"][0]
    corner = page.locator("#zones-map .marker-icon:not(.marker-icon-middle)").first
    expect(corner).to_be_visible()
    handle = settled_box(page, corner)
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(handle["x"] - 30, handle["y"] - 25, steps=5)
    page.mouse.up()
    expect(items.filter(has_text="Tegel Airport")).to_contain_text("unsaved changes")
    form.get_by_label("Name").fill("Tegel Airport (closed)")
    form.get_by_label("Active").uncheck()
    form.get_by_role("button", name="Save zone").click()
    expect(page.locator("#zones-status")).to_have_text("Saved Tegel Airport (closed).")
    edited = stored_zones(stack, page)["Tegel Airport (closed)"]
    assert edited["id"] == airport["id"] and edited["active"] is False
    assert edited["geometry"]["coordinates"][0] != before
    expect(items.filter(has_text="Tegel Airport (closed)")).to_contain_text("inactive")
    shot(page, "admin-zones-1366x768")

    # A polygon that crosses itself: the server's 422 beside the form, nothing saved.
    draw_polygon(page, [(0, 100), (120, 180), (120, 100), (0, 180)])
    form.get_by_label("Name").fill("Bow tie")
    form.get_by_role("button", name="Save zone").click()
    errors = page.locator("#zone-errors")
    expect(errors).to_be_visible()
    expect(errors).to_contain_text("self-intersection")
    expect(form.locator('[data-error-for="geometry"]')).to_contain_text("self-intersection")
    expect(page.locator("#zones-status")).to_contain_text("Not saved")
    shot(page, "admin-zones-422-1366x768")
    assert "Bow tie" not in stored_zones(stack, page)
    form.get_by_role("button", name="Discard drawing").click()
    expect(items).to_have_count(2)
    assert on_the_map(page) == 2

    # Delete the circle, after saying yes.
    items.filter(has_text="Hauptbahnhof taxi rank").click()
    page.once("dialog", lambda dialog: dialog.accept())
    form.get_by_role("button", name="Delete zone").click()
    expect(page.locator("#zones-status")).to_have_text("Deleted Hauptbahnhof taxi rank.")
    expect(items).to_have_count(1)
    assert on_the_map(page) == 1
    assert set(stored_zones(stack, page)) == {"Tegel Airport (closed)"}

    # What was saved is what a fresh page shows.
    page.reload()
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Tegel Airport (closed)")


def test_a_dispatcher_sees_the_zones_layer(page: Page, login, stack, zones_admin):
    login(page, email=zones_admin)
    page.goto("/admin/zones")
    delete_all_zones(stack, page)
    page.reload()
    draw_polygon(page, [(-60, -60), (260, -60), (260, 160), (-60, 160)])
    name_and_save(page, "Berlin centre", "service_area")
    draw_circle(page, 100, 50, 40)
    name_and_save(page, "Alexanderplatz rank", "restricted")

    page.context.clear_cookies()
    login(page)  # the dispatcher
    toggle = page.get_by_label("Zones", exact=True)
    expect(toggle).not_to_be_checked()
    expect(page.locator("path.hf-zone")).to_have_count(0)
    toggle.check()
    expect(page.locator("path.hf-zone")).to_have_count(2)
    expect(page.locator(".hf-zones-note")).to_have_text("2 zones")
    # Hovering a zone names it and its kind.
    restricted = page.locator("path.hf-zone-restricted")
    restricted.hover()
    expect(page.locator(".hf-zone-tooltip")).to_contain_text("Alexanderplatz rank")
    expect(page.locator(".hf-zone-tooltip")).to_contain_text("Restricted zone")
    shot(page, "control-room-zones-1366x768")
    # Remembered in this browser.
    page.reload()
    expect(page.get_by_label("Zones", exact=True)).to_be_checked()
    expect(page.locator("path.hf-zone")).to_have_count(2)


def test_a_customer_is_refused(page: Page, login, stack):
    login(page, email="customer@e2e.test", next_path="/ride")
    answer = page.goto("/admin/zones")
    assert answer is not None and answer.status == 403  # the readable refusal of every admin page
    expect(page.get_by_role("heading", name="Not for this account")).to_be_visible()
    expect(page.locator("#zones-map")).to_have_count(0)


@pytest.mark.browser_context_args(**PHONE)
def test_the_editor_and_the_layer_fit_a_phone(page: Page, login, stack, zones_admin):
    login(page, email=zones_admin)
    page.goto("/admin/zones")
    delete_all_zones(stack, page)
    page.reload()
    expect(page.locator("#zones-empty")).to_be_visible()
    assert_fits_the_phone(page)
    shot(page, "admin-zones-empty-390x844")
    # A tap per corner draws on a phone too.
    tool(page, "Draw Polygons").tap()
    for dx, dy in [(-20, 0), (120, 0), (120, 120), (-20, 120), (-20, 0)]:
        page.touchscreen.tap(*map_point(page, dx, dy))
        page.wait_for_timeout(400)  # two taps closer in time are a double tap (zoom)
    form = page.locator("#zone-form")
    expect(form.get_by_role("heading", name="New zone")).to_be_visible()
    form.get_by_label("Name").fill("Mitte")
    form.get_by_label("Kind").select_option("service_area")
    form.get_by_role("button", name="Save zone").click()
    expect(page.locator("#zones-status")).to_have_text("Saved Mitte.")
    assert_fits_the_phone(page)
    shot(page, "admin-zones-390x844")
    form.scroll_into_view_if_needed()
    shot(page, "admin-zones-form-390x844")

    page.context.clear_cookies()
    login(page)
    page.get_by_label("Zones", exact=True).check()
    expect(page.locator("path.hf-zone")).to_have_count(1)
    shot(page, "control-room-zones-390x844")
