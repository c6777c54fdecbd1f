"""The ETA bench's city, fleet and rides (pure and seeded: the same seed, the same figures).

A training fleet drives the simulator's city (``sim/traffic.py``: a slow centre at rush hour,
faster outskirts at night) in the chosen hours of a week, the way a ride-hailing fleet does:
to a destination, then it parks a few minutes (a pickup, a wait for the next offer), now and
then it cruises; GPS noise as the simulator makes it, plus the odd jump of a few hundred
metres. Its fixes (one every 4 s) go through the same derivation the worker runs
(``hexfleet/eta/segments.py``) into a speed table. Held-out rides (other drivers, other
seeds, never learned from) then start from where a driver is, drive to a destination, and
their real duration is compared with the estimate at constant speed and with learned speeds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hexfleet.devtools.sim.motion import DriverSim, Grid
from hexfleet.devtools.sim.traffic import city_traffic
from hexfleet.eta.segments import Deriver, SegmentRules
from hexfleet.eta.table import SpeedTable, rows_from_tallies
from hexfleet.rides.routes import EstimateRules, estimate

FIX_S = 4.0
RIDE_STEP_S = 1.0
RIDE_TIMEOUT_S = 3 * 3600.0
GLITCH_SHARE = 0.002  # fixes moved ~300 m (GPS jumps the tracker's filters let through)
PARK_SHARE = 0.4  # of arrivals after which a driver stands 2-6 minutes
MIN_RIDE_M = 800.0


@dataclass(frozen=True)
class Plan:
    seed: int = 7
    hours: tuple[int, ...] = tuple(range(168))  # hours of week simulated
    drivers: int = 20  # training drivers per hour
    minutes: float = 30.0  # each drives this long in its hour
    rides: int = 3  # held-out rides per hour
    radius_m: float = 6000.0
    centre: tuple[float, float] = (52.52, 13.405)
    min_passes: int = 8
    average_kmh: float = 25.0
    detour: float = 1.3


@dataclass
class Ride:
    hour_of_week: int
    distance_m: float  # straight line
    actual_s: float
    constant_s: float
    learned_s: float


@dataclass
class Outcome:
    rides: list[Ride] = field(default_factory=list)
    fixes: int = 0
    table: SpeedTable | None = None

    def errors(self, which: str) -> tuple[float, float]:
        """(mean absolute error, bias) in seconds; bias = actual − estimate (positive: late)."""
        diffs = [r.actual_s - getattr(r, f"{which}_s") for r in self.rides]
        return sum(abs(d) for d in diffs) / len(diffs), sum(diffs) / len(diffs)


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC two weeks before ``now``: the simulated week (times built from now)."""
    monday = (now - timedelta(days=now.weekday() + 14)).date()
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def _destination(grid: Grid, rng: random.Random, x: float, y: float) -> tuple[float, float]:
    for _ in range(50):
        r = grid.reach_m * math.sqrt(rng.random())
        a = rng.uniform(0, 2 * math.pi)
        tx, ty = r * math.cos(a), r * math.sin(a)
        if math.hypot(tx - x, ty - y) >= MIN_RIDE_M:
            return grid.to_latlng(tx, ty)
    return grid.to_latlng(-x, -y)


def train(plan: Plan, grid: Grid, start: float, rules: SegmentRules) -> tuple[Deriver, int]:
    traffic = city_traffic(plan.radius_m)
    deriver = Deriver(rules)
    fixes = 0
    for how in plan.hours:
        for n in range(plan.drivers):
            rng = random.Random(f"{plan.seed}:train:{how}:{n}")
            sim = DriverSim(grid, rng, traffic=traffic)
            t = start + how * 3600 + rng.uniform(0, max(0.0, 3600 - plan.minutes * 60))
            end = t + plan.minutes * 60
            parked_until = 0.0
            sim.head_to(*_destination(grid, rng, *sim.position_xy()))
            page = []
            while t < end:
                if t < parked_until:
                    fix = sim.fix()  # standing: GPS drift only
                else:
                    fix = sim.advance(FIX_S, t)
                    if sim.arrived:
                        if rng.random() < PARK_SHARE:
                            parked_until = t + rng.uniform(120, 360)
                        sim.head_to(*_destination(grid, rng, *sim.position_xy()))
                lat, lng = fix.lat, fix.lng
                if rng.random() < GLITCH_SHARE:
                    lat += 0.0027 * rng.choice((-1, 1))
                t += FIX_S
                page.append((how * 1000 + n, t, lat, lng))
            deriver.feed(page)
            fixes += len(page)
    return deriver, fixes


def ride(plan: Plan, grid: Grid, start: float, how: int, k: int, table: SpeedTable) -> Ride | None:
    rng = random.Random(f"{plan.seed}:ride:{how}:{k}")
    traffic = city_traffic(plan.radius_m)
    sim = DriverSim(grid, rng, traffic=traffic)
    t = start + how * 3600 + rng.uniform(0, 3000)
    for _ in range(15):  # under way, as a driver is when an offer comes
        sim.advance(FIX_S, t)
        t += FIX_S
    x, y = sim.position_xy()
    lat, lng = grid.to_latlng(x, y)
    to_lat, to_lng = sim.head_to(*_destination(grid, rng, x, y))
    began = t
    while not sim.arrived:
        sim.advance(RIDE_STEP_S, t)
        t += RIDE_STEP_S
        if t - began > RIDE_TIMEOUT_S:
            return None
    rules = EstimateRules(plan.detour, plan.average_kmh)
    constant = estimate(lat, lng, to_lat, to_lng, rules).duration_s
    learned = estimate(lat, lng, to_lat, to_lng, rules, table, began).duration_s
    straight = grid.to_xy(to_lat, to_lng)
    return Ride(how, math.hypot(straight[0] - x, straight[1] - y), t - began, constant, learned)


def run(plan: Plan, now: datetime) -> Outcome:
    grid = Grid(*plan.centre, plan.radius_m)
    start = week_start(now).timestamp()
    deriver, fixes = train(plan, grid, start, SegmentRules())
    zone = city_traffic(plan.radius_m).zone
    rows = rows_from_tallies(deriver.finish(), zone)
    table = SpeedTable.from_rows(rows, plan.average_kmh, zone, plan.min_passes)
    outcome = Outcome(fixes=fixes, table=table)
    for how in plan.hours:
        for k in range(plan.rides):
            done = ride(plan, grid, start, how, k, table)
            if done is not None:
                outcome.rides.append(done)
    return outcome
