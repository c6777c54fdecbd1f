"""JSON API: drivers, their live state, nearby search, trails and duty status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field, RootModel
from quart import Blueprint
from quart_schema import (
    document_headers,
    document_request,
    document_response,
    tag,
    validate_querystring,
    validate_request,
)

from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.duty import DutyStatus
from hexfleet.errors import Invalid
from hexfleet.tracking import fleet
from hexfleet.tracking import queries as history
from hexfleet.users.roles import STAFF
from webapp.auth import driver_required, require_driver, role_required
from webapp.services import change_duty, services

bp = Blueprint("drivers_api", __name__, url_prefix="/api/v1")


class PingIn(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    ts: float | str = Field(description="RFC 3339 with offset, or epoch seconds")
    speed_mps: float | None = None
    heading: float | None = Field(default=None, description="degrees clockwise from north")
    accuracy_m: float | None = None
    battery: float | None = Field(default=None, ge=0, le=100, description="percent")
    id: str | None = Field(default=None, max_length=64, description="client ping id, for idempotent retries")


class PingBatchIn(BaseModel):
    pings: list[PingIn] = Field(max_length=500)


class PingBody(RootModel[PingIn | PingBatchIn]):
    """One ping, or {"pings": [...]}."""


class Rejection(BaseModel):
    index: int
    error: str


class IngestResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[Rejection]


class DeviceAuthHeader(BaseModel):
    authorization: str = Field(description="Bearer <driver device token>")


@bp.post("/driver/pings")
@tag(["driver app"])
@document_headers(DeviceAuthHeader)
@document_request(PingBody)
@document_response(IngestResult, 202)
async def post_pings():
    """Send one ping or a batch of up to 500 (served by the raw ASGI fast path).

    The driver is taken from the Bearer device token. 202 with counts; one bad item in a
    batch is listed under `rejected` without dropping the others. Malformed JSON 400,
    single invalid ping 422, unknown token 401, body too large 413, and 429 with Retry-After
    for too many pings (RATE_INGEST) or too many failed device sign-ins from this address
    (RATE_DEVICE_AUTH; then even a right token waits) (problem+json).
    """
    # Only reached when the fast path is not installed (it answers this route first).
    raise Invalid("ingest is not running in this process", code="ingest-unavailable", status=503)


class StatusIn(BaseModel):
    status: Literal[DutyStatus.AVAILABLE, DutyStatus.OFF_DUTY]


class DispatcherStatusIn(BaseModel):
    status: DutyStatus


class DutyOut(BaseModel):
    driver_id: int
    status: DutyStatus
    waiting_for_gps: bool = Field(
        description="available, but no fresh position comes from the driver's phone: offered no ride, and not "
        "counted as available, until one does"
    )


@bp.post("/driver/status")
@tag(["driver app"])
@document_headers(DeviceAuthHeader)
@driver_required
@validate_request(StatusIn)
@document_response(DutyOut, 200)
async def post_driver_status(data: StatusIn):
    """The driver app sets its own duty status (busy comes only with a ride). Going available
    without a fresh position is allowed and answered with `waiting_for_gps: true`."""
    return await change_duty(await require_driver(), data.status)


@bp.post("/drivers/<int:driver_id>/status")
@tag(["dispatch"])
@role_required(*STAFF)
@validate_request(DispatcherStatusIn)
@document_response(DutyOut, 200)
async def post_status_for_driver(driver_id: int, data: DispatcherStatusIn):
    """A dispatcher sets a driver's duty status (`waiting_for_gps` as for the driver app)."""
    return await change_duty(driver_id, data.status)


@bp.get("/drivers")
@tag(["dispatch"])
@role_required(*STAFF)
async def list_drivers():
    """Every driver with duty status, last position, last seen and the stale flag, plus fleet counts."""
    svc = services()
    snapshot = await fleet.fleet_snapshot(svc.db, svc.redis, svc.settings)
    return {"drivers": [v.to_json() for v in snapshot.drivers], "counts": snapshot.counts}


class NearbyQuery(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    radius_m: float = Field(default=2000, gt=0)
    limit: int = Field(default=10, ge=1, le=100)


@bp.get("/drivers/nearby")
@tag(["dispatch"])
@role_required(*STAFF)
@validate_querystring(NearbyQuery)
async def nearby(query_args: NearbyQuery):
    """Online, available drivers within radius_m of a point, nearest first (H3 index, exact distance)."""
    svc = services()
    settings = svc.settings
    if query_args.radius_m > settings.nearby_max_radius_m:
        raise Invalid(f"radius_m must be at most {settings.nearby_max_radius_m:g}", code="radius-too-large")
    found = await fleet.nearby(
        svc.db, svc.redis, settings, query_args.lat, query_args.lng, query_args.radius_m, query_args.limit
    )
    return {
        "drivers": [
            {
                "id": d.id,
                "name": d.name,
                "vehicle_plate": d.vehicle_plate,
                "lat": d.lat,
                "lng": d.lng,
                "distance_m": d.distance_m,
                "last_seen": d.last_seen.isoformat().replace("+00:00", "Z"),
                "speed_mps": d.speed_mps,
                "heading": d.heading,
            }
            for d in found
        ]
    }


@bp.get("/drivers/<int:driver_id>")
@tag(["dispatch"])
@role_required(*STAFF)
async def get_driver(driver_id: int):
    svc = services()
    view = await fleet.get_driver_view(svc.db, svc.redis, svc.settings, driver_id)
    return view.to_json()


class TrailQuery(BaseModel):
    minutes: float = Field(default=10, gt=0, le=24 * 60)


@bp.get("/drivers/<int:driver_id>/trail")
@tag(["dispatch"])
@role_required(*STAFF)
@validate_querystring(TrailQuery)
async def trail(driver_id: int, query_args: TrailQuery):
    """The driver's positions over the last `minutes`, oldest first."""
    since = datetime.now(UTC) - timedelta(minutes=query_args.minutes)
    async with services().db.acquire() as conn:
        await driver_queries.get_driver(conn, driver_id)  # 404 for unknown drivers
        points = await history.trail(conn, driver_id, since)
    return {
        "driver_id": driver_id,
        "points": [{"lat": lat, "lng": lng, "ts": ts.isoformat().replace("+00:00", "Z")} for lat, lng, ts in points],
    }
