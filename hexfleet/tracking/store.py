"""Live driver state in Redis: latest fix, duty status and the H3 availability index.

The keys are named in hexfleet.keys. ``hf:pos:{id}`` holds lat, lng, ts (device time),
rt (server time), spd, hdg, acc, bat, ``pc`` (H3 cell of the position) and ``cell`` (the
index cell it is listed in, '' if none).

Every change that can move a driver in or out of the index is one Lua script, so the
index stays exact under concurrent trackers, duty changes and sweeps: a driver is in
exactly one cell set iff it is available and its fix is fresh. A driver whose duty Redis
has not heard of (added since the tracker copied every duty from PostgreSQL) counts as off
duty, as new drivers start: its first fix shows it on the map but never offers it a ride.

The same scripts keep ``hf:geo``, a Redis GEO set of the same drivers at their latest
position. The H3 cells answer "who is in this area" (the nearby API, surge supply);
the GEO set answers "the nearest few" (quotes' ETA, dispatch) without reading every
driver of a 6 km disc: GEOSEARCH … ASC COUNT 20 costs about 0.2 ms of client CPU here,
where reading the ~600 drivers of a quote's H3 disk cost 16–35 ms.

Stale drivers stay in both indexes until the next sweep (every couple of seconds), so
readers check the fix's server time too, as they always did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

from hexfleet.geo import cell_of, haversine_m
from hexfleet.keys import CELL_PREFIX, DUTY, GEO, LIVE, POS_PREFIX
from hexfleet.keys import pos as pos_key
from hexfleet.tracking.pings import Ping

_FIX_FIELDS = ["lat", "lng", "ts", "rt", "spd", "hdg", "acc", "bat", "cell", "lr", "lrt"]


# GEOADD refuses latitudes beyond ±85.05112878° (Web Mercator) and would abort a script
# half-way: such a driver is filed at the edge. Readers measure distances from the exact
# fix, so only the choice of the nearest few near a pole can suffer.
GEO_MAX_LAT = 85.05
_GEOADD = f"""
local function geoadd(key, lng, lat, id)
  local l = tonumber(lat)
  if l > {GEO_MAX_LAT} then lat = '{GEO_MAX_LAT}' elseif l < -{GEO_MAX_LAT} then lat = '-{GEO_MAX_LAT}' end
  redis.call('GEOADD', key, lng, lat, id)
end
"""

# Shared part of the two scripts below: given locals id, prefix and want (the cell the
# driver belongs in, '' for none), move it there and keep hf:live and hf:geo in step.
# The GEO position is written even when the cell did not change (a move inside one cell,
# or a duty re-sync), which also fills hf:geo for drivers indexed before it existed.
# KEYS: pos, duty, live, geo.
_PLACE = """
local old = redis.call('HGET', KEYS[1], 'cell') or ''
if old ~= want then
  if old ~= '' then redis.call('SREM', prefix .. old, id) end
  if want ~= '' then redis.call('SADD', prefix .. want, id) end
  redis.call('HSET', KEYS[1], 'cell', want)
end
if want ~= '' then
  local fix = redis.call('HMGET', KEYS[1], 'rt', 'lng', 'lat')
  redis.call('ZADD', KEYS[3], fix[1], id)
  geoadd(KEYS[4], fix[2], fix[3], id)
else
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
end
"""

# ARGV: id, lat, lng, ts, rt, spd, hdg, acc, bat, cell, prefix
_APPLY_FIX = (
    _GEOADD
    + """
local id, prefix = ARGV[1], ARGV[11]
local cur = redis.call('HGET', KEYS[1], 'ts')
if cur and tonumber(cur) >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], 'lat', ARGV[2], 'lng', ARGV[3], 'ts', ARGV[4], 'rt', ARGV[5],
           'spd', ARGV[6], 'hdg', ARGV[7], 'acc', ARGV[8], 'bat', ARGV[9], 'pc', ARGV[10])
local want = ''
if redis.call('HGET', KEYS[2], id) == 'available' then want = ARGV[10] end
"""
    + _PLACE
    + "return 1\n"
)

# ARGV: id, status, fresh_after (server time), prefix
_SET_DUTY = (
    _GEOADD
    + """
local id, prefix = ARGV[1], ARGV[4]
redis.call('HSET', KEYS[2], id, ARGV[2])
local want = ''
if ARGV[2] == 'available' then
  local rt = redis.call('HGET', KEYS[1], 'rt')
  if rt and tonumber(rt) >= tonumber(ARGV[3]) then want = redis.call('HGET', KEYS[1], 'pc') or '' end
end
"""
    + _PLACE
    # Whether the driver is in the index now: available with a fresh fix.
    + "if want ~= '' then return 1 end\nreturn 0\n"
)

# KEYS: live, geo. ARGV: cutoff (server time), cell prefix, pos prefix
_SWEEP = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, id in ipairs(ids) do
  local key = ARGV[3] .. id
  local old = redis.call('HGET', key, 'cell') or ''
  if old ~= '' then redis.call('SREM', ARGV[2] .. old, id) end
  redis.call('HSET', key, 'cell', '')
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return #ids
"""

# The nearest ``count`` drivers of hf:geo with a fix newer than ARGV[5], nearest first:
# {id, lat, lng} each. Stale drivers the sweep has not reached yet take places in a
# GEOSEARCH answer, so it asks again for twice as many until it has enough or the
# radius holds no more.
# KEYS: geo. ARGV: lng, lat, radius (m), count, fresh_after (server time), pos prefix
_NEAREST = """
local want, fresh = tonumber(ARGV[4]), tonumber(ARGV[5])
local n = want
while true do
  local ids = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2], 'BYRADIUS', ARGV[3], 'm',
                         'ASC', 'COUNT', n)
  local out = {}
  for _, id in ipairs(ids) do
    local f = redis.call('HMGET', ARGV[6] .. id, 'lat', 'lng', 'rt')
    if f[3] and tonumber(f[3]) >= fresh then
      out[#out + 1] = {id, f[1], f[2]}
      if #out == want then return out end
    end
  end
  if #ids < n then return out end
  n = n * 2
end
"""

# Make hf:geo hold exactly hf:live's members (drivers indexed by a version without it,
# or anything a crash between versions left): missing ones at their stored fix.
# KEYS: live, geo. ARGV: pos prefix
_REPAIR_GEO = (
    _GEOADD
    + """
local changed = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if not redis.call('ZSCORE', KEYS[2], id) then
    local f = redis.call('HMGET', ARGV[1] .. id, 'lng', 'lat')
    if f[1] and f[2] then
      geoadd(KEYS[2], f[1], f[2], id)
      changed = changed + 1
    end
  end
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if not redis.call('ZSCORE', KEYS[1], id) then
    redis.call('ZREM', KEYS[2], id)
    changed = changed + 1
  end
end
return changed
"""
)

# GEOSEARCH measures on 52-bit geohashes with an earth radius 0.03 % larger than ours:
# search a little wider, then keep what the exact fix puts inside the radius.
_SEARCH_SLACK = 1.001
_SEARCH_SLACK_M = 5.0


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


@dataclass(frozen=True, slots=True)
class Spot:
    """An available driver near a point, from the GEO set."""

    driver_id: int
    lat: float  # of the latest fix, exactly as stored
    lng: float
    distance_m: float  # great-circle, from the point to that fix


class LiveStore:
    def __init__(self, redis: Redis, h3_resolution: int = 9) -> None:
        self.redis = redis
        self.resolution = h3_resolution
        self._apply_fix = redis.register_script(_APPLY_FIX)
        self._set_duty = redis.register_script(_SET_DUTY)
        self._sweep = redis.register_script(_SWEEP)
        self._nearest = redis.register_script(_NEAREST)
        self._repair_geo = redis.register_script(_REPAIR_GEO)

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
                    keys=[pos_key(driver_id), DUTY, LIVE, GEO],
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

    async def set_duty(self, driver_id: int, status: str, fresh_after: float) -> bool:
        """Set the duty status; returns whether the driver is in the index now (available,
        with a fix newer than ``fresh_after``: what dispatch can offer rides to)."""
        indexed = await self._set_duty(
            keys=[pos_key(driver_id), DUTY, LIVE, GEO], args=[driver_id, status, fresh_after, CELL_PREFIX]
        )
        return bool(indexed)

    async def sync_duty(self, statuses: dict[int, str], fresh_after: float) -> None:
        """Make Redis agree with PostgreSQL's duty statuses (tracker start-up); this also puts
        every indexed driver in hf:geo at its latest fix."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for driver_id, status in statuses.items():
                await self._set_duty(
                    keys=[pos_key(driver_id), DUTY, LIVE, GEO],
                    args=[driver_id, status, fresh_after, CELL_PREFIX],
                    client=pipe,
                )
            await pipe.execute()

    async def sweep_stale(self, fresh_after: float) -> int:
        """Drop drivers whose last fix is older than fresh_after from the index."""
        return int(await self._sweep(keys=[LIVE, GEO], args=[fresh_after, CELL_PREFIX, POS_PREFIX]))

    async def repair_geo(self) -> int:
        """Fill hf:geo from hf:live where they differ (drivers indexed before hf:geo existed);
        returns how many entries changed. Cheap when they agree (two ZCARDs)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(LIVE)
            pipe.zcard(GEO)
            live, geo = await pipe.execute()
        if live == geo:
            # Same size and every write keeps them in step: only a crash mid-upgrade could
            # leave equal sizes with different members, and a driver's next fix mends that.
            return 0
        return int(await self._repair_geo(keys=[LIVE, GEO], args=[POS_PREFIX]))

    async def nearest(self, lat: float, lng: float, radius_m: float, fresh_after: float, count: int) -> list[Spot]:
        """Up to ``count`` available drivers with a fix newer than ``fresh_after`` (server
        time) within ``radius_m`` of (lat, lng), nearest first, ties by driver id.

        Fewer than ``count`` means there are no more within the radius. The order is the
        exact great-circle distance among those returned; which drivers make the cut is
        GEOSEARCH's (positions to within a metre)."""
        centre_lat = max(-GEO_MAX_LAT, min(GEO_MAX_LAT, lat))
        rows = await self._nearest(
            keys=[GEO],
            args=[lng, centre_lat, radius_m * _SEARCH_SLACK + _SEARCH_SLACK_M, count, fresh_after, POS_PREFIX],
        )
        spots = []
        for raw_id, raw_lat, raw_lng in rows:
            flat, flng = float(raw_lat), float(raw_lng)
            distance = haversine_m(lat, lng, flat, flng)
            if distance <= radius_m:
                spots.append(Spot(int(raw_id), flat, flng, distance))
        spots.sort(key=lambda s: (s.distance_m, s.driver_id))
        return spots

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

    async def last_seen(self, driver_ids: list[int]) -> dict[int, tuple[float, float, float]]:
        """(server time, lat, lng) of each driver's latest accepted fix: duty history judges
        online and stale by server time, as the control room does."""
        if not driver_ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for driver_id in driver_ids:
                pipe.hmget(pos_key(driver_id), ["rt", "lat", "lng"])
            rows = await pipe.execute()
        return {
            d: (float(r[0]), float(r[1]), float(r[2])) for d, r in zip(driver_ids, rows, strict=True) if r[0] and r[1]
        }

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

    async def geo_members(self) -> dict[int, tuple[float, float]]:
        """driver id → (lat, lng) in hf:geo, for checks and tests."""
        ids = await self.redis.zrange(GEO, 0, -1)
        if not ids:
            return {}
        positions = await self.redis.geopos(GEO, *ids)
        return {int(m): (p[1], p[0]) for m, p in zip(ids, positions, strict=True) if p}

    async def index_members(self) -> dict[int, int]:
        """driver id → indexed cell, for checks and tests (scans all cell keys)."""
        out: dict[int, int] = {}
        async for key in self.redis.scan_iter(match=CELL_PREFIX + "*", count=1000):
            cell = int(key.decode()[len(CELL_PREFIX) :])
            members: set = await self.redis.smembers(key)  # type: ignore[misc]
            for member in members:
                out[int(member)] = cell
        return out
