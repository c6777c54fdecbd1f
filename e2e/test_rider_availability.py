"""Booking what can be served, in a real browser: a quote for a class with no driver near says so
first and offers the classes that have one (one tap asks their price); booking it for now takes
an explicit confirmation, and the ride's page then says until when it keeps looking. A booking the
server refuses for nobody near (409 no-driver-near) asks the same question. Scheduled rides are
booked without it.

Everything happens around Magdeburg, away from the other browser tests' drivers.
Screenshots at 1366x768 and 390x844 go to E2E_SHOTS (default /tmp/shots-rider/).
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime

import httpx
import pytest
from conftest import _cli
from playwright.sync_api import Page, Route, expect
from test_rider import PHONE, api_customer, assert_in_view, assert_uncovered, offset, shot, sign_in

MAGDEBURG = (52.1205, 11.6276)
PICKUP = offset(*MAGDEBURG, 200, 0)
DROPOFF = offset(*MAGDEBURG, -1800, 2400)


@pytest.fixture(scope="module")
def standard_near(stack):
    """An XL fare (so the form offers XL) and a standard car 300 m from the pickup: no XL car anywhere."""
    _cli(stack.env, "fares", "set", "xl", "--currency", "EUR", "--base", "4.00", "--per-km", "2.00",
         "--per-minute", "0.40", "--booking-fee", "1.00", "--minimum", "12.00")  # fmt: skip
    driver = stack.add_driver("Otto von Guericke", "+49 391 5550101", "MD-OG 1602")
    at = offset(*PICKUP, 300, 0)
    stack.ping(driver, *at)
    stack.wait_for_fix(driver, *at)
    return driver


def set_route(page: Page) -> None:
    for field, point in (("#pickup-input", PICKUP), ("#dropoff-input", DROPOFF)):
        page.locator(field).fill(f"{point[0]:.5f}, {point[1]:.5f}")
        page.locator(field).press("Enter")


def choose_class(page: Page, name: str) -> None:
    page.locator(".rd-class", has_text=name).click()


def cancel_all(stack, token: str) -> None:
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        for booking in client.get("/api/v1/bookings", params={"limit": 20}).json()["bookings"]:
            if booking["status"] not in ("completed", "cancelled", "no_driver"):
                client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={})


def test_no_xl_car_near_says_so_suggests_standard_and_books_only_when_confirmed(page: Page, stack, standard_near):
    email, token = api_customer(stack)
    sign_in(page, email)
    page.locator("#passenger-name").fill("Anna Amalia")
    page.locator("#passenger-phone").fill("+49 391 5550123")
    choose_class(page, "XL")
    set_route(page)
    quote = page.locator("#quote")
    expect(quote).to_have_attribute("data-state", "ready")
    notice = page.locator("#quote-availability")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("No XL car is near right now.")
    expect(notice).to_contain_text("If you book it now, we'll keep looking for 5 minutes.")
    expect(page.locator("#quote-eta")).to_have_text("None nearby right now")
    # All of it in view at once: what is missing, what is near, and the Book button.
    assert_uncovered(page, '#quote-availability [data-suggest="standard"]')
    assert_uncovered(page, "#book-button")
    shot(page, "ride-no-xl-1366x768")

    # One tap asks the price of a class that has a driver near.
    notice.get_by_role("button", name="Standard").click()
    expect(page.locator('input[name="vehicle_class"][value="standard"]')).to_be_checked()
    expect(quote).to_have_attribute("data-state", "ready")
    expect(notice).to_be_hidden()
    expect(page.locator("#quote-eta")).to_have_text(re.compile(r"min away$"))
    assert page.evaluate("() => window.hexfleetRide.quote.vehicle_class") == "standard"

    # Back to XL: booking it now asks first, and "Not now" books nothing.
    choose_class(page, "XL")
    expect(notice).to_be_visible()
    page.get_by_role("button", name="Book now").click()
    confirm = page.locator("#book-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("No XL car is near: we'll keep looking for 5 minutes.")
    expect(page.get_by_role("button", name="Book and keep looking")).to_be_focused()
    expect(page.locator("#book-button")).to_be_hidden()
    assert_uncovered(page, "#confirm-book")
    shot(page, "ride-confirm-1366x768")
    page.get_by_role("button", name="Not now").click()
    expect(confirm).to_be_hidden()
    expect(page.locator("#book-button")).to_be_visible()
    page.get_by_role("button", name="Book now").click()
    with page.expect_navigation(url=re.compile(r"/t/[^/]+$")):
        page.get_by_role("button", name="Book and keep looking").click()

    # The ride's page: still looking, and until when (in the rider's own time).
    expect(page.locator(".track-title")).to_have_text("Finding you a driver")
    until = page.locator(".track-sub time")
    expect(page.locator(".track-sub")).to_contain_text("keep looking until")
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        booking = client.get("/api/v1/bookings", params={"limit": 1}).json()["bookings"][0]
    assert booking["vehicle_class"] == "xl" and booking["status"] in ("searching", "offered")
    expected = datetime.fromisoformat(booking["search_until"].replace("Z", "+00:00")).replace(microsecond=0)
    assert datetime.fromisoformat(until.get_attribute("datetime")) == expected
    shot(page, "track-keeps-looking-1366x768")
    cancel_all(stack, token)


def test_a_scheduled_xl_ride_needs_no_confirmation(page: Page, stack, standard_near):
    email, token = api_customer(stack)
    sign_in(page, email)
    choose_class(page, "XL")
    page.get_by_text("Later", exact=True).click()
    when = page.get_by_label("Pickup time")
    when.fill(time.strftime("%Y-%m-%dT%H:%M", time.localtime(time.time() + 3 * 3600)))
    when.dispatch_event("change")
    set_route(page)
    expect(page.locator("#quote")).to_have_attribute("data-state", "ready")
    expect(page.locator("#quote-availability")).to_be_hidden()
    page.locator("#passenger-name").fill("Anna Amalia")
    page.locator("#passenger-phone").fill("+49 391 5550123")
    with page.expect_navigation(url=re.compile(r"/t/[^/]+$")):
        page.get_by_role("button", name="Schedule ride").click()
    expect(page.locator(".track-title")).to_have_text("Your ride is booked")
    cancel_all(stack, token)


def test_a_booking_refused_for_nobody_near_asks_the_same_question(page: Page, stack, standard_near):
    """The quote the page read did not say (an older server, or a driver who just went off duty):
    the server's 409 no-driver-near asks the rider, and the confirmation books it."""

    def without_availability(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["availability"] = None
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/api/v1/quotes", without_availability)
    email, token = api_customer(stack)
    sign_in(page, email)
    choose_class(page, "XL")
    set_route(page)
    expect(page.locator("#quote")).to_have_attribute("data-state", "ready")
    expect(page.locator("#quote-availability")).to_be_hidden()
    page.locator("#passenger-name").fill("Anna Amalia")
    page.locator("#passenger-phone").fill("+49 391 5550123")
    with page.expect_response("**/api/v1/bookings") as refused:
        page.get_by_role("button", name="Book now").click()
    assert refused.value.status == 409
    confirm = page.locator("#book-confirm")
    expect(confirm).to_contain_text("No XL car is near: we'll keep looking for 5 minutes.")
    expect(page.locator("#book-error")).to_be_hidden()
    with page.expect_navigation(url=re.compile(r"/t/[^/]+$")):
        page.get_by_role("button", name="Book and keep looking").click()
    expect(page.locator(".track-title")).to_have_text("Finding you a driver")
    cancel_all(stack, token)


@pytest.mark.browser_context_args(**PHONE)
def test_no_xl_car_near_on_a_phone(page: Page, stack, standard_near):
    email, token = api_customer(stack)
    sign_in(page, email)
    choose_class(page, "XL")
    set_route(page)
    expect(page.locator("#quote-availability")).to_be_visible()
    page.locator("#quote-availability").scroll_into_view_if_needed()
    assert_in_view(page, "#book-button")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    shot(page, "ride-no-xl-390x844")
    page.locator("#passenger-name").fill("Anna Amalia")
    page.locator("#passenger-phone").fill("+49 391 5550123")
    page.get_by_role("button", name="Book now").tap()
    expect(page.locator("#book-confirm")).to_be_visible()
    assert_in_view(page, "#confirm-book")
    shot(page, "ride-confirm-390x844")
    cancel_all(stack, token)
