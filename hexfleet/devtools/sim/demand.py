"""What the demo riders ask for, and how the demo drivers answer (pure).

No I/O, no clocks: every choice takes a ``random.Random`` and, where time matters, "now",
so a table of seeds tests it. Pickups and drop-offs are street points of the simulator's
grid, so a driver stops right at the rider's pin.

Demand is uneven on purpose: part of the pickups cluster around a hotspot (north-east of
the centre, like a station or a stadium), so while demand there outruns the nearby
drivers, surge pricing visibly rises in its cells.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from hexfleet.devtools.sim.grid import Grid, haversine_m

# The platform refuses trips shorter than 50 m (rides/quotes.py); stay clear of it.
SHORTEST_TRIP_M = 60.0

FIRST_NAMES = (
    "Ada", "Ben", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemal", "Lena",
    "Mateo", "Nora", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tamar", "Uma", "Viktor", "Wen", "Yusuf",
)  # fmt: skip
SURNAME_INITIALS = "ABCDEFGHJKLMNOPRSTVWZ"

# The demo fleet's vehicle classes, in twentieths: 70% standard, 15% comfort, 10% XL, 5%
# vans, so every class the rider page offers has drivers. Riders ask for them alike.
CLASS_MIX = (("standard", 14), ("comfort", 3), ("xl", 2), ("van", 1))


def fleet_classes(count: int, mix: tuple[tuple[str, int], ...] = CLASS_MIX) -> list[str]:
    """The vehicle class of demo drivers 1..count: the mix, spread evenly (smooth weighted
    round robin), so a small fleet has every class early (the first nine already do) and a
    large one has each in its share."""
    total = sum(weight for _, weight in mix)
    credit = {name: 0 for name, _ in mix}
    out = []
    for _ in range(count):
        for name, weight in mix:
            credit[name] += weight
        chosen = max(mix, key=lambda item: credit[item[0]])[0]  # ties: the first in the mix
        credit[chosen] -= total
        out.append(chosen)
    return out


def ride_class(rng: random.Random, mix: tuple[tuple[str, int], ...] = CLASS_MIX) -> str:
    """The vehicle class a demo rider asks for, in the fleet's proportions."""
    return rng.choices([name for name, _ in mix], weights=[weight for _, weight in mix])[0]


@dataclass(frozen=True)
class DemandProfile:
    """The riders' and drivers' habits (times in seconds)."""

    hotspot_share: float = 0.5  # of pickups near the hotspot; the rest anywhere in the area
    hotspot_bearing_deg: float = 45.0  # from the centre
    hotspot_offset: float = 0.4  # distance from the centre, as a share of the radius
    hotspot_spread_m: float = 400.0  # standard deviation around it (at most a sixth of the radius)
    min_trip_m: float = 1000.0  # a drop-off at least this far from the pickup (less in small areas)
    max_trip_m: float = 1600.0  # and at most this far: short city trips, so 50 drivers keep up with 6 a minute
    scheduled_ahead_min: tuple[float, float] = (20.0, 40.0)
    patience_s: tuple[float, float] = (30.0, 150.0)  # an impatient rider cancels after this
    no_driver_patience_s: tuple[float, float] = (20.0, 60.0)  # a rider with no driver gives up after this
    accept_think_s: tuple[float, float] = (2.0, 6.0)  # a driver reads an offer before accepting
    decline_think_s: tuple[float, float] = (1.0, 4.0)
    answer_margin_s: float = 1.5  # answer at least this long before the offer expires
    boarding_s: tuple[float, float] = (5.0, 20.0)


def hotspot_xy(grid: Grid, profile: DemandProfile) -> tuple[float, float]:
    """East/north metres of the hotspot from the centre."""
    r = grid.reach_m * profile.hotspot_offset
    a = math.radians(profile.hotspot_bearing_deg)
    return r * math.sin(a), r * math.cos(a)


def _street_point(grid: Grid, x: float, y: float) -> tuple[float, float]:
    lat, lng = grid.to_latlng(x, y)
    return grid.latlng_of(grid.snap(lat, lng))


def _uniform_xy(grid: Grid, rng: random.Random) -> tuple[float, float]:
    r = grid.reach_m * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    return r * math.cos(a), r * math.sin(a)


def choose_pickup(grid: Grid, rng: random.Random, profile: DemandProfile) -> tuple[float, float]:
    """(lat, lng) on a street: near the hotspot for ``hotspot_share`` of riders, else anywhere."""
    if rng.random() < profile.hotspot_share:
        hx, hy = hotspot_xy(grid, profile)
        spread = min(profile.hotspot_spread_m, grid.radius_m / 6)
        for _ in range(20):
            x, y = hx + rng.gauss(0, spread), hy + rng.gauss(0, spread)
            if math.hypot(x, y) <= grid.reach_m:
                return _street_point(grid, x, y)
    return _street_point(grid, *_uniform_xy(grid, rng))


def trip_bounds(grid: Grid, profile: DemandProfile) -> tuple[float, float]:
    """Shortest and longest straight-line trip for this area: the profile's, shrunk to fit
    a small area (its streets span at most twice the reach)."""
    shortest = max(SHORTEST_TRIP_M, min(profile.min_trip_m, grid.reach_m / 2))
    return shortest, max(shortest, min(profile.max_trip_m, 2 * grid.reach_m))


def choose_dropoff(
    grid: Grid, pickup: tuple[float, float], rng: random.Random, profile: DemandProfile
) -> tuple[float, float]:
    """(lat, lng) on a street elsewhere in the area, ``trip_bounds`` away from the pickup."""
    shortest, longest = trip_bounds(grid, profile)
    px, py = grid.to_xy(*pickup)
    farthest, farthest_m = pickup, -1.0
    for _ in range(50):
        d, a = rng.uniform(shortest, longest), rng.uniform(0, 2 * math.pi)
        x, y = px + d * math.cos(a), py + d * math.sin(a)
        if math.hypot(x, y) > grid.reach_m:
            continue
        point = _street_point(grid, x, y)
        apart = haversine_m(*pickup, *point)
        if shortest <= apart:
            return point
        if apart > farthest_m:
            farthest, farthest_m = point, apart
    # Rare (a pickup at the edge of a small area): across the centre is far enough.
    far = math.hypot(px, py)
    ux, uy = (-px / far, -py / far) if far > 1 else (1.0, 0.0)
    across = _street_point(grid, ux * grid.reach_m, uy * grid.reach_m)
    return across if haversine_m(*pickup, *across) > farthest_m else farthest


def scheduled_time(now: datetime, rng: random.Random, profile: DemandProfile) -> datetime:
    """A pickup time 20-40 minutes ahead (the platform takes 15 minutes to 30 days), whole seconds."""
    low, high = profile.scheduled_ahead_min
    return (now + timedelta(minutes=rng.uniform(low, high))).replace(microsecond=0)


def decide(rng: random.Random, share: float) -> bool:
    """True for ``share`` of the draws: a driver accepts, a rider books ahead or is impatient."""
    return rng.random() < share


def think_time(rng: random.Random, accept: bool, expires_in_s: float | None, profile: DemandProfile) -> float:
    """How long a driver looks at an offer before answering: a human delay, always leaving
    ``answer_margin_s`` before the offer expires (none when it is already that close)."""
    low, high = profile.accept_think_s if accept else profile.decline_think_s
    delay = rng.uniform(low, high)
    if expires_in_s is not None:
        delay = min(delay, expires_in_s - profile.answer_margin_s)
    return max(0.0, delay)


def passenger(rng: random.Random) -> tuple[str, str]:
    """A made-up passenger: a first name with an initial, and a phone number in the 555 range."""
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAME_INITIALS)}."
    return name, f"+49 30 555{rng.randrange(10_000):04d}"


def accounts_needed(rides_per_minute: float, budgets: Iterable[tuple[int, float]], headroom: float = 0.8) -> int:
    """How many customer accounts the riders spread their bookings over, so that none
    outruns the platform's per-user limits (RATE_BOOKINGS, RATE_QUOTES): ``budgets`` are
    (amount, seconds) tiers, and each account books at most ``headroom`` of the tightest."""
    if rides_per_minute <= 0:
        return 0
    per_account_s = min((amount / seconds for amount, seconds in budgets), default=math.inf)
    if per_account_s == math.inf:
        return 1
    return max(1, math.ceil(rides_per_minute / 60 / (per_account_s * headroom)))


def next_rider_in_s(rng: random.Random, rides_per_minute: float) -> float:
    """Seconds to the next rider: a Poisson stream, steady on average at the given rate
    (exponential gaps, as independent riders arrive); infinite when the rate is 0."""
    if rides_per_minute <= 0:
        return math.inf
    return rng.expovariate(rides_per_minute / 60.0)
