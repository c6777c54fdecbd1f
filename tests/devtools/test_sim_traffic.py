"""The simulator's city: a slow centre at rush hour, faster outskirts at night (tables)."""

from __future__ import annotations

import pytest

from hexfleet.devtools.sim.motion import DriverSim, Grid
from hexfleet.devtools.sim.traffic import Traffic, city_traffic, congestion

MONDAY = 0  # hour of week 0 is Monday 00:00


@pytest.mark.parametrize(
    ("how", "busy"),
    [(MONDAY + 8, 1.0), (MONDAY + 17, 1.0), (MONDAY + 12, 0.55), (MONDAY + 20, 0.35), (MONDAY + 3, 0.0),
     (5 * 24 + 14, 0.35), (6 * 24 + 8, 0.0), (167, 0.0)],
)  # fmt: skip
def test_congestion_by_hour_of_week(how, busy):
    assert congestion(how) == busy


# A Monday 08:00 and 03:00 UTC (1970-01-05 was a Monday; pure arithmetic, no clock).
RUSH = (4 * 24 + 8) * 3600.0
NIGHT = (4 * 24 + 3) * 3600.0


@pytest.mark.parametrize(
    ("x", "at", "factor"),
    [(0, RUSH, 0.3), (0, NIGHT, 1.0), (10_000, RUSH, 0.8), (10_000, NIGHT, 1.25)],
)
def test_speed_factor_by_place_and_hour(x, at, factor):
    assert Traffic(centre_radius_m=2000).factor(x, 0, at) == pytest.approx(factor, abs=0.01)


def distance_in(at: float, seed: str) -> float:
    grid = Grid(52.52, 13.405, 1500)
    sim = DriverSim(grid, seed, traffic=city_traffic(6000))  # the whole small grid is "centre"
    travelled, last = 0.0, sim.position_xy()
    for k in range(300):
        sim.advance(2.0, at + 2 * k)
        x, y = sim.position_xy()
        travelled += abs(x - last[0]) + abs(y - last[1])
        last = (x, y)
    return travelled


def test_drivers_crawl_in_the_centre_at_rush_hour_and_the_seed_decides_the_rest():
    rush, night = distance_in(RUSH, "a"), distance_in(NIGHT, "a")
    assert rush < 0.5 * night
    assert distance_in(RUSH, "a") == rush  # deterministic


def test_without_a_time_the_profile_speeds_apply():
    grid = Grid(52.52, 13.405, 1500)
    plain, with_traffic = DriverSim(grid, "s"), DriverSim(grid, "s", traffic=city_traffic(1500))
    for _ in range(50):
        assert plain.advance(2.0) == with_traffic.advance(2.0)
