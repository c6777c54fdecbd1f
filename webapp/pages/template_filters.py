"""Jinja filters every page uses (times, money, distances, speeds, headings, status labels).

Times, money, distances and durations are rendered as elements that static/js/lib/format.js
shows in the viewer's zone and locale (static/js/page.js runs it on every page, and after each
htmx swap): ``<time datetime="ISO" data-format="time">18:08 UTC</time>``,
``<data class="money" value="815" data-currency="EUR">8.15 EUR</data>``, ``<data
class="distance" value="1234">1.2 km</data>``, ``<data class="duration" value="840">14
min</data>``. The text inside is what shows without JavaScript: unambiguous, in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup
from quart import Blueprint

from hexfleet.drivers.connect import masked_hint
from hexfleet.drivers.duty import DutyStatus
from hexfleet.rides.money import format_amount
from hexfleet.tracking import filters
from hexfleet.users.roles import STAFF, Role

bp = Blueprint("template_filters", __name__)
# Templates compare roles with the same names the code does: user.role == Role.ADMIN, in STAFF_ROLES.
bp.record_once(lambda state: state.app.jinja_env.globals.update(Role=Role, STAFF_ROLES=STAFF))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """ "12 s ago", "4 min ago", "3 h ago", "2 d ago"; "never" for None (lib/format.js's ago)."""
    if value is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = int((_aware(now) - _aware(value)).total_seconds())
    if seconds < 1:
        # The device clock runs ahead of ours; do not show "in 3 s".
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


@bp.app_template_filter("compass")
def compass(heading: float | None) -> str:
    if heading is None:
        return "—"
    heading = heading % 360
    return f"{heading:.0f}° {_COMPASS[int((heading + 22.5) // 45) % 8]}"


@bp.app_template_filter("kmh")
def kmh(speed_mps: float | None) -> str:
    return "—" if speed_mps is None else f"{speed_mps * 3.6:.0f} km/h"


@bp.app_template_filter("isotime")
def isotime(value: datetime | None) -> str:
    return "" if value is None else _aware(value).isoformat(timespec="seconds")


# The fallback text of each data-format (lib/format.js's styles), in UTC; {day} without a zero.
_UTC_TEXT = {
    "time": "%H:%M UTC",
    "time-seconds": "%H:%M:%S UTC",
    "date": "{day} %b %Y",
    "datetime": "%a {day} %b, %H:%M UTC",
}


def _time_tag(value: datetime, style: str, text: str) -> Markup:
    return Markup('<time datetime="{}" data-format="{}">{}</time>').format(isotime(value), style, text)


@bp.app_template_filter("local_time")
def local_time(value: datetime | str | None, style: str = "datetime") -> Markup:
    """A moment as the viewer's local time (``style``: time, time-seconds, date or datetime);
    "—" for None. Strings are RFC 3339 (what the API's JSON carries)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return Markup("—")
    if value is None:
        return Markup("—")
    at = _aware(value).astimezone(UTC)
    return _time_tag(value, style, at.strftime(_UTC_TEXT[style].format(day=at.day)))


@bp.app_template_filter("age")
def age(value: datetime | None, now: datetime | None = None) -> Markup:
    """How long ago ("4 min ago"), counting on in the page; "never" for None."""
    if value is None:
        return Markup("never")
    return _time_tag(value, "ago", ago(value, now))


@bp.app_template_filter("elapsed")
def elapsed(value: datetime, now: datetime | None = None) -> Markup:
    """How long since, without "ago" ("waiting 4 min")."""
    since = max(0, int((_aware(now or datetime.now(UTC)) - _aware(value)).total_seconds()))
    return _time_tag(value, "elapsed", duration_text(since))


def duration_text(seconds: float) -> str:
    """ "45 s", "14 min", "1 h 5 min": lib/format.js's duration, for the text without JavaScript."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def distance_text(metres: float) -> str:
    """ "850 m", "3.2 km": lib/format.js's distance, for the text without JavaScript."""
    if round(metres) < 1000:
        return f"{round(metres)} m"
    km = metres / 1000
    return f"{km:.1f} km" if km < 99.95 else f"{km:.0f} km"


@bp.app_template_filter("duration")
def duration(seconds: float | None) -> Markup:
    if seconds is None:
        return Markup("—")
    return Markup('<data class="duration" value="{}">{}</data>').format(round(seconds), duration_text(seconds))


@bp.app_template_filter("minutes")
def minutes(seconds: float | None) -> Markup:
    """An estimate (an ETA, a trip's time) in whole minutes, never under one: "1 min", "14 min"."""
    if seconds is None:
        return Markup("—")
    text = duration_text(max(60, int(seconds / 60 + 0.5) * 60))  # halves up, as JavaScript's Math.round
    return Markup('<data class="duration" data-round="minutes" value="{}">{}</data>').format(round(seconds), text)


@bp.app_template_filter("distance")
def distance(metres: float | None) -> Markup:
    if metres is None:
        return Markup("—")
    return Markup('<data class="distance" value="{}">{}</data>').format(round(metres), distance_text(metres))


@bp.app_template_global("money")
def money(minor: int, currency: str) -> Markup:
    """An amount in minor units: "8.15 EUR" as text, "€8.15" or "8,15 €" in the page."""
    return Markup('<data class="money" value="{}" data-currency="{}">{}</data>').format(
        int(minor), currency, format_amount(minor, currency)
    )


@bp.app_template_filter("device_hint")
def device_hint(hint: str | None) -> str:
    """A device by the last 4 characters of its id ("•••• 3f9a"): enough to tell two apart,
    not enough to use one. The id itself is stored hashed (OsmAnd's only credential)."""
    return masked_hint(hint)


STATUS_LABELS: dict[str, str] = {
    DutyStatus.AVAILABLE: "Available",
    DutyStatus.BUSY: "Busy",
    DutyStatus.OFF_DUTY: "Off duty",
}


@bp.app_template_filter("problem_label")
def problem_label(reason: str) -> str:
    """A rejected or flagged fix's reason, as a dispatcher reads it."""
    return filters.DESCRIPTIONS.get(reason, reason.replace("-", " ")).capitalize()


@bp.app_template_filter("status_label")
def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", (status or "unknown").replace("_", " ").capitalize())


BOOKING_LABELS = {
    "scheduled": "Scheduled",
    "searching": "Searching",
    "offered": "Offered",
    "assigned": "Assigned",
    "arrived": "At pickup",
    "in_progress": "On board",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "no_driver": "No driver",
}


@bp.app_template_filter("booking_label")
def booking_label(status: str | None) -> str:
    return BOOKING_LABELS.get(status or "", (status or "unknown").replace("_", " ").capitalize())


def coordinates_text(lat: float, lng: float) -> str:
    """ "52.52050, 13.40950": five decimals, a metre or so, as a person reads or types them."""
    return f"{lat:.5f}, {lng:.5f}"


@bp.app_template_global("place_point")
def place_point(label: str | None, lat: float, lng: float, tap: bool = True) -> Markup:
    """A point as a person reads it: its name ("Alexanderplatz, 60 m") with the coordinates on
    hover, and (``tap``) a button that shows them on a tap, where nothing hovers
    (static/js/control-room/place-names.js); the coordinates themselves when it has no name.
    ``tap=False`` inside another button (a queue row), which cannot hold one."""
    coords = coordinates_text(lat, lng)
    if not label:
        return Markup('<span class="coords mono">{}</span>').format(coords)
    if not tap:
        return Markup('<span class="place-name" title="{}">{}</span>').format(coords, label)
    return Markup(
        '<button type="button" class="place-name" data-coords="{}" title="{} (tap for the coordinates)"'
        ' aria-pressed="false">{}</button>'
    ).format(coords, coords, label)
