"""What the demo riders ask for and how the demo drivers answer: pure tables, no services."""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hexfleet.devtools.sim import demand
from hexfleet.devtools.sim.api import parse_time
from hexfleet.devtools.sim.demand import DemandProfile
from hexfleet.devtools.sim.driving import Ride, ride_from
from hexfleet.devtools.sim.grid import Grid, haversine_m
from hexfleet.rides import passengers, windows
from hexfleet.rides.quotes import MIN_TRIP_M

BERLIN = (52.52, 13.405)
PROFILE = DemandProfile()
AREAS = [
    (BERLIN, 4000, 0),
    (BERLIN, 1500, 25),
    (BERLIN, 250, 0),  # the integration test's area
    (BERLIN, 100, 10),  # the smallest --radius-km allows
    ((-33.87, 151.21), 3000, 0),
]


def on_street(grid: Grid, point: tuple[float, float]) -> bool:
    placement = grid.nearest_street(*point)
    return placement is not None and haversine_m(*point, *grid.latlng_of(placement)) < 0.01


@pytest.mark.parametrize(("center", "radius_m", "rotation_deg"), AREAS)
def test_pickups_and_dropoffs_are_street_points_a_trip_apart(center, radius_m, rotation_deg):
    grid = Grid(*center, radius_m, rotation_deg=rotation_deg)
    shortest, longest = demand.trip_bounds(grid, PROFILE)
    slack = math.hypot(grid.block_x_m, grid.block_y_m)  # snapping onto a street moves a point a little
    for seed in range(150):
        rng = random.Random(seed)
        pickup = demand.choose_pickup(grid, rng, PROFILE)
        dropoff = demand.choose_dropoff(grid, pickup, rng, PROFILE)
        for point in (pickup, dropoff):
            assert on_street(grid, point)
            assert haversine_m(*center, *point) <= grid.reach_m + 1e-6
        apart = haversine_m(*pickup, *dropoff)
        assert apart > MIN_TRIP_M  # the platform quotes it
        assert shortest <= apart <= longest + slack


@pytest.mark.parametrize(
    ("radius_m", "expected"),
    [
        (4000, (1000.0, 1600.0)),  # a city: trips of 1 to 1.6 km
        (1500, (742.5, 1600.0)),  # at least half the reach (1485 m)
        (250, (117.5, 470.0)),
        (100, (60.0, 170.0)),  # never below what the platform would call the same place
    ],
)
def test_trip_bounds(radius_m, expected):
    assert demand.trip_bounds(Grid(*BERLIN, radius_m), PROFILE) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("share", "low", "high"),
    [
        # 800 m is two standard deviations: 1 - e^-2 = 86 % of the clustered pickups.
        (0.0, 0.0, 0.08),  # a uniform spread: 4 % of the area, by chance
        (0.5, 0.40, 0.50),
        (1.0, 0.83, 0.90),
    ],
)
def test_pickups_cluster_around_the_hotspot(share, low, high):
    grid = Grid(*BERLIN, 4000)
    profile = replace(PROFILE, hotspot_share=share)
    hotspot = grid.to_latlng(*demand.hotspot_xy(grid, profile))
    assert haversine_m(*BERLIN, *hotspot) == pytest.approx(0.4 * grid.reach_m, rel=1e-3)
    rng = random.Random(f"hotspot:{share}")
    near = sum(haversine_m(*hotspot, *demand.choose_pickup(grid, rng, profile)) < 800 for _ in range(2000))
    assert low <= near / 2000 <= high


@pytest.mark.parametrize("seed", range(30))
def test_scheduled_rides_are_20_to_40_minutes_ahead_in_rfc3339(seed):
    now = datetime.now(UTC)
    when = demand.scheduled_time(now, random.Random(seed), PROFILE)
    assert timedelta(minutes=20) - timedelta(seconds=1) <= when - now <= timedelta(minutes=40)
    assert windows.check_scheduled(when, now) == when  # the platform's window: 15 minutes to 30 days
    text = when.isoformat()
    assert text.endswith("+00:00") and datetime.fromisoformat(text) == when


@pytest.mark.parametrize(("share", "low", "high"), [(0.0, 0, 0), (0.2, 0.17, 0.23), (0.85, 0.82, 0.88), (1.0, 1, 1)])
def test_decide_takes_its_share(share, low, high):
    rng = random.Random(share)
    rate = sum(demand.decide(rng, share) for _ in range(4000)) / 4000
    assert low <= rate <= high


@pytest.mark.parametrize(
    ("accept", "expires_in_s", "low", "high"),
    [
        (True, None, 2.0, 6.0),
        (True, 15.0, 2.0, 6.0),  # plenty of time: a human delay
        (False, 15.0, 1.0, 4.0),  # saying no is quicker
        (True, 4.5, 2.0, 3.0),  # never later than 1.5 s before it expires
        (True, 1.0, 0.0, 0.0),  # about to expire: at once
        (False, -3.0, 0.0, 0.0),  # expired already: at once (the server says 409)
    ],
)
def test_think_time(accept, expires_in_s, low, high):
    for seed in range(50):
        assert low <= demand.think_time(random.Random(seed), accept, expires_in_s, PROFILE) <= high


@pytest.mark.parametrize("seed", range(20))
def test_passengers_pass_the_platforms_checks(seed):
    name, phone = demand.passenger(random.Random(seed))
    assert passengers.normalise_name(name) == name
    assert passengers.normalise_phone(phone) == phone


@pytest.mark.parametrize("rate", [0.5, 6.0, 30.0, 600.0])
def test_riders_arrive_at_the_rate_on_average(rate):
    rng = random.Random(rate)
    gaps = [demand.next_rider_in_s(rng, rate) for _ in range(5000)]
    assert min(gaps) >= 0
    assert statistics.mean(gaps) == pytest.approx(60 / rate, rel=0.05)


# The platform's default per-user limits: RATE_QUOTES 60/minute, RATE_BOOKINGS 10/minute;60/hour.
DEFAULT_BUDGETS = [(60, 60.0), (10, 60.0), (60, 3600.0)]


@pytest.mark.parametrize(
    ("rate", "budgets", "expected"),
    [
        (6.0, DEFAULT_BUDGETS, 8),  # 60 an hour is 1 a minute; at 0.8 of it, 6 a minute need 8 customers
        (0.5, DEFAULT_BUDGETS, 1),
        (0.8, DEFAULT_BUDGETS, 1),
        (0.81, DEFAULT_BUDGETS, 2),
        (30.0, DEFAULT_BUDGETS, 38),
        (6.0, [(10, 60.0)], 1),  # no hourly limit: 10 a minute carry 6
        (6.0, [(1000, 3600.0)], 1),
        (6.0, [], 1),  # no limits at all
        (0.0, DEFAULT_BUDGETS, 0),  # no riders, no customers
    ],
)
def test_accounts_needed(rate, budgets, expected):
    assert demand.accounts_needed(rate, budgets) == expected


def test_no_riders_at_rate_zero():
    assert demand.next_rider_in_s(random.Random(1), 0.0) == math.inf


# --- reading the server's answers -------------------------------------------------------------

PICKUP = {"lat": 52.52, "lng": 13.405}
DROPOFF = {"lat": 52.53, "lng": 13.43}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"id": 7, "status": "assigned", "pickup": PICKUP, "dropoff": DROPOFF, "passenger": {"name": "Ada"}},
            Ride(7, "assigned", (52.52, 13.405), (52.53, 13.43)),
        ),
        (
            {"id": 7, "status": "in_progress", "pickup": PICKUP, "dropoff": DROPOFF},
            Ride(7, "in_progress", (52.52, 13.405), (52.53, 13.43)),
        ),
        ({"id": 7, "status": "completed", "pickup": PICKUP, "dropoff": DROPOFF}, None),  # no longer in hand
        ({"id": 7, "status": "cancelled", "pickup": PICKUP, "dropoff": DROPOFF}, None),
        ({"id": 7, "status": "assigned", "pickup": PICKUP}, None),
        ({"id": "x", "status": "assigned", "pickup": PICKUP, "dropoff": DROPOFF}, None),
        ({"id": 7, "status": "assigned", "pickup": [52.52, 13.405], "dropoff": DROPOFF}, None),
        (None, None),  # GET /driver/bookings/current with no ride
        ([], None),
    ],
)  # fmt: skip
def test_ride_from(body, expected):
    assert ride_from(body) == expected


# Built from the current time: a fixed date in a test is a time bomb (tests/test_time_bombs.py).
SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SOON.astimezone(timezone(timedelta(hours=1))).isoformat(), SOON.timestamp()),
        (SOON.strftime("%Y-%m-%dT%H:%M:%SZ"), SOON.timestamp()),
        (SOON.replace(tzinfo=None).isoformat(), None),  # no offset: not RFC 3339
        ("soon", None),
        (None, None),
        (42, None),
    ],
)
def test_parse_time(value, expected):
    assert parse_time(value) == expected


# ---------------------------------------------------------------- vehicle classes


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, {"standard": 1}),
        (9, {"standard": 6, "comfort": 1, "xl": 1, "van": 1}),  # every class early
        (20, {"standard": 14, "comfort": 3, "xl": 2, "van": 1}),  # 70 / 15 / 10 / 5 %
        (50, {"standard": 35, "comfort": 7, "xl": 5, "van": 3}),  # the demo's fleet
        (200, {"standard": 140, "comfort": 30, "xl": 20, "van": 10}),
    ],
)
def test_the_fleet_class_mix(count, expected):
    classes = demand.fleet_classes(count)
    assert {c: classes.count(c) for c in set(classes)} == expected
    assert demand.fleet_classes(count) == classes  # the same drivers get the same classes every run


def test_riders_ask_for_classes_in_the_fleets_proportions():
    rng = random.Random(7)
    asked = [demand.ride_class(rng) for _ in range(20_000)]
    for name, weight in demand.CLASS_MIX:
        assert asked.count(name) / len(asked) == pytest.approx(weight / 20, abs=0.01)


@pytest.mark.parametrize(
    ("availability", "expected"),
    [
        ({"needs_confirmation": False, "suggested_classes": []}, None),
        (None, None),  # a later pickup
        ({"needs_confirmation": True, "suggested_classes": ["comfort", "standard"]}, ["comfort", "standard"]),
        ({"needs_confirmation": True, "suggested_classes": []}, []),
        ({"needs_confirmation": True}, []),
    ],
)
def test_what_a_rider_makes_of_a_quote(availability, expected):
    from hexfleet.devtools.sim.riders import unserved

    assert unserved({"quote_id": 1, "availability": availability}) == expected
