"""`hexfleet users`: accounts of staff and customers (add, list, password, token, disable, enable).

A new password, disabling, and `sign-out` end the account's browser sessions at once (they
are rows in PostgreSQL, see migrations/004_sessions.sql); disabling also stops its API tokens
while it lasts, and a new password revokes them unless `--keep-tokens`. API tokens end after
`--token-days` / `--days` (default 90, at most 365).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from hexfleet import audit, security
from hexfleet.cli.db import database, pool
from hexfleet.cli.output import emit, table
from hexfleet.errors import Invalid, NotFound
from hexfleet.users import account, queries
from hexfleet.users.logic import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS, normalise_email, token_days
from hexfleet.users.roles import ROLES

MIN_PASSWORD = 8


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    days_help = f"days the API token lives (default {DEFAULT_TOKEN_DAYS}, at most {MAX_TOKEN_DAYS})"
    add = sub.add_parser("add", help="create a user and print a Bearer API token for it")
    add.add_argument("--email", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--token-days", type=_days, default=DEFAULT_TOKEN_DAYS, metavar="N", help=days_help)
    add.add_argument("--json", action="store_true", help="print one JSON object")

    listing = sub.add_parser(
        "list", help="every account with its role, state, sessions and API tokens (--json: each token's expiry)"
    )
    listing.add_argument("--json", action="store_true", help="print one JSON object")

    password = sub.add_parser(
        "set-password",
        help="give an account a new password; its browser sessions end at once and its API tokens are revoked",
    )
    password.add_argument("email")
    password.add_argument(
        "--password", help="the new password (default: asked for without echo; reads one line from a pipe)"
    )
    password.add_argument(
        "--keep-tokens", action="store_true", help="keep the account's API tokens working (revoked by default)"
    )

    token = sub.add_parser("token", help="issue another Bearer API token for an account (printed once)")
    token.add_argument("email")
    token.add_argument("--days", type=_days, default=DEFAULT_TOKEN_DAYS, metavar="N", help=days_help)
    token.add_argument("--label", default="cli", help="a name to tell it apart on /account (default: cli)")
    token.add_argument("--json", action="store_true", help="print one JSON object")

    for name, text in (
        ("disable", "stop an account: its sessions end and its API tokens stop working"),
        ("enable", "let a disabled account sign in again (its API tokens work again)"),
        ("sign-out", "end every browser session of an account (it stays enabled)"),
    ):
        action = sub.add_parser(name, help=text)
        action.add_argument("email")
        action.add_argument("--json", action="store_true", help="print one JSON object")


def _days(raw: str) -> int:
    """--token-days / --days: a whole number of days in range, else argparse's one-line error."""
    try:
        return token_days(int(raw))
    except (ValueError, Invalid):
        raise argparse.ArgumentTypeError(f"a whole number of days from 1 to {MAX_TOKEN_DAYS}, not {raw!r}") from None


async def add_user(
    dsn: str, email: str, password: str, role: str, days: int = DEFAULT_TOKEN_DAYS
) -> tuple[queries.User, queries.NewToken]:
    email = normalise_email(email)
    _check_password(password)
    password_hash = await asyncio.to_thread(security.hash_password, password)
    async with database(dsn) as conn, conn.transaction():
        user = await queries.create_user(conn, email, password_hash, role)
        token = await queries.issue_api_token(conn, user.id, "cli", days)
        details = {"role": role, "api_token_expires_at": token.expires_at}
        await audit.record(
            conn, audit.Actor.command_line(), audit.Action.USER_CREATE, "user", user.id, user.email, details
        )
    return user, token


async def issue_token(dsn: str, email: str, label: str, days: int) -> tuple[queries.User, queries.NewToken]:
    async with pool(dsn) as shared:
        async with shared.acquire() as conn:
            user = await _user(conn, email)
        return user, await account.issue_token(shared, audit.Actor.command_line(), user, label, days)


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


async def set_password(
    dsn: str, email: str, password: str, keep_tokens: bool = False
) -> tuple[queries.User, queries.PasswordChange]:
    _check_password(password)
    password_hash = await asyncio.to_thread(security.hash_password, password)
    async with database(dsn) as conn, conn.transaction():
        user = await _user(conn, email)
        change = await queries.set_password(conn, user.id, password_hash, keep_tokens=keep_tokens)
        details = {"sessions_ended": change.sessions_ended, "tokens_revoked": change.tokens_revoked}
        await audit.record(
            conn, audit.Actor.command_line(), audit.Action.USER_RESET_PASSWORD, "user", user.id, user.email, details
        )
    return user, change


async def set_disabled(dsn: str, email: str, disabled: bool) -> tuple[queries.User, bool]:
    async with database(dsn) as conn, conn.transaction():
        user = await _user(conn, email)
        changed = await queries.set_disabled(conn, user.id, disabled)
        if changed:
            action = audit.Action.USER_DISABLE if disabled else audit.Action.USER_ENABLE
            await audit.record(conn, audit.Actor.command_line(), action, "user", user.id, user.email)
    return user, changed


async def sign_out(dsn: str, email: str) -> tuple[queries.User, int]:
    async with database(dsn) as conn, conn.transaction():
        user = await _user(conn, email)
        ended = await queries.end_sessions(conn, user.id)
        details = {"sessions_ended": ended}
        await audit.record(
            conn, audit.Actor.command_line(), audit.Action.USER_SIGN_OUT, "user", user.id, user.email, details
        )
    return user, ended


async def list_users(dsn: str) -> tuple[list[queries.UserSummary], list[queries.TokenInfo]]:
    async with database(dsn) as conn:
        return await queries.list_users(conn), await queries.list_api_tokens(conn)


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
        user, token = asyncio.run(add_user(dsn, args.email, args.password, args.role, args.token_days))
        emit(
            {
                "id": user.id,
                "email": user.email,
                "role": user.role,
                "token": token.token,
                "token_expires_at": token.expires_at.isoformat(),
            },
            args.json,
            f"created {user.role} {user.email} (id {user.id})\n"
            f"API token (shown once, ends {_day(token.expires_at)}): {token.token}",
        )
    elif args.action == "list":
        _print_list(*asyncio.run(list_users(dsn)), args.json)
    elif args.action == "token":
        user, token = asyncio.run(issue_token(dsn, args.email, args.label, args.days))
        emit(
            {
                "id": user.id,
                "email": user.email,
                "token": token.token,
                "token_expires_at": token.expires_at.isoformat(),
            },
            args.json,
            f"API token for {user.email} (shown once, ends {_day(token.expires_at)}): {token.token}",
        )
    elif args.action == "set-password":
        password = args.password if args.password is not None else _ask_password()
        user, change = asyncio.run(set_password(dsn, args.email, password, args.keep_tokens))
        tokens = "API tokens kept" if args.keep_tokens else f"{_count(change.tokens_revoked, 'API token')} revoked"
        print(f"new password for {user.email}; {_sessions(change.sessions_ended)} ended; {tokens}")
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


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'s' if n != 1 else ''}"


def _sessions(n: int) -> str:
    return _count(n, "session")


def _day(at) -> str:
    return at.strftime("%Y-%m-%d")


def _token(t: queries.TokenInfo) -> dict:
    last = t.last_used_at.isoformat() if t.last_used_at else None
    return {
        "id": t.id,
        "label": t.label,
        "hint": t.hint,
        "created_at": t.created_at.isoformat(),
        "expires_at": t.expires_at.isoformat(),
        "last_used_at": last,
    }


def _print_list(rows: list[queries.UserSummary], tokens: list[queries.TokenInfo], as_json: bool) -> None:
    by_user: dict[int, list[dict]] = {}
    for t in tokens:
        by_user.setdefault(t.user_id, []).append(_token(t))
    payload = {
        "users": [
            {
                "id": r.user.id,
                "email": r.user.email,
                "role": r.user.role,
                "disabled": r.disabled_at is not None,
                "sessions": r.sessions,
                "api_tokens": r.api_tokens,
                "next_token_expiry": r.next_token_expiry.isoformat() if r.next_token_expiry else None,
                "tokens": by_user.get(r.user.id, []),
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
            _day(r.next_token_expiry) if r.next_token_expiry else "-",
            _day(r.user.created_at),
        ]
        for r in rows
    ]
    header = ["ID", "EMAIL", "ROLE", "STATE", "SESSIONS", "API TOKENS", "NEXT TOKEN ENDS", "CREATED"]
    print(table(header, body, right=frozenset({0, 4, 5})))
