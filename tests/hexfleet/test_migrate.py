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


async def test_008_hashes_the_device_ids_in_place_and_phones_keep_working(service_urls, settings, redis, tmp_path):
    """A database from before 008 (plain device ids), migrated: every row kept, each id hashed,
    no plain id left in the table, not even in its files, and the phones' ids still work."""
    import hashlib
    import shutil
    import time

    import httpx

    from hexfleet import security
    from hexfleet.drivers import queries
    from webapp import create_app

    before = tmp_path / "migrations"
    before.mkdir()
    for m in discover():
        if m.version <= 7:
            shutil.copy(m.path, before / m.name)
    name = f"hexfleet_mig_{uuid.uuid4().hex[:8]}"
    url = await create_database(service_urls["postgres"], name)
    try:
        await migrate(url, before)
        live_id, revoked_id, short_id, tokens = security.new_device_id(), security.new_device_id(), "ab12", {}
        conn = await asyncpg.connect(url)
        try:
            drivers = [await conn.fetchval("INSERT INTO drivers (name) VALUES ($1) RETURNING id", n) for n in "ABC"]
            rows = {}
            made = zip(drivers, (live_id, revoked_id, short_id), (False, True, False), strict=True)
            for driver_id, device_id, revoked in made:
                tokens[device_id] = security.new_driver_token()
                rows[device_id] = await conn.fetchval(
                    """INSERT INTO devices (driver_id, device_id, token_hash, revoked_at)
                       VALUES ($1, $2, $3, CASE WHEN $4 THEN now() END) RETURNING id""",
                    driver_id,
                    device_id,
                    security.token_hash(tokens[device_id]),
                    revoked,
                )
        finally:
            await conn.close()

        applied = await migrate(url)
        assert applied[0] == "008_hashed_device_ids.sql"

        conn = await asyncpg.connect(url)
        try:
            columns = {r["column_name"] for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'devices'"
            )}  # fmt: skip
            assert "device_id" not in columns and {"device_id_hash", "device_id_hint"} <= columns
            stored = {r["id"]: r for r in await conn.fetch("SELECT * FROM devices")}
            assert set(stored) == set(rows.values())  # no row lost, none added
            for device_id, row_id in rows.items():
                row = stored[row_id]
                assert bytes(row["device_id_hash"]) == hashlib.sha256(device_id.encode()).digest()
                assert bytes(row["token_hash"]) == security.token_hash(tokens[device_id])
            assert stored[rows[live_id]]["device_id_hint"] == live_id[-4:]
            assert stored[rows[short_id]]["device_id_hint"] is None  # too short to give any of it away
            assert (stored[rows[revoked_id]]["revoked_at"] is not None) and stored[rows[live_id]]["revoked_at"] is None
            text = "\n".join(r["row"] for r in await conn.fetch("SELECT d::text AS row FROM devices d"))
            # Not in the table's files either: the migration rewrote it (old row versions and the
            # dropped column would keep the plain ids on disk). Read as the server stores it.
            await conn.execute("CHECKPOINT")
            raw = await conn.fetchval("SELECT pg_read_binary_file(pg_relation_filepath('devices'))")
            for device_id in (live_id, revoked_id):
                assert device_id not in text and device_id.encode() not in raw
            assert await queries.driver_for_device_id(conn, live_id) == drivers[0]
            assert await queries.driver_for_device_id(conn, revoked_id) is None
            assert await queries.driver_for_device_credentials(conn, short_id, tokens[short_id]) == drivers[2]
        finally:
            await conn.close()

        # The phones keep the ids they have: Traccar Client and OwnTracks still get in.
        app = create_app(settings.with_(database_url=url))
        async with app.test_app():
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
                fix = {"lat": "52.52", "lon": "13.405", "timestamp": str(int(time.time()))}
                assert (await client.get("/osmand", params={"id": live_id, **fix})).status_code == 200
                assert (await client.get("/osmand", params={"id": revoked_id, **fix})).status_code == 404
                location = {"_type": "location", "lat": 52.52, "lon": 13.405, "tst": int(time.time())}
                owntracks = await client.post("/owntracks", json=location, auth=(short_id, tokens[short_id]))
                assert owntracks.status_code == 200, owntracks.text
    finally:
        await drop_database(service_urls["postgres"], name)
