"""What a user does with their own account (on /account), and an operator with anyone's from
the command line: a new password, and API tokens (issue, revoke).

A new password ends the account's other sessions and revokes its API tokens unless they are
kept on purpose (someone may know the old password, and may have made a token with it).
Each change and its audit entry share a transaction (hexfleet.audit); details never hold a
token, only its id, name and end.
"""

from __future__ import annotations

from hexfleet import audit
from hexfleet.errors import Conflict, NotFound
from hexfleet.users import queries
from hexfleet.users.logic import MAX_LIVE_TOKENS, token_days, token_label


async def change_password(
    pool,
    actor: audit.Actor,
    user: queries.User,
    password_hash: str,
    *,
    keep_session: str | None = None,
    keep_tokens: bool = False,
) -> queries.PasswordChange:
    """The user's own new password (the caller checked the current one)."""
    async with pool.acquire() as conn, conn.transaction():
        change = await queries.set_password(conn, user.id, password_hash, keep_session, keep_tokens)
        details = {"sessions_ended": change.sessions_ended, "tokens_revoked": change.tokens_revoked}
        await audit.record(conn, actor, audit.Action.USER_CHANGE_PASSWORD, "user", user.id, user.email, details)
    return change


async def issue_token(pool, actor: audit.Actor, user: queries.User, label: str, days: int) -> queries.NewToken:
    """A new API token for ``user`` (Invalid for a bad name or lifetime; Conflict past
    MAX_LIVE_TOKENS live ones)."""
    label, days = token_label(label), token_days(days)
    async with pool.acquire() as conn, conn.transaction():
        # One at a time per user, so two concurrent requests cannot both pass the count.
        await queries.lock_user(conn, user.id)
        if len(await queries.list_api_tokens(conn, user.id)) >= MAX_LIVE_TOKENS:
            raise Conflict(
                f"{user.email} has {MAX_LIVE_TOKENS} API tokens already: revoke one first", code="too-many-tokens"
            )
        new = await queries.issue_api_token(conn, user.id, label, days)
        details = {"token_id": new.id, "label": label, "expires_at": new.expires_at}
        await audit.record(conn, actor, audit.Action.USER_TOKEN_ISSUE, "user", user.id, user.email, details)
    return new


async def revoke_token(pool, actor: audit.Actor, user: queries.User, token_id: int) -> queries.TokenInfo:
    """Revoke one of ``user``'s live tokens; NotFound when there is no such token of theirs."""
    async with pool.acquire() as conn, conn.transaction():
        revoked = await queries.revoke_api_token(conn, user.id, token_id)
        if revoked is None:
            raise NotFound("no such live API token of this account", code="token-not-found")
        details = {"token_id": revoked.id, "label": revoked.label}
        await audit.record(conn, actor, audit.Action.USER_TOKEN_REVOKE, "user", user.id, user.email, details)
    return revoked
