"""Telling every web process that device credentials changed.

Web processes cache device lookups for AUTH_CACHE_TTL_S; a rotated or revoked token
must stop working at once, so whoever changes credentials announces it on this Redis
channel and every web process drops its cache.
"""

from __future__ import annotations

from hexfleet.keys import REVOCATION_CHANNEL as CHANNEL


async def announce(redis, driver_id: int) -> None:
    await redis.publish(CHANNEL, str(driver_id))
