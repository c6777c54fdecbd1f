"""History and replay in a real browser: a known track (written with the tracker's own query,
at times taken from now) is drawn with its stop and flagged fixes, the summary is right,
the player plays it, and the exports download; stops carry the nearest place's name, and a map
without tiles says so and shows the places by name. Screenshots at 1366x768 and 390x844 go to
/tmp/shots-drv/history-*.png (and e2e/artifacts/)."""

from __future__ import annotations

import csv
import math
import re
import shutil
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from conftest import ARTIFACTS, PASSWORD, _cli_json, _run_async
from playwright.sync_api import Browser, Page, expect

from hexfleet.tracking import queries
from hexfleet.tracking.filters import IMPLAUSIBLE_JUMP, INACCURATE
from hexfleet.tracking.pings import Ping

SHOTS = Path("/tmp/shots-drv")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
MIN_TAP_PX = 44
ORIGIN = (52.5200, 13.4050)
GPX_NS = {"g": "http://www.topografix.com/GPX/1/1"}


def moved(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_195.0, lng + east_m / (111_195.0 * math.cos(math.radians(lat)))


def known_track(start: float) -> list[tuple[Ping, str | None]]:
    """10 minutes east at 36 km/h (6 km), 5 minutes standing, 10 minutes north at 54 km/h
    (9 km): one fix every 2 s, 751 on the track; and 3 flagged fixes kept apart."""
    fixes: list[tuple[Ping, str | None]] = []
    for i in range(301):
        fixes.append((Ping(*moved(*ORIGIN, 0, 20.0 * i), start + 2 * i, speed_mps=10.0), None))
    stop = moved(*ORIGIN, 0, 6000)
    for i in range(1, 151):
        fixes.append((Ping(*stop, start + 600 + 2 * i, speed_mps=0.0), None))
    for i in range(1, 301):
        fixes.append((Ping(*moved(*stop, 30.0 * i, 0), start + 900 + 2 * i, speed_mps=15.0), None))
    fixes += [
        (Ping(52.80, 13.90, start + 101), IMPLAUSIBLE_JUMP),
        (Ping(*moved(*ORIGIN, 300, 3000), start + 301, accuracy_m=400), INACCURATE),
        (Ping(*moved(*stop, 2000, 400), start + 1201, accuracy_m=250), INACCURATE),
    ]
    return fixes


async def _write(database_url: str, driver_id: int, fixes) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await queries.insert_positions(conn, [(driver_id, ping, ping.ts + 0.4, flag) for ping, flag in fixes])
    finally:
        await conn.close()


STOP_PLACE = "Ostkreuz Test Depot"  # 40 m north of where the known track stops


def add_place(stack, token: str, name: str, category: str, point: tuple[float, float]) -> None:
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        made = client.post(
            "/api/v1/places", json={"name": name, "category": category, "lat": point[0], "lng": point[1]}
        )
        assert made.status_code in (201, 409), made.text  # 409: a rerun of the module on the same stack


@pytest.fixture(scope="module")
def rita(stack):
    driver = stack.add_driver("Rita Replay", "+49 30 5550999", "B-RP 300")
    start = time.time() - 2 * 3600
    _run_async(_write(stack.env["DATABASE_URL"], driver.id, known_track(start)))
    admin = _cli_json(stack.env, "users", "add", "--email", "admin-h@e2e.test", "--password", PASSWORD,
                      "--role", "admin")  # fmt: skip
    add_place(stack, admin["token"], STOP_PLACE, "depot", moved(*moved(*ORIGIN, 0, 6000), 40, 0))
    add_place(stack, admin["token"], "Replay Start Square", "landmark", moved(*ORIGIN, -80, 0))
    return driver, start


def shot(page: Page, name: str, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    shutil.copy(path, ARTIFACTS / path.name)


def local(ts: float, zone: str) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def open_range(page: Page, driver_id: int, start: float, zone: str) -> None:
    """The history of a range that surely holds the track, whatever the hour of the run."""
    page.goto(
        f"/history?driver_id={driver_id}&from={local(start - 300, zone)}&to={local(time.time() + 60, zone)}&tz={zone}"
    )
    expect(page.locator("#history-result")).to_be_visible(timeout=10_000)


def replay_time(page: Page) -> float:
    return page.evaluate("window.hexfleetHistory.time()")


def test_replay_plays_a_known_track(page: Page, login, stack, rita):
    driver, start = rita
    login(page)
    # From the driver's card in the control room.
    page.locator(f'.driver-row[data-driver-id="{driver.id}"]').click()
    history_link = page.locator("#driver-detail").get_by_role("link", name="History")
    expect(history_link).to_be_visible()
    shot(page, "history-link-1366x768")
    history_link.click()
    expect(page).to_have_url(re.compile(rf"/history\?driver_id={driver.id}"))
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    # A first visit is today so far, in the browser's zone, and the URL says so.
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    expect(page).to_have_url(re.compile(r"tz=" + re.escape(zone).replace("/", "(/|%2F)")))
    assert page.input_value("#from").endswith("T00:00")
    assert page.input_value("#tz") == zone

    open_range(page, driver.id, start, zone)
    summary = page.locator(".history-summary")
    expect(summary.locator("#sum-distance")).to_have_text("15.0 km")
    expect(summary.locator("#sum-duration")).to_have_text("25 min")
    expect(summary.locator("#sum-stops")).to_have_text("1")
    expect(summary.locator("#sum-stopped")).to_have_text("5 min")
    expect(summary.locator("#sum-max")).to_have_text("54 km/h")
    expect(summary.locator("#sum-fixes")).to_have_text("751+ 3 flagged")
    expect(page.locator("#stops .stop-item")).to_have_count(1)
    expect(page.locator(".leaflet-marker-icon.hf-stop")).to_have_count(1)
    # The stop by the nearest place's name, its coordinates on hover, in the list and on the map.
    stop_item = page.locator("#stops .stop-item").first
    expect(stop_item.locator(".stop-place")).to_have_text(f"{STOP_PLACE}, 40 m")
    stop_at = moved(*ORIGIN, 0, 6000)

    def near_the_stop(text: str) -> bool:
        lat, lng = (float(part) for part in text.split(", "))
        return abs(lat - stop_at[0]) < 2e-5 and abs(lng - stop_at[1]) < 2e-5  # within 2 m: the stop's mean

    title = stop_item.get_attribute("title")
    assert re.fullmatch(r"\d+\.\d{5}, \d+\.\d{5} · .+ UTC to .+ UTC", title), title
    assert near_the_stop(title.split(" · ")[0]), title
    expect(stop_item).to_have_attribute("aria-label", re.compile(rf"^Stop 1 at {STOP_PLACE}, 40 m, 5\smin, from "))
    page.locator(".leaflet-marker-icon.hf-stop").hover()
    tooltip = page.locator(".leaflet-tooltip").filter(has_text="Stop 1")
    expect(tooltip).to_contain_text(f"Stop 1: {STOP_PLACE}, 40 m")
    assert near_the_stop(tooltip.locator(".hf-stop-coords").inner_text())
    # No tiles here: the map shows the places by name instead, and credits no tiles.
    expect(page.locator(".place-point-label", has_text="Replay Start Square")).to_have_count(1)
    expect(page.locator(".place-point-label", has_text="Replay Start Square")).to_be_visible()
    expect(page.locator(".leaflet-control-attribution")).to_be_hidden()
    expect(page.locator(".leaflet-marker-icon.hf-flagged")).to_have_count(3)
    assert page.evaluate("window.hexfleetHistory.fixes()") == 751

    # The player: at the start, local time shown, UTC on hover.
    clock = page.locator("#clock")
    first = datetime.fromtimestamp(start, UTC).astimezone(ZoneInfo(zone))
    # In the browser's locale (12 or 24 hours): minutes and seconds read the same in both.
    expect(clock).to_have_text(re.compile(first.strftime(":%M:%S")))
    expect(clock).to_have_attribute("title", re.compile(r" UTC$"))
    assert replay_time(page) == pytest.approx(start, abs=0.01)
    before = page.locator(".hf-playhead").bounding_box()

    page.get_by_role("button", name="300 times real time").click()
    expect(page.get_by_role("button", name="300 times real time")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Play", exact=True).click()
    # 300x: two minutes of the track in well under a second of real time.
    page.wait_for_function("(t) => window.hexfleetHistory.time() > t", arg=start + 120, timeout=5_000)
    page.get_by_role("button", name="Pause", exact=True).click()
    paused_at = replay_time(page)
    assert start + 120 < paused_at < start + 1500
    after = page.locator(".hf-playhead").bounding_box()
    assert after["x"] > before["x"] + 5, (before, after)  # it drove east
    expect(clock).not_to_have_text(re.compile(first.strftime(":%M:%S")))
    page.wait_for_timeout(300)
    assert replay_time(page) == paused_at  # paused stays put

    # A stop in the list takes the player there.
    page.locator("#stops .stop-item").first.click()
    assert replay_time(page) == pytest.approx(start + 596, abs=3)
    expect(page.locator("#stops .stop-item").first).to_have_class(re.compile("is-current"))

    # Flagged fixes can be hidden.
    page.get_by_label(re.compile("Flagged positions")).uncheck()
    expect(page.locator(".leaflet-marker-icon.hf-flagged")).to_have_count(0)
    page.get_by_label(re.compile("Flagged positions")).check()
    expect(page.locator(".leaflet-marker-icon.hf-flagged")).to_have_count(3)

    # Play to the end at 300x from near it.
    page.evaluate("(t) => window.hexfleetHistory.seek(t)", start + 1400)
    page.get_by_role("button", name="Play", exact=True).click()
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=5_000)  # stopped by itself
    assert replay_time(page) == pytest.approx(start + 1500, abs=0.01)
    page.evaluate("(t) => window.hexfleetHistory.seek(t)", start + 700)
    page.get_by_role("button", name="Whole track").click()
    page.wait_for_timeout(400)  # the zoom animation
    shot(page, "history-1366x768")

    # Exports: the links carry the same range, and download as attachments.
    gpx = page.locator("#export-gpx")
    href = gpx.get_attribute("href")
    assert href.startswith(f"/api/v1/drivers/{driver.id}/history.gpx?from=")
    asked = parse_qs(urlsplit(href).query)
    assert datetime.fromisoformat(asked["from"][0]).timestamp() <= start
    with page.expect_download() as download:
        gpx.click()
    assert download.value.suggested_filename.startswith(f"hexfleet-{driver.id}-rita-replay-")
    root = ET.parse(download.value.path()).getroot()
    assert len(root.findall("g:trk/g:trkseg/g:trkpt", GPX_NS)) == 751
    assert len(root.findall("g:wpt[g:type='flagged']", GPX_NS)) == 3
    [stop_point] = root.findall("g:wpt[g:type='stop']", GPX_NS)
    assert stop_point.findtext("g:name", namespaces=GPX_NS) == f"Stop, 5 min: {STOP_PLACE}, 40 m"
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    assert download.value.suggested_filename.endswith(".csv")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].startswith("time_utc,latitude,longitude") and len(lines) == 1 + 751 + 3
    assert lines[0].endswith(",place,place_distance_m")
    rows = list(csv.DictReader(lines))
    standing = [row for row in rows if row["speed_mps"] == "0"]
    assert len(standing) == 150 and all(row["place"] == STOP_PLACE for row in standing)
    assert all(row["place_distance_m"] == "40" for row in standing)
    assert rows[0]["place"] == "Replay Start Square" and rows[0]["place_distance_m"] == "80"
    assert rows[100]["place"] == "" and rows[100]["place_distance_m"] == ""  # 2 km out: nothing near


def test_empty_range_says_so(page: Page, login, stack):
    quiet = stack.add_driver("Quiet Quentin")
    login(page)
    page.goto(f"/history?driver_id={quiet.id}")
    status = page.locator("#history-status")
    expect(status).to_contain_text("No positions for Quiet Quentin between")
    expect(status).to_contain_text("Try a longer range")
    expect(page.locator("#player")).to_be_hidden()
    expect(page.locator("#history-result")).to_be_hidden()
    shot(page, "history-empty-1366x768")


def test_a_bad_range_is_explained(page: Page, login, stack, rita):
    driver, _ = rita
    login(page)
    today = datetime.now(UTC).date().isoformat()
    page.goto(f"/history?driver_id={driver.id}&from={today}T10:00&to={today}T09:00&tz=UTC")
    expect(page.get_by_role("alert")).to_have_text("From must be before To.")
    expect(page.locator("#history-result")).to_be_hidden()


def test_history_on_a_phone(browser: Browser, stack, rita):
    driver, start = rita
    zone = "Asia/Tokyo"  # +09:00: the form and the clock follow the browser's zone
    context = browser.new_context(base_url=stack.base_url, timezone_id=zone, locale="en-GB", **PHONE)
    errors: list[str] = []
    context.on("weberror", lambda web_error: errors.append(str(web_error.error)))
    try:
        phone = context.new_page()
        phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        phone.goto("/login?next=/")
        phone.get_by_label("Email").fill(stack.dispatcher_email)
        phone.get_by_label("Password").fill(stack.password)
        with phone.expect_navigation(wait_until="load"):
            phone.get_by_role("button", name="Sign in").click()
        # The driver's card in the control room's sheet links to the history.
        phone.locator(f'.driver-row[data-driver-id="{driver.id}"]').tap()
        history_link = phone.locator("#driver-detail").get_by_role("link", name="History")
        expect(history_link).to_be_in_viewport()
        assert history_link.bounding_box()["height"] >= MIN_TAP_PX
        shot(phone, "history-link-390x844")
        history_link.tap()
        expect(phone).to_have_url(re.compile(r"tz=Asia(/|%2F)Tokyo"))
        open_range(phone, driver.id, start, zone)
        first = datetime.fromtimestamp(start, UTC).astimezone(ZoneInfo(zone))
        expect(phone.locator("#clock")).to_have_text(re.compile(first.strftime("%H:%M:%S")))
        expect(phone.locator("#sum-distance")).to_have_text("15.0 km")

        # Nothing wider than the phone; every control a comfortable tap.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        small = phone.evaluate(
            """(min) => [...document.querySelectorAll('main button, main .btn, main select, '
                                                     + 'main input:not([type=hidden]), main .stop-item, .history-back')]
                 .filter((el) => el.checkVisibility())
                 // A checkbox is tapped through its label.
                 .map((el) => [el.id || el.textContent.trim().slice(0, 30),
                               (el.type === 'checkbox' ? el.closest('label') : el).getBoundingClientRect()])
                 .filter(([, r]) => r.height < min)
                 .map(([what, r]) => `${what}: ${Math.round(r.width)}x${Math.round(r.height)}`)""",
            MIN_TAP_PX,
        )
        assert not small, f"smaller than {MIN_TAP_PX} px: {small}"
        # The form folds into one line, so map and player fit the first screen; it unfolds on demand.
        expect(phone.locator("#history-picked")).to_contain_text("Rita Replay")
        expect(phone.locator("#history-form")).to_be_hidden()
        stage = phone.locator(".history-stage").bounding_box()
        player = phone.locator("#player").bounding_box()
        assert stage["height"] >= 500 and player["y"] + player["height"] <= 844, (stage, player)
        phone.get_by_role("button", name="Change").tap()
        expect(phone.get_by_label("From", exact=True)).to_be_visible()
        shot(phone, "history-390x844-form")
        phone.get_by_role("button", name="Done").tap()
        expect(phone.locator("#history-form")).to_be_hidden()

        phone.get_by_role("button", name="300 times real time").tap()
        phone.get_by_role("button", name="Play", exact=True).tap()
        phone.wait_for_function("(t) => window.hexfleetHistory.time() > t", arg=start + 120, timeout=5_000)
        phone.get_by_role("button", name="Pause", exact=True).tap()
        phone.get_by_role("button", name="Whole track").tap()
        phone.wait_for_timeout(400)
        phone.evaluate("window.scrollTo(0, 0)")
        shot(phone, "history-390x844")
        phone.locator(".history-stage").scroll_into_view_if_needed()
        shot(phone, "history-390x844-player")
        shot(phone, "history-390x844-full", full_page=True)
        assert not errors, errors
    finally:
        context.close()


# ---------------------------------------------------------------- map tiles


def tiles_at(tile_url: str, attribution: str):
    """/history as a server configured with MAP_TILE_URL=<tile_url> would send it."""

    def route_handler(route):
        response = route.fetch()
        body = response.text().replace('data-tile-url=""', f'data-tile-url="{tile_url}"')
        body = re.sub(r'data-tile-attribution="[^"]*"', f'data-tile-attribution="{attribution}"', body)
        headers = dict(response.headers)
        headers["content-security-policy"] = headers["content-security-policy"].replace(
            "img-src 'self' data:", "img-src 'self' data: http://" + urlsplit(tile_url).netloc
        )
        route.fulfill(response=response, body=body, headers=headers)

    return route_handler


# A 1×1 PNG: a tile server that answers.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8ffff3f0005fe02fe"
    "a7d6a4c20000000049454e44ae426082"
)


def test_the_map_says_when_tiles_cannot_load_and_credits_them_once_they_do(page: Page, login, stack, rita):
    driver, start = rita
    login(page)
    zone = "UTC"
    serve = {"page": tiles_at("http://127.0.0.1:9/{z}/{x}/{y}.png", "Tiles by Nobody")}
    page.route(lambda url: urlsplit(url).path == "/history", lambda route: serve["page"](route))
    open_range(page, driver.id, start, zone)
    notice = page.locator(".map-tiles-notice")
    expect(notice).to_have_text(
        re.compile(r"Map tiles can't be loaded from 127\.0\.0\.1:9\. Places are shown by name instead\."),
        timeout=10_000,
    )
    expect(notice).to_have_count(1)
    expect(page.locator(".leaflet-control-attribution")).to_be_hidden()
    # Around the map's centre first, then around the track: one layer (the first fades out).
    expect(page.locator(".place-point-label", has_text=STOP_PLACE)).to_have_count(1)
    expect(page.locator(".place-point-label", has_text=STOP_PLACE)).to_be_visible()
    # Clear of the map's own controls (zoom, "Whole track", the scale).
    box = notice.bounding_box()
    for control in (".leaflet-control-zoom", "#fit-track", ".leaflet-control-scale"):
        other = page.locator(control).bounding_box()
        apart = (
            box["x"] + box["width"] <= other["x"]
            or other["x"] + other["width"] <= box["x"]
            or box["y"] + box["height"] <= other["y"]
            or other["y"] + other["height"] <= box["y"]
        )
        assert apart, (control, box, other)
    shot(page, "history-tiles-unreachable-1366x768")
    notice.get_by_role("button", name="Dismiss the map tiles notice").click()
    expect(notice).to_have_count(0)

    serve["page"] = tiles_at("http://127.0.0.1:7/{z}/{x}/{y}.png", "Tiles by Test")
    page.route("http://127.0.0.1:7/**", lambda route: route.fulfill(body=PNG, content_type="image/png"))
    page.reload()
    expect(page.locator("#history-result")).to_be_visible(timeout=10_000)
    expect(page.locator(".leaflet-control-attribution")).to_have_text("Tiles by Test", timeout=10_000)
    expect(page.locator(".map-tiles-notice")).to_have_count(0)
