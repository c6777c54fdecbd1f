"""Booking events end to end: workflow → outbox → relay → Kafka → a real web process's fan-out →
SSE, each audience seeing only its own (staff all, a customer their ride, the offered driver
their offer, a tracking link its one booking, a stranger nothing)."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import orjson
import pytest
from helpers import make_driver, make_fare, make_user, place_driver, start_web, wait_for

from streaming.kafka import ensure_ride_topics, make_producer
from streaming.relay import OutboxRelay


class Listener:
    """An SSE client that keeps every `booking` event it receives."""

    def __init__(self, url: str, headers: dict | None = None) -> None:
        self.url, self.headers = url, headers or {}
        self.events: list[dict] = []
        self.connected = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=None), trust_env=False) as client:
            async with client.stream("GET", self.url, headers=self.headers) as response:
                assert response.status_code == 200, await response.aread()
                kind = None
                async for line in response.aiter_lines():
                    self.connected.set()
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind == "booking":
                        self.events.append(orjson.loads(line[6:]))

    def statuses(self) -> list[str]:
        return [e["status"] for e in self.events]

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@pytest.fixture
async def stack(settings, db, redis):
    await ensure_ride_topics(settings)
    web, url = await start_web(settings)
    relay = OutboxRelay(settings, db, lambda: make_producer(settings))
    task = asyncio.create_task(relay.run())
    yield url
    relay.stop()
    await asyncio.gather(task, return_exceptions=True)
    web.terminate()
    web.wait(15)


async def test_each_audience_sees_its_own(stack, db, redis):
    from hexfleet.tracking.store import LiveStore

    url = stack
    await make_fare(db)
    _, rider = await make_user(db, "customer")
    _, stranger = await make_user(db, "customer")
    _, staff = await make_user(db, "dispatcher")
    driver, device = await make_driver(db, "Offered")
    await place_driver(LiveStore(redis), driver.id, 52.5201, 13.405)
    _, idle_device = await make_driver(db, "Idle")

    def auth(token):
        return {"Authorization": f"Bearer {token}"}

    listeners = {
        "staff": Listener(f"{url}/api/v1/stream/bookings", auth(staff)),
        "rider": Listener(f"{url}/api/v1/stream/bookings", auth(rider)),
        "stranger": Listener(f"{url}/api/v1/stream/bookings", auth(stranger)),
        "driver": Listener(f"{url}/api/v1/driver/offers/stream", auth(device.token)),
        "idle": Listener(f"{url}/api/v1/driver/offers/stream", auth(idle_device.token)),
    }
    try:
        for listener in listeners.values():
            await asyncio.wait_for(listener.connected.wait(), 10)
        async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=10) as client:
            quote = await client.post(
                "/api/v1/quotes",
                json={"pickup": {"lat": 52.52, "lng": 13.405}, "dropoff": {"lat": 52.53, "lng": 13.43}},
                headers=auth(rider),
            )
            booking = (
                await client.post(
                    "/api/v1/bookings",
                    json={"quote_id": quote.json()["quote_id"], "passenger": {"name": "Rita", "phone": "+4930555"}},
                    headers=auth(rider),
                )
            ).json()
            token = booking["tracking_url"].rsplit("/t/", 1)[1]
            listeners["link"] = Listener(f"{url}/api/v1/track/{token}/stream")

            async def offered():
                events = listeners["driver"].events
                return next((e for e in events if e["status"] == "offered"), None)

            offer = await wait_for(offered, timeout=15)
            assert offer["booking_id"] == booking["id"] and offer["offer"]["id"] and offer["driver_id"] == driver.id
            await asyncio.wait_for(listeners["link"].connected.wait(), 10)
            r = await client.post(f"/api/v1/driver/offers/{offer['offer']['id']}/accept", headers=auth(device.token))
            assert r.status_code == 200

        async def everyone_heard():
            return all("assigned" in listeners[n].statuses() for n in ("staff", "rider", "driver", "link"))

        await wait_for(everyone_heard, timeout=15)
        assert listeners["stranger"].events == [] and listeners["idle"].events == []
        assert "customer_id" not in str(listeners["link"].events) and "passenger" not in str(listeners["link"].events)
        ids = [e["event_id"] for e in listeners["staff"].events]
        assert ids == sorted(set(ids))  # no duplicates, in order
    finally:
        for listener in listeners.values():
            await listener.stop()
