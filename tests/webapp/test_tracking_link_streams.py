"""An open tracking-link stream ends when its link does: the ride ended (no_driver included)
longer ago than TRACKING_LINK_TTL_S, or a new link replaced it. Real server (uvicorn with
webapp/serving.py), real PostgreSQL; a tiny TTL and STREAM_RECHECK_S."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from helpers import make_fare, make_user, wait_for

from hexfleet.rides import bookings, links
from streaming.hub import LiveHub, make_channel_event
from webapp.api.tracking import TrackStream, link_check
from webapp.services import services

RECHECK_S = 0.3
TTL_S = 2.0
PICKUP = {"lat": 52.5200, "lng": 13.4050}
DROPOFF = {"lat": 52.5300, "lng": 13.4300}


@pytest.fixture
def settings(settings):
    # No dispatch patience: a booking with nobody in reach ends no_driver at once (its link's countdown starts).
    return settings.with_(stream_recheck_s=RECHECK_S, tracking_link_ttl_s=TTL_S, dispatch_patience_s=0.0)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token_of(url: str) -> str:
    return url.rsplit("/t/", 1)[1]


async def book(client, token: str, later: bool = False) -> dict:
    quote = await client.post("/api/v1/quotes", json={"pickup": PICKUP, "dropoff": DROPOFF}, headers=bearer(token))
    body: dict = {
        "quote_id": quote.json()["quote_id"],
        "passenger": {"name": "Rita", "phone": "+49 30 5550101"},
        "confirm_no_driver": True,  # nobody is near in these tests
    }
    if later:
        body["scheduled_for"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await client.post("/api/v1/bookings", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


class Stream:
    """A tracking link's SSE stream as a browser holds it: read until the server ends it."""

    def __init__(self, client: httpx.AsyncClient, path: str) -> None:
        self.client, self.path = client, path
        self.body = b""
        self._connected = asyncio.Event()
        self._reader: asyncio.Task | None = None

    async def open(self) -> Stream:
        self._reader = asyncio.create_task(self._read())
        opened = asyncio.create_task(self._connected.wait())
        await asyncio.wait({self._reader, opened}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        opened.cancel()
        assert self._connected.is_set(), self.body
        return self

    async def _read(self) -> None:
        async with self.client.stream("GET", self.path) as response:
            assert response.status_code == 200, await response.aread()
            async for chunk in response.aiter_bytes():
                self.body += chunk
                if b"connected" in self.body:
                    self._connected.set()

    async def ends_within(self, seconds: float) -> float | None:
        """Seconds until the server ended the stream; None if it was still open after ``seconds``."""
        started = time.monotonic()
        done, _ = await asyncio.wait({self._reader}, timeout=seconds)  # type: ignore[arg-type]
        return time.monotonic() - started if done else None

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


async def test_a_no_driver_bookings_open_stream_ends_when_its_link_expires(server, db):
    _, port = server
    await make_fare(db)
    _, token = await make_user(db, "customer")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=None) as client:
        booking = await book(client, token)  # nobody on duty: dispatch gives up at once

        async def gave_up():
            row = await db.fetchrow("SELECT status, ended_at FROM bookings WHERE id = $1", booking["id"])
            return row if row["status"] == "no_driver" else None

        ended_at = (await wait_for(gave_up))["ended_at"]
        assert ended_at is not None  # before: a no_driver booking never ended, nor did its link
        path = f"/api/v1/track/{token_of(booking['tracking_url'])}/stream"
        stream = await Stream(client, path).open()
        try:
            left = ended_at.timestamp() + TTL_S - time.time()
            if left > 4 * RECHECK_S:  # checked a few times while the link holds: still open
                assert await stream.ends_within(left - 2 * RECHECK_S) is None
            took = await stream.ends_within(max(left, 0) + 3 * RECHECK_S + 1)
            assert took is not None, "the stream outlived its link"
            assert b"event: gone" in stream.body and b'"state":"expired"' in stream.body
        finally:
            await stream.close()
        r = await client.get(path)
        assert r.status_code == 410 and r.json()["type"].endswith("/tracking-link-expired")


async def test_an_open_stream_of_a_replaced_link_ends_and_the_new_links_goes_on(server, db):
    _, port = server
    await make_fare(db)
    _, token = await make_user(db, "customer")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=None) as client:
        booking = await book(client, token, later=True)  # scheduled: no end, no countdown
        old = await Stream(client, f"/api/v1/track/{token_of(booking['tracking_url'])}/stream").open()
        try:
            assert await old.ends_within(4 * RECHECK_S) is None
            r = await client.post(f"/api/v1/bookings/{booking['id']}/tracking-link", headers=bearer(token))
            assert r.status_code == 201
            new = await Stream(client, f"/api/v1/track/{token_of(r.json()['tracking_url'])}/stream").open()
            try:
                took = await old.ends_within(3 * RECHECK_S + 1)
                assert took is not None and b'"state":"revoked"' in old.body
                assert await new.ends_within(4 * RECHECK_S) is None
            finally:
                await new.close()
        finally:
            await old.close()


async def test_the_new_link_event_ends_the_old_links_stream_at_once(app, client, db):
    """Without waiting for STREAM_RECHECK_S: the booking event that records a new link makes
    every open stream of the booking check its link (this one with a recheck of an hour)."""
    await make_fare(db)
    _, token = await make_user(db, "customer")
    booking = await book(client, token, later=True)
    old_token = token_of(booking["tracking_url"])
    rides = services(app).rides
    row = await bookings.by_tracking_token(rides, old_token)
    async with app.app_context():
        check = link_check(old_token)
    rides_hub = LiveHub()
    stream = TrackStream(rides_hub, LiveHub(), services(app).store, row, recheck=check, recheck_s=3600)
    events = stream.events()
    try:
        assert b"connected" in await anext(events)
        waiting = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # nothing to say
        renewed = await bookings.renew_tracking_link(rides, bookings.Viewer(booking["customer_id"], "customer"), row.id)
        event = {
            "event_id": 99, "booking_id": row.id, "action": links.RENEW_ACTION, "from_status": "scheduled",
            "status": "scheduled", "actor": "customer", "at": time.time(), "driver_id": None, "reason": None,
            "booking": renewed.snapshot(),
        }  # fmt: skip
        rides_hub.publish(
            [make_channel_event("booking", row.id, orjson.dumps(event), frozenset({f"booking:{row.id}"}))]
        )
        last = await asyncio.wait_for(waiting, 2)
        assert last.startswith(b"event: gone\n") and orjson.loads(last.split(b"data: ", 1)[1]) == {"state": "revoked"}
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(events), 2)
    finally:
        await events.aclose()
    assert len(rides_hub) == 0
