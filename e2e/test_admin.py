"""Fleet admin in a real browser: an admin adds a driver (its QR codes, device id and token shown once),
edits and deactivates it, adds a dispatcher with a generated password, and reads the audit
log. Screenshots at 1366x768 and 390x844 go to /tmp/shots/ (and e2e/artifacts/)."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import httpx
import pytest
from conftest import ARTIFACTS, PASSWORD, _cli_json
from playwright.sync_api import Browser, Locator, Page, expect

ADMIN_EMAIL = "fleet-admin@e2e.test"
SHOTS = Path("/tmp/shots")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
MIN_TAP_PX = 44  # the smallest comfortable touch target


@pytest.fixture(scope="module")
def admin(stack) -> str:
    _cli_json(stack.env, "users", "add", "--email", ADMIN_EMAIL, "--password", PASSWORD, "--role", "admin")
    return ADMIN_EMAIL


def shot(page: Page, name: str, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    shutil.copy(path, ARTIFACTS / path.name)


def token_status(stack, token: str) -> int:
    """What the server makes of a device token (the driver app's duty call; no map marker)."""
    response = httpx.post(
        f"{stack.base_url}/api/v1/driver/status",
        json={"status": "off_duty"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return response.status_code


def wait_for_status(stack, token: str, status: int, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while (got := token_status(stack, token)) != status:
        if time.monotonic() > deadline:
            raise AssertionError(f"token answered {got}, not {status}, after {timeout} s")
        time.sleep(0.05)


def add_driver(page: Page, name: str, phone: str, plate: str, vehicle_class: str) -> Locator:
    """Fill the add-driver form; returns the panel with the new driver's credentials."""
    slot = page.locator("#add-driver-slot")
    if not slot.is_visible():
        page.locator(".admin-add > summary").click()
    slot.get_by_label("Name").fill(name)
    slot.get_by_label("Phone").fill(phone)
    slot.get_by_label("Vehicle plate").fill(plate)
    slot.get_by_label("Vehicle class").select_option(vehicle_class)
    slot.get_by_role("button", name="Add driver and issue a device token").click()
    created = slot.locator(".admin-created")
    expect(created).to_contain_text(f"{name} is in the fleet")
    return created


def said(*words: str) -> re.Pattern:
    """An audit line as read: these words in order, however the lines wrap."""
    return re.compile(r"^" + r"\s+".join(re.escape(w) for w in words) + r"\b")


def assert_fits_the_phone(page: Page) -> None:
    """Nothing sticks out sideways, and every button and tab is a comfortable tap."""
    wide = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
             .filter((el) => el.checkVisibility() && el.getBoundingClientRect().right > 390.5)
             .slice(0, 8)
             .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}: `
                          + `${Math.round(el.getBoundingClientRect().right)} px`)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"wider than the phone: {wide}"
    small = page.evaluate(
        """(min) => [...document.querySelectorAll('main button, main .btn, main summary, .admin-tab, .admin-back')]
             .filter((el) => el.checkVisibility())
             .map((el) => [el.textContent.trim().slice(0, 40), el.getBoundingClientRect()])
             .filter(([, r]) => r.height < min)
             .map(([text, r]) => `${text}: ${Math.round(r.width)}x${Math.round(r.height)}`)""",
        MIN_TAP_PX,
    )
    assert not small, f"smaller than {MIN_TAP_PX} px: {small}"


def test_an_admin_manages_the_fleet_and_every_action_is_in_the_audit_log(
    page: Page, browser: Browser, login, stack, admin
):
    login(page, email=admin)
    page.get_by_role("link", name="Fleet admin").click()
    expect(page).to_have_url(f"{stack.base_url}/admin/drivers")
    expect(page.get_by_role("heading", name="Drivers")).to_be_visible()
    rows = page.locator("#driver-rows")
    for driver in stack.drivers:  # the stack's drivers, added from the command line
        expect(rows.locator(f"#driver-row-{driver.id}")).to_contain_text(driver.name)
    active = int(page.locator("#driver-count").inner_text().split()[0])
    shot(page, "admin-drivers-1366x768")

    # A mistake is shown in the form, and nothing is added.
    page.locator(".admin-add > summary").click()
    slot = page.locator("#add-driver-slot")
    slot.get_by_label("Phone").fill("call me")
    slot.get_by_role("button", name="Add driver and issue a device token").click()
    expect(slot.locator(".field-error")).to_have_text(
        [
            "Enter the driver's name (up to 200 characters).",
            "Enter a phone number such as +49 30 1234567, or leave it empty.",
        ]
    )
    expect(slot.get_by_label("Name")).to_have_attribute("aria-invalid", "true")

    created = add_driver(page, "Katherine Johnson", "+49 30 5550301", "b-kj 301", "comfort")
    driver_id = int(re.search(r"#(\d+)", created.locator("p").first.inner_text()).group(1))
    token = created.locator("[data-token]").inner_text().strip()
    device_id = created.locator("[data-device-id-once]").inner_text().strip()
    assert token.startswith("hfd_") and len(device_id) == 20
    expect(created).to_contain_text("They are shown only this once")
    expect(created.locator("[data-field='traccar-id']")).to_have_text(device_id)
    for app in ("traccar", "owntracks"):  # both codes carry the id, OwnTracks' the token too: only now
        box = created.locator(f"[data-qr='{app}'] svg").bounding_box()
        assert box is not None and box["width"] >= 100 and abs(box["width"] - box["height"]) < 1, (app, box)
    assert token_status(stack, token) == 200  # the phone's real credentials
    fix = {"id": device_id, "lat": "52.52", "lon": "13.405", "timestamp": str(int(time.time()))}
    assert httpx.get(f"{stack.base_url}/osmand", params=fix, timeout=10).status_code == 200
    created.locator(".connect-once").scroll_into_view_if_needed()
    shot(page, "admin-driver-created-1366x768")
    created.locator("[data-qr='traccar']").scroll_into_view_if_needed()
    shot(page, "admin-driver-created-qr-1366x768")

    # The list below follows at once, with the plate as plates are written, and so does the count.
    expect(page.locator("#driver-count")).to_have_text(f"{active + 1} active drivers")
    row = page.locator(f"#driver-row-{driver_id}")
    expect(row).to_contain_text("Katherine Johnson")
    expect(row).to_contain_text("B-KJ 301 · comfort")
    expect(rows).not_to_contain_text(token)  # only in the panel above, never in the list
    expect(rows).not_to_contain_text(device_id)

    # Edit: the row turns into a form and back.
    row.get_by_role("button", name="Edit").click()
    form = page.locator(f"#driver-row-{driver_id} form")
    form.get_by_label("Name").fill("Katherine G. Johnson")
    form.get_by_label("Vehicle class").select_option("van")
    form.get_by_role("button", name="Save").click()
    expect(row.locator(".admin-message")).to_have_text("Saved.")
    expect(row).to_contain_text("Katherine G. Johnson")
    expect(row).to_contain_text("B-KJ 301 · van")

    # Deactivate, after the confirmation: the phone stops at once.
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Deactivate").click()
    expect(row.locator(".admin-message")).to_contain_text("Deactivated: its phone can no longer send")
    expect(row.locator(".badge")).to_have_text("deactivated")
    expect(row.get_by_role("button", name="Reactivate")).to_be_visible()
    expect(page.locator("#driver-count")).to_have_text(f"{active} active drivers")
    wait_for_status(stack, token, 401)

    # A dispatcher, with a generated password shown once.
    page.get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
    page.get_by_text("Add a staff account").click()
    user_slot = page.locator("#add-user-slot")
    user_slot.get_by_label("Email").fill("mary.jackson@e2e.test")
    user_slot.get_by_label("Role").select_option("dispatcher")
    user_slot.get_by_role("button", name="Add account with a new password").click()
    expect(user_slot.locator(".admin-created")).to_contain_text("mary.jackson@e2e.test can sign in now as dispatcher")
    password = user_slot.locator("[data-password]").inner_text().strip()
    assert len(password) >= 16
    expect(page.locator("#user-rows")).to_contain_text("mary.jackson@e2e.test")
    shot(page, "admin-users-1366x768")

    # The password works, in another browser.
    other = browser.new_context(base_url=stack.base_url)
    try:
        desk = other.new_page()
        login(desk, email="mary.jackson@e2e.test", password=password)
        expect(desk).to_have_url(f"{stack.base_url}/")
        expect(desk.get_by_role("link", name="Fleet admin")).to_have_count(0)  # dispatchers have no admin
    finally:
        other.close()

    # The audit log has all of it, newest first, by this admin.
    page.get_by_role("link", name="Audit log").click()
    entries = page.locator(".audit-entry p")
    for n, (action, target) in enumerate(
        (
            ("added account", "mary.jackson@e2e.test"),
            ("deactivated driver", "Katherine G. Johnson"),
            ("edited driver", "Katherine G. Johnson"),
            ("added driver", "Katherine Johnson"),
        )
    ):
        expect(entries.nth(n)).to_have_text(said(admin, action, target))
    expect(page.locator(".audit-entry").nth(2)).to_contain_text("comfort → van")
    expect(page.locator(".audit-list")).not_to_contain_text(token)
    expect(page.locator(".audit-list")).not_to_contain_text(password)
    shot(page, "admin-audit-1366x768")


@pytest.mark.browser_context_args(**PHONE)
def test_the_admin_pages_fit_a_phone(page: Page, login, stack, admin):
    login(page, email=admin)
    page.goto("/admin/drivers")
    expect(page.locator("#driver-rows .admin-row").first).to_be_visible()
    assert_fits_the_phone(page)
    shot(page, "admin-drivers-390x844")
    shot(page, "admin-drivers-full-390x844", full_page=True)

    created = add_driver(page, "Annie Easley", "+49 30 5550302", "B-AE 302", "standard")
    token = created.locator("[data-token]")
    token.scroll_into_view_if_needed()
    # The long token wraps inside the screen instead of pushing the page sideways.
    box = token.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert_fits_the_phone(page)
    shot(page, "admin-driver-created-390x844")
    qr = created.locator("[data-qr='traccar'] svg")
    qr.scroll_into_view_if_needed()
    box = qr.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    shot(page, "admin-driver-created-qr-390x844")

    page.goto("/admin/users")
    expect(page.locator("#user-rows .admin-row").first).to_be_visible()
    assert_fits_the_phone(page)
    shot(page, "admin-users-390x844")
    shot(page, "admin-users-full-390x844", full_page=True)

    page.goto("/admin/audit")
    expect(page.locator(".audit-entry").first).to_be_visible()
    assert_fits_the_phone(page)
    shot(page, "admin-audit-390x844")
