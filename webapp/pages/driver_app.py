"""The driver web app: /d, the page a driver keeps open on the phone to work.

Signing in: a one-time link from the control room (GET shows a confirmation, POST spends
it and starts the driver session cookie, see webapp.driver_session). The page itself is
static/js/driver-app/ over the driver JSON API (webapp/api/driver_rides.py and
POST /api/v1/driver/status), which accepts the session cookie as well as a device token.
Only two things live here beside the page: ``/d/me`` (who am I, my duty and whether it waits
for GPS, my last fix, the server's clock for the offer countdown) and ``/d/pings`` (the
browser's positions, into the same ingest and filters as every phone app). The page opens with
the duty as it is (``waiting_for_gps`` rendered as "Waiting for GPS", not "Available"); without
map tiles it reads the places near the driver from GET /api/v1/places with the same cookie.
"""

from __future__ import annotations

import logging
import time

import orjson
from quart import Blueprint, redirect, render_template, request
from quart_schema import hide

from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.duty import DutyStatus
from hexfleet.errors import NotFound
from hexfleet.tracking import filters
from hexfleet.tracking.fleet import get_driver_view
from hexfleet.tracking.pings import PingError, parse_body
from webapp import driver_session
from webapp.errors import problem
from webapp.ingest import BrokerUnavailable, RateLimited
from webapp.services import change_duty, services

bp = Blueprint("driver_app", __name__)
log = logging.getLogger("hexfleet.web")

# Personal pages and answers: never in a shared cache, never in the back-forward cache.
NO_STORE = {"Cache-Control": "no-store"}
# The phone sends about one fix every 5 s; this many queued while offline still fit in one request.
MAX_BROWSER_BATCH = 100


async def _signed_out(status: int, reason: str):
    html = await render_template("driver_signed_out.html", reason=reason)
    return html, status, NO_STORE


async def _link_gone():
    session = await driver_session.current_session()
    html = await render_template("driver_link_invalid.html", signed_in=session is not None)
    return html, 410, {**NO_STORE, "X-Robots-Tag": "noindex"}


async def _usable(link: driver_session.DriverSession | None) -> bool:
    """The link's device is still a live device of the driver (no rotation since it was made)."""
    if link is None:
        return False
    pool = services().db
    async with pool.acquire() as conn:
        return await driver_queries.driver_for_device_row(conn, link.device_row) == link.driver_id


# ---------------------------------------------------------------- signing in and out


@bp.get("/d/login/<token>")
@hide  # pages, not API: keep them out of /docs
async def login_confirm(token: str):
    """The link's landing page: who it signs in as, and a button that spends it."""
    svc = services()
    pool, redis = svc.db, svc.redis
    link = await driver_session.peek_link(redis, token)
    if not await _usable(link):
        return await _link_gone()
    assert link is not None
    async with pool.acquire() as conn:
        try:
            driver = await driver_queries.get_driver(conn, link.driver_id)
        except NotFound:
            return await _link_gone()
    html = await render_template("driver_login.html", driver=driver, token=token)
    return html, 200, {**NO_STORE, "X-Robots-Tag": "noindex"}


@bp.post("/d/login/<token>")
@hide  # pages, not API: keep them out of /docs
async def login_start(token: str):
    """Start working: spend the link (once, atomically) and start the driver session."""
    svc = services()
    redis, settings = svc.redis, svc.settings
    link = await driver_session.spend_link(redis, token)
    if not await _usable(link):
        return await _link_gone()
    assert link is not None
    session = await driver_session.start(redis, link, settings.driver_session_hours * 3600)
    response = redirect("/d", 303)
    driver_session.set_cookie(response, settings, session)
    log.info("driver %s signed in to the driver web app", link.driver_id)
    return response


@bp.post("/d/logout")
@hide  # pages, not API: keep them out of /docs
async def logout():
    """Sign out. An available driver goes off duty too: nobody would see the offers."""
    settings = services().settings
    session = await driver_session.current_session()
    if session is not None:
        pool = services().db
        async with pool.acquire() as conn:
            driver = await driver_queries.get_driver(conn, session.driver_id)
        if driver.status == DutyStatus.AVAILABLE:
            await change_duty(session.driver_id, DutyStatus.OFF_DUTY)
        redis = services().redis
        await driver_session.end(redis, session)
        log.info("driver %s signed out of the driver web app", session.driver_id)
    response = redirect("/d/signed-out", 303)
    driver_session.clear_cookie(response, settings)
    return response


@bp.get("/d/signed-out")
@hide  # pages, not API: keep them out of /docs
async def signed_out():
    return await _signed_out(200, "signed-out")


# ---------------------------------------------------------------- the page


@bp.get("/d")
@hide  # pages, not API: keep them out of /docs
async def driver_app():
    session = await driver_session.current_session()
    if session is None:
        # No cookie, an expired one, or a rotated device: say how to get back in.
        return await _signed_out(401, "expired" if request.cookies.get(driver_session.COOKIE) else "none")
    svc = services()
    pool, redis, settings = svc.db, svc.redis, svc.settings
    driver = await get_driver_view(pool, redis, settings, session.driver_id)
    center_lat, center_lng = settings.map_center_latlng()
    config = {
        "driver_id": driver.id,
        "status": driver.status,  # a new driver's is off_duty: the page opens off duty
        "waiting_for_gps": driver.waiting_for_gps,
        "tile_url": settings.map_tile_url,
        "tile_attribution": settings.map_tile_attribution,
        "center": [driver.lat, driver.lng] if driver.lat is not None else [center_lat, center_lng],
        "max_accuracy_m": settings.filter_max_accuracy_m,
        "stale_after_s": settings.stale_after_s,
        "max_batch": min(MAX_BROWSER_BATCH, settings.max_batch_pings),
        # The offer shows the trip's length and the drive to the pickup as the platform estimates them.
        "detour_factor": settings.detour_factor,
        "average_speed_kmh": settings.average_speed_kmh,
    }
    html = await render_template("driver_app.html", driver=driver, config=config)
    return html, 200, NO_STORE


@bp.get("/d/me")
@hide  # pages, not API: keep them out of /docs
async def me():
    """The signed-in driver: duty, whether dispatch has a fresh position (``waiting_for_gps``:
    available, but offered nothing until a fix arrives), and the server's clock (the offer
    countdown runs on it, whatever the phone's clock says)."""
    session = await driver_session.current_session()
    if session is None:
        return problem(401, "you are signed out of the driver app", "unauthenticated")
    svc = services()
    pool, redis, settings = svc.db, svc.redis, svc.settings
    view = await get_driver_view(pool, redis, settings, session.driver_id)
    data = view.to_json()
    body = {
        key: data[key]
        for key in (
            "id",
            "name",
            "vehicle_plate",
            "status",
            "online",
            "stale",
            "last_seen",
            "last_problem",
            "waiting_for_gps",
        )
    }
    body["last_problem_at"] = data["last_problem_at"]
    body["server_time"] = time.time()
    return body, 200, NO_STORE


# ---------------------------------------------------------------- positions from the browser


@bp.post("/d/pings")
@hide  # pages, not API: keep them out of /docs
async def browser_pings():
    """The page's positions: `{lat, lng, ts, accuracy_m?, speed_mps?, heading?}` or
    `{"pings": [...]}`, judged, rate-limited and produced exactly like POST /api/v1/driver/pings
    (202 with counts; 503 or 429 with Retry-After: nothing was taken, send them again)."""
    session = await driver_session.current_session()
    if session is None:
        return problem(401, "you are signed out of the driver app", "unauthenticated")
    driver_id = session.driver_id
    ingest = services().ingest
    max_batch = min(MAX_BROWSER_BATCH, services().settings.max_batch_pings)
    try:
        decoded = orjson.loads(await request.get_data(cache=False))
    except orjson.JSONDecodeError:
        return problem(400, "body is not valid JSON", "malformed-json")
    try:
        is_batch, parsed = parse_body(decoded, max_batch)
    except PingError as error:
        await ingest.reject(driver_id, [filters.INVALID])
        return problem(422, str(error), "invalid-ping")
    if parsed.rejected:
        await ingest.reject(driver_id, [filters.INVALID] * len(parsed.rejected))
    try:
        outcome = await ingest.submit(driver_id, parsed.pings)
    except BrokerUnavailable:
        return problem(503, "could not queue the positions; retry shortly", "broker-unavailable", {"Retry-After": "2"})
    except RateLimited as limited:
        wait = str(limited.retry_after_s)
        return problem(429, str(limited), "rate-limited", {"Retry-After": wait}, retry_after=limited.retry_after_s)
    if not is_batch and outcome.rejected:
        reason = outcome.rejected[0][1]
        return problem(422, _explain(ingest.rules, reason), reason)
    rejected = parsed.rejected + [
        {"index": parsed.indexes[i], "error": _explain(ingest.rules, reason)} for i, reason in outcome.rejected
    ]
    rejected.sort(key=lambda r: r["index"])
    return {"accepted": outcome.accepted, "duplicates": outcome.duplicates, "rejected": rejected}, 202


def _explain(rules: filters.FilterRules, reason: str) -> str:
    """The ingest's wording, so a phone's clock problem reads the same on every path."""
    if reason == filters.FUTURE:
        return f"ts is more than {rules.future_s:g} s ahead of server time"
    if reason == filters.TOO_OLD:
        return f"ts is more than {rules.past_s:g} s in the past"
    return filters.DESCRIPTIONS.get(reason, reason)
