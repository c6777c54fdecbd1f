"""``hexfleet bookings list|show``: the bookings, straight from PostgreSQL (staff's view)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from hexfleet.cli.db import database, parse_id
from hexfleet.cli.output import emit, table
from hexfleet.drivers import queries as driver_queries
from hexfleet.errors import Invalid, NotFound
from hexfleet.rides import queries as q
from hexfleet.rides.money import format_amount
from hexfleet.rides.states import BookingStatus

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="the newest bookings first")
    listing.add_argument(
        "--status",
        action="append",
        metavar="S[,S...]",
        help=f"only these statuses (comma-separated or repeated): {', '.join(BookingStatus)}",
    )
    listing.add_argument(
        "--limit", metavar="N", default=str(DEFAULT_LIMIT), help=f"at most N bookings (default {DEFAULT_LIMIT})"
    )
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    show = sub.add_parser("show", help="one booking with its timeline and its driver offers")
    show.add_argument("id", help="booking id")
    show.add_argument("--json", action="store_true", help="print one JSON object")


# ---------------------------------------------------------------- input


def parse_limit(text: str) -> int:
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 6 or not 1 <= int(digits) <= MAX_LIMIT:
        raise Invalid(f"--limit must be a whole number from 1 to {MAX_LIMIT}, not {text[:40]!r}")
    return int(digits)


def parse_statuses(values: list[str] | None) -> list[str] | None:
    """``["searching,offered", "no-driver"]`` → the statuses, in order, once each; None: all."""
    if not values:
        return None
    statuses: list[str] = []
    for value in values:
        for part in value.split(","):
            name = "_".join(part.lower().replace("-", " ").split())  # no-driver, "no driver": no_driver
            if not name:
                continue
            if name not in set(BookingStatus):
                raise Invalid(f"unknown status {part.strip()[:40]!r}; statuses: {', '.join(BookingStatus)}")
            if name not in statuses:
                statuses.append(name)
    if not statuses:
        raise Invalid(f"--status needs at least one status: {', '.join(BookingStatus)}")
    return statuses


# ---------------------------------------------------------------- database


async def fetch_list(dsn: str, statuses: list[str] | None, limit: int) -> tuple[list[q.Booking], bool]:
    """The newest ``limit`` bookings, and whether there are older ones (one more row tells)."""
    async with database(dsn) as conn:
        found = await q.list_bookings(conn, statuses=statuses, limit=limit + 1)
    return found[:limit], len(found) > limit


async def fetch_one(dsn: str, booking_id: int):
    async with database(dsn) as conn:
        booking = await q.get_booking(conn, booking_id)
        if booking is None:
            raise NotFound(f"no booking with id {booking_id}", code="booking-not-found")
        events = await q.events_of_booking(conn, booking_id)
        offers = await q.offers_of_booking(conn, booking_id)
        driver_ids = sorted({o.driver_id for o in offers} | ({booking.driver_id} if booking.driver_id else set()))
        drivers = {d.id: d.name for d in await driver_queries.get_drivers(conn, driver_ids)}
    return booking, events, offers, drivers


# ---------------------------------------------------------------- output


def when(value: datetime | None) -> str:
    """A moment in this machine's time zone (the TZ variable picks another), to the minute."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "-"


def when_exact(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def zone_note() -> str:
    offset = datetime.now().astimezone().strftime("%z")  # +0200
    return f"times in local time (UTC{offset[:3]}:{offset[3:]})"


def point(lat: float, lng: float, places: int = 4) -> str:
    return f"{lat:.{places}f},{lng:.{places}f}"


def route(booking: q.Booking, places: int = 4) -> str:
    pickup = point(booking.pickup_lat, booking.pickup_lng, places)
    return f"{pickup} → {point(booking.dropoff_lat, booking.dropoff_lng, places)}"


def status_text(status: str | None) -> str:
    """The status as --status takes it (no_driver), so what is read can be typed back."""
    return str(status) if status else "-"


def list_text(found: list[q.Booking], statuses: list[str] | None, more: bool) -> str:
    if not found:
        if statuses:
            return f"no bookings with status {', '.join(status_text(s) for s in statuses)}"
        return "no bookings yet"
    rows = [
        (
            str(b.id),
            status_text(b.status),
            when(b.created_at),
            when(b.scheduled_for),
            route(b),
            format_amount(b.price_minor, b.currency),
            str(b.driver_id) if b.driver_id else "-",
        )
        for b in found
    ]
    header = ("id", "status", "created", "scheduled for", "pickup → drop-off", "price", "driver")
    lines = [table(header, rows, right=frozenset({0, 5, 6})), "", zone_note()]
    if more:
        lines[-1] += f"; the newest {len(found)} shown, --limit shows more"
    return "\n".join(lines)


def _driver(driver_id: int | None, drivers: dict[int, str]) -> str:
    if driver_id is None:
        return "-"
    name = drivers.get(driver_id)
    return f"{driver_id} ({name})" if name else str(driver_id)


def _actor(event: q.BookingEvent) -> str:
    return f"{event.actor} {event.actor_id}" if event.actor_id else event.actor


def _distance(metres: int) -> str:
    return f"{metres} m" if metres < 1000 else f"{metres / 1000:.1f} km"


def _duration(seconds: int) -> str:
    return f"{seconds} s" if seconds < 60 else f"{round(seconds / 60)} min"


def show_text(booking: q.Booking, events: list[q.BookingEvent], offers: list[q.Offer], drivers: dict) -> str:
    facts = [
        ("status", status_text(booking.status)),
        ("created", when_exact(booking.created_at)),
        ("scheduled for", when(booking.scheduled_for)),
        ("vehicle class", booking.vehicle_class),
        ("pickup", point(booking.pickup_lat, booking.pickup_lng, 6)),
        ("drop-off", point(booking.dropoff_lat, booking.dropoff_lng, 6)),
        ("trip", f"{_distance(booking.distance_m)}, {_duration(booking.duration_s)}"),
        ("price", format_amount(booking.price_minor, booking.currency)),
        ("passenger", f"{booking.passenger_name}, {booking.passenger_phone}"),
        ("notes", booking.notes or "-"),
        ("driver", _driver(booking.driver_id, drivers)),
    ]
    if booking.cancelled_by:
        reason = f": {booking.cancel_reason}" if booking.cancel_reason else ""
        facts.append(("cancelled", f"by {booking.cancelled_by}{reason}"))
    width = max(len(label) for label, _ in facts) + 1
    lines = [f"booking {booking.id}"]
    lines += [f"  {(label + ':').ljust(width)} {value}" for label, value in facts]
    lines += ["", "timeline"]
    if events:
        rows = [
            (
                when_exact(e.at),
                f"{status_text(e.from_status)} → {status_text(e.to_status)}",
                e.action.replace("_", " "),
                _actor(e),
                e.reason or "",
            )
            for e in events
        ]
        lines += ["  " + line for line in table(("time", "from → to", "action", "by", "reason"), rows).splitlines()]
    else:
        lines.append("  no events")
    lines += ["", "offers"]
    if offers:
        rows = [
            (
                _driver(o.driver_id, drivers),
                o.status,
                _distance(o.distance_m),
                _duration(o.eta_s) if o.eta_s is not None else "-",
                when_exact(o.expires_at),
            )
            for o in offers
        ]
        lines += [
            "  " + line
            for line in table(("driver", "status", "distance", "eta", "expires"), rows, frozenset({2})).splitlines()
        ]
    else:
        lines.append("  no driver was offered this booking")
    lines += ["", zone_note()]
    return "\n".join(lines)


# ---------------------------------------------------------------- commands


def run_list(args, settings) -> int:
    statuses = parse_statuses(args.status)
    limit = parse_limit(args.limit)
    settings.require_database()
    found, more = asyncio.run(fetch_list(settings.database_url, statuses, limit))
    emit({"bookings": [b.to_json() for b in found]}, args.json, list_text(found, statuses, more))
    return 0


def run_show(args, settings) -> int:
    booking_id = parse_id(args.id)
    settings.require_database()
    booking, events, offers, drivers = asyncio.run(fetch_one(settings.database_url, booking_id))
    payload = {**booking.to_json(), "events": [e.to_json() for e in events], "offers": [o.to_json() for o in offers]}
    emit(payload, args.json, show_text(booking, events, offers, drivers))
    return 0


def run(args, settings) -> int:
    # Each action checks its input before it asks for the database.
    return {"list": run_list, "show": run_show}[args.action](args, settings)
