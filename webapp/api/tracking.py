"""The tracking link's API: one booking, for whoever holds its link (no login)."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import tag

from hexfleet.rides import bookings
from webapp.api.stream import sse_response
from webapp.services import rides

bp = Blueprint("tracking_api", __name__, url_prefix="/api/v1/track")


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
    """Server-sent events for this booking only (`booking` events, as /api/v1/stream/bookings)."""
    booking = await bookings.by_tracking_token(rides(), token)
    return await sse_response("rides_hub", f"booking:{booking.id}")
