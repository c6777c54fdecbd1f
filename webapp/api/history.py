"""JSON API: a driver's stored history for replay, and the same as GPX or CSV files.

The three routes take the same range (``from``/``to``, RFC 3339, at most 7 days; at most
50,000 fixes, the first ones, with ``truncated`` saying so) and read it once through
``hexfleet.tracking.queries``. The page /history (webapp/pages/history.py) draws the JSON.

Places by name: each stop carries the nearest of the operator's places (or, with GEOCODER_URL,
the geocoder's address for the first MAX_GEOCODED_STOPS stops no place is near), and the CSV
names the place of every fix from this process's index in memory (never the geocoder: a day
is 43,200 fixes).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
from pydantic import BaseModel, Field
from quart import Blueprint, Response
from quart_schema import document_response, tag, validate_querystring

from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.queries import Driver
from hexfleet.places.labels import Label
from hexfleet.tracking import exports, replay, timerange
from hexfleet.tracking import queries as history
from hexfleet.users.roles import STAFF
from webapp.auth import require_user, role_required
from webapp.limits import limiter
from webapp.services import label_points, services

bp = Blueprint("history_api", __name__, url_prefix="/api/v1")

# History is where a driver was: never kept by a browser cache or a proxy.
NO_STORE = {"Cache-Control": "no-store"}
# A week of a busy driver's stops is hundreds: the geocoder (often a shared, rate-limited
# service) is asked about this many of them per request at most; the rest keep coordinates.
MAX_GEOCODED_STOPS = 25


class HistoryQuery(BaseModel):
    start: str | None = Field(
        default=None,
        alias="from",
        description="RFC 3339 date-time with an offset (2024-05-01T08:00:00+02:00); default: 24 hours before `to`",
    )
    end: str | None = Field(default=None, alias="to", description="RFC 3339 date-time with an offset; default: now")


class DriverRef(BaseModel):
    id: int
    name: str
    vehicle_plate: str | None


class LabelOut(BaseModel):
    name: str = Field(description="the place's name, or the geocoder's address")
    category: str | None = Field(description="the place's category; null for an address")
    distance_m: int | None = Field(description="from the stop to the place; null for an address")
    text: str = Field(description='what to show: "Alexanderplatz, 60 m" (the name alone within 25 m)')
    source: str = Field(description="place, or geocoder")


class StopOut(BaseModel):
    first: int = Field(description="index in `track` of its first fix")
    last: int = Field(description="index in `track` of its last fix")
    start: float = Field(description="epoch seconds")
    end: float = Field(description="epoch seconds")
    duration_s: float
    lat: float = Field(description="mean position of its fixes")
    lng: float
    label: LabelOut | None = Field(
        description="the nearest active place within PLACE_LABEL_RADIUS_M, else the geocoder's address; "
        "null when neither names it"
    )


class BandOut(BaseModel):
    band: int
    label: str
    below_kmh: float | None = Field(description="upper bound; null for the last band")


class SummaryOut(BaseModel):
    fixes: int = Field(description="fixes on the track")
    flagged: int = Field(description="fixes kept apart (implausible jumps, poor accuracy)")
    distance_m: float = Field(description="driven: GPS wobble while stopped is left out")
    duration_s: float = Field(description="first to last fix of the track")
    moving_s: float
    stopped_s: float
    max_speed_mps: float | None
    avg_speed_mps: float | None = Field(description="distance over moving time")
    stops: int


class HistoryOut(BaseModel):
    driver: DriverRef
    start: str = Field(alias="from", description="the range read, RFC 3339 UTC (inclusive)")
    end: str = Field(alias="to", description="exclusive")
    limit: int = Field(description="most fixes one answer holds")
    truncated: bool = Field(description="true: the range holds more; these are the first `limit`")
    columns: list[str] = Field(description='what each row holds: ["t", "lat", "lng", "speed_mps", ...]')
    track: list[list[float | str | None]] = Field(
        description="fixes on the track, oldest first: t in epoch seconds; speed_mps reported by the phone, "
        "else derived from the previous fix; flag null or out-of-order (a late fix, in its place)"
    )
    flagged: list[list[float | str | None]] = Field(description="fixes kept off the track, rows like `track`")
    stops: list[StopOut] = Field(description="at least 2 minutes within 50 m")
    segments: list[list[int]] = Field(
        description="[first, last, band]: track fixes first..last drawn in one speed band (-1: a gap over 5 min)"
    )
    bands: list[BandOut]
    summary: SummaryOut


def _place_finder():
    """The nearest active place within the label radius of a point, from this process's index in
    memory. The index is immutable (a change of places builds a new one), so the function may
    run in a thread beside the export."""
    labels = services().places
    labels.nearest(0.0, 0.0)  # a lookup reloads an index past its refresh period, in the background
    return labels.index.nearest


async def _stop_labels(stops: list[replay.Stop]) -> list[Label | None]:
    """Each stop's place; the geocoder's address for the first MAX_GEOCODED_STOPS no place is near."""
    nearest = _place_finder()
    labels = [nearest(stop.lat, stop.lng) for stop in stops]
    unnamed = [i for i, label in enumerate(labels) if label is None][:MAX_GEOCODED_STOPS]
    if unnamed:
        found = await label_points([(stops[i].lat, stops[i].lng) for i in unnamed])
        for i, label in zip(unnamed, found, strict=True):
            labels[i] = label
    return labels


async def _read(driver_id: int, query: HistoryQuery) -> tuple[Driver, timerange.TimeRange, replay.Replay, bool]:
    """The driver (404 when unknown), the range (400 when bad) and its replay."""
    user = await require_user(*STAFF)
    await limiter().enforce("history", str(user.id), what="history requests")
    now = datetime.now(UTC)
    start = timerange.parse_instant(query.start, "from") if query.start is not None else None
    end = timerange.parse_instant(query.end, "to") if query.end is not None else None
    span = timerange.resolve(start, end, now)
    async with services().db.acquire() as conn:
        driver = await driver_queries.get_driver(conn, driver_id)
        fixes, truncated = await history.fixes_between(conn, driver_id, span.start, span.end)
    # Tens of milliseconds of pure Python for a day of fixes: off the event loop.
    result = await asyncio.to_thread(replay.analyse, fixes)
    return driver, span, result, truncated


@bp.get("/drivers/<int:driver_id>/history")
@tag(["dispatch"])
@role_required(*STAFF)
@validate_querystring(HistoryQuery)
@document_response(HistoryOut, 200)
async def driver_history(driver_id: int, query_args: HistoryQuery):
    """A driver's stored fixes between `from` and `to`, with stops, speeds and a summary.

    At most 7 days (400 otherwise, as for a time without an offset or `from` not before
    `to`) and 50,000 fixes (the first ones; `truncated` is then true). Flagged fixes
    (implausible jumps, poor accuracy) come apart from the track. 404 for an unknown driver.
    """
    driver, span, result, truncated = await _read(driver_id, query_args)
    replayed = replay.to_json(result)
    for stop, label in zip(replayed["stops"], await _stop_labels(result.stops), strict=True):
        stop["label"] = label.to_json() if label else None
    body = {
        "driver": {"id": driver.id, "name": driver.name, "vehicle_plate": driver.vehicle_plate},
        "from": timerange.rfc3339(span.start),
        "to": timerange.rfc3339(span.end),
        "limit": timerange.MAX_FIXES,
        "truncated": truncated,
        **replayed,
    }
    # orjson: a day of fixes is ~3 MB of JSON, written 5x faster than by the stdlib.
    return Response(orjson.dumps(body), 200, {"Content-Type": "application/json", **NO_STORE})


def _attachment(driver: Driver, span: timerange.TimeRange, suffix: str, truncated: bool) -> dict[str, str]:
    name = exports.safe_filename(driver.id, driver.name, span.start.timestamp(), suffix)
    headers = {"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE}
    if truncated:
        headers["X-Hexfleet-Truncated"] = f"only the first {timerange.MAX_FIXES} fixes of the range"
    return headers


@bp.get("/drivers/<int:driver_id>/history.gpx")
@tag(["dispatch"])
@role_required(*STAFF)
@validate_querystring(HistoryQuery)
async def driver_history_gpx(driver_id: int, query_args: HistoryQuery):
    """The same range as a GPX 1.1 file: the track (a new segment after a gap), speed and
    course in Garmin's TrackPointExtension, stops (named by their place: "Stop, 5 min:
    Alexanderplatz, 60 m") and flagged fixes as typed waypoints."""
    driver, span, result, truncated = await _read(driver_id, query_args)
    names = [label.text if label else None for label in await _stop_labels(result.stops)]
    body = await asyncio.to_thread(
        exports.to_gpx, result, driver.name, span.start.timestamp(), span.end.timestamp(), truncated, names
    )
    headers = {"Content-Type": "application/gpx+xml", **_attachment(driver, span, "gpx", truncated)}
    return Response(body, 200, headers)


@bp.get("/drivers/<int:driver_id>/history.csv")
@tag(["dispatch"])
@role_required(*STAFF)
@validate_querystring(HistoryQuery)
async def driver_history_csv(driver_id: int, query_args: HistoryQuery):
    """The same range as CSV: every fix (flagged ones marked), times in ISO 8601 UTC, and the
    nearest place within PLACE_LABEL_RADIUS_M of each (`place`, `place_distance_m`; empty when
    none is near; a name a spreadsheet would run as a formula starts with a quote)."""
    driver, span, result, truncated = await _read(driver_id, query_args)
    body = await asyncio.to_thread(exports.to_csv, result, _place_finder())
    headers = {"Content-Type": "text/csv; charset=utf-8", **_attachment(driver, span, "csv", truncated)}
    return Response(body, 200, headers)
