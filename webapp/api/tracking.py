"""The tracking link's API: one booking, for whoever holds its link (no login).

Nothing here names another booking, the customer or a driver's id: the stream sends this
booking's state changes and, while a driver has the ride, that driver's position alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import orjson
from quart import Blueprint, current_app, make_response, request
from quart_schema import tag

from hexfleet.rides import bookings
from hexfleet.rides.states import ACTIVE, BookingStatus
from hexfleet.tracking.pings import iso
from hexfleet.tracking.store import LiveStore
from streaming.hub import Filter, LiveEvent, LiveHub, Subscriber
from webapp.api.stream import KEEPALIVE_S
from webapp.services import rides

bp = Blueprint("tracking_api", __name__, url_prefix="/api/v1/track")
log = logging.getLogger("hexfleet.web")

# What a tracking link's `booking` event carries: the change, not the booking's internals.
BOOKING_FIELDS = ("event_id", "action", "from_status", "status", "actor", "at", "reason")


@bp.get("/<token>")
@tag(["rides"])
async def track(token: str):
    """Status, timeline, driver name and plate, the driver's position while on the way, ETA.

    An invalid, tampered or expired link is 404; nothing else is reachable with it.
    """
    booking = await bookings.by_tracking_token(rides(), token)
    return await bookings.tracking_view(rides(), booking), 200, {"Cache-Control": "no-store"}


@bp.get("/<token>/stream")
@tag(["rides"])
async def track_stream(token: str):
    """Server-sent events for this booking only.

    `booking` {event_id, action, from_status, status, actor, at, reason} for each change of
    state (ask `GET /api/v1/track/{token}` for the whole view), and, while a driver has the
    ride (assigned, arrived, in progress), `position` {lat, lng, heading, ts} of that driver,
    starting with their latest known fix. An invalid, tampered or expired link is 404.
    """
    booking = await bookings.by_tracking_token(rides(), token)
    ext = current_app.extensions
    # As sse_response: a client the hub drops for falling behind gets its connection closed
    # (webapp/serving.py), since its writer may be blocked on a client that stopped reading.
    close = request.scope.get("extensions", {}).get("hexfleet.close")
    stream = TrackStream(ext["rides_hub"], ext["hub"], ext["store"], booking, on_drop=close)
    response = await make_response(
        stream.events(),
        200,
        {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    response.timeout = None  # type: ignore[union-attr]
    return response


def frame(kind: str, body: dict) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(body) + b"\n\n"


def booking_frame(event: LiveEvent) -> tuple[bytes, int | None] | None:
    """The trimmed `booking` frame, and the driver who has the ride after this change (None
    when nobody does); None for an event that is not a booking change."""
    if event.kind != "booking":
        return None
    try:
        data = orjson.loads(event.data)
        snapshot = data.get("booking") or {}
        status = BookingStatus(data["status"])
    except (orjson.JSONDecodeError, KeyError, ValueError, AttributeError):
        return None
    driver_id = snapshot.get("driver_id") if status in ACTIVE else None
    return frame("booking", {k: data.get(k) for k in BOOKING_FIELDS}), driver_id


def position_frame(event: LiveEvent) -> bytes | None:
    """A driver's fix as the link shows it: where and which way, never who."""
    if event.kind != "position":
        return None
    try:
        data = orjson.loads(event.data)
        body = {"lat": data["lat"], "lng": data["lng"], "heading": data.get("heading"), "ts": data.get("ts")}
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return frame("position", body)


class TrackStream:
    """One tracking link's stream: its booking's channel on the rides hub, and the positions hub
    filtered to the driver who has the ride, switched whenever a booking event changes who that is."""

    def __init__(self, rides_hub: LiveHub, positions_hub: LiveHub, store: LiveStore, booking, on_drop=None) -> None:
        self.on_drop = on_drop
        self.rides_hub = rides_hub
        self.positions_hub = positions_hub
        self.store = store
        self.booking_id: int = booking.id
        self.driver_id: int | None = booking.driver_id if booking.status in ACTIVE else None
        self.positions: Subscriber | None = None
        self._position_wait: asyncio.Task[list[LiveEvent]] | None = None

    async def events(self) -> AsyncIterator[bytes]:
        # Subscribed inside the generator, so its finally always unsubscribes.
        changes = self._watched(self.rides_hub.subscribe(Filter(channel=f"booking:{self.booking_id}")))
        change_wait: asyncio.Task[list[LiveEvent]] | None = None
        try:
            yield b"retry: 2000\n: connected\n\n"
            first = await self._follow(self.driver_id)
            if first:
                yield first
            while True:
                if change_wait is None:
                    change_wait = asyncio.ensure_future(changes.next_batch())
                waits = {change_wait} | ({self._position_wait} if self._position_wait else set())
                done, _ = await asyncio.wait(waits, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    yield b": keepalive\n\n"  # keeps proxies from closing an idle stream
                    continue
                out: list[bytes] = []
                if self._position_wait in done:
                    batch = self._position_wait.result()
                    self._position_wait = None
                    if not batch:
                        return  # dropped for falling behind, or the process is stopping: the browser reconnects
                    out.extend(f for f in map(position_frame, batch) if f)
                    self._position_wait = asyncio.ensure_future(self.positions.next_batch())  # type: ignore[union-attr]
                if change_wait in done:
                    batch = change_wait.result()
                    change_wait = None
                    if not batch:
                        return
                    driver_id = self.driver_id
                    for event in batch:
                        found = booking_frame(event)
                        if found:
                            out.append(found[0])
                            driver_id = found[1]
                    if driver_id != self.driver_id:
                        first = await self._follow(driver_id)
                        if first:
                            out.append(first)
                if out:
                    yield b"".join(out)
        finally:
            for task in (change_wait, self._position_wait):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            self._unfollow()
            self.rides_hub.unsubscribe(changes)

    async def _follow(self, driver_id: int | None) -> bytes | None:
        """Follow this driver's positions (or nobody's); returns their latest fix as a frame."""
        self._unfollow()
        self.driver_id = driver_id
        if driver_id is None:
            return None
        self.positions = self._watched(self.positions_hub.subscribe(Filter(driver_id=driver_id)))
        self._position_wait = asyncio.ensure_future(self.positions.next_batch())
        fix = (await self.store.fixes([driver_id])).get(driver_id)
        if fix is None:
            return None
        return frame("position", {"lat": fix.lat, "lng": fix.lng, "heading": fix.heading, "ts": iso(fix.ts)})

    def _watched(self, sub: Subscriber) -> Subscriber:
        if self.on_drop is not None and hasattr(sub, "on_drop"):  # hubs that can close a stuck client
            sub.on_drop = self.on_drop
        return sub

    def _unfollow(self) -> None:
        if self._position_wait is not None:
            self._position_wait.cancel()
            self._position_wait = None
        if self.positions is not None:
            self.positions_hub.unsubscribe(self.positions)
            self.positions = None
