"""Live position streams: SSE and WebSocket, fed by this process's hub."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from quart import Blueprint, make_response, request, websocket
from quart_schema import tag

from hexfleet.errors import Invalid
from hexfleet.geo import parse_bbox
from hexfleet.rides import bookings
from hexfleet.users.roles import STAFF, Role
from streaming import channels as ch
from streaming.hub import Filter, LiveHub
from webapp.auth import caller_check, current_user, require_user, role_required
from webapp.csrf import allowed_origin
from webapp.services import services

bp = Blueprint("stream_api", __name__, url_prefix="/api/v1")
KEEPALIVE_S = 15
log = logging.getLogger("hexfleet.web")


def _filter(args) -> Filter:
    bbox = None
    if args.get("bbox"):
        try:
            bbox = parse_bbox(args["bbox"])
        except ValueError as error:
            raise Invalid(str(error), code="bad-bbox") from None
    driver_id = args.get("driver_id")
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if driver_id is not None and not (driver_id.isdecimal() and len(driver_id) <= 18):
        raise Invalid("driver_id must be a driver's numeric id", code="bad-driver-id")
    return Filter(bbox=bbox, driver_id=int(driver_id) if driver_id else None)


Recheck = Callable[[], Awaitable[bool]]


async def _still_allowed(recheck: Recheck) -> bool:
    """The caller's credentials still hold. If PostgreSQL cannot say (an outage), the stream
    goes on: the check is asked again next time, and a stream is no reason for a 503."""
    try:
        return await recheck()
    except Exception:
        log.warning("could not check a stream's caller again; asking later", exc_info=True)
        return True


async def sse_response(hub: LiveHub, flt: Filter | str, recheck: Recheck | None = None):
    """A live stream of one hub's events for one filter (or audience channel).

    ``recheck`` (webapp.auth.caller_check) is asked every STREAM_RECHECK_S whether the caller
    may still listen: a stream opened before its session ended or its account was disabled
    ends then, not when the browser happens to reconnect."""
    recheck_s = services().settings.stream_recheck_s
    if isinstance(flt, str):
        flt = Filter(channel=flt)
    # webapp/serving.py's protocol lets us close a client that stopped reading.
    close = request.scope.get("extensions", {}).get("hexfleet.close")

    async def events():
        # Subscribed inside the generator, so its finally always unsubscribes (a client
        # that leaves before the body starts never subscribes at all).
        sub = hub.subscribe(flt)
        sub.on_drop = close
        checked_at = time.monotonic()
        try:
            yield b"retry: 2000\n: connected\n\n"
            while True:
                if recheck is not None and time.monotonic() - checked_at >= recheck_s:
                    if not await _still_allowed(recheck):
                        return
                    checked_at = time.monotonic()
                try:
                    wait = KEEPALIVE_S if recheck is None else min(KEEPALIVE_S, recheck_s)
                    batch = await asyncio.wait_for(sub.next_batch(), wait)
                except TimeoutError:
                    yield b": keepalive\n\n"  # keeps proxies from closing an idle stream
                    continue
                if not batch:
                    # Dropped for falling behind, or the process is stopping: the browser
                    # reconnects (to this process's successor) and catches up.
                    return
                yield b"".join(e.sse for e in batch)
        finally:
            hub.unsubscribe(sub)

    response = await make_response(
        events(),
        200,
        {
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        },
    )
    response.timeout = None  # type: ignore[union-attr]
    return response


@bp.get("/stream/positions")
@tag(["dispatch"])
@role_required(*STAFF)
async def sse_positions():
    """Server-sent events: `position` {driver_id, lat, lng, ts, speed_mps, heading, status} and
    `status` {driver_id, status}. Filters: bbox=minLng,minLat,maxLng,maxLat and driver_id=."""
    return await sse_response(
        services().hub, _filter(request.args), caller_check()
    )  # bad filters answer 422 before any stream starts


@bp.get("/stream/bookings")
@tag(["rides"])
async def sse_bookings():
    """Server-sent events: `booking` {event_id, booking_id, action, from_status, status, actor, at,
    driver_id, offer, reason, booking}. Staff get every booking, customers their own.
    `booking_id=` follows one booking. Staff also get `alert` {event_id, alert_id, action (raised,
    acknowledged, resolved), at, alert (as GET /api/v1/alerts shows it)} from the alerts desk."""
    user = await require_user(Role.CUSTOMER, *STAFF)
    booking_id = request.args.get("booking_id")
    if booking_id is not None:
        if not (booking_id.isdecimal() and len(booking_id) <= 18):
            raise Invalid("booking_id must be a booking's numeric id", code="bad-booking-id")
        await bookings.get_for(
            services().rides, bookings.Viewer(user.id, user.role), int(booking_id)
        )  # 404 if not yours
        return await sse_response(services().rides_hub, ch.booking(int(booking_id)), caller_check())
    channel = ch.STAFF if user.role in STAFF else ch.customer(user.id)
    return await sse_response(services().rides_hub, channel, caller_check())


@bp.get("/stream/surge")
@tag(["rides"])
async def sse_surge():
    """Server-sent events: `surge` {at, cells: {h3 cell: multiplier}} whenever the worker changes
    a cell's multiplier (the current ones: GET /api/v1/surge)."""
    await require_user(Role.CUSTOMER, *STAFF)
    return await sse_response(services().rides_hub, ch.SURGE, caller_check())


@bp.websocket("/ws/positions")
async def ws_positions():
    """WebSocket: one JSON message per event, the same JSON as the SSE stream.

    Browsers send the session cookie with a WebSocket from any site, so the Origin must be
    ours (the host asked for, PUBLIC_URL or ALLOWED_ORIGINS); clients without an Origin
    (scripts with a Bearer token) are not browsers and pass."""
    origin = websocket.headers.get("Origin")
    if origin is not None:
        settings = services().settings
        allowed = (settings.public_url, *settings.allowed_origins_list())
        if not allowed_origin(origin, websocket.host, allowed):
            await websocket.close(1008, "this origin may not open the stream")
            return
    user = await current_user()
    if user is None or user.role not in STAFF:
        await websocket.close(1008, "log in as a dispatcher or send a Bearer API token")
        return
    try:
        flt = _filter(websocket.args)
    except Invalid as error:
        await websocket.close(1008, error.detail)
        return
    await websocket.accept()
    hub = services().hub
    sub = hub.subscribe(flt)
    checked_at = time.monotonic()
    try:
        recheck, recheck_s = caller_check(), services().settings.stream_recheck_s
        while True:
            try:
                batch = await asyncio.wait_for(sub.next_batch(), recheck_s)
            except TimeoutError:
                batch = None
            if batch is None or time.monotonic() - checked_at >= recheck_s:
                if not await _still_allowed(recheck):
                    await websocket.close(1008, "your session ended: log in again")
                    return
                checked_at = time.monotonic()
                if batch is None:
                    continue
            if not batch:
                if hub.closed:
                    await websocket.close(1012, "server restarting; reconnect")
                else:
                    await websocket.close(1013, "fell behind; reconnect")
                return
            for event in batch:
                await websocket.send(event.data.decode())
    finally:
        hub.unsubscribe(sub)
