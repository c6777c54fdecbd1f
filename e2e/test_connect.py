"""Connecting a phone from the control room, and rotating a device token, in a real browser.

The drivers here never send a position (their tokens are probed on /api/v1/driver/status),
so they add rows to the list but no markers to the map the screenshot tests count.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
from conftest import ARTIFACTS, PASSWORD, _cli, _cli_json
from playwright.sync_api import Page, expect

ADMIN_EMAIL = "admin@e2e.test"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture(scope="module")
def admin(stack) -> str:
    _cli_json(stack.env, "users", "add", "--email", ADMIN_EMAIL, "--password", PASSWORD, "--role", "admin")
    return ADMIN_EMAIL


def token_status(stack, token: str) -> int:
    """What the server makes of a device token, without moving the driver on the map."""
    response = httpx.post(
        f"{stack.base_url}/api/v1/driver/status",
        json={"status": "available"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return response.status_code


def wait_for_status(stack, token: str, status: int, timeout: float) -> float:
    """Poll until the token gets ``status``; returns when (time.monotonic())."""
    deadline = time.monotonic() + timeout
    while True:
        got = token_status(stack, token)
        if got == status:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise AssertionError(f"token still answered {got}, not {status}, after {timeout} s")
        time.sleep(0.05)


def open_driver(page: Page, driver_id: int):
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=10_000)
    page.locator(f'.driver-row[data-driver-id="{driver_id}"]').click()
    detail = page.locator("#driver-detail")
    expect(detail).to_be_visible()
    return detail


def open_connect(page: Page, driver_id: int):
    """Open the "Connect a phone" section. It has no QR codes: they carry the device id, which
    is stored hashed and shown (with them) only right after the device is issued or rotated."""
    connect = page.locator(f"#connect-{driver_id}")
    connect.get_by_text("Connect a phone").click()
    expect(connect).to_have_attribute("open", "")
    expect(connect.locator("[data-field='traccar-url']")).to_be_visible()
    expect(connect.locator("[data-qr]")).to_have_count(0)
    return connect


def count_card_refreshes(page: Page) -> None:
    page.evaluate(
        """() => {
             window.__cardSwaps = 0;
             document.body.addEventListener("htmx:afterSwap", (e) => {
               const t = e.detail && e.detail.target;
               if (t && t.id === "driver-detail") window.__cardSwaps++;
             });
           }"""
    )


def wait_for_card_refresh(page: Page) -> None:
    """The detail card refreshes itself every 3 s: wait for one to have happened."""
    page.wait_for_function("() => window.__cardSwaps >= 1", timeout=8000)


def test_dispatcher_sees_how_to_connect_a_phone(page: Page, login, stack):
    driver = stack.add_driver("Mary Jackson", "+49 30 5550201", "B-HX 901")
    login(page)
    detail = open_driver(page, driver.id)
    # The current device id is one of the pane's facts, by its end only: it works like a
    # password and is stored hashed (shown once, when the device was issued).
    expect(detail.locator("[data-device-id]")).to_have_text(f"•••• {driver.device_id[-4:]}")
    expect(detail).to_contain_text("The full id was shown once")
    # Closed, the section is one line: the pane stays compact.
    summary = detail.locator("details.connect > summary")
    expect(summary).to_be_visible()
    assert summary.bounding_box()["height"] < 40
    page.screenshot(path=str(ARTIFACTS / "connect-closed-1366x768.png"))

    connect = open_connect(page, driver.id)
    expect(connect.locator("[data-field='traccar-url']")).to_have_text(f"{stack.base_url}/osmand")
    expect(connect.locator("[data-field='traccar-id']")).to_have_text(f"•••• {driver.device_id[-4:]}")
    expect(connect).to_contain_text("it cannot be shown again")
    expect(connect).to_contain_text("An admin can rotate the device token to issue a new identifier")
    expect(connect.locator("[data-field='owntracks-url']")).to_have_text(f"{stack.base_url}/owntracks")
    expect(connect).to_contain_text("shown only when it is created or rotated")
    expect(connect).to_contain_text("only works on this computer")  # the stack listens on 127.0.0.1
    expect(connect.get_by_role("button", name="Rotate device token")).to_have_count(0)  # admins only
    expect(page.get_by_text(driver.device_id)).to_have_count(0)
    # Everything is reachable: the detail slot scrolls on a desktop-sized panel.
    connect.locator(".connect-source").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "connect-dispatcher-1366x768.png"))

    # The card's 3 s refresh neither closes the section nor reloads it.
    count_card_refreshes(page)
    wait_for_card_refresh(page)
    expect(connect).to_have_attribute("open", "")
    expect(connect.locator("[data-field='traccar-id']")).to_have_text(f"•••• {driver.device_id[-4:]}")
    expect(page.locator("details.connect")).to_have_count(1)

    # Closing the pane and opening another driver never shows this driver's section.
    page.get_by_role("button", name="Close driver details").click()
    other = stack.drivers[1]
    open_driver(page, other.id)
    expect(page.locator(f"#connect-{other.id}")).not_to_have_attribute("open", "")
    expect(page.locator(f"#connect-{driver.id}")).to_have_count(0)


def test_admin_rotates_a_token_shown_once_and_the_old_one_stops_at_once(page: Page, login, stack, admin):
    driver = stack.add_driver("Dorothy Vaughan", "+49 30 5550202", "B-HX 902")
    assert token_status(stack, driver.token) == 200  # now in the web process' device cache
    login(page, email=admin)
    open_driver(page, driver.id)
    connect = open_connect(page, driver.id)
    # Not even an admin sees the device id again (stored hashed), nor a QR code carrying it:
    # the pane says so, and that rotating issues a new one.
    expect(connect.locator("[data-field='traccar-id']")).to_have_text(f"•••• {driver.device_id[-4:]}")
    expect(connect).to_contain_text("Rotate the device token below to issue a new identifier")
    expect(page.get_by_text(driver.device_id)).to_have_count(0)
    connect.locator(".connect-rotate").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "connect-1366x768.png"))
    page.once("dialog", lambda dialog: dialog.accept())
    connect.get_by_role("button", name="Rotate device token").click()

    once = connect.locator(".connect-once")
    expect(once).to_contain_text("shown only this once")
    new_token = once.locator("[data-token]").inner_text().strip()
    assert new_token.startswith("hfd_") and new_token != driver.token
    new_device_id = once.locator("[data-device-id-once]").inner_text().strip()
    assert len(new_device_id) == 20 and new_device_id != driver.device_id
    # Now, once: the id in full, with the QR codes that carry it.
    expect(connect.locator("[data-field='traccar-id']")).to_have_text(new_device_id)
    box = connect.locator("[data-qr='traccar'] svg").bounding_box()
    assert box["width"] >= 100 and abs(box["width"] - box["height"]) < 1, box
    expect(connect.locator("[data-qr='owntracks'] svg")).to_be_visible()

    # The card's facts follow at once (the rotate answer triggers a refresh, not the next poll).
    expect(page.locator("#driver-detail [data-device-id]")).to_have_text(f"•••• {new_device_id[-4:]}", timeout=2000)

    # The old token stops at once (the announcement, not the 5 s cache); the new one works.
    wait_for_status(stack, driver.token, 401, timeout=1.0)
    assert token_status(stack, new_token) == 200

    # The one-time token survives the card's regular refresh.
    count_card_refreshes(page)
    wait_for_card_refresh(page)
    expect(once.locator("[data-token]")).to_have_text(new_token)
    once.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "connect-rotated-1366x768.png"))
    connect.locator("[data-qr='owntracks']").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "connect-owntracks-1366x768.png"))


def test_cli_rotation_stops_the_old_token_in_the_web_process(stack):
    """Another process rotates: the web process hears it over Redis, well before its cache expires."""
    driver = stack.add_driver("Annie Easley")
    assert token_status(stack, driver.token) == 200
    cached_until = time.monotonic() + 5.0  # AUTH_CACHE_TTL_S (default) from this lookup
    output = _cli(stack.env, "drivers", "rotate", str(driver.id))
    refused_at = wait_for_status(stack, driver.token, 401, timeout=2.0)
    assert refused_at < cached_until, "refused only once the cache expired: the announcement was not heard"
    token = re.search(r"token \(shown once\): (\S+)", output).group(1)
    assert token_status(stack, token) == 200


@pytest.mark.browser_context_args(**PHONE)
def test_phone_layout_of_connect_a_phone(page: Page, login, stack, admin):
    driver = stack.add_driver("Christine Darden", "+49 30 5550203", "B-HX 903")
    login(page, email=admin)
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=10_000)
    page.locator(f'.driver-row[data-driver-id="{driver.id}"]').tap()
    expect(page.locator("#driver-detail")).to_be_in_viewport()
    page.get_by_role("button", name="Drivers").tap()
    expect(page.locator("#panel")).to_have_attribute("data-expanded", "true")
    connect = page.locator(f"#connect-{driver.id}")
    connect.get_by_text("Connect a phone").tap()
    # The QR codes come with a new device id and token, shown once: rotate to see them.
    page.once("dialog", lambda dialog: dialog.accept())
    connect.get_by_role("button", name="Rotate device token").tap()
    expect(connect.locator("[data-qr='traccar'] svg")).to_be_visible()
    # Nothing sticks out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    panel = page.locator("#panel").bounding_box()
    for selector in (".connect-app", ".connect-qr .qr", ".connect-rotate"):
        for box in (el.bounding_box() for el in connect.locator(selector).all()):
            assert box["x"] >= panel["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"] + 0.5, selector
    connect.locator("[data-qr='traccar']").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "connect-390x844.png"))
    expect(connect.locator(".connect-once")).to_contain_text("shown only this once")
    connect.locator(".connect-once").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "connect-rotated-390x844.png"))
