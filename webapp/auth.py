"""Who is calling: staff sessions (quart-auth cookie) or user Bearer API tokens.

Driver devices authenticate separately (see webapp/ingest.py), with their own tokens; the
driver web app (/d) with its own session cookie (webapp/driver_session.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import wraps
from urllib.parse import quote

from quart import abort, g, has_request_context, redirect, render_template, request, websocket
from quart_auth import AuthUser, QuartAuth, login_user, logout_user
from quart_auth import current_user as session_user

from hexfleet import security
from hexfleet.errors import DomainError, TooManyRequests
from hexfleet.users import queries as users
from hexfleet.users.queries import User
from webapp import auth_failures, driver_session
from webapp.limits import client_address
from webapp.services import services


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


def init_auth(app, settings) -> None:
    app.secret_key = settings.require_secret_key()
    app.config.update(
        QUART_AUTH_COOKIE_SECURE=settings.secure_cookies,
        # Lax: never sent on cross-site POSTs (every state change here is a POST), and unlike
        # Strict it survives the redirect that follows the login form.
        QUART_AUTH_COOKIE_SAMESITE="Lax",
        QUART_AUTH_DURATION=int(settings.session_hours * 3600),  # staff sessions: hours, not the 365-day default
        QUART_AUTH_COOKIE_NAME="hexfleet_session",
    )
    QuartAuth(app)


def _headers():
    return request.headers if has_request_context() else websocket.headers


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None.

    A request with a Bearer header is judged by that token alone (its cookies are never
    read), which is what exempts it from the CSRF check. Any other Authorization header
    (Basic credentials a proxy in front asks browsers for, say) means nothing to hexfleet:
    such a request is judged by its cookies, and checked like any other cookie request.
    """
    if authorization is not None and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


async def current_user() -> User | None:
    """The caller, from a Bearer user token or the session cookie; cached per request."""
    if "hexfleet_user" in g:
        return g.hexfleet_user
    user = None
    pool = services().db
    token = bearer_token(_headers().get("Authorization"))
    if token is not None:
        async with pool.acquire() as conn:
            user = await users.user_for_token(conn, token)
    else:
        session_id = _session_id()
        if session_id is not None:
            async with pool.acquire() as conn:
                user = await users.user_for_session(conn, session_id)
    g.hexfleet_user = user
    return user


def caller_check() -> Callable[[], Awaitable[bool]]:
    """For a stream that outlives its request: a check, usable without the request context,
    that the credentials which opened it (the same Bearer token or session) still name the
    same user in the same role. Signing out, a new password, a disabled account or a revoked
    token make it False; call it after current_user()."""
    pool = services().db
    opened_by = g.get("hexfleet_user")
    token = bearer_token(_headers().get("Authorization"))
    session_id = None if token is not None else _session_id()

    async def still_valid() -> bool:
        if opened_by is None:
            return False
        async with pool.acquire() as conn:
            if token is not None:
                now = await users.user_for_token(conn, token)
            elif session_id is not None:
                now = await users.user_for_session(conn, session_id)
            else:
                now = None
        return now is not None and now.id == opened_by.id and now.role == opened_by.role

    return still_valid


async def require_user(*roles: str) -> User:
    user = await current_user()
    if user is None:
        raise Unauthenticated("log in, or send Authorization: Bearer <API token>")
    if roles and user.role not in roles:
        raise Forbidden(f"this needs the {' or '.join(roles)} role")
    return user


async def require_hidden(*roles: str) -> User:
    """For staff areas nobody else needs to know of (analytics): a signed-in caller of another
    role, or a driver (device token or /d session), gets the 404 of a path that does not exist.
    No credentials at all stay a 401, so staff whose token expired are told to sign in again."""
    user = await current_user()
    if user is not None:
        if user.role in roles:
            return user
        abort(404)
    token = bearer_token(_headers().get("Authorization"))
    if token is not None:
        if len(token) <= 200 and await services().ingest.auth.driver_for(token) is not None:
            abort(404)
    elif await driver_session.current_session() is not None:
        abort(404)
    raise Unauthenticated("log in, or send Authorization: Bearer <API token>")


def role_required(*roles: str, hidden: bool = False):
    """For API routes and streams: 401/403 problem+json (404 for other callers, `hidden`: see
    require_hidden). Put it above @validate_request, so callers are checked before their body is
    read and validated."""

    def decorator(func):
        @wraps(func)
        async def wrapper(*args, **kwargs):
            await (require_hidden if hidden else require_user)(*roles)
            return await func(*args, **kwargs)

        return wrapper

    return decorator


def page_role_required(*roles: str, hidden: bool = False):
    """For pages: anonymous users go to the login form, wrong roles get a readable 403 (or,
    `hidden`, the 404 of a page that does not exist)."""

    def decorator(func):
        @wraps(func)
        async def wrapper(*args, **kwargs):
            user = await current_user()
            if user is None:
                return redirect(f"/login?next={quote(request.full_path.rstrip('?'), safe='/')}")
            if roles and user.role not in roles:
                if hidden:
                    abort(404)
                return await render_template(
                    "error.html",
                    status=403,
                    title="Not for this account",
                    detail=f"This page is for {' and '.join(r + 's' for r in roles)}. "
                    f"You are logged in as {user.email}.",
                ), 403
            return await func(*args, **kwargs)

        return wrapper

    return decorator


def driver_required(func):
    """For driver endpoints with a body: the credentials are checked before the body is read
    and validated, so a stranger learns nothing about the schema and costs no parsing."""

    @wraps(func)
    async def wrapper(*args, **kwargs):
        await require_driver()
        return await func(*args, **kwargs)

    return wrapper


async def require_driver() -> int:
    """The driver behind a Bearer device token (driver apps), or behind the driver web app's
    session cookie (/d, see webapp.driver_session); 401 otherwise.

    A request that sends a Bearer token is judged by it alone; any other (a proxy's Basic
    credentials) by its session cookie. Cookie requests that change state also pass the CSRF
    check (webapp.csrf), as every browser request does.
    """
    if "hexfleet_driver_id" in g:  # checked already in this request (driver_required)
        return g.hexfleet_driver_id
    g.hexfleet_driver_id = await _find_driver()
    return g.hexfleet_driver_id


def driver_check() -> Callable[[], Awaitable[bool]]:
    """For a driver's stream: whether the device token or the driver web app session that
    opened it still stands (rotation, deactivation, signing out end it); call after
    require_driver()."""
    svc = services()
    ingest, redis, driver_id = svc.ingest, svc.redis, g.get("hexfleet_driver_id")
    token = bearer_token(request.headers.get("Authorization"))
    session = g.get("hexfleet_driver_session") if token is None else None

    async def still_valid() -> bool:
        if driver_id is None:
            return False
        if token is not None:
            return await ingest.auth.driver_for(token) == driver_id
        return session is not None and await driver_session.still_open(redis, ingest, session)

    return still_valid


async def _find_driver() -> int:
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        session = await driver_session.current_session()
        if session is None:
            raise Unauthenticated("send Authorization: Bearer <device token>, or sign in to the driver web app at /d")
        return session.driver_id
    # A wrong device token spends the address's RATE_DEVICE_AUTH budget here too, as on the
    # ingest and the phone protocols: every driver route answers a stranger.
    ingest = services().ingest
    address = client_address()
    wait = ingest.auth_failures.blocked(address)
    if wait is None:
        driver_id = await ingest.auth.driver_for(token) if len(token) <= 200 else None
        if driver_id is not None:
            return driver_id
        wait = await ingest.auth_failures.failed(address, token)
    if wait is not None:
        seconds, detail = auth_failures.refusal(wait)
        raise DeviceAuthLimited(detail, seconds)
    raise Unauthenticated("send Authorization: Bearer <device token>")


class DeviceAuthLimited(TooManyRequests):
    code = auth_failures.CODE


class AccountDisabled(DomainError):
    status = 403
    code = "account-disabled"


async def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password; None when either is wrong. A disabled account
    raises AccountDisabled, but only after the right password (so it reveals nothing new)."""
    if "\x00" in email or len(email) > 254:
        return None  # cannot be a stored email, and PostgreSQL refuses NUL characters
    async with services().db.acquire() as conn:
        found = await users.get_login(conn, email.strip())
    if found is None:
        # Spend the same time as a real check, so response time does not reveal which emails exist.
        await asyncio.to_thread(security.verify_password, _DUMMY_HASH, password)
        return None
    if not await asyncio.to_thread(security.verify_password, found.password_hash, password):
        return None
    if found.disabled:
        raise AccountDisabled("this account is disabled; ask an administrator")
    return found.user


_DUMMY_HASH = security.hash_password("not-a-real-password")

# quart-auth signs the cookie; what it carries is the id of a server-side session row
# (user_sessions), so a session can be ended before its cookie expires.
_SESSION_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _session_id() -> str | None:
    value = session_user.auth_id
    if value is None or not 32 <= len(value) <= 64 or not set(value) <= _SESSION_ID_CHARS:
        return None  # includes pre-session cookies, which carried a bare user id
    return value


async def start_session(user: User) -> None:
    """A new session row for ``user`` (ending the one this browser had) and its cookie."""
    settings = services().settings
    async with services().db.acquire() as conn:
        old = _session_id()
        if old is not None:
            await users.end_session(conn, old)
        session_id = await users.create_session(
            conn, user.id, settings.session_hours, request.headers.get("User-Agent", "")
        )
    login_user(AuthUser(session_id))
    g.pop("hexfleet_user", None)


async def end_session() -> None:
    session_id = _session_id()
    if session_id is not None:
        async with services().db.acquire() as conn:
            await users.end_session(conn, session_id)
    logout_user()


def current_session_id() -> str | None:
    """This browser's session (to keep it when ending the user's others)."""
    return _session_id()
