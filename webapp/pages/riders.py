"""Riders' pages: book a ride (/ride), their rides (/rides), and the address search behind
the booking form. (Signing up is beside signing in, in login.py.)

The booking form itself talks to the JSON API (quotes, bookings) from ``static/js/ride.js``;
these views render HTML, the rides list partial (refreshed live by ``static/js/rides.js``
when a booking event arrives) and proxy the geocoder, so the browser never talks to
another host.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup
from quart import Blueprint, redirect, render_template, request
from quart_schema import hide

from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers import vehicles
from hexfleet.errors import Conflict, DomainError, Invalid, NotFound
from hexfleet.rides import bookings, dispatch, fares, windows
from hexfleet.rides import queries as q
from hexfleet.rides.states import Actor, BookingStatus, can_cancel
from hexfleet.users.roles import RIDERS, Role
from webapp.auth import current_user, page_role_required, require_user
from webapp.geocoder import Geocoder, point, within_rate
from webapp.pages.ride_places import Where, named_ends
from webapp.pages.template_filters import money
from webapp.services import label_points, services

bp = Blueprint("riders", __name__)
log = logging.getLogger("hexfleet.web")

S = BookingStatus

# The rides list, in three groups (the definition).
UPCOMING = (S.SCHEDULED,)
ACTIVE_GROUP = (S.SEARCHING, S.OFFERED, S.ASSIGNED, S.ARRIVED, S.IN_PROGRESS)
PAST = (S.COMPLETED, S.CANCELLED, S.NO_DRIVER)
PAST_SHOWN = 30

# Address search (GEOCODER_URL): a few suggestions, a modest rate per account.
GEOCODER_MIN_CHARS = 3
GEOCODER_MAX_CHARS = 200

CANCEL_REASONS = ("Plans changed", "Waiting too long", "Booked by mistake", "Found another ride")

VEHICLE_LABELS = vehicles.LABELS

# How a rider reads each booking status.
STATUS_LABELS: dict[str, str] = {
    S.SCHEDULED: "Scheduled",
    S.SEARCHING: "Finding a driver",
    S.OFFERED: "Finding a driver",
    S.ASSIGNED: "Driver on the way",
    S.ARRIVED: "Driver has arrived",
    S.IN_PROGRESS: "On the way",
    S.COMPLETED: "Completed",
    S.CANCELLED: "Cancelled",
    S.NO_DRIVER: "No driver found",
}
# Badge colour per status (rider.css): waiting, moving, done, stopped.
STATUS_TONES: dict[str, str] = {
    S.SCHEDULED: "planned",
    S.SEARCHING: "waiting",
    S.OFFERED: "waiting",
    S.ASSIGNED: "moving",
    S.ARRIVED: "moving",
    S.IN_PROGRESS: "moving",
    S.COMPLETED: "done",
    S.CANCELLED: "stopped",
    S.NO_DRIVER: "stopped",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def looking_until(booking: q.Booking) -> datetime | None:
    """Until when dispatch keeps looking for a driver for this booking (DISPATCH_PATIENCE_S),
    while that is still ahead; None otherwise (not searching, or no patience set)."""
    until = bookings.search_until(booking, services().rides.settings.dispatch_patience_s)
    if until is None or until <= datetime.fromtimestamp(services().rides.clock(), UTC):
        return None
    return until


def tracking_path(booking: q.Booking) -> str:
    """The booking's tracking link as a path on this site (the page's own host)."""
    return bookings.tracking_url(services().rides, "", booking)


# Who cancelled, as the rider's page says it (dispatchers and admins: "by dispatch").
CANCELLED_BY: dict[str, str] = {Actor.CUSTOMER: "by you", Actor.DRIVER: "by the driver", Actor.SYSTEM: "automatically"}


def cancelled_by_text(booking: q.Booking) -> str | None:
    if booking.status is not S.CANCELLED:
        return None
    by = CANCELLED_BY.get(booking.cancelled_by or "", "by dispatch")
    return f"Cancelled {by}" + (f": {booking.cancel_reason}" if booking.cancel_reason else "")


# ---------------------------------------------------------------- the top bar


@bp.app_context_processor
async def _nav_user() -> dict:
    """The signed-in account for base.html's top bar, on pages that pass no ``user`` (the 403
    page, the tracking page): customers then still see their own links."""
    try:
        return {"nav_user": await current_user()}
    except Exception:  # a page must render even when the session cannot be looked up
        return {"nav_user": None}


# ---------------------------------------------------------------- book a ride


@bp.get("/ride")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*RIDERS)
async def ride_page():
    svc = services()
    pool, settings = svc.db, svc.settings
    async with pool.acquire() as conn:
        fares_set = await q.list_fares(conn)
    order = {c: i for i, c in enumerate(fares.VEHICLE_CLASSES)}
    fares_set.sort(key=lambda f: order.get(f.vehicle_class, len(order)))
    center_lat, center_lng = settings.map_center_latlng()
    classes = [
        {
            "vehicle_class": f.vehicle_class,
            "label": VEHICLE_LABELS.get(f.vehicle_class, f.vehicle_class.capitalize()),
            "currency": f.currency,
            "minimum": money(f.minimum_minor, f.currency),
        }
        for f in fares_set
    ]
    config = {
        "tile_url": settings.map_tile_url,
        "tile_attribution": settings.map_tile_attribution,
        "center": [center_lat, center_lng],
        "geocoder": bool(settings.geocoder_url),
        "min_ahead_s": int(windows.MIN_AHEAD.total_seconds()),
        "max_ahead_s": int(windows.MAX_AHEAD.total_seconds()),
        # Names for the classes a quote suggests instead ("No XL car is near: Standard has one").
        "class_labels": {c["vehicle_class"]: c["label"] for c in classes},
    }
    user = await current_user()
    return await render_template(
        "ride.html",
        user=user,
        classes=classes,
        config=config,
        geocoder=bool(settings.geocoder_url),
        passenger=await last_passenger(user),
    )


async def last_passenger(user) -> dict[str, str]:
    """The passenger of the customer's last booking (name and phone), to fill the form with:
    an account holds an email only, and most riders book for themselves each time. Empty for a
    first booking, and for staff (their bookings are for callers, not for themselves)."""
    if user is None or user.role != Role.CUSTOMER:
        return {"name": "", "phone": ""}
    last = await bookings.list_for(services().rides, bookings.Viewer(user.id, user.role), None, None, 1)
    if not last:
        return {"name": "", "phone": ""}
    return {"name": last[0].passenger_name, "phone": last[0].passenger_phone}


# ---------------------------------------------------------------- my rides


@dataclass(frozen=True)
class RideRow:
    """One ride in the list, ready to show."""

    id: int
    status: str
    status_label: str
    tone: str
    price: Markup  # a money element (webapp/pages/template_filters.py)
    vehicle: str
    pickup: Where
    dropoff: Where
    distance_m: int
    when_label: str
    when: datetime
    driver_name: str | None
    driver_plate: str | None
    tracking_path: str
    cancellable: bool
    note: str | None
    driver_note: str | None  # what the rider wrote for the driver
    search_until: datetime | None  # while looking for a driver: until when


async def _rows(found: list[q.Booking]) -> list[RideRow]:
    driver_ids = sorted({b.driver_id for b in found if b.driver_id is not None})
    names = {}
    if driver_ids:
        async with services().rides.pool.acquire() as conn:
            names = {d.id: d for d in await driver_queries.get_drivers(conn, driver_ids)}
    places = await named_ends(found, label_points)
    rows = []
    for b in found:
        driver = names.get(b.driver_id) if b.driver_id is not None else None
        if b.status is S.SCHEDULED and b.scheduled_for is not None:
            when_label, when = "Pickup", b.scheduled_for
        elif b.ended_at is not None and b.status in (S.COMPLETED, S.CANCELLED):
            when_label, when = ("Ended" if b.status is S.COMPLETED else "Cancelled"), b.ended_at
        else:
            when_label, when = "Booked", b.created_at
        note = cancelled_by_text(b)
        if b.status is S.NO_DRIVER:
            note = "Nobody was free nearby. Dispatch may still find you a driver; cancel if you no longer need it."
        rows.append(
            RideRow(
                id=b.id,
                status=str(b.status),
                status_label=status_label(b.status),
                tone=STATUS_TONES.get(b.status, "waiting"),
                price=money(b.price_minor, b.currency),
                vehicle=VEHICLE_LABELS.get(b.vehicle_class, b.vehicle_class),
                pickup=places[b.id][0],
                dropoff=places[b.id][1],
                distance_m=b.distance_m,
                when_label=when_label,
                when=when,
                driver_name=driver.name if driver and b.status not in (S.SEARCHING, S.OFFERED) else None,
                driver_plate=driver.vehicle_plate if driver and b.status not in (S.SEARCHING, S.OFFERED) else None,
                tracking_path=tracking_path(b),
                cancellable=can_cancel(b.status, Actor.CUSTOMER),
                note=note,
                driver_note=b.notes,
                search_until=looking_until(b),
            )
        )
    return rows


async def _rides_context(viewer: bookings.Viewer) -> dict:
    r = services().rides
    upcoming = await bookings.list_for(r, viewer, [str(s) for s in UPCOMING], None, 200)
    upcoming.sort(key=lambda b: (b.scheduled_for or b.created_at, b.id))  # soonest first
    active = await bookings.list_for(r, viewer, [str(s) for s in ACTIVE_GROUP], None, 200)
    past = await bookings.list_for(r, viewer, [str(s) for s in PAST], None, PAST_SHOWN)
    return {
        "groups": [
            ("active", "Now", await _rows(active)),
            ("upcoming", "Upcoming", await _rows(upcoming)),
            ("past", "Past", await _rows(past)),
        ],
        "total": len(upcoming) + len(active) + len(past),
        "past_capped": len(past) == PAST_SHOWN,
        "reasons": CANCEL_REASONS,
    }


async def _viewer() -> bookings.Viewer:
    user = await require_user(Role.CUSTOMER)
    return bookings.Viewer(user.id, user.role)


@bp.get("/rides")
@hide  # pages, not API: keep them out of /docs
@page_role_required(Role.CUSTOMER)
async def rides_page():
    context = await _rides_context(await _viewer())
    return await render_template("rides.html", user=await current_user(), **context)


@bp.get("/ui/rides")
@hide  # pages, not API: keep them out of /docs
@page_role_required(Role.CUSTOMER)
async def rides_list():
    """The list alone: rides.js asks for it when a booking event arrives."""
    context = await _rides_context(await _viewer())
    return await render_template("_rides_list.html", **context), 200, {"Cache-Control": "no-store"}


@bp.get("/rides/<int:booking_id>")
@hide  # pages, not API: keep them out of /docs
@page_role_required(Role.CUSTOMER)
async def ride_link(booking_id: int):
    """A stable address for one of your rides: its tracking page. Anyone else's is 404."""
    try:
        booking = await bookings.get_for(services().rides, await _viewer(), booking_id)
    except NotFound:
        html = await render_template(
            "track_missing.html",
            title="No such ride",
            detail="There is no ride with this number in your account.",
        )
        return html, 404
    return redirect(tracking_path(booking))


@bp.post("/rides/<int:booking_id>/tracking-link")
@hide  # pages, not API: keep them out of /docs
@page_role_required(Role.CUSTOMER)
async def renew_link(booking_id: int):
    """A new tracking link for one of your rides (the page's *Make a new link*): the old link
    stops working for everyone it was shared with; on to the ride's new page."""
    viewer = await _viewer()
    try:
        booking = await bookings.renew_tracking_link(services().rides, viewer, booking_id)
    except NotFound:
        html = await render_template(
            "track_missing.html", title="No such ride", detail="There is no ride with this number in your account."
        )
        return html, 404
    log.info("customer %s made a new tracking link for booking %s", viewer.user_id, booking_id)
    return redirect(tracking_path(booking) + "?renewed=1", 303)


def cancel_reason(form) -> str | None:
    """The reason a rider picked or typed (optional), made safe to store."""
    reason = " ".join((form.get("reason") or "").replace("\x00", "").split())[:500]
    return reason or None


@bp.post("/ui/rides/<int:booking_id>/cancel")
@hide  # pages, not API: keep them out of /docs
@page_role_required(Role.CUSTOMER)
async def cancel_ride(booking_id: int):
    """Cancel one of your rides; htmx gets the refreshed list, a plain form post the page."""
    viewer = await _viewer()
    reason = cancel_reason(await request.form)
    notice = error = None
    status = 200
    await bookings.get_for(services().rides, viewer, booking_id)  # anyone else's: a readable 404
    try:
        await dispatch.cancel(services().rides, booking_id, dispatch.Who(Actor.CUSTOMER, viewer.user_id), reason)
    except Conflict:
        current = await bookings.get_for(services().rides, viewer, booking_id)
        error = f"This ride can no longer be cancelled: it is {status_label(current.status).lower()}."
        status = 409
    else:
        notice = "Your ride was cancelled."
        log.info("customer %s cancelled booking %s", viewer.user_id, booking_id)
    context = {**await _rides_context(viewer), "notice": notice, "error": error}
    if "HX-Request" in request.headers:
        return await render_template("_rides_list.html", **context), status
    if error is None:
        return redirect("/rides", 303)
    return await render_template("rides.html", user=await current_user(), **context), status


# ---------------------------------------------------------------- address search


class GeocoderOff(DomainError):
    status = 503
    code = "geocoder-off"


class TooManySearches(DomainError):
    status = 429
    code = "too-many-searches"


@bp.before_app_serving
async def _open_geocoder() -> None:
    svc = services()
    if svc.settings.geocoder_url:
        svc.geocoder = Geocoder(svc.settings.geocoder_url, f"hexfleet/0.1 (+{svc.settings.base_url()})")


@bp.after_app_serving
async def _close_geocoder() -> None:
    geocoder = services().take("geocoder")
    if geocoder is not None:
        await geocoder.close()


@bp.get("/ui/geocode")
@hide  # pages, not API: keep them out of /docs
async def geocode():
    """Address suggestions ``{"results": [{label, lat, lng}]}`` for the booking form (ride.js)."""
    user = await require_user(*RIDERS)
    geocoder = services().geocoder  # a Geocoder when GEOCODER_URL is set
    if geocoder is None:
        raise GeocoderOff(
            "Address search is not set up on this server (GEOCODER_URL is unset): tap the map, "
            "use your location or type coordinates such as 52.5200, 13.4050."
        )
    query = " ".join((request.args.get("q") or "").replace("\x00", "").split())
    if len(query) > GEOCODER_MAX_CHARS:
        raise Invalid(f"Type at most {GEOCODER_MAX_CHARS} characters.", code="query-too-long")
    if len(query) < GEOCODER_MIN_CHARS:
        return {"results": []}, 200, {"Cache-Control": "no-store"}
    if not await within_rate(services().redis, user.id):
        raise TooManySearches("Too many address searches at once: wait a minute, or tap the map.")
    settings = services().settings
    near = point(request.args.get("lat"), request.args.get("lng")) or settings.map_center_latlng()
    # Passed on as a header: only what a language range can hold (a client's obs-text bytes
    # would make httpx refuse the request, a 502 for the rider's odd header).
    language = re.sub(r"[^A-Za-z0-9,;=.* -]", "", request.headers.get("Accept-Language", ""))[:60]
    results = await geocoder.search(query, near, language)
    return {"results": results}, 200, {"Cache-Control": "no-store"}
