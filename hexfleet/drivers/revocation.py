"""Telling every web process that device credentials changed.

Web processes cache device lookups for AUTH_CACHE_TTL_S; a rotated or revoked token
must stop working at once, so whoever changes credentials announces it on this Redis
channel and every web process drops its cache.
"""

from __future__ import annotations

from hexfleet.keys import REVOCATION_CHANNEL as CHANNEL


async def announce(redis, driver_id: int) -> None:
    await redis.publish(CHANNEL, str(driver_id))


async def announce_many(redis, driver_ids: list[int]) -> None:
    """One announcement per driver, sent in one round trip."""
    if not driver_ids:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for driver_id in driver_ids:
            pipe.publish(CHANNEL, str(driver_id))
        await pipe.execute()
