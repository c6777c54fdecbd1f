"""Fleet management for admins: drivers (add, edit, deactivate, reactivate, connect a phone),
accounts (add staff, disable, enable, reset a password) and the audit log.

Pages are server-rendered; htmx swaps single rows. The rules live in hexfleet.drivers.admin
and hexfleet.users.admin, which also write the audit log.
"""

from __future__ import annotations

import logging

from markupsafe import Markup
from quart import Blueprint, current_app, redirect, render_template, request
from quart_schema import hide

from hexfleet import audit
from hexfleet.drivers import admin as drivers_admin
from hexfleet.drivers import duty, revocation
from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.duty import DutyStatus
from hexfleet.errors import Conflict, Invalid, NotFound
from hexfleet.users import admin as users_admin
from hexfleet.users import queries as user_queries
from webapp.auth import current_session_id, current_user, page_role_required
from webapp.pages.common import services
from webapp.pages.connect import render_connect

bp = Blueprint("admin", __name__)
log = logging.getLogger("hexfleet.web")

NO_STORE = {"Cache-Control": "no-store"}  # answers that may carry a password or a device token
AUDIT_PAGE = 50


async def _actor() -> audit.Actor:
    user = await current_user()
    assert user is not None  # page_role_required let us in
    return audit.Actor(user.email, user.id)


async def _announce_revoked(driver_id: int) -> None:
    _, redis, _ = services()
    await revocation.announce(redis, driver_id)


async def _announce_off_duty(driver_id: int) -> None:
    """PostgreSQL has it off duty already (deactivation): the index and the maps follow."""
    ext = current_app.extensions
    stale_after_s = ext["settings"].stale_after_s
    await duty.announce_duty(ext["store"], ext["publisher"], driver_id, DutyStatus.OFF_DUTY, stale_after_s)


def _form_values(form) -> dict[str, str]:
    return {k: (form.get(k) or "")[:300] for k in ("name", "phone", "vehicle_plate", "vehicle_class")}


# ---------------------------------------------------------------- drivers


async def _fleet() -> tuple[bool, list[driver_queries.Driver]]:
    """(whether ?show=all asks for the deactivated drivers too, the drivers)."""
    show_all = request.args.get("show") == "all"
    pool, _, _ = services()
    async with pool.acquire() as conn:
        return show_all, await driver_queries.list_drivers(conn, include_deactivated=show_all)


@bp.get("/admin")
@hide  # pages, not API: keep them out of /docs
@page_role_required("admin")
async def admin_home():
    return redirect("/admin/drivers")


@bp.get("/admin/drivers")
@hide
@page_role_required("admin")
async def drivers_page():
    show_all, drivers = await _fleet()
    html = await render_template(
        "admin_drivers.html",
        user=await current_user(),
        drivers=drivers,
        active=sum(d.deactivated_at is None for d in drivers),
        show_all=show_all,
        form={"vehicle_class": "standard"},
        errors={},
        classes=driver_queries.VEHICLE_CLASSES,
    )
    return html, 200, NO_STORE


@bp.post("/admin/drivers")
@hide
@page_role_required("admin")
async def add_driver():
    values = _form_values(await request.form)
    form, errors = drivers_admin.DriverForm.parse(**values)
    if form is not None:
        pool, _, _ = services()
        try:
            driver, device = await drivers_admin.add_driver(pool, await _actor(), form)
        except Conflict as error:
            errors = {"vehicle_plate": error.detail[:1].upper() + error.detail[1:] + "."}
        else:
            log.info("admin added driver %s", driver.id)
            connect_html, _, _ = await render_connect(driver, None, device, fresh="created")
            # Our own template's output, escaped as it was rendered: it must not be escaped again.
            connect = Markup(connect_html)
            html = await render_template("_admin_driver_created.html", driver=driver, connect_html=connect)
            return html, 201, {**NO_STORE, "HX-Trigger": "drivers-changed"}
    html = await render_template(
        "_admin_driver_form.html", form=values, errors=errors, classes=driver_queries.VEHICLE_CLASSES
    )
    return html, 400, NO_STORE


@bp.get("/admin/drivers/new")
@hide
@page_role_required("admin")
async def new_driver_form():
    html = await render_template(
        "_admin_driver_form.html", form={"vehicle_class": "standard"}, errors={}, classes=driver_queries.VEHICLE_CLASSES
    )
    return html, 200, NO_STORE


@bp.get("/admin/drivers/rows")
@hide
@page_role_required("admin")
async def driver_rows():
    _, drivers = await _fleet()
    html = await render_template("_admin_driver_rows.html", drivers=drivers)
    return html + await _active_count(sum(d.deactivated_at is None for d in drivers)), 200, NO_STORE


async def _active_count(active: int | None = None) -> str:
    """The heading's "N active drivers", swapped out of band: a list refresh (after an add), a
    deactivation or a reactivation changes it, and the heading is not part of their swap."""
    if active is None:
        pool, _, _ = services()
        async with pool.acquire() as conn:
            active = len(await driver_queries.list_drivers(conn))
    return await render_template("_admin_driver_count.html", active=active, oob=True)


async def _row(driver, message: str | None = None, status: int = 200, recount: bool = False):
    html = await render_template("_admin_driver_row.html", driver=driver, message=message)
    if recount:
        html += await _active_count()
    return html, status, NO_STORE


async def _load(driver_id: int):
    pool, _, _ = services()
    async with pool.acquire() as conn:
        return await driver_queries.get_driver(conn, driver_id)  # NotFound: a readable 404


@bp.get("/admin/drivers/<int:driver_id>")
@hide
@page_role_required("admin")
async def driver_row(driver_id: int):
    return await _row(await _load(driver_id))


@bp.get("/admin/drivers/<int:driver_id>/edit")
@hide
@page_role_required("admin")
async def driver_edit_form(driver_id: int):
    driver = await _load(driver_id)
    values = {
        "name": driver.name,
        "phone": driver.phone or "",
        "vehicle_plate": driver.vehicle_plate or "",
        "vehicle_class": driver.vehicle_class or "standard",
    }
    html = await render_template(
        "_admin_driver_edit.html", driver=driver, form=values, errors={}, classes=driver_queries.VEHICLE_CLASSES
    )
    return html, 200, NO_STORE


@bp.post("/admin/drivers/<int:driver_id>")
@hide
@page_role_required("admin")
async def driver_edit(driver_id: int):
    driver = await _load(driver_id)
    values = _form_values(await request.form)
    form, errors = drivers_admin.DriverForm.parse(**values)
    if form is not None:
        pool, _, _ = services()
        try:
            driver = await drivers_admin.edit_driver(pool, await _actor(), driver_id, form)
            return await _row(driver, "Saved.")
        except Conflict as error:
            errors = {"vehicle_plate": error.detail[:1].upper() + error.detail[1:] + "."}
    html = await render_template(
        "_admin_driver_edit.html", driver=driver, form=values, errors=errors, classes=driver_queries.VEHICLE_CLASSES
    )
    return html, 400, NO_STORE


@bp.post("/admin/drivers/<int:driver_id>/deactivate")
@hide
@page_role_required("admin")
async def driver_deactivate(driver_id: int):
    pool, _, _ = services()
    try:
        driver = await drivers_admin.deactivate(pool, await _actor(), driver_id, _announce_revoked, _announce_off_duty)
    except Conflict as error:
        return await _row(await _load(driver_id), error.detail[:1].upper() + error.detail[1:] + ".", 409)
    return await _row(driver, "Deactivated: its phone can no longer send, and it left the control room.", recount=True)


@bp.post("/admin/drivers/<int:driver_id>/reactivate")
@hide
@page_role_required("admin")
async def driver_reactivate(driver_id: int):
    pool, _, _ = services()
    driver = await drivers_admin.reactivate(pool, await _actor(), driver_id)
    return await _row(driver, "Reactivated, off duty. Connect a phone to issue it a device token.", recount=True)


# ---------------------------------------------------------------- accounts


@bp.get("/admin/users")
@hide
@page_role_required("admin")
async def users_page():
    pool, _, _ = services()
    async with pool.acquire() as conn:
        accounts = await user_queries.list_users(conn)
    me = await current_user()
    html = await render_template("admin_users.html", user=me, accounts=accounts, form={"role": "dispatcher"}, errors={})
    return html, 200, NO_STORE


@bp.post("/admin/users")
@hide
@page_role_required("admin")
async def add_user():
    form = await request.form
    # Bounded for the form shown again, but not cut to 254: a longer address must be refused,
    # never shortened into a different one that happens to be valid.
    email, role = (form.get("email") or "").strip()[:300], form.get("role") or ""
    errors: dict[str, str] = {}
    if role not in ("dispatcher", "admin"):
        errors["role"] = "Choose dispatcher or admin (riders sign up themselves)."
    if not errors:
        pool, _, _ = services()
        try:
            account, password = await users_admin.add_user(pool, await _actor(), email, role)
        except Invalid:
            errors["email"] = "Enter an email address such as ann@example.org."
        except Conflict:
            errors["email"] = "An account with this email already exists."
        else:
            log.info("admin added %s account %s", role, account.id)
            html = await render_template("_admin_user_created.html", account=account, password=password)
            return html, 201, {**NO_STORE, "HX-Trigger": "users-changed"}
    html = await render_template("_admin_user_form.html", form={"email": email, "role": role}, errors=errors)
    return html, 400, NO_STORE


@bp.get("/admin/users/rows")
@hide
@page_role_required("admin")
async def user_rows():
    pool, _, _ = services()
    async with pool.acquire() as conn:
        accounts = await user_queries.list_users(conn)
    html = await render_template("_admin_user_rows.html", accounts=accounts, me=await current_user())
    return html, 200, NO_STORE


async def _user_row(user_id: int, message: str | None = None, password: str | None = None, status: int = 200):
    pool, _, _ = services()
    async with pool.acquire() as conn:
        found = [a for a in await user_queries.list_users(conn) if a.user.id == user_id]
    if not found:
        raise NotFound(f"no account with id {user_id}", code="user-not-found")
    html = await render_template(
        "_admin_user_row.html", account=found[0], me=await current_user(), message=message, password=password
    )
    return html, status, NO_STORE


@bp.post("/admin/users/<int:user_id>/disable")
@hide
@page_role_required("admin")
async def user_disable(user_id: int):
    pool, _, _ = services()
    try:
        await users_admin.set_disabled(pool, await _actor(), user_id, True)
    except Conflict as error:
        return await _user_row(user_id, error.detail[:1].upper() + error.detail[1:] + ".", status=409)
    return await _user_row(user_id, "Disabled: its sessions ended and its API tokens stopped.")


@bp.post("/admin/users/<int:user_id>/enable")
@hide
@page_role_required("admin")
async def user_enable(user_id: int):
    pool, _, _ = services()
    await users_admin.set_disabled(pool, await _actor(), user_id, False)
    return await _user_row(user_id, "Enabled.")


@bp.post("/admin/users/<int:user_id>/reset-password")
@hide
@page_role_required("admin")
async def user_reset_password(user_id: int):
    pool, _, _ = services()
    # Resetting one's own password keeps this browser signed in (as /account does); without
    # it the admin was signed out by their own click, the new password still on screen.
    _, password, change = await users_admin.reset_password(pool, await _actor(), user_id, current_session_id())
    ended = _count(change.sessions_ended, "session")
    if change.tokens_revoked:
        ended += f" and {_count(change.tokens_revoked, 'API token')}"
    return await _user_row(user_id, f"New password; {ended} ended. Pass it on now:", password)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'s' if n != 1 else ''}"


# ---------------------------------------------------------------- audit log


@bp.get("/admin/audit")
@hide
@page_role_required("admin")
async def audit_page():
    before = request.args.get("before", "")
    before_id = int(before) if before.isascii() and before.isdigit() and len(before) <= 18 else None
    pool, _, _ = services()
    async with pool.acquire() as conn:
        entries = await audit.recent(conn, AUDIT_PAGE + 1, before_id)
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    html = await render_template(
        "admin_audit.html",
        user=await current_user(),
        entries=entries,
        labels=audit.LABELS,
        next_before=entries[-1].id if more else None,
        first_page=before_id is None,
    )
    return html, 200, NO_STORE
