"""One way to show times and money, in the viewer's locale and time zone (static/js/lib/format.js).

Each page is opened in browsers set to another locale and zone: en-US in New York (12-hour
clock, "€8.15"), de-DE in Berlin (24-hour, "8,15 €") and ja-JP in Tokyo (24-hour, "￥1,200").
What the page shows is checked against what it should be there, worked out here from the
instant or amount the page itself carries (<time datetime>, the API's minor units): times,
money in EUR and in JPY, durations and distances on the rider's booking form, tracking page
and rides list, the driver app, the control room and the history; the UTC time is in each
time's title, and on a touch screen a tap shows it.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import ARTIFACTS, PASSWORD, _cli, _cli_json, _run_async
from playwright.sync_api import Browser, Page, expect
from test_driver_app import create_link, phone_context, sign_in, wait_for_fix
from test_history import _write, known_track, open_range

DRESDEN = (51.0504, 13.7373)  # far from every other test's drivers: offers go to this test's alone
ROSTOCK = (54.0924, 12.0991)  # no driver at all


@dataclass(frozen=True)
class Locale:
    """How the locale writes what we check (CLDR, as Chromium has it)."""

    tag: str
    zone: str
    twelve_hour: bool
    decimal: str
    group: str
    eur: str  # {n}: the number
    jpy: str

    def number(self, value: float, digits: int = 0) -> str:
        text = f"{value:,.{digits}f}"
        return text.replace(",", "\0").replace(".", self.decimal).replace("\0", self.group)

    def money(self, minor: int, currency: str) -> str:
        digits = {"EUR": 2, "JPY": 0}[currency]
        pattern = self.eur if currency == "EUR" else self.jpy
        return pattern.format(n=self.number(minor / 10**digits, digits))

    def distance(self, metres: float) -> str:
        if round(metres) < 1000:
            return f"{self.number(round(metres))} m"
        km = metres / 1000
        return f"{self.number(km, 1 if km < 99.95 else 0)} km"

    def minutes(self, seconds: float) -> str:
        whole = max(1, math.floor(seconds / 60 + 0.5))
        hours, rest = divmod(whole, 60)
        if not hours:
            return f"{rest} min"
        return f"{hours} h {rest} min" if rest else f"{hours} h"

    def clock(self, iso: str, seconds: bool = False) -> str:
        at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(self.zone))
        tail = f":{at:%S}" if seconds else ""
        if self.twelve_hour:
            return f"{at.hour % 12 or 12}:{at:%M}{tail} {'AM' if at.hour < 12 else 'PM'}"
        return f"{at:%H:%M}{tail}"


EN_US = Locale("en-US", "America/New_York", True, ".", ",", "€{n}", "¥{n}")
DE_DE = Locale("de-DE", "Europe/Berlin", False, ",", ".", "{n} €", "{n} ¥")
JA_JP = Locale("ja-JP", "Asia/Tokyo", False, ".", ",", "€{n}", "￥{n}")
LOCALES = [pytest.param(loc, id=loc.tag) for loc in (EN_US, DE_DE, JA_JP)]


def same(text: str) -> str:
    """Spaces as the page has them (no-break, narrow) read as one plain space."""
    return re.sub(r"[\s\u202f]+", " ", text).strip()


def text_of(locator) -> str:
    return same(locator.inner_text())


def utc_text(iso: str) -> str:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def check_time(locator, loc: Locale, seconds: bool = False) -> str:
    """A <time>: the local clock in the locale's own way, UTC in its title. Its datetime."""
    iso = locator.get_attribute("datetime")
    assert iso, "a time element carries its instant"
    expect(locator).to_have_attribute("title", re.compile(re.escape(utc_text(iso)) + "$"))
    assert loc.clock(iso, seconds) in text_of(locator), (text_of(locator), loc.clock(iso, seconds))
    assert "UTC" not in locator.inner_text()
    return iso


def context_for(browser: Browser, stack, loc: Locale, **options):
    return browser.new_context(base_url=stack.base_url, locale=loc.tag, timezone_id=loc.zone, **options)


def sign_in_page(page: Page, email: str, next_path: str) -> None:
    page.goto(f"/login?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Sign in").click()


def offset(point: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    lat, lng = point
    return round(lat + north_m / 111_320, 6), round(lng + east_m / (111_320 * math.cos(math.radians(lat))), 6)


@pytest.fixture(scope="module")
def rider(stack) -> dict:
    """A rider of this module's own: other tests' "My rides" stay as they were."""
    return _cli_json(stack.env, "users", "add", "--email", "formats@e2e.test", "--password", PASSWORD,
                     "--role", "customer")  # fmt: skip


def book(stack, token: str, pickup: tuple[float, float], dropoff: tuple[float, float], name: str) -> dict:
    """A ride booked through the API (a quote, then the booking)."""
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api:
        points = {"pickup": {"lat": pickup[0], "lng": pickup[1]}, "dropoff": {"lat": dropoff[0], "lng": dropoff[1]}}
        quote = api.post("/api/v1/quotes", json=points)
        assert quote.status_code == 201, quote.text
        passenger = {"name": name, "phone": "+49 351 5550101"}
        # Nobody may be near: booking for now anyway takes the rider's word for it.
        body = {"quote_id": quote.json()["quote_id"], "passenger": passenger, "confirm_no_driver": True}
        booking = api.post("/api/v1/bookings", json=body)
        assert booking.status_code == 201, booking.text
        return booking.json()


def newest_booking(stack, token: str) -> int:
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        return client.get("/api/v1/bookings", params={"limit": 1}).json()["bookings"][0]["id"]


def cancel(stack, token: str, booking_id: int) -> None:
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "test over"})


# ---------------------------------------------------------------- the rider's pages, in EUR


@pytest.mark.parametrize("loc", LOCALES)
def test_the_rider_reads_prices_times_and_distances_their_way(browser: Browser, stack, rider, loc: Locale):
    context = context_for(browser, stack, loc)
    page = context.new_page()
    booking_id = None
    try:
        sign_in_page(page, "formats@e2e.test", "/ride")
        expect(page.locator(".rd-class-from").first).to_have_text(f"from {loc.money(700, 'EUR')}")  # the fare's minimum

        # Places typed as coordinates (no geocoder here): the price comes in the locale's way.
        for field, point in (("#pickup-input", ROSTOCK), ("#dropoff-input", offset(ROSTOCK, -1800, 2600))):
            page.locator(field).fill(f"{point[0]:.5f}, {point[1]:.5f}")
            page.locator(field).press("Enter")
        expect(page.locator("#quote")).to_have_attribute("data-state", "ready", timeout=10_000)
        quote = page.evaluate("window.hexfleetRide.quote")
        assert quote["currency"] == "EUR"
        expect(page.locator("#quote-price")).to_have_text(loc.money(quote["price_minor"], "EUR"))
        assert text_of(page.locator("#quote-distance")) == loc.distance(quote["distance_m"])
        assert text_of(page.locator("#quote-duration")) == loc.minutes(quote["duration_s"])
        page.get_by_text("Price breakdown").click()
        total = page.locator("#quote-breakdown .rd-total dd")
        expect(total).to_have_text(loc.money(quote["price_minor"], "EUR"))
        page.screenshot(path=str(ARTIFACTS / f"formats-ride-{loc.tag}.png"))

        page.locator("#passenger-name").fill("Fritz Format")
        page.locator("#passenger-phone").fill("+49 381 5550100")
        # No car is near Rostock: the page asks before it books for now.
        page.get_by_role("button", name="Book now").click()
        with page.expect_navigation(url=re.compile(r"/t/[^/?]+$")):
            page.get_by_role("button", name="Book and keep looking").click()
        booking_id = newest_booking(stack, rider["token"])

        # The tracking page: the price, the distance, the time each step was reached.
        facts = page.locator(".rd-facts")
        price = facts.locator("div", has=page.get_by_text("Price", exact=True)).locator("dd")
        expect(price).to_have_text(loc.money(quote["price_minor"], "EUR"))
        distance = facts.locator("div", has=page.get_by_text("Distance", exact=True)).locator("dd")
        expect(distance).to_have_text(loc.distance(quote["distance_m"]))
        booked = page.locator(".rd-step-time time").first
        check_time(booked, loc)
        page.screenshot(path=str(ARTIFACTS / f"formats-track-{loc.tag}.png"))

        # My rides: the same ride, the same way.
        page.goto("/rides")
        card = page.locator(f'.ride-card[data-booking-id="{booking_id}"]')
        expect(card.locator(".ride-price")).to_have_text(loc.money(quote["price_minor"], "EUR"))
        check_time(card.locator(".ride-meta time"), loc)
        assert loc.distance(quote["distance_m"]) in text_of(card.locator(".ride-meta"))
        # Riders and drivers see money the same way now: never "8.15 EUR".
        assert "EUR" not in page.locator("#rides-list").inner_text()
    finally:
        if booking_id is not None:
            cancel(stack, rider["token"], booking_id)
        context.close()


def test_a_tap_shows_the_utc_time_on_a_touch_screen(browser: Browser, stack, rider):
    """Nothing hovers on a phone: a tap on a time shows its UTC, another the local time again."""
    loc = JA_JP
    context = context_for(browser, stack, loc, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    booking = None
    try:
        booking = book(stack, rider["token"], ROSTOCK, offset(ROSTOCK, 2200, 0), "Tapio")
        page.goto(booking["tracking_url"])
        booked = page.locator(".rd-step-time time").first
        iso = check_time(booked, loc)
        booked.tap()
        expect(booked).to_have_text(utc_text(iso))
        booked.tap()
        assert text_of(booked) == loc.clock(iso)
    finally:
        if booking is not None:
            cancel(stack, rider["token"], booking["id"])
        context.close()


# ---------------------------------------------------------------- the driver app and the control room, in JPY


@pytest.fixture
def yen(stack):
    """The standard fare in Japanese yen (no minor unit) for one test, then back in euros."""
    _cli(stack.env, "fares", "set", "standard", "--currency", "JPY", "--base", "300", "--per-km", "150",
         "--per-minute", "40", "--booking-fee", "100", "--minimum", "700")  # fmt: skip
    yield
    _cli(stack.env, "fares", "set", "standard", "--currency", "EUR", "--base", "2.50", "--per-km", "1.35",
         "--per-minute", "0.30", "--booking-fee", "1.00", "--minimum", "7.00")  # fmt: skip


def test_driver_app_and_control_room_show_yen_times_and_distances_their_way(
    browser: Browser, page, login, stack, rider, yen
):
    driver = stack.add_driver("Yoko Yen", "+49 351 5550100", "DD-YY 100")
    login(page)
    link = create_link(page, driver.id)
    here = DRESDEN
    phone_loc = DE_DE
    geolocation = {"latitude": here[0], "longitude": here[1], "accuracy": 8}
    with phone_context(
        browser,
        stack,
        geolocation=geolocation,
        permissions=["geolocation"],
        locale=phone_loc.tag,
        timezone_id=phone_loc.zone,
    ) as context:
        phone = context.new_page()
        sign_in(phone, link, driver.name)
        expect(phone.locator("#d-location")).to_have_attribute("data-state", "sending", timeout=10_000)
        wait_for_fix(phone, stack, driver, here)
        # A rider books 600 m north: the offer, in yen and in German.
        booking = book(stack, rider["token"], offset(here, 600, 0), offset(here, 2600, 2400), "Yuki")
        assert booking["currency"] == "JPY"
        offer = phone.locator("#d-offer")
        expect(offer).to_be_visible(timeout=15_000)
        expect(offer.locator("#d-offer-price")).to_have_text(phone_loc.money(booking["price_minor"], "JPY"))
        seen = phone.evaluate("window.hexfleetDriver.state.offer")
        # Under a kilometre, to ten metres ("about"): 600 m away.
        near = max(10, round(seen["distance_m"] / 10) * 10)
        assert text_of(offer.locator("#d-offer-distance")) == f"{phone_loc.distance(near)} away"
        assert re.fullmatch(r"about \d+ min", text_of(offer.locator("#d-offer-eta")))
        assert re.fullmatch(r"about \d+,\d km", text_of(offer.locator("#d-offer-trip")))  # a German decimal comma
        phone.screenshot(path=str(ARTIFACTS / "formats-driver-offer-de-DE.png"))

        # The dispatcher (en-US, New York) sees the same booking in yen, the American way.
        desk = EN_US
        desk_context = context_for(browser, stack, desk)
        try:
            room = desk_context.new_page()
            room.goto("/")  # a fresh context: sign in
            room.get_by_label("Email").fill(stack.dispatcher_email)
            room.get_by_label("Password").fill(stack.password)
            with room.expect_navigation(wait_until="load"):
                room.get_by_role("button", name="Sign in").click()
            expect(room.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=10_000)
            # The driver's card: the last fix's time (with seconds), its age, UTC on hover.
            room.locator(f'.driver-row[data-driver-id="{driver.id}"]').click()
            card = room.locator("#driver-detail")
            check_time(card.locator("time[data-format='time-seconds']"), desk, seconds=True)
            expect(card.locator("time[data-format='ago']")).to_have_text(re.compile(r"^(just now|\d+\s+(s|min) ago)$"))
            # The booking queue and the booking card.
            room.get_by_role("tab", name="Bookings").click()
            row = room.locator(f'.booking-row[data-booking-id="{booking["id"]}"]')
            expect(row.locator(".price")).to_have_text(desk.money(booking["price_minor"], "JPY"))
            row.click()
            trip = room.locator("#booking-detail .facts div", has=room.get_by_text("Trip", exact=True)).locator("dd")
            expect(trip).to_have_text(f"{desk.distance(booking['distance_m'])} · {desk.minutes(booking['duration_s'])}")
            expect(room.locator("#booking-detail .detail-head")).to_contain_text(
                desk.money(booking["price_minor"], "JPY")
            )
            room.screenshot(path=str(ARTIFACTS / "formats-control-room-en-US.png"))
        finally:
            desk_context.close()
        offer.get_by_role("button", name="Decline").tap()
    cancel(stack, rider["token"], booking["id"])


# ---------------------------------------------------------------- history


@pytest.fixture(scope="module")
def hana(stack):
    driver = stack.add_driver("Hana History", "+49 30 5550888", "B-HH 888")
    start = time.time() - 2 * 3600
    _run_async(_write(stack.env["DATABASE_URL"], driver.id, known_track(start)))
    return driver, start


@pytest.mark.parametrize("loc", [pytest.param(DE_DE, id="de-DE"), pytest.param(JA_JP, id="ja-JP")])
def test_history_in_the_viewers_locale(browser: Browser, stack, hana, loc: Locale):
    driver, start = hana
    context = context_for(browser, stack, loc)
    page = context.new_page()
    try:
        sign_in_page(page, stack.dispatcher_email, "/")
        open_range(page, driver.id, start, loc.zone)
        summary = page.locator("#history-result")
        assert text_of(summary.locator("#sum-distance")) == loc.distance(15_000)  # 6 km east, 9 km north
        assert text_of(summary.locator("#sum-duration")) == "25 min"
        assert text_of(summary.locator("#sum-stopped")) == "5 min"
        expect(summary.locator("#sum-fixes")).to_have_text(f"{loc.number(751)}+ 3 flagged")
        # The player's clock: the first fix, in the zone the form shows (the browser's).
        clock = page.locator("#clock")
        check_time(clock, loc, seconds=True)
        assert datetime.fromisoformat(
            clock.get_attribute("datetime").replace("Z", "+00:00")
        ).timestamp() == pytest.approx(start, abs=1)
        stop = page.locator("#stops .stop-item").first
        assert "5 min" in text_of(stop.locator(".stop-length"))
        page.screenshot(path=str(ARTIFACTS / f"formats-history-{loc.tag}.png"))
    finally:
        context.close()
