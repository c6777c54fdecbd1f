"""The driver app's side of rides: offers, the ride in hand, its steps, and a live stream.

Authenticated with the driver's Bearer device token. Another driver's offer or booking
does not exist for you (404).
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import document_headers, tag, validate_request

from hexfleet.rides import dispatch
from hexfleet.rides import queries as q
from hexfleet.rides.states import Action, OfferStatus
from streaming import channels as ch
from webapp.api.drivers import DeviceAuthHeader
from webapp.api.stream import sse_response
from webapp.auth import driver_check, driver_required, require_driver
from webapp.services import dispatch_soon, services

bp = Blueprint("driver_rides_api", __name__, url_prefix="/api/v1/driver")


def _offer_json(offer: q.Offer, booking: q.Booking) -> dict:
    return {**offer.to_json(), "booking": booking.snapshot(), "notes": booking.notes}


def _ride_json(booking: q.Booking) -> dict:
    """The ride in hand: the driver needs the passenger's name and phone, not the customer account."""
    return {
        **booking.snapshot(),
        "passenger": {"name": booking.passenger_name, "phone": booking.passenger_phone},
        "notes": booking.notes,
        "distance_m": booking.distance_m,
        "duration_s": booking.duration_s,
    }


@bp.get("/offers")
@tag(["driver app"])
@document_headers(DeviceAuthHeader)
async def list_offers():
    """Your open offers (at most one), each with its booking and when it expires."""
    driver_id = await require_driver()
    async with services().rides.pool.acquire() as conn:
        offers = await q.pending_offers_of_driver(conn, driver_id)
        found = [(o, await q.get_booking(conn, o.booking_id)) for o in offers]
    return {"offers": [_offer_json(o, b) for o, b in found if b is not None]}


@bp.post("/offers/<int:offer_id>/accept")
@tag(["driver app"])
@document_headers(DeviceAuthHeader)
async def accept_offer(offer_id: int):
    """Take the ride: it is yours and you are busy. 409 if the offer expired or was withdrawn."""
    driver_id = await require_driver()
    booking = await dispatch.accept(services().rides, driver_id, offer_id)
    return _ride_json(booking)


@bp.post("/offers/<int:offer_id>/decline")
@tag(["driver app"])
@document_headers(DeviceAuthHeader)
async def decline_offer(offer_id: int):
    """Say no: the ride goes to the next driver and you are not asked for it again."""
    driver_id = await require_driver()
    offer = await dispatch.decline(services().rides, driver_id, offer_id)
    dispatch_soon(offer.booking_id)
    return {"offer_id": offer_id, "status": OfferStatus.DECLINED}


@bp.get("/bookings/current")
@tag(["driver app"])
@document_headers(DeviceAuthHeader)
async def current_ride():
    """The ride in your hands (assigned, arrived or in progress), or null."""
    driver_id = await require_driver()
    async with services().rides.pool.acquire() as conn:
        booking = await q.driver_current_booking(conn, driver_id)
    return {"booking": _ride_json(booking) if booking else None}


class StepIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


async def _step(booking_id: int, action: Action, reason: str | None = None):
    driver_id = await require_driver()
    booking = await dispatch.driver_step(services().rides, driver_id, booking_id, action, reason)
    return _ride_json(booking)


@bp.post("/bookings/<int:booking_id>/arrived")
@tag(["driver app"])
@document_headers(DeviceAuthHeader)
async def arrived(booking_id: int):
    """You are at the pickup."""
    return await _step(booking_id, Action.ARRIVE)


@bp.post("/bookings/<int:booking_id>/start")
@tag(["driver app"])
@document_headers(DeviceAuthHeader)
async def start(booking_id: int):
    """The passenger is on board."""
    return await _step(booking_id, Action.START)


@bp.post("/bookings/<int:booking_id>/complete")
@tag(["driver app"])
@document_headers(DeviceAuthHeader)
async def complete(booking_id: int):
    """Dropped off: the ride is completed and you are available again."""
    return await _step(booking_id, Action.COMPLETE)


@bp.post("/bookings/<int:booking_id>/cancel")
@tag(["driver app"])
@document_headers(DeviceAuthHeader)
@driver_required
@validate_request(StepIn)
async def cancel(booking_id: int, data: StepIn):
    """Give the ride back before it starts (with a reason): it goes to another driver, and
    the rider's booking stays alive. You are available again."""
    driver_id = await require_driver()
    booking = await dispatch.driver_step(services().rides, driver_id, booking_id, Action.RELEASE, data.reason)
    return {**_ride_json(booking), "released": True}


@bp.get("/offers/stream")
@tag(["driver app"])
@document_headers(DeviceAuthHeader)
async def offers_stream():
    """Server-sent events: `booking` events for your offers and your rides (offered, withdrawn,
    expired, cancelled by the rider, ...), the same JSON as /api/v1/stream/bookings."""
    driver_id = await require_driver()
    return await sse_response(services().rides_hub, ch.driver(driver_id), driver_check())
