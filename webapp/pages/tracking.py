"""The tracking link's page: /t/<token>, one ride, no login.

Whoever holds the link sees that ride only: its status timeline, the driver's name, plate and
position while they have the ride, the ETA, and a cancel button while a customer may cancel.
The page follows ``/api/v1/track/<token>/stream`` (static/js/track.js) and re-renders its
panel (``/t/<token>/panel``) when the ride changes. Paths with a token are logged as
``/t/<token>`` (webapp/errors.py), and pages send no referrer (base.html).

**Cancelling from the link.** The link stands for the passenger: its holder cancels as a
customer would (before the ride starts), recorded with actor ``customer`` and the booking's
customer id. A ride a dispatcher booked for a caller has no customer id; the passenger the
link was sent to may still cancel it, recorded as ``customer`` without an id (and the reason
says it came from the link), so dispatch sees who asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from quart import Blueprint, redirect, render_template, request
from quart_schema import hide

from hexfleet.errors import Conflict, NotFound
from hexfleet.rides import bookings, dispatch
from hexfleet.rides import queries as q
from hexfleet.rides.states import ACTIVE, Actor, BookingStatus
from webapp.pages.riders import (
    CANCEL_REASONS,
    STATUS_TONES,
    VEHICLE_LABELS,
    cancel_reason,
    distance_text,
    place_text,
    price_text,
    status_label,
)
from webapp.services import rides

bp = Blueprint("tracking_page", __name__)
log = logging.getLogger("hexfleet.web")

S = BookingStatus
NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
FROM_LINK = "via the tracking link"

# The ride's steps, in order; "offered" is still finding a driver for the rider.
STEPS: tuple[tuple[str, str], ...] = (
    ("searching", "Finding a driver"),
    ("assigned", "Driver assigned"),
    ("arrived", "Driver at the pickup"),
    ("in_progress", "Ride started"),
    ("completed", "Arrived at the drop-off"),
)
STEP_OF = {S.SCHEDULED: "booked", S.SEARCHING: "searching", S.OFFERED: "searching"}


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    state: str  # "done" | "current" | "next" | "stopped"
    at: str | None = None  # RFC 3339
    at_text: str | None = None  # the same in UTC, until the page shows it in local time
    note: str | None = None


def _clock(at: str | None) -> str | None:
    if not at:
        return None
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(UTC).strftime("%H:%M UTC")


def _when(value: datetime | None) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds"), value.astimezone(UTC).strftime("%a %d %b, %H:%M UTC")


def timeline(booking: q.Booking, view: dict) -> list[Step]:
    """The steps a rider follows, each done, current, next or where the ride stopped."""
    entries = view["timeline"]
    reached: dict[str, dict] = {}
    for entry in entries:
        key = STEP_OF.get(entry["status"], entry["status"])
        # First time it found a driver; the latest time for steps that may repeat (a new driver).
        if key != "searching" or key not in reached:
            reached[key] = entry
    created = entries[0] if entries else None
    steps = [
        Step(
            "booked",
            "Booked" if booking.scheduled_for is None else "Booked ahead",
            "done",
            created["at"] if created else None,
            _clock(created["at"]) if created else None,
        )
    ]
    status = booking.status
    current = STEP_OF.get(status, str(status))
    order = [key for key, _ in STEPS]
    current_index = order.index(current) if current in order else -1
    for index, (key, label) in enumerate(STEPS):
        entry = reached.get(key)
        if status in (S.CANCELLED, S.NO_DRIVER) and (entry is None or key != current):
            if entry is not None:
                steps.append(Step(key, label, "done", entry["at"], _clock(entry["at"])))
            continue
        if key == current and status is not S.COMPLETED:
            state = "current"
        elif entry is not None and (index < current_index or status is S.COMPLETED):
            state = "done"
        else:
            state = "next"
        at = entry["at"] if entry is not None and state != "next" else None
        steps.append(Step(key, label, state, at, _clock(at)))
    if status is S.CANCELLED:
        last = next((e for e in reversed(entries) if e["status"] == "cancelled"), None)
        at = last["at"] if last else None
        steps.append(Step("cancelled", "Cancelled", "stopped", at, _clock(at), _cancel_note(booking)))
    elif status is S.NO_DRIVER:
        last = next((e for e in reversed(entries) if e["status"] == "no_driver"), None)
        at = last["at"] if last else None
        steps.append(Step("no_driver", "No driver was free", "stopped", at, _clock(at)))
    return steps


def _cancel_note(booking: q.Booking) -> str | None:
    by = {"customer": "by the passenger", "driver": "by the driver", "system": "automatically"}.get(
        booking.cancelled_by or "", "by dispatch"
    )
    return f"Cancelled {by}" + (f" ({booking.cancel_reason})" if booking.cancel_reason else "")


def headline(booking: q.Booking, view: dict) -> tuple[str, str | None]:
    """What the page says first: the state of the ride in words, and a line under it."""
    driver = (view.get("driver") or {}).get("name") or "Your driver"
    scheduled_text = _when(booking.scheduled_for)[1]
    status = booking.status
    if status is S.SCHEDULED:
        return "Your ride is booked", f"Pickup {scheduled_text}" if scheduled_text else None
    if status in (S.SEARCHING, S.OFFERED):
        return "Finding you a driver", "We are asking the drivers nearby."
    if status is S.ASSIGNED:
        return f"{driver} is on the way", None
    if status is S.ARRIVED:
        return f"{driver} is at the pickup", "Your driver is waiting for you."
    if status is S.IN_PROGRESS:
        return "On the way to your drop-off", None
    if status is S.COMPLETED:
        return "You have arrived", "Thank you for riding with us."
    if status is S.NO_DRIVER:
        return "No driver was free", "Dispatch may still find you one; cancel if you no longer need the ride."
    return "This ride was cancelled", None  # who and why: the timeline's last step


def eta_text(eta_s: int | None, eta_to: str | None, status: BookingStatus) -> str | None:
    """ "About 4 min to the pickup" (track.js says the same as the driver moves)."""
    if eta_s is None or status is S.ARRIVED:
        return None
    where = "the drop-off" if eta_to == "dropoff" else "the pickup"
    if eta_s < 60:
        return f"Less than a minute to {where}"
    return f"About {int(eta_s / 60 + 0.5)} min to {where}"  # halves up, as track.js's Math.round


async def track_context(booking: q.Booking, token: str) -> dict:
    view = await bookings.tracking_view(rides(), booking)
    title, subtitle = headline(booking, view)
    scheduled_at, scheduled_text = _when(booking.scheduled_for)
    driver = view.get("driver") or None
    live = booking.status in ACTIVE
    settings = rides().settings
    return {
        "token": token,
        "map": {
            "tile_url": settings.map_tile_url,
            "tile_attribution": settings.map_tile_attribution,
            # The ETA as the driver moves: the estimate the server uses (hexfleet.rides.bookings.eta_seconds).
            "detour_factor": settings.detour_factor,
            "average_speed_kmh": settings.average_speed_kmh,
        },
        "view": view,
        "status": str(booking.status),
        "status_label": status_label(booking.status),
        "tone": STATUS_TONES.get(booking.status, "waiting"),
        "title": title,
        "subtitle": subtitle,
        "steps": timeline(booking, view),
        "driver": driver,
        "live": live,
        "eta_s": view.get("eta_s") if live else None,
        "eta_to": view.get("eta_to"),
        "eta_text": eta_text(view.get("eta_s"), view.get("eta_to"), booking.status) if live else None,
        "price": price_text(booking.price_minor, booking.currency),
        "vehicle": VEHICLE_LABELS.get(booking.vehicle_class, booking.vehicle_class),
        "distance": distance_text(booking.distance_m),
        "pickup": place_text(booking.pickup_lat, booking.pickup_lng),
        "dropoff": place_text(booking.dropoff_lat, booking.dropoff_lng),
        "scheduled_at": scheduled_at,
        "scheduled_text": scheduled_text,
        "cancellable": view.get("cancellable", False),
        "reasons": CANCEL_REASONS,
    }


async def _missing(partial: bool = False):
    template = "_track_missing.html" if partial else "track_missing.html"
    html = await render_template(
        template,
        title="This tracking link does not work",
        detail="It may have been mistyped, or the ride ended a while ago. Ask whoever sent it for a new one.",
    )
    return html, 404, NO_STORE


@bp.get("/t/<token>")
@hide  # pages, not API: keep them out of /docs
async def track_page(token: str):
    try:
        booking = await bookings.by_tracking_token(rides(), token)
    except NotFound:
        return await _missing()
    return await render_template("track.html", **await track_context(booking, token)), 200, NO_STORE


@bp.get("/t/<token>/panel")
@hide  # pages, not API: keep them out of /docs
async def track_panel(token: str):
    """The page's panel alone: track.js asks for it when the ride changes."""
    try:
        booking = await bookings.by_tracking_token(rides(), token)
    except NotFound:
        return await _missing(partial=True)
    return await render_template("_track_panel.html", **await track_context(booking, token)), 200, NO_STORE


@bp.post("/t/<token>/cancel")
@hide  # pages, not API: keep them out of /docs
async def track_cancel(token: str):
    """Cancel from the link (a form with the page's CSRF token); back to the page."""
    try:
        booking = await bookings.by_tracking_token(rides(), token)
    except NotFound:
        return await _missing()
    reason = cancel_reason(await request.form)
    if booking.customer_id is None:
        reason = f"{reason} ({FROM_LINK})" if reason else f"Cancelled {FROM_LINK}"
    try:
        booking = await dispatch.cancel(rides(), booking.id, dispatch.Who(Actor.CUSTOMER, booking.customer_id), reason)
    except Conflict:
        booking = await bookings.by_tracking_token(rides(), token)
        context = await track_context(booking, token)
        context["error"] = f"This ride can no longer be cancelled: it is {status_label(booking.status).lower()}."
        return await render_template("track.html", **context), 409, NO_STORE
    log.info("booking %s cancelled from its tracking link", booking.id)
    return redirect(f"/t/{token}", 303)
