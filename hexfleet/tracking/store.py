"""Live driver state in Redis: latest fix, duty status and the H3 availability index.

The keys are named in hexfleet.keys. ``hf:pos:{id}`` holds lat, lng, ts (device time),
rt (server time), spd, hdg, acc, bat, ``pc`` (H3 cell of the position) and ``cell`` (the
index cell it is listed in, '' if none).

Every change that can move a driver in or out of the index is one Lua script, so the
index stays exact under concurrent trackers, duty changes and sweeps: a driver is in
exactly one cell set iff it is available and its fix is fresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

from hexfleet.geo import cell_of
from hexfleet.keys import CELL_PREFIX, DUTY, LIVE, POS_PREFIX
from hexfleet.keys import pos as pos_key
from hexfleet.tracking.pings import Ping

_FIX_FIELDS = ["lat", "lng", "ts", "rt", "spd", "hdg", "acc", "bat", "cell", "lr", "lrt"]


# Shared tail of the two scripts below: given locals id, prefix and want (the cell the
# driver belongs in, '' for none), move it there and keep hf:live in step.
# KEYS: pos, duty, live.
_PLACE = """
local old = redis.call('HGET', KEYS[1], 'cell') or ''
if old ~= want then
  if old ~= '' then redis.call('SREM', prefix .. old, id) end
  if want ~= '' then redis.call('SADD', prefix .. want, id) end
  redis.call('HSET', KEYS[1], 'cell', want)
end
if want ~= '' then
  redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], 'rt'), id)
else
  redis.call('ZREM', KEYS[3], id)
end
return 1
"""

# ARGV: id, lat, lng, ts, rt, spd, hdg, acc, bat, cell, prefix
_APPLY_FIX = (
    """
local id, prefix = ARGV[1], ARGV[11]
local cur = redis.call('HGET', KEYS[1], 'ts')
if cur and tonumber(cur) >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], 'lat', ARGV[2], 'lng', ARGV[3], 'ts', ARGV[4], 'rt', ARGV[5],
           'spd', ARGV[6], 'hdg', ARGV[7], 'acc', ARGV[8], 'bat', ARGV[9], 'pc', ARGV[10])
local want = ''
if (redis.call('HGET', KEYS[2], id) or 'available') == 'available' then want = ARGV[10] end
"""
    + _PLACE
)

# ARGV: id, status, fresh_after (server time), prefix
_SET_DUTY = (
    """
local id, prefix = ARGV[1], ARGV[4]
redis.call('HSET', KEYS[2], id, ARGV[2])
local want = ''
if ARGV[2] == 'available' then
  local rt = redis.call('HGET', KEYS[1], 'rt')
  if rt and tonumber(rt) >= tonumber(ARGV[3]) then want = redis.call('HGET', KEYS[1], 'pc') or '' end
end
"""
    + _PLACE
)

# KEYS: live. ARGV: cutoff (server time), cell prefix, pos prefix
_SWEEP = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, id in ipairs(ids) do
  local key = ARGV[3] .. id
  local old = redis.call('HGET', key, 'cell') or ''
  if old ~= '' then redis.call('SREM', ARGV[2] .. old, id) end
  redis.call('HSET', key, 'cell', '')
  redis.call('ZREM', KEYS[1], id)
end
return #ids
"""


def _opt(value: float | None) -> str | float:
    return "" if value is None else value


def _float(raw: bytes | str | None) -> float | None:
    if raw is None or raw in (b"", ""):
        return None
    return float(raw)


@dataclass(frozen=True, slots=True)
class LiveFix:
    driver_id: int
    lat: float
    lng: float
    ts: float
    received_at: float
    speed_mps: float | None
    heading: float | None
    accuracy_m: float | None
    battery: float | None
    indexed: bool
    problem: str | None = None  # the last rejected or flagged reason (hexfleet.tracking.filters)
    problem_at: float | None = None


class LiveStore:
    def __init__(self, redis: Redis, h3_resolution: int = 9) -> None:
        self.redis = redis
        self.resolution = h3_resolution
        self._apply_fix = redis.register_script(_APPLY_FIX)
        self._set_duty = redis.register_script(_SET_DUTY)
        self._sweep = redis.register_script(_SWEEP)

    async def apply_fixes(self, fixes: Iterable[tuple[int, Ping, float]]) -> int:
        """Apply (driver_id, ping, received_at) in one round trip; returns how many moved a driver.

        A fix not newer than the stored one is ignored, so redelivery and
        out-of-order pings never move a driver backwards.
        """
        async with self.redis.pipeline(transaction=False) as pipe:
            count = 0
            for driver_id, p, received_at in fixes:
                cell = cell_of(p.lat, p.lng, self.resolution)
                await self._apply_fix(
                    keys=[pos_key(driver_id), DUTY, LIVE],
                    args=[
                        driver_id,
                        p.lat,
                        p.lng,
                        p.ts,
                        received_at,
                        _opt(p.speed_mps),
                        _opt(p.heading),
                        _opt(p.accuracy_m),
                        _opt(p.battery),
                        cell,
                        CELL_PREFIX,
                    ],
                    client=pipe,
                )
                count += 1
            if not count:
                return 0
            return sum(await pipe.execute())

    async def set_duty(self, driver_id: int, status: str, fresh_after: float) -> None:
        await self._set_duty(keys=[pos_key(driver_id), DUTY, LIVE], args=[driver_id, status, fresh_after, CELL_PREFIX])

    async def sync_duty(self, statuses: dict[int, str], fresh_after: float) -> None:
        """Make Redis agree with PostgreSQL's duty statuses (tracker start-up)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for driver_id, status in statuses.items():
                await self._set_duty(
                    keys=[pos_key(driver_id), DUTY, LIVE],
                    args=[driver_id, status, fresh_after, CELL_PREFIX],
                    client=pipe,
                )
            await pipe.execute()

    async def sweep_stale(self, fresh_after: float) -> int:
        """Drop drivers whose last fix is older than fresh_after from the index."""
        return int(await self._sweep(keys=[LIVE], args=[fresh_after, CELL_PREFIX, POS_PREFIX]))

    async def note_problem(self, driver_id: int, reason: str, at: float) -> None:
        """Remember a driver's last rejected or flagged fix, for the control room."""
        await self.redis.hset(pos_key(driver_id), mapping={"lr": reason, "lrt": at})  # type: ignore[misc]

    async def last_fixes(self, driver_ids: list[int]) -> dict[int, tuple[float, float, float]]:
        """(lat, lng, device time) of each driver's latest accepted fix: what new fixes are judged against."""
        if not driver_ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for driver_id in driver_ids:
                pipe.hmget(pos_key(driver_id), ["lat", "lng", "ts"])
            rows = await pipe.execute()
        return {d: (float(r[0]), float(r[1]), float(r[2])) for d, r in zip(driver_ids, rows, strict=True) if r[2]}

    async def duty(self) -> dict[int, str]:
        raw: dict = await self.redis.hgetall(DUTY)  # type: ignore[misc]
        return {int(k): v.decode() for k, v in raw.items()}

    async def fixes(self, driver_ids: list[int]) -> dict[int, LiveFix]:
        if not driver_ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for driver_id in driver_ids:
                pipe.hmget(pos_key(driver_id), _FIX_FIELDS)
            rows = await pipe.execute()
        out: dict[int, LiveFix] = {}
        for driver_id, row in zip(driver_ids, rows, strict=True):
            if row[0] is None:
                continue
            out[driver_id] = LiveFix(
                driver_id,
                float(row[0]),
                float(row[1]),
                float(row[2]),
                float(row[3]),
                _float(row[4]),
                _float(row[5]),
                _float(row[6]),
                _float(row[7]),
                bool(row[8]),
                row[9].decode() if row[9] else None,
                _float(row[10]),
            )
        return out

    async def indexed_cells(self, fresh_after: float) -> dict[int, int]:
        """driver id → index cell of every available driver with a fix newer than ``fresh_after``."""
        ids = await self.redis.zrangebyscore(LIVE, fresh_after, "+inf")
        if not ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for member in ids:
                pipe.hget(pos_key(int(member)), "cell")
            cells = await pipe.execute()
        return {int(m): int(c) for m, c in zip(ids, cells, strict=True) if c}

    async def candidates_in_cells(self, cells: list[int]) -> set[int]:
        ids: set[int] = set()
        # SUNION in chunks keeps each command's argument list reasonable at large radii.
        for start in range(0, len(cells), 1000):
            chunk = [CELL_PREFIX + str(c) for c in cells[start : start + 1000]]
            members: set = await self.redis.sunion(chunk)  # type: ignore[misc]
            ids.update(int(m) for m in members)
        return ids

    async def index_members(self) -> dict[int, int]:
        """driver id → indexed cell, for checks and tests (scans all cell keys)."""
        out: dict[int, int] = {}
        async for key in self.redis.scan_iter(match=CELL_PREFIX + "*", count=1000):
            cell = int(key.decode()[len(CELL_PREFIX) :])
            members: set = await self.redis.smembers(key)  # type: ignore[misc]
            for member in members:
                out[int(member)] = cell
        return out
