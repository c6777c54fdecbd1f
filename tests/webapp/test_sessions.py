"""Sessions end on the server: signing out, a new password, a disabled account, and the
driver web app's sign-out all stop an old cookie at once, on every web process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from helpers import make_driver, make_user

from hexfleet.users import queries as users
from webapp.pages.account import describe_agent

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse"


def token_in(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the page's CSRF token."""
    page = await client.get("/login")
    csrf = token_in(page.text)
    response = await client.post("/login", data={"email": email, "password": password, "csrf_token": csrf})
    assert response.status_code == 302, response.text
    return csrf


async def signed_in(client: httpx.AsyncClient) -> bool:
    return (await client.get("/api/v1/bookings")).status_code == 200  # any role may list its bookings


async def test_signing_out_ends_the_session_on_the_server(browsers, db):
    user, _ = await make_user(db, "dispatcher")
    browser = browsers()
    csrf = await sign_in(browser, user.email)
    cookie = browser.cookies["hexfleet_session"]
    assert await signed_in(browser)

    assert (await browser.post("/logout", data={"csrf_token": csrf})).status_code == 302
    # Someone who copied the cookie before the sign-out gets nothing with it.
    replay = browsers()
    replay.cookies.set("hexfleet_session", cookie)
    assert (await replay.get("/api/v1/drivers")).status_code == 401
    assert (await replay.get("/", follow_redirects=False)).status_code == 302
    async with db.acquire() as conn:
        assert await users.list_sessions(conn, user.id) == []


async def test_a_new_password_ends_every_other_session_and_keeps_this_one(browsers, db):
    user, api_token = await make_user(db, "customer")
    here, elsewhere = browsers(), browsers()
    await sign_in(here, user.email)
    await sign_in(elsewhere, user.email)
    page = await here.get("/account")
    assert page.status_code == 200 and page.text.count("<li>") == 2 and "this browser" in page.text
    csrf = token_in(page.text)

    wrong = await here.post(
        "/account/password",
        data={"current": "not-it", "new": "a-new-secret", "again": "a-new-secret", "csrf_token": csrf},
    )
    assert wrong.status_code == 400 and "That is not your current password." in wrong.text
    differ = await here.post(
        "/account/password",
        data={"current": PASSWORD, "new": "a-new-secret", "again": "another", "csrf_token": csrf},
    )
    assert differ.status_code == 400 and "The two new passwords differ." in differ.text
    assert await signed_in(elsewhere)  # nothing changed yet

    done = await here.post(
        "/account/password",
        data={"current": PASSWORD, "new": "a-new-secret", "again": "a-new-secret", "csrf_token": csrf},
    )
    assert (done.status_code, done.headers["location"]) == (303, "/account?done=password")
    notice = "Every other session of this account has ended, and its API tokens are revoked."
    assert notice in (await here.get(done.headers["location"])).text
    assert (await here.get("/api/v1/bookings")).status_code == 200  # this browser stays signed in
    assert (await elsewhere.get("/api/v1/bookings")).status_code == 401
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert (await browsers().get("/api/v1/bookings", headers=bearer)).status_code == 401  # revoked too
    again = browsers()
    await sign_in(again, user.email, "a-new-secret")
    with pytest.raises(AssertionError):
        await sign_in(browsers(), user.email, PASSWORD)  # the old password is gone


async def test_sign_out_everywhere_else(browsers, db):
    user, _ = await make_user(db, "dispatcher")
    here, elsewhere = browsers(), browsers()
    await sign_in(elsewhere, user.email)
    await sign_in(here, user.email)
    csrf = token_in((await here.get("/account")).text)
    response = await here.post("/account/sign-out-others", data={"csrf_token": csrf})
    assert (response.status_code, response.headers["location"]) == (303, "/account?done=others")
    assert await signed_in(here) and not await signed_in(elsewhere)


async def test_a_disabled_account_loses_sessions_and_tokens_until_enabled(browsers, db):
    user, api_token = await make_user(db, "dispatcher")
    browser = browsers()
    await sign_in(browser, user.email)
    bearer = {"Authorization": f"Bearer {api_token}"}
    async with db.acquire() as conn:
        assert await users.set_disabled(conn, user.id, True)
        assert not await users.set_disabled(conn, user.id, True)  # already: nothing changes
    assert not await signed_in(browser)
    assert (await browsers().get("/api/v1/drivers", headers=bearer)).status_code == 401
    # The right password says why; a wrong one says only that it is wrong.
    other = browsers()
    csrf = token_in((await other.get("/login")).text)
    refused = await other.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf})
    assert refused.status_code == 403 and "This account is disabled" in refused.text
    wrong = await other.post("/login", data={"email": user.email, "password": "nope-nope", "csrf_token": csrf})
    assert wrong.status_code == 400 and "disabled" not in wrong.text

    async with db.acquire() as conn:
        assert await users.set_disabled(conn, user.id, False)
    assert (await browsers().get("/api/v1/drivers", headers=bearer)).status_code == 200
    await sign_in(browsers(), user.email)


async def test_cookies_from_before_server_sessions_are_not_sessions(browsers, db, app):
    """Cookies that carried a bare user id (before migration 004) must not sign anyone in."""
    user, _ = await make_user(db, "admin")
    [auth] = app.extensions["QUART_AUTH"]
    old_style = auth.dump_token(str(user.id), app)
    browser = browsers()
    browser.cookies.set("hexfleet_session", old_style)
    assert (await browser.get("/api/v1/drivers")).status_code == 401


async def test_driver_web_app_sign_out_ends_the_session_on_the_server(browsers, db):
    from test_driver_app import signed_in_phone

    drv, _ = await make_driver(db, "Grace Hopper", "B-GH-1")
    phone = await signed_in_phone(browsers, db, drv.id)
    assert (await phone.get("/d/me")).status_code == 200
    cookie = phone.client.cookies["hexfleet_driver"]
    signed_out = await phone.client.post("/d/logout", data={"csrf_token": phone.csrf})
    assert signed_out.status_code == 303
    replay = browsers()
    replay.cookies.set("hexfleet_driver", cookie)
    assert (await replay.get("/d/me", headers={"Accept": "application/json"})).status_code == 401


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            "Chrome on Linux",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Safari/604.1",
            "Safari on iPhone",
        ),
        ("Mozilla/5.0 (Android 14; Mobile; rv:126.0) Gecko/126.0 Firefox/126.0", "Firefox on Android"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0",
            "Edge on Windows",
        ),
        ("", "A browser"),
    ],
)
def test_describe_agent(agent, label):
    assert describe_agent(agent) == label


def test_cli_manages_accounts(settings, tmp_path):
    """`hexfleet users list / set-password / disable / enable / sign-out`, through the real console script."""
    env = {"DATABASE_URL": settings.database_url, "PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    email = f"cli-{tmp_path.name[-12:]}@example.org".lower()

    def hexfleet(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(Path(sys.executable).parent / "hexfleet"), *args],
            capture_output=True,
            text=True,
            env=env,
            input=stdin,
            timeout=60,
            cwd=tmp_path,
        )

    added = hexfleet("users", "add", "--email", email, "--password", "first-password", "--role", "dispatcher")
    assert added.returncode == 0, added.stderr
    listed = hexfleet("users", "list")
    assert listed.returncode == 0 and re.search(rf"{re.escape(email)}\s+dispatcher\s+active", listed.stdout)

    changed = hexfleet("users", "set-password", email, stdin="second-password\n")
    assert changed.returncode == 0 and "new password for" in changed.stdout, changed.stderr
    short = hexfleet("users", "set-password", email, "--password", "short")
    assert short.returncode != 0 and "at least 8 characters" in short.stderr and "Traceback" not in short.stderr

    disabled = hexfleet("users", "disable", email)
    assert disabled.returncode == 0 and "is disabled" in disabled.stdout
    assert "disabled" in hexfleet("users", "list").stdout
    enabled = hexfleet("users", "enable", email, "--json")
    assert enabled.returncode == 0 and '"state":"enabled"' in enabled.stdout
    ended = hexfleet("users", "sign-out", email)
    assert ended.returncode == 0 and "0 sessions ended" in ended.stdout
    missing = hexfleet("users", "disable", "nobody@example.org")
    assert missing.returncode != 0 and "no account with email" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/driver/status"),
        ("POST", "/api/v1/driver/bookings/1/cancel"),
        ("POST", "/api/v1/quotes"),
        ("POST", "/api/v1/bookings"),
        ("POST", "/api/v1/bookings/1/cancel"),
        ("POST", "/api/v1/bookings/1/assign"),
        ("POST", "/api/v1/bookings/1/reassign"),
        ("PUT", "/api/v1/fares/standard"),
        ("GET", "/api/v1/bookings?limit=banana"),
    ],
)
async def test_strangers_are_refused_before_their_input_is_read(client, method, path):
    """401 whatever the body: no validation errors (which describe the schema) for strangers,
    and no parsing work for them either (a 2,000-deep body was a 500 once)."""
    deep = "[" * 2000 + "]" * 2000
    for body in (deep, '{"status": 42}', "not json"):
        response = await client.request(
            method, path, content=body, headers={"Content-Type": "application/json", "Authorization": "Bearer junk"}
        )
        assert response.status_code == 401, (path, body[:20], response.text)
        assert response.headers["content-type"] == "application/problem+json"
