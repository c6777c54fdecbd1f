"""The Alerts tab: an alert the worker raises appears live in a dispatcher's open control room
(badge, row, beep), is acknowledged with a note, and opens its booking; the mute switch is
remembered. Real stack (the worker evaluates every ALERT_EVERY_S, the relay streams its alerts).

Screenshots (1366x768 and 390x844) go to E2E_SHOTS (default e2e/artifacts/) as alerts-*.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import httpx
from conftest import ARTIFACTS, _run_async
from playwright.sync_api import Page, expect
from test_control_room import wait_until_live

SHOTS = Path(os.environ.get("E2E_SHOTS", str(ARTIFACTS)))
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
# Far from every driver of the suite (about 30 km south-west of the centre): nobody is offered it.
PICKUP = {"lat": 52.30, "lng": 13.10}
DROPOFF = {"lat": 52.31, "lng": 13.12}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"alerts-{name}.png"))


def api(stack) -> httpx.Client:
    return httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {stack.staff_token}"}, timeout=10)


def book_for_a_caller(stack, name: str) -> int:
    with api(stack) as client:
        quote = client.post("/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF})
        assert quote.status_code == 201, quote.text
        booked = client.post(
            "/api/v1/bookings",
            json={"quote_id": quote.json()["quote_id"], "passenger": {"name": name, "phone": "+49 30 5550188"},
                  "confirm_no_driver": True},
        )  # fmt: skip
        assert booked.status_code == 201, booked.text
    return booked.json()["id"]


def waiting_since_minutes_ago(stack, booking_id: int, minutes: float) -> None:
    """As if the caller had booked that long ago (the search's start is what the rule reads)."""

    async def update() -> None:
        conn = await asyncpg.connect(stack.env["DATABASE_URL"])
        try:
            await conn.execute(
                "UPDATE bookings SET search_started_at = now() - make_interval(secs => $2) WHERE id = $1",
                booking_id,
                minutes * 60.0,
            )
        finally:
            await conn.close()

    _run_async(update())


def cancel(stack, booking_id: int) -> None:
    with api(stack) as client:
        client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "test over"})


def open_alerts(page: Page, login) -> None:
    login(page, next_path="/?tab=alerts")
    wait_until_live(page)
    expect(page.locator("#tab-alerts")).to_have_attribute("aria-selected", "true")


def test_an_alert_appears_live_and_is_acknowledged(page: Page, login, stack):
    page.set_viewport_size({"width": 1366, "height": 768})
    booking_id = book_for_a_caller(stack, "Alma Alert")
    try:
        open_alerts(page, login)
        page.locator("#tab-alerts").click()  # a click: the page may make sound from now on
        row = page.locator(".alert-row", has=page.locator(f'[data-open-booking="{booking_id}"]'))
        expect(row).to_have_count(0)
        waiting_since_minutes_ago(stack, booking_id, 3)
        # The worker's next evaluation (every 10 s) raises it; the staff stream brings it here.
        expect(row).to_have_count(1, timeout=30_000)
        expect(row.locator(".alert-label")).to_have_text("No driver yet")
        expect(row.locator(".alert-summary")).to_contain_text(f"Booking #{booking_id} has waited 3 min")
        badge = page.locator("#alerts-count")
        expect(badge).to_be_visible()
        assert int(badge.inner_text()) >= 1
        expect(page.locator("#alerts-live")).to_contain_text("New alert: No driver yet")
        page.wait_for_function("() => (window.hexfleetAlertBeeps || 0) >= 1", timeout=5_000)
        shot(page, "desktop-open")

        before = int(badge.inner_text())
        row.get_by_role("button", name="Acknowledge").click()
        note = row.get_by_label("Note")
        expect(note).to_be_focused()
        note.fill("Called Alma: she waits 10 more minutes")
        shot(page, "desktop-acknowledging")
        row.locator("form").get_by_role("button", name="Acknowledge").click()
        expect(row.locator(".alert-ack")).to_contain_text("Acknowledged by dispatch@e2e.test")
        expect(row.locator(".alert-ack q")).to_have_text("Called Alma: she waits 10 more minutes")
        expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
        if before > 1:
            expect(badge).to_have_text(str(before - 1))
        else:
            expect(badge).to_be_hidden()
        with api(stack) as client:
            acked = client.get("/api/v1/alerts", params={"state": "acknowledged"}).json()["alerts"]
        mine = [a for a in acked if a["booking_id"] == booking_id]
        assert [(a["note"], a["acknowledged_by"]) for a in mine] == [
            ("Called Alma: she waits 10 more minutes", "dispatch@e2e.test")
        ]
        shot(page, "desktop-acknowledged")

        # Open at its booking: the Bookings tab, with the booking's card.
        row.locator(f'[data-open-booking="{booking_id}"]').click()
        expect(page.locator("#tab-bookings")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#booking-detail")).to_have_attribute("data-booking-id", str(booking_id))
    finally:
        cancel(stack, booking_id)
    # Cancelled: the desk resolves it, and it leaves the panel live.
    page.locator("#tab-alerts").click()
    expect(page.locator(f'.alert-row [data-open-booking="{booking_id}"]')).to_have_count(0, timeout=30_000)


def test_the_sound_can_be_muted_and_stays_muted(page: Page, login, stack):
    open_alerts(page, login)
    toggle = page.locator("#alerts-sound")
    expect(toggle).to_have_text("Sound on")
    toggle.click()
    expect(toggle).to_have_text("Sound off")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.locator("#alerts-sound")).to_have_text("Sound off")
    beeps = page.evaluate("() => window.hexfleetAlertBeeps || 0")
    page.locator("#alerts-sound").click()  # on again: one beep to hear what it sounds like
    expect(page.locator("#alerts-sound")).to_have_text("Sound on")
    page.wait_for_function(f"() => (window.hexfleetAlertBeeps || 0) > {beeps}", timeout=5_000)


def test_alerts_on_a_phone(browser, login, stack):
    context = browser.new_context(base_url=stack.base_url, **PHONE)
    page = context.new_page()
    booking_id = book_for_a_caller(stack, "Phil Phone")
    try:
        waiting_since_minutes_ago(stack, booking_id, 4)
        open_alerts(page, login)
        page.locator("#sheet-handle").click()
        row = page.locator(".alert-row", has=page.locator(f'[data-open-booking="{booking_id}"]'))
        expect(row).to_have_count(1, timeout=30_000)
        expect(row).to_be_in_viewport()
        shot(page, "phone-open")
        row.get_by_role("button", name="Acknowledge").click()
        shot(page, "phone-acknowledging")
    finally:
        cancel(stack, booking_id)
        context.close()
