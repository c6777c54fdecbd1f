"""The bench's own data: database ``hexfleet_bench``, a Redis db number, a driver fleet.

Drivers are made with one statement each for drivers and devices (``hexfleet drivers
add`` takes a process per driver); the tokens are generated here so the load tools know
them, and only their sha256 is stored, exactly like real devices.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import asyncpg
import orjson
from redis.asyncio import Redis

from hexfleet import security

BENCH_DATABASE = "hexfleet_bench"
BENCH_REDIS_DB = 15
DISPATCHER_EMAIL = "bench-dispatcher@hexfleet.invalid"


class BenchSetupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Fleet:
    driver_ids: list[int]
    tokens: list[str]  # device token of driver_ids[i]
    dispatcher_token: str


def migrate(dsn: str, env: dict[str, str]) -> None:
    """Run ``hexfleet migrate`` as the deployment does (a subprocess, its own settings)."""
    result = subprocess.run(
        [sys.executable, "-m", "hexfleet.cli.main", "migrate"],
        env={**env, "DATABASE_URL": dsn},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise BenchSetupError(f"hexfleet migrate failed:\n{result.stdout}{result.stderr}")


async def create_fleet(dsn: str, drivers: int) -> Fleet:
    tokens = [security.new_driver_token() for _ in range(drivers)]
    dispatcher_token = security.new_user_token()
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            rows = await conn.fetch(
                # Available (new drivers start off duty): the tracker copies it to Redis when it starts.
                """INSERT INTO drivers (name, status) SELECT 'bench driver ' || g, 'available'
                   FROM generate_series(1, $1) g RETURNING id""",
                drivers,
            )
            driver_ids = sorted(r["id"] for r in rows)
            # The bench drives the native API only: its devices' ids are never needed, only stored (hashed).
            await conn.execute(
                """INSERT INTO devices (driver_id, device_id_hash, token_hash)
                   SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])""",
                driver_ids,
                [security.device_id_hash(security.new_device_id()) for _ in driver_ids],
                [security.token_hash(t) for t in tokens],
            )
            # '!' is no argon2 hash: this account can never log in with a password.
            user_id = await conn.fetchval(
                "INSERT INTO users (email, password_hash, role) VALUES ($1, '!', 'dispatcher') RETURNING id",
                DISPATCHER_EMAIL,
            )
            await conn.execute(
                "INSERT INTO api_tokens (user_id, token_hash, label, expires_at) "
                "VALUES ($1, $2, 'bench', now() + interval '1 day')",
                user_id,
                security.token_hash(dispatcher_token),
            )
    finally:
        await conn.close()
    return Fleet(driver_ids, tokens, dispatcher_token)


async def flush_redis(url: str) -> None:
    redis = Redis.from_url(url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


async def redis_json(url: str, key: str) -> dict:
    redis = Redis.from_url(url)
    try:
        raw = await redis.get(key)
    finally:
        await redis.aclose()
    return orjson.loads(raw) if raw else {}
