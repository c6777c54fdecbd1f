"""What the analytics API reads from a request (hexfleet/analytics/params.py), by tables.
Instants are built from now; the zone rules use days relative to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hexfleet.analytics import params
from hexfleet.analytics.params import BadRequest, Range

NOW = datetime.now(UTC).replace(second=12, microsecond=0)
HOUR = timedelta(hours=1)


def iso(moment: datetime, offset: str = "Z") -> str:
    if offset == "Z":
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sign = 1 if offset[0] == "+" else -1
    delta = sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
    return (moment.astimezone(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S") + offset


def test_a_range_covers_every_hour_it_overlaps():
    hour = NOW.replace(minute=0, second=0)
    span = params.parse_range(iso(hour - 2 * HOUR + timedelta(minutes=30)), iso(NOW), NOW)
    assert span == Range(hour - 2 * HOUR, hour + HOUR)  # the hour under way is in
    assert span.previous == Range(hour - 5 * HOUR, hour - 2 * HOUR)
    # The same instant with another offset is the same range.
    assert params.parse_range(iso(hour - 2 * HOUR, "+05:30"), iso(hour, "-03:00"), NOW) == Range(hour - 2 * HOUR, hour)
    # Defaults: the 7 days until now.
    assert params.parse_range(None, None, NOW) == Range(hour - timedelta(days=7), hour + HOUR)


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        (iso(NOW - HOUR)[:-1], None, "from must be an RFC 3339 date-time with an offset"),
        (None, iso(NOW)[:-1], "to must be an RFC 3339 date-time with an offset"),
        (iso(NOW)[:10], None, "with an offset"),
        ("yesterday", None, "with an offset"),
        (iso(NOW), iso(NOW - HOUR), "from must be before to"),
        (iso(NOW), iso(NOW), "from must be before to"),
        (iso(NOW - timedelta(days=401)), iso(NOW), "ask for at most 400 days"),
        ("0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z", "between 2000 and 2199"),
        ("9999-12-31T00:00:00Z", "9999-12-31T23:59:59Z", "between 2000 and 2199"),
        (iso(NOW).replace("T", "T25:"), None, "with an offset"),
    ],
)
def test_bad_ranges_say_what_to_send(start, end, words):
    with pytest.raises(BadRequest) as caught:
        params.parse_range(start, end, NOW)
    assert caught.value.status == 400 and caught.value.code == "bad-range"
    assert words in caught.value.detail


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: params.parse_zone("Mars/Olympus"), "bad-tz"),
        (lambda: params.parse_zone("../etc/passwd"), "bad-tz"),
        (lambda: params.parse_bucket("week"), "bad-bucket"),
        (lambda: params.check_bucket_range("hour", Range(NOW - timedelta(days=32), NOW)), "bad-bucket"),
        (lambda: params.parse_class("limousine"), "bad-vehicle-class"),
        (lambda: params.parse_cells("13.3,52.4,13.5"), "bad-bbox"),
        (lambda: params.parse_cells("13.3,52.6,13.5,52.4"), "bad-bbox"),
        (lambda: params.parse_cells("nan,52.4,13.5,52.6"), "bad-bbox"),
        (lambda: params.parse_cells("-180,-90,180,90"), "bbox-too-large"),
        (lambda: params.parse_choice("speed", "metric", ("demand",), "demand"), "bad-metric"),
        (lambda: params.parse_hour_of_week("168"), "bad-how"),
        (lambda: params.parse_hour_of_week("-1"), "bad-how"),
        (lambda: params.parse_hour_of_week("١٢"), "bad-how"),
        (lambda: params.parse_weeks("0", 4, 12), "bad-weeks"),
        (lambda: params.parse_weeks("13", 4, 12), "bad-weeks"),
    ],
)
def test_bad_parameters(call, code):
    with pytest.raises(BadRequest) as caught:
        call()
    assert caught.value.code == code and caught.value.status == 400


def test_good_parameters():
    assert params.parse_zone(None) == "UTC" and params.parse_zone("Asia/Kolkata") == "Asia/Kolkata"
    assert params.parse_bucket(None) == "day" and params.parse_class(None) is None
    assert params.parse_class("xl") == "xl" and params.parse_hour_of_week("0") == 0
    assert params.parse_hour_of_week("167") == 167 and params.parse_weeks(None, 4, 12) == 4
    cells = params.parse_cells("13.3,52.4,13.5,52.6")
    assert cells and 20 < len(cells) < 200
    assert params.parse_cells(None) is None


def _midnight(days_ago: int, tz: str) -> datetime:
    local = (NOW - timedelta(days=days_ago)).astimezone(ZoneInfo(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns"])
def test_day_buckets_start_at_local_midnight(tz):
    span = Range(_midnight(10, tz).replace(minute=0), _midnight(3, tz))
    span = Range(params.floor_hour(span.start), params.ceil_hour(span.end))
    days = params.buckets(span, "day", tz)
    assert all(d.astimezone(ZoneInfo(tz)).hour == 0 for d in days[1:])
    assert len(days) in (7, 8)
    hours = params.buckets(Range(span.start, span.start + 5 * HOUR), "hour", tz)
    assert len(hours) == 5


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/New_York"])
def test_hours_of_week_are_that_local_hour_each_week(tz):
    span = Range(params.floor_hour(NOW - timedelta(days=28)), params.floor_hour(NOW))
    for how in (0, 8, 100, 167):
        found = params.hours_of_week(span, how, tz)
        assert len(found) in (4, 5)  # once a week (a clock change may move one)
        assert all(params.hour_of_week(h, tz) == how for h in found)
