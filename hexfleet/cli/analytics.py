"""``hexfleet analytics backfill|verify``: roll up a range of hours, or check the rollups
against the raw rows they come from."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime

import asyncpg
from tqdm import tqdm

from hexfleet.analytics import rollups
from hexfleet.cli.db import pool
from hexfleet.errors import DomainError, Invalid

SHOWN_DIFFERENCES = 50
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    for name, text in (
        ("backfill", "roll up every hour of a range that is not final yet (resumable; safe beside the worker's cron)"),
        ("verify", "recompute the closed hours of a range from the raw rows and print any difference (exit 1)"),
    ):
        command = sub.add_parser(name, help=text, description=text)
        command.add_argument(
            "--from", dest="start", required=True, metavar="WHEN", help="a date (UTC midnight) or RFC 3339 time"
        )
        command.add_argument("--to", dest="end", required=True, metavar="WHEN", help="the end (not included)")
        command.add_argument("--no-progress", action="store_true", help="no progress bar")
        if name == "backfill":
            command.add_argument("--redo", action="store_true", help="roll up final hours again too")


def parse_when(text: str, option: str) -> datetime:
    """``2026-05-01`` (UTC midnight) or an RFC 3339 time with an offset (``…Z``, ``…+02:00``)."""
    value = text.strip()
    try:
        if _DATE.match(value):
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{option} must be a date (2026-05-01) or an RFC 3339 time, not {text[:40]!r}") from None
    if parsed.tzinfo is None:
        raise Invalid(f"{option} {text[:40]} has no offset: add Z (UTC) or one such as +02:00")
    return parsed.astimezone(UTC)


def parse_range(start: str, end: str) -> tuple[datetime, datetime]:
    first, last = parse_when(start, "--from"), parse_when(end, "--to")
    if first >= last:
        raise Invalid("--from must be before --to")
    return first, last


def _bar(hours: int, title: str, enabled: bool) -> tuple[Callable[[datetime], None], Callable[[], None]]:
    bar = tqdm(total=hours, desc=title, unit=" hours", dynamic_ncols=True, disable=not enabled or None)

    def step(hour: datetime) -> None:
        bar.set_postfix_str(f"{hour:%Y-%m-%d %H:00} UTC", refresh=False)
        bar.update(1)

    return step, bar.close


def run(args, settings) -> int:
    settings.require_database()
    start, end = parse_range(args.start, args.end)
    try:
        return asyncio.run(_run(args, settings.database_url, start, end))
    except (asyncpg.UndefinedTableError, asyncpg.UndefinedFunctionError):
        raise DomainError("the database has no analytics tables yet: run `hexfleet migrate`") from None


async def _run(args, dsn: str, start: datetime, end: datetime) -> int:
    now = datetime.now(UTC)
    hours = len(rollups.hours_of(start, min(end, now)))
    step, close = _bar(hours, args.action, not args.no_progress)
    async with pool(dsn) as connections:
        try:
            if args.action == "backfill":
                report = await rollups.backfill(connections, start, end, now, redo=args.redo, progress=step)
                close()
                print(
                    f"rolled up {report.rolled_up:,} hours ({report.skipped:,} were final already) "
                    f"and {report.days:,} days in {report.seconds:.0f} s"
                )
                return 0
            checked = await rollups.verify(connections, start, end, now, progress=step)
        except asyncio.CancelledError:
            close()
            print(f"{args.action} stopped: the same command goes on from there", file=sys.stderr)
            raise
    close()
    for difference in checked.differences[:SHOWN_DIFFERENCES]:
        print(difference)
    more = len(checked.differences) - SHOWN_DIFFERENCES
    if more > 0:
        print(f"… and {more:,} more")
    scope = f"checked {checked.hours:,} closed hours and {checked.days:,} whole days"
    if checked.differences:
        count = len(checked.differences)
        print(f"{scope}: {count:,} difference{'' if count == 1 else 's'} (`backfill --redo` rebuilds those hours)")
        return 1
    print(f"{scope}: the rollups match the raw rows")
    return 0
