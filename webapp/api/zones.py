"""JSON API: zones. Staff (dispatchers, admins) read them; admins add, edit, delete, import and
export them; riders and drivers get 404 (the admin API is not there for them), but anyone signed
in may ask whether a point is served (``/zones/service-area``: the rider page asks before a price).

A zone is ``{"id", "name", "kind", "geometry", "rules", "active", "color"}``; the geometry is
GeoJSON (Polygon, MultiPolygon) or a circle ``{"type": "Circle", "center": [lng, lat],
"radius_m": r}``. A bad one is a 422 naming what is wrong and where; nothing is half-saved; every
change is in the audit log and reaches every process's in-memory cover at once.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from pydantic import BaseModel, Field
from quart import Blueprint, Response, request
from quart_schema import document_response, tag, validate_querystring, validate_request

from hexfleet import audit
from hexfleet.errors import DomainError, Invalid
from hexfleet.users.roles import RIDERS, STAFF, Role
from hexfleet.zones import admin as zones_admin
from hexfleet.zones import geometry, queries, rules, transfer
from webapp.auth import require_hidden, require_user, role_required
from webapp.limits import limiter
from webapp.problems import Problem
from webapp.services import services, zones_changed

bp = Blueprint("zones_api", __name__, url_prefix="/api/v1/zones")
log = logging.getLogger("hexfleet.web")

SIGNED_IN = RIDERS  # everyone with an account: riders and staff
NO_STORE = {"Cache-Control": "no-store"}


class NoContent(BaseModel):
    """Nothing: the answer is a 204 without a body."""


class GeoJSONFile(BaseModel):
    """A GeoJSON FeatureCollection, as a file to download."""


class ZoneBody(BaseModel):
    name: str = Field(max_length=1000, description=f"1 to {rules.MAX_NAME} characters, unique (whatever the case)")
    kind: str = Field(max_length=40, description=", ".join(rules.KINDS))
    geometry: dict[str, Any] = Field(
        description="GeoJSON Polygon or MultiPolygon ([lng, lat], closed rings, holes after the outline, at most "
        f"{geometry.MAX_VERTICES} vertices), or a circle: "
        '{"type": "Circle", "center": [lng, lat], "radius_m": r}'
    )
    rules: dict[str, Any] | None = Field(
        default=None,
        description="the rules of its kind: service_area {allow_dropoff_outside}; airport {pickup_fee_minor, "
        "dropoff_fee_minor, fixed_fares: [{to_zone_id | from_zone_id, vehicle_class, amount_minor, no_surge}]}; "
        "restricted {wait_minutes}; custom {} (README, Zones)",
    )
    active: bool = Field(default=True, description="inactive zones are kept but do nothing")
    color: str | None = Field(default=None, max_length=40, description="#rrggbb; default: the kind's colour")


class ZoneOut(BaseModel):
    id: int
    name: str
    kind: str
    geometry: dict[str, Any]
    rules: dict[str, Any]
    active: bool
    color: str
    created_at: str = Field(description="RFC 3339")
    updated_at: str = Field(description="RFC 3339")


class ZonesOut(BaseModel):
    zones: list[ZoneOut]


class ImportOut(BaseModel):
    added: int
    updated: int = Field(description="zones of the same name (whatever the case) that changed")
    unchanged: int
    total: int


class FeatureProblem(BaseModel):
    feature: int | None = Field(default=None, description="the feature, from 1 (none: the file as a whole)")
    field: str | None
    error: str


class ImportProblem(Problem):
    errors: list[FeatureProblem] = Field(description="each problem (the first 100); nothing was saved")
    more_errors: int


class ZoneProblem(Problem):
    errors: dict[str, str] = Field(description="field → what is wrong (geometry, rules.fixed_fares[0].amount_minor)")


class PointQuery(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class ServedZone(BaseModel):
    id: int
    name: str


class ServiceAreaOut(BaseModel):
    served: bool = Field(description="a pickup here may be quoted (true when no service area is active)")
    service_areas: int = Field(description="active service areas (0: everywhere is served)")
    zone: ServedZone | None = Field(description="the service area holding the point (the first, by id)")


def _errors(*statuses: int):
    def decorate(func):
        for status in statuses:
            func = document_response(Problem, status)(func)
        return func

    return decorate


def _pool():
    return services().db


async def _staff():
    user = await require_hidden(*STAFF)
    await limiter().enforce("zones", str(user.id), what="zone requests")
    return user


async def _admin():
    user = await require_hidden(*STAFF)  # riders and drivers: 404, as for reads
    user = await require_user(Role.ADMIN)  # dispatchers: 403 (they see zones, they do not change them)
    await limiter().enforce("zones", str(user.id), what="zone requests")
    return user


def _actor(user) -> audit.Actor:
    return audit.Actor(user.email, user.id)


def _checked(body: ZoneBody, zone_id: int | None = None) -> rules.ZoneIn:
    zone, errors = rules.check_zone(body.model_dump(), zone_id)
    if zone is None:
        field, message = next(iter(errors.items()))
        error = Invalid(f"{field}: {message}", code="invalid-geometry" if field == "geometry" else "invalid-zone")
        error.extra = {"errors": errors}
        raise error
    return zone


@bp.get("")
@tag(["zones"])
@role_required(*STAFF, hidden=True)
@document_response(ZonesOut, 200)
@_errors(401, 404, 429, 503)
async def list_zones():
    """Every zone, active or not, by name (staff: the control room's zone layer, the editor)."""
    await _staff()
    async with _pool().acquire() as conn:
        zones = await queries.list_zones(conn)
    return {"zones": [z.to_json() for z in zones]}, 200, NO_STORE


@bp.post("")
@tag(["zones"])
@role_required(*STAFF, hidden=True)
@validate_request(ZoneBody)
@document_response(ZoneOut, 201)
@document_response(ZoneProblem, 422)
@_errors(400, 401, 403, 404, 409, 413, 429, 503)
async def create_zone(data: ZoneBody):
    """Add a zone (admins): 201 with its `id`. 422 naming each bad field (`errors`: a bad
    geometry says what is wrong and where), 409 when another zone has the name (whatever its
    case). Quotes use it at once."""
    user = await _admin()
    saved = await zones_admin.create(_pool(), _actor(user), _checked(data), zones_changed)
    log.info("admin %s added zone %s", user.id, saved.id)
    return saved.to_json(), 201


@bp.get("/<int:zone_id>")
@tag(["zones"])
@role_required(*STAFF, hidden=True)
@document_response(ZoneOut, 200)
@_errors(401, 404, 429, 503)
async def get_zone(zone_id: int):
    """One zone, active or not (staff)."""
    await _staff()
    async with _pool().acquire() as conn:
        zone = await queries.get_zone(conn, zone_id)
    return zone.to_json(), 200, NO_STORE


@bp.put("/<int:zone_id>")
@tag(["zones"])
@role_required(*STAFF, hidden=True)
@validate_request(ZoneBody)
@document_response(ZoneOut, 200)
@document_response(ZoneProblem, 422)
@_errors(400, 401, 403, 404, 409, 413, 429, 503)
async def put_zone(zone_id: int, data: ZoneBody):
    """Replace a zone's fields (admins); quotes made before keep their price."""
    user = await _admin()
    saved = await zones_admin.update(_pool(), _actor(user), zone_id, _checked(data, zone_id), zones_changed)
    return saved.to_json(), 200


@bp.delete("/<int:zone_id>")
@tag(["zones"])
@role_required(*STAFF, hidden=True)
@document_response(NoContent, 204)
@_errors(401, 403, 404, 429, 503)
async def delete_zone(zone_id: int):
    """Delete a zone (admins): 204. To keep it but switch it off, set `active` false instead.
    The audit log keeps what it was, geometry included."""
    user = await _admin()
    await zones_admin.delete(_pool(), _actor(user), zone_id, zones_changed)
    return "", 204


@bp.post("/import")
@tag(["zones"])
@role_required(*STAFF, hidden=True)
@document_response(ImportOut, 200)
@document_response(ImportProblem, 422)
@_errors(401, 403, 404, 409, 413, 415, 429, 503)
async def import_zones():
    """Add or update zones from a GeoJSON FeatureCollection (admins), all or nothing
    (`Content-Type: application/geo+json`): each Feature a zone, its geometry a Polygon, a
    MultiPolygon or a Point with a `radius_m` property (a circle), its properties `name`, `kind`,
    `rules`, `active`, `color` (`id` is ignored: zones are matched by name, whatever the case).
    At most 1,000 zones and 8 MB; one bad feature and nothing is saved: 422 lists each
    (`feature`, `field`, `error`). The export's file imports as it is."""
    user = await _admin()
    kind = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if kind not in transfer.GEOJSON_TYPES:
        raise DomainError(
            "send a GeoJSON FeatureCollection (Content-Type: application/geo+json)",
            code="unsupported-import-type",
            status=415,
        )
    zones = transfer.parse(await request.get_data(as_text=False))
    counts = await zones_admin.import_zones(_pool(), _actor(user), zones, "API (geojson)", zones_changed)
    log.info("admin %s imported %d zones", user.id, len(zones))
    return {**counts, "total": len(zones)}, 200


@bp.get("/export.geojson")
@tag(["zones"])
@role_required(*STAFF, hidden=True)
@document_response(GeoJSONFile, 200)
@_errors(401, 404, 429, 503)
async def export_geojson():
    """Every zone, active or not, as a GeoJSON FeatureCollection in the import's format (staff; a
    file to download). A circle is a Point with a `radius_m` property."""
    await _staff()
    async with _pool().acquire() as conn:
        zones = await queries.list_zones(conn)
    return Response(
        transfer.to_geojson(zones),
        200,
        {
            "Content-Type": "application/geo+json",
            "Content-Disposition": 'attachment; filename="zones.geojson"',
            **NO_STORE,
        },
    )


@bp.get("/service-area")
@tag(["zones"])
@role_required(*SIGNED_IN)
@validate_querystring(PointQuery)
@document_response(ServiceAreaOut, 200)
@_errors(400, 401, 403, 422, 429)
async def service_area(query_args: PointQuery):
    """Whether a pickup at `lat`,`lng` is served (anyone signed in: the rider page asks when a
    pickup is chosen, before a price). From memory, as quotes decide: a quote there would be
    refused with `outside-service-area` when `served` is false."""
    user = await require_user(*SIGNED_IN)
    await limiter().enforce("zones", str(user.id), what="zone requests")
    if not (math.isfinite(query_args.lat) and math.isfinite(query_args.lng)):
        raise Invalid("lat and lng must be numbers", code="bad-coordinates")
    index = services().zones.current()
    areas = [h for h in index.zones_at(query_args.lat, query_args.lng) if h.kind == "service_area"]
    served = not index.service_areas or bool(areas)
    zone = {"id": areas[0].id, "name": areas[0].name} if areas else None
    return {"served": served, "service_areas": index.service_areas, "zone": zone}, 200, NO_STORE
