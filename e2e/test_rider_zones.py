"""Zones on the rider page (/ride) in a real browser: a pickup outside the service area is said
on the map before any price is asked for; inside, the price lists the airport's fee and the fixed
fare. Screenshots at 1366x768 and 390x844 go to E2E_SHOTS (default /tmp/shots-rider/)."""

from __future__ import annotations

import secrets

import httpx
import pytest
from conftest import PASSWORD, _cli_json
from playwright.sync_api import Page, expect
from test_rider import PHONE, shot, sign_in

CITY = {"type": "Polygon", "coordinates": [[[13.30, 52.45], [13.50, 52.45], [13.50, 52.58], [13.30, 52.58],
                                             [13.30, 52.45]]]}  # fmt: skip


@pytest.fixture
def zones(stack):
    """A service area around the centre and an airport zone inside it with a pickup fee and a
    fixed fare to the centre; deleted afterwards (the stack is shared by the other tests)."""
    run = secrets.token_hex(2)  # names are unique per run (the stack is shared)
    email = f"zones-admin-{run}@e2e.test"
    admin = _cli_json(stack.env, "users", "add", "--email", email, "--password", PASSWORD, "--role", "admin")
    made: list[int] = []
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {admin['token']}"}, timeout=10) as c:
        try:
            for body in (
                {"name": f"City {run}", "kind": "service_area", "geometry": CITY},
                {"name": f"Centre {run}", "kind": "custom",
                 "geometry": {"type": "Circle", "center": [13.405, 52.52], "radius_m": 1500}},
            ):  # fmt: skip
                res = c.post("/api/v1/zones", json=body)
                assert res.status_code == 201, res.text
                made.append(res.json()["id"])
            airport = {"name": f"Tegel {run}", "kind": "airport",
                       "geometry": {"type": "Circle", "center": [13.2877, 52.5597], "radius_m": 1200},
                       "rules": {"pickup_fee_minor": 400, "fixed_fares": [
                           {"to_zone_id": made[1], "vehicle_class": "standard", "amount_minor": 3200}]}}  # fmt: skip
            res = c.post("/api/v1/zones", json=airport)
            assert res.status_code == 201, res.text
            made.append(res.json()["id"])
            # The airport is outside the city polygon: a service area of its own.
            res = c.post("/api/v1/zones", json={"name": f"Tegel area {run}", "kind": "service_area",
                                                "geometry": airport["geometry"]})  # fmt: skip
            made.append(res.json()["id"])
            yield made
        finally:
            for zone_id in made:
                c.delete(f"/api/v1/zones/{zone_id}")


def _type_point(page: Page, label: str, text: str) -> None:
    page.get_by_label(label, exact=True).fill(text)
    page.get_by_label(label, exact=True).press("Enter")


def _outside_then_airport(page: Page, size: str) -> None:
    _type_point(page, "Pickup", "52.6500, 13.0500")
    notice = page.locator("#ride-map-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("outside the service area")
    _type_point(page, "Drop-off", "52.5200, 13.4050")
    expect(page.locator("#quote")).to_have_attribute("data-state", "error")
    expect(page.locator("#quote-error-text")).to_contain_text("outside the service area")
    shot(page, f"ride-outside-service-area-{size}")
    _type_point(page, "Pickup", "52.5597, 13.2877")
    expect(notice).to_be_hidden()
    expect(page.locator("#quote")).to_have_attribute("data-state", "ready")
    page.locator(".rd-breakdown summary").click()
    breakdown = page.locator("#quote-breakdown")
    expect(breakdown).to_contain_text("Fixed fare: Tegel")
    expect(breakdown).to_contain_text("Pickup fee: Tegel")
    expect(breakdown).not_to_contain_text("Base fare")
    page.locator(".rd-breakdown").scroll_into_view_if_needed()
    shot(page, f"ride-airport-lines-{size}")


def test_outside_the_service_area_is_said_on_the_map_and_airport_lines_are_listed(page: Page, stack, zones):
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, stack.customer_email)
    _outside_then_airport(page, "1366x768")


@pytest.mark.browser_context_args(**PHONE)
def test_the_same_on_a_phone(page: Page, stack, zones):
    sign_in(page, stack.customer_email)
    _outside_then_airport(page, "390x844")
