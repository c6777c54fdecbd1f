"""The tracking link's API: one booking, for whoever holds its link (no login).

Nothing here names another booking, the customer or a driver's id, and nothing shows what
someone wrote (cancel reasons, a driver's reason for giving a ride back, notes): the stream
sends this booking's state changes and, while a driver has the ride, that driver's position
alone. A link is view-only; cancelling is for the signed-in rider and for staff.

An open stream checks its link again every STREAM_RECHECK_S, and at once when the booking
gets a new link: a replaced or expired link ends its streams (with a ``gone`` event) instead
of following the ride until the browser reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import orjson
from pydantic import BaseModel, Field
from quart import Blueprint, make_response, request
from quart_schema import document_response, tag

from hexfleet.errors import NotFound
from hexfleet.rides import bookings, links
from hexfleet.rides.states import ACTIVE, BookingStatus
from hexfleet.tracking.pings import iso
from hexfleet.tracking.store import LiveStore
from streaming import channels as ch
from streaming.hub import Filter, LiveEvent, LiveHub, Subscriber
from webapp.api.stream import KEEPALIVE_S
from webapp.problems import Problem
from webapp.services import services

bp = Blueprint("tracking_api", __name__, url_prefix="/api/v1/track")
log = logging.getLogger("hexfleet.web")

# What a tracking link's `booking` event carries: the change, not the booking's internals,
# and not its reason (free text by staff or a driver).
BOOKING_FIELDS = ("event_id", "action", "from_status", "status", "actor", "at")
LIVE = str(links.LinkState.LIVE)
INVALID = "invalid"  # not a link of ours (any more): the booking is gone

LinkCheck = Callable[[], Awaitable[str]]


class LatLng(BaseModel):
    lat: float
    lng: float
    label: str | None = Field(
        default=None, description='its name: the place or address chosen, else the nearest place ("Alexanderplatz")'
    )


class TrackStep(BaseModel):
    status: str
    at: str = Field(description="RFC 3339")
    by: str = Field(description="customer, driver, dispatcher, admin or system")


class TrackDriver(BaseModel):
    name: str
    vehicle_plate: str | None
    lat: float | None = Field(default=None, description="while the driver has the ride")
    lng: float | None = None
    heading: float | None = None


class TrackView(BaseModel):
    status: str
    pickup: LatLng
    dropoff: LatLng
    scheduled_for: str | None
    price_minor: int
    currency: str
    passenger_name: str = Field(description="the passenger's first name only")
    timeline: list[TrackStep] = Field(description="each change of state, oldest first")
    status_note: str | None = Field(description="who cancelled, as a neutral phrase (never a reason)")
    driver: TrackDriver | None
    eta_s: int | None
    eta_to: str | None = Field(description="pickup or dropoff")


@bp.get("/<token>")
@tag(["rides"])
@document_response(TrackView, 200)
@document_response(Problem, 404)
@document_response(Problem, 410)
async def track(token: str):
    """Status, timeline, the passenger's first name, driver name and plate, the driver's
    position while on the way, ETA.

    An invalid or tampered link is 404 (`tracking-link-invalid`); a link replaced by a new one
    (`tracking-link-revoked`) or whose ride ended more than TRACKING_LINK_TTL_S ago
    (`tracking-link-expired`) is 410. Nothing else is reachable with it.
    """
    booking = await bookings.by_tracking_token(services().rides, token)
    return await bookings.tracking_view(services().rides, booking), 200, {"Cache-Control": "no-store"}


@bp.get("/<token>/stream")
@tag(["rides"])
@document_response(Problem, 404)
@document_response(Problem, 410)
async def track_stream(token: str):
    """Server-sent events for this booking only.

    `booking` {event_id, action, from_status, status, actor, at} for each change of state (ask
    `GET /api/v1/track/{token}` for the whole view), and, while a driver has the ride (assigned,
    arrived, in progress), `position` {lat, lng, heading, ts} of that driver, starting with their
    latest known fix. The link is checked again every STREAM_RECHECK_S and when the booking gets
    a new link: once it is replaced or expired, a last `gone` {state: revoked | expired | invalid}
    ends the stream. An invalid link is 404, a replaced or expired one 410, as for the view.
    """
    booking = await bookings.by_tracking_token(services().rides, token)
    svc = services()
    # As sse_response: a client the hub drops for falling behind gets its connection closed
    # (webapp/serving.py), since its writer may be blocked on a client that stopped reading.
    close = request.scope.get("extensions", {}).get("hexfleet.close")
    stream = TrackStream(
        svc.rides_hub, svc.hub, svc.store, booking, on_drop=close,
        recheck=link_check(token), recheck_s=svc.settings.stream_recheck_s,
    )  # fmt: skip
    response = await make_response(
        stream.events(),
        200,
        {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    response.timeout = None  # type: ignore[union-attr]
    return response


def link_check(token: str) -> LinkCheck:
    """For a stream that outlives its request: the link's state now (``live``, ``revoked``,
    ``expired`` or ``invalid``), usable without the request context."""
    ride_context = services().rides

    async def state() -> str:
        try:
            await bookings.by_tracking_token(ride_context, token)
        except bookings.LinkGone as gone:
            return str(gone.state)
        except NotFound:
            return INVALID
        return LIVE

    return state


def frame(kind: str, body: dict) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(body) + b"\n\n"


@dataclass(frozen=True)
class Change:
    """A booking event as a tracking link's stream sees it."""

    frame: bytes | None  # what the link shows of it; None for a new link (no change of the ride)
    driver_id: int | None  # who has the ride after it
    link_renewed: bool


def booking_change(event: LiveEvent) -> Change | None:
    """The trimmed `booking` frame and the driver who has the ride after this change (None
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
    if data.get("action") == links.RENEW_ACTION:
        return Change(None, driver_id, True)
    return Change(frame(ch.BOOKING, {k: data.get(k) for k in BOOKING_FIELDS}), driver_id, False)


def position_frame(event: LiveEvent) -> bytes | None:
    """A driver's fix as the link shows it: where and which way, never who."""
    if event.kind != ch.POSITION:
        return None
    try:
        data = orjson.loads(event.data)
        body = {"lat": data["lat"], "lng": data["lng"], "heading": data.get("heading"), "ts": data.get("ts")}
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return frame(ch.POSITION, body)


class TrackStream:
    """One tracking link's stream: its booking's channel on the rides hub, and the positions hub
    filtered to the driver who has the ride, switched whenever a booking event changes who that is."""

    def __init__(
        self,
        rides_hub: LiveHub,
        positions_hub: LiveHub,
        store: LiveStore,
        booking,
        on_drop=None,
        recheck: LinkCheck | None = None,
        recheck_s: float = 30.0,
    ) -> None:
        self.on_drop = on_drop
        self.recheck = recheck
        self.recheck_s = recheck_s
        self.rides_hub = rides_hub
        self.positions_hub = positions_hub
        self.store = store
        self.booking_id: int = booking.id
        self.driver_id: int | None = booking.driver_id if booking.status in ACTIVE else None
        self.positions: Subscriber | None = None
        self._position_wait: asyncio.Task[list[LiveEvent]] | None = None

    async def events(self) -> AsyncIterator[bytes]:
        # Subscribed inside the generator, so its finally always unsubscribes.
        changes = self._watched(self.rides_hub.subscribe(Filter(channel=ch.booking(self.booking_id))))
        change_wait: asyncio.Task[list[LiveEvent]] | None = None
        wait_s = KEEPALIVE_S if self.recheck is None else min(KEEPALIVE_S, self.recheck_s)
        checked_at = time.monotonic()
        check_now = False
        try:
            yield b"retry: 2000\n: connected\n\n"
            first = await self._follow(self.driver_id)
            if first:
                yield first
            while True:
                if self.recheck is not None and (check_now or time.monotonic() - checked_at >= self.recheck_s):
                    state = await self._link_state(self.recheck)
                    if state != LIVE:
                        yield frame(ch.GONE, {"state": state})  # the page stops following and says why
                        return
                    checked_at, check_now = time.monotonic(), False
                if change_wait is None:
                    change_wait = asyncio.ensure_future(changes.next_batch())
                waits = {change_wait} | ({self._position_wait} if self._position_wait else set())
                done, _ = await asyncio.wait(waits, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
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
                        change = booking_change(event)
                        if change is None:
                            continue
                        if change.link_renewed:
                            check_now = True  # this stream's link may be the one replaced
                            continue
                        if change.frame is not None:
                            out.append(change.frame)
                        driver_id = change.driver_id
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

    async def _link_state(self, recheck: LinkCheck) -> str:
        """The link's state; if PostgreSQL cannot say (an outage), the stream goes on and the
        link is asked about again next time: a stream is no reason for a 503."""
        try:
            return await recheck()
        except Exception:
            log.warning("could not check a tracking link's stream again; asking later", exc_info=True)
            return LIVE

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
        return frame(ch.POSITION, {"lat": fix.lat, "lng": fix.lng, "heading": fix.heading, "ts": iso(fix.ts)})

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
