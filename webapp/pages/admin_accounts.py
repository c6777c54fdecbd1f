"""Accounts for admins: staff apart from riders (a role filter), search by email, pages; add
a dispatcher or admin, disable, enable, reset a password.

The rules live in hexfleet.users.admin, which also writes the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from quart import Blueprint, render_template, request
from quart_schema import hide

from hexfleet.errors import Conflict, Invalid, NotFound
from hexfleet.users import admin as users_admin
from hexfleet.users import queries as user_queries
from hexfleet.users.roles import STAFF, Role
from webapp.auth import current_session_id, current_user, page_role_required
from webapp.pages.admin import NO_STORE, acting_admin
from webapp.pages.paging import Page, page_number, page_url
from webapp.services import services

bp = Blueprint("admin_accounts", __name__)
log = logging.getLogger("hexfleet.web")

MAX_QUERY = 100
# The role filter: what each choice lists (?role=), staff by default: riders sign up by the
# hundred and would bury the few accounts an admin manages.
ROLE_FILTERS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "staff": ("Staff (dispatchers and admins)", STAFF),
    Role.DISPATCHER: ("Dispatchers", (Role.DISPATCHER,)),
    Role.ADMIN: ("Admins", (Role.ADMIN,)),
    Role.CUSTOMER: ("Riders", (Role.CUSTOMER,)),
    "all": ("Everyone", None),
}
DEFAULT_ROLE = "staff"


@dataclass(frozen=True)
class AccountList:
    """One page of accounts, as the URL asks for it (?role=&q=&page=)."""

    role: str
    query: str
    page: Page
    accounts: list[user_queries.UserSummary]

    @property
    def filters(self) -> dict[str, str]:
        return {"role": "" if self.role == DEFAULT_ROLE else self.role, "q": self.query}

    @property
    def what(self) -> str:
        """The accounts listed, in words: "staff accounts", "riders"."""
        return {"staff": "staff accounts", Role.CUSTOMER: "riders", "all": "accounts"}.get(self.role, self.role + "s")

    def url(self, number: int | None = None, path: str = "/admin/users") -> str:
        return page_url(path, self.filters, number or self.page.number)


async def _account_list() -> AccountList:
    role = request.args.get("role") or DEFAULT_ROLE
    if role not in ROLE_FILTERS:
        role = DEFAULT_ROLE
    query = "".join((request.args.get("q") or "").split())[:MAX_QUERY]  # emails have no spaces
    roles = ROLE_FILTERS[role][1]
    roles_arg = list(roles) if roles else None
    pool = services().db
    async with pool.acquire() as conn:
        total = await user_queries.count_users(conn, roles=roles_arg, email=query or None)
        page = Page.of(page_number(request.args.get("page")), total)
        accounts = await user_queries.list_users(
            conn, page.size, roles=roles_arg, email=query or None, offset=page.offset
        )
    return AccountList(role, query, page, accounts)


@bp.get("/admin/users")
@hide
@page_role_required(Role.ADMIN)
async def users_page():
    listing = await _account_list()
    html = await render_template(
        "admin_users.html",
        user=await current_user(),
        listing=listing,
        role_filters=ROLE_FILTERS,
        form={"role": Role.DISPATCHER},
        errors={},
    )
    return html, 200, NO_STORE


@bp.post("/admin/users")
@hide
@page_role_required(Role.ADMIN)
async def add_user():
    form = await request.form
    # Bounded for the form shown again, but not cut to 254: a longer address must be refused,
    # never shortened into a different one that happens to be valid.
    email, role = (form.get("email") or "").strip()[:300], form.get("role") or ""
    errors: dict[str, str] = {}
    if role not in STAFF:
        errors["role"] = "Choose dispatcher or admin (riders sign up themselves)."
    if not errors:
        pool = services().db
        try:
            account, password = await users_admin.add_user(pool, await acting_admin(), email, role)
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
@page_role_required(Role.ADMIN)
async def user_rows():
    """The list as the page's URL asks for it (its filter, search and page), after a change."""
    listing = await _account_list()
    html = await render_template("_admin_user_list.html", listing=listing, me=await current_user())
    return html, 200, NO_STORE


async def _user_row(user_id: int, message: str | None = None, password: str | None = None, status: int = 200):
    pool = services().db
    async with pool.acquire() as conn:
        account = await user_queries.get_user_summary(conn, user_id)
    if account is None:
        raise NotFound(f"no account with id {user_id}", code="user-not-found")
    html = await render_template(
        "_admin_user_row.html", account=account, me=await current_user(), message=message, password=password
    )
    return html, status, NO_STORE


@bp.post("/admin/users/<int:user_id>/disable")
@hide
@page_role_required(Role.ADMIN)
async def user_disable(user_id: int):
    pool = services().db
    try:
        await users_admin.set_disabled(pool, await acting_admin(), user_id, True)
    except Conflict as error:
        return await _user_row(user_id, error.detail[:1].upper() + error.detail[1:] + ".", status=409)
    return await _user_row(user_id, "Disabled: its sessions ended and its API tokens stopped.")


@bp.post("/admin/users/<int:user_id>/enable")
@hide
@page_role_required(Role.ADMIN)
async def user_enable(user_id: int):
    pool = services().db
    await users_admin.set_disabled(pool, await acting_admin(), user_id, False)
    return await _user_row(user_id, "Enabled.")


@bp.post("/admin/users/<int:user_id>/reset-password")
@hide
@page_role_required(Role.ADMIN)
async def user_reset_password(user_id: int):
    pool = services().db
    # Resetting one's own password keeps this browser signed in (as /account does); without
    # it the admin was signed out by their own click, the new password still on screen.
    _, password, change = await users_admin.reset_password(pool, await acting_admin(), user_id, current_session_id())
    ended = _count(change.sessions_ended, "session")
    if change.tokens_revoked:
        ended += f" and {_count(change.tokens_revoked, 'API token')}"
    return await _user_row(user_id, f"New password; {ended} ended. Pass it on now:", password)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'s' if n != 1 else ''}"
