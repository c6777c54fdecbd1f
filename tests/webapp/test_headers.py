"""Security headers everywhere, a strict Content-Security-Policy on pages, and /metrics kept private."""

from __future__ import annotations

import time

import httpx
import pytest
from helpers import make_driver

from webapp.headers import content_security_policy, tile_origin


@pytest.mark.parametrize(
    ("tile_url", "origin"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tile.example.com/{z}/{x}/{y}.png", "https://*.tile.example.com"),
        ("", ""),
    ],
)
def test_tile_origin(tile_url, origin):
    assert tile_origin(tile_url) == origin


async def test_pages_get_a_strict_policy_and_docs_their_one_allowance(client):
    page = await client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    docs = await client.get("/docs")
    assert "script-src 'self' 'unsafe-inline'" in docs.headers["content-security-policy"]
    for response in (page, docs, await client.get("/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


async def test_the_raw_ingest_answers_carry_the_headers_too(client, db):
    _, device = await make_driver(db)
    r = await client.post(
        "/api/v1/driver/pings",
        json={"lat": 52.5, "lng": 13.4, "ts": time.time()},
        headers={"Authorization": f"Bearer {device.token}"},
    )
    assert r.status_code == 202 and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


def test_the_policy_names_the_tile_host():
    assert "img-src 'self' data: https://tile.openstreetmap.org" in content_security_policy(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    )


@pytest.fixture
def settings(settings):
    return settings.with_(metrics_token="s3cret-metrics", metrics_allow="127.0.0.0/8,10.0.0.0/8")


async def test_metrics_only_for_allowed_networks_or_the_token(app):
    async def get(client_addr: str, headers: dict | None = None) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(client_addr, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/metrics", headers=headers or {})

    assert (await get("127.0.0.1")).status_code == 200
    assert (await get("10.1.2.3")).status_code == 200
    assert (await get("203.0.113.9")).status_code == 404  # the internet: as if nothing were there
    assert (await get("203.0.113.9", {"Authorization": "Bearer wrong"})).status_code == 404
    assert (await get("203.0.113.9", {"Authorization": "Bearer s3cret-metrics"})).status_code == 200
