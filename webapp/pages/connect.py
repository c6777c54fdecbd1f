"""Connecting a phone: the detail pane's instructions and QR codes, one-time sign-in links for
the driver web app (/d), and device token rotation."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from markupsafe import Markup
from quart import Blueprint, render_template, request
from quart_schema import hide

from hexfleet import audit
from hexfleet.drivers import admin as drivers_admin
from hexfleet.drivers import connect as phone_connect
from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers import revocation
from hexfleet.users.roles import STAFF, Role
from webapp import driver_session
from webapp.auth import Forbidden, current_user, page_role_required
from webapp.services import services

bp = Blueprint("connect", __name__)
log = logging.getLogger("hexfleet.web")


def connect_base_url(settings) -> str:
    """Where phones reach us: PUBLIC_URL when set, else the address this browser used.

    HOST:PORT (the default base URL) is usually 127.0.0.1 or 0.0.0.0, which no phone can
    reach, while the address the dispatcher opened the control room at usually is. Behind
    a proxy that terminates TLS the scheme seen here is wrong: that is what PUBLIC_URL is for.
    """
    return settings.public_url or request.host_url


def _qr_codes(info: phone_connect.ConnectInstructions) -> tuple[Markup | None, Markup | None]:
    """The QR codes carry the device id: only right after creation or rotation."""
    payload = info.traccar.qr_payload
    traccar = Markup(phone_connect.qr_svg(payload, "QR code for Traccar Client")) if payload else None
    link = info.owntracks.config_link
    owntracks = Markup(phone_connect.qr_svg(link, "QR code for OwnTracks")) if link else None
    return traccar, owntracks


async def render_connect(
    driver,
    device: driver_queries.Device | None,
    credentials: driver_queries.DeviceCredentials | None = None,
    announced: bool = True,
    fresh: str | None = None,
):
    """The "Connect a phone" section. ``credentials`` (the device id and token, and the QR
    codes that carry them) are shown once: right after the device was created
    (``fresh="created"``) or rotated (the default when they are given). Later the section
    has the addresses and app settings only: both are stored hashed."""
    settings = services().settings
    user = await current_user()
    admin = user is not None and user.role == Role.ADMIN
    info = None
    qr_traccar = qr_owntracks = None
    base_url = connect_base_url(settings)
    if credentials is not None:
        info = phone_connect.instructions(
            base_url, settings.osmand_port, credentials.device_id, credentials.token, driver.name
        )
        # segno picks the best mask by trying all eight: ~30 ms of pure Python for the
        # OwnTracks link. In a thread the loop (which also serves ingest) keeps running
        # between GIL switches instead of stalling for all of it.
        qr_traccar, qr_owntracks = await asyncio.to_thread(_qr_codes, info)
    elif device is not None:
        info = phone_connect.instructions(base_url, settings.osmand_port, name=driver.name, hint=device.hint)
    html = await render_template(
        "_connect.html",
        driver=driver,
        info=info,
        qr_traccar=qr_traccar,
        qr_owntracks=qr_owntracks,
        can_rotate=admin,
        rotated=credentials is not None,
        created=fresh == "created",
        announced=announced,
        from_public_url=bool(settings.public_url),
        auth_cache_ttl_s=settings.auth_cache_ttl_s,
        driver_link_minutes=_minutes(settings.driver_link_ttl_s),
    )
    # The body may carry a device id and token: never keep it in a cache or the back-forward cache.
    headers = {"Cache-Control": "no-store"}
    if credentials is not None:
        headers["HX-Trigger"] = "device-rotated"  # the detail card refreshes its device facts now
    return html, 200, headers


@bp.get("/ui/drivers/<int:driver_id>/connect")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF)
async def driver_connect(driver_id: int):
    """The detail pane's "Connect a phone" section, loaded when it is first opened."""
    pool = services().db
    async with pool.acquire() as conn:
        driver = await driver_queries.get_driver(conn, driver_id)  # NotFound: a readable 404
        device = await driver_queries.current_device(conn, driver_id)
    return await render_connect(driver, device)


@bp.post("/ui/drivers/<int:driver_id>/rotate")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF)
async def driver_rotate(driver_id: int):
    """Admins only: a new device id and token; the old ones stop working on every process at once."""
    user = await current_user()
    if user is None or user.role != Role.ADMIN:
        raise Forbidden("Only admins can rotate device tokens.")
    svc = services()
    pool, redis = svc.db, svc.redis
    announced = True

    async def announce(driver_id: int) -> None:
        nonlocal announced
        try:
            await revocation.announce(redis, driver_id)
        except Exception:
            # The rotation is committed: still show the new token (it is shown only now). Other
            # processes then drop the old one when their cache entry expires (AUTH_CACHE_TTL_S).
            log.warning("could not announce the rotation of driver %s", driver_id, exc_info=True)
            announced = False

    credentials = await drivers_admin.rotate(pool, audit.Actor(user.email, user.id), driver_id, announce)
    async with pool.acquire() as conn:
        driver = await driver_queries.get_driver(conn, driver_id)
    log.info("user %s rotated the device of driver %s", user.id, driver_id)
    return await render_connect(driver, None, credentials, announced)


def _minutes(seconds: float) -> int:
    return max(1, round(seconds / 60))


@bp.post("/ui/drivers/<int:driver_id>/driver-link")
@hide  # pages, not API: keep them out of /docs
@page_role_required(*STAFF)
async def driver_link(driver_id: int):
    """A one-time sign-in link (and its QR code) for the driver web app, for this driver's phone.

    Dispatchers and admins may create one. It signs in as the driver's current device (named
    by its row: the device id is a credential), so a rotation before it is used makes it
    worthless too.
    """
    user = await current_user()
    svc = services()
    pool, redis, settings = svc.db, svc.redis, svc.settings
    async with pool.acquire() as conn:
        driver = await driver_queries.get_driver(conn, driver_id)  # NotFound: a readable 404
        device = await driver_queries.current_device(conn, driver_id)
    if device is None:
        html = await render_template("_driver_link.html", driver=driver, link=None)
        return html, 409, {"Cache-Control": "no-store"}
    ttl_s = settings.driver_link_ttl_s
    token = await driver_session.create_link(redis, driver_id, device.row_id, ttl_s)
    link = f"{connect_base_url(settings).rstrip('/')}/d/login/{token}"
    qr = Markup(await asyncio.to_thread(phone_connect.qr_svg, link, "QR code to sign in to the driver web app"))
    if user is not None:  # a way into the driver's account: on the record, like a rotation
        async with pool.acquire() as conn:
            actor = audit.Actor(user.email, user.id)
            await audit.record(conn, actor, audit.Action.DRIVER_SIGNIN_LINK, "driver", driver_id, driver.name)
    log.info("user %s created a driver web app sign-in link for driver %s", user.id if user else None, driver_id)
    html = await render_template(
        "_driver_link.html",
        driver=driver,
        link=link,
        qr=qr,
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl_s),
        minutes=_minutes(ttl_s),
    )
    # The body is a credential until it is used: keep it out of every cache.
    return html, 200, {"Cache-Control": "no-store"}
