"""Bookings: made from a quote, seen only by their customer and staff, followed by a link."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hexfleet.drivers import queries as driver_queries
from hexfleet.errors import Conflict, DomainError, NotFound
from hexfleet.geo import cell_of, haversine_m
from hexfleet.rides import availability, links, passengers, patience, windows
from hexfleet.rides import queries as q
from hexfleet.rides.context import Rides
from hexfleet.rides.states import ACTIVE, ENDED, Actor, BookingStatus
from hexfleet.users.roles import ROLES, STAFF
from hexfleet.zones import pricing as zone_pricing

S = BookingStatus


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a user (customer or staff)."""

    user_id: int
    role: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def actor(self) -> Actor:
        return Actor(self.role) if self.role in ROLES else Actor.CUSTOMER


@dataclass(frozen=True)
class BookingRequest:
    quote_id: int
    passenger_name: str
    passenger_phone: str
    notes: str | None = None
    scheduled_for: datetime | None = None
    # The rider read that no driver of the class is near and books for now anyway.
    confirm_no_driver: bool = False


class NoDriverNear(Conflict):
    """Booking for now a quote that found no driver of its class in reach, unconfirmed."""

    code = "no-driver-near"

    def __init__(self, vehicle_class: str, patience_s: float) -> None:
        what = availability.CLASS_NAMES.get(vehicle_class, vehicle_class)
        super().__init__(
            f"no {what} is near: {patience.keep_looking_phrase(patience_s)} once booked. "
            'Book again with "confirm_no_driver": true to go ahead, or ask for a quote of another class.'
        )
        self.extra = {
            "vehicle_class": vehicle_class,
            "keep_looking_s": patience_s,
            "keep_looking_minutes": patience.minutes(patience_s),
        }


async def create_booking(rides: Rides, viewer: Viewer, request: BookingRequest) -> q.Booking:
    """Book the quote (once, by its owner, before it expires). Immediate bookings start
    searching; the caller starts dispatch (``dispatch.offer_next``) once this returns.

    A quote for now that found no driver of its class within reach books for now only
    with ``confirm_no_driver`` (NoDriverNear, 409, otherwise; the quote stays usable)."""
    now = rides.clock()
    name = passengers.normalise_name(request.passenger_name)
    phone = passengers.normalise_phone(request.passenger_phone)
    notes = passengers.normalise_notes(request.notes)
    scheduled = request.scheduled_for
    if scheduled is not None:
        windows.check_scheduled(scheduled, datetime.fromtimestamp(now, UTC))
    async with rides.pool.acquire() as conn, conn.transaction():
        quote = await q.claim_quote(conn, request.quote_id, viewer.user_id, now)
        if quote is None:
            raise await _unusable_quote(conn, request.quote_id, viewer.user_id, now)
        _still_served(rides, quote)  # a service area switched on since the quote: rolls the claim back
        if scheduled is None and quote.pickup_at is not None:
            scheduled = windows.check_scheduled(
                quote.pickup_at, datetime.fromtimestamp(now, UTC), "the quote's pickup_at"
            )
        if scheduled is None and quote.eta_pickup_s is None and not request.confirm_no_driver:
            raise NoDriverNear(quote.vehicle_class, rides.settings.dispatch_patience_s)  # rolls the claim back
        at = datetime.fromtimestamp(now, UTC)
        booking = await q.insert_booking(
            conn,
            status=S.SCHEDULED if scheduled else S.SEARCHING,
            quote_id=quote.id,
            customer_id=None if viewer.is_staff else viewer.user_id,
            created_by=viewer.user_id,
            passenger_name=name,
            passenger_phone=phone,
            notes=notes,
            vehicle_class=quote.vehicle_class,
            pickup_lat=quote.pickup_lat,
            pickup_lng=quote.pickup_lng,
            dropoff_lat=quote.dropoff_lat,
            dropoff_lng=quote.dropoff_lng,
            pickup_label=quote.pickup_label,
            dropoff_label=quote.dropoff_label,
            pickup_cell=quote.pickup_cell,
            # Analytics: rollups by resolution-7 cell, learned speeds by resolution 8.
            pickup_cell7=cell_of(quote.pickup_lat, quote.pickup_lng, 7),
            pickup_cell8=cell_of(quote.pickup_lat, quote.pickup_lng, 8),
            distance_m=quote.distance_m,
            duration_s=quote.duration_s,
            price_minor=quote.price_minor,
            currency=quote.currency,
            breakdown=quote.breakdown,
            scheduled_for=scheduled,
            dispatch_at=scheduled - timedelta(seconds=rides.settings.dispatch_lead_s) if scheduled else None,
            tracking_nonce=links.new_nonce(),
            created_at=at,
            updated_at=at,
            search_started_at=None if scheduled else at,
        )
        await q.record_event(conn, booking, "create", None, str(viewer.actor), viewer.user_id, now)
    if booking.dispatch_at is not None:
        try:
            await rides.jobs.dispatch_at(booking.dispatch_at.timestamp(), booking.id)
        except Exception:  # the reconcile job starts it on time anyway
            pass
    return booking


def _still_served(rides: Rides, quote: q.Quote) -> None:
    """The quote's trip is still served (422 outside-service-area otherwise): from memory."""
    if rides.zones is None:
        return
    index = rides.zones.current()
    if index.service_areas:
        zone_pricing.check_served(
            index.service_areas,
            index.zones_at(quote.pickup_lat, quote.pickup_lng),
            index.zones_at(quote.dropoff_lat, quote.dropoff_lng),
        )


async def _unusable_quote(conn, quote_id: int, user_id: int, now: float) -> Conflict:
    """Why a quote cannot be booked. Someone else's quote reads like an unknown one."""
    quote = await q.get_quote(conn, quote_id)
    if quote is None or quote.user_id != user_id:
        return Conflict(f"no quote {quote_id} for this account: ask for a new quote", code="quote-unknown")
    if quote.used_at is not None:
        return Conflict(f"quote {quote_id} was already used for a booking", code="quote-used")
    return Conflict(
        f"quote {quote_id} expired at {quote.expires_at.isoformat(timespec='seconds')}: ask for a new quote",
        code="quote-expired",
    )


def _visible(booking: q.Booking | None, viewer: Viewer, booking_id: int) -> q.Booking:
    """The booking if this viewer may see it: anyone else's is 404, never 403."""
    if booking is None or not (viewer.is_staff or booking.customer_id == viewer.user_id):
        raise NotFound(f"no booking with id {booking_id}", code="booking-not-found")
    return booking


async def get_for(rides: Rides, viewer: Viewer, booking_id: int) -> q.Booking:
    """The booking, if this viewer may see it: anyone else's is 404, never 403."""
    async with rides.pool.acquire() as conn:
        booking = await q.get_booking(conn, booking_id)
    return _visible(booking, viewer, booking_id)


async def list_for(
    rides: Rides, viewer: Viewer, statuses: list[str] | None, before_id: int | None, limit: int
) -> list[q.Booking]:
    async with rides.pool.acquire() as conn:
        return await q.list_bookings(
            conn,
            statuses=statuses,
            customer_id=None if viewer.is_staff else viewer.user_id,
            before_id=before_id,
            limit=limit,
        )


def tracking_url(rides: Rides, base_url: str, booking: q.Booking) -> str:
    token = links.make_token(rides.settings.require_secret_key(), booking.id, booking.tracking_nonce)
    return f"{base_url.rstrip('/')}/t/{token}"


class LinkGone(DomainError):
    """A tracking link that was real: replaced by a new one, or its ride ended too long ago."""

    status = 410
    code = "tracking-link-gone"
    title = "Gone"

    def __init__(self, state: links.LinkState) -> None:
        if state is links.LinkState.REVOKED:
            super().__init__(
                "this tracking link was replaced by a new one: ask whoever sent it for the new link",
                code="tracking-link-revoked",
            )
        else:
            super().__init__("this tracking link expired: the ride ended a while ago", code="tracking-link-expired")
        self.state = state


async def by_tracking_token(rides: Rides, token: str) -> q.Booking:
    """The one booking a tracking link opens: 404 for anything tampered or unknown, 410
    (LinkGone) for a link that was replaced or whose ride ended TRACKING_LINK_TTL_S ago."""
    missing = NotFound("this tracking link is not valid", code="tracking-link-invalid")
    read = links.read_token(rides.settings.require_secret_key(), token)
    if read is None:
        raise missing
    booking_id, nonce = read
    async with rides.pool.acquire() as conn:
        booking = await q.get_booking(conn, booking_id)
    if booking is None:
        raise missing
    ended = booking.ended_at.timestamp() if booking.ended_at is not None else None
    state = links.link_state(nonce, booking.tracking_nonce, ended, rides.clock(), rides.settings.tracking_link_ttl_s)
    if state is not links.LinkState.LIVE:
        raise LinkGone(state)
    return booking


async def renew_tracking_link(rides: Rides, viewer: Viewer, booking_id: int) -> q.Booking:
    """A new tracking link for the booking (its rider or staff): every link made before
    answers 410 from now on, and their open streams end. Recorded as a booking event with
    its actor (the state stays), which also tells the link streams of every web process."""
    now = rides.clock()
    async with rides.pool.acquire() as conn, conn.transaction():
        booking = _visible(await q.get_booking(conn, booking_id, for_update=True), viewer, booking_id)
        renewed = await q.set_tracking_nonce(conn, booking.id, links.new_nonce())
        if renewed is None:  # cannot happen while the row is locked; mypy cannot know
            raise NotFound(f"no booking with id {booking_id}", code="booking-not-found")
        # No driver on the event: a new link is nothing the driver's app needs to hear about.
        await q.record_event(conn, renewed, links.RENEW_ACTION, renewed.status, str(viewer.actor), viewer.user_id, now)
    return renewed


# How a tracking link says who cancelled. Never the reason: staff and drivers write those
# for each other (and a rider's own words are not for everyone the link was forwarded to).
CANCELLED_BY: dict[str, str] = {
    Actor.CUSTOMER: "Cancelled by the passenger",
    Actor.DRIVER: "Cancelled by the driver",
    Actor.SYSTEM: "Cancelled automatically",
}


def cancel_note(cancelled_by: str | None) -> str:
    return CANCELLED_BY.get(cancelled_by or "", "Cancelled by dispatch")


async def tracking_view(rides: Rides, booking: q.Booking) -> dict:
    """What a tracking link shows: this ride only (no ids that open anything else), the
    passenger's first name, and no free text (reasons, notes) anyone wrote."""
    async with rides.pool.acquire() as conn:
        events = await q.events_of_booking(conn, booking.id)
        driver = await driver_queries.get_driver(conn, booking.driver_id) if booking.driver_id else None
    view: dict = {
        "status": str(booking.status),
        "pickup": {"lat": booking.pickup_lat, "lng": booking.pickup_lng, "label": booking.pickup_label},
        "dropoff": {"lat": booking.dropoff_lat, "lng": booking.dropoff_lng, "label": booking.dropoff_label},
        "scheduled_for": booking.snapshot()["scheduled_for"],
        "price_minor": booking.price_minor,
        "currency": booking.currency,
        "passenger_name": passengers.first_name(booking.passenger_name),
        "timeline": [
            {"status": e.to_status, "at": e.to_json()["at"], "by": e.actor}
            for e in events
            if e.from_status != e.to_status
        ],
        "status_note": cancel_note(booking.cancelled_by) if booking.status is S.CANCELLED else None,
        "driver": None,
        "eta_s": None,
        "eta_to": None,
    }
    if driver is not None and booking.status in ACTIVE:
        fixes = await rides.store.fixes([driver.id])
        fix = fixes.get(driver.id)
        view["driver"] = {
            "name": driver.name,
            "vehicle_plate": driver.vehicle_plate,
            "lat": fix.lat if fix else None,
            "lng": fix.lng if fix else None,
            "heading": fix.heading if fix else None,
        }
        if fix is not None:
            to_pickup = booking.status is not S.IN_PROGRESS
            target = (
                (booking.pickup_lat, booking.pickup_lng) if to_pickup else (booking.dropoff_lat, booking.dropoff_lng)
            )
            view["eta_to"] = "pickup" if to_pickup else "dropoff"
            view["eta_s"] = eta_seconds(fix.lat, fix.lng, *target, rides)
    elif driver is not None and booking.status in ENDED:
        view["driver"] = {"name": driver.name, "vehicle_plate": driver.vehicle_plate}
    return view


def search_until(booking: q.Booking, patience_s: float) -> datetime | None:
    """While a booking looks for a driver: when dispatch stops looking if nobody comes within
    reach (its search's start plus DISPATCH_PATIENCE_S); None once it is not searching."""
    if booking.status not in (S.SEARCHING, S.OFFERED) or booking.search_started_at is None:
        return None
    return booking.search_started_at + timedelta(seconds=patience_s)


def eta_seconds(lat: float, lng: float, to_lat: float, to_lng: float, rides: Rides) -> int:
    if haversine_m(lat, lng, to_lat, to_lng) < 30:
        return 0
    return math.ceil(rides.router.estimate(lat, lng, to_lat, to_lng, rides.clock()).duration_s)
