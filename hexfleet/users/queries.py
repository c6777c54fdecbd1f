"""All SQL for users and their API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import asyncpg

from hexfleet import security
from hexfleet.db import contains_pattern
from hexfleet.errors import Conflict
from hexfleet.users.logic import DEFAULT_TOKEN_DAYS, token_hint


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: str
    created_at: datetime


def _user(row) -> User:
    return User(id=row["id"], email=row["email"], role=row["role"], created_at=row["created_at"])


async def create_user(conn, email: str, password_hash: str, role: str) -> User:
    try:
        row = await conn.fetchrow(
            """INSERT INTO users (email, password_hash, role) VALUES ($1, $2, $3)
               RETURNING id, email, role, created_at""",
            email,
            password_hash,
            role,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"a user with email {email} already exists", code="email-taken") from None
    return _user(row)


async def get_user(conn, user_id: int) -> User | None:
    row = await conn.fetchrow("SELECT id, email, role, created_at FROM users WHERE id = $1", user_id)
    return _user(row) if row else None


@dataclass(frozen=True)
class Login:
    user: User
    password_hash: str
    disabled: bool


async def get_login(conn, email: str) -> Login | None:
    """The user and password hash for a login attempt (email case-insensitive)."""
    row = await conn.fetchrow(
        """SELECT id, email, role, created_at, password_hash, disabled_at IS NOT NULL AS disabled
           FROM users WHERE lower(email) = lower($1)""",
        email,
    )
    return Login(_user(row), row["password_hash"], row["disabled"]) if row else None


async def get_user_by_email(conn, email: str) -> User | None:
    row = await conn.fetchrow("SELECT id, email, role, created_at FROM users WHERE lower(email) = lower($1)", email)
    return _user(row) if row else None


@dataclass(frozen=True)
class UserSummary:
    user: User
    disabled_at: datetime | None
    sessions: int
    api_tokens: int  # live ones: neither revoked nor expired
    next_token_expiry: datetime | None = None  # the soonest a live token ends


_SUMMARY = """SELECT u.id, u.email, u.role, u.created_at, u.disabled_at,
                  (SELECT count(*) FROM user_sessions s WHERE s.user_id = u.id AND s.expires_at > now()) AS sessions,
                  t.live AS api_tokens, t.next_expiry
           FROM users u
           CROSS JOIN LATERAL (
               SELECT count(*) AS live, min(expires_at) AS next_expiry FROM api_tokens
               WHERE user_id = u.id AND revoked_at IS NULL AND expires_at > now()
           ) t"""
# Accounts of these roles (NULL: all) whose email contains the pattern (NULL: any).
_FILTER = "WHERE ($1::text[] IS NULL OR u.role = ANY($1)) AND ($2::text IS NULL OR u.email ILIKE $2 ESCAPE '\\')"


def _summary(r) -> UserSummary:
    return UserSummary(_user(r), r["disabled_at"], r["sessions"], r["api_tokens"], r["next_expiry"])


async def list_users(
    conn, limit: int = 500, *, roles: list[str] | None = None, email: str | None = None, offset: int = 0
) -> list[UserSummary]:
    """Accounts, staff first, with how many live sessions and API tokens they hold; only
    ``roles`` when given, only emails containing ``email`` (any case) when given."""
    rows = await conn.fetch(
        f"""{_SUMMARY} {_FILTER}
           ORDER BY u.role = 'customer', u.role, lower(u.email), u.id
           LIMIT $3 OFFSET $4""",
        roles,
        contains_pattern(email) if email else None,
        limit,
        offset,
    )
    return [_summary(r) for r in rows]


async def count_users(conn, *, roles: list[str] | None = None, email: str | None = None) -> int:
    return await conn.fetchval(
        f"SELECT count(*) FROM users u {_FILTER}", roles, contains_pattern(email) if email else None
    )


async def get_user_summary(conn, user_id: int) -> UserSummary | None:
    row = await conn.fetchrow(f"{_SUMMARY} WHERE u.id = $1", user_id)
    return _summary(row) if row else None


# ---------------------------------------------------------------- sessions


async def create_session(conn, user_id: int, hours: float, user_agent: str = "") -> str:
    """Start a browser session; returns its id (only the hash is stored, like API tokens)."""
    session_id = security.new_session_id()
    await conn.execute(
        """INSERT INTO user_sessions (id_hash, user_id, expires_at, user_agent)
           VALUES ($1, $2, now() + make_interval(secs => $3), $4)""",
        security.token_hash(session_id),
        user_id,
        hours * 3600.0,
        user_agent[:300],
    )
    return session_id


async def user_for_session(conn, session_id: str) -> User | None:
    """The session's user, while the session lives and the account is enabled."""
    row = await conn.fetchrow(
        """SELECT u.id, u.email, u.role, u.created_at FROM user_sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL""",
        security.token_hash(session_id),
    )
    return _user(row) if row else None


@dataclass(frozen=True)
class SessionInfo:
    created_at: datetime
    expires_at: datetime
    user_agent: str
    current: bool


async def list_sessions(conn, user_id: int, current: str | None = None) -> list[SessionInfo]:
    """A user's live sessions, newest first (``current`` marks the caller's own)."""
    current_hash = security.token_hash(current) if current else b""
    rows = await conn.fetch(
        """SELECT created_at, expires_at, user_agent, id_hash = $2 AS current FROM user_sessions
           WHERE user_id = $1 AND expires_at > now() ORDER BY created_at DESC LIMIT 50""",
        user_id,
        current_hash,
    )
    return [SessionInfo(r["created_at"], r["expires_at"], r["user_agent"], r["current"]) for r in rows]


async def end_session(conn, session_id: str) -> None:
    await conn.execute("DELETE FROM user_sessions WHERE id_hash = $1", security.token_hash(session_id))


async def end_sessions(conn, user_id: int, keep: str | None = None) -> int:
    """End every session of a user (but ``keep``, the caller's own); returns how many ended."""
    keep_hash = security.token_hash(keep) if keep else None
    result = await conn.execute(
        "DELETE FROM user_sessions WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2", user_id, keep_hash
    )
    return int(result.split()[-1])


async def prune_sessions(conn) -> int:
    result = await conn.execute("DELETE FROM user_sessions WHERE expires_at <= now()")
    return int(result.split()[-1])


# ---------------------------------------------------------------- account changes


class PasswordChange(NamedTuple):
    sessions_ended: int
    tokens_revoked: int


async def set_password(
    conn, user_id: int, password_hash: str, keep_session: str | None = None, keep_tokens: bool = False
) -> PasswordChange:
    """A new password ends every other session of the account and revokes its API tokens
    (someone may know the old password, and may have made a token with it), unless
    ``keep_tokens``: kept on purpose, by the owner or an operator."""
    async with conn.transaction():
        await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash)
        sessions = await end_sessions(conn, user_id, keep=keep_session)
        tokens = 0 if keep_tokens else await revoke_api_tokens(conn, user_id)
    return PasswordChange(sessions, tokens)


async def set_disabled(conn, user_id: int, disabled: bool) -> bool:
    """Disable (every session ends; API tokens stop working while disabled) or enable again.
    Returns False when nothing changed."""
    async with conn.transaction():
        if disabled:
            result = await conn.execute(
                "UPDATE users SET disabled_at = now() WHERE id = $1 AND disabled_at IS NULL", user_id
            )
            await end_sessions(conn, user_id)
        else:
            result = await conn.execute(
                "UPDATE users SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL", user_id
            )
    return result.endswith(" 1")


# ---------------------------------------------------------------- API tokens


@dataclass(frozen=True)
class NewToken:
    token: str  # shown once; only its hash is stored
    id: int
    expires_at: datetime


@dataclass(frozen=True)
class TokenInfo:
    """A live token as its owner sees it: never the token, a hint of it."""

    id: int
    user_id: int
    label: str
    hint: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


_TOKEN_COLUMNS = "id, user_id, label, hint, created_at, expires_at, last_used_at"


def _token_info(row) -> TokenInfo:
    return TokenInfo(*(row[k] for k in ("id", "user_id", "label", "hint", "created_at", "expires_at", "last_used_at")))


async def issue_api_token(conn, user_id: int, label: str = "", days: int = DEFAULT_TOKEN_DAYS) -> NewToken:
    """A new Bearer token for a user, ending ``days`` from now."""
    token = security.new_user_token()
    row = await conn.fetchrow(
        """INSERT INTO api_tokens (user_id, token_hash, label, hint, expires_at)
           VALUES ($1, $2, $3, $4, now() + make_interval(days => $5)) RETURNING id, expires_at""",
        user_id,
        security.token_hash(token),
        label,
        token_hint(token),
        days,
    )
    return NewToken(token, row["id"], row["expires_at"])


async def create_api_token(conn, user_id: int, label: str = "", days: int = DEFAULT_TOKEN_DAYS) -> str:
    """Issue a new Bearer token for a user; returns the token (only its hash is stored)."""
    return (await issue_api_token(conn, user_id, label, days)).token


async def user_for_token(conn, token: str) -> User | None:
    """The token's user, while the token is neither revoked nor expired and the account is
    enabled. Notes the token's use, at most once an hour (a write per request would be a lot
    for "last used")."""
    row = await conn.fetchrow(
        """WITH found AS (
               SELECT t.id AS token_id, u.id, u.email, u.role, u.created_at
               FROM api_tokens t JOIN users u ON u.id = t.user_id
               WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now()
                 AND u.disabled_at IS NULL
           ), used AS (
               UPDATE api_tokens SET last_used_at = now()
               WHERE id = (SELECT token_id FROM found)
                 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 hour')
           )
           SELECT id, email, role, created_at FROM found""",
        security.token_hash(token),
    )
    return _user(row) if row else None


async def list_api_tokens(conn, user_id: int | None = None) -> list[TokenInfo]:
    """Live tokens (neither revoked nor expired), oldest first: one user's, or everyone's."""
    rows = await conn.fetch(
        f"""SELECT {_TOKEN_COLUMNS} FROM api_tokens
            WHERE ($1::bigint IS NULL OR user_id = $1) AND revoked_at IS NULL AND expires_at > now()
            ORDER BY user_id, created_at, id""",
        user_id,
    )
    return [_token_info(r) for r in rows]


async def revoke_api_token(conn, user_id: int, token_id: int) -> TokenInfo | None:
    """Revoke one of a user's live tokens; None when the user has no such token."""
    row = await conn.fetchrow(
        f"""UPDATE api_tokens SET revoked_at = now()
            WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()
            RETURNING {_TOKEN_COLUMNS}""",
        token_id,
        user_id,
    )
    return _token_info(row) if row else None


async def revoke_api_tokens(conn, user_id: int, label: str | None = None) -> int:
    """Revoke a user's live API tokens (only those with ``label`` when given); returns how many."""
    result = await conn.execute(
        """UPDATE api_tokens SET revoked_at = now()
           WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() AND ($2::text IS NULL OR label = $2)""",
        user_id,
        label,
    )
    return int(result.split()[-1])


async def lock_user(conn, user_id: int) -> None:
    """Hold the user's row until the transaction ends: one change of theirs at a time."""
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)
