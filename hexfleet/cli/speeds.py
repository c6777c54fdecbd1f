"""``hexfleet speeds learn|show``: learn driving speeds from position history now (what the
worker's hourly cron does), or show what has been learned."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
from tqdm import tqdm

from hexfleet.cli.db import pool
from hexfleet.errors import DomainError
from hexfleet.eta import learn
from hexfleet.eta import queries as q

NAMES = {8: "resolution-8 cells", 7: "resolution-7 areas", 0: "city-wide"}


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    text = "derive the last hours from position history again and rebuild the learned speeds"
    command = sub.add_parser("learn", help=text, description=text)
    command.add_argument(
        "--hours", type=int, default=24, metavar="N", help="closed hours to derive again (24; at most what history has)"
    )
    command.add_argument("--no-progress", action="store_true", help="no progress bar")
    text = "how many cell-hours have been learned, per resolution"
    sub.add_parser("show", help=text, description=text)


def run(args, settings) -> int:
    settings.require_database()
    if args.action == "learn" and args.hours < 1:
        raise DomainError("--hours must be at least 1")
    try:
        return asyncio.run(_run(args, settings))
    except asyncpg.UndefinedTableError:
        raise DomainError("the database has no learned speeds tables yet: run `hexfleet migrate`") from None


async def _run(args, settings) -> int:
    async with pool(settings.database_url) as connections:
        if args.action == "learn":
            now = datetime.now(UTC)
            bar = tqdm(
                total=args.hours, desc="learn", unit=" hours", dynamic_ncols=True, disable=args.no_progress or None
            )
            report = await learn.relearn(connections, settings, args.hours, now, progress=lambda _h: bar.update(1))
            bar.close()
            print(f"derived {report.hours:,} hours; {report.rows:,} learned rows in {report.seconds:.1f} s")
        async with connections.acquire() as conn:
            summary = await q.speeds_summary(conn)
    if not summary:
        print("nothing learned yet: estimates drive at AVERAGE_SPEED_KMH")
    for resolution, rows, passes, hours in summary:
        print(f"{NAMES.get(resolution, resolution)}: {rows:,} rows over {hours} hours of week, {passes:,} passes")
    print(f"a row is used with at least {settings.learned_speeds_min_passes} passes (LEARNED_SPEEDS_MIN_PASSES)")
    return 0
