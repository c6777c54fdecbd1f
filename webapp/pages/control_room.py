"""The dispatcher control room and its htmx partials: driver list, detail pane, duty buttons.

The map itself is driven by ``static/js/control-room/`` (main.js starts it) from the JSON API and the
position stream; these views only render HTML. Fleet data comes from
``hexfleet.tracking.fleet`` so the list and the API agree on what "online" means.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from quart import Blueprint, render_template, request
from quart_schema import hide

from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.duty import DutyStatus
from hexfleet.errors import NotFound
from hexfleet.tracking.fleet import DriverView, fleet_snapshot, get_driver_view
from hexfleet.users.roles import STAFF
from webapp.auth import current_user, page_role_required
from webapp.services import change_duty, nearest_place, services

bp = Blueprint("control_room", __name__)

MAX_FILTER_LENGTH = 100
# The list is re-rendered every few seconds: past this many rows, ask for a filter instead.
MAX_LIST_ROWS = 200
# The status filter (the count cards and the select beside the search box); static/js/control-room/match.js
# applies the same rules to the map markers.
STATUS_FILTERS = {
    "online": "Online",
    "available": "Available",
    "busy": "Busy",
    "off_duty": "Off duty",
    "stale": "Stale",
    "attention": "Needs attention",
}
SORTS = ("status", "attention")
# A fix flagged or rejected this recently makes a driver "need attention" (with stale ones).
ATTENTION_WINDOW = timedelta(minutes=10)


@bp.get("/")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF)
async def control_room():
    svc = services()
    pool, redis, settings = svc.db, svc.redis, svc.settings
    fleet = await fleet_snapshot(pool, redis, settings)
    center_lat, center_lng = settings.map_center_latlng()
    # The filter lives in the URL (?q=&status=&sort=): a reload or a shared link shows the same list.
    context = _list_context(fleet, *_list_args(request.args), None)
    # The page shows what the list partial would: its ETag lets the first refresh be a 304 too.
    list_etag = body_etag(await render_template("_driver_list.html", **context))
    return await render_template(
        "control_room.html",
        user=await current_user(),
        list_etag=list_etag,
        fix_times=True,
        **context,
        map_config={
            "tile_url": settings.map_tile_url,
            "tile_attribution": settings.map_tile_attribution,
            "center_lat": center_lat,
            "center_lng": center_lng,
            "stale_after_s": settings.stale_after_s,
            # A point this close to a place is named after it (the phone booking says which).
            "place_radius_m": settings.place_label_radius_m,
        },
    )


@bp.get("/ui/drivers")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF)
async def driver_list():
    svc = services()
    pool, redis, settings = svc.db, svc.redis, svc.settings
    fleet = await fleet_snapshot(pool, redis, settings)
    selected_id = request.args.get("selected", type=int)
    html = await render_template("_driver_list.html", **_list_context(fleet, *_list_args(request.args), selected_id))
    # Polled every 3 s by every dispatcher. The rows carry no fix times (the page's script keeps
    # those from the position stream), so the HTML changes only when a name, plate, status, count,
    # attention mark or the filter does; the rest of the time the answer is a 304 with no body.
    # Comparing the whole body's hash whatever the query string is safe: the same bytes swap in
    # the same rows.
    etag = body_etag(html)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if request.if_none_match.contains_weak(etag.strip('"')):
        return "", 304, headers
    return html, 200, headers


def body_etag(body: str) -> str:
    """A strong ETag (quoted) for a rendered body."""
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def _list_args(args) -> tuple[str, str, str]:
    """(query, status, sort) from the query string; unknown values mean "no filter" and the default sort."""
    query = (args.get("q") or "").strip()[:MAX_FILTER_LENGTH]
    status = args.get("status") or ""
    sort = args.get("sort") or ""
    return query, status if status in STATUS_FILTERS else "", sort if sort in SORTS else "status"


def _list_context(fleet, query: str, status: str, sort: str, selected_id: int | None) -> dict:
    """What the driver list and the counts render from (the page and its 3 s refresh)."""
    now = datetime.now(UTC)
    drivers = sort_drivers(
        filter_drivers(fleet.drivers, query, status, now), attention_first=sort == "attention", now=now
    )
    return {
        "drivers": drivers[:MAX_LIST_ROWS],
        "matching": len(drivers),
        "counts": fleet.counts,
        "total": len(fleet.drivers),
        "query": query,
        "status_filter": status,
        "status_filters": STATUS_FILTERS,
        "sort": sort,
        "selected_id": selected_id,
        "attention": {d.id for d in drivers if needs_attention(d, now)},
        "now": now,
    }


@bp.get("/ui/drivers/<int:driver_id>")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF)
async def driver_detail(driver_id: int):
    svc = services()
    pool, redis, settings = svc.db, svc.redis, svc.settings
    try:
        driver = await get_driver_view(pool, redis, settings, driver_id)
    except NotFound:
        html = await render_template("_driver_missing.html", driver_id=driver_id)
        return html, 404
    async with pool.acquire() as conn:
        device = await driver_queries.current_device(conn, driver_id)
    # Where they are by name: the nearest place, from memory (this card refreshes every 3 s while the
    # driver moves; a geocoder asked that often would slow it and spend its quota).
    place = nearest_place(driver.lat, driver.lng) if driver.lat is not None and driver.lng is not None else None
    return await render_template(
        "_driver_detail.html", driver=driver, device=device, place=place.text if place else None, now=datetime.now(UTC)
    )


@bp.post("/ui/drivers/<int:driver_id>/status")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF)
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


def needs_attention(driver: DriverView, now: datetime) -> bool:
    """Stale, or a fix of theirs was flagged or rejected within ATTENTION_WINDOW."""
    if driver.stale:
        return True
    at = driver.last_problem_at
    return bool(driver.last_problem and at and now - at <= ATTENTION_WINDOW)


def sort_drivers(
    drivers: list[DriverView], attention_first: bool = False, now: datetime | None = None
) -> list[DriverView]:
    now = now or datetime.now(UTC)

    def key(d: DriverView):
        first = 0 if attention_first and needs_attention(d, now) else 1
        return (first, _rank(d), (d.name or "").casefold(), d.id)

    return sorted(drivers, key=key)


def matches_status(driver: DriverView, status: str, now: datetime | None = None) -> bool:
    """The status filter; the same sets the count cards count (duty statuses count online drivers only)."""
    if not status:
        return True
    if status == "stale":
        return driver.stale
    if status == "attention":
        return needs_attention(driver, now or datetime.now(UTC))
    if not driver.online:
        return False
    return status == "online" or driver.status == status


# Words a search matches besides names, plates and phones: "avail" finds available drivers.
_MIN_STATUS_WORD = 3


def _status_words(driver: DriverView) -> tuple[str, ...]:
    # Available without a fresh fix is not available to dispatch: it is found as waiting.
    words = ["waiting for gps" if driver.waiting_for_gps else STATUS_WORDS.get(driver.status, driver.status)]
    if driver.online:
        words.append("online")
    elif driver.stale:
        words.append("stale")
    return tuple(words)


STATUS_WORDS = {
    str(DutyStatus.AVAILABLE): "available",
    str(DutyStatus.BUSY): "busy",
    str(DutyStatus.OFF_DUTY): "off duty",
}


def filter_drivers(
    drivers: list[DriverView], query: str, status: str = "", now: datetime | None = None
) -> list[DriverView]:
    """Case-insensitive match on name, plate, phone, exact id ("#12" or "12") or the start of a status
    word ("available", "busy", "off duty", "online", "stale"); then the status filter."""
    needle = " ".join(query.strip().casefold().replace("_", " ").split())
    now = now or datetime.now(UTC)
    id_text = needle.removeprefix("#")

    def text_matches(d: DriverView) -> bool:
        return (
            not needle
            or needle in (d.name or "").casefold()
            or needle in (d.vehicle_plate or "").casefold()
            or needle in (d.phone or "").casefold()
            or (id_text.isdecimal() and len(id_text) <= 18 and int(id_text) == d.id)
            or (len(needle) >= _MIN_STATUS_WORD and any(w.startswith(needle) for w in _status_words(d)))
        )

    return [d for d in drivers if text_matches(d) and matches_status(d, status, now)]
