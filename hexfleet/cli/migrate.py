from __future__ import annotations

import asyncio

from hexfleet.migrate import migrate


def configure(parser) -> None:
    pass


def run(args, settings) -> int:
    settings.require_database()
    applied = asyncio.run(migrate(settings.database_url, log=lambda m: print(f"migrate: {m}", flush=True)))
    print(f"migrate: {len(applied)} applied, database is up to date")
    return 0
