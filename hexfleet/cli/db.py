"""What commands that talk to PostgreSQL share: one connection with readable failures, and ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from hexfleet.errors import DomainError, Invalid

BIGINT_MAX = 2**63 - 1


def parse_id(text: str, what: str = "booking id") -> int:
    """Digits within PostgreSQL's bigint, else Invalid (an id is never a float or a sign)."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()):
        raise Invalid(f"{what} must be a whole number such as 42, not {text[:40]!r}")
    digits = digits.lstrip("0") or "0"
    if len(digits) > len(str(BIGINT_MAX)) or int(digits) > BIGINT_MAX:
        raise Invalid(f"{what} {text[:40]} is out of range (ids go up to {BIGINT_MAX})")
    return int(digits)


# What connecting can raise when the server is away or the URL is wrong.
_UNREACHABLE = (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError)


def _unreachable(error: Exception) -> DomainError:
    return DomainError(f"cannot connect to PostgreSQL: {' '.join(str(error).split())}")


@asynccontextmanager
async def database(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection; an unreachable server or an unmigrated database is one line, not a traceback."""
    try:
        conn = await asyncpg.connect(dsn, timeout=10)
    except _UNREACHABLE as error:
        raise _unreachable(error) from None
    try:
        yield conn
    except asyncpg.UndefinedTableError:
        raise DomainError("the database has no rides tables yet: run `hexfleet migrate`") from None
    finally:
        await conn.close()


@asynccontextmanager
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A small pool, for the workflows shared with the web app (they take a pool)."""
    try:
        created = await asyncpg.create_pool(dsn, min_size=1, max_size=2, timeout=10)
    except _UNREACHABLE as error:
        raise _unreachable(error) from None
    try:
        yield created
    finally:
        await created.close()
