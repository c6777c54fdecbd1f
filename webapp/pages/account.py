"""Your account: a new password, where you are signed in (end the other sessions), and your
API tokens (list, create, revoke).

Every signed-in user has it (staff and customers). A new password ends every other session
of the account at once, because whoever knew the old password may hold one of them, and
revokes its API tokens unless the owner ticks "keep". Tokens are made and revoked from a
signed-in browser only, never with a token (a leaked token must not mint its successor), and
making one asks for the password again (a borrowed session must not mint a credential that
outlives it); a new token is shown once.
"""

from __future__ import annotations

import asyncio
import logging

from quart import Blueprint, redirect, render_template, request
from quart_schema import hide

from hexfleet import audit, security
from hexfleet.errors import Conflict, Invalid, NotFound
from hexfleet.users import account as accounts
from hexfleet.users import queries as users
from hexfleet.users.logic import DEFAULT_TOKEN_DAYS, MAX_LIVE_TOKENS, MAX_TOKEN_LABEL
from webapp.auth import bearer_token, current_session_id, current_user
from webapp.limits import LimitsUnavailable
from webapp.pages.login import MAX_PASSWORD, MIN_PASSWORD, minutes, spend_sign_in_attempt
from webapp.services import services

bp = Blueprint("account", __name__)
log = logging.getLogger("hexfleet.web")

_NOTICES = {
    "password": "Your password is changed. Every other session of this account has ended, "
    "and its API tokens are revoked.",
    "password-kept": "Your password is changed. Every other session of this account has ended; "
    "your API tokens still work.",
    "others": "Every other session of this account has ended.",
    "revoked": "The API token is revoked: it stops working at once.",
}
# Lifetimes offered on the form (days); the default is preselected.
TOKEN_DAYS = (7, 30, DEFAULT_TOKEN_DAYS, 365)
TOKEN_LIMITS_DOWN = "Checking passwords is briefly unavailable. Please try again in a few seconds."


def describe_agent(user_agent: str) -> str:
    """'Firefox on Android' from a User-Agent header: enough to recognise one's own devices."""
    ua = user_agent.lower()
    browser = next(
        (
            name
            for key, name in (
                ("edg/", "Edge"),
                ("firefox/", "Firefox"),
                ("chrome/", "Chrome"),
                ("safari/", "Safari"),
                ("curl/", "curl"),
            )
            if key in ua
        ),
        "A browser",
    )
    system = next(
        (
            name
            for key, name in (
                ("android", "Android"),
                ("iphone", "iPhone"),
                ("ipad", "iPad"),
                ("windows", "Windows"),
                ("mac os", "macOS"),
                ("linux", "Linux"),
            )
            if key in ua
        ),
        "",
    )
    return f"{browser} on {system}" if system else browser


def _by_token() -> bool:
    """The caller signed in with a Bearer token, not this browser's session."""
    return bearer_token(request.headers.get("Authorization")) is not None


async def _page(
    user,
    *,
    errors: dict | None = None,
    token_errors: dict | None = None,
    notice: str | None = None,
    new_token: users.NewToken | None = None,
    token_form: dict | None = None,
    status: int = 200,
    headers: dict | None = None,
):
    pool = services().db
    async with pool.acquire() as conn:
        sessions = await users.list_sessions(conn, user.id, current_session_id())
        tokens = await users.list_api_tokens(conn, user.id)
    html = await render_template(
        "account.html",
        user=user,
        sessions=[(session, describe_agent(session.user_agent)) for session in sessions],
        errors=errors or {},
        notice=notice,
        tokens=tokens,
        token_errors=token_errors or {},
        token_form=token_form or {"label": "", "days": DEFAULT_TOKEN_DAYS},
        token_days=TOKEN_DAYS,
        max_label=MAX_TOKEN_LABEL,
        new_token=new_token,
        by_token=_by_token(),
    )
    # Never cached: the page may carry a new token, shown this once.
    return html, status, {"Cache-Control": "no-store", **(headers or {})}


async def _password_is(user, password: str) -> bool:
    pool = services().db
    async with pool.acquire() as conn:
        login = await users.get_login(conn, user.email)
    return login is not None and await asyncio.to_thread(
        security.verify_password, login.password_hash, password[:MAX_PASSWORD]
    )


@bp.get("/account")
@hide  # pages, not API: keep them out of /docs
async def account():
    user = await current_user()
    if user is None:
        return redirect("/login?next=/account")
    return await _page(user, notice=_NOTICES.get(request.args.get("done", "")))


@bp.post("/account/password")
@hide  # pages, not API: keep them out of /docs
async def change_password():
    user = await current_user()
    if user is None:
        return redirect("/login?next=/account")
    form = await request.form
    current, new, again = (form.get(k) or "" for k in ("current", "new", "again"))
    keep_tokens = form.get("keep_tokens") == "yes"
    errors = {}
    try:
        wait = await spend_sign_in_attempt(user.email)  # checking the current password is a sign-in
    except LimitsUnavailable as down:
        return await _page(user, errors={"current": TOKEN_LIMITS_DOWN}, status=503, headers=down.headers)
    if wait is not None:
        errors = {"current": f"Too many password attempts. Try again in {minutes(wait)}."}
        return await _page(user, errors=errors, status=429, headers={"Retry-After": str(max(1, round(wait)))})
    if not await _password_is(user, current):
        errors["current"] = "That is not your current password."
    if not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
        errors["new"] = f"Use at least {MIN_PASSWORD} characters."
    elif new != again:
        errors["again"] = "The two new passwords differ."
    if errors:
        return await _page(user, errors=errors, status=400)
    password_hash = await asyncio.to_thread(security.hash_password, new)
    pool = services().db
    change = await accounts.change_password(
        pool,
        audit.Actor(user.email, user.id),
        user,
        password_hash,
        keep_session=current_session_id(),
        keep_tokens=keep_tokens,
    )
    log.info(
        "user %s changed their password; %d other sessions ended, %d API tokens revoked",
        user.id,
        change.sessions_ended,
        change.tokens_revoked,
    )
    return redirect("/account?done=" + ("password-kept" if keep_tokens else "password"), 303)


@bp.post("/account/sign-out-others")
@hide  # pages, not API: keep them out of /docs
async def sign_out_others():
    user = await current_user()
    if user is None:
        return redirect("/login?next=/account")
    pool = services().db
    async with pool.acquire() as conn:
        ended = await users.end_sessions(conn, user.id, keep=current_session_id())
    log.info("user %s ended %d other sessions", user.id, ended)
    return redirect("/account?done=others", 303)


async def _browser_user():
    """The user of this browser's session, for token changes; a redirect or a 403 page else."""
    user = await current_user()
    if user is None:
        return None, redirect("/login?next=/account")
    if _by_token():
        html = await render_template(
            "error.html",
            status=403,
            title="Not with a token",
            detail="API tokens are made and revoked from a signed-in browser, on /account, not with a token.",
        )
        return None, (html, 403)
    return user, None


@bp.post("/account/tokens")
@hide  # pages, not API: keep them out of /docs
async def create_token():
    user, refused = await _browser_user()
    if refused is not None:
        return refused
    form = await request.form
    label = (form.get("label") or "")[: MAX_TOKEN_LABEL * 4]  # bounded before it is cleaned
    days_text = (form.get("days") or "").strip()
    token_form = {"label": label, "days": days_text}
    try:
        wait = await spend_sign_in_attempt(user.email)  # the password is checked: as a sign-in
    except LimitsUnavailable as down:
        return await _page(
            user, token_errors={"password": TOKEN_LIMITS_DOWN}, token_form=token_form, status=503, headers=down.headers
        )
    if wait is not None:
        token_errors = {"password": f"Too many password attempts. Try again in {minutes(wait)}."}
        headers = {"Retry-After": str(max(1, round(wait)))}
        return await _page(user, token_errors=token_errors, token_form=token_form, status=429, headers=headers)
    token_errors = {}
    if not await _password_is(user, form.get("password") or ""):
        token_errors["password"] = "That is not your password."
    days = int(days_text) if days_text.isascii() and days_text.isdigit() and len(days_text) < 6 else 0
    if days not in TOKEN_DAYS:
        token_errors["days"] = "Choose how long the token lives."
    if token_errors:
        return await _page(user, token_errors=token_errors, token_form=token_form, status=400)
    pool = services().db
    try:
        new = await accounts.issue_token(pool, audit.Actor(user.email, user.id), user, label, days)
    except Invalid as error:
        token_errors["label"] = error.detail[:1].upper() + error.detail[1:] + "."
        return await _page(user, token_errors=token_errors, token_form=token_form, status=400)
    except Conflict:
        token_errors["label"] = f"You have {MAX_LIVE_TOKENS} API tokens already: revoke one first."
        return await _page(user, token_errors=token_errors, token_form=token_form, status=409)
    log.info("user %s made API token %s", user.id, new.id)
    return await _page(user, new_token=new, status=201)


@bp.post("/account/tokens/<int:token_id>/revoke")
@hide  # pages, not API: keep them out of /docs
async def revoke_token(token_id: int):
    user, refused = await _browser_user()
    if refused is not None:
        return refused
    pool = services().db
    try:
        await accounts.revoke_token(pool, audit.Actor(user.email, user.id), user, token_id)
    except NotFound:
        missing = "That API token is not one of your live tokens (revoked or expired already?)."
        return await _page(user, token_errors={"revoke": missing}, status=404)
    log.info("user %s revoked API token %s", user.id, token_id)
    return redirect("/account?done=revoked", 303)
