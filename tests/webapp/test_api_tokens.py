"""User API tokens end: an expiry from their making (90 days unless chosen), revoked with a new
password unless kept on purpose, listed and revoked by their owner on /account (made there too,
shown once), and every change in the audit log."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from helpers import make_user

from hexfleet import audit
from hexfleet.errors import Invalid
from hexfleet.users import queries as users
from hexfleet.users.logic import MAX_LIVE_TOKENS, token_days, token_hint, token_label

PASSWORD = "correct-horse"  # every test user's (tests/helpers.py)
TOKEN = re.compile(r"<code class=\"secret copyable\" data-token>([^<]+)</code>")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def signed_in(browsers, email: str):
    """A browser signed in as ``email``; returns it and its /account page's CSRF token."""
    browser = browsers()
    page = await browser.get("/login")
    response = await browser.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 302, response.text
    return browser, csrf_of((await browser.get("/account")).text)


async def works(browsers, token: str) -> int:
    return (await browsers().get("/api/v1/bookings", headers=bearer(token))).status_code


async def entries(db) -> list[audit.Entry]:
    async with db.acquire() as conn:
        return await audit.recent(conn, 100)


# ---------------------------------------------------------------- the rules


@pytest.mark.parametrize(("days", "ok"), [(1, True), (90, True), (365, True), (0, False), (366, False),
                                          (-5, False), (True, False), (2.5, False), ("30", False)])  # fmt: skip
def test_token_days(days, ok):
    if ok:
        assert token_days(days) == days
    else:
        with pytest.raises(Invalid, match="1 to 365 days"):
            token_days(days)


@pytest.mark.parametrize(
    ("label", "cleaned"),
    [("reporting script", "reporting script"), ("  two\tlines\nhere ", "two lines here"), ("", ""),
     ("bell\x07 and NUL\x00", "bell and NUL"), ("é" * 60, "é" * 60)],
)  # fmt: skip
def test_token_label(label, cleaned):
    assert token_label(label) == cleaned


def test_token_label_is_bounded():
    with pytest.raises(Invalid, match="at most 60"):
        token_label("x" * 61)


def test_the_hint_is_the_last_four_characters():
    assert token_hint("hfu_abcdefghijkl") == "ijkl"


# ---------------------------------------------------------------- expiry


async def test_a_token_ends_when_it_expires(browsers, db):
    user, _ = await make_user(db, "customer")
    async with db.acquire() as conn:
        new = await users.issue_api_token(conn, user.id, "script", 7)
    assert abs(new.expires_at - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)
    assert await works(browsers, new.token) == 200
    # Seven days on: the expiry passes (moved to now, rather than waiting a week).
    await db.execute("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", new.id)
    response = await browsers().get("/api/v1/bookings", headers=bearer(new.token))
    assert response.status_code == 401 and response.headers["content-type"] == "application/problem+json"
    async with db.acquire() as conn:
        assert new.id not in [t.id for t in await users.list_api_tokens(conn, user.id)]  # listed no more


async def test_tokens_live_90_days_unless_told_and_their_use_is_noted_hourly(browsers, db):
    user, token = await make_user(db, "dispatcher")
    async with db.acquire() as conn:
        [info] = await users.list_api_tokens(conn, user.id)
    assert abs(info.expires_at - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=1)
    assert info.last_used_at is None and info.hint == token[-4:]
    assert await works(browsers, token) == 200
    async with db.acquire() as conn:
        [used] = await users.list_api_tokens(conn, user.id)
    assert used.last_used_at is not None
    assert await works(browsers, token) == 200
    async with db.acquire() as conn:
        [again] = await users.list_api_tokens(conn, user.id)
    assert again.last_used_at == used.last_used_at  # not written on every request
    await db.execute("UPDATE api_tokens SET last_used_at = now() - interval '2 hours' WHERE id = $1", info.id)
    assert await works(browsers, token) == 200
    async with db.acquire() as conn:
        [later] = await users.list_api_tokens(conn, user.id)
    assert later.last_used_at > used.last_used_at


# ---------------------------------------------------------------- a new password


async def test_a_new_password_revokes_tokens_unless_kept(browsers, db):
    user, token = await make_user(db, "customer")
    here, csrf = await signed_in(browsers, user.email)
    kept = await here.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": "second-pass",
            "again": "second-pass",
            "keep_tokens": "yes",
            "csrf_token": csrf,
        },
    )
    assert (kept.status_code, kept.headers["location"]) == (303, "/account?done=password-kept")
    assert "your API tokens still work" in (await here.get(kept.headers["location"])).text
    assert await works(browsers, token) == 200

    changed = await here.post(
        "/account/password",
        data={"current": "second-pass", "new": "third-pass", "again": "third-pass", "csrf_token": csrf},
    )
    assert (changed.status_code, changed.headers["location"]) == (303, "/account?done=password")
    assert await works(browsers, token) == 401
    [second, first] = await entries(db)
    assert (first.action, first.actor, first.details) == (
        "user.change_password",
        user.email,
        {"sessions_ended": 0, "tokens_revoked": 0},
    )
    assert (second.action, second.details) == ("user.change_password", {"sessions_ended": 0, "tokens_revoked": 1})


def test_the_cli_revokes_tokens_with_a_new_password_unless_kept(settings, tmp_path):
    env = {"DATABASE_URL": settings.database_url, "PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    email = f"tok-{tmp_path.name[-12:]}@example.org".lower()

    def hexfleet(*args: str) -> subprocess.CompletedProcess:
        command = [str(Path(sys.executable).parent / "hexfleet"), *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)

    added = hexfleet("users", "add", "--email", email, "--password", "first-pass", "--role", "dispatcher",
                     "--token-days", "7", "--json")  # fmt: skip
    assert added.returncode == 0, added.stderr
    first = orjson.loads(added.stdout)
    week = datetime.now(UTC) + timedelta(days=7)
    assert abs(datetime.fromisoformat(first["token_expires_at"]) - week) < timedelta(minutes=5)
    second = orjson.loads(hexfleet("users", "token", email, "--days", "30", "--label", "backup", "--json").stdout)
    assert second["token"] != first["token"]

    listed = orjson.loads(hexfleet("users", "list", "--json").stdout)
    [me] = [u for u in listed["users"] if u["email"] == email]
    assert me["api_tokens"] == 2 and me["next_token_expiry"] == me["tokens"][0]["expires_at"]
    assert [t["label"] for t in me["tokens"]] == ["cli", "backup"]
    assert [t["hint"] for t in me["tokens"]] == [first["token"][-4:], second["token"][-4:]]
    assert first["token"] not in str(listed) and second["token"] not in str(listed)  # never the tokens
    table = hexfleet("users", "list").stdout
    soonest = me["tokens"][0]["expires_at"][:10]
    assert "NEXT TOKEN ENDS" in table and re.search(
        rf"{re.escape(email)}\s+dispatcher\s+active\s+0\s+2\s+{soonest}", table
    )

    kept = hexfleet("users", "set-password", email, "--password", "second-pass", "--keep-tokens")
    assert kept.returncode == 0 and "API tokens kept" in kept.stdout, kept.stderr
    [me] = [u for u in orjson.loads(hexfleet("users", "list", "--json").stdout)["users"] if u["email"] == email]
    assert me["api_tokens"] == 2
    revoked = hexfleet("users", "set-password", email, "--password", "third-pass")
    assert revoked.returncode == 0 and "2 API tokens revoked" in revoked.stdout, revoked.stderr
    [me] = [u for u in orjson.loads(hexfleet("users", "list", "--json").stdout)["users"] if u["email"] == email]
    assert (me["api_tokens"], me["tokens"], me["next_token_expiry"]) == (0, [], None)


# ---------------------------------------------------------------- /account


async def test_a_user_makes_lists_and_revokes_tokens_on_account(browsers, db):
    user, old_token = await make_user(db, "customer")
    here, csrf = await signed_in(browsers, user.email)
    page = await here.get("/account")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert f"…{old_token[-4:]}" in page.text and old_token not in page.text and "not used yet" in page.text

    wrong = await here.post("/account/tokens", data={"label": "script", "days": "30", "password": "nope-nope",
                                                     "csrf_token": csrf})  # fmt: skip
    assert wrong.status_code == 400 and "That is not your password." in wrong.text and not TOKEN.search(wrong.text)
    made = await here.post(
        "/account/tokens", data={"label": "reporting script", "days": "30", "password": PASSWORD, "csrf_token": csrf}
    )
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    token = TOKEN.search(made.text).group(1)
    assert "shown only now" in made.text and "reporting script" in made.text
    assert await works(browsers, token) == 200
    again = await here.get("/account")
    assert token not in again.text and f"…{token[-4:]}" in again.text  # shown once, then only its hint
    async with db.acquire() as conn:
        new = next(t for t in await users.list_api_tokens(conn, user.id) if t.label == "reporting script")
    assert abs(new.expires_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)

    revoked = await here.post(f"/account/tokens/{new.id}/revoke", data={"csrf_token": csrf})
    assert (revoked.status_code, revoked.headers["location"]) == (303, "/account?done=revoked")
    assert await works(browsers, token) == 401 and await works(browsers, old_token) == 200
    gone = await here.post(f"/account/tokens/{new.id}/revoke", data={"csrf_token": csrf})
    assert gone.status_code == 404 and "not one of your live tokens" in gone.text

    assert [(e.action, e.actor, e.target_id) for e in (await entries(db))[:2]] == [
        ("user.token_revoke", user.email, user.id),
        ("user.token_issue", user.email, user.id),
    ]
    issued = (await entries(db))[1]
    assert issued.details["token_id"] == new.id and issued.details["label"] == "reporting script"
    assert token not in str([e.details for e in await entries(db)])


async def test_nobody_revokes_anothers_token(browsers, db):
    owner, token = await make_user(db, "customer")
    other, _ = await make_user(db, "customer")
    async with db.acquire() as conn:
        [theirs] = await users.list_api_tokens(conn, owner.id)
    browser, csrf = await signed_in(browsers, other.email)
    response = await browser.post(f"/account/tokens/{theirs.id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 404
    assert await works(browsers, token) == 200


async def test_tokens_are_not_made_or_revoked_with_a_token_nor_cross_site(browsers, db):
    """A leaked token must not mint its own successor; a cookie request needs the page's token."""
    user, token = await make_user(db, "dispatcher")
    async with db.acquire() as conn:
        [info] = await users.list_api_tokens(conn, user.id)
    client = browsers()
    made = await client.post("/account/tokens", data={"label": "x", "days": "365", "password": PASSWORD},
                             headers=bearer(token))  # fmt: skip
    assert made.status_code == 403 and "from a signed-in browser" in made.text
    revoked = await client.post(f"/account/tokens/{info.id}/revoke", headers=bearer(token))
    assert revoked.status_code == 403
    here, _ = await signed_in(browsers, user.email)
    forged = await here.post(f"/account/tokens/{info.id}/revoke", headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    tokenless = await here.post("/account/tokens", data={"label": "x", "days": "30", "password": PASSWORD})
    assert tokenless.status_code == 403
    async with db.acquire() as conn:
        assert [t.id for t in await users.list_api_tokens(conn, user.id)] == [info.id]
    assert await works(browsers, token) == 200


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"label": "x", "days": "1000"}, "days", "Choose how long the token lives."),
        ({"label": "x", "days": "ninety"}, "days", "Choose how long the token lives."),
        ({"label": "x" * 61, "days": "30"}, "label", "A token&#39;s name has at most 60 characters."),
    ],
)
async def test_token_form_mistakes_make_no_token(browsers, db, form, field, message):
    user, _ = await make_user(db, "customer")
    here, csrf = await signed_in(browsers, user.email)
    response = await here.post("/account/tokens", data={**form, "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 400 and message in response.text and f'id="token-{field}-error"' in response.text
    assert not TOKEN.search(response.text)
    async with db.acquire() as conn:
        assert len(await users.list_api_tokens(conn, user.id)) == 1  # make_user's own


async def test_a_user_holds_a_bounded_number_of_tokens(browsers, db):
    user, _ = await make_user(db, "customer")
    async with db.acquire() as conn:
        for _ in range(MAX_LIVE_TOKENS - 1):
            await users.issue_api_token(conn, user.id, "many", 1)
    here, csrf = await signed_in(browsers, user.email)
    response = await here.post("/account/tokens", data={"label": "one more", "days": "7", "password": PASSWORD,
                                                         "csrf_token": csrf})  # fmt: skip
    assert response.status_code == 409 and f"You have {MAX_LIVE_TOKENS} API tokens already" in response.text
