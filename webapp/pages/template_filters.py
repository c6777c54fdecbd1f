"""Jinja filters every page uses (times, speeds, headings, status labels)."""

from __future__ import annotations

from datetime import UTC, datetime

from quart import Blueprint

from hexfleet.drivers.connect import masked_hint
from hexfleet.drivers.duty import DutyStatus
from hexfleet.tracking import filters

bp = Blueprint("template_filters", __name__)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@bp.app_template_filter("ago")
def ago(value: datetime | None, now: datetime | None = None) -> str:
    """ "12 s ago", "4 min ago", "3 h ago", "2 d ago"; "never" for None."""
    if value is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = int((_aware(now) - _aware(value)).total_seconds())
    if seconds < 0:
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


@bp.app_template_filter("clock")
def clock(value: datetime | None) -> str:
    """Time of day in UTC: short and unambiguous for a control room; the full ISO time is in title=."""
    return "—" if value is None else _aware(value).astimezone(UTC).strftime("%H:%M:%S UTC")


@bp.app_template_filter("device_hint")
def device_hint(hint: str | None) -> str:
    """A device by the last 4 characters of its id ("•••• 3f9a"): enough to tell two apart,
    not enough to use one. The id itself is stored hashed (OsmAnd's only credential)."""
    return masked_hint(hint)


@bp.app_template_filter("day_clock")
def day_clock(value: datetime | None) -> str:
    """Day and time in UTC ("2 Dec 04:50 UTC"), for things that last longer than a day."""
    if value is None:
        return "—"
    at = _aware(value).astimezone(UTC)
    return f"{at.day} {at.strftime('%b %H:%M')} UTC"


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
