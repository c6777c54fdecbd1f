"""A whole ride in browsers only: a customer books on /ride, the driver takes it on the /d phone
app, both follow it, and the dispatcher's queue shows every step. Also: a scheduled booking in
the queue, and a dispatcher booking for a caller and assigning by hand.

Everything happens around Leipzig, far from the other browser tests' drivers, so dispatch can
only offer these rides to this file's drivers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from conftest import ARTIFACTS
from playwright.sync_api import Page, expect
from test_driver_app import create_link, offset, phone_context, poll, sign_in
from test_rider import api_customer, new_email, sign_up, wait_for_driver_at

LEIPZIG = (51.3397, 12.3731)


def queue_row(page: Page, booking_id: int):
    return page.locator(f'.booking-row[data-booking-id="{booking_id}"]')


def open_bookings(page: Page) -> None:
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=10_000)
    page.get_by_role("tab", name="Bookings").click()
    expect(page.locator("#booking-queue-body")).to_be_visible()


def test_a_ride_from_booking_to_drop_off_in_three_browsers(page: Page, login, stack, browser):
    driver = stack.add_driver("Lise Meitner", "+49 341 5550101", "L-HX 101")
    pickup = offset(LEIPZIG, 120, -80)
    dropoff = offset(LEIPZIG, 1800, 2500)
    stack.ping(driver, *offset(pickup, -60, 0))  # a minute away from the pickup

    # The dispatcher: connect the driver's phone, then watch the booking queue.
    login(page)
    link = create_link(page, driver.id)
    page.get_by_role("button", name="Close driver details").click()
    open_bookings(page)

    with (
        phone_context(
            browser,
            stack,
            geolocation={"latitude": pickup[0] - 0.0005, "longitude": pickup[1], "accuracy": 8},
            permissions=["geolocation"],
        ) as phone_ctx,  # fmt: skip
        phone_context(browser, stack) as rider_ctx,
    ):
        phone = phone_ctx.new_page()
        sign_in(phone, link, driver.name)
        expect(phone.locator("#d-duty")).to_be_visible()

        # The customer signs up and books by typing the two places.
        rider = rider_ctx.new_page()
        sign_up(rider, new_email("e2e-ride"))
        expect(rider).to_have_url(re.compile(r"/ride$"))
        for field, point in (("#pickup-input", pickup), ("#dropoff-input", dropoff)):
            rider.locator(field).fill(f"{point[0]:.6f}, {point[1]:.6f}")
            rider.locator(field).press("Enter")
        expect(rider.locator("#quote")).to_have_attribute("data-state", "ready", timeout=10_000)
        rider.get_by_label("Name").fill("Marie Curie")
        rider.get_by_label("Phone").fill("+49 341 5550199")
        rider.screenshot(path=str(ARTIFACTS / "ride-flow-rider-390x844.png"))
        with rider.expect_navigation(url=re.compile(r"/t/[^/]+$")):
            rider.get_by_role("button", name="Book now").click()
        booking_id = rider.evaluate(
            """() => fetch('/api/v1/bookings?limit=1', {headers: {Accept: 'application/json'}})
                       .then(r => r.json()).then(b => b.bookings[0].id)"""
        )

        # The driver's phone: the offer arrives live, with its countdown; accept.
        offer = phone.locator("#d-offer")
        expect(offer).to_be_visible(timeout=15_000)
        expect(phone.locator("#d-offer-price")).to_contain_text("€")
        phone.screenshot(path=str(ARTIFACTS / "ride-flow-offer-390x844.png"))
        # The dispatcher sees who is being asked, with the seconds left.
        expect(queue_row(page, booking_id)).to_contain_text("asking Lise Meitner", timeout=10_000)
        expect(queue_row(page, booking_id).locator(".countdown")).to_have_text(re.compile(r"\d+\s+s left"))
        phone.locator("#d-accept").tap()
        expect(phone.locator("#d-trip")).to_be_visible(timeout=10_000)
        expect(phone.locator("#d-trip-title")).to_have_text(re.compile("pickup", re.I))

        # The rider sees the driver coming, live; the dispatcher sees the ride under way.
        state = rider.locator("#track-state")
        expect(state).to_have_attribute("data-status", "assigned", timeout=10_000)
        expect(rider.locator(".track-title")).to_have_text("Lise Meitner is on the way")
        under_way = page.locator(".queue-active")
        expect(under_way.locator(f'[data-booking-id="{booking_id}"]')).to_contain_text("Lise Meitner", timeout=10_000)
        moved = offset(pickup, -20, 0)
        stack.ping(driver, *moved, heading=0)
        wait_for_driver_at(rider, *moved, timeout=10_000)

        # The driver's buttons, one step at a time; each shows on the rider's page and the queue.
        for step_name, status, badge in (
            ("arrived", "arrived", "At pickup"),
            ("start", "in_progress", "On board"),
        ):
            step = phone.locator("#d-step")
            expect(step).to_have_attribute("data-step", step_name)
            step.tap()
            expect(state).to_have_attribute("data-status", status, timeout=10_000)
            expect(queue_row(page, booking_id)).to_contain_text(badge, timeout=10_000)
        on_the_way = offset(dropoff, -300, -300)
        stack.ping(driver, *on_the_way, heading=45)
        wait_for_driver_at(rider, *on_the_way, timeout=10_000)
        rider.screenshot(path=str(ARTIFACTS / "ride-flow-tracking-390x844.png"))
        expect(phone.locator("#d-step")).to_have_attribute("data-step", "complete")
        phone.locator("#d-step").tap()
        expect(state).to_have_attribute("data-status", "completed", timeout=10_000)
        expect(rider.locator(".track-title")).to_contain_text("arrived", ignore_case=True)
        # The queue lets go of a finished ride; the driver is free again.
        expect(queue_row(page, booking_id)).to_have_count(0, timeout=10_000)
        expect(phone.locator("#d-duty")).to_be_visible(timeout=10_000)

        def available():
            with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {stack.staff_token}"}) as c:
                return c.get(f"/api/v1/drivers/{driver.id}").json()["status"] == "available"

        poll(phone, available, "the driver is not available again")
    page.screenshot(path=str(ARTIFACTS / "ride-flow-queue-1366x768.png"))


def test_a_scheduled_booking_waits_in_the_queue(page: Page, login, stack):
    _, token = api_customer(stack)
    when = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    pickup, dropoff = offset(LEIPZIG, -400, 0), offset(LEIPZIG, -2400, 900)
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        quote = client.post(
            "/api/v1/quotes",
            json={"pickup": {"lat": pickup[0], "lng": pickup[1]}, "dropoff": {"lat": dropoff[0], "lng": dropoff[1]}},
        ).json()
        booking = client.post(
            "/api/v1/bookings",
            json={"quote_id": quote["quote_id"], "passenger": {"name": "Emmy Noether", "phone": "+49 341 5550123"},
                  "scheduled_for": when},
        ).json()  # fmt: skip
    assert booking["status"] == "scheduled"
    login(page)
    open_bookings(page)
    row = page.locator(".queue-scheduled").locator(f'[data-booking-id="{booking["id"]}"]')
    expect(row).to_contain_text("Emmy Noether")
    expect(row).to_contain_text("pickup")
    row.click()
    card = page.locator("#booking-detail")
    expect(card).to_contain_text("Pickup time")
    expect(page.locator(".hf-pin-pickup")).to_have_count(1)
    expect(page.locator(".hf-pin-dropoff")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "queue-scheduled-1366x768.png"))


def test_a_dispatcher_books_for_a_caller_and_assigns_by_hand(page: Page, login, stack):
    driver = stack.add_driver("Otto Hahn", "+49 341 5550202", "L-HX 202")
    pickup, dropoff = offset(LEIPZIG, 900, 900), offset(LEIPZIG, -1500, 2200)
    stack.ping(driver, *offset(pickup, 200, 0))
    stack.wait_for_fix(driver, *offset(pickup, 200, 0))
    login(page)
    open_bookings(page)
    page.get_by_role("button", name="New booking for a caller").click()
    form = page.locator("#phone-booking-form")
    form.get_by_label("Passenger").fill("Caller Carla")
    form.get_by_label("Phone").fill("+49 341 5550155")
    # Typed as coordinates into the place search boxes (test_control_room_first_look finds places by name).
    form.get_by_role("combobox", name="Pickup").fill(f"{pickup[0]:.6f}, {pickup[1]:.6f}")
    form.get_by_role("combobox", name="Drop-off").fill(f"{dropoff[0]:.6f}, {dropoff[1]:.6f}")
    form.get_by_label("When").select_option("later")  # booked ahead: no automatic offer meanwhile
    in_an_hour = datetime.now() + timedelta(hours=1)
    form.get_by_label("Pickup time (your time zone)").fill(in_an_hour.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_role("button", name="Get the price").click()
    expect(page.locator(".quote-price")).to_contain_text("€")  # the browser's locale: en-US
    page.get_by_role("button", name="Book it").click()
    card = page.locator("#booking-detail")
    expect(card).to_contain_text("for Caller Carla")
    expect(card).to_contain_text("Scheduled")
    # The nearest available drivers, with distance and ETA: give it to Otto Hahn.
    nearest = card.locator(".nearest-row").filter(has_text="Otto Hahn")
    expect(nearest).to_contain_text(re.compile(r"\b(19\d|20\d)\s+m\b"))  # 200 m, as the crow flies
    nearest.get_by_role("button", name="Assign").click()
    # (The card may already show the live refresh that followed, without the confirmation line.)
    expect(card.locator(".detail-sub .badge")).to_have_text("Assigned")
    expect(card).to_contain_text("DriverOtto Hahn")
    booking_id = int(card.get_attribute("data-booking-id"))
    expect(page.locator(".queue-active").locator(f'[data-booking-id="{booking_id}"]')).to_contain_text("Otto Hahn")
    page.screenshot(path=str(ARTIFACTS / "queue-assigned-1366x768.png"))
    # The caller's link was read out to the wrong person: a new one, and the old one stops working.
    link = card.get_by_role("link", name="open the rider's view")
    old_link = link.get_attribute("href")
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="New link").click()
    expect(card.get_by_role("link", name="open the rider's view")).not_to_have_attribute("href", old_link)
    expect(card.locator(".timeline")).to_contain_text("new tracking link · dispatcher")
    assert page.request.get(old_link).status == 410
    assert page.request.get(card.get_by_role("link", name="open the rider's view").get_attribute("href")).status == 200
    # Cancel with a reason: the driver is free again.
    card.get_by_placeholder("Reason (told to the rider)").fill("Caller rang back")
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Cancel booking").click()
    expect(card.locator(".detail-sub .badge")).to_have_text("Cancelled")
    expect(card).to_contain_text("Caller rang back")
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {stack.staff_token}"}) as client:
        assert client.get(f"/api/v1/drivers/{driver.id}").json()["status"] == "available"
