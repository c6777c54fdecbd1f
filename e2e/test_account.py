"""Your account in a real browser: change the password (other sessions end, this one stays),
sign out everywhere else, and make and revoke an API token. Screenshots at 1366x768 and 390x844."""

from __future__ import annotations

import httpx
from conftest import ARTIFACTS, PASSWORD
from playwright.sync_api import Browser, Page, expect
from test_rider import PHONE, new_email, sign_in, sign_up


def test_a_rider_changes_the_password_and_the_other_phone_is_signed_out(page: Page, browser: Browser, stack):
    email = new_email("account")
    sign_up(page, email)
    phone_context = browser.new_context(base_url=stack.base_url, **PHONE)
    try:
        phone = phone_context.new_page()
        sign_in(phone, email)
        expect(phone).to_have_url(f"{stack.base_url}/ride")

        page.goto("/ride")
        page.get_by_role("link", name=email).click()
        expect(page.get_by_role("heading", name="Your account")).to_be_visible()
        expect(page.locator(".session-list li")).to_have_count(2)
        expect(page.locator(".session-list")).to_contain_text("this browser")
        page.screenshot(path=str(ARTIFACTS / "account-1366x768.png"))

        page.get_by_label("Current password").fill("not my password")
        page.get_by_label("New password", exact=True).fill("a-brand-new-one")
        page.get_by_label("New password again").fill("a-brand-new-one")
        page.get_by_role("button", name="Change password").click()
        expect(page.locator(".field-error")).to_have_text("That is not your current password.")
        expect(page.get_by_label("Current password")).to_have_attribute("aria-invalid", "true")

        page.get_by_label("Current password").fill(PASSWORD)
        page.get_by_label("New password", exact=True).fill("a-brand-new-one")
        page.get_by_label("New password again").fill("a-brand-new-one")
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_role("status")).to_contain_text("Your password is changed")
        expect(page.locator(".session-list li")).to_have_count(1)

        # The phone's session ended on the server: its next page asks it to sign in.
        phone.goto("/rides")
        expect(phone).to_have_url(f"{stack.base_url}/login?next=/rides")
        phone.screenshot(path=str(ARTIFACTS / "account-signed-out-390x844.png"))
        sign_in(phone, email, "a-brand-new-one")
        phone.goto("/account")
        expect(phone.locator(".session-list li")).to_have_count(2)
        phone.screenshot(path=str(ARTIFACTS / "account-390x844.png"), full_page=True)

        # And back: sign the desk out from the phone.
        phone.get_by_role("button", name="Sign out everywhere else").click()
        expect(phone.get_by_role("status")).to_contain_text("Every other session of this account has ended")
        page.goto("/rides")
        expect(page).to_have_url(f"{stack.base_url}/login?next=/rides")
    finally:
        phone_context.close()


def test_a_rider_makes_an_api_token_sees_it_once_and_revokes_it(page: Page, stack):
    email = new_email("tokens")
    sign_up(page, email)
    page.goto("/account")
    expect(page.get_by_text("No API tokens.")).to_be_visible()
    page.get_by_label("Name").fill("my script")
    page.get_by_label("Ends after").select_option("30")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Make token").click()
    shown = page.locator("#new-token code[data-token]")
    expect(shown).to_be_visible()
    token = shown.inner_text().strip()
    page.screenshot(path=str(ARTIFACTS / "account-token-1366x768.png"), full_page=True)
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}) as api:
        assert api.get("/api/v1/bookings").status_code == 200

        page.goto("/account")  # shown once: afterwards only its name and last four characters
        expect(page.locator("#new-token")).to_have_count(0)
        expect(page.locator(".token-list li")).to_have_count(1)
        expect(page.locator(".token-list li")).to_contain_text(f"my script …{token[-4:]}")
        assert token not in page.content()
        page.get_by_role("button", name=f"Revoke my script …{token[-4:]}").click()
        expect(page.get_by_role("status")).to_contain_text("The API token is revoked")
        expect(page.get_by_text("No API tokens.")).to_be_visible()
        assert api.get("/api/v1/bookings").status_code == 401
