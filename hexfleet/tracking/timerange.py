"""The time range of a history view (pure): RFC 3339 instants, local wall times, the bounds.

The API takes instants (RFC 3339, with an offset). The history page's form has wall times
(``<input type="datetime-local">``) and the browser's IANA zone; ``local_instant`` turns
one into the other here, where zoneinfo knows every rule, so a link shared with someone in
another zone still names the same hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hexfleet.errors import Invalid

# A day at one ping every 2 s is 43,200 fixes: the cap leaves room for that and then some,
# and bounds what one request can make the database read and the browser draw.
MAX_RANGE = timedelta(days=7)
MAX_FIXES = 50_000

# ASCII digits only (\d would take other scripts' digits too).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)
_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?", re.ASCII)
_ZONE = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+){0,2}", re.ASCII)


class BadRange(Invalid):
    status = 400
    code = "bad-range"
    title = "Bad time range"


@dataclass(frozen=True, slots=True)
class TimeRange:
    start: datetime  # inclusive, aware, UTC
    end: datetime  # exclusive, aware, UTC

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def parse_instant(text: str, name: str) -> datetime:
    """An RFC 3339 date-time with an offset ("2024-05-01T08:00:00Z", "...+02:00"), in UTC."""
    text = text.strip()
    if not _RFC3339.fullmatch(text):
        raise BadRange(f"{name} must be an RFC 3339 date-time with an offset, e.g. 2024-05-01T08:00:00Z")
    fraction = re.search(r"\.([0-9]+)", text)
    if fraction and len(fraction.group(1)) > 6:  # Python keeps microseconds: drop the nanoseconds
        text = text.replace(fraction.group(0), "." + fraction.group(1)[:6])
    try:
        return datetime.fromisoformat(text.replace("z", "Z").replace("t", "T")).astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRange(f"{name} is not a valid date-time") from None


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone of that name (the browser's), or None when there is no such zone."""
    if not name or len(name) > 64 or not _ZONE.fullmatch(name) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def parse_local(text: str) -> datetime | None:
    """A ``datetime-local`` value ("2024-05-01T08:00"), naive; None when it is not one."""
    text = text.strip()
    if not _LOCAL.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None


def local_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """A wall time in ``tz`` as a UTC instant (the first of two in a repeated hour; a time
    skipped by a clock change moves forward by the change, as a phone's alarm does)."""
    try:
        return wall.replace(tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise BadRange("that date is out of range") from None


def local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    """The start of ``now``'s day in ``tz``, as a UTC instant."""
    local = now.astimezone(tz)
    return local_instant(local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None), tz)


def resolve(start: datetime | None, end: datetime | None, now: datetime) -> TimeRange:
    """The range asked for, defaults filled in (until now; from 24 h before the end), checked:
    the start before the end, at most MAX_RANGE long."""
    end = end if end is not None else now
    start = start if start is not None else end - timedelta(days=1)
    if start >= end:
        raise BadRange("from must be before to")
    if end - start > MAX_RANGE:
        length = _days(end - start)
        length = f"just over {length}" if length == _days(MAX_RANGE) else length
        raise BadRange(f"the range is {length} long; ask for at most {_days(MAX_RANGE)} at a time")
    return TimeRange(start, end)


def _days(span: timedelta) -> str:
    text = f"{span.total_seconds() / 86400:.1f}".removesuffix(".0")
    return "1 day" if text == "1" else f"{text} days"


def rfc3339(moment: datetime) -> str:
    """UTC with a Z, as exact as the instant: seconds, milliseconds or microseconds."""
    moment = moment.astimezone(UTC)
    spec = "microseconds" if moment.microsecond % 1000 else "milliseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")
