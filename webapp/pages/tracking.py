"""The tracking link's page: /t/<token>, one ride, no login.

Whoever holds the link sees that ride only: its status timeline, the passenger's first name,
the driver's name, plate and position while they have the ride, and the ETA; never a reason
someone wrote (a neutral "Cancelled by dispatch" instead). The page follows
``/api/v1/track/<token>/stream`` (static/js/track.js) and re-renders its panel
(``/t/<token>/panel``) when the ride changes. Paths with a token are logged as
``/t/<token>`` (webapp/errors.py), and pages send no referrer (base.html).

**A link is view-only.** It gets forwarded (to a friend, a group chat), so holding it gives
no power over the ride. When the viewer is signed in as the rider who booked it, the page
also shows that rider's buttons: cancel (posted with their session and CSRF token, recorded
as theirs) and *new link* (the old link stops working). Staff cancel and renew links from
the booking card; a ride a dispatcher booked for a caller is cancelled by dispatch.

A link that is not ours is a 404 page; one that was replaced or whose ride ended longer ago
than TRACKING_LINK_TTL_S is a 410 page that says which.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from markupsafe import Markup
from quart import Blueprint, redirect, render_template, request
from quart_schema import hide

from hexfleet.errors import Conflict, NotFound
from hexfleet.rides import bookings, dispatch, links
from hexfleet.rides import queries as q
from hexfleet.rides.states import ACTIVE, Actor, BookingStatus, can_cancel
from hexfleet.users.roles import Role
from webapp.auth import current_user
from webapp.pages.ride_places import named_ends
from webapp.pages.riders import (
    CANCEL_REASONS,
    STATUS_TONES,
    VEHICLE_LABELS,
    cancel_reason,
    looking_until,
    status_label,
)
from webapp.pages.template_filters import local_time, minutes, money
from webapp.services import label_points, services

bp = Blueprint("tracking_page", __name__)
log = logging.getLogger("hexfleet.web")

S = BookingStatus
NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}

# What a link that does not open its ride says, by why (the API's codes: tracking-link-…).
DEAD_LINKS: dict[str, tuple[int, str, str]] = {
    "invalid": (
        404,
        "This tracking link does not work",
        "It may have been mistyped or cut short. Ask whoever sent it for the link again.",
    ),
    links.LinkState.REVOKED: (
        410,
        "This tracking link was replaced",
        "A new link was made for this ride, so this one no longer works. Ask whoever sent it for the new one.",
    ),
    links.LinkState.EXPIRED: (
        410,
        "This tracking link has expired",
        "The ride is over, and its link stopped working a while after it ended.",
    ),
}

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
    at: str | None = None  # RFC 3339: the page shows it in the rider's local time
    note: str | None = None


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
                steps.append(Step(key, label, "done", entry["at"]))
            continue
        if key == current and status is not S.COMPLETED:
            state = "current"
        elif entry is not None and (index < current_index or status is S.COMPLETED):
            state = "done"
        else:
            state = "next"
        at = entry["at"] if entry is not None and state != "next" else None
        steps.append(Step(key, label, state, at))
    if status is S.CANCELLED:
        last = next((e for e in reversed(entries) if e["status"] == "cancelled"), None)
        at = last["at"] if last else None
        steps.append(Step("cancelled", "Cancelled", "stopped", at, bookings.cancel_note(booking.cancelled_by)))
    elif status is S.NO_DRIVER:
        last = next((e for e in reversed(entries) if e["status"] == "no_driver"), None)
        at = last["at"] if last else None
        steps.append(Step("no_driver", "No driver was free", "stopped", at))
    return steps


def headline(booking: q.Booking, view: dict) -> tuple[str, str | None]:
    """What the page says first: the state of the ride in words, and a line under it (markup:
    a pickup time is a <time> element the page shows in local time)."""
    driver = (view.get("driver") or {}).get("name") or "Your driver"
    status = booking.status
    if status is S.SCHEDULED:
        if booking.scheduled_for is None:
            return "Your ride is booked", None
        return "Your ride is booked", Markup("Pickup ") + local_time(booking.scheduled_for)
    if status in (S.SEARCHING, S.OFFERED):
        until = looking_until(booking)
        if until is None:
            return "Finding you a driver", "We are asking the drivers nearby."
        return "Finding you a driver", Markup("We are asking the drivers nearby, and keep looking until ") + local_time(
            until, "time"
        ) + Markup(".")
    if status is S.ASSIGNED:
        return f"{driver} is on the way", None
    if status is S.ARRIVED:
        return f"{driver} is at the pickup", "Your driver is waiting for you."
    if status is S.IN_PROGRESS:
        return "On the way to your drop-off", None
    if status is S.COMPLETED:
        return "You have arrived", "Thank you for riding with us."
    if status is S.NO_DRIVER:
        return "No driver was free", "Dispatch may still find a driver."
    return "This ride was cancelled", None  # who and why: the timeline's last step


def eta_text(eta_s: int | None, eta_to: str | None, status: BookingStatus) -> Markup | None:
    """ "About 4 min to the pickup" (track.js says the same as the driver moves)."""
    if eta_s is None or status is S.ARRIVED:
        return None
    where = "the drop-off" if eta_to == "dropoff" else "the pickup"
    if eta_s < 60:
        return Markup("Less than a minute to {}").format(where)
    # Whole minutes, as track.js's lib/format.js minutes(): "About 4 min".
    return Markup("About {} to {}").format(minutes(eta_s), where)


def is_owner(user, booking: q.Booking) -> bool:
    """Whether this viewer is the customer who booked the ride (their buttons show); staff are
    not (they have the booking card)."""
    return user is not None and user.role == Role.CUSTOMER and booking.customer_id == user.id


async def owner_of(booking: q.Booking) -> int | None:
    """The signed-in rider's id when this viewer booked the ride; None for everyone else."""
    user = await current_user()
    return user.id if user is not None and is_owner(user, booking) else None


async def track_context(booking: q.Booking, token: str) -> dict:
    view = await bookings.tracking_view(services().rides, booking)
    title, subtitle = headline(booking, view)
    driver = view.get("driver") or None
    live = booking.status in ACTIVE
    settings = services().rides.settings
    # Signed in, the top bar keeps the account's links (base.html shows them for ``user``).
    user = await current_user()
    owner = is_owner(user, booking)
    pickup, dropoff = (await named_ends([booking], label_points))[booking.id]
    return {
        "user": user,
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
        "price": money(booking.price_minor, booking.currency),
        "vehicle": VEHICLE_LABELS.get(booking.vehicle_class, booking.vehicle_class),
        "distance_m": booking.distance_m,
        "pickup": pickup,
        "dropoff": dropoff,
        # What the rider wrote for the driver: theirs to see, never a link holder's.
        "driver_note": booking.notes if owner else None,
        "scheduled_for": booking.scheduled_for,
        # The rider's own buttons, for the rider alone (signed in): the link itself cancels nothing.
        "owner": owner,
        "booking_id": booking.id if owner else None,
        "cancellable": owner and can_cancel(booking.status, Actor.CUSTOMER),
        "reasons": CANCEL_REASONS,
        "renewed": owner and request.args.get("renewed") == "1",
    }


async def _dead(why: str, partial: bool = False):
    status, title, detail = DEAD_LINKS[why]
    template = "_track_missing.html" if partial else "track_missing.html"
    return await render_template(template, status=status, title=title, detail=detail), status, NO_STORE


async def _open(token: str) -> tuple[q.Booking | None, str]:
    """The link's booking, or None and why it does not open."""
    try:
        return await bookings.by_tracking_token(services().rides, token), ""
    except bookings.LinkGone as gone:
        return None, str(gone.state)
    except NotFound:
        return None, "invalid"


@bp.get("/t/<token>")
@hide  # pages, not API: keep them out of /docs
async def track_page(token: str):
    booking, why = await _open(token)
    if booking is None:
        return await _dead(why)
    return await render_template("track.html", **await track_context(booking, token)), 200, NO_STORE


@bp.get("/t/<token>/panel")
@hide  # pages, not API: keep them out of /docs
async def track_panel(token: str):
    """The page's panel alone: track.js asks for it when the ride changes."""
    booking, why = await _open(token)
    if booking is None:
        return await _dead(why, partial=True)
    return await render_template("_track_panel.html", **await track_context(booking, token)), 200, NO_STORE


@bp.post("/t/<token>/cancel")
@hide  # pages, not API: keep them out of /docs
async def track_cancel(token: str):
    """The signed-in rider cancels their own ride from its page (a form with the page's CSRF
    token); back to the page. Anyone else holding the link is refused (403) and nothing
    changes: the link is view-only."""
    booking, why = await _open(token)
    if booking is None:
        return await _dead(why)
    rider_id = await owner_of(booking)
    if rider_id is None:
        html = await render_template(
            "error.html",
            status=403,
            title="Only the rider can cancel",
            detail="A tracking link only shows the ride. To cancel, sign in to the account that booked it "
            "(My rides), or ask dispatch.",
        )
        return html, 403, NO_STORE
    reason = cancel_reason(await request.form)
    try:
        await dispatch.cancel(services().rides, booking.id, dispatch.Who(Actor.CUSTOMER, rider_id), reason)
    except Conflict:
        context = await track_context(await bookings.by_tracking_token(services().rides, token), token)
        context["error"] = f"This ride can no longer be cancelled: it is {status_label(context['status']).lower()}."
        return await render_template("track.html", **context), 409, NO_STORE
    log.info("customer %s cancelled booking %s from its page", rider_id, booking.id)
    return redirect(f"/t/{token}", 303)
