"""RATE_DEVICE_AUTH: failed device sign-ins (unknown OsmAnd ids, wrong OwnTracks Basic auth,
wrong Bearer device tokens on the ingest) spend one per-address budget; once it is spent,
every device request from that address answers 429 before any lookup, so a right guess is not
confirmed, while other addresses go on."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
from helpers import make_driver, start_web

LIMIT = 3
PINGS = "/api/v1/driver/pings"


@pytest.fixture
def settings(settings):
    return settings.with_(rate_device_auth=f"{LIMIT}/minute")


@pytest.fixture
async def device(db):
    return (await make_driver(db, "Phone"))[1]


def from_address(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://test")


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def fix(device_id: str) -> str:
    return f"/osmand?id={device_id}&timestamp={int(time.time())}&lat=52.5&lon=13.4"


def ping() -> dict:
    return {"lat": 52.52, "lng": 13.405, "ts": time.time()}


def location() -> dict:
    return {"_type": "location", "lat": 52.53, "lon": 13.43, "tst": int(time.time())}


def assert_guessing_refused(r: httpx.Response) -> None:
    assert r.status_code == 429, (r.status_code, r.text)
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/auth-rate-limited") and body["retry_after"] >= 1
    assert "failed device sign-ins" in body["detail"]


async def test_osmand_unknown_ids_then_even_the_real_id_is_refused(app, client, device):
    # Every shape the OsmAnd protocol comes in spends from the budget.
    r = await client.get(fix("guess-0"))
    assert r.status_code == 404
    r = await client.post("/osmand", data={"deviceid": "guess-1", "lat": "52.5", "lon": "13.4"})
    assert r.status_code == 404
    body = {"device_id": "guess-2", "location": {"timestamp": time.time(), "coords": {"latitude": 52.5,
            "longitude": 13.4}}}  # fmt: skip
    r = await client.post("/osmand", json=body)
    assert r.status_code == 404
    assert_guessing_refused(await client.get(fix("guess-3")))
    # The right id is no longer looked up: it cannot be told apart from a wrong one.
    assert_guessing_refused(await client.get(fix(device.device_id)))
    assert_guessing_refused(await client.post("/osmand", json={**body, "device_id": device.device_id}))
    async with from_address(app, "198.51.100.7") as elsewhere:
        assert (await elsewhere.get(fix(device.device_id))).status_code == 200
    metrics = (await client.get("/metrics")).text
    assert 'hexfleet_pings_rejected_total{reason="auth-rate-limited"} 3.0' in metrics


async def test_a_stale_phone_repeating_its_old_id_does_not_lock_out_its_neighbours(client, device):
    # A revoked phone retries the same id forever; the same wrong id counts once.
    for _ in range(LIMIT * 3):
        assert (await client.get(fix("revoked-phone"))).status_code == 404
    assert (await client.get(fix(device.device_id))).status_code == 200


async def test_owntracks_bad_basic_auth_then_the_right_one_is_refused(app, client, device):
    for _ in range(LIMIT + 2):  # no credentials at all is a misconfigured app, not a guess
        assert (await client.post("/owntracks", json=location())).status_code == 401
    for i in range(LIMIT):
        r = await client.post("/owntracks", json=location(), headers=basic(device.device_id, f"hfd_guess{i}"))
        assert r.status_code == 401
    assert_guessing_refused(await client.post("/owntracks", json=location(), headers=basic("x", "hfd_guess")))
    right = basic(device.device_id, device.token)
    assert_guessing_refused(await client.post("/owntracks", json=location(), headers=right))
    async with from_address(app, "198.51.100.8") as elsewhere:
        r = await elsewhere.post("/owntracks", json=location(), headers=right)
        assert (r.status_code, r.json()) == (200, [])


async def test_ingest_bad_bearer_tokens_then_the_right_one_is_refused(app, client, device):
    for i in range(LIMIT):
        r = await client.post(PINGS, json=ping(), headers=bearer(f"hfd_guess{i}"))
        assert r.status_code == 401
    assert_guessing_refused(await client.post(PINGS, json=ping(), headers=bearer("hfd_guess-last")))
    assert_guessing_refused(await client.post(PINGS, json=ping(), headers=bearer(device.token)))
    async with from_address(app, "198.51.100.9") as elsewhere:
        assert (await elsewhere.post(PINGS, json=ping(), headers=bearer(device.token))).status_code == 202


async def test_driver_api_bad_bearer_tokens_spend_the_same_budget(app, client, device):
    # Every driver route answers a stranger: a wrong token there is a guess like any other.
    for i in range(LIMIT):
        r = await client.get("/api/v1/driver/offers", headers=bearer(f"hfd_guess{i}"))
        assert r.status_code == 401
    assert_guessing_refused(await client.post("/api/v1/driver/status", json={"status": "available"},
                                              headers=bearer("hfd_guess-last")))  # fmt: skip
    assert_guessing_refused(await client.get("/api/v1/driver/offers", headers=bearer(device.token)))
    assert_guessing_refused(await client.post(PINGS, json=ping(), headers=bearer(device.token)))
    async with from_address(app, "198.51.100.10") as elsewhere:
        assert (await elsewhere.get("/api/v1/driver/offers", headers=bearer(device.token))).status_code == 200


async def test_one_budget_for_every_device_protocol(client, device):
    assert (await client.get(fix("guess-a"))).status_code == 404
    assert (await client.post(PINGS, json=ping(), headers=bearer("hfd_guess-b"))).status_code == 401
    r = await client.post("/owntracks", json=location(), headers=basic(device.device_id, "hfd_guess-c"))
    assert r.status_code == 401
    assert_guessing_refused(await client.get(fix("guess-d")))
    assert_guessing_refused(await client.post(PINGS, json=ping(), headers=bearer(device.token)))


async def test_the_budget_is_shared_by_every_web_process(settings, redis, device):
    procs = [await start_web(settings, RATE_DEVICE_AUTH=f"{LIMIT}/minute") for _ in range(2)]
    (_, first), (_, second) = procs
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            for i in range(LIMIT):
                assert (await client.get(first + fix(f"guess-{i}"))).status_code == 404
            assert_guessing_refused(await client.get(first + fix("guess-x")))
            # The other process has seen no failure from this address yet: its first one
            # meets the budget spent in Redis, and from then on it refuses the right id too.
            assert_guessing_refused(await client.get(second + fix("guess-y")))
            assert_guessing_refused(await client.get(second + fix(device.device_id)))
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(15)
