"""All SQL for users and their API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from hexfleet import security
from hexfleet.errors import Conflict

ROLES = ("admin", "dispatcher", "customer")


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


async def get_login(conn, email: str) -> tuple[User, str] | None:
    """The user and password hash for a login attempt (email case-insensitive)."""
    row = await conn.fetchrow(
        "SELECT id, email, role, created_at, password_hash FROM users WHERE lower(email) = lower($1)", email
    )
    return (_user(row), row["password_hash"]) if row else None


async def create_api_token(conn, user_id: int, label: str = "") -> str:
    """Issue a new Bearer token for a user; returns the token (only its hash is stored)."""
    token = security.new_user_token()
    await conn.execute(
        "INSERT INTO api_tokens (user_id, token_hash, label) VALUES ($1, $2, $3)",
        user_id,
        security.token_hash(token),
        label,
    )
    return token


async def user_for_token(conn, token: str) -> User | None:
    row = await conn.fetchrow(
        """SELECT u.id, u.email, u.role, u.created_at FROM api_tokens t JOIN users u ON u.id = t.user_id
           WHERE t.token_hash = $1 AND t.revoked_at IS NULL""",
        security.token_hash(token),
    )
    return _user(row) if row else None
