"""Guessing passwords is stopped per account and per address, across processes (Redis)."""

from __future__ import annotations

import re

import pytest
from helpers import make_user


@pytest.fixture
def settings(settings):
    return settings.with_(rate_login_account="3/minute", rate_login_address="6/minute", rate_signup="2/hour")


async def form_token(client) -> tuple[str, dict]:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return token, {"Cookie": "; ".join(f"{k}={v}" for k, v in page.cookies.items())}


async def attempt(client, email: str, password: str):
    token, cookies = await form_token(client)
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, headers=cookies
    )


async def test_an_account_is_locked_after_its_guesses_and_the_right_password_waits_too(client, db):
    user, _ = await make_user(db, "dispatcher")
    codes = [(await attempt(client, user.email, "wrong-guess")).status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    locked = await attempt(client, user.email.upper(), "correct-horse")  # case does not dodge it
    assert locked.status_code == 429 and "Too many sign-in attempts" in locked.text
    assert 1 <= int(locked.headers["retry-after"]) <= 60
    assert "hexfleet_session" not in locked.headers.get("set-cookie", "")


async def test_an_address_spraying_many_accounts_is_stopped(client, db):
    emails = [(await make_user(db, "customer"))[0].email for _ in range(4)]
    codes = [(await attempt(client, email, f"guess-{i}")).status_code for i in range(2) for email in emails]
    assert codes[:6] == [400] * 6 and set(codes[6:]) == {429}


async def test_sign_ups_per_address(client):
    codes = []
    for i in range(3):
        page = await client.get("/signup")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = await client.post(
            "/signup",
            data={"email": f"new{i}@example.org", "password": "long-enough-1", "csrf_token": token},
            headers={"Cookie": "; ".join(f"{k}={v}" for k, v in page.cookies.items())},
        )
        codes.append(r.status_code)
        client.cookies.clear()  # a fresh visitor each time, from the same address
    assert codes == [302, 302, 429]
