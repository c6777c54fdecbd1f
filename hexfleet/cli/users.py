"""`hexfleet users`: accounts of staff and customers (add, list, password, disable, enable).

A new password, disabling, and `sign-out` end the account's browser sessions at once (they
are rows in PostgreSQL, see migrations/004_sessions.sql); disabling also stops its API tokens
while it lasts.
"""

from __future__ import annotations

import asyncio
import getpass
import sys

from hexfleet import audit, security
from hexfleet.cli.db import database
from hexfleet.cli.output import emit, table
from hexfleet.errors import Invalid, NotFound
from hexfleet.users import queries
from hexfleet.users.logic import normalise_email

MIN_PASSWORD = 8


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="create a user and print a Bearer API token for it")
    add.add_argument("--email", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--role", required=True, choices=queries.ROLES)
    add.add_argument("--json", action="store_true", help="print one JSON object")

    listing = sub.add_parser("list", help="every account with its role, state, sessions and API tokens")
    listing.add_argument("--json", action="store_true", help="print one JSON object")

    password = sub.add_parser("set-password", help="give an account a new password; its browser sessions end at once")
    password.add_argument("email")
    password.add_argument(
        "--password", help="the new password (default: asked for without echo; reads one line from a pipe)"
    )

    for name, text in (
        ("disable", "stop an account: its sessions end and its API tokens stop working"),
        ("enable", "let a disabled account sign in again (its API tokens work again)"),
        ("sign-out", "end every browser session of an account (it stays enabled)"),
    ):
        action = sub.add_parser(name, help=text)
        action.add_argument("email")
        action.add_argument("--json", action="store_true", help="print one JSON object")


async def add_user(dsn: str, email: str, password: str, role: str) -> tuple[queries.User, str]:
    email = normalise_email(email)
    _check_password(password)
    password_hash = await asyncio.to_thread(security.hash_password, password)
    async with database(dsn) as conn, conn.transaction():
        user = await queries.create_user(conn, email, password_hash, role)
        token = await queries.create_api_token(conn, user.id, label="cli")
        await audit.record(conn, audit.Actor.command_line(), "user.create", "user", user.id, user.email, {"role": role})
    return user, token


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"password must be at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise Invalid("password must be at most 1024 characters")


async def _user(conn, email: str) -> queries.User:
    user = await queries.get_user_by_email(conn, email.strip())
    if user is None:
        raise NotFound(f"no account with email {email.strip()!r} (see `hexfleet users list`)")
    return user


async def set_password(dsn: str, email: str, password: str) -> tuple[queries.User, int]:
    _check_password(password)
    password_hash = await asyncio.to_thread(security.hash_password, password)
    async with database(dsn) as conn, conn.transaction():
        user = await _user(conn, email)
        ended = await queries.set_password(conn, user.id, password_hash)
        details = {"sessions_ended": ended}
        await audit.record(
            conn, audit.Actor.command_line(), "user.reset_password", "user", user.id, user.email, details
        )
    return user, ended


async def set_disabled(dsn: str, email: str, disabled: bool) -> tuple[queries.User, bool]:
    async with database(dsn) as conn, conn.transaction():
        user = await _user(conn, email)
        changed = await queries.set_disabled(conn, user.id, disabled)
        if changed:
            action = "user.disable" if disabled else "user.enable"
            await audit.record(conn, audit.Actor.command_line(), action, "user", user.id, user.email)
    return user, changed


async def sign_out(dsn: str, email: str) -> tuple[queries.User, int]:
    async with database(dsn) as conn, conn.transaction():
        user = await _user(conn, email)
        ended = await queries.end_sessions(conn, user.id)
        details = {"sessions_ended": ended}
        await audit.record(conn, audit.Actor.command_line(), "user.sign_out", "user", user.id, user.email, details)
    return user, ended


async def list_users(dsn: str) -> list[queries.UserSummary]:
    async with database(dsn) as conn:
        return await queries.list_users(conn)


def _ask_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise Invalid("the two passwords differ; nothing changed")
    return first


def run(args, settings) -> int:
    settings.require_database()
    dsn = settings.database_url
    if args.action == "add":
        user, token = asyncio.run(add_user(dsn, args.email, args.password, args.role))
        emit(
            {"id": user.id, "email": user.email, "role": user.role, "token": token},
            args.json,
            f"created {user.role} {user.email} (id {user.id})\nAPI token (shown once): {token}",
        )
    elif args.action == "list":
        _print_list(asyncio.run(list_users(dsn)), args.json)
    elif args.action == "set-password":
        password = args.password if args.password is not None else _ask_password()
        user, ended = asyncio.run(set_password(dsn, args.email, password))
        print(f"new password for {user.email}; {_sessions(ended)} ended")
    elif args.action in ("disable", "enable"):
        disabled = args.action == "disable"
        user, changed = asyncio.run(set_disabled(dsn, args.email, disabled))
        state = "disabled" if disabled else "enabled"
        human = f"{user.email} is {state}" + ("" if changed else " (it already was)")
        if disabled and changed:
            human += ": its sessions ended and its API tokens stop working"
        emit({"id": user.id, "email": user.email, "state": state, "changed": changed}, args.json, human)
    else:  # sign-out
        user, ended = asyncio.run(sign_out(dsn, args.email))
        payload = {"id": user.id, "email": user.email, "sessions_ended": ended}
        emit(payload, args.json, f"{user.email}: {_sessions(ended)} ended")
    return 0


def _sessions(n: int) -> str:
    return f"{n} session{'s' if n != 1 else ''}"


def _print_list(rows: list[queries.UserSummary], as_json: bool) -> None:
    payload = {
        "users": [
            {
                "id": r.user.id,
                "email": r.user.email,
                "role": r.user.role,
                "disabled": r.disabled_at is not None,
                "sessions": r.sessions,
                "api_tokens": r.api_tokens,
                "created_at": r.user.created_at.isoformat(),
            }
            for r in rows
        ]
    }
    if as_json:
        emit(payload, True, "")
        return
    if not rows:
        print("no accounts yet: `hexfleet users add --email … --password … --role admin`")
        return
    body = [
        [
            str(r.user.id),
            r.user.email,
            r.user.role,
            "disabled" if r.disabled_at else "active",
            str(r.sessions),
            str(r.api_tokens),
            r.user.created_at.strftime("%Y-%m-%d"),
        ]
        for r in rows
    ]
    header = ["ID", "EMAIL", "ROLE", "STATE", "SESSIONS", "API TOKENS", "CREATED"]
    print(table(header, body, right=frozenset({0, 4, 5})))
