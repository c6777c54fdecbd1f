"""The driver web app's session: one-time sign-in links, and the cookie that follows them.

A dispatcher creates a link for a driver (the control room's "Connect a phone" pane). Its
token is random; Redis keeps only its sha256, with the driver and the device that was
live when the link was made (its row id: the device id itself is a credential, stored
only hashed), for DRIVER_LINK_TTL_S. Opening the link shows a confirmation page (link
previews and QR scanners only ever GET, so they cannot spend it); the POST spends it with
GETDEL, atomically, so it works exactly once.

The session is a cookie (``hexfleet_driver``) signed with SECRET_KEY that carries a random
session id and nothing else: whoever reads the cookie (anyone who opened a /d link on a
shared phone, say) learns no driver and no device. Redis keeps the id's sha256 for
DRIVER_SESSION_HOURS, with the driver and that device's row, so signing out ends the
session on the server, not just in this browser. It is valid only while the device is
still a live device of the driver, too: rotating the device token (or revoking it) ends
every session and every unused link of that driver at once. That check goes through the
ingest's device cache (by the device's row), which every web process empties when a
rotation is announced, so a driver on /d costs one Redis lookup per request (the session
record) and no database query, just as a driver app's Bearer token does not.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from quart import g, request

from hexfleet import keys
from webapp.services import services

log = logging.getLogger("hexfleet.web")

COOKIE = "hexfleet_driver"
_SALT = "hexfleet.driver-session"
# Link tokens are token_urlsafe(32): 43 characters of [A-Za-z0-9_-].
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_MAX_COOKIE = 512


@dataclass(frozen=True)
class DriverSession:
    driver_id: int
    device_row: int  # devices.id of the device live when the link was made
    session_id: str = ""  # empty for a link that has not been spent yet


# ---------------------------------------------------------------- one-time links


def _well_formed(token: str) -> bool:
    return 20 <= len(token) <= 100 and set(token) <= _TOKEN_CHARS


def _link_key(token: str) -> str:
    return keys.driver_link(hashlib.sha256(token.encode()).hexdigest())


def _record(driver_id: int, device_row: int) -> str:
    return f"{driver_id}:{device_row}"


def _parse_record(value: bytes | str | None) -> DriverSession | None:
    """``driver:device row``; None for anything else (a record written before device ids were
    hashed named the device by its id: such a session or link is over)."""
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    driver, _, device = text.partition(":")
    if not (driver.isascii() and driver.isdigit() and device.isascii() and device.isdigit()):
        return None
    if len(driver) > 19 or len(device) > 19:
        return None
    return DriverSession(int(driver), int(device))


async def create_link(redis, driver_id: int, device_row: int, ttl_s: float) -> str:
    """A new one-time sign-in token for this driver and device (its row), valid for ``ttl_s``."""
    token = secrets.token_urlsafe(32)
    await redis.set(_link_key(token), _record(driver_id, device_row), px=max(1, round(ttl_s * 1000)))
    return token


async def peek_link(redis, token: str) -> DriverSession | None:
    """What a link would sign in as, without spending it (the confirmation page)."""
    if not _well_formed(token):
        return None
    key = _link_key(token)
    raw = await redis.get(key)
    link = _parse_record(raw)
    if link is None and raw is not None:  # made before device ids were hashed (it names one): gone
        await redis.delete(key)
    return link


async def spend_link(redis, token: str) -> DriverSession | None:
    """Spend a link: the first caller gets its session, every later one None (GETDEL)."""
    if not _well_formed(token):
        return None
    return _parse_record(await redis.getdel(_link_key(token)))


# ---------------------------------------------------------------- the cookie


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def cookie_value(secret_key: str, session: DriverSession) -> str:
    """The session id, signed: no driver and no device (the Redis record holds those)."""
    return _serializer(secret_key).dumps({"s": session.session_id})


def _session_key(session_id: str) -> str:
    return keys.driver_session(hashlib.sha256(session_id.encode()).hexdigest())


async def start(redis, link: DriverSession, ttl_s: float) -> DriverSession:
    """A server-side session for a spent link; the cookie carries its id."""
    session = DriverSession(link.driver_id, link.device_row, secrets.token_urlsafe(32))
    await redis.set(
        _session_key(session.session_id), _record(session.driver_id, session.device_row), px=max(1, round(ttl_s * 1000))
    )
    return session


async def end(redis, session: DriverSession) -> None:
    if session.session_id:
        await redis.delete(_session_key(session.session_id))


async def load(redis, session_id: str) -> DriverSession | None:
    """The session a (verified) cookie names, while Redis still has it."""
    if not _well_formed(session_id):
        return None
    key = _session_key(session_id)
    raw = await redis.get(key)
    stored = _parse_record(raw)
    if stored is None:
        if raw is not None:  # written before device ids were hashed (it names one): gone
            await redis.delete(key)
        return None
    return DriverSession(stored.driver_id, stored.device_row, session_id)


async def _is_open(redis, session: DriverSession) -> bool:
    """Still the same session in Redis: not signed out, not expired."""
    return await load(redis, session.session_id) == session


def read_cookie(secret_key: str, value: str, max_age_s: float) -> str | None:
    """The session id a cookie carries, if it is ours, untampered and younger than ``max_age_s``."""
    if not value or len(value) > _MAX_COOKIE:
        return None
    try:
        data = _serializer(secret_key).loads(value, max_age=max(1, round(max_age_s)))
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict):
        return None
    session_id = data.get("s")
    if not isinstance(session_id, str) or not session_id:
        return None
    return session_id


def set_cookie(response, settings, session: DriverSession) -> None:
    response.set_cookie(
        COOKIE,
        cookie_value(settings.require_secret_key(), session),
        max_age=max(1, round(settings.driver_session_hours * 3600)),
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_cookie(response, settings) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax", secure=settings.secure_cookies)


async def device_is_live(session: DriverSession, ingest=None) -> bool:
    """The session's device is still a live device of its driver (not rotated or revoked)."""
    ingest = ingest or services().ingest
    return await ingest.auth.driver_for_device_row(session.device_row) == session.driver_id


async def still_open(redis, ingest, session: DriverSession) -> bool:
    """The session is neither signed out nor expired, and its device is live (for streams
    that outlive their request: no request or app context needed)."""
    return await _is_open(redis, session) and await device_is_live(session, ingest)


async def current_session() -> DriverSession | None:
    """The driver signed in to the web app on this browser, or None; cached per request."""
    if "hexfleet_driver_session" in g:
        return g.hexfleet_driver_session
    session = None
    raw = request.cookies.get(COOKIE)
    if raw:
        settings = services().settings
        session_id = read_cookie(settings.require_secret_key(), raw, settings.driver_session_hours * 3600)
        if session_id is not None:
            # None when signed out (on this or another browser tab), or expired.
            session = await load(services().redis, session_id)
        if session is not None and not await device_is_live(session):
            session = None  # the device token was rotated: this session is over
    g.hexfleet_driver_session = session
    return session
