"""Dispatching rides from the control room: the booking queue, phone bookings, manual dispatch.

Partials for htmx, shown in the control room's Bookings tab. The queue re-renders when the
page's booking stream (``static/js/control-room/bookings.js``) hears an event; nothing here polls.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from quart import Blueprint, render_template, request
from quart_schema import hide

from hexfleet.drivers import queries as driver_queries
from hexfleet.errors import DomainError, Invalid
from hexfleet.rides import bookings, dispatch, fares, quotes
from hexfleet.rides import queries as q
from hexfleet.rides.availability import CLASS_NAMES
from hexfleet.rides.states import ACTIVE, Actor, BookingStatus, can_cancel
from hexfleet.tracking.fleet import available_within
from hexfleet.users.roles import STAFF
from webapp.auth import current_user, page_role_required
from webapp.services import dispatch_soon, label_points, services

bp = Blueprint("dispatch_pages", __name__)

S = BookingStatus
NEAREST_RADIUS_M = 10_000.0
NEAREST_SHOWN = 8
# A search still running after this long needs a dispatcher's eye.
SLOW_SEARCH_S = 120.0


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    items: list[q.QueueItem]
    empty: str


def queue_sections(items: list[q.QueueItem], now: datetime) -> list[Section]:
    """no_driver first (it needs a person), then searches, the next scheduled rides, rides under way."""
    by_status: dict[str, list[q.QueueItem]] = {}
    for item in items:
        by_status.setdefault(str(item.booking.status), []).append(item)
    waiting = sorted(by_status.get(S.SEARCHING, []) + by_status.get(S.OFFERED, []), key=lambda i: i.booking.created_at)
    scheduled = sorted(by_status.get(S.SCHEDULED, []), key=lambda i: i.booking.scheduled_for or now)
    active = sorted(
        by_status.get(S.ASSIGNED, []) + by_status.get(S.ARRIVED, []) + by_status.get(S.IN_PROGRESS, []),
        key=lambda i: i.booking.assigned_at or i.booking.created_at,
    )
    return [
        Section("attention", "Needs attention", by_status.get(S.NO_DRIVER, []), "Nothing needs you right now."),
        Section("searching", "Looking for a driver", waiting, "No ride is waiting for a driver."),
        Section("scheduled", "Scheduled", scheduled, "No rides booked ahead."),
        Section("active", "Under way", active, "No rides under way."),
    ]


@bp.get("/ui/bookings")
@hide
@page_role_required(*STAFF)
async def booking_queue():
    async with services().rides.pool.acquire() as conn:
        items = await q.queue(conn)
    now = datetime.now(UTC)
    sections = queue_sections(items, now)
    slow = [i for i in sections[1].items if (now - i.booking.created_at).total_seconds() > SLOW_SEARCH_S]
    return await render_template(
        "_booking_queue.html",
        sections=sections,
        attention=len(sections[0].items) + len(slow),
        slow_ids={i.booking.id for i in slow},
        now=now,
        selected_id=request.args.get("selected", type=int),
    )


async def _nearest(booking: q.Booking) -> list[dict]:
    r = services().rides
    found = await available_within(
        r.store, booking.pickup_lat, booking.pickup_lng, NEAREST_RADIUS_M, r.settings.stale_after_s
    )
    found = found[:NEAREST_SHOWN]
    if not found:
        return []
    async with r.pool.acquire() as conn:
        names = {d.id: d for d in await driver_queries.get_drivers(conn, [f.driver_id for _, f in found])}
    now = r.clock()
    return [
        {
            "id": f.driver_id,
            "name": names[f.driver_id].name,
            "plate": names[f.driver_id].vehicle_plate,
            "vehicle_class": names[f.driver_id].vehicle_class or fares.DEFAULT_CLASS,
            "distance_m": distance,
            "eta_s": r.router.estimate(f.lat, f.lng, booking.pickup_lat, booking.pickup_lng, now).duration_s,
        }
        for distance, f in found
        if f.driver_id in names
    ]


async def _labels(booking: q.Booking) -> tuple[str | None, str | None]:
    """The names of the ride's ends: those it was booked with; for an end booked without one (no
    place near then), the nearest place now, or the geocoder's address (places may have been
    added since)."""
    pickup, dropoff = booking.pickup_label, booking.dropoff_label
    if pickup and dropoff:
        return pickup, dropoff
    found = await label_points([(booking.pickup_lat, booking.pickup_lng), (booking.dropoff_lat, booking.dropoff_lng)])
    return pickup or (found[0].text if found[0] else None), dropoff or (found[1].text if found[1] else None)


async def _detail(booking_id: int, message: str | None = None, error: str | None = None, status: int = 200):
    user = await current_user()
    viewer = bookings.Viewer(user.id, user.role)  # type: ignore[union-attr]
    booking = await bookings.get_for(services().rides, viewer, booking_id)
    async with services().rides.pool.acquire() as conn:
        events = await q.events_of_booking(conn, booking_id)
        offers = await q.offers_of_booking(conn, booking_id)
        ids = sorted({o.driver_id for o in offers} | ({booking.driver_id} if booking.driver_id else set()))
        names = {d.id: d.name for d in await driver_queries.get_drivers(conn, ids)}
    nearest = await _nearest(booking) if booking.status not in (S.COMPLETED, S.CANCELLED, S.IN_PROGRESS) else []
    pickup_label, dropoff_label = await _labels(booking)
    html = await render_template(
        "_booking_detail.html",
        booking=booking,
        pickup_label=pickup_label,
        dropoff_label=dropoff_label,
        events=events,
        offers=offers,
        names=names,
        nearest=nearest,
        can_cancel=can_cancel(booking.status, Actor.DISPATCHER),
        can_assign=booking.status in (S.SCHEDULED, S.SEARCHING, S.OFFERED, S.NO_DRIVER, S.ASSIGNED, S.ARRIVED),
        can_redispatch=booking.status in (S.NO_DRIVER, S.SCHEDULED),
        active=booking.status in ACTIVE,
        tracking_url=bookings.tracking_url(services().rides, request.host_url, booking),
        message=message,
        error=error,
        now=datetime.now(UTC),
    )
    # Tell the page the queue changed (after an action): it refreshes the list at once.
    headers = {"HX-Trigger": "bookings-changed"} if message else {}
    return html, status, headers


@bp.get("/ui/bookings/<int:booking_id>")
@hide
@page_role_required(*STAFF)
async def booking_detail(booking_id: int):
    return await _detail(booking_id)


async def _staff_who() -> dispatch.Who:
    user = await current_user()
    return dispatch.Who(Actor(user.role), user.id)  # type: ignore[union-attr]


async def _act(booking_id: int, work, done: str | Callable[[q.Booking], Awaitable[str]]):
    """Run a dispatcher's action; a refusal (409, 404 driver, ...) is shown in the card. ``done``
    is what the card says at its top afterwards (or makes it from the booking the action left)."""
    try:
        result = await work
    except DomainError as error:
        return await _detail(booking_id, error=error.detail, status=200)
    return await _detail(booking_id, message=done if isinstance(done, str) else await done(result))


def driver_words(name: str, plate: str | None) -> str:
    """A driver as a dispatcher names them: "Ann Lee (B-HF 1)"."""
    return f"{name} ({plate})" if plate else name


def with_article(words: str) -> str:
    """ "a van", "an XL car" (said "ex-ell"), "an estate": the article an English speaker says."""
    first = words.split(" ", 1)[0]
    if first.isupper() and len(first) <= 4:  # letters said one by one: "XL", "SUV"
        vowel_sound = first[0] in "AEFHILMNORSX"
    else:
        vowel_sound = first[:1].lower() in "aeiou"
    return f"{'an' if vowel_sound else 'a'} {words}"


def class_name(vehicle_class: str) -> str:
    """ "XL car", "van": a vehicle class as a dispatcher says it."""
    return CLASS_NAMES.get(vehicle_class, vehicle_class)


def class_words(vehicle_class: str) -> str:
    """ "an XL car", "a van"."""
    return with_article(class_name(vehicle_class))


def cancelled_words(booking_id: int, reason: str | None) -> str:
    return f"Booking #{booking_id} cancelled: {reason}." if reason else f"Booking #{booking_id} cancelled."


def _driver_id(form) -> int:
    raw = (form.get("driver_id") or "").strip().lstrip("#")
    if not (raw.isdecimal() and len(raw) <= 18):
        raise Invalid("choose a driver, or type a driver's number")
    return int(raw)


@bp.post("/ui/bookings/<int:booking_id>/assign")
@hide
@page_role_required(*STAFF)
async def booking_assign(booking_id: int):
    form = await request.form
    try:
        driver_id = _driver_id(form)
    except Invalid as error:
        return await _detail(booking_id, error=error.detail)
    who = await _staff_who()
    async with services().rides.pool.acquire() as conn:
        before = await q.get_booking(conn, booking_id)
    # Giving an assigned ride to someone else says so: the old driver loses it.
    taken_from = before.driver_id if before and before.status in ACTIVE else None

    async def outcome(booking: q.Booking) -> str:
        async with services().rides.pool.acquire() as conn:
            found = {d.id: d for d in await driver_queries.get_drivers(conn, [driver_id, taken_from or driver_id])}
        driver = found[driver_id]
        if taken_from is None:
            return f"Assigned to {driver_words(driver.name, driver.vehicle_plate)}."
        old = found.get(taken_from)
        was = f" (was {old.name})" if old else ""
        return f"Reassigned to {driver_words(driver.name, driver.vehicle_plate)}{was}."

    return await _act(booking_id, dispatch.assign(services().rides, booking_id, driver_id, who), outcome)


@bp.post("/ui/bookings/<int:booking_id>/cancel")
@hide
@page_role_required(*STAFF)
async def booking_cancel(booking_id: int):
    reason = ((await request.form).get("reason") or "").strip()[:500] or None
    who = await _staff_who()
    return await _act(
        booking_id, dispatch.cancel(services().rides, booking_id, who, reason), cancelled_words(booking_id, reason)
    )


@bp.post("/ui/bookings/<int:booking_id>/dispatch")
@hide
@page_role_required(*STAFF)
async def booking_redispatch(booking_id: int):
    who = await _staff_who()
    return await _act(
        booking_id,
        dispatch.redispatch(services().rides, booking_id, who),
        "Dispatch restarted: looking for a driver again.",
    )


@bp.post("/ui/bookings/<int:booking_id>/tracking-link")
@hide
@page_role_required(*STAFF)
async def booking_new_link(booking_id: int):
    """A new tracking link (a caller's link was forwarded too far, or read out wrongly): the
    old one answers 410 from now on; recorded in the booking's timeline with who asked."""
    user = await current_user()
    viewer = bookings.Viewer(user.id, user.role)  # type: ignore[union-attr]
    return await _act(
        booking_id,
        bookings.renew_tracking_link(services().rides, viewer, booking_id),
        "New tracking link made: the old one no longer works.",
    )


# ---------------------------------------------------------------- phone bookings


FORM_KEYS = (
    "passenger_name", "passenger_phone", "notes", "pickup_lat", "pickup_lng", "dropoff_lat",
    "dropoff_lng", "vehicle_class", "when", "scheduled_for", "scheduled_local", "pickup_label", "dropoff_label",
)  # fmt: skip


def _form_values(form) -> dict:
    return {k: (form.get(k) or "").strip()[:1000] for k in FORM_KEYS}


def _coordinate(values: dict, key: str, label: str) -> float:
    try:
        return float(values[key])
    except ValueError:
        raise Invalid(
            f"choose the {label} from the search results, set it on the map, or type its coordinates",
            code="missing-point",
        ) from None


def _parse_time(text: str, label: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{label}: pick a date and time", code="bad-time") from None


async def _form(values: dict | None = None, error: str | None = None, status: int = 200):
    async with services().rides.pool.acquire() as conn:
        classes = [f.vehicle_class for f in await q.list_fares(conn)]
    html = await render_template(
        "_phone_booking.html", values=values or {**dict.fromkeys(FORM_KEYS, ""), "vehicle_class": fares.DEFAULT_CLASS,
                                                 "when": "now"},
        classes=classes, error=error,
    )  # fmt: skip
    return html, status


@bp.get("/ui/bookings/new")
@hide
@page_role_required(*STAFF)
async def phone_booking_form():
    return await _form()


@bp.post("/ui/bookings/edit")
@hide
@page_role_required(*STAFF)
async def phone_booking_edit():
    """Back from the price to the form, with what was typed."""
    return await _form(_form_values(await request.form))


@bp.post("/ui/bookings/quote")
@hide
@page_role_required(*STAFF)
async def phone_booking_quote():
    """Price the caller's trip; the dispatcher confirms the booking on the answer."""
    values = _form_values(await request.form)
    user = await current_user()
    try:
        pickup = (_coordinate(values, "pickup_lat", "pickup"), _coordinate(values, "pickup_lng", "pickup"))
        dropoff = (_coordinate(values, "dropoff_lat", "drop-off"), _coordinate(values, "dropoff_lng", "drop-off"))
        later = _parse_time(values["scheduled_for"], "Pickup time") if values["when"] == "later" else None
        quote = await quotes.make_quote(
            services().rides,
            user.id,  # type: ignore[union-attr]
            quotes.QuoteRequest(
                pickup,
                dropoff,
                values["vehicle_class"] or fares.DEFAULT_CLASS,
                later,
                # The place or address the caller named (the search box fills these in), if any.
                values["pickup_label"] or None,
                values["dropoff_label"] or None,
            ),
        )
    except DomainError as error:
        return await _form(values, error.detail)
    return await render_template(
        "_phone_quote.html", values=values, quote=quote, keys=FORM_KEYS, class_name=class_name, class_words=class_words,
        expires_in=int(quote.expires_at.timestamp() - time.time()),
    )  # fmt: skip


@bp.post("/ui/bookings")
@hide
@page_role_required(*STAFF)
async def phone_booking_create():
    form = await request.form
    values = _form_values(form)
    user = await current_user()
    viewer = bookings.Viewer(user.id, user.role)  # type: ignore[union-attr]
    try:
        raw_quote = (form.get("quote_id") or "").strip()
        if not (raw_quote.isdecimal() and len(raw_quote) <= 18):
            raise Invalid("the price expired: get a new one", code="quote-unknown")
        scheduled = _parse_time(values["scheduled_for"], "Pickup time") if values["when"] == "later" else None
        booking = await bookings.create_booking(
            services().rides,
            viewer,
            bookings.BookingRequest(
                int(raw_quote),
                values["passenger_name"],
                values["passenger_phone"],
                values["notes"] or None,
                scheduled,
                # The price card said no driver of the class is near, and the dispatcher booked anyway.
                confirm_no_driver=form.get("confirm_no_driver") == "yes",
            ),
        )
    except DomainError as error:
        return await _form(values, error.detail)
    if booking.status is S.SEARCHING:
        dispatch_soon(booking.id)
    return await _detail(booking.id, message=f"Booked #{booking.id} for {booking.passenger_name}.")
