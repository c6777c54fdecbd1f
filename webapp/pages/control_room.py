"""The dispatcher control room and its htmx partials: driver list, detail pane, duty buttons.

The map itself is driven by ``static/js/control-room.js`` from the JSON API and the
position stream; these views only render HTML. Fleet data comes from
``hexfleet.tracking.fleet`` so the list and the API agree on what "online" means.
"""

from __future__ import annotations

from datetime import UTC, datetime

from quart import Blueprint, render_template, request
from quart_schema import hide

from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.duty import DutyStatus
from hexfleet.errors import NotFound
from hexfleet.tracking.fleet import DriverView, fleet_snapshot, get_driver_view
from webapp.auth import current_user, page_role_required
from webapp.pages.common import STAFF_ROLES, services
from webapp.services import change_duty

bp = Blueprint("control_room", __name__)

MAX_FILTER_LENGTH = 100
# The list is re-rendered every few seconds: past this many rows, ask for a filter instead.
MAX_LIST_ROWS = 200


@bp.get("/")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF_ROLES)
async def control_room():
    pool, redis, settings = services()
    fleet = await fleet_snapshot(pool, redis, settings)
    center_lat, center_lng = settings.map_center_latlng()
    return await render_template(
        "control_room.html",
        user=await current_user(),
        **_list_context(fleet, "", None),
        map_config={
            "tile_url": settings.map_tile_url,
            "tile_attribution": settings.map_tile_attribution,
            "center_lat": center_lat,
            "center_lng": center_lng,
            "stale_after_s": settings.stale_after_s,
        },
    )


@bp.get("/ui/drivers")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF_ROLES)
async def driver_list():
    pool, redis, settings = services()
    fleet = await fleet_snapshot(pool, redis, settings)
    query = (request.args.get("q") or "").strip()[:MAX_FILTER_LENGTH]
    selected_id = request.args.get("selected", type=int)
    return await render_template("_driver_list.html", **_list_context(fleet, query, selected_id))


def _list_context(fleet, query: str, selected_id: int | None) -> dict:
    """What the driver list and the counts render from (the page and its 3 s refresh)."""
    drivers = sort_drivers(filter_drivers(fleet.drivers, query))
    return {
        "drivers": drivers[:MAX_LIST_ROWS],
        "matching": len(drivers),
        "counts": fleet.counts,
        "total": len(fleet.drivers),
        "query": query,
        "selected_id": selected_id,
        "now": datetime.now(UTC),
    }


@bp.get("/ui/drivers/<int:driver_id>")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF_ROLES)
async def driver_detail(driver_id: int):
    pool, redis, settings = services()
    try:
        driver = await get_driver_view(pool, redis, settings, driver_id)
    except NotFound:
        html = await render_template("_driver_missing.html", driver_id=driver_id)
        return html, 404
    async with pool.acquire() as conn:
        device_id = await driver_queries.current_device_id(conn, driver_id)
    return await render_template("_driver_detail.html", driver=driver, device_id=device_id, now=datetime.now(UTC))


@bp.post("/ui/drivers/<int:driver_id>/status")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF_ROLES)
async def driver_status(driver_id: int):
    """The detail pane's duty buttons; answers with the refreshed pane."""
    status = (await request.form).get("status", "")
    if status not in set(DutyStatus):
        return await render_template(
            "_error.html", status=422, title="Unknown status", detail=f"{status!r} is not a duty status"
        ), 422
    await change_duty(driver_id, DutyStatus(status))
    return await driver_detail(driver_id)


def _rank(driver: DriverView) -> int:
    """Online drivers first (available before busy before off duty), then stale, then never seen."""
    if driver.online:
        return {str(DutyStatus.AVAILABLE): 0, str(DutyStatus.BUSY): 1}.get(driver.status, 2)
    if driver.stale:
        return 3
    return 4


def sort_drivers(drivers: list[DriverView]) -> list[DriverView]:
    return sorted(drivers, key=lambda d: (_rank(d), (d.name or "").casefold(), d.id))


def filter_drivers(drivers: list[DriverView], query: str) -> list[DriverView]:
    """Case-insensitive match on name, plate, phone or exact id ("#12" or "12")."""
    needle = query.strip().casefold()
    if not needle:
        return list(drivers)
    id_text = needle.removeprefix("#")
    return [
        d
        for d in drivers
        if needle in (d.name or "").casefold()
        or needle in (d.vehicle_plate or "").casefold()
        or needle in (d.phone or "").casefold()
        or (id_text.isdecimal() and len(id_text) <= 18 and int(id_text) == d.id)
    ]
