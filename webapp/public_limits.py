"""RATE_PUBLIC: what a stranger reaches without signing in is limited per client address.

Tracking links, driver sign-in links, the readiness probe and the API docs answer anyone,
so they are where tokens get guessed and where one client can make us do work for free.
One list of those paths and one hook in front of every view, so a new public route is
limited by adding it here, not by remembering a call in each view. Sign-in and sign-up
forms are limited here on GET only: their POSTs spend RATE_LOGIN_* and RATE_SIGNUP.

/healthz is left out on purpose: it touches nothing, so the limit's Redis call would cost
more than the answer, and a liveness probe must not wait on Redis.
"""

from __future__ import annotations

from quart import Quart, request

from webapp.errors import problem, respond
from webapp.limits import client_address, limiter

# Every route under these (any method): the secret is in the path.
PUBLIC_PREFIXES = ("/t/", "/api/v1/track/", "/d/login/")
# These exact paths, any method.
PUBLIC_PATHS = frozenset({"/readyz", "/docs", "/openapi.json", "/d/signed-out"})
# These exact paths on GET (and HEAD): their POSTs have limits of their own.
PUBLIC_FORMS = frozenset({"/login", "/signup"})
# Answered as problem+json whatever the client accepts: only machines read them.
JSON_PATHS = frozenset({"/openapi.json"})


def is_public(method: str, path: str) -> bool:
    """Whether RATE_PUBLIC applies to this request."""
    if path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_PATHS:
        return True
    return method in ("GET", "HEAD") and path in PUBLIC_FORMS


async def _limit_public():
    if not is_public(request.method, request.path):
        return None
    wait = await limiter().retry_after("public", client_address())
    if wait is None:
        return None
    seconds = max(1, round(wait))
    headers = {"Retry-After": str(seconds)}
    detail = f"too many requests from your address: try again in {seconds} s"
    if request.path in JSON_PATHS:
        return problem(429, detail, "rate-limited", headers, retry_after=seconds)
    page = f"Too many requests came from your address. Please try again in {seconds} seconds."
    return await respond(429, detail, "rate-limited", headers, page_detail=page, retry_after=seconds)


def init_public_limits(app: Quart) -> None:
    """Register before the other request hooks, so a refused request costs nothing else
    (no CSRF check, no session lookup)."""
    app.before_request(_limit_public)
