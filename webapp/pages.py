"""Server-rendered pages: login, the dispatcher control room and its htmx partials.

The map itself is driven by ``static/js/control-room.js`` from the JSON API and the
position stream; these views only render HTML. Fleet data comes from
``hexfleet.tracking.fleet`` so the list and the API agree on what "online" means.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

from markupsafe import Markup
from quart import Blueprint, current_app, redirect, render_template, request
from quart_schema import hide

from hexfleet.drivers import connect as phone_connect
from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers import revocation
from hexfleet.drivers.duty import DutyStatus
from hexfleet.errors import NotFound
from hexfleet.tracking import filters
from hexfleet.tracking.fleet import DriverView, fleet_snapshot, get_driver_view
from webapp.auth import Forbidden, authenticate, current_user, end_session, page_role_required, start_session
from webapp.services import change_duty

bp = Blueprint("pages", __name__)
log = logging.getLogger("hexfleet.web")

STAFF_ROLES = ("dispatcher", "admin")
MAX_FILTER_LENGTH = 100
# The list is re-rendered every few seconds: past this many rows, ask for a filter instead.
MAX_LIST_ROWS = 200


def safe_next(target: str | None) -> str:
    """Only ever redirect to a path on this site: never to another host (open redirect)."""
    if not target:
        return "/"
    # Backslashes are treated as slashes by browsers, so "/\evil.com" is protocol-relative.
    target = target.strip().replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if any(ord(ch) < 0x20 for ch in target):  # header injection, or stripped whitespace tricks
        return "/"
    return target


def _services():
    app = current_app
    return app.extensions["db"], app.extensions["redis"], app.extensions["settings"]


# ---------------------------------------------------------------- login / logout


@bp.get("/login")
@hide  # pages, not API: keep them out of /docs
async def login_form():
    user = await current_user()
    next_url = safe_next(request.args.get("next"))
    if user is not None and user.role in STAFF_ROLES:
        return redirect(next_url)
    return await render_template("login.html", user=user, next_url=next_url, email="", error=None)


@bp.post("/login")
@hide  # pages, not API: keep them out of /docs
async def login_submit():
    form = await request.form
    email = (form.get("email") or "").strip()
    password = form.get("password") or ""
    next_url = safe_next(form.get("next") or request.args.get("next"))
    user = None
    if email and password:
        user = await authenticate(email, password)
    if user is None:
        # One message for unknown email and wrong password: do not reveal which accounts exist.
        error = "Enter your email and password." if not (email and password) else "Wrong email or password."
        html = await render_template("login.html", user=None, next_url=next_url, email=email, error=error)
        return html, 400
    start_session(user)
    return redirect(next_url)


@bp.post("/logout")
@hide  # pages, not API: keep them out of /docs
async def logout():
    end_session()
    return redirect("/login")


# ---------------------------------------------------------------- control room


@bp.get("/")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF_ROLES)
async def control_room():
    pool, redis, settings = _services()
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
    pool, redis, settings = _services()
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
    pool, redis, settings = _services()
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


# ---------------------------------------------------------------- connecting a phone


def connect_base_url(settings) -> str:
    """Where phones reach us: PUBLIC_URL when set, else the address this browser used.

    HOST:PORT (the default base URL) is usually 127.0.0.1 or 0.0.0.0, which no phone can
    reach, while the address the dispatcher opened the control room at usually is. Behind
    a proxy that terminates TLS the scheme seen here is wrong: that is what PUBLIC_URL is for.
    """
    return settings.public_url or request.host_url


def _qr_codes(info: phone_connect.ConnectInstructions) -> tuple[Markup, Markup | None]:
    traccar = Markup(phone_connect.qr_svg(info.traccar.qr_payload, "QR code for Traccar Client"))
    link = info.owntracks.config_link
    owntracks = Markup(phone_connect.qr_svg(link, "QR code for OwnTracks")) if link else None
    return traccar, owntracks


async def _render_connect(driver, device_id: str | None, token: str | None = None, announced: bool = True):
    _, _, settings = _services()
    user = await current_user()
    info = None
    qr_traccar = qr_owntracks = None
    if device_id:
        info = phone_connect.instructions(
            connect_base_url(settings), settings.osmand_port, device_id, token, driver.name
        )
        # segno picks the best mask by trying all eight: ~30 ms of pure Python for the
        # OwnTracks link. In a thread the loop (which also serves ingest) keeps running
        # between GIL switches instead of stalling for all of it.
        qr_traccar, qr_owntracks = await asyncio.to_thread(_qr_codes, info)
    html = await render_template(
        "_connect.html",
        driver=driver,
        info=info,
        qr_traccar=qr_traccar,
        qr_owntracks=qr_owntracks,
        can_rotate=user is not None and user.role == "admin",
        rotated=token is not None,
        announced=announced,
        from_public_url=bool(settings.public_url),
        auth_cache_ttl_s=settings.auth_cache_ttl_s,
    )
    # The body may carry a device token: never keep it in a cache or the back-forward cache.
    headers = {"Cache-Control": "no-store"}
    if token is not None:
        headers["HX-Trigger"] = "device-rotated"  # the detail card refreshes its device id now
    return html, 200, headers


@bp.get("/ui/drivers/<int:driver_id>/connect")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF_ROLES)
async def driver_connect(driver_id: int):
    """The detail pane's "Connect a phone" section, loaded when it is first opened."""
    pool, _, _ = _services()
    async with pool.acquire() as conn:
        driver = await driver_queries.get_driver(conn, driver_id)  # NotFound: a readable 404
        device_id = await driver_queries.current_device_id(conn, driver_id)
    return await _render_connect(driver, device_id)


@bp.post("/ui/drivers/<int:driver_id>/rotate")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF_ROLES)
async def driver_rotate(driver_id: int):
    """Admins only: a new device id and token; the old ones stop working on every process at once."""
    user = await current_user()
    if user is None or user.role != "admin":
        raise Forbidden("Only admins can rotate device tokens.")
    pool, redis, _ = _services()
    async with pool.acquire() as conn:
        driver = await driver_queries.get_driver(conn, driver_id)
        device = await driver_queries.rotate_device(conn, driver_id)
    announced = True
    try:
        await revocation.announce(redis, driver_id)
    except Exception:
        # The rotation is committed: still show the new token (it is shown only now). Other
        # processes then drop the old one when their cache entry expires (AUTH_CACHE_TTL_S).
        log.warning("could not announce the rotation of driver %s", driver_id, exc_info=True)
        announced = False
    log.info("user %s rotated the device of driver %s", user.id, driver_id)
    return await _render_connect(driver, device.device_id, device.token, announced)


# ---------------------------------------------------------------- list helpers


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


# ---------------------------------------------------------------- template filters


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@bp.app_template_filter("ago")
def ago(value: datetime | None, now: datetime | None = None) -> str:
    """ "12 s ago", "4 min ago", "3 h ago", "2 d ago"; "never" for None."""
    if value is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = int((_aware(now) - _aware(value)).total_seconds())
    if seconds < 0:
        # The device clock runs ahead of ours; do not show "in 3 s".
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


@bp.app_template_filter("compass")
def compass(heading: float | None) -> str:
    if heading is None:
        return "—"
    heading = heading % 360
    return f"{heading:.0f}° {_COMPASS[int((heading + 22.5) // 45) % 8]}"


@bp.app_template_filter("kmh")
def kmh(speed_mps: float | None) -> str:
    return "—" if speed_mps is None else f"{speed_mps * 3.6:.0f} km/h"


@bp.app_template_filter("isotime")
def isotime(value: datetime | None) -> str:
    return "" if value is None else _aware(value).isoformat(timespec="seconds")


@bp.app_template_filter("clock")
def clock(value: datetime | None) -> str:
    """Time of day in UTC: short and unambiguous for a control room; the full ISO time is in title=."""
    return "—" if value is None else _aware(value).astimezone(UTC).strftime("%H:%M:%S UTC")


STATUS_LABELS: dict[str, str] = {
    DutyStatus.AVAILABLE: "Available",
    DutyStatus.BUSY: "Busy",
    DutyStatus.OFF_DUTY: "Off duty",
}


@bp.app_template_filter("problem_label")
def problem_label(reason: str) -> str:
    """A rejected or flagged fix's reason, as a dispatcher reads it."""
    return filters.DESCRIPTIONS.get(reason, reason.replace("-", " ")).capitalize()


@bp.app_template_filter("status_label")
def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", (status or "unknown").replace("_", " ").capitalize())
