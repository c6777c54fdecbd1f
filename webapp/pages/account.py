"""Your account: a new password, and where you are signed in (end the other sessions).

Every signed-in user has it (staff and customers). A new password ends every other session
of the account at once, because whoever knew the old password may hold one of them.
"""

from __future__ import annotations

import asyncio
import logging

from quart import Blueprint, redirect, render_template, request
from quart_schema import hide

from hexfleet import security
from hexfleet.users import queries as users
from webapp.auth import current_session_id, current_user
from webapp.pages.common import services
from webapp.pages.login import MAX_PASSWORD, MIN_PASSWORD

bp = Blueprint("account", __name__)
log = logging.getLogger("hexfleet.web")

_NOTICES = {
    "password": "Your password is changed. Every other session of this account has ended.",
    "others": "Every other session of this account has ended.",
}


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


async def _page(user, *, errors: dict | None = None, notice: str | None = None, status: int = 200):
    pool, _, _ = services()
    async with pool.acquire() as conn:
        sessions = await users.list_sessions(conn, user.id, current_session_id())
    html = await render_template(
        "account.html",
        user=user,
        sessions=[(session, describe_agent(session.user_agent)) for session in sessions],
        errors=errors or {},
        notice=notice,
    )
    return html, status, {"Cache-Control": "no-store"}


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
    errors = {}
    pool, _, _ = services()
    async with pool.acquire() as conn:
        login = await users.get_login(conn, user.email)
    right = login is not None and await asyncio.to_thread(
        security.verify_password, login.password_hash, current[:MAX_PASSWORD]
    )
    if not right:
        errors["current"] = "That is not your current password."
    if not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
        errors["new"] = f"Use at least {MIN_PASSWORD} characters."
    elif new != again:
        errors["again"] = "The two new passwords differ."
    if errors:
        return await _page(user, errors=errors, status=400)
    password_hash = await asyncio.to_thread(security.hash_password, new)
    async with pool.acquire() as conn:
        ended = await users.set_password(conn, user.id, password_hash, keep_session=current_session_id())
    log.info("user %s changed their password; %d other sessions ended", user.id, ended)
    return redirect("/account?done=password", 303)


@bp.post("/account/sign-out-others")
@hide  # pages, not API: keep them out of /docs
async def sign_out_others():
    user = await current_user()
    if user is None:
        return redirect("/login?next=/account")
    pool, _, _ = services()
    async with pool.acquire() as conn:
        ended = await users.end_sessions(conn, user.id, keep=current_session_id())
    log.info("user %s ended %d other sessions", user.id, ended)
    return redirect("/account?done=others", 303)
