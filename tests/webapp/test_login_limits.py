"""Guessing passwords is stopped per address and per (account, address) pair, across processes
(Redis); an account guessed at from many addresses is slowed, never locked, so nobody can lock
its owner out by guessing wrong on purpose."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from helpers import make_user

from hexfleet.settings import Settings, SettingsError

SLOWDOWN_S = 0.6


@pytest.fixture
def settings(settings):
    return settings.with_(
        rate_login_pair="3/minute",
        rate_login_account="5/minute",
        rate_login_address="6/minute",
        login_slowdown_s=SLOWDOWN_S,
        rate_signup="2/hour",
    )


@pytest.fixture
async def from_address(app):
    """A browser at a client address of its own (the address the server sees)."""
    clients: list[httpx.AsyncClient] = []

    def new(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40_000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://test"))
        return clients[-1]

    yield new
    for client in clients:
        await client.aclose()


async def form_token(client) -> tuple[str, dict]:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return token, {"Cookie": "; ".join(f"{k}={v}" for k, v in page.cookies.items())}


async def attempt(client, email: str, password: str):
    token, cookies = await form_token(client)
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, headers=cookies
    )


async def timed_attempt(client, email: str, password: str) -> tuple[int, float]:
    token, cookies = await form_token(client)
    started = time.perf_counter()
    response = await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, headers=cookies
    )
    return response.status_code, time.perf_counter() - started


async def test_one_address_guessing_one_account_is_refused_and_the_right_password_waits_too(client, db):
    user, _ = await make_user(db, "dispatcher")
    codes = [(await attempt(client, user.email, "wrong-guess")).status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    locked = await attempt(client, user.email.upper(), "correct-horse")  # case does not dodge it
    assert locked.status_code == 429 and "Too many sign-in attempts" in locked.text
    assert 1 <= int(locked.headers["retry-after"]) <= 60
    assert "hexfleet_session" not in locked.headers.get("set-cookie", "")


async def test_the_owner_signs_in_from_their_own_address_while_another_is_refused(from_address, db):
    """The per-account refusal is gone: guessing from one address locks only that address out
    of the account (the pair), not the owner elsewhere."""
    user, _ = await make_user(db, "customer")
    attacker, owner = from_address("203.0.113.7"), from_address("198.51.100.20")
    codes = [(await attempt(attacker, user.email, f"guess-{i}")).status_code for i in range(4)]
    assert codes == [400, 400, 400, 429]
    signed_in = await attempt(owner, user.email, "correct-horse")
    assert signed_in.status_code == 302 and "hexfleet_session" in signed_in.headers.get("set-cookie", "")


async def test_an_account_guessed_at_from_many_addresses_is_slowed_never_refused(from_address, db):
    """Past RATE_LOGIN_ACCOUNT (every address together) each attempt waits LOGIN_SLOWDOWN_S,
    the wrong ones and the owner's alike, and none is refused."""
    user, _ = await make_user(db, "dispatcher")
    under = []
    for i in range(5):  # five addresses, one guess each: the account's budget, no pair's
        under.append(await timed_attempt(from_address(f"203.0.113.{i + 1}"), user.email, f"guess-{i}"))
    assert [code for code, _ in under] == [400] * 5
    over = [await timed_attempt(from_address(f"203.0.113.{i + 10}"), user.email, "wrong-again") for i in range(2)]
    assert [code for code, _ in over] == [400, 400]  # wrong, not refused
    assert all(took >= SLOWDOWN_S for _, took in over), over
    owner = await timed_attempt(from_address("198.51.100.20"), user.email, "correct-horse")
    assert owner[0] == 302 and owner[1] >= SLOWDOWN_S  # in, a little later
    # Under the ceiling nobody waited that long (argon2 alone is quicker).
    assert min(took for _, took in under) < SLOWDOWN_S


async def test_an_address_spraying_many_accounts_is_stopped(client, db):
    emails = [(await make_user(db, "customer"))[0].email for _ in range(4)]
    codes = [(await attempt(client, email, f"guess-{i}")).status_code for i in range(2) for email in emails]
    assert codes[:6] == [400] * 6 and set(codes[6:]) == {429}


async def test_sign_ups_per_address(client, db):
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
    assert codes == [200, 200, 429]
    assert await db.fetchval("SELECT count(*) FROM users") == 2


@pytest.mark.parametrize(("raw", "message"), [("11", "at most 10"), ("-1", "at least 0"), ("soon", "float")])
def test_the_slowdown_is_bounded(raw, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"LOGIN_SLOWDOWN_S": raw})


async def test_password_checks_on_account_count_as_sign_in_attempts(client, db):
    """/account asks for the password (a new one, a new API token): a borrowed session must not
    turn those forms into an unlimited guessing oracle."""
    user, _ = await make_user(db, "customer")
    token, cookies = await form_token(client)
    signed_in = await client.post(
        "/login", data={"email": user.email, "password": "correct-horse", "csrf_token": token}, headers=cookies
    )
    assert signed_in.status_code == 302  # one attempt of the pair's three
    guesses = [
        await client.post("/account/password", data={"current": "guess-1", "new": "x" * 10, "again": "x" * 10,
                                                     "csrf_token": token}),
        await client.post("/account/tokens", data={"label": "t", "days": "30", "password": "guess-2",
                                                  "csrf_token": token}),
        await client.post("/account/tokens", data={"label": "t", "days": "30", "password": "correct-horse",
                                                  "csrf_token": token}),
    ]  # fmt: skip
    assert [g.status_code for g in guesses] == [400, 400, 429]
    assert int(guesses[-1].headers["retry-after"]) >= 1 and "Too many password attempts" in guesses[-1].text
