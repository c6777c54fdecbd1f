"""Signing in and out (a session cookie for staff)."""

from __future__ import annotations

from urllib.parse import urlsplit

from quart import Blueprint, redirect, render_template, request
from quart_schema import hide

from webapp.auth import authenticate, current_user, end_session, start_session
from webapp.pages.common import STAFF_ROLES

bp = Blueprint("login", __name__)


def safe_next(target: str | None) -> str:
    """Only ever redirect to a path on this site: never to another host (open redirect)."""
    if not target:
        return "/"
    # Backslashes are treated as slashes by browsers, so "/\evil.com" is protocol-relative.
    target = target.strip().replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if any(ord(ch) < 0x20 for ch in target):  # header injection, or stripped whitespace tricks
        return "/"
    return target


@bp.get("/login")
@hide  # pages, not API: keep them out of /docs
async def login_form():
    user = await current_user()
    next_url = safe_next(request.args.get("next"))
    if user is not None and user.role in STAFF_ROLES:
        return redirect(next_url)
    return await render_template("login.html", user=user, next_url=next_url, email="", error=None)


@bp.post("/login")
@hide  # pages, not API: keep them out of /docs
async def login_submit():
    form = await request.form
    email = (form.get("email") or "").strip()
    password = form.get("password") or ""
    next_url = safe_next(form.get("next") or request.args.get("next"))
    user = None
    if email and password:
        user = await authenticate(email, password)
    if user is None:
        # One message for unknown email and wrong password: do not reveal which accounts exist.
        error = "Enter your email and password." if not (email and password) else "Wrong email or password."
        html = await render_template("login.html", user=None, next_url=next_url, email=email, error=error)
        return html, 400
    start_session(user)
    return redirect(next_url)


@bp.post("/logout")
@hide  # pages, not API: keep them out of /docs
async def logout():
    end_session()
    return redirect("/login")
