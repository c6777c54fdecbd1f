"""Steering a simulated driver to a target on the street grid: pure, no services."""

from __future__ import annotations

import math
import random

import pytest

from hexfleet.devtools.sim.grid import STEPS, Grid
from hexfleet.devtools.sim.motion import DriverSim, MotionProfile, haversine_m
from hexfleet.devtools.sim.steering import along_street, choose_exit, make_target

BERLIN = (52.52, 13.405)
QUIET = MotionProfile(gps_noise=False)
DT = 0.5


def random_point(grid: Grid, rng: random.Random) -> tuple[float, float]:
    """A point uniformly inside the area."""
    r = grid.radius_m * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    return grid.to_latlng(r * math.cos(a), r * math.sin(a))


def nearest_intersection_m(grid: Grid, point: tuple[float, float]) -> float:
    span = int(grid.radius_m / min(grid.block_x_m, grid.block_y_m)) + 1
    return min(
        haversine_m(*point, *grid.to_latlng(*grid.node_xy(i, j)))
        for i in range(-span, span + 1)
        for j in range(-span, span + 1)
        if grid.has_node(i, j) and grid.exits(i, j)
    )


def on_a_street(grid: Grid, sim: DriverSim) -> bool:
    """The true position lies on a street that exists (both its intersections do)."""
    st = sim.state
    di, dj = STEPS[st.direction]
    return (
        grid.has_node(st.i, st.j)
        and grid.has_node(st.i + di, st.j + dj)
        and -1e-9 <= st.s <= grid.edge_length(st.direction) + 1e-9
    )


def drive_until_arrived(sim: DriverSim, limit_s: float) -> float:
    """Simulated seconds until the driver stands at its target; checks the motion stays
    lawful on the way (on streets, inside the area, within the profile's accelerations)."""
    p, grid = sim.profile, sim.grid
    t, previous = 0.0, sim.state.speed
    while not sim.arrived:
        assert t < limit_s, f"not there after {limit_s} s"
        sim.advance(DT)
        t += DT
        assert on_a_street(grid, sim)
        assert math.hypot(*sim.position_xy()) <= grid.reach_m + 1e-6
        change = (sim.state.speed - previous) / DT
        assert -p.max_decel_mps2 - 1e-9 <= change <= p.accel_mps2 + 1e-9
        assert 0 <= sim.state.speed <= p.max_speed_mps
        previous = sim.state.speed
    return t


def limit_for(grid: Grid, sim: DriverSim, target_latlng: tuple[float, float]) -> float:
    """Bounded time: the street distance (plus a block round for a missed turn and one for
    a street taken the wrong way) at a slow 3 m/s, plus every red light on the way."""
    gx, gy = grid.to_grid(*sim.position_xy())
    tx, ty = grid.to_grid(*grid.to_xy(*target_latlng))
    blocks = abs(gx - tx) / grid.block_x_m + abs(gy - ty) / grid.block_y_m + 6
    metres = abs(gx - tx) + abs(gy - ty) + 6 * max(grid.block_x_m, grid.block_y_m)
    return metres / 3.0 + blocks * sim.profile.stop_s[1] + 60


@pytest.mark.parametrize(
    ("center", "radius_m", "rotation_deg", "noise"),
    [
        (BERLIN, 4000, 0, True),
        (BERLIN, 4000, 23, False),
        (BERLIN, 1500, -40, True),
        (BERLIN, 250, 0, True),  # a small area: blocks shrink to fit
        (BERLIN, 120, 10, False),
        ((-33.87, 151.21), 2500, 10, True),  # southern and eastern hemisphere
        ((64.14, -21.94), 3000, 0, True),  # far north, where a degree of longitude is short
    ],
)
@pytest.mark.parametrize("seed", range(12))
def test_a_driver_reaches_its_target(center, radius_m, rotation_deg, noise, seed):
    grid = Grid(*center, radius_m, rotation_deg=rotation_deg)
    rng = random.Random(f"target:{seed}")
    profile = MotionProfile(gps_noise=noise)
    sim = DriverSim(grid, seed, profile)
    sim.advance(rng.uniform(0, 120))  # mid-street, at speed, a turn already planned
    wanted = random_point(grid, rng)
    street_point = sim.head_to(*wanted)
    assert not sim.arrived or haversine_m(*grid.to_latlng(*sim.position_xy()), *street_point) < 1e-3
    # The street point is the nearest one: never farther than the nearest intersection.
    assert haversine_m(*wanted, *street_point) <= nearest_intersection_m(grid, wanted) + 1e-6
    drive_until_arrived(sim, limit_for(grid, sim, street_point))
    there = grid.to_latlng(*sim.position_xy())
    assert haversine_m(*there, *street_point) < 0.01
    assert sim.state.speed == 0
    fix = sim.fix()
    assert haversine_m(fix.lat, fix.lng, *street_point) < 20  # what the pings show, GPS noise and all
    assert fix.speed_mps == 0


@pytest.mark.parametrize("seed", range(6))
def test_a_driver_waits_at_the_target_then_cruises_on(seed):
    grid = Grid(*BERLIN, 1500)
    rng = random.Random(seed)
    sim = DriverSim(grid, seed, QUIET)
    sim.head_to(*random_point(grid, rng))
    drive_until_arrived(sim, 3600)
    standing = sim.position_xy()
    for _ in range(60):  # boarding: it stays put as long as the target is set
        assert sim.advance(DT).speed_mps == 0
    assert sim.position_xy() == standing and sim.arrived
    sim.clear_target()
    assert not sim.arrived
    sim.advance(30.0)
    assert math.dist(sim.position_xy(), standing) > 20  # off again


@pytest.mark.parametrize("seed", range(8))
def test_one_target_after_another(seed):
    """A pickup, then the drop-off, then a new pickup: as the demo drivers do."""
    grid = Grid(*BERLIN, 2000, rotation_deg=15)
    rng = random.Random(f"legs:{seed}")
    sim = DriverSim(grid, seed)
    for _ in range(3):
        point = sim.head_to(*random_point(grid, rng))
        drive_until_arrived(sim, limit_for(grid, sim, point))
        assert haversine_m(*grid.to_latlng(*sim.position_xy()), *point) < 0.01


@pytest.mark.parametrize("seed", range(6))
def test_a_target_outside_the_area_is_met_at_its_edge(seed):
    grid = Grid(*BERLIN, 1000)
    rng = random.Random(seed)
    sim = DriverSim(grid, seed, QUIET)
    a = rng.uniform(0, 2 * math.pi)
    outside = grid.to_latlng(3000 * math.cos(a), 3000 * math.sin(a))  # 3 km out, 2 km beyond the area
    point = sim.head_to(*outside)
    assert haversine_m(*BERLIN, *point) <= grid.reach_m + 1e-6
    assert haversine_m(*BERLIN, *point) > grid.reach_m - math.hypot(grid.block_x_m, grid.block_y_m)
    drive_until_arrived(sim, 3600)


def test_head_to_where_it_stands_is_arrived_at_once():
    grid = Grid(*BERLIN, 1000)
    sim = DriverSim(grid, 3, QUIET)
    sim.head_to(*grid.to_latlng(600, 300))
    drive_until_arrived(sim, 3600)
    lat, lng = grid.to_latlng(*sim.position_xy())
    sim.clear_target()
    sim.head_to(lat, lng)
    assert sim.arrived


@pytest.mark.parametrize("seed", range(5))
def test_without_a_target_nothing_changes(seed):
    """Setting and clearing nothing, or a target cleared at once, leaves the random
    cruise exactly as it was: the same seed gives the same trail."""
    grid = Grid(*BERLIN, 3000)
    plain = DriverSim(grid, seed)
    cleared = DriverSim(grid, seed)
    cleared.clear_target()
    for _ in range(400):
        assert plain.advance(1.0) == cleared.advance(1.0)
    assert not plain.arrived


# --- the route choice, on its own -------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "arriving", "target_xy", "expected"),
    [
        ((0, 0), 0, (900, 0), [0]),  # straight on towards it
        ((0, 0), 0, (0, 880), [1]),  # left
        ((0, 0), 0, (0, -880), [3]),  # right
        ((0, 0), 0, (-900, 0), [2]),  # behind: a U-turn is the short way
        ((0, 0), 0, (900, 880), [0, 1]),  # either way is as short: the seed decides
        ((0, 0), 1, (0, -880), [3]),  # arriving northbound, target south: turn back
        ((2, 0), 0, (270, 0), [2]),  # the target on the street just passed: back along it
        ((0, 0), 0, (90, 0), [0]),  # on the street ahead
        ((1, 1), 3, (180, 110), [3]),  # on the street ahead, half a block down
    ],
)
def test_choose_exit(node, arriving, target_xy, expected):
    grid = Grid(*BERLIN, 2000)  # 180 x 220 m blocks, north-up
    target = make_target(grid, *grid.to_latlng(*target_xy))
    seen = {choose_exit(grid, *node, arriving, target, random.Random(seed)) for seed in range(40)}
    assert seen == set(expected)


@pytest.mark.parametrize(
    ("node", "direction", "target_xy", "expected"),
    [
        ((0, 0), 0, (90, 0), 90.0),
        ((1, 0), 2, (90, 0), 90.0),  # the same street from its other end
        ((0, 0), 0, (180, 0), 180.0),  # its far end counts
        ((0, 0), 0, (0, 0), 0.0),  # and its near end
        ((0, 0), 1, (90, 0), None),  # another street
        ((0, 0), 0, (270, 0), None),  # the next street along
        ((-1, 0), 0, (90, 0), None),
    ],
)
def test_along_street(node, direction, target_xy, expected):
    grid = Grid(*BERLIN, 2000)
    target = make_target(grid, *grid.to_latlng(*target_xy))
    along = along_street(grid, *node, direction, target)
    assert along == (None if expected is None else pytest.approx(expected, abs=1e-6))
