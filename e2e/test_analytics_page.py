"""The analytics page in a real browser, over real rollups: 40 days of a 25-driver fleet written
by the data generator (hexfleet/devtools/bench/analytics_data.py, ending 3 hours before now) and
rolled up by the real backfill. A dispatcher opens /analytics, sees the cards, charts, map and
drivers, changes the range (the charts and the map change), sorts the table, downloads a CSV;
an empty range says so; a customer is refused. Screenshots at 1366x768 and 390x844 (with data
and empty) go to $E2E_SHOTS, else e2e/artifacts/analytics/."""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from conftest import ARTIFACTS, _run_async
from playwright.sync_api import Browser, Page, expect

from hexfleet.analytics import rollups
from hexfleet.analytics.outlook import history_hours
from hexfleet.devtools.bench.analytics_data import generate
from hexfleet.geo import cell_of

SHOTS = Path(os.environ.get("E2E_SHOTS") or ARTIFACTS / "analytics")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


async def _seed(database_url: str):
    conn = await asyncpg.connect(database_url)
    try:
        made = await generate(conn, drivers=25, days=40, seed=17)
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        await rollups.backfill(pool, made.start, made.end)
    finally:
        await pool.close()
    return made


async def _busier(database_url: str, cell: int, hours: list) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """INSERT INTO analytics_cells (grain, period_start, cell, vehicle_class, requests)
               SELECT 'hour', h, $1, 'standard', 8 FROM unnest($2::timestamptz[]) h
               ON CONFLICT (grain, period_start, cell, vehicle_class)
               DO UPDATE SET requests = analytics_cells.requests + 8""",
            cell,
            hours,
        )
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def fleet(stack):
    SHOTS.mkdir(parents=True, exist_ok=True)
    return _run_async(_seed(stack.env["DATABASE_URL"]))


def loaded(page: Page, count: int) -> None:
    page.wait_for_function(f"() => window.hexfleetAnalytics && window.hexfleetAnalytics.shown.loads >= {count}")


def cell_colours(page: Page) -> list[str]:
    return page.eval_on_selector_all("#an-map path.an-cell", "els => els.map(e => e.getAttribute('fill'))")


def test_a_dispatcher_reads_the_operation(page: Page, login, stack, fleet):
    login(page, next_path="/analytics")
    expect(page).to_have_url(f"{stack.base_url}/analytics")
    expect(page.get_by_role("link", name="Analytics").first).to_have_attribute("aria-current", "page")
    loaded(page, 1)
    requests = page.locator('[data-kpi="requests"] .an-card-value')
    expect(requests).not_to_have_text("0")
    expect(page.locator('[data-kpi="requests"] .an-card-change')).to_contain_text("%")
    demand = page.locator("#chart-demand")
    expect(demand).to_have_attribute("data-points", "7")
    expect(demand.locator("canvas")).to_be_visible()
    week_total = int(demand.get_attribute("data-total"))
    assert week_total > 0
    cells = int(page.locator("#an-map").get_attribute("data-cells"))
    assert cells > 10 and len(cell_colours(page)) == cells
    # Every generated driver has a row (the shared stack's other tests may add their own).
    rows = page.locator("#an-drivers tbody tr").filter(has_text="Analytics driver")
    expect(rows).to_have_count(25)
    page.screenshot(path=str(SHOTS / "analytics-1366-data.png"))
    page.screenshot(path=str(SHOTS / "analytics-1366-data-full.png"), full_page=True)

    # 30 days: the charts and the map change.
    before_colours = cell_colours(page)
    page.get_by_role("button", name="30 days").click()
    loaded(page, 2)
    expect(demand).to_have_attribute("data-points", "30")
    assert int(demand.get_attribute("data-total")) > week_total
    assert cell_colours(page) != before_colours or int(page.locator("#an-map").get_attribute("data-cells")) != cells
    expect(page.locator("#an-status")).to_contain_text("requests")

    # Colour by unmet demand, then one hour of the week: the map follows.
    page.get_by_label("Colour by").select_option("unmet")
    expect(page.locator("#an-map")).to_have_attribute("data-metric", "unmet")
    every_hour = int(page.locator("#an-map").get_attribute("data-cells"))
    page.get_by_label("One hour of the week").check()
    page.locator("#an-how").fill("3")  # Monday 03:00: a quiet hour, fewer cells
    expect(page.locator("#an-how-label")).to_contain_text(":00")
    page.wait_for_function(
        f"() => Number(document.querySelector('#an-map').dataset.cells) < {every_hour}", timeout=10_000
    )

    # The drivers table sorts by a column, both ways.
    page.locator('#an-drivers th[data-key="trips"] button').click()  # trips: biggest first already → smallest
    trips = [int(t) for t in page.locator("#an-drivers tbody tr td:nth-child(5)").all_inner_texts()]
    assert trips == sorted(trips)
    page.locator('#an-drivers th[data-key="name"] button').click()
    names = page.locator("#an-drivers tbody th").all_inner_texts()
    assert names == sorted(names, key=str.lower)

    # A CSV of the drivers, named for the range.
    with page.expect_download() as info:
        page.locator("#csv-drivers").click()
    download = info.value
    assert download.suggested_filename.startswith("hexfleet-analytics-drivers-")
    assert download.suggested_filename.endswith(".csv")
    table = list(csv.reader(Path(download.path()).read_text().splitlines()))
    assert table[0][:2] == ["driver_id", "name"]
    assert len([row for row in table[1:] if row[1].startswith("Analytics driver")]) == 25
    assert len(table) - 1 == page.locator("#an-drivers tbody tr").count()  # the file is the table


def test_an_empty_range_says_so(page: Page, login, stack, fleet):
    login(page, next_path="/analytics")
    loaded(page, 1)
    page.get_by_role("button", name="Custom").click()
    start = fleet.start.date()
    page.locator("#an-from").fill((start - timedelta(days=120)).isoformat())
    page.locator("#an-to").fill((start - timedelta(days=100)).isoformat())
    page.get_by_role("button", name="Show").click()
    loaded(page, 2)
    expect(page.locator("#an-status")).to_contain_text("Nothing recorded")
    expect(page.locator("#chart-demand .an-empty")).to_be_visible()
    expect(page.locator(".an-map-note")).to_be_visible()
    expect(page.locator("#an-drivers tbody")).to_contain_text("No driver worked")
    page.screenshot(path=str(SHOTS / "analytics-1366-empty.png"), full_page=True)


def test_on_a_phone(browser: Browser, stack, fleet):
    context = browser.new_context(base_url=stack.base_url, timezone_id="Europe/Berlin", locale="de-DE", **PHONE)
    try:
        phone = context.new_page()
        phone.goto("/login?next=/analytics")
        phone.get_by_label("Email").fill(stack.dispatcher_email)
        phone.get_by_label("Password").fill(stack.password)
        with phone.expect_navigation(wait_until="load"):
            phone.get_by_role("button", name="Sign in").click()
        loaded(phone, 1)
        expect(phone.locator("#chart-demand canvas")).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px phone"
        phone.screenshot(path=str(SHOTS / "analytics-390-data.png"))
        phone.screenshot(path=str(SHOTS / "analytics-390-data-full.png"), full_page=True)
        phone.get_by_role("button", name="Custom").click()
        start = fleet.start.date()
        phone.locator("#an-from").fill((start - timedelta(days=90)).isoformat())
        phone.locator("#an-to").fill((start - timedelta(days=80)).isoformat())
        phone.get_by_role("button", name="Show").click()
        loaded(phone, 2)
        expect(phone.locator("#an-status")).to_contain_text("Nothing recorded")
        phone.screenshot(path=str(SHOTS / "analytics-390-empty.png"), full_page=True)
    finally:
        context.close()


def test_customers_are_refused(page: Page, login, stack, fleet):
    login(page, email=stack.customer_email)
    # A rider is not told the page exists: the page of a path that does not.
    response = page.goto("/analytics")
    assert response is not None and response.status == 404
    expect(page.locator("main")).to_contain_text("/analytics")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    answer = httpx.get(f"{stack.base_url}/api/v1/analytics/summary", cookies=cookies, timeout=10)
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"


def test_the_control_room_shows_where_drivers_will_be_short(page: Page, login, stack, fleet):
    """The outlook's layer: cells where the coming hour's expected requests (the same hour of
    the past weeks of the generated fleet) exceed what the drivers there now can take."""
    # Whatever hour the test runs at (the generated fleet is quiet at night), the centre had a
    # busy one at this hour of the past four weeks: 8 more requests in each of its rollup rows.
    centre = cell_of(52.52, 13.405, 7)
    hours = [h for pair in history_hours(datetime.now(UTC), 4) for h in pair]
    _run_async(_busier(stack.env["DATABASE_URL"], centre, hours))
    outlook = httpx.get(
        f"{stack.base_url}/api/v1/analytics/outlook",
        headers={"Authorization": f"Bearer {stack.staff_token}"},
        timeout=10,
    ).json()
    short = [c for c in outlook["cells"] if c["short"]]
    assert outlook["weeks_known"] == 4 and short
    login(page)
    toggle = page.get_by_label("Short of drivers")
    expect(toggle).not_to_be_checked()
    toggle.check()
    expect(page.locator("path.hf-short-cell")).to_have_count(len(short))
    expect(page.locator(".hf-short-note")).to_contain_text("cell")
    page.screenshot(path=str(SHOTS / "control-room-short-of-drivers-1366.png"))
    page.reload()  # remembered in this browser
    expect(page.get_by_label("Short of drivers")).to_be_checked()
    expect(page.locator("path.hf-short-cell")).to_have_count(len(short))
    page.get_by_label("Short of drivers").uncheck()
    expect(page.locator("path.hf-short-cell")).to_have_count(0)
