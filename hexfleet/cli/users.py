from __future__ import annotations

import asyncio

import asyncpg

from hexfleet import security
from hexfleet.cli.output import emit
from hexfleet.errors import Invalid
from hexfleet.users import queries
from hexfleet.users.logic import normalise_email


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="create a user and print a Bearer API token for it")
    add.add_argument("--email", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--role", required=True, choices=queries.ROLES)
    add.add_argument("--json", action="store_true", help="print one JSON object")


async def add_user(dsn: str, email: str, password: str, role: str) -> tuple[queries.User, str]:
    email = normalise_email(email)
    if len(password) < 8:
        raise Invalid("password must be at least 8 characters")
    password_hash = await asyncio.to_thread(security.hash_password, password)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            user = await queries.create_user(conn, email, password_hash, role)
            token = await queries.create_api_token(conn, user.id, label="cli")
    finally:
        await conn.close()
    return user, token


def run(args, settings) -> int:
    settings.require_database()
    user, token = asyncio.run(add_user(settings.database_url, args.email, args.password, args.role))
    emit(
        {"id": user.id, "email": user.email, "role": user.role, "token": token},
        args.json,
        f"created {user.role} {user.email} (id {user.id})\nAPI token (shown once): {token}",
    )
    return 0
