"""Accounts: signing in and out (a session cookie for staff and customers), and customers
signing up.

Neither page tells a stranger whether an email has an account: sign-in says "wrong email or
password" for both, and sign-up answers the same page for a new email and a taken one (the
sign-in form, asking for the password), after the same work (a password hashed, an insert
tried). Guessing is limited per address and per (account, address) pair; an account under
attack from many addresses is slowed, never locked (RATE_LOGIN_ACCOUNT, LOGIN_SLOWDOWN_S). When
Redis is away those limits cannot be checked, and both pages answer 503 instead of letting
guesses through unlimited.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from quart import Blueprint, redirect, render_template, request
from quart_schema import hide

from hexfleet import security
from hexfleet.errors import Conflict, Invalid
from hexfleet.users import queries as users
from hexfleet.users.logic import normalise_email
from hexfleet.users.roles import STAFF, Role
from webapp.auth import AccountDisabled, authenticate, current_user, end_session, start_session
from webapp.limits import LimitsUnavailable, client_address, limiter
from webapp.services import services

bp = Blueprint("login", __name__)
log = logging.getLogger("hexfleet.web")

MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; this only bounds the work one request can ask for

# Where each role lands after signing in when no page asked for the login.
CUSTOMER_HOME = "/ride"
STAFF_HOME = "/"


def safe_next(target: str | None) -> str:
    """Only ever redirect to a path on this site: never to another host (open redirect)."""
    if not target:
        return "/"
    # Backslashes are treated as slashes by browsers, so "/\evil.com" is protocol-relative.
    target = target.strip().replace("\\", "/")
    try:
        parts = urlsplit(target)
    except ValueError:  # an unbalanced bracketed host ("//[") is no path of ours
        return "/"
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if any(ord(ch) < 0x20 for ch in target):  # header injection, or stripped whitespace tricks
        return "/"
    return target


def home_for(role: str | None) -> str:
    return STAFF_HOME if role in STAFF else CUSTOMER_HOME


def landing(role: str, target: str | None) -> str:
    """Where a signed-in user goes: the page that asked for the login, else their role's home.

    A page that asked is honoured even when it is not for this role (a customer sent from the
    control room then gets its readable 403, not a silent detour); a refused target (another
    host) counts as no target.
    """
    if not target or not target.strip():
        return home_for(role)
    safe = safe_next(target)
    if safe == "/" and target.strip() != "/":
        return home_for(role)
    return safe


def _asked(value: str | None) -> str:
    """The page that asked for the login, made safe; "" when none did (forms carry it on)."""
    return safe_next(value) if value else ""


@bp.get("/login")
@hide  # pages, not API: keep them out of /docs
async def login_form():
    user = await current_user()
    asked = request.args.get("next")
    if user is not None and (user.role in STAFF or not asked):
        return redirect(landing(user.role, asked))
    return await render_template("login.html", user=user, next_url=_asked(asked), email="", error=None)


UNAVAILABLE = "Signing in is briefly unavailable. Please try again in a few seconds."


def _wants_problem() -> bool:
    """An API client (Accept: application/json, not htmx): it gets problem+json, not a page."""
    return "application/json" in request.headers.get("Accept", "") and "HX-Request" not in request.headers


async def spend_sign_in_attempt(email: str) -> float | None:
    """Spend one sign-in attempt; seconds to wait when refused. Raises LimitsUnavailable
    (503) when Redis cannot say: a password guess is never let through unlimited. Every check
    of a password against an account spends one: sign-in, and /account's confirmations.

    Refused per address and per (address, account) pair, before the (deliberately slow)
    password check, so a guessing run is stopped whichever it varies and costs nothing once
    stopped. The account's own ceiling (every address together) only slows: a refusal there
    would let anyone lock the owner out by guessing wrong on purpose.
    """
    address, account = client_address(), email.lower()[:254]
    wait = await limiter().retry_after("login_address", address, fail_closed=True)
    # The address first: it holds no "/", so (address, account) names one pair unambiguously.
    wait = wait or await limiter().retry_after("login_pair", address, account, fail_closed=True)
    if wait is None and await limiter().retry_after("login_account", account, fail_closed=True) is not None:
        settings = services().settings
        await asyncio.sleep(settings.login_slowdown_s)
    return wait


@bp.post("/login")
@hide  # pages, not API: keep them out of /docs
async def login_submit():
    form = await request.form
    email = (form.get("email") or "").strip()
    password = form.get("password") or ""
    asked = form.get("next") or request.args.get("next")
    user = None
    if email and password:
        try:
            wait = await spend_sign_in_attempt(email)
        except LimitsUnavailable as down:
            if _wants_problem():
                raise
            html = await render_template(
                "login.html", user=None, next_url=_asked(asked), email=email, error=UNAVAILABLE
            )
            return html, 503, down.headers
        if wait is not None:
            error = f"Too many sign-in attempts. Try again in {minutes(wait)}."
            html = await render_template("login.html", user=None, next_url=_asked(asked), email=email, error=error)
            return html, 429, {"Retry-After": str(max(1, round(wait)))}
        try:
            user = await authenticate(email, password)
        except AccountDisabled:
            error = "This account is disabled. Ask an administrator to enable it again."
            html = await render_template("login.html", user=None, next_url=_asked(asked), email=email, error=error)
            return html, 403
    if user is None:
        # One message for unknown email and wrong password: do not reveal which accounts exist.
        error = "Enter your email and password." if not (email and password) else "Wrong email or password."
        html = await render_template("login.html", user=None, next_url=_asked(asked), email=email, error=error)
        return html, 400
    await start_session(user)
    return redirect(landing(user.role, asked))


def minutes(seconds: float) -> str:
    if seconds < 90:
        n = max(1, round(seconds))
        return f"{n} second{'s' if n != 1 else ''}"
    return f"{round(seconds / 60)} minutes"


@bp.post("/logout")
@hide  # pages, not API: keep them out of /docs
async def logout():
    await end_session()
    return redirect("/login")


# ---------------------------------------------------------------- sign up


@bp.get("/signup")
@hide  # pages, not API: keep them out of /docs
async def signup_form():
    user = await current_user()
    if user is not None:
        return redirect(landing(user.role, request.args.get("next")))
    next_url = _asked(request.args.get("next"))
    return await render_template("signup.html", email="", errors={}, error=None, next_url=next_url)


def _signup_errors(email: str, password: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email address."
    else:
        try:
            if "\x00" in email:  # PostgreSQL refuses NUL characters
                raise Invalid("NUL in an email address")
            normalise_email(email)
        except Invalid:
            errors["email"] = "That does not look like an email address (name@example.com)."
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"Use at least {MIN_PASSWORD} characters."
    elif len(password) > MAX_PASSWORD:
        errors["password"] = f"Use at most {MAX_PASSWORD} characters."
    return errors


# The answer to every accepted sign-up, a new email's and a taken one's alike: the sign-in form
# with the email filled in. Signing in then needs the password, which a stranger trying
# emails does not have; the owner of a taken email signs in with the password they had.
SIGNED_UP = (
    "Thanks. Sign in with this email and your password to continue. If this email already had an "
    "account, nothing about it has changed: sign in with that account's password."
)


@bp.post("/signup")
@hide  # pages, not API: keep them out of /docs
async def signup_submit():
    form = await request.form
    email = (form.get("email") or "").strip()
    password = form.get("password") or ""
    next_url = _asked(form.get("next"))
    errors = _signup_errors(email, password)
    if errors:
        html = await render_template("signup.html", email=email, errors=errors, error=None, next_url=next_url)
        return html, 400
    try:
        wait = await limiter().retry_after("signup", client_address(), fail_closed=True)
    except LimitsUnavailable as down:
        if _wants_problem():
            raise
        error = "Creating accounts is briefly unavailable. Please try again in a few seconds."
        html = await render_template("signup.html", email=email, errors={}, error=error, next_url=next_url)
        return html, 503, down.headers
    if wait is not None:
        error = f"Too many sign-ups from this address. Try again in {minutes(wait)}."
        html = await render_template("signup.html", email=email, errors={}, error=error, next_url=next_url)
        return html, 429, {"Retry-After": str(max(1, round(wait)))}
    # The same work whether the email is new or taken (a password hashed, an insert tried), so
    # neither the answer nor its time tells them apart; nobody is signed in by a sign-up.
    pool = services().db
    password_hash = await asyncio.to_thread(security.hash_password, password)
    try:
        async with pool.acquire() as conn:
            user = await users.create_user(conn, normalise_email(email), password_hash, Role.CUSTOMER)
    except Conflict:
        log.info("sign-up for an email that has an account: nothing changed")
    else:
        log.info("customer %s signed up", user.id)
    html = await render_template("login.html", user=None, next_url=next_url, email=email, error=None, notice=SIGNED_UP)
    return html, 200, {"Cache-Control": "no-store"}
