"""The H3 availability index in Redis stays exact through moves, duty changes and staleness."""

import time

from hexfleet.geo import cell_of
from hexfleet.tracking.pings import Ping
from hexfleet.tracking.store import LiveStore

BERLIN = (52.5200, 13.4050)
POTSDAM = (52.3906, 13.0645)


def fix(lat_lng, ts):
    return Ping(lat_lng[0], lat_lng[1], ts, speed_mps=5.0)


async def test_moves_keep_one_cell(redis):
    store = LiveStore(redis)
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
    now = time.time()
    await store.apply_fixes([(1, fix(BERLIN, now), now), (2, fix(POTSDAM, now), now)])
    assert await store.candidates_in_cells([cell_of(*BERLIN, 9)]) == {1}
