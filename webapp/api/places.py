"""JSON API: places with names. Anyone signed in searches them (the booking forms' one search
box), and so does a driver signed in to the driver web app (its map shows places by name when
it has no tiles); admins add, edit, delete, import and export them.

Search answers the operator's places first (prefix and typo-tolerant, nearest to ``near`` first
within each kind of match) and, when GEOCODER_URL is set and fewer than ``limit`` places match,
the geocoder's addresses after them (``source: "geocoder"``, no id).
"""

from __future__ import annotations

import logging
from functools import wraps

from pydantic import BaseModel, Field
from quart import Blueprint, Response, request
from quart_schema import document_response, tag, validate_querystring, validate_request

from hexfleet import audit
from hexfleet.errors import Invalid
from hexfleet.geo import haversine_m
from hexfleet.places import admin as places_admin
from hexfleet.places import exports, imports, queries, ranking, rules
from hexfleet.places.geocoding import point
from hexfleet.users.queries import User
from hexfleet.users.roles import ROLES, Role
from webapp import driver_session
from webapp.auth import Forbidden, Unauthenticated, current_user, require_user, role_required
from webapp.geocoder import GeocoderFailed, within_rate
from webapp.limits import limiter
from webapp.problems import Problem
from webapp.services import places_changed, services

bp = Blueprint("places_api", __name__, url_prefix="/api/v1")
log = logging.getLogger("hexfleet.web")

SIGNED_IN = ROLES
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
GEOCODER_MIN_CHARS = 3
# Two results closer than this are one place (a geocoder answer for a place we list already).
SAME_PLACE_M = 50
NO_STORE = {"Cache-Control": "no-store"}


class PlaceBody(BaseModel):
    name: str = Field(max_length=1000, description=f"1 to {rules.MAX_NAME} characters, unique (whatever the case)")
    category: str = Field(max_length=40, description=", ".join(rules.CATEGORIES))
    address: str = Field(default="", max_length=2000, description=f"up to {rules.MAX_ADDRESS} characters")
    lat: float
    lng: float
    aliases: list[str] = Field(
        default_factory=list, max_length=100, description=f"other names it is searched by (at most {rules.MAX_ALIASES})"
    )
    active: bool = Field(default=True, description="inactive places are kept but neither searched nor used as labels")


class PlaceOut(BaseModel):
    id: int
    name: str
    category: str
    address: str
    lat: float
    lng: float
    aliases: list[str]
    active: bool
    created_at: str = Field(description="RFC 3339")
    updated_at: str = Field(description="RFC 3339")


class PlacesQuery(BaseModel):
    q: str = Field(default="", max_length=200, description="what was typed: a name, its start, or a close spelling")
    near: str | None = Field(
        default=None, max_length=80, description="lat,lng: nearest first, and distance_m from it (default MAP_CENTER)"
    )
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    all: str | None = Field(default=None, max_length=5, description="1: inactive places too (admins)")


class PlaceResult(BaseModel):
    id: int | None = Field(description="the place's id; null for a geocoder address")
    name: str
    category: str | None = Field(description="null for a geocoder address")
    address: str
    lat: float
    lng: float
    distance_m: int = Field(description="from near")
    aliases: list[str]
    active: bool
    source: str = Field(description="place, or geocoder")


class PlaceSearchOut(BaseModel):
    results: list[PlaceResult]
    geocoder: str = Field(
        description="off (no GEOCODER_URL), skipped (enough places, fewer than 3 characters, or a driver's search), "
        "used, "
        "failed (it did not answer: places only), busy (this account's geocoder searches for the minute are spent)"
    )


class ImportOut(BaseModel):
    added: int
    updated: int = Field(description="places of the same name (whatever the case) that changed")
    unchanged: int
    total: int


class RowProblem(BaseModel):
    line: int | None = Field(default=None, description="CSV: the line (the header is line 1)")
    feature: int | None = Field(default=None, description="GeoJSON: the feature, from 1")
    field: str | None
    error: str


class ImportProblem(Problem):
    errors: list[RowProblem] = Field(description="each bad row (the first 100); nothing was saved")
    more_errors: int


async def _user(*roles: str):
    user = await require_user(*roles)
    await limiter().enforce("places", str(user.id), what="place requests")
    return user


async def _searcher() -> User | None:
    """Who may search: a signed-in user (rate-limited per account), or, with no user, a driver
    signed in to /d (None; rate-limited per driver, and never sent to the geocoder: the driver's
    map only wants the places near it). 401 for anyone else."""
    if await current_user() is None:
        session = await driver_session.current_session()
        if session is not None:
            await limiter().enforce("places", f"driver:{session.driver_id}", what="place requests")
            return None
    return await _user(*SIGNED_IN)


def searchers_only(func):
    """Like role_required(*SIGNED_IN), drivers of the web app too: the caller is checked before
    the query string is validated."""

    @wraps(func)
    async def wrapper(*args, **kwargs):
        if await current_user() is None and await driver_session.current_session() is None:
            raise Unauthenticated("log in, or send Authorization: Bearer <API token>")
        return await func(*args, **kwargs)

    return wrapper


def _actor(user) -> audit.Actor:
    return audit.Actor(user.email, user.id)


def _checked(body: PlaceBody) -> rules.PlaceIn:
    place, errors = rules.check_place(body.model_dump())
    if place is None:
        first = next(iter(errors.items()))
        error = Invalid(f"{first[0]}: {first[1]}", code="invalid-place")
        error.extra = {"errors": errors}
        raise error
    return place


def _near(text: str | None) -> tuple[float, float]:
    if text is None or not text.strip():
        return services().settings.map_center_latlng()
    parts = text.split(",")
    where = point(parts[0], parts[1]) if len(parts) == 2 else None
    if where is None:
        raise Invalid("near must be lat,lng in decimal degrees, such as 52.52,13.405", code="bad-near")
    return where


async def _geocoded(query: str, near: tuple[float, float], user_id: int, wanted: int) -> tuple[list[dict], str]:
    geocoder = services().geocoder  # opened with GEOCODER_URL (webapp/pages/riders.py)
    if geocoder is None:
        return [], "off"
    if wanted <= 0 or len(query) < GEOCODER_MIN_CHARS:
        return [], "skipped"
    if not await within_rate(services().redis, user_id):
        return [], "busy"
    try:
        found = await geocoder.search(query, near)
    except GeocoderFailed:
        return [], "failed"
    return found, "used"


@bp.get("/places")
@tag(["places"])
@searchers_only
@validate_querystring(PlacesQuery)
@document_response(PlaceSearchOut, 200)
@document_response(Problem, 401)
@document_response(Problem, 403)
@document_response(Problem, 422)
@document_response(Problem, 429)
async def search_places(query_args: PlacesQuery):
    """Places matching `q` (a name or an alias: exact, its start, a word's start, then close
    spellings such as "Alexandrplatz"), nearest to `near` first within each; without `q`, the
    places nearest to `near`. Active places only (admins: `all=1` for inactive ones too).
    With GEOCODER_URL set and fewer than `limit` places found, the geocoder's addresses follow.
    A driver signed in to the driver web app (/d, its session cookie) may search too: places
    only, never the geocoder (`geocoder: "skipped"`).
    """
    user = await _searcher()
    if query_args.all not in (None, "", "0", "1", "true", "false"):
        raise Invalid("all is 1 or 0", code="bad-all")
    include_inactive = query_args.all in ("1", "true")
    if include_inactive and (user is None or user.role != Role.ADMIN):
        raise Forbidden("all=1 (inactive places too) is for admins")
    near = _near(query_args.near)
    text = ranking.normalise_query(query_args.q)
    async with services().db.acquire() as conn:
        candidates = await queries.search_places(conn, text, near, include_inactive=include_inactive)
    ranked = ranking.rank(candidates, text, near, query_args.limit)
    results = [{**_public(r.place), "distance_m": r.distance_m, "source": "place"} for r in ranked]
    found: list[dict]
    if user is None:
        found, status = [], "skipped"
    else:
        found, status = await _geocoded(text, near, user.id, query_args.limit - len(results))
    for suggestion in found:
        if len(results) >= query_args.limit:
            break
        where = (suggestion["lat"], suggestion["lng"])
        if any(haversine_m(*where, r["lat"], r["lng"]) < SAME_PLACE_M for r in results):
            continue
        results.append(
            {
                "id": None,
                "name": suggestion["label"].split(", ", 1)[0],
                "category": None,
                "address": suggestion["label"],
                "lat": where[0],
                "lng": where[1],
                "distance_m": round(haversine_m(*near, *where)),
                "aliases": [],
                "active": True,
                "source": "geocoder",
            }
        )
    return {"results": results, "geocoder": status}, 200, NO_STORE


def _public(place: queries.Place) -> dict:
    body = place.to_json()
    for key in ("created_at", "updated_at"):
        body.pop(key)
    return body


@bp.get("/places/<int:place_id>")
@tag(["places"])
@role_required(Role.ADMIN)
@document_response(PlaceOut, 200)
@document_response(Problem, 404)
async def get_place(place_id: int):
    """One place, active or not (admins)."""
    await _user(Role.ADMIN)
    async with services().db.acquire() as conn:
        place = await queries.get_place(conn, place_id)
    return place.to_json(), 200, NO_STORE


@bp.post("/places")
@tag(["places"])
@role_required(Role.ADMIN)
@validate_request(PlaceBody)
@document_response(PlaceOut, 201)
@document_response(Problem, 409)
@document_response(Problem, 422)
async def create_place(data: PlaceBody):
    """Add a place (admins). 422 naming each bad field (`errors`), 409 when another place has
    the name (whatever its case). Ride labels use it at once."""
    user = await _user(Role.ADMIN)
    saved = await places_admin.create(services().db, _actor(user), _checked(data), places_changed)
    log.info("admin %s added place %s", user.id, saved.id)
    return saved.to_json(), 201


@bp.put("/places/<int:place_id>")
@tag(["places"])
@role_required(Role.ADMIN)
@validate_request(PlaceBody)
@document_response(PlaceOut, 200)
@document_response(Problem, 404)
@document_response(Problem, 409)
@document_response(Problem, 422)
async def put_place(place_id: int, data: PlaceBody):
    """Replace a place's fields (admins); rides booked before keep the label they were given."""
    user = await _user(Role.ADMIN)
    saved = await places_admin.update(services().db, _actor(user), place_id, _checked(data), places_changed)
    return saved.to_json(), 200


@bp.delete("/places/<int:place_id>")
@tag(["places"])
@role_required(Role.ADMIN)
@document_response(Problem, 404)
async def delete_place(place_id: int):
    """Delete a place (admins): 204. To keep it but stop using it, set `active` false instead.
    The audit log keeps what it was."""
    user = await _user(Role.ADMIN)
    await places_admin.delete(services().db, _actor(user), place_id, places_changed)
    return "", 204


@bp.post("/places/import")
@tag(["places"])
@role_required(Role.ADMIN)
@document_response(ImportOut, 200)
@document_response(Problem, 413)
@document_response(Problem, 415)
@document_response(ImportProblem, 422)
async def import_places():
    """Add or update places from a file (admins), all or nothing: `Content-Type: text/csv` (a
    header line naming `name`, `category`, `lat`, `lng` and optionally `address`, `aliases` separated by
    `|`, `active`) or `application/geo+json` (a FeatureCollection of Points with those properties).
    A place whose name (whatever its case) is stored already is updated. At most 10,000 places
    and 2 MB; one bad row and nothing is saved: 422 lists each (`line` or `feature`, `field`, `error`).
    """
    user = await _user(Role.ADMIN)
    kind = imports.kind_of(request.headers.get("Content-Type", ""))
    places = imports.parse(await request.get_data(as_text=False), kind)
    counts = await places_admin.import_places(services().db, _actor(user), places, f"API ({kind})", places_changed)
    log.info("admin %s imported %d places", user.id, len(places))
    return {**counts, "total": len(places)}, 200


async def _export_all() -> list[rules.PlaceIn]:
    await _user(Role.ADMIN)
    async with services().db.acquire() as conn:
        return [p.as_input() for p in await queries.all_places(conn)]


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE}


@bp.get("/places/export.csv")
@tag(["places"])
@role_required(Role.ADMIN)
@document_response(Problem, 403)
async def export_csv():
    """Every place, active or not, as CSV in the import's format (a file to download)."""
    body = exports.to_csv(await _export_all())
    return Response(body, 200, {"Content-Type": "text/csv; charset=utf-8", **_attachment("places.csv")})


@bp.get("/places/export.geojson")
@tag(["places"])
@role_required(Role.ADMIN)
@document_response(Problem, 403)
async def export_geojson():
    """Every place, active or not, as a GeoJSON FeatureCollection in the import's format."""
    body = exports.to_geojson(await _export_all())
    return Response(body, 200, {"Content-Type": "application/geo+json", **_attachment("places.geojson")})
