"""The simulator's motion model: pure, so no fixtures and no services."""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from hexfleet.devtools.sim.motion import (
    DriverSim,
    Fix,
    Grid,
    MotionProfile,
    angle_diff_deg,
    bearing_deg,
    haversine_m,
)

BERLIN = (52.52, 13.405)
QUIET = MotionProfile(gps_noise=False)


def trail(sim: DriverSim, steps: int, dt: float) -> Iterator[tuple[Fix, tuple[float, float], int, bool]]:
    """(fix, true position, direction, stopped) after each step; lazily, so the loop body
    sees ``sim.state`` as of that step."""
    for _ in range(steps):
        fix = sim.advance(dt)
        yield fix, sim.position_xy(), sim.state.direction, sim.stopped


@pytest.mark.parametrize(
    ("center", "radius_m", "rotation_deg", "seed"),
    [
        (BERLIN, 4000, 0, 1),
        (BERLIN, 4000, 23, 2),
        (BERLIN, 1000, 0, 3),
        (BERLIN, 300, 45, 4),  # smaller than two blocks: the grid shrinks its blocks
        ((-33.87, 151.21), 2500, 10, 5),  # southern and eastern hemisphere
        ((64.14, -21.94), 3000, 0, 6),  # far north, where a degree of longitude is short
    ],
)
def test_fixes_stay_within_the_radius(center, radius_m, rotation_deg, seed):
    grid = Grid(*center, radius_m, rotation_deg=rotation_deg)
    sims = [DriverSim(grid, f"{seed}:{n}") for n in range(5)]
    for sim in sims:
        for fix, (x, y), _, _ in trail(sim, 1500, 2.0):
            assert math.hypot(x, y) <= grid.reach_m + 1e-6
            assert haversine_m(*center, fix.lat, fix.lng) <= radius_m


@pytest.mark.parametrize("max_speed", [14.0, 8.0, 6.0])
@pytest.mark.parametrize("dt", [0.25, 1.0, 3.7])
def test_speed_and_acceleration_stay_within_the_profile(max_speed, dt):
    profile = MotionProfile(max_speed_mps=max_speed)
    sim = DriverSim(Grid(*BERLIN, 2000), 42, profile)
    previous = sim.state.speed
    for fix, _, _, _ in trail(sim, 2000, dt):
        assert 0 <= fix.speed_mps <= max_speed
        change = (sim.state.speed - previous) / dt
        assert -profile.max_decel_mps2 - 1e-9 <= change <= profile.accel_mps2 + 1e-9
        previous = sim.state.speed


def test_cruising_speeds_are_urban_and_drivers_sometimes_stop():
    sim = DriverSim(Grid(*BERLIN, 4000), 7)
    fixes = [f for f, _, _, _ in trail(sim, 3000, 2.0)]
    moving = [f.speed_mps for f in fixes if f.speed_mps > 0]
    assert max(moving) > 10
    assert 5 <= sorted(moving)[len(moving) // 2] <= 14  # median
    stopped = sum(f.speed_mps == 0 for f in fixes)
    assert 0.01 < stopped / len(fixes) < 0.3


def test_stops_last_a_few_seconds_at_an_intersection():
    profile = replace(QUIET, stop_probability=0.5)
    sim = DriverSim(Grid(*BERLIN, 3000), 11, profile)
    durations, current = [], 0.0
    for _fix, _pos, _, stopped in trail(sim, 8000, 0.25):
        if stopped:
            assert sim.state.speed == 0
            assert sim.state.s == sim.grid.edge_length(sim.state.direction)  # at the stop line
            current += 0.25
        elif current:
            durations.append(current)
            current = 0.0
    assert len(durations) > 10
    low, high = profile.stop_s
    for duration in durations:
        assert min(low, profile.u_turn_pause_s) - 0.5 <= duration <= high + 0.5


@pytest.mark.parametrize("dt", [0.25, 1.0, 2.0])
def test_distance_between_fixes_matches_speed(dt):
    sim = DriverSim(Grid(*BERLIN, 4000), 3, QUIET)
    checked = 0
    prev_pos, prev_dir, prev_speed = sim.position_xy(), sim.state.direction, sim.state.speed
    prev_street = (sim.state.i, sim.state.j)
    for _, pos, direction, stopped in trail(sim, 2000, dt):
        street = (sim.state.i, sim.state.j)
        if street == prev_street and direction == prev_dir and not stopped:
            moved = math.dist(pos, prev_pos)
            expected = (prev_speed + sim.state.speed) / 2 * dt
            # Speed is piecewise linear within dt, so the trapezoid is close, not exact.
            assert moved == pytest.approx(expected, abs=0.1 + sim.profile.accel_mps2 * dt * dt / 4)
            checked += 1
        else:
            # Around a corner the straight line is shorter than the road.
            assert math.dist(pos, prev_pos) <= sim.profile.max_speed_mps * dt + 1e-6
        prev_pos, prev_dir, prev_speed, prev_street = pos, direction, sim.state.speed, street
    assert checked > 1000


@pytest.mark.parametrize("rotation_deg", [0, 17, 90, 200])
def test_heading_is_the_direction_of_travel(rotation_deg):
    sim = DriverSim(Grid(*BERLIN, 3000, rotation_deg=rotation_deg), 5, QUIET)
    prev_pos, prev_dir = sim.position_xy(), sim.state.direction
    checked = 0
    for fix, pos, direction, _ in trail(sim, 2000, 1.0):
        dx, dy = pos[0] - prev_pos[0], pos[1] - prev_pos[1]
        if direction == prev_dir and math.hypot(dx, dy) > 1:
            assert angle_diff_deg(fix.heading, bearing_deg(dx, dy)) < 0.5
            checked += 1
        prev_pos, prev_dir = pos, direction
    assert checked > 1000


def test_noisy_fixes_still_agree_with_the_motion():
    """GPS noise drifts slowly, so even noisy consecutive fixes tell a consistent story."""
    sim = DriverSim(Grid(*BERLIN, 4000), 9)
    distance_errors, heading_errors = [], []
    prev_fix, prev_pos, prev_dir = sim.fix(), sim.position_xy(), sim.state.direction
    for fix, pos, direction, _ in trail(sim, 3000, 2.0):
        assert sim.profile.accuracy_m[0] <= fix.accuracy_m <= sim.profile.accuracy_m[1]
        noisy = haversine_m(prev_fix.lat, prev_fix.lng, fix.lat, fix.lng)
        distance_errors.append(abs(noisy - math.dist(pos, prev_pos)))
        px, py = sim.grid.to_xy(prev_fix.lat, prev_fix.lng)
        fx, fy = sim.grid.to_xy(fix.lat, fix.lng)
        if direction == prev_dir and math.dist(pos, prev_pos) > 15:
            heading_errors.append(angle_diff_deg(fix.heading, bearing_deg(fx - px, fy - py)))
        prev_fix, prev_pos, prev_dir = fix, pos, direction
    distance_errors.sort()
    heading_errors.sort()
    assert distance_errors[int(len(distance_errors) * 0.95)] < 4
    assert heading_errors[int(len(heading_errors) * 0.95)] < 10


def test_no_u_turns_except_at_dead_ends():
    grid = Grid(*BERLIN, 1500)
    sim = DriverSim(grid, 21, QUIET)
    turns = straight = u_turns = 0
    prev = (sim.state.i, sim.state.j, sim.state.direction)
    for _ in range(20_000):
        sim.advance(0.5)
        i, j, direction = sim.state.i, sim.state.j, sim.state.direction
        if (i, j) != prev[:2]:
            if direction == (prev[2] + 2) % 4:
                # The only way on was back: every other street out of here leaves the area.
                assert grid.exits(i, j) == [direction]
                u_turns += 1
            elif direction == prev[2]:
                straight += 1
            else:
                turns += 1
        prev = (i, j, direction)
    assert straight > turns > 0  # prefers straight on, but does turn
    assert u_turns < turns


def test_same_seed_same_trail_other_seed_other_trail():
    grid = Grid(*BERLIN, 4000)
    a = [sim.advance(2.0) for sim in [DriverSim(grid, 99)] for _ in range(300)]
    b = [sim.advance(2.0) for sim in [DriverSim(grid, 99)] for _ in range(300)]
    c = [sim.advance(2.0) for sim in [DriverSim(grid, 100)] for _ in range(300)]
    assert a == b
    assert a != c
    assert DriverSim(grid, random.Random(5)).advance(1.0) == DriverSim(grid, 5).advance(1.0)


@pytest.mark.parametrize(
    ("rotation_deg", "direction", "bearing"),
    [
        (0, 0, 90),  # +i is east
        (0, 1, 0),  # +j is north
        (0, 2, 270),
        (0, 3, 180),
        (30, 0, 120),  # rotation turns the streets clockwise
        (30, 1, 30),
        (-45, 0, 45),
    ],
)
def test_grid_direction_bearings(rotation_deg, direction, bearing):
    grid = Grid(*BERLIN, 1000, rotation_deg=rotation_deg)
    assert angle_diff_deg(bearing_deg(*grid.direction_xy(direction)), bearing) < 1e-9


@pytest.mark.parametrize(("x", "y"), [(0, 0), (1000, 0), (0, -2500), (-2828, 2828)])
def test_grid_projection_round_trips_and_agrees_with_haversine(x, y):
    grid = Grid(*BERLIN, 5000)
    lat, lng = grid.to_latlng(x, y)
    assert grid.to_xy(lat, lng) == pytest.approx((x, y), abs=1e-6)
    assert haversine_m(*BERLIN, lat, lng) == pytest.approx(math.hypot(x, y), rel=1e-3, abs=1e-6)


@pytest.mark.parametrize(
    ("radius_m", "expected_block_x"),
    [(4000, 180.0), (400, 180.0), (300, (300 - 15) / 2), (100, (100 - 15) / 2)],
)
def test_small_areas_get_smaller_blocks(radius_m, expected_block_x):
    grid = Grid(*BERLIN, radius_m)
    assert grid.block_x_m == pytest.approx(expected_block_x)
    assert len(grid.exits(0, 0)) == 4


@pytest.mark.parametrize(
    "kwargs",
    [{"radius_m": 30}, {"radius_m": 1000, "block_x_m": 0}, {"center_lat": 91, "radius_m": 1000}],
)
def test_unusable_grids_fail_loudly(kwargs):
    args = {"center_lat": BERLIN[0], "center_lng": BERLIN[1], **kwargs}
    with pytest.raises(ValueError):
        Grid(**args)


def test_margin_must_cover_gps_noise():
    with pytest.raises(ValueError):
        DriverSim(Grid(*BERLIN, 1000, margin_m=5), 1)
    DriverSim(Grid(*BERLIN, 1000, margin_m=5), 1, QUIET)  # no noise, no margin needed


def test_battery_drains_then_charges():
    profile = replace(QUIET, battery_drain_pct_s=(0.05, 0.05))
    sim = DriverSim(Grid(*BERLIN, 1000), 4, profile)
    levels = [sim.advance(10.0).battery for _ in range(600)]
    assert all(0 <= b <= 100 for b in levels)
    assert levels[1] < levels[0]
    assert min(levels) >= profile.battery_plug_in_below - 1
    assert any(b2 > b1 for b1, b2 in itertools.pairwise(levels))  # plugged in


def test_fix_payload_has_the_ping_fields():
    fix = DriverSim(Grid(*BERLIN, 1000), 1).advance(1.0)
    now = time.time()
    body = fix.payload(now)
    assert set(body) == {"lat", "lng", "ts", "speed_mps", "heading", "accuracy_m", "battery"}
    assert body["ts"] == now
    assert 0 <= body["heading"] < 360


def test_negative_time_is_refused():
    with pytest.raises(ValueError):
        DriverSim(Grid(*BERLIN, 1000), 1).advance(-1)


@pytest.mark.parametrize("rotation_deg", [0, 23, -40])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_resumed_driver_goes_on_where_it_stood(rotation_deg, seed):
    """A restarted demo puts each driver back on the street it was last seen on."""
    grid = Grid(*BERLIN, 3000, rotation_deg=rotation_deg)
    before = DriverSim(grid, seed, QUIET)
    last = before.advance(random.Random(seed).uniform(20, 600))
    placement = grid.nearest_street(last.lat, last.lng, last.heading)
    assert placement is not None
    resumed = DriverSim(grid, seed + 100, QUIET, start=placement)
    assert resumed.state.speed == 0.0  # pulls away from where it stood
    first = resumed.advance(0.0)
    assert haversine_m(last.lat, last.lng, first.lat, first.lng) < 1.0
    assert angle_diff_deg(first.heading, last.heading) < 1.0
    later = resumed.advance(2.0)
    assert haversine_m(last.lat, last.lng, later.lat, later.lng) < 20  # no teleport on the next ping


@pytest.mark.parametrize(
    ("offset_m", "heading", "expected_bearing"),
    [
        ((5.0, 30.0), 0.0, 0.0),  # beside a north-south street, driving north
        ((5.0, 30.0), 180.0, 180.0),  # the same spot, driving south: the street is taken the other way
        ((40.0, 3.0), 90.0, 90.0),  # beside an east-west street
        ((40.0, 3.0), None, None),  # no heading: any direction along that street
    ],
)
def test_nearest_street_snaps_noisy_fixes(offset_m, heading, expected_bearing):
    grid = Grid(*BERLIN, 2000)
    lat, lng = grid.to_latlng(*offset_m)
    placement = grid.nearest_street(lat, lng, heading)
    assert placement is not None
    sim = DriverSim(grid, 1, QUIET, start=placement)
    x, y = sim.position_xy()
    assert math.hypot(x - offset_m[0], y - offset_m[1]) == pytest.approx(min(offset_m), abs=0.01)
    if expected_bearing is not None:
        assert angle_diff_deg(sim.heading(), expected_bearing) < 1e-6


def test_nearest_street_is_none_outside_the_area():
    grid = Grid(*BERLIN, 1000)
    assert grid.nearest_street(48.14, 11.58) is None  # Munich, for a demo around Berlin
