"""Cross-site request forgery: every state-changing browser request proves it came from our pages.

Two checks, on every POST/PUT/PATCH/DELETE that a browser could send with its cookies
(machine endpoints and requests authenticated by a Bearer token are exempt: those are judged
by the token alone, never by a cookie, so there is no ambient credential to abuse; any other
``Authorization`` header, such as the Basic credentials a proxy in front asks browsers for and
browsers then send by themselves, exempts nothing):

1. **Origin**: when the browser names where the request comes from (``Origin``, or
   ``Sec-Fetch-Site``), it must be this site (the host the browser asked for, PUBLIC_URL, or
   ALLOWED_ORIGINS). Other sites (sibling subdomains included) are refused, and so is
   ``Origin: null`` unless ``Sec-Fetch-Site`` says same-origin.
2. **Token**: a request that carries cookies must also carry the page's CSRF token (form
   field ``csrf_token`` or header ``X-CSRF-Token``). The token is an HMAC of a random
   per-browser cookie, so a page on another site can neither read nor forge it (the
   "signed double submit" pattern; SameSite=Lax cookies alone do not stop same-site attacks).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from quart import Quart, current_app, g, request

from hexfleet.errors import DomainError
from webapp.auth import bearer_token
from webapp.services import services

COOKIE = "hexfleet_csrf"
HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
# Phones and driver apps post here with their own credentials, never from a browser session.
MACHINE_PATHS = ("/api/v1/driver/pings", "/osmand", "/owntracks")


class CsrfRefused(DomainError):
    status = 403
    code = "csrf"


def _token(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def csrf_token() -> str:
    """The token for this browser (templates put it in forms and in htmx's headers)."""
    nonce = request.cookies.get(COOKIE, "")
    if not _valid_nonce(nonce):
        nonce = g.get("csrf_new_nonce") or secrets.token_urlsafe(24)
        g.csrf_new_nonce = nonce  # set as a cookie on the way out
    return _token(current_app.secret_key, nonce)  # type: ignore[arg-type]


def _valid_nonce(nonce: str) -> bool:
    return 20 <= len(nonce) <= 64 and nonce.replace("-", "").replace("_", "").isalnum()


def _netloc(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[": matches no origin
        return "\x00"
    return (parts.netloc or "").lower()


def allowed_origin(origin: str, host: str, extra: tuple[str, ...]) -> bool:
    """This site's own origin: the host the browser asked for, or a configured one."""
    if not origin or origin == "null":
        return False
    netloc = _netloc(origin)
    return netloc == host.lower() or netloc in {_netloc(o) for o in extra if o}


def check_request() -> None:
    """Raise CsrfRefused (403) for a cross-site state change; called before every request."""
    if request.method not in UNSAFE or request.path.startswith(MACHINE_PATHS):
        return
    if bearer_token(request.headers.get("Authorization")) is not None:
        return  # a token the client sends on purpose, and then its cookies count for nothing
    settings = services().settings
    extra = (settings.public_url, *settings.allowed_origins_list())
    origin = request.headers.get("Origin")
    site = request.headers.get("Sec-Fetch-Site")
    if origin is not None and origin != "null":
        if not allowed_origin(origin, request.host, extra):
            raise CsrfRefused(f"this request came from another site ({origin[:80]}): refused")
    elif origin == "null":
        # Our pages send no referrer, and with that policy browsers send "Origin: null" for
        # their own forms too; Sec-Fetch-Site still tells ours (same-origin) from a sandboxed
        # frame or a data: page elsewhere (cross-site).
        if site != "same-origin":
            raise CsrfRefused("this request came from an opaque origin: refused")
    elif site is not None and site not in ("same-origin", "none"):
        raise CsrfRefused("this request came from another site: refused")
    if not request.cookies:
        return  # nothing ambient to ride on (a first sign-in from a fresh browser)
    nonce = request.cookies.get(COOKIE, "")
    sent = request.headers.get(HEADER) or (g.get("csrf_form_token") or "")
    expected = _token(current_app.secret_key, nonce)  # type: ignore[arg-type]
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500 once),
    # and a form field or header may hold anything.
    if not _valid_nonce(nonce) or not hmac.compare_digest(sent.encode(errors="replace"), expected.encode()):
        raise CsrfRefused("the page's security token is missing or stale: reload the page and try again")


def init_csrf(app: Quart, secure: bool) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    async def _csrf() -> None:
        if request.method in UNSAFE and request.mimetype in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            g.csrf_form_token = (await request.form).get(FIELD)
        check_request()

    @app.after_request
    async def _csrf_cookie(response):
        nonce = g.get("csrf_new_nonce")
        if nonce:
            response.set_cookie(COOKIE, nonce, httponly=True, samesite="Lax", secure=secure, path="/")
        return response
