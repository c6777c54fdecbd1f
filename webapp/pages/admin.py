"""Fleet management for admins: drivers (add, edit, deactivate, reactivate, connect a phone;
search and pages) and the audit log. Accounts are in admin_accounts.py, fares in admin_fares.py.

Pages are server-rendered; htmx swaps single rows. The rules live in hexfleet.drivers.admin
and hexfleet.users.admin, which also write the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from markupsafe import Markup
from quart import Blueprint, redirect, render_template, request
from quart_schema import hide

from hexfleet import audit
from hexfleet.drivers import admin as drivers_admin
from hexfleet.drivers import duty, revocation
from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.duty import DutyStatus
from hexfleet.drivers.search import MAX_QUERY, SearchTerms
from hexfleet.drivers.vehicles import DEFAULT_CLASS
from hexfleet.errors import Conflict
from hexfleet.users.roles import Role
from webapp.auth import current_user, page_role_required
from webapp.pages.connect import render_connect
from webapp.pages.paging import Page, page_number, page_url
from webapp.services import services

bp = Blueprint("admin", __name__)
log = logging.getLogger("hexfleet.web")

NO_STORE = {"Cache-Control": "no-store"}  # answers that may carry a password or a device token
AUDIT_PAGE = 50


async def acting_admin() -> audit.Actor:
    user = await current_user()
    assert user is not None  # page_role_required let us in
    return audit.Actor(user.email, user.id)


async def _announce_revoked(driver_id: int) -> None:
    redis = services().redis
    await revocation.announce(redis, driver_id)


async def _announce_off_duty(driver_id: int) -> None:
    """PostgreSQL has it off duty already (deactivation): the index and the maps follow."""
    svc = services()
    stale_after_s = svc.settings.stale_after_s
    await duty.announce_duty(svc.store, svc.publisher, driver_id, DutyStatus.OFF_DUTY, stale_after_s)


def _form_values(form) -> dict[str, str]:
    return {k: (form.get(k) or "")[:300] for k in ("name", "phone", "vehicle_plate", "vehicle_class")}


# ---------------------------------------------------------------- drivers


@dataclass(frozen=True)
class DriverList:
    """One page of the admin's driver list, as the URL asks for it (?q=&show=all&page=)."""

    query: str
    show_all: bool
    page: Page
    drivers: list[driver_queries.Driver]
    active: int  # active drivers in the whole fleet (the heading)
    everyone: int  # drivers ever added, deactivated ones too (an empty list says which empty it is)

    @property
    def filters(self) -> dict[str, str]:
        return {"q": self.query, "show": "all" if self.show_all else ""}

    def url(self, number: int | None = None, path: str = "/admin/drivers") -> str:
        return page_url(path, self.filters, number or self.page.number)


async def _driver_list() -> DriverList:
    """The drivers the URL asks for: a search (name, plate, phone, #id), deactivated ones
    too with ?show=all, a page of them."""
    show_all = request.args.get("show") == "all"
    query = " ".join((request.args.get("q") or "").split())[:MAX_QUERY]
    terms = SearchTerms.parse(query)
    pool = services().db
    async with pool.acquire() as conn:
        total = await driver_queries.count_drivers(conn, terms, show_all)
        page = Page.of(page_number(request.args.get("page")), total)
        drivers = await driver_queries.search_drivers(conn, terms, show_all, page.size, page.offset)
        active = await driver_queries.count_drivers(conn)
        everyone = total if show_all and terms is None else await driver_queries.count_drivers(conn, None, True)
    return DriverList(query, show_all, page, drivers, active, everyone)


@bp.get("/admin")
@hide  # pages, not API: keep them out of /docs
@page_role_required(Role.ADMIN)
async def admin_home():
    return redirect("/admin/drivers")


@bp.get("/admin/drivers")
@hide
@page_role_required(Role.ADMIN)
async def drivers_page():
    listing = await _driver_list()
    html = await render_template(
        "admin_drivers.html",
        user=await current_user(),
        listing=listing,
        active=listing.active,
        form={"vehicle_class": DEFAULT_CLASS},
        errors={},
        classes=driver_queries.VEHICLE_CLASSES,
    )
    return html, 200, NO_STORE


@bp.post("/admin/drivers")
@hide
@page_role_required(Role.ADMIN)
async def add_driver():
    values = _form_values(await request.form)
    form, errors = drivers_admin.DriverForm.parse(**values)
    if form is not None:
        pool = services().db
        try:
            driver, device = await drivers_admin.add_driver(pool, await acting_admin(), form)
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
@page_role_required(Role.ADMIN)
async def new_driver_form():
    html = await render_template(
        "_admin_driver_form.html",
        form={"vehicle_class": DEFAULT_CLASS},
        errors={},
        classes=driver_queries.VEHICLE_CLASSES,
    )
    return html, 200, NO_STORE


@bp.get("/admin/drivers/rows")
@hide
@page_role_required(Role.ADMIN)
async def driver_rows():
    """The list as the page's URL asks for it (its search, filter and page), after a change."""
    listing = await _driver_list()
    html = await render_template("_admin_driver_list.html", listing=listing)
    return html + await _active_count(listing.active), 200, NO_STORE


async def _active_count(active: int | None = None) -> str:
    """The heading's "N active drivers", swapped out of band: a list refresh (after an add), a
    deactivation or a reactivation changes it, and the heading is not part of their swap."""
    if active is None:
        pool = services().db
        async with pool.acquire() as conn:
            active = await driver_queries.count_drivers(conn)
    return await render_template("_admin_driver_count.html", active=active, oob=True)


async def _row(driver, message: str | None = None, status: int = 200, recount: bool = False):
    html = await render_template("_admin_driver_row.html", driver=driver, message=message)
    if recount:
        html += await _active_count()
    return html, status, NO_STORE


async def _load(driver_id: int):
    pool = services().db
    async with pool.acquire() as conn:
        return await driver_queries.get_driver(conn, driver_id)  # NotFound: a readable 404


@bp.get("/admin/drivers/<int:driver_id>")
@hide
@page_role_required(Role.ADMIN)
async def driver_row(driver_id: int):
    return await _row(await _load(driver_id))


@bp.get("/admin/drivers/<int:driver_id>/edit")
@hide
@page_role_required(Role.ADMIN)
async def driver_edit_form(driver_id: int):
    driver = await _load(driver_id)
    values = {
        "name": driver.name,
        "phone": driver.phone or "",
        "vehicle_plate": driver.vehicle_plate or "",
        "vehicle_class": driver.vehicle_class or DEFAULT_CLASS,
    }
    html = await render_template(
        "_admin_driver_edit.html", driver=driver, form=values, errors={}, classes=driver_queries.VEHICLE_CLASSES
    )
    return html, 200, NO_STORE


@bp.post("/admin/drivers/<int:driver_id>")
@hide
@page_role_required(Role.ADMIN)
async def driver_edit(driver_id: int):
    driver = await _load(driver_id)
    values = _form_values(await request.form)
    form, errors = drivers_admin.DriverForm.parse(**values)
    if form is not None:
        pool = services().db
        try:
            driver = await drivers_admin.edit_driver(pool, await acting_admin(), driver_id, form)
            return await _row(driver, "Saved.")
        except Conflict as error:
            errors = {"vehicle_plate": error.detail[:1].upper() + error.detail[1:] + "."}
    html = await render_template(
        "_admin_driver_edit.html", driver=driver, form=values, errors=errors, classes=driver_queries.VEHICLE_CLASSES
    )
    return html, 400, NO_STORE


@bp.post("/admin/drivers/<int:driver_id>/deactivate")
@hide
@page_role_required(Role.ADMIN)
async def driver_deactivate(driver_id: int):
    pool = services().db
    try:
        driver = await drivers_admin.deactivate(
            pool, await acting_admin(), driver_id, _announce_revoked, _announce_off_duty
        )
    except Conflict as error:
        return await _row(await _load(driver_id), error.detail[:1].upper() + error.detail[1:] + ".", 409)
    return await _row(driver, "Deactivated: its phone can no longer send, and it left the control room.", recount=True)


@bp.post("/admin/drivers/<int:driver_id>/reactivate")
@hide
@page_role_required(Role.ADMIN)
async def driver_reactivate(driver_id: int):
    pool = services().db
    driver = await drivers_admin.reactivate(pool, await acting_admin(), driver_id)
    return await _row(driver, "Reactivated, off duty. Connect a phone to issue it a device token.", recount=True)


# ---------------------------------------------------------------- audit log


@bp.get("/admin/audit")
@hide
@page_role_required(Role.ADMIN)
async def audit_page():
    before = request.args.get("before", "")
    before_id = int(before) if before.isascii() and before.isdigit() and len(before) <= 18 else None
    pool = services().db
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
