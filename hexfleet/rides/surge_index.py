"""Live surge multipliers in Redis (``hf:surge``: cell → tenths), read in O(1) by every quote."""

from __future__ import annotations

from hexfleet.geo import cell_of
from hexfleet.keys import SURGE
from hexfleet.rides.fares import SURGE_NONE


class SurgeIndex:
    def __init__(self, redis, resolution: int) -> None:
        self.redis = redis
        self.resolution = resolution

    def cell(self, lat: float, lng: float) -> int:
        return cell_of(lat, lng, self.resolution)

    async def tenths(self, cell: int) -> int:
        raw = await self.redis.hget(SURGE, str(cell))
        return int(raw) if raw else SURGE_NONE

    async def all(self) -> dict[int, int]:
        raw = await self.redis.hgetall(SURGE)
        return {int(k): int(v) for k, v in raw.items()}

    async def replace(self, changes: dict[int, int]) -> None:
        """Write changed cells; cells back at ×1.0 leave the hash (it holds only surging cells)."""
        if not changes:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            up = {str(c): t for c, t in changes.items() if t != SURGE_NONE}
            down = [str(c) for c, t in changes.items() if t == SURGE_NONE]
            if up:
                pipe.hset(SURGE, mapping=up)
            if down:
                pipe.hdel(SURGE, *down)
            await pipe.execute()
