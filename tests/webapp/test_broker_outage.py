"""The broker goes away and comes back on the same address: ingest answers 503 within its
deadline (with Retry-After), /readyz says so, and everything recovers by itself."""

from __future__ import annotations

import time

import httpx
import pytest
from helpers import make_driver, wait_for

from hexfleet.devtools import embedded
from hexfleet.devtools.testing import free_port
from streaming.hub import Filter
from webapp.services import services

PINGS = "/api/v1/driver/pings"


@pytest.fixture
async def own_broker(settings, db, redis, tmp_path):
    port = free_port()
    broker = embedded.start_kafka(port=port, log_dir=tmp_path)
    holder = {"broker": broker, "port": port, "dir": tmp_path}
    yield settings.with_(kafka_bootstrap_servers=f"127.0.0.1:{port}"), holder
    holder["broker"].stop()


async def test_ingest_answers_503_fast_and_recovers_when_the_broker_returns(own_broker, db):
    from webapp import create_app

    settings, holder = own_broker
    _, device = await make_driver(db, "Steady")
    app = create_app(settings)
    async with app.test_app():
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        auth = {"Authorization": f"Bearer {device.token}"}

        async def ping():
            return await client.post(PINGS, json={"lat": 52.52, "lng": 13.405, "ts": time.time()}, headers=auth)

        assert (await ping()).status_code == 202
        holder["broker"].stop()
        started = time.monotonic()
        down = await ping()
        took = time.monotonic() - started
        assert down.status_code == 503 and down.headers["retry-after"] == "2", down.text
        assert took < 3.5  # the produce deadline (2 s), not aiokafka's minutes
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["kafka"].startswith("failed")
        again = await ping()  # while reconnecting: at once
        assert again.status_code == 503

        holder["broker"] = embedded.start_kafka(port=holder["port"], log_dir=holder["dir"])
        sub = services(app).hub.subscribe(Filter())

        async def accepted():
            return (await ping()).status_code == 202

        await wait_for(accepted, timeout=30, interval=0.5)
        assert (await client.get("/readyz")).status_code == 200
        assert services(app).producer.renewals == 1

        async def streamed():  # the live maps hear pings again too
            await ping()
            return sub.pending

        await wait_for(streamed, timeout=20, interval=0.5)
        await client.aclose()
