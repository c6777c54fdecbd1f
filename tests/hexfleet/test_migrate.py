import asyncio
import uuid

import asyncpg

from hexfleet.devtools.testing import create_database, drop_database
from hexfleet.migrate import discover, migrate


async def test_concurrent_and_repeated_runs_apply_each_file_once(service_urls):
    name = f"hexfleet_mig_{uuid.uuid4().hex[:8]}"
    url = await create_database(service_urls["postgres"], name)
    try:
        results = await asyncio.gather(*(migrate(url) for _ in range(4)))
        names = [m.name for m in discover()]
        assert sorted(n for r in results for n in r) == sorted(names)  # each applied by exactly one runner
        assert await migrate(url) == []
        conn = await asyncpg.connect(url)
        try:
            versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")]
        finally:
            await conn.close()
        assert versions == [m.version for m in discover()]
    finally:
        await drop_database(service_urls["postgres"], name)
