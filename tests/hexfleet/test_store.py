"""The H3 availability index and the GEO set in Redis stay exact, and in step, through moves,
duty changes and staleness."""

import random
import time

from hexfleet.geo import cell_of, haversine_m
from hexfleet.tracking.pings import Ping
from hexfleet.tracking.store import LiveStore

BERLIN = (52.5200, 13.4050)
POTSDAM = (52.3906, 13.0645)


def fix(lat_lng, ts):
    return Ping(lat_lng[0], lat_lng[1], ts, speed_mps=5.0)


async def on_duty(store, *driver_ids: int) -> None:
    """These drivers went available (before any fix: nothing to index yet)."""
    for driver_id in driver_ids:
        await store.set_duty(driver_id, "available", time.time() - 60)


async def test_a_driver_nobody_put_on_duty_is_never_indexed(redis):
    """New drivers start off duty: a first fix from a driver whose duty Redis has not heard of
    shows where they are, and offers them nothing until they go available."""
    store = LiveStore(redis)
    now = time.time()
    await store.apply_fixes([(3, fix(BERLIN, now), now)])
    assert (await store.fixes([3]))[3].lat == BERLIN[0]  # on the map
    assert await store.index_members() == {} and await store.geo_members() == {}
    assert await store.nearest(*BERLIN, 1000, now - 60, 5) == []
    await store.set_duty(3, "available", now - 60)
    assert await store.index_members() == {3: cell_of(*BERLIN, 9)}


async def test_moves_keep_one_cell(redis):
    store = LiveStore(redis)
    await on_duty(store, 1)
    now = time.time()
    assert await store.apply_fixes([(1, fix(BERLIN, now - 10), now)]) == 1
    assert await store.index_members() == {1: cell_of(*BERLIN, 9)}
    await store.apply_fixes([(1, fix(POTSDAM, now - 5), now)])
    assert await store.index_members() == {1: cell_of(*POTSDAM, 9)}


async def test_older_or_equal_fix_never_moves_the_driver(redis):
    store = LiveStore(redis)
    now = time.time()
    await store.apply_fixes([(1, fix(POTSDAM, now), now)])
    assert await store.apply_fixes([(1, fix(BERLIN, now - 30), now), (1, fix(BERLIN, now), now)]) == 0
    assert (await store.fixes([1]))[1].lat == POTSDAM[0]


async def test_duty_changes_move_in_and_out_of_the_index(redis):
    store = LiveStore(redis)
    now = time.time()
    await store.apply_fixes([(7, fix(BERLIN, now), now)])
    await store.set_duty(7, "off_duty", now - 60)
    assert await store.index_members() == {}
    await store.apply_fixes([(7, fix(POTSDAM, now + 1), now)])  # moving while off duty stays out
    assert await store.index_members() == {}
    await store.set_duty(7, "available", now - 60)
    assert await store.index_members() == {7: cell_of(*POTSDAM, 9)}
    await store.set_duty(7, "busy", now - 60)
    assert await store.index_members() == {}


async def test_stale_drivers_are_swept_and_return_on_a_fresh_fix(redis):
    store = LiveStore(redis)
    await on_duty(store, 1, 2)
    now = time.time()
    await store.apply_fixes([(1, fix(BERLIN, now - 120), now - 120), (2, fix(POTSDAM, now), now)])
    assert await store.sweep_stale(now - 60) == 1
    assert await store.index_members() == {2: cell_of(*POTSDAM, 9)}
    # Available again but stale: setting duty does not index a stale fix.
    await store.set_duty(1, "available", now - 60)
    assert 1 not in await store.index_members()
    await store.apply_fixes([(1, fix(BERLIN, now), now)])
    assert (await store.index_members())[1] == cell_of(*BERLIN, 9)


async def test_candidates_in_cells(redis):
    store = LiveStore(redis)
    await on_duty(store, 1, 2)
    now = time.time()
    await store.apply_fixes([(1, fix(BERLIN, now), now), (2, fix(POTSDAM, now), now)])
    assert await store.candidates_in_cells([cell_of(*BERLIN, 9)]) == {1}


# ---------------------------------------------------------------- the GEO set (hf:geo)


def close_to(a, b, metres: float = 1.0) -> bool:
    return haversine_m(*a, *b) <= metres


async def test_geo_set_follows_moves_duty_and_staleness(redis):
    store = LiveStore(redis)
    await on_duty(store, 1)
    now = time.time()
    await store.apply_fixes([(1, fix(BERLIN, now - 10), now - 10)])
    assert close_to((await store.geo_members())[1], BERLIN)
    await store.apply_fixes([(1, fix(POTSDAM, now - 5), now - 5)])  # a move
    assert close_to((await store.geo_members())[1], POTSDAM)
    for status in ("off_duty", "busy"):
        await store.set_duty(1, status, now - 60)
        assert await store.geo_members() == {}
        await store.apply_fixes([(1, fix(BERLIN, now - 4 + (status == "busy")), now)])  # moving while away
        assert await store.geo_members() == {}
        await store.set_duty(1, "available", now - 60)
        assert close_to((await store.geo_members())[1], BERLIN)  # back where it is now
    assert await store.sweep_stale(now + 1) == 1  # its last fix is older than that: stale
    assert await store.geo_members() == {}
    await store.set_duty(1, "available", now + 1)  # available but stale: stays out
    assert await store.geo_members() == {}
    await store.apply_fixes([(1, fix(POTSDAM, now + 2), now + 2)])
    assert close_to((await store.geo_members())[1], POTSDAM)


async def test_nearest_is_nearest_first_within_the_radius_and_fresh_only(redis):
    store = LiveStore(redis)
    await on_duty(store, 1, 2, 3, 4, 5)
    now = time.time()
    spots = {1: (52.5200, 13.4100), 2: (52.5200, 13.4060), 3: (52.5300, 13.4050), 4: (52.5210, 13.4050)}
    await store.apply_fixes([(d, fix(p, now), now) for d, p in spots.items()])
    await store.apply_fixes([(5, fix((52.5201, 13.4050), now - 120), now - 120)])  # nearest, but stale
    found = await store.nearest(*BERLIN, 2000, now - 60, 10)  # before the sweep got to driver 5
    assert [s.driver_id for s in found] == [2, 4, 1, 3]
    assert [round(s.distance_m) for s in found] == [
        round(haversine_m(*BERLIN, *spots[d])) for d in (2, 4, 1, 3)
    ]  # exact, from the stored fix
    assert (found[0].lat, found[0].lng) == spots[2]
    assert [s.driver_id for s in await store.nearest(*BERLIN, 2000, now - 60, 2)] == [2, 4]
    assert [s.driver_id for s in await store.nearest(*BERLIN, 500, now - 60, 10)] == [2, 4, 1]  # 3 is 1.1 km away
    assert [s.driver_id for s in await store.nearest(*BERLIN, 2000, now - 200, 1)] == [
        5
    ]  # fresh enough for this reader
    await store.set_duty(2, "busy", now - 60)
    assert [s.driver_id for s in await store.nearest(*BERLIN, 2000, now - 60, 1)] == [4]


async def test_nearest_looks_past_stale_drivers_the_sweep_has_not_reached(redis):
    store = LiveStore(redis)
    await on_duty(store, *range(1, 41), 99)
    now = time.time()
    stale = [(d, fix((52.5200 + d * 0.00001, 13.4050), now - 120), now - 120) for d in range(1, 41)]
    await store.apply_fixes([*stale, (99, fix((52.5300, 13.4050), now), now)])
    assert [s.driver_id for s in await store.nearest(*BERLIN, 5000, now - 60, 3)] == [99]


async def test_polar_drivers_do_not_break_the_scripts(redis):
    store = LiveStore(redis)
    await on_duty(store, 1)
    now = time.time()
    north = (89.5, 10.0)  # beyond what a GEO set can hold
    assert await store.apply_fixes([(1, fix(north, now), now)]) == 1
    assert await store.index_members() == {1: cell_of(*north, 9)}
    assert set(await store.geo_members()) == {1}
    assert [s.driver_id for s in await store.nearest(89.6, 10.0, 50_000, now - 60, 5)] == [1]
    assert (await store.fixes([1]))[1].lat == 89.5  # the fix itself is kept exactly


async def test_drivers_indexed_before_the_geo_set_existed_are_filled_in(redis):
    store = LiveStore(redis)
    await on_duty(store, 1, 2)
    now = time.time()
    await store.apply_fixes([(1, fix(BERLIN, now), now), (2, fix(POTSDAM, now), now)])
    await redis.delete("hf:geo")  # as a version without it left Redis
    await redis.zadd("hf:geo", {"7": 0})  # and something that is not indexed at all
    assert await store.repair_geo() == 3
    assert set(await store.geo_members()) == {1, 2}
    assert await store.repair_geo() == 0
    await redis.delete("hf:geo")
    await store.sync_duty({1: "available", 2: "available"}, now - 60)  # the tracker's start-up
    assert set(await store.geo_members()) == {1, 2}


async def test_geo_set_and_cell_sets_agree_after_random_operations(redis):
    """A property test against real Redis: after any sequence of fixes (newer, older,
    fresh or stale), duty changes and sweeps, the GEO set, the live set and the cell sets
    hold the same drivers, each where its latest fix is, and exactly those a model of the
    rules says; nearest() agrees with a brute-force search."""
    store = LiveStore(redis)
    for seed in range(4):
        await redis.flushdb()
        rng = random.Random(seed)
        now = time.time()
        model: dict[int, dict] = {}  # driver → ts, rt, lat, lng, duty, indexed
        for _ in range(150):
            driver = rng.randint(1, 12)
            # A driver Redis has no duty for counts as off duty (new drivers start so).
            m = model.setdefault(driver, {"ts": None, "duty": "off_duty", "indexed": False})
            op = rng.random()
            if op < 0.6:
                ts = now - rng.uniform(0, 120)
                rt = now - rng.uniform(0, 120)
                lat, lng = 52.52 + rng.uniform(-0.03, 0.03), 13.40 + rng.uniform(-0.05, 0.05)
                await store.apply_fixes([(driver, Ping(lat, lng, ts), rt)])
                if m["ts"] is None or ts > m["ts"]:
                    m.update(ts=ts, rt=rt, lat=lat, lng=lng, indexed=m["duty"] == "available")
            elif op < 0.85:
                status = rng.choice(["available", "busy", "off_duty"])
                fresh_after = now - 60
                await store.set_duty(driver, status, fresh_after)
                m["duty"] = status
                m["indexed"] = status == "available" and m["ts"] is not None and m["rt"] >= fresh_after
            else:
                cutoff = now - rng.uniform(30, 90)
                await store.sweep_stale(cutoff)
                for other in model.values():
                    if other["indexed"] and other["rt"] < cutoff:
                        other["indexed"] = False
            expected = {d for d, x in model.items() if x["indexed"]}
            cells = await store.index_members()
            geo = await store.geo_members()
            live = {int(m) for m in await redis.zrange("hf:live", 0, -1)}
            assert set(cells) == set(geo) == live == expected, (seed, cells, geo, live, expected)
            for d in expected:
                x = model[d]
                assert cells[d] == cell_of(x["lat"], x["lng"], 9)
                assert close_to(geo[d], (x["lat"], x["lng"]))
        fresh_after = now - 60
        for _ in range(10):
            lat, lng = 52.52 + rng.uniform(-0.03, 0.03), 13.40 + rng.uniform(-0.05, 0.05)
            radius, count = rng.uniform(500, 6000), rng.randint(1, 6)
            brute = sorted(
                (haversine_m(lat, lng, x["lat"], x["lng"]), d)
                for d, x in model.items()
                if x["indexed"] and x["rt"] >= fresh_after
            )
            expected_ids = [d for dist, d in brute if dist <= radius][:count]
            assert [s.driver_id for s in await store.nearest(lat, lng, radius, fresh_after, count)] == expected_ids
