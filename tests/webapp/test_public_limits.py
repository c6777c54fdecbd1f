"""RATE_PUBLIC: what needs no login is limited per client address (429 with Retry-After, a
readable page for pages, problem+json for the API), and one address spending it leaves the
others alone."""

from __future__ import annotations

import httpx
import pytest

from webapp.public_limits import is_public

LIMIT = 3


@pytest.fixture
def settings(settings):
    return settings.with_(rate_public=f"{LIMIT}/minute")


def from_address(app, address: str) -> httpx.AsyncClient:
    """A client the app sees at ``address`` (what uvicorn reports as the peer)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://test")


# (path, what the refusal is: "page" for people, "problem" for machines)
PUBLIC = [
    ("/t/not-a-real-token", "page"),
    ("/t/not-a-real-token/panel", "page"),
    ("/api/v1/track/not-a-real-token", "problem"),
    ("/api/v1/track/not-a-real-token/stream", "problem"),
    ("/d/login/not-a-real-link", "page"),
    ("/readyz", "page"),
    ("/docs", "page"),
    ("/openapi.json", "problem"),
    ("/login", "page"),
    ("/signup", "page"),
]


@pytest.mark.parametrize(("path", "kind"), PUBLIC)
async def test_a_public_path_answers_429_once_the_address_spent_its_budget(app, client, path, kind):
    codes = [(await client.get(path)).status_code for _ in range(LIMIT)]
    assert 429 not in codes, codes
    refused = await client.get(path)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    if kind == "problem":
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["retry_after"] >= 1 and "too many requests" in refused.json()["detail"]
    else:
        assert refused.headers["content-type"].startswith("text/html")
        assert "Too many requests came from your address" in refused.text
    async with from_address(app, "192.0.2.44") as neighbour:
        assert (await neighbour.get(path)).status_code != 429


async def test_the_budget_is_one_for_every_public_path_and_post_too(client):
    for path in ("/t/a-guess", "/api/v1/track/another-guess", "/readyz"):
        assert (await client.get(path)).status_code != 429
    # A sign-in link's POST is refused by the limit before the CSRF check (which would say 403).
    refused = await client.post("/d/login/a-third-guess")
    assert refused.status_code == 429 and "retry-after" in refused.headers


async def test_pages_behind_a_login_and_the_login_posts_do_not_spend_it(client):
    for _ in range(LIMIT + 2):
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/ride")).status_code != 429  # a redirect to /login, not counted
    assert (await client.get("/t/still-fresh")).status_code != 429


@pytest.mark.parametrize(
    ("method", "path", "public"),
    [
        ("GET", "/t/abc", True),
        ("POST", "/t/abc/cancel", True),
        ("GET", "/t/abc/panel", True),
        ("GET", "/api/v1/track/abc", True),
        ("GET", "/api/v1/track/abc/stream", True),
        ("GET", "/d/login/abc", True),
        ("POST", "/d/login/abc", True),
        ("GET", "/d/signed-out", True),
        ("GET", "/readyz", True),
        ("GET", "/docs", True),
        ("GET", "/openapi.json", True),
        ("GET", "/login", True),
        ("HEAD", "/signup", True),
        ("POST", "/login", False),  # RATE_LOGIN_* instead
        ("POST", "/signup", False),  # RATE_SIGNUP instead
        ("GET", "/healthz", False),
        ("GET", "/t", False),
        ("GET", "/track/abc", False),
        ("GET", "/d", False),
        ("GET", "/api/v1/tracking", False),
        ("POST", "/osmand", False),  # RATE_DEVICE_AUTH instead
        ("GET", "/", False),
    ],
)
def test_which_paths_are_public(method, path, public):
    assert is_public(method, path) is public
