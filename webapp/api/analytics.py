"""JSON API: operations analytics from the rollups, for dispatchers and admins (and their API
tokens). Every route also answers as a CSV file (``summary.csv``, ...).

- ``/analytics/summary``: the KPIs over a range, and the same range before it (``previous``);
- ``/analytics/series``: one metric per hour or per day of the caller's zone;
- ``/analytics/cells``: supply and demand per resolution-7 cell, with outlines, optionally for
  one hour of the week;
- ``/analytics/drivers``: per driver;
- ``/analytics/outlook``: where demand will be in the coming hour, against drivers there now.

The answers are built by ``hexfleet.analytics.reports`` (the bench measures the same code);
requests are read and checked by ``hexfleet.analytics.params``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response
from quart_schema import document_response, tag, validate_querystring

from hexfleet.analytics import exports, metrics, outlook, params, reports
from hexfleet.users.roles import STAFF
from webapp.auth import require_hidden, role_required
from webapp.limits import limiter
from webapp.problems import Problem
from webapp.services import services

bp = Blueprint("analytics_api", __name__, url_prefix="/api/v1/analytics")

NO_STORE = {"Cache-Control": "no-store"}


# What this module reaches of the web process: in one place, so it changes in one line.
def _pool():
    return services().db


def _live_store():
    return services().store


def _settings():
    return services().settings


# ---------------------------------------------------------------- queries

_FROM = "RFC 3339 date-time with an offset (2025-05-01T00:00:00+02:00); default: 7 days before `to`"
_TO = "RFC 3339 date-time with an offset; default: now. Every hour that overlaps [from, to) counts"
_TZ = "IANA time zone (Europe/Berlin) for day buckets, hours of week and file names; default UTC"
_BBOX = "minLng,minLat,maxLng,maxLat: only pickups in the resolution-7 cells under it"
_CLASS = "standard, comfort, xl or van; default: every class"


class RangeQuery(BaseModel):
    start: str | None = Field(default=None, alias="from", description=_FROM)
    end: str | None = Field(default=None, alias="to", description=_TO)
    tz: str | None = Field(default=None, description=_TZ)


class SummaryQuery(RangeQuery):
    vehicle_class: str | None = Field(default=None, description=_CLASS)
    bbox: str | None = Field(default=None, description=_BBOX)


class SeriesQuery(SummaryQuery):
    metric: str | None = Field(default=None, description=f"one of {', '.join(metrics.SERIES)}; default requests")
    bucket: str | None = Field(
        default=None, description=f"hour (ranges up to {params.MAX_HOUR_BUCKETS_RANGE.days} days) or day; default day"
    )


class CellsQuery(SummaryQuery):
    metric: str | None = Field(default=None, description=f"one of {', '.join(metrics.CELLS)}; default demand")
    how: str | None = Field(
        default=None,
        description="hour of week in `tz`, 0 (Monday 00:00–01:00) to 167 (Sunday 23:00): only those hours of the range",
    )


class OutlookQuery(BaseModel):
    weeks: str | None = Field(
        default=None, description=f"past weeks to learn from, 1 to {outlook.MAX_WEEKS}; default {outlook.WEEKS}"
    )


# ---------------------------------------------------------------- answers (for /docs)


class P50(BaseModel):
    p50: float | None


class P5090(P50):
    p90: float | None


class Cancelled(BaseModel):
    rider: int
    driver: int = Field(description="rides an assigned driver gave back (they search on)")
    dispatcher: int
    system: int
    before_assignment: int
    after_assignment: int
    total: int = Field(description="rider + dispatcher + system")


class Eta(BaseModel):
    n: int
    mae_s: float | None = Field(description="mean absolute error of the pickup ETA promised at assignment")
    bias_s: float | None = Field(description="mean of actual − promised (positive: late)")
    within_band: float | None = Field(description="share of arrivals within their promise's band")


class DriverHours(BaseModel):
    online: float
    available: float
    busy: float
    en_route: float
    on_trip: float


class Kpis(BaseModel):
    model_config = ConfigDict(extra="allow")

    start: str = Field(alias="from", description="the first hour counted, RFC 3339 UTC")
    end: str = Field(alias="to", description="the end of the last hour counted (exclusive)")
    requests: int
    requests_scheduled: int
    searches: int
    conversion: float | None
    assigned: int
    completed: int
    completion_rate: float | None
    cancelled: Cancelled
    no_driver: int
    offers_sent: int
    acceptance_rate: float | None
    response_time_s: P50
    time_to_assign_s: P5090
    pickup_wait_s: P5090
    eta: Eta
    revenue_minor: dict[str, int] = Field(description="currency → integer minor units, completed rides")
    fare_per_km_minor: dict[str, float | None]
    distance_km: float
    driver_hours: DriverHours
    utilisation: float | None
    surge_avg: float | None


class SummaryOut(Kpis):
    tz: str
    vehicle_class: str | None
    cells: int | None = Field(description="cells under the bbox; null: the whole fleet")
    previous: Kpis = Field(description="the same length of time just before")


class Point(BaseModel):
    t: str = Field(description="bucket start, RFC 3339 UTC")
    value: float | None = Field(description="0 for an empty bucket of a count, null for a rate or time")


class SeriesOut(BaseModel):
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    tz: str
    metric: str
    label: str
    unit: str = Field(description="count, share, s, h, minor (money: minor units of `currency`), ×")
    bucket: str
    vehicle_class: str | None
    currency: str | None = Field(description="revenue: the range's main currency; else null")
    points: list[Point]


class CellOut(BaseModel):
    cell: str = Field(description="H3 resolution-7 index")
    value: float | None = Field(description="the metric asked for")
    demand: int
    searches: int
    unmet: int
    supply_hours: float
    online_hours: float
    utilisation: float | None
    surge_avg: float | None
    outline: list[list[float]] = Field(description="[lat, lng] corners")


class CellsOut(BaseModel):
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    tz: str
    metric: str
    label: str
    unit: str
    vehicle_class: str | None
    how: int | None
    hours: int | None = Field(description="with `how`: how many hours of the range are that hour of week")
    cells: list[CellOut]


class DriverRow(BaseModel):
    id: int
    name: str | None = Field(description="null for a driver since deleted")
    hours: dict[str, float] = Field(description="online, available, en_route, on_trip")
    utilisation: float | None
    trips: int
    offers: int
    acceptance_rate: float | None
    released: int
    revenue_minor: dict[str, int]
    distance_km: float


class DriversOut(BaseModel):
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    drivers: list[DriverRow]


class OutlookCell(BaseModel):
    cell: str
    expected: float = Field(description="requests expected in the coming 60 minutes")
    available: int = Field(description="drivers available there now")
    capacity: float = Field(description="rides they can take in the hour")
    gap: float = Field(description="expected − capacity")
    short: bool = Field(description="short of drivers here")
    outline: list[list[float]]


class OutlookOut(BaseModel):
    at: str
    weeks: int
    weeks_known: int = Field(description="past weeks that were rolled up (the others are left out)")
    weights: list[float] = Field(description="of each past week, last week first")
    rides_per_driver_hour: float
    short_cells: int
    cells: list[OutlookCell]


class CsvHeaders(BaseModel):
    content_disposition: str = Field(alias="Content-Disposition", description='attachment; filename="….csv"')


class CsvFile(BaseModel):
    """A CSV file (text/csv; charset=utf-8), one row per key, bucket, cell or driver."""


# ---------------------------------------------------------------- reading a request


async def _caller() -> None:
    user = await require_hidden(*STAFF)
    await limiter().enforce("analytics", str(user.id), what="analytics requests")


def _common(query: RangeQuery) -> tuple[params.Range, str]:
    return params.parse_range(query.start, query.end, datetime.now(UTC)), params.parse_zone(query.tz)


async def _summary(query: SummaryQuery) -> tuple[dict, params.Range, str]:
    span, tz = _common(query)
    vehicle_class, cells = params.parse_class(query.vehicle_class), params.parse_cells(query.bbox)
    async with _pool().acquire() as conn:
        report = await reports.summary(conn, span, vehicle_class=vehicle_class, cells=cells, tz=tz)
    return report, span, tz


async def _series(query: SeriesQuery) -> tuple[dict, params.Range, str]:
    span, tz = _common(query)
    metric = params.parse_choice(query.metric, "metric", tuple(metrics.SERIES), "requests")
    bucket = params.parse_bucket(query.bucket)
    params.check_bucket_range(bucket, span)
    vehicle_class, cells = params.parse_class(query.vehicle_class), params.parse_cells(query.bbox)
    async with _pool().acquire() as conn:
        report = await reports.series(conn, span, metric, bucket, tz, vehicle_class=vehicle_class, cells=cells)
    return report, span, tz


async def _cells(query: CellsQuery) -> tuple[dict, params.Range, str]:
    span, tz = _common(query)
    metric = params.parse_choice(query.metric, "metric", tuple(metrics.CELLS), "demand")
    how = params.parse_hour_of_week(query.how)
    vehicle_class, cells = params.parse_class(query.vehicle_class), params.parse_cells(query.bbox)
    async with _pool().acquire() as conn:
        report = await reports.cells(conn, span, metric, tz, vehicle_class=vehicle_class, cells=cells, how=how)
    return report, span, tz


async def _drivers(query: RangeQuery) -> tuple[dict, params.Range, str]:
    span, tz = _common(query)
    async with _pool().acquire() as conn:
        report = await reports.drivers(conn, span)
    return report, span, tz


async def _outlook(query: OutlookQuery) -> dict:
    weeks = params.parse_weeks(query.weeks, outlook.WEEKS, outlook.MAX_WEEKS)
    # Available with a fix fresher than STALE_AFTER_S: the drivers dispatch would offer to now.
    available = await _live_store().indexed_cells(time.time() - _settings().stale_after_s)
    async with _pool().acquire() as conn:
        return await reports.demand_outlook(conn, available, datetime.now(UTC), weeks)


def _json(body: dict) -> Response:
    return Response(orjson.dumps(body), 200, {"Content-Type": "application/json", **NO_STORE})


def _csv(body: str, name: str) -> Response:
    headers = {"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, 200, {**headers, **NO_STORE})


Read = Callable[..., Awaitable[tuple[dict, params.Range, str]]]


async def _file(kind: str, read: Read, query, render: Callable[[dict], str]) -> Response:
    await _caller()
    report, span, tz = await read(query)
    return _csv(render(report), exports.filename(kind, span.start, span.end, tz))


def _errors(func):
    """Every error a read answers, for /docs."""
    for status in (400, 401, 404, 422, 429, 503):
        func = document_response(Problem, status)(func)
    return func


# ---------------------------------------------------------------- routes


@bp.get("/summary")
@tag(["analytics"])
@role_required(*STAFF, hidden=True)
@validate_querystring(SummaryQuery)
@document_response(SummaryOut, 200)
@_errors
async def summary(query_args: SummaryQuery):
    """The KPIs over the range (README: Analytics, the KPI table), and the same length of time
    just before it under `previous`. A rate with nothing to divide by is null. 400 for a time
    without an offset, a range over 400 days, an unknown zone, class or a bad bbox."""
    await _caller()
    report, _, _ = await _summary(query_args)
    return _json(report)


@bp.get("/summary.csv")
@tag(["analytics"])
@role_required(*STAFF, hidden=True)
@validate_querystring(SummaryQuery)
@document_response(CsvFile, 200, CsvHeaders)
@_errors
async def summary_csv(query_args: SummaryQuery):
    """The summary as a CSV file: kpi, value, previous (dotted keys: `time_to_assign_s.p50`)."""
    return await _file("summary", _summary, query_args, exports.summary_csv)


@bp.get("/series")
@tag(["analytics"])
@role_required(*STAFF, hidden=True)
@validate_querystring(SeriesQuery)
@document_response(SeriesOut, 200)
@_errors
async def series(query_args: SeriesQuery):
    """One metric per hour or per day as days run in `tz`, a point for every bucket of the
    range. The same definitions as the summary: a day's `pickup_wait_p90` is the p90 of that
    day's pickups, merged from its hours' histograms."""
    await _caller()
    report, _, _ = await _series(query_args)
    return _json(report)


@bp.get("/series.csv")
@tag(["analytics"])
@role_required(*STAFF, hidden=True)
@validate_querystring(SeriesQuery)
@document_response(CsvFile, 200, CsvHeaders)
@_errors
async def series_csv(query_args: SeriesQuery):
    """The series as a CSV file: bucket_start, value."""
    return await _file("series", _series, query_args, exports.series_csv)


@bp.get("/cells")
@tag(["analytics"])
@role_required(*STAFF, hidden=True)
@validate_querystring(CellsQuery)
@document_response(CellsOut, 200)
@_errors
async def cells(query_args: CellsQuery):
    """Supply and demand per H3 resolution-7 cell (requests, searches, unmet demand, driver
    hours available and online, utilisation, average surge), each with its outline; `value` is
    the chosen `metric`. With `how`, only the hours of the range at that hour of week in `tz`
    (the page's slider: every Monday 08:00–09:00 of the range)."""
    await _caller()
    report, _, _ = await _cells(query_args)
    return _json(report)


@bp.get("/cells.csv")
@tag(["analytics"])
@role_required(*STAFF, hidden=True)
@validate_querystring(CellsQuery)
@document_response(CsvFile, 200, CsvHeaders)
@_errors
async def cells_csv(query_args: CellsQuery):
    """The cells as a CSV file: cell, centre, every figure (no outlines)."""
    return await _file("cells", _cells, query_args, exports.cells_csv)


@bp.get("/drivers")
@tag(["analytics"])
@role_required(*STAFF, hidden=True)
@validate_querystring(RangeQuery)
@document_response(DriversOut, 200)
@_errors
async def drivers(query_args: RangeQuery):
    """Every driver with anything in the range: hours online, available, en route and on trip,
    utilisation, completed trips, offers and acceptance, rides given back, revenue, distance."""
    await _caller()
    report, _, _ = await _drivers(query_args)
    return _json(report)


@bp.get("/drivers.csv")
@tag(["analytics"])
@role_required(*STAFF, hidden=True)
@validate_querystring(RangeQuery)
@document_response(CsvFile, 200, CsvHeaders)
@_errors
async def drivers_csv(query_args: RangeQuery):
    """The drivers as a CSV file, a revenue column per currency."""
    return await _file("drivers", _drivers, query_args, exports.drivers_csv)


@bp.get("/outlook")
@tag(["analytics"])
@role_required(*STAFF, hidden=True)
@validate_querystring(OutlookQuery)
@document_response(OutlookOut, 200)
@_errors
async def demand_outlook(query_args: OutlookQuery):
    """Where demand will be: the requests expected per resolution-7 cell in the coming 60
    minutes (the same hour of week over the last `weeks` weeks, recent weeks weighted more)
    against the drivers available there now; `short` where they cannot take it (README:
    Analytics, Where demand will be). Shortest cells first."""
    await _caller()
    return _json(await _outlook(query_args))


@bp.get("/outlook.csv")
@tag(["analytics"])
@role_required(*STAFF, hidden=True)
@validate_querystring(OutlookQuery)
@document_response(CsvFile, 200, CsvHeaders)
@_errors
async def demand_outlook_csv(query_args: OutlookQuery):
    """The outlook as a CSV file."""
    await _caller()
    report = await _outlook(query_args)
    now = datetime.now(UTC)
    return _csv(exports.outlook_csv(report), exports.filename("outlook", now, now, "UTC"))
