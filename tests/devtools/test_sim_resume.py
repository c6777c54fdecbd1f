"""A restarted demo resumes every driver from its last stored position (real PostgreSQL)."""

from __future__ import annotations

import time

from hexfleet.devtools.sim.motion import DriverSim, Grid, MotionProfile, haversine_m
from hexfleet.devtools.sim.runner import prepare_drivers, resume_at
from hexfleet.tracking import queries as history
from hexfleet.tracking.pings import Ping

BERLIN = (52.52, 13.405)


async def test_prepare_drivers_returns_the_last_shown_position(db, database_url):
    first, created = await prepare_drivers(database_url, 3)
    assert created == 3 and all(d.last is None for d in first)  # never seen: a random start
    now = time.time()
    shown = Ping(52.5301, 13.4102, now - 20, heading=90.0)
    jump = Ping(48.14, 11.58, now - 10)  # flagged by the tracker: never where the driver was
    async with db.acquire() as conn:
        await history.insert_positions(
            conn,
            [
                (first[0].driver_id, Ping(52.5300, 13.4100, now - 40), now - 40, None),
                (first[0].driver_id, shown, now - 20, None),
                (first[0].driver_id, jump, now - 10, "implausible-jump"),
            ],
        )
    again, created = await prepare_drivers(database_url, 3)
    assert created == 0 and [d.driver_id for d in again] == [d.driver_id for d in first]
    assert again[0].last == (52.5301, 13.4102, 90.0)
    assert again[1].last is None

    grid = Grid(*BERLIN, 4000)
    fix = DriverSim(grid, 7, MotionProfile(gps_noise=False), start=resume_at(grid, again[0])).advance(0.0)
    # On the nearest street: within half a block of where it was, never across town.
    assert haversine_m(52.5301, 13.4102, fix.lat, fix.lng) < 110
    assert resume_at(grid, again[1]) is None
