"""Places for admins (/admin/places): the list with search and paging, add, edit, delete, import
from a CSV or GeoJSON file with a report of every bad row, and export.

Server-rendered, htmx swapping rows and forms (as the drivers and accounts pages do); the map
that places the pin is static/js/admin-places.js. The rules live in hexfleet.places (rules for
the fields, admin for the changes and their audit entries); exports are the API's files.
"""

from __future__ import annotations

import logging

from quart import Blueprint, render_template, request
from quart_schema import hide

from hexfleet import audit
from hexfleet.errors import Conflict, DomainError
from hexfleet.places import admin as places_admin
from hexfleet.places import imports, queries, rules
from hexfleet.users.roles import Role
from webapp.auth import current_user, page_role_required
from webapp.limits import limiter
from webapp.services import places_changed, services

bp = Blueprint("admin_places", __name__)
log = logging.getLogger("hexfleet.web")

PAGE = 50
NO_STORE = {"Cache-Control": "no-store"}
FIELDS = ("name", "category", "address", "lat", "lng", "aliases")
SEARCH_MAX = 100


async def _actor() -> audit.Actor:
    user = await current_user()
    assert user is not None  # page_role_required let us in
    await limiter().enforce("places", str(user.id), what="changes to places")
    return audit.Actor(user.email, user.id)


def _listing_args() -> tuple[str, int, bool]:
    """(search text, page from 1, whether inactive places are listed too) from the query string."""
    query = " ".join(request.args.get("q", "")[:SEARCH_MAX].replace("\x00", "").split())
    raw_page = request.args.get("page", "")
    page = int(raw_page) if raw_page.isascii() and raw_page.isdigit() and len(raw_page) <= 6 else 1
    return query, max(1, page), request.args.get("show") != "active"


async def _listing() -> dict:
    query, page, show_all = _listing_args()
    pool = services().db
    async with pool.acquire() as conn:
        places, total = await queries.list_places(
            conn, query, include_inactive=show_all, limit=PAGE, offset=(page - 1) * PAGE
        )
    pages = max(1, -(-total // PAGE))
    return {"places": places, "total": total, "query": query, "page": page, "pages": pages, "show_all": show_all}


def _form_values(form) -> dict[str, str]:
    values = {k: (form.get(k) or "")[:2000] for k in FIELDS}
    values["active"] = "on" if form.get("active") else ""
    return values


def _parse(values: dict[str, str]) -> tuple[rules.PlaceIn | None, dict[str, str]]:
    """The form's place: aliases one per line (a line may hold several separated by |)."""
    aliases = [a for line in values["aliases"].splitlines() for a in line.split("|")]
    return rules.check_place({**values, "aliases": aliases, "active": bool(values["active"])})


def _values_of(place: queries.Place) -> dict[str, str]:
    return {
        "name": place.name,
        "category": place.category,
        "address": place.address,
        "lat": repr(place.lat),
        "lng": repr(place.lng),
        "aliases": "\n".join(place.aliases),
        "active": "on" if place.active else "",
    }


def _map_config() -> dict:
    settings = services().settings
    lat, lng = settings.map_center_latlng()
    return {
        "tile_url": settings.map_tile_url,
        "attribution": settings.map_tile_attribution,
        "center": f"{lat},{lng}",
    }


def _form_context(values: dict, errors: dict) -> dict:
    return {"form": values, "errors": errors, "categories": rules.CATEGORIES}


NEW_VALUES = {"category": "other", "active": "on"}


@bp.get("/admin/places")
@hide  # pages, not API: keep them out of /docs
@page_role_required(Role.ADMIN)
async def places_page():
    html = await render_template(
        "admin_places.html",
        user=await current_user(),
        map=_map_config(),
        max_mb=imports.MAX_BYTES // (1024 * 1024),
        max_places=imports.MAX_PLACES,
        **await _listing(),
        **_form_context(NEW_VALUES, {}),
    )
    return html, 200, NO_STORE


@bp.get("/admin/places/rows")
@hide
@page_role_required(Role.ADMIN)
async def place_rows():
    """The list alone, for search as one types, paging and a refresh after a change."""
    html = await render_template("_admin_place_rows.html", **await _listing())
    return html, 200, NO_STORE


@bp.get("/admin/places/new")
@hide
@page_role_required(Role.ADMIN)
async def new_place_form():
    html = await render_template("_admin_place_form.html", **_form_context(NEW_VALUES, {}))
    return html, 200, NO_STORE


def _taken(error: Conflict) -> dict[str, str]:
    return {"name": error.detail[:1].upper() + error.detail[1:] + ": choose another name, or edit that place."}


@bp.post("/admin/places")
@hide
@page_role_required(Role.ADMIN)
async def add_place():
    values = _form_values(await request.form)
    place, errors = _parse(values)
    if place is not None:
        pool = services().db
        try:
            saved = await places_admin.create(pool, await _actor(), place, places_changed)
        except Conflict as error:
            errors = _taken(error)
        else:
            log.info("admin added place %s", saved.id)
            html = await render_template("_admin_place_form.html", added=saved, **_form_context(NEW_VALUES, {}))
            return html, 201, {**NO_STORE, "HX-Trigger": "places-changed"}
    html = await render_template("_admin_place_form.html", **_form_context(values, errors))
    return html, 400, NO_STORE


async def _load(place_id: int) -> queries.Place:
    pool = services().db
    async with pool.acquire() as conn:
        return await queries.get_place(conn, place_id)  # NotFound: a readable 404


async def _row(place: queries.Place, message: str | None = None, status: int = 200):
    html = await render_template("_admin_place_row.html", place=place, message=message)
    return html, status, NO_STORE


@bp.get("/admin/places/<int:place_id>")
@hide
@page_role_required(Role.ADMIN)
async def place_row(place_id: int):
    return await _row(await _load(place_id))


@bp.get("/admin/places/<int:place_id>/edit")
@hide
@page_role_required(Role.ADMIN)
async def place_edit_form(place_id: int):
    place = await _load(place_id)
    html = await render_template("_admin_place_edit.html", place=place, **_form_context(_values_of(place), {}))
    return html, 200, NO_STORE


@bp.post("/admin/places/<int:place_id>")
@hide
@page_role_required(Role.ADMIN)
async def place_edit(place_id: int):
    place = await _load(place_id)
    values = _form_values(await request.form)
    checked, errors = _parse(values)
    if checked is not None:
        pool = services().db
        try:
            saved = await places_admin.update(pool, await _actor(), place_id, checked, places_changed)
            return await _row(saved, "Saved.")
        except Conflict as error:
            errors = _taken(error)
    html = await render_template("_admin_place_edit.html", place=place, **_form_context(values, errors))
    return html, 400, NO_STORE


@bp.post("/admin/places/<int:place_id>/delete")
@hide
@page_role_required(Role.ADMIN)
async def place_delete(place_id: int):
    pool = services().db
    gone = await places_admin.delete(pool, await _actor(), place_id, places_changed)
    log.info("admin deleted place %s", place_id)
    html = await render_template("_admin_place_deleted.html", place=gone)
    return html, 200, NO_STORE


@bp.post("/admin/places/import")
@hide
@page_role_required(Role.ADMIN)
async def import_places():
    """A file from the form: every place added or updated, or nothing and a report of each bad row."""
    files = await request.files
    upload = files.get("file")
    report: dict = {}
    status = 200
    if upload is None or not upload.filename:
        report = {"problem": "Choose a CSV or GeoJSON file first."}
        status = 400
    else:
        data = upload.read(imports.MAX_BYTES + 1)
        # The browser's name for it, shown and audited: printable characters only (a NUL in it
        # cannot be stored in the audit log's JSON), and short.
        name = "".join(ch for ch in upload.filename if ch.isprintable())[:100] or "the file"
        try:
            places = imports.parse(data, imports.kind_of(upload.content_type or "", name))
        except imports.ImportInvalid as invalid:
            report = {"file": name, "errors": invalid.errors, "more": invalid.more}
            status = 422
        except DomainError as error:
            report = {"file": name, "problem": error.detail[:1].upper() + error.detail[1:] + "."}
            status = 415
        else:
            pool = services().db
            source = f"page ({imports.kind_of(upload.content_type or '', name)}: {name})"
            counts = await places_admin.import_places(pool, await _actor(), places, source, places_changed)
            report = {"file": name, "counts": counts, "total": len(places)}
            log.info("admin imported %d places", len(places))
    html = await render_template("_admin_place_import.html", report=report)
    headers = {**NO_STORE, **({"HX-Trigger": "places-changed"} if status == 200 else {})}
    return html, status, headers
