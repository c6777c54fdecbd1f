"""Plausible driver motion on a street-like grid around a centre point.

Pure: no I/O, no clocks, no asyncio. Each ``DriverSim`` owns a ``random.Random``, so the
same seed gives the same trail. Positions are computed in a local east/north plane in
metres (an equirectangular projection around the centre: at city scale its error is far
below GPS noise) and converted to lat/lng only when a fix is produced.

The streets are a lattice of rectangular blocks, optionally rotated. An intersection
exists when it lies within ``radius_m - margin_m`` of the centre, and a street between
two neighbouring intersections exists when both ends do; the disc is convex, so every
street, and with the margin every noisy fix, stays inside the radius.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG_LAT = math.pi / 180 * EARTH_RADIUS_M

# Grid directions, counter-clockwise in grid coordinates: +i, +j, -i, -j.
# Left of d is (d + 1) % 4, right is (d + 3) % 4, back is (d + 2) % 4.
_STEPS = ((1, 0), (0, 1), (-1, 0), (0, -1))


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(dx: float, dy: float) -> float:
    """Compass bearing (0 = north, 90 = east) of an east/north displacement."""
    return math.degrees(math.atan2(dx, dy)) % 360.0


def angle_diff_deg(a: float, b: float) -> float:
    """Smallest absolute difference between two bearings, 0..180."""
    return abs((a - b + 180.0) % 360.0 - 180.0)


@dataclass(frozen=True)
class Placement:
    """A point on a street: ``s`` metres from intersection (i, j) in grid direction ``direction``."""

    i: int
    j: int
    direction: int
    s: float


@dataclass(frozen=True)
class Grid:
    """The street lattice. Areas too small for the requested blocks get smaller blocks,
    so there is always at least a crossroads to drive around."""

    center_lat: float
    center_lng: float
    radius_m: float
    block_x_m: float = 180.0
    block_y_m: float = 220.0
    rotation_deg: float = 0.0  # clockwise; 0 puts the streets north-south and east-west
    margin_m: float = 15.0  # room for GPS noise between the outermost street and the radius
    _cos_lat: float = field(init=False, repr=False)
    _rot: tuple[float, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not (-85 <= self.center_lat <= 85 and -180 <= self.center_lng <= 180):
            raise ValueError(f"centre out of range: {self.center_lat}, {self.center_lng}")
        if self.margin_m < 0 or self.block_x_m <= 0 or self.block_y_m <= 0:
            raise ValueError("blocks must be positive and the margin not negative")
        reach = self.radius_m - self.margin_m
        if reach < 20:
            raise ValueError(f"radius {self.radius_m} m leaves no room for streets")
        object.__setattr__(self, "block_x_m", min(self.block_x_m, reach / 2))
        object.__setattr__(self, "block_y_m", min(self.block_y_m, reach / 2))
        object.__setattr__(self, "_cos_lat", math.cos(math.radians(self.center_lat)))
        theta = math.radians(self.rotation_deg)
        object.__setattr__(self, "_rot", (math.cos(theta), math.sin(theta)))

    @property
    def reach_m(self) -> float:
        """Largest distance of an intersection from the centre."""
        return self.radius_m - self.margin_m

    def has_node(self, i: int, j: int) -> bool:
        return math.hypot(i * self.block_x_m, j * self.block_y_m) <= self.reach_m

    def exits(self, i: int, j: int) -> list[int]:
        """Directions with a street leaving intersection (i, j)."""
        return [d for d, (di, dj) in enumerate(_STEPS) if self.has_node(i + di, j + dj)]

    def edge_length(self, direction: int) -> float:
        return self.block_x_m if direction % 2 == 0 else self.block_y_m

    def _to_world(self, gx: float, gy: float) -> tuple[float, float]:
        c, s = self._rot
        return gx * c + gy * s, -gx * s + gy * c

    def node_xy(self, i: int, j: int) -> tuple[float, float]:
        """East/north metres of intersection (i, j) from the centre."""
        return self._to_world(i * self.block_x_m, j * self.block_y_m)

    def direction_xy(self, direction: int) -> tuple[float, float]:
        """Unit east/north vector of a grid direction."""
        return self._to_world(*_STEPS[direction])

    def to_latlng(self, x: float, y: float) -> tuple[float, float]:
        return (
            self.center_lat + y / M_PER_DEG_LAT,
            self.center_lng + x / (M_PER_DEG_LAT * self._cos_lat),
        )

    def to_xy(self, lat: float, lng: float) -> tuple[float, float]:
        return (
            (lng - self.center_lng) * M_PER_DEG_LAT * self._cos_lat,
            (lat - self.center_lat) * M_PER_DEG_LAT,
        )

    def to_grid(self, x: float, y: float) -> tuple[float, float]:
        """Undo the rotation: grid metres (along the streets) of an east/north point."""
        c, s = self._rot
        return x * c - y * s, x * s + y * c

    def nearest_street(self, lat: float, lng: float, heading: float | None = None) -> Placement | None:
        """The point on a street nearest to (lat, lng), facing ``heading`` where it can;
        None when the point lies outside this area (the demo's centre or radius changed)."""
        x, y = self.to_xy(lat, lng)
        if math.hypot(x, y) > self.radius_m:
            return None
        gx, gy = self.to_grid(x, y)
        ci, cj = round(gx / self.block_x_m), round(gy / self.block_y_m)
        best: tuple[float, int, int, int, float] | None = None
        for i in range(ci - 1, ci + 2):
            for j in range(cj - 1, cj + 2):
                if not self.has_node(i, j):
                    continue
                nx, ny = i * self.block_x_m, j * self.block_y_m
                for d in self.exits(i, j):
                    ux, uy = _STEPS[d]
                    t = min(self.edge_length(d), max(0.0, (gx - nx) * ux + (gy - ny) * uy))
                    off = math.hypot(gx - nx - ux * t, gy - ny - uy * t)
                    if best is None or off < best[0] - 1e-9:
                        best = (off, i, j, d, t)
        if best is None:
            return None
        _, i, j, d, t = best
        if heading is not None:
            forward = bearing_deg(*self.direction_xy(d))
            if angle_diff_deg(heading, forward) > 90:  # drive the same street the other way
                di, dj = _STEPS[d]
                i, j, d, t = i + di, j + dj, (d + 2) % 4, self.edge_length(d) - t
        return Placement(i, j, d, t)

    def random_node(self, rng: random.Random) -> tuple[int, int]:
        """An intersection with at least one street, roughly uniform over the disc."""
        for _ in range(100):
            r = self.reach_m * math.sqrt(rng.random())
            a = rng.uniform(0, 2 * math.pi)
            i, j = round(r * math.cos(a) / self.block_x_m), round(r * math.sin(a) / self.block_y_m)
            if self.has_node(i, j) and self.exits(i, j):
                return i, j
        return 0, 0  # the centre always has streets (blocks are at most half the reach)


@dataclass(frozen=True)
class MotionProfile:
    """How drivers behave: urban speeds, gentle acceleration, turns and traffic lights."""

    min_cruise_mps: float = 5.0
    max_speed_mps: float = 14.0
    turn_speed_mps: float = 4.5
    accel_mps2: float = 1.5
    decel_mps2: float = 2.5  # planned braking
    max_decel_mps2: float = 4.5  # hard braking when the plan is short of room
    straight_weight: float = 0.6
    turn_weight: float = 0.2
    stop_probability: float = 0.25  # red light at the next intersection
    stop_s: tuple[float, float] = (3.0, 12.0)
    u_turn_pause_s: float = 2.0
    cruise_change_probability: float = 0.3
    gps_noise: bool = True
    accuracy_m: tuple[float, float] = (3.0, 10.0)
    noise_tau_s: float = 30.0  # GPS error drifts; it does not jump between fixes
    heading_jitter_deg: float = 1.5
    battery_drain_pct_s: tuple[float, float] = (0.002, 0.006)  # 7-22 % an hour
    battery_charge_pct_s: float = 0.05
    battery_plug_in_below: float = 15.0
    battery_unplug_above: float = 95.0
    substep_s: float = 0.25


@dataclass(frozen=True)
class Fix:
    lat: float
    lng: float
    speed_mps: float
    heading: float
    accuracy_m: float
    battery: float  # percent

    def payload(self, ts: float) -> dict:
        """The body of one ping for ``POST /api/v1/driver/pings``."""
        return {
            "lat": self.lat,
            "lng": self.lng,
            "ts": ts,
            "speed_mps": self.speed_mps,
            "heading": self.heading,
            "accuracy_m": self.accuracy_m,
            "battery": self.battery,
        }


@dataclass
class DriverState:
    i: int  # intersection the current street starts at
    j: int
    direction: int  # 0..3, see _STEPS
    s: float  # metres travelled along the current street
    speed: float
    cruise: float
    next_direction: int  # street taken at the far intersection
    stop_at_end: float  # seconds to wait at the far intersection (0: drive through)
    waiting: float  # seconds left of the current stop
    noise_x: float
    noise_y: float
    accuracy: float
    battery: float
    charging: bool
    drain_pct_s: float


class DriverSim:
    """One simulated driver. ``advance(dt)`` moves it ``dt`` seconds and returns a fix."""

    def __init__(
        self,
        grid: Grid,
        seed: int | str | random.Random,
        profile: MotionProfile | None = None,
        start: Placement | None = None,
    ) -> None:
        """``start``: where to resume (a restarted demo goes on from each driver's last
        stored position instead of teleporting); None starts at a random street corner."""
        self.grid = grid
        self.profile = p = profile or MotionProfile()
        if p.gps_noise and grid.margin_m < p.accuracy_m[1]:
            raise ValueError("the grid margin must cover the largest GPS error")
        self.rng = rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        if start is None:
            i, j = grid.random_node(rng)
            direction = rng.choice(grid.exits(i, j))
            s = rng.uniform(0, grid.edge_length(direction))
        else:
            i, j, direction, s = start.i, start.j, start.direction, start.s
        cruise = rng.uniform(p.min_cruise_mps, p.max_speed_mps)
        self.state = DriverState(
            i=i,
            j=j,
            direction=direction,
            s=s,
            speed=0.0,
            cruise=cruise,
            next_direction=direction,
            stop_at_end=0.0,
            waiting=0.0,
            noise_x=0.0,
            noise_y=0.0,
            accuracy=rng.uniform(*p.accuracy_m),
            battery=rng.uniform(35.0, 100.0),
            charging=False,
            drain_pct_s=rng.uniform(*p.battery_drain_pct_s),
        )
        self._plan()
        # A resumed driver pulls away from where it stood; a new one may already be rolling.
        self.state.speed = 0.0 if start is not None else min(rng.uniform(0, cruise), self._speed_limit(0.0))

    # --- reading the true state (tests and the fix) ---
    def position_xy(self) -> tuple[float, float]:
        """True east/north metres from the centre, without GPS noise."""
        st = self.state
        x0, y0 = self.grid.node_xy(st.i, st.j)
        ux, uy = self.grid.direction_xy(st.direction)
        return x0 + ux * st.s, y0 + uy * st.s

    def heading(self) -> float:
        """True direction of travel (while stopped: of the street it stopped on)."""
        return bearing_deg(*self.grid.direction_xy(self.state.direction))

    @property
    def stopped(self) -> bool:
        return self.state.waiting > 0

    # --- moving ---
    def advance(self, dt: float) -> Fix:
        if dt < 0:
            raise ValueError("time runs forwards")
        remaining = dt
        while remaining > 1e-9:
            h = min(self.profile.substep_s, remaining)
            self._step(h)
            remaining -= h
        self._drift_sensors(dt)
        return self.fix()

    def fix(self) -> Fix:
        st, p = self.state, self.profile
        x, y = self.position_xy()
        heading = self.heading()
        if p.gps_noise:
            x, y = x + st.noise_x, y + st.noise_y
            heading = (heading + self.rng.gauss(0, p.heading_jitter_deg)) % 360.0
        lat, lng = self.grid.to_latlng(x, y)
        return Fix(
            lat=round(lat, 6),
            lng=round(lng, 6),
            speed_mps=round(st.speed, 2),
            heading=round(heading, 1) % 360.0,
            accuracy_m=round(st.accuracy if p.gps_noise else p.accuracy_m[0], 1),
            battery=round(st.battery, 1),
        )

    def _speed_limit(self, h: float) -> float:
        """Fastest speed at the end of a step of ``h`` seconds from which the driver can
        still meet the far intersection (stop, turn or straight on) braking at decel_mps2.

        Solves v² = v_end² + 2·b·(d - (v0 + v)/2·h): the limit at the end of the step, not
        the start, so a stop line is met exactly instead of being crept up to or overrun.
        """
        st, p = self.state, self.profile
        if st.stop_at_end > 0:
            v_end = 0.0
        elif st.next_direction != st.direction:
            v_end = p.turn_speed_mps
        else:
            return st.cruise
        b = p.decel_mps2
        d_rem = max(0.0, self.grid.edge_length(st.direction) - st.s)
        c = v_end * v_end + 2 * b * d_rem - b * h * st.speed
        if c <= 0:
            return 0.0
        return min(st.cruise, (-b * h + math.sqrt(b * b * h * h + 4 * c)) / 2)

    def _step(self, h: float) -> None:
        st, p = self.state, self.profile
        if st.waiting > 0:
            st.waiting -= h
            if st.waiting <= 0:
                st.waiting = 0.0
                self._enter_next_street(0.0)
            return
        limit = self._speed_limit(h)
        if st.speed < limit:
            v = min(limit, st.speed + p.accel_mps2 * h)
        else:
            # Brake hard only for a stop line or a turn; a lower cruise speed is eased into.
            brake = p.max_decel_mps2 if limit < st.cruise else p.decel_mps2
            v = max(limit, st.speed - brake * h)
        st.s += (st.speed + v) / 2 * h
        st.speed = v
        length = self.grid.edge_length(st.direction)
        if st.s < length:
            return
        if st.stop_at_end > 0:
            st.s, st.speed, st.waiting = length, 0.0, st.stop_at_end
        else:
            self._enter_next_street(st.s - length)

    def _enter_next_street(self, s: float) -> None:
        st = self.state
        di, dj = _STEPS[st.direction]
        st.i, st.j = st.i + di, st.j + dj
        st.direction, st.s = st.next_direction, s
        self._plan()

    def _plan(self) -> None:
        """Choose the turn, the stop and the cruise speed for the far intersection."""
        st, p, rng = self.state, self.profile, self.rng
        di, dj = _STEPS[st.direction]
        back = (st.direction + 2) % 4
        options = [d for d in self.grid.exits(st.i + di, st.j + dj) if d != back]
        if options:
            weights = [p.straight_weight if d == st.direction else p.turn_weight for d in options]
            st.next_direction = rng.choices(options, weights)[0]
        else:
            st.next_direction = back  # dead end at the edge of the area
        stop = rng.uniform(*p.stop_s) if rng.random() < p.stop_probability else 0.0
        if st.next_direction == back:
            stop = max(stop, p.u_turn_pause_s)
        st.stop_at_end = stop
        if rng.random() < p.cruise_change_probability:
            st.cruise = rng.uniform(p.min_cruise_mps, p.max_speed_mps)

    def _drift_sensors(self, dt: float) -> None:
        st, p, rng = self.state, self.profile, self.rng
        if p.gps_noise:
            lo, hi = p.accuracy_m
            st.accuracy = min(hi, max(lo, st.accuracy + rng.gauss(0, 0.25 * math.sqrt(dt))))
            # First-order Gauss-Markov: the error wanders slowly, as a real receiver's does.
            a = math.exp(-dt / p.noise_tau_s)
            b = math.sqrt(1 - a * a) * st.accuracy / 2
            st.noise_x = a * st.noise_x + b * rng.gauss(0, 1)
            st.noise_y = a * st.noise_y + b * rng.gauss(0, 1)
            size = math.hypot(st.noise_x, st.noise_y)
            if size > st.accuracy:
                st.noise_x *= st.accuracy / size
                st.noise_y *= st.accuracy / size
        if st.charging:
            st.battery = min(100.0, st.battery + p.battery_charge_pct_s * dt)
            st.charging = st.battery < p.battery_unplug_above
        else:
            st.battery = max(0.0, st.battery - st.drain_pct_s * dt)
            st.charging = st.battery < p.battery_plug_in_below
