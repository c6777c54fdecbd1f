"""What a caller of the analytics API asks for, read and checked (pure): the range, the zone,
the area, the class, the hour of week. Every refusal is a BadRequest with a sentence that says
what to send instead (problem+json 400 in the API).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hexfleet.analytics import area
from hexfleet.errors import DomainError
from hexfleet.geo import parse_bbox
from hexfleet.rides.fares import VEHICLE_CLASSES
from hexfleet.tracking import timerange

# A year and a month: this year against the last, month by month, in one request. Longer
# ranges are read from day rows and stay fast, but nobody needs them in one answer.
MAX_RANGE = timedelta(days=400)
DEFAULT_RANGE = timedelta(days=7)
# Hour buckets: at most this long a range (9,600 points at 400 days would be a chart of noise).
MAX_HOUR_BUCKETS_RANGE = timedelta(days=31)
HOURS_OF_WEEK = 168
# Dates a fleet's history can have: far from datetime's limits, so a range and the one
# before it can always be worked out and shown in any zone.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2199
HOUR = timedelta(hours=1)


class BadRequest(DomainError):
    status = 400
    code = "bad-request"
    title = "Bad request"


@dataclass(frozen=True)
class Range:
    """The hours asked for: [start, end) on whole UTC hours (every hour that overlaps the
    instants asked for, so "today until now" includes the hour under way)."""

    start: datetime
    end: datetime

    @property
    def previous(self) -> Range:
        """The same length just before it: what the KPI cards compare with."""
        return Range(self.start - (self.end - self.start), self.start)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    floored = floor_hour(moment)
    return floored if floored == moment else floored + HOUR


def parse_range(start_text: str | None, end_text: str | None, now: datetime) -> Range:
    """``from``/``to`` as RFC 3339 instants with an offset (default: the 7 days until now),
    widened to whole hours; at most MAX_RANGE long, ``from`` before ``to``."""
    try:
        end = timerange.parse_instant(end_text, "to") if end_text else now
        start = timerange.parse_instant(start_text, "from") if start_text else None
    except timerange.BadRange as error:
        raise BadRequest(error.detail, code="bad-range") from None
    if not all(EARLIEST_YEAR <= t.year <= LATEST_YEAR for t in (end, start or end)):
        raise BadRequest(f"dates must lie between {EARLIEST_YEAR} and {LATEST_YEAR}", code="bad-range")
    start = start or end - DEFAULT_RANGE
    if start >= end:
        raise BadRequest("from must be before to", code="bad-range")
    if end - start > MAX_RANGE:
        raise BadRequest(
            f"the range is {(end - start).days} days long; ask for at most {MAX_RANGE.days} days at a time",
            code="bad-range",
        )
    return Range(floor_hour(start), ceil_hour(end))


def parse_zone(name: str | None) -> str:
    """An IANA zone name (default UTC) that this server knows."""
    if not name:
        return "UTC"
    if timerange.zone(name) is None:
        raise BadRequest(
            f"tz must be an IANA time zone name such as Europe/Berlin; {name[:64]!r} is not one", code="bad-tz"
        )
    return name


def parse_bucket(text: str | None) -> str:
    bucket = text or "day"
    if bucket not in ("hour", "day"):
        raise BadRequest("bucket must be hour or day", code="bad-bucket")
    return bucket


def check_bucket_range(bucket: str, span: Range) -> None:
    if bucket == "hour" and span.end - span.start > MAX_HOUR_BUCKETS_RANGE:
        raise BadRequest(
            f"hour buckets cover at most {MAX_HOUR_BUCKETS_RANGE.days} days: use bucket=day", code="bad-bucket"
        )


def parse_class(text: str | None) -> str | None:
    if not text:
        return None
    if text not in VEHICLE_CLASSES:
        raise BadRequest(f"vehicle_class must be one of {', '.join(VEHICLE_CLASSES)}", code="bad-vehicle-class")
    return text


def parse_cells(text: str | None) -> set[int] | None:
    """The resolution-7 cells of a ``bbox`` (minLng,minLat,maxLng,maxLat); None for the whole fleet."""
    if not text:
        return None
    try:
        return area.cells_in_bbox(parse_bbox(text))
    except area.AreaTooLarge as error:
        raise BadRequest(str(error), code="bbox-too-large") from None
    except ValueError as error:
        raise BadRequest(str(error), code="bad-bbox") from None


def parse_choice(text: str | None, name: str, choices: tuple[str, ...], default: str) -> str:
    value = text or default
    if value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)}", code=f"bad-{name}")
    return value


def parse_hour_of_week(text: str | None) -> int | None:
    """0 (Monday 00:00–01:00 in ``tz``) … 167 (Sunday 23:00–24:00); None: every hour."""
    if text is None or text == "":
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and int(text) < HOURS_OF_WEEK):
        raise BadRequest("how (hour of week) must be a whole number from 0 (Monday 00:00) to 167", code="bad-how")
    return int(text)


def parse_weeks(text: str | None, default: int, most: int) -> int:
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 2 and 1 <= int(text) <= most):
        raise BadRequest(f"weeks must be a whole number from 1 to {most}", code="bad-weeks")
    return int(text)


def hour_of_week(moment: datetime, tz: str) -> int:
    local = moment.astimezone(ZoneInfo(tz))
    return local.weekday() * 24 + local.hour


def hours_of_week(span: Range, how: int, tz: str) -> list[datetime]:
    """The UTC hours of the range whose start falls in hour of week ``how`` in ``tz``."""
    out, at = [], span.start
    while at < span.end:
        if hour_of_week(at, tz) == how:
            out.append(at)
        at += HOUR
    return out


def buckets(span: Range, bucket: str, tz: str) -> list[datetime]:
    """Every bucket start of the range as the series reads it (each UTC hour belongs to the
    hour or day of ``tz`` its start falls in), oldest first: charts get a point for every
    bucket, empty ones too."""
    zone = ZoneInfo(tz)
    seen: dict[datetime, None] = {}
    at = span.start
    while at < span.end:
        local = at.astimezone(zone)
        if bucket == "day":
            local = local.replace(hour=0, minute=0, second=0, microsecond=0)
        else:
            local = local.replace(minute=0, second=0, microsecond=0)
        seen[local.astimezone(UTC)] = None
        at += HOUR
    return list(seen)
