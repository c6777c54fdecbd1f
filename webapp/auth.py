"""Who is calling: staff sessions (quart-auth cookie) or user Bearer API tokens.

Driver devices authenticate separately (see webapp/ingest.py), with their own tokens; the
driver web app (/d) with its own session cookie (webapp/driver_session.py).
"""

from __future__ import annotations

import asyncio
from functools import wraps
from urllib.parse import quote

from quart import current_app, g, has_request_context, redirect, render_template, request, websocket
from quart_auth import AuthUser, QuartAuth, login_user, logout_user
from quart_auth import current_user as session_user

from hexfleet import security
from hexfleet.errors import DomainError
from hexfleet.users import queries as users
from hexfleet.users.queries import User
from webapp import driver_session

STAFF = ("dispatcher", "admin")


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


async def current_user() -> User | None:
    """The caller, from a Bearer user token or the session cookie; cached per request."""
    if "hexfleet_user" in g:
        return g.hexfleet_user
    user = None
    pool = current_app.extensions["db"]
    auth = _headers().get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        async with pool.acquire() as conn:
            user = await users.user_for_token(conn, auth[7:].strip())
    else:
        auth_id = session_user.auth_id
        if auth_id is not None and auth_id.isdigit():
            async with pool.acquire() as conn:
                user = await users.get_user(conn, int(auth_id))
    g.hexfleet_user = user
    return user


async def require_user(*roles: str) -> User:
    user = await current_user()
    if user is None:
        raise Unauthenticated("log in, or send Authorization: Bearer <API token>")
    if roles and user.role not in roles:
        raise Forbidden(f"this needs the {' or '.join(roles)} role")
    return user


def role_required(*roles: str):
    """For API routes and streams: 401/403 problem+json."""

    def decorator(func):
        @wraps(func)
        async def wrapper(*args, **kwargs):
            await require_user(*roles)
            return await func(*args, **kwargs)

        return wrapper

    return decorator


def page_role_required(*roles: str):
    """For pages: anonymous users go to the login form, wrong roles get a readable 403."""

    def decorator(func):
        @wraps(func)
        async def wrapper(*args, **kwargs):
            user = await current_user()
            if user is None:
                return redirect(f"/login?next={quote(request.full_path.rstrip('?'), safe='/')}")
            if roles and user.role not in roles:
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


async def require_driver() -> int:
    """The driver behind a Bearer device token (driver apps), or behind the driver web app's
    session cookie (/d, see webapp.driver_session); 401 otherwise.

    A request that sends Authorization is judged by it alone. Cookie requests that change
    state also pass the CSRF check (webapp.csrf), as every browser request does.
    """
    auth = request.headers.get("Authorization")
    if auth is None:
        session = await driver_session.current_session()
        if session is None:
            raise Unauthenticated("send Authorization: Bearer <device token>, or sign in to the driver web app at /d")
        return session.driver_id
    driver_id = None
    if auth[:7].lower() == "bearer " and len(auth) <= 200:
        driver_id = await current_app.extensions["ingest"].auth.driver_for(auth[7:].strip())
    if driver_id is None:
        raise Unauthenticated("send Authorization: Bearer <device token>")
    return driver_id


async def authenticate(email: str, password: str) -> User | None:
    if "\x00" in email or len(email) > 254:
        return None  # cannot be a stored email, and PostgreSQL refuses NUL characters
    async with current_app.extensions["db"].acquire() as conn:
        found = await users.get_login(conn, email.strip())
    if found is None:
        # Spend the same time as a real check, so response time does not reveal which emails exist.
        await asyncio.to_thread(security.verify_password, _DUMMY_HASH, password)
        return None
    user, password_hash = found
    ok = await asyncio.to_thread(security.verify_password, password_hash, password)
    return user if ok else None


_DUMMY_HASH = security.hash_password("not-a-real-password")


def start_session(user: User) -> None:
    login_user(AuthUser(str(user.id)))


def end_session() -> None:
    logout_user()
