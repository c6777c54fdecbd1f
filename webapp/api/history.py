"""JSON API: a driver's stored history for replay, and the same as GPX or CSV files.

The three routes take the same range (``from``/``to``, RFC 3339, at most 7 days; at most
50,000 fixes, the first ones, with ``truncated`` saying so) and read it once through
``hexfleet.tracking.history``. The page /history (webapp/pages/history.py) draws the JSON.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
from pydantic import BaseModel, Field
from quart import Blueprint, Response, current_app
from quart_schema import document_response, tag, validate_querystring

from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.queries import Driver
from hexfleet.tracking import exports, history, replay, timerange
from webapp.auth import STAFF, require_user, role_required
from webapp.limits import limiter

bp = Blueprint("history_api", __name__, url_prefix="/api/v1")

# History is where a driver was: never kept by a browser cache or a proxy.
NO_STORE = {"Cache-Control": "no-store"}


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


class StopOut(BaseModel):
    first: int = Field(description="index in `track` of its first fix")
    last: int = Field(description="index in `track` of its last fix")
    start: float = Field(description="epoch seconds")
    end: float = Field(description="epoch seconds")
    duration_s: float
    lat: float = Field(description="mean position of its fixes")
    lng: float


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


async def _read(driver_id: int, query: HistoryQuery) -> tuple[Driver, timerange.TimeRange, replay.Replay, bool]:
    """The driver (404 when unknown), the range (400 when bad) and its replay."""
    user = await require_user(*STAFF)
    await limiter().enforce("history", str(user.id), what="history requests")
    now = datetime.now(UTC)
    start = timerange.parse_instant(query.start, "from") if query.start is not None else None
    end = timerange.parse_instant(query.end, "to") if query.end is not None else None
    span = timerange.resolve(start, end, now)
    async with current_app.extensions["db"].acquire() as conn:
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
    body = {
        "driver": {"id": driver.id, "name": driver.name, "vehicle_plate": driver.vehicle_plate},
        "from": timerange.rfc3339(span.start),
        "to": timerange.rfc3339(span.end),
        "limit": timerange.MAX_FIXES,
        "truncated": truncated,
        **replay.to_json(result),
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
    course in Garmin's TrackPointExtension, stops and flagged fixes as typed waypoints."""
    driver, span, result, truncated = await _read(driver_id, query_args)
    body = await asyncio.to_thread(
        exports.to_gpx, result, driver.name, span.start.timestamp(), span.end.timestamp(), truncated
    )
    headers = {"Content-Type": "application/gpx+xml", **_attachment(driver, span, "gpx", truncated)}
    return Response(body, 200, headers)


@bp.get("/drivers/<int:driver_id>/history.csv")
@tag(["dispatch"])
@role_required(*STAFF)
@validate_querystring(HistoryQuery)
async def driver_history_csv(driver_id: int, query_args: HistoryQuery):
    """The same range as CSV: every fix (flagged ones marked), times in ISO 8601 UTC."""
    driver, span, result, truncated = await _read(driver_id, query_args)
    body = await asyncio.to_thread(exports.to_csv, result)
    headers = {"Content-Type": "text/csv; charset=utf-8", **_attachment(driver, span, "csv", truncated)}
    return Response(body, 200, headers)
