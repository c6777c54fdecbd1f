"""When a ride may be booked for (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hexfleet.errors import Invalid

MIN_AHEAD = timedelta(minutes=15)
MAX_AHEAD = timedelta(days=30)


def check_scheduled(when: datetime, now: datetime, field: str = "scheduled_for") -> datetime:
    """A scheduled pickup must be between 15 minutes and 30 days ahead (422 naming the window)."""
    if when.tzinfo is None:
        raise Invalid(f"{field} needs a UTC offset (RFC 3339, e.g. 2030-01-31T18:30:00+01:00)", code="bad-time")
    if not (now + MIN_AHEAD <= when <= now + MAX_AHEAD):
        raise Invalid(
            f"{field} must be between 15 minutes and 30 days from now "
            f"({(now + MIN_AHEAD).isoformat(timespec='minutes')} to {(now + MAX_AHEAD).isoformat(timespec='minutes')})",
            code="outside-booking-window",
        )
    return when
