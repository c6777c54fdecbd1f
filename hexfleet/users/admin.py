"""Admins managing accounts: add staff, disable and enable, reset a password.

New and reset passwords are generated here and shown once to the admin, who passes them on;
a reset ends every session of the account and revokes its API tokens (whoever knew the old
password may have made one). Each change and its audit entry share a transaction
(hexfleet.audit).
"""

from __future__ import annotations

import asyncio
import secrets

from hexfleet import audit, security
from hexfleet.errors import Conflict, NotFound
from hexfleet.users import queries
from hexfleet.users.logic import normalise_email
from hexfleet.users.roles import ROLES


def new_password() -> str:
    """16 characters from a URL-safe alphabet: about 96 bits, easy to paste."""
    return secrets.token_urlsafe(12)


async def _user(conn, user_id: int) -> queries.User:
    user = await queries.get_user(conn, user_id)
    if user is None:
        raise NotFound(f"no account with id {user_id}", code="user-not-found")
    return user


async def add_user(pool, actor: audit.Actor, email: str, role: str) -> tuple[queries.User, str]:
    """A new account with a generated password (returned, to be shown once)."""
    if role not in ROLES:
        raise Conflict(f"unknown role {role!r}", code="bad-role")
    email = normalise_email(email)
    password = new_password()
    password_hash = await asyncio.to_thread(security.hash_password, password)
    async with pool.acquire() as conn, conn.transaction():
        user = await queries.create_user(conn, email, password_hash, role)
        await audit.record(conn, actor, audit.Action.USER_CREATE, "user", user.id, user.email, {"role": role})
    return user, password


async def set_disabled(pool, actor: audit.Actor, user_id: int, disabled: bool) -> queries.User:
    if disabled and actor.user_id == user_id:
        raise Conflict("you cannot disable your own account", code="own-account")
    async with pool.acquire() as conn, conn.transaction():
        user = await _user(conn, user_id)
        if await queries.set_disabled(conn, user_id, disabled):
            action = audit.Action.USER_DISABLE if disabled else audit.Action.USER_ENABLE
            await audit.record(conn, actor, action, "user", user_id, user.email)
    return user


async def reset_password(
    pool, actor: audit.Actor, user_id: int, keep_session: str | None = None
) -> tuple[queries.User, str, queries.PasswordChange]:
    """A generated password (returned once); every session of the account ends, but
    ``keep_session``: an admin resetting their own password stays signed in where they did it.
    Its API tokens are revoked: a reset is for an account that may be in the wrong hands."""
    if keep_session is not None and actor.user_id != user_id:
        keep_session = None  # only one's own session may survive a reset
    password = new_password()
    password_hash = await asyncio.to_thread(security.hash_password, password)
    async with pool.acquire() as conn, conn.transaction():
        user = await _user(conn, user_id)
        change = await queries.set_password(conn, user_id, password_hash, keep_session)
        details = {"sessions_ended": change.sessions_ended, "tokens_revoked": change.tokens_revoked}
        await audit.record(conn, actor, audit.Action.USER_RESET_PASSWORD, "user", user_id, user.email, details)
    return user, password, change
