"""JSON API for riders and dispatchers: fares, quotes, bookings, dispatcher overrides."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator
from quart import Blueprint, request
from quart_schema import document_response, tag, validate_querystring, validate_request

from hexfleet import audit
from hexfleet.errors import Invalid, NotFound
from hexfleet.geo import cell_boundary, cell_name
from hexfleet.places.rules import MAX_LABEL, clean_label
from hexfleet.rides import bookings, dispatch, fares, money, quotes
from hexfleet.rides import queries as q
from hexfleet.rides.states import BookingStatus
from hexfleet.users.roles import RIDERS, STAFF, Role
from webapp.api.ride_models import BookingDetailOut, BookingOut, QuoteOut
from webapp.auth import require_user, role_required
from webapp.limits import limiter
from webapp.problems import Problem
from webapp.services import dispatch_soon, services

bp = Blueprint("rides_api", __name__, url_prefix="/api/v1")
MAX_PAGE = 200


async def viewer(*roles: str) -> bookings.Viewer:
    user = await require_user(*roles)
    return bookings.Viewer(user.id, user.role)


def base_url() -> str:
    settings = services().settings
    return settings.public_url or request.host_url


def booking_json(booking: q.Booking) -> dict:
    body = {**booking.to_json(), "tracking_url": bookings.tracking_url(services().rides, base_url(), booking)}
    # While it looks for a driver: when dispatch stops looking if nobody comes within reach.
    until = bookings.search_until(booking, services().rides.settings.dispatch_patience_s)
    body["search_until"] = until.isoformat().replace("+00:00", "Z") if until else None
    return body


# ---------------------------------------------------------------- fares


class FareIn(BaseModel):
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. EUR")

    @field_validator("currency")
    @classmethod
    def known_currency(cls, value: str) -> str:
        # The same list as the CLI: a code we know the decimals of, so amounts can be shown.
        try:
            return money.normalise_currency(value)
        except Invalid as error:
            raise ValueError(error.detail) from None

    base_minor: int = Field(ge=0, le=10_000_000, description="minor units (cents)")
    per_km_minor: int = Field(ge=0, le=10_000_000)
    per_minute_minor: int = Field(ge=0, le=10_000_000)
    booking_fee_minor: int = Field(ge=0, le=10_000_000)
    minimum_minor: int = Field(ge=0, le=10_000_000)


def _known_class(vehicle_class: str) -> str:
    if vehicle_class not in fares.VEHICLE_CLASSES:
        raise NotFound(
            f"no vehicle class {vehicle_class[:40]!r}; classes: {', '.join(fares.VEHICLE_CLASSES)}",
            code="unknown-vehicle-class",
        )
    return vehicle_class


@bp.get("/fares")
@tag(["rides"])
async def list_fares():
    """Every vehicle class's fare (money in integer minor units)."""
    await require_user(*RIDERS)
    async with services().rides.pool.acquire() as conn:
        return {"fares": [f.to_json() for f in await q.list_fares(conn)]}


@bp.get("/fares/<vehicle_class>")
@tag(["rides"])
async def get_fare(vehicle_class: str):
    await require_user(*RIDERS)
    async with services().rides.pool.acquire() as conn:
        fare = await q.get_fare(conn, _known_class(vehicle_class))
    if fare is None:
        raise NotFound(f"no fare is set for {vehicle_class}", code="no-fare")
    return fare.to_json()


@bp.put("/fares/<vehicle_class>")
@tag(["rides"])
@role_required(Role.ADMIN)
@validate_request(FareIn)
async def put_fare(vehicle_class: str, data: FareIn):
    """Admins set a vehicle class's fare; new quotes use it at once (quotes given keep their price)."""
    user = await require_user(Role.ADMIN)
    fare = fares.Fare(vehicle_class=_known_class(vehicle_class), **data.model_dump())
    async with services().rides.pool.acquire() as conn, conn.transaction():
        saved = await q.put_fare(conn, fare, user.id)
        await audit.record(
            conn,
            audit.Actor(user.email, user.id),
            audit.Action.FARE_SET,
            "fare",
            None,
            fare.vehicle_class,
            saved.to_json(),
        )
    return saved.to_json()


@bp.get("/surge")
@tag(["rides"])
async def current_surge():
    """Cells whose surge multiplier is above ×1.0 now, with their outlines (lat, lng pairs)."""
    await require_user(*RIDERS)
    cells = await services().rides.surge.all()
    return {
        "resolution": services().rides.settings.surge_resolution,
        "cells": [
            {"cell": cell_name(c), "multiplier": t / 10, "boundary": [list(p) for p in cell_boundary(c)]}
            for c, t in sorted(cells.items())
        ],
    }


# ---------------------------------------------------------------- quotes


class Point(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    label: str | None = Field(
        default=None,
        max_length=1000,
        description=f"what the rider chose it by (a place's name, an address; at most {MAX_LABEL} characters). "
        "Without it, the nearest place names it (PLACE_LABEL_RADIUS_M), else the geocoder's address, else nothing.",
    )

    @field_validator("label")
    @classmethod
    def showable_label(cls, value: str | None) -> str | None:
        return clean_label(value)  # ValueError (a 422 naming the field) for text no screen should show


class QuoteIn(BaseModel):
    pickup: Point
    dropoff: Point
    vehicle_class: str = Field(default=fares.DEFAULT_CLASS, max_length=40)
    pickup_at: datetime | None = Field(default=None, description="RFC 3339; 15 minutes to 30 days ahead")


@bp.post("/quotes")
@tag(["rides"])
@role_required(*RIDERS)
@validate_request(QuoteIn)
@document_response(QuoteOut, 201)
@document_response(Problem, 422)
@document_response(Problem, 429)
async def post_quote(data: QuoteIn):
    """A price for a trip, held until `expires_at` for you alone and usable for one booking.

    Each end keeps a `label`: the one sent, else the nearest active place's name and distance,
    else (GEOCODER_URL) the geocoder's address, else null; bookings of the quote carry it.
    For a pickup now, `availability` says whether a driver of the class is within dispatch
    reach and, when none is, which classes have one (`suggested_classes`); booking such a
    quote for now needs `"confirm_no_driver": true`."""
    who = await viewer(*RIDERS)
    await limiter().enforce("quotes", str(who.user_id), what="quotes")
    quote = await quotes.make_quote(
        services().rides,
        who.user_id,
        quotes.QuoteRequest(
            (data.pickup.lat, data.pickup.lng),
            (data.dropoff.lat, data.dropoff.lng),
            data.vehicle_class,
            data.pickup_at,
            data.pickup.label,
            data.dropoff.label,
        ),
    )
    return quote.to_json(), 201


# ---------------------------------------------------------------- bookings


class Passenger(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=3, max_length=40)


class BookingIn(BaseModel):
    quote_id: int = Field(ge=1, le=2**63 - 1)
    passenger: Passenger
    notes: str | None = Field(default=None, max_length=1000)
    scheduled_for: datetime | None = Field(default=None, description="RFC 3339; 15 minutes to 30 days ahead")
    confirm_no_driver: bool = Field(
        default=False,
        description="book for now although the quote found no driver of its class within reach "
        "(its availability.needs_confirmation); dispatch then keeps looking for keep_looking_s",
    )


@bp.post("/bookings")
@tag(["rides"])
@role_required(*RIDERS)
@validate_request(BookingIn)
@document_response(BookingOut, 201)
@document_response(Problem, 409)
@document_response(Problem, 422)
async def post_booking(data: BookingIn):
    """Book a quote now, or for later with `scheduled_for`. Staff book for a caller with their own quote.

    409 `no-driver-near` when the quote (for now) found no driver of its class within reach
    and `confirm_no_driver` is not true: the body has `keep_looking_minutes`, and the quote
    can still be booked. A booking with nobody in reach keeps searching until `search_until`,
    then becomes `no_driver`. Other 409s: the quote expired, was used, or is not yours."""
    who = await viewer(*RIDERS)
    await limiter().enforce("bookings", str(who.user_id), what="bookings")
    booking = await bookings.create_booking(
        services().rides,
        who,
        bookings.BookingRequest(
            data.quote_id,
            data.passenger.name,
            data.passenger.phone,
            data.notes,
            data.scheduled_for,
            data.confirm_no_driver,
        ),
    )
    if booking.status is BookingStatus.SEARCHING:
        dispatch_soon(booking.id)
    return booking_json(booking), 201


class BookingsQuery(BaseModel):
    status: str | None = Field(default=None, max_length=200, description="comma-separated statuses")
    cursor: str | None = Field(default=None, max_length=20, description="next_cursor of the previous page")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)


@bp.get("/bookings")
@tag(["rides"])
@role_required(*RIDERS)
@validate_querystring(BookingsQuery)
async def list_bookings(query_args: BookingsQuery):
    """Newest first. Customers see their own bookings; staff see all."""
    who = await viewer(*RIDERS)
    statuses = None
    if query_args.status:
        statuses = [s.strip() for s in query_args.status.split(",") if s.strip()]
        unknown = [s for s in statuses if s not in set(BookingStatus)]
        if unknown:
            raise Invalid(
                f"unknown status {unknown[0][:40]!r}; statuses: {', '.join(BookingStatus)}", code="unknown-status"
            )
    before = None
    if query_args.cursor:
        if not (query_args.cursor.isdecimal() and len(query_args.cursor) <= 18):
            raise Invalid("cursor must be the next_cursor of a previous page", code="bad-cursor")
        before = int(query_args.cursor)
    found = await bookings.list_for(services().rides, who, statuses, before, query_args.limit)
    next_cursor = str(found[-1].id) if len(found) == query_args.limit else None
    return {"bookings": [booking_json(b) for b in found], "next_cursor": next_cursor}


@bp.get("/bookings/<int:booking_id>")
@tag(["rides"])
@document_response(BookingDetailOut, 200)
@document_response(Problem, 404)
async def get_booking(booking_id: int):
    """One booking with its timeline (and, for staff, its offers). Someone else's is 404."""
    who = await viewer(*RIDERS)
    booking = await bookings.get_for(services().rides, who, booking_id)
    async with services().rides.pool.acquire() as conn:
        events = await q.events_of_booking(conn, booking_id)
        offers = await q.offers_of_booking(conn, booking_id) if who.is_staff else []
    body = booking_json(booking)
    body["events"] = [e.to_json() for e in events]
    if who.is_staff:
        body["offers"] = [o.to_json() for o in offers]
    return body


class CancelIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


@bp.post("/bookings/<int:booking_id>/cancel")
@tag(["rides"])
@role_required(*RIDERS)
@validate_request(CancelIn)
async def cancel_booking(booking_id: int, data: CancelIn):
    """Customers until the ride starts; staff until it ends. 409 with the current status otherwise."""
    who = await viewer(*RIDERS)
    await bookings.get_for(services().rides, who, booking_id)  # 404 for anyone else's
    booking = await dispatch.cancel(services().rides, booking_id, dispatch.Who(who.actor, who.user_id), data.reason)
    return booking_json(booking)


class TrackingLinkOut(BaseModel):
    booking_id: int
    tracking_url: str = Field(description="the booking's new tracking link; the old one now answers 410")


@bp.post("/bookings/<int:booking_id>/tracking-link")
@tag(["rides"])
@role_required(*RIDERS)
@document_response(TrackingLinkOut, 201)
@document_response(Problem, 401)
@document_response(Problem, 404)
async def new_tracking_link(booking_id: int):
    """A new tracking link for the booking (its customer, or staff): every link made before
    answers 410 from now on and its open streams end; recorded as the booking event
    `new_tracking_link` with who asked. Someone else's booking is 404."""
    who = await viewer(*RIDERS)
    booking = await bookings.renew_tracking_link(services().rides, who, booking_id)
    return {"booking_id": booking.id, "tracking_url": bookings.tracking_url(services().rides, base_url(), booking)}, 201


class AssignIn(BaseModel):
    driver_id: int = Field(ge=1, le=2**63 - 1)


async def _assign(booking_id: int, data: AssignIn):
    who = await viewer(*STAFF)
    booking = await dispatch.assign(services().rides, booking_id, data.driver_id, dispatch.Who(who.actor, who.user_id))
    return booking_json(booking)


@bp.post("/bookings/<int:booking_id>/assign")
@tag(["dispatch"])
@role_required(*STAFF)
@validate_request(AssignIn)
async def assign_booking(booking_id: int, data: AssignIn):
    """Dispatchers give the ride to a named driver (open offers are withdrawn)."""
    return await _assign(booking_id, data)


@bp.post("/bookings/<int:booking_id>/reassign")
@tag(["dispatch"])
@role_required(*STAFF)
@validate_request(AssignIn)
async def reassign_booking(booking_id: int, data: AssignIn):
    """Dispatchers give an assigned ride to another driver; the first one is available again."""
    return await _assign(booking_id, data)


@bp.post("/bookings/<int:booking_id>/dispatch")
@tag(["dispatch"])
async def redispatch_booking(booking_id: int):
    """Dispatchers start automatic dispatch again (a no_driver booking, or a scheduled one early)."""
    who = await viewer(*STAFF)
    booking = await dispatch.redispatch(services().rides, booking_id, dispatch.Who(who.actor, who.user_id))
    return booking_json(booking)
