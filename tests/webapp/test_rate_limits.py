"""Rate limits in Redis: per driver for pings (counted in pings), per user for quotes and
bookings, shared by every web process, answering 429 with Retry-After."""

from __future__ import annotations

import time

import httpx
import pytest
from helpers import make_driver, make_fare, make_user, start_web

PINGS = "/api/v1/driver/pings"


def batch(n: int, start: float) -> dict:
    return {"pings": [{"lat": 52.52, "lng": 13.405 + i * 1e-5, "ts": start + i * 0.01} for i in range(n)]}


@pytest.fixture
def settings(settings):
    return settings.with_(rate_ingest="50/minute", rate_quotes="3/minute", rate_bookings="2/minute")


async def test_a_flooding_device_is_stopped_and_its_neighbour_is_not(client, db):
    _, flood = await make_driver(db, "Flood")
    _, calm = await make_driver(db, "Calm")
    now = time.time()
    answers = []
    for k in range(4):  # 4 × 20 pings against a budget of 50 a minute
        r = await client.post(PINGS, json=batch(20, now + k), headers={"Authorization": f"Bearer {flood.token}"})
        answers.append(r.status_code)
    assert answers[:2] == [202, 202] and answers[-1] == 429
    refused = await client.post(PINGS, json=batch(1, now + 9), headers={"Authorization": f"Bearer {flood.token}"})
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["type"].endswith("rate-limited") and refused.json()["retry_after"] >= 1
    ok = await client.post(PINGS, json=batch(5, now), headers={"Authorization": f"Bearer {calm.token}"})
    assert ok.status_code == 202
    metrics = (await client.get("/metrics")).text
    assert 'hexfleet_pings_rejected_total{reason="rate-limited"}' in metrics


async def test_the_budget_holds_across_web_processes(settings, db, redis):
    _, device = await make_driver(db, "Two doors")
    procs = []
    try:
        for _ in range(2):
            procs.append(await start_web(settings, RATE_INGEST="50/minute"))
        now = time.time()
        codes = []
        async with httpx.AsyncClient(trust_env=False) as client:
            for k in range(6):  # 20 pings at a time, alternating processes: 120 against 50
                _, url = procs[k % 2]
                r = await client.post(
                    url + PINGS, json=batch(20, now + k), headers={"Authorization": f"Bearer {device.token}"}
                )
                codes.append(r.status_code)
        # Each process spends in lumps of 20: the shared budget stops the device after at most
        # one lump beyond it per process, never 6 × 20 = 120 pings.
        assert codes.count(202) <= 4 and codes[-1] == 429, codes
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(15)


async def test_quotes_and_bookings_per_customer(client, db):
    await make_fare(db)
    _, rider = await make_user(db, "customer")
    _, other = await make_user(db, "customer")
    body = {"pickup": {"lat": 52.52, "lng": 13.405}, "dropoff": {"lat": 52.53, "lng": 13.43}}
    codes = [(await client.post("/api/v1/quotes", json=body, headers={"Authorization": f"Bearer {rider}"})).status_code
             for _ in range(4)]  # fmt: skip
    assert codes == [201, 201, 201, 429]
    last = await client.post("/api/v1/quotes", json=body, headers={"Authorization": f"Bearer {rider}"})
    assert last.status_code == 429 and "Retry-After" in last.headers and "too many quotes" in last.json()["detail"]
    assert (
        await client.post("/api/v1/quotes", json=body, headers={"Authorization": f"Bearer {other}"})
    ).status_code == 201
