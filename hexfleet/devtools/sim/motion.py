"""Plausible driver motion on the street grid (``grid.py``).

Pure: no I/O, no clocks, no asyncio. Each ``DriverSim`` owns a ``random.Random``, so the
same seed gives the same trail. Without a target a driver cruises at random; with one
(``head_to``) it takes, at every intersection, the street that brings it closest to the
target and stops at the target's street point.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from hexfleet.devtools.sim.grid import (
    EARTH_RADIUS_M,
    M_PER_DEG_LAT,
    STEPS,
    Grid,
    Placement,
    angle_diff_deg,
    bearing_deg,
    haversine_m,
)
from hexfleet.devtools.sim.steering import Target, along_street, choose_exit, make_target
from hexfleet.devtools.sim.traffic import Traffic

__all__ = [
    "EARTH_RADIUS_M",
    "M_PER_DEG_LAT",
    "DriverSim",
    "DriverState",
    "Fix",
    "Grid",
    "MotionProfile",
    "Placement",
    "angle_diff_deg",
    "bearing_deg",
    "haversine_m",
]


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
    direction: int  # 0..3, see STEPS
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
        traffic: Traffic | None = None,
    ) -> None:
        """``start``: where to resume (a restarted demo goes on from each driver's last
        stored position instead of teleporting); None starts at a random street corner."""
        self.grid = grid
        self.profile = p = profile or MotionProfile()
        # The city's traffic (``traffic.py``), read once per advance at its position and time:
        # None (or an advance without a time) drives at the profile's speeds everywhere.
        self.traffic = traffic
        self._speed_factor = 1.0
        self._stop_factor = 1.0
        if p.gps_noise and grid.margin_m < p.accuracy_m[1]:
            raise ValueError("the grid margin must cover the largest GPS error")
        self.rng = rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        self.target: Target | None = None
        self._arrived = False
        # (i, j, direction) of a street whose target came up too close to brake for.
        self._passing: tuple[int, int, int] | None = None
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
    def advance(self, dt: float, at: float | None = None) -> Fix:
        """``at``: the epoch time the step starts (the hour of week ``traffic`` needs)."""
        if dt < 0:
            raise ValueError("time runs forwards")
        if self.traffic is not None and at is not None:
            x, y = self.position_xy()
            self._speed_factor = self.traffic.factor(x, y, at)
            self._stop_factor = self.traffic.stop_factor(x, y, at)
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

    def _speed_limit(self, h: float, stop_s: float | None = None) -> float:
        """Fastest speed at the end of a step of ``h`` seconds from which the driver can
        still meet what lies ahead (the target at ``stop_s``, or the far intersection: stop,
        turn or straight on) braking at decel_mps2.

        Solves v² = v_end² + 2·b·(d - (v0 + v)/2·h): the limit at the end of the step, not
        the start, so a stop line is met exactly instead of being crept up to or overrun.
        """
        st, p = self.state, self.profile
        if stop_s is not None:
            v_end: float | None = 0.0
            length = stop_s
        else:
            v_end, length = self._end_speed(), self.grid.edge_length(st.direction)
        if v_end is None:
            return self._cruise()
        b = p.decel_mps2
        d_rem = max(0.0, length - st.s)
        c = v_end * v_end + 2 * b * d_rem - b * h * st.speed
        if c <= 0:
            return 0.0
        return min(self._cruise(), (-b * h + math.sqrt(b * b * h * h + 4 * c)) / 2)

    def _cruise(self) -> float:
        return self.state.cruise * self._speed_factor

    def _end_speed(self) -> float | None:
        """Speed to meet the far intersection with; None: drive through at cruise."""
        st, p = self.state, self.profile
        v_end: float | None = None
        if st.stop_at_end > 0:
            v_end = 0.0
        elif st.next_direction != st.direction:
            v_end = p.turn_speed_mps
        if self.target is not None:
            # The target just round the corner: slow enough to stop there after the turn.
            di, dj = STEPS[st.direction]
            along = along_street(self.grid, st.i + di, st.j + dj, st.next_direction, self.target)
            if along is not None:
                room = math.sqrt(2 * p.decel_mps2 * along)
                v_end = room if v_end is None else min(v_end, room)
        return v_end

    def _step(self, h: float) -> None:
        st, p = self.state, self.profile
        if self._arrived:
            return  # waits at the target until given another one, or none
        if st.waiting > 0:
            st.waiting -= h
            if st.waiting <= 0:
                st.waiting = 0.0
                self._enter_next_street(0.0)
            return
        stop_s = self._stop_ahead() if self.target is not None else None
        limit = self._speed_limit(h, stop_s)
        if st.speed < limit:
            v = min(limit, st.speed + p.accel_mps2 * h)
        else:
            # Brake hard only for a stop line or a turn; a lower cruise speed is eased into.
            brake = p.max_decel_mps2 if limit < self._cruise() else p.decel_mps2
            v = max(limit, st.speed - brake * h)
        st.s += (st.speed + v) / 2 * h
        st.speed = v
        if stop_s is not None and st.s >= stop_s - 1e-9:
            st.s, st.speed, self._arrived = stop_s, 0.0, True
            return
        length = self.grid.edge_length(st.direction)
        if st.s < length:
            return
        if st.stop_at_end > 0:
            st.s, st.speed, st.waiting = length, 0.0, st.stop_at_end
        else:
            self._enter_next_street(st.s - length)

    def _enter_next_street(self, s: float) -> None:
        st = self.state
        di, dj = STEPS[st.direction]
        st.i, st.j = st.i + di, st.j + dj
        st.direction, st.s = st.next_direction, s
        self._passing = None
        if self.target is not None:
            stop_s = self._stop_ahead()
            if stop_s is not None and not self._stoppable(stop_s):
                self._passing = (st.i, st.j, st.direction)  # too fast for it: come round again
        self._plan()

    def _plan(self) -> None:
        """Choose the turn, the stop and the cruise speed for the far intersection."""
        st, p, rng = self.state, self.profile, self.rng
        di, dj = STEPS[st.direction]
        back = (st.direction + 2) % 4
        if self.target is not None and self._stop_ahead() is None:
            st.next_direction = choose_exit(self.grid, st.i + di, st.j + dj, st.direction, self.target, rng)
        else:
            options = [d for d in self.grid.exits(st.i + di, st.j + dj) if d != back]
            if options:
                weights = [p.straight_weight if d == st.direction else p.turn_weight for d in options]
                st.next_direction = rng.choices(options, weights)[0]
            else:
                st.next_direction = back  # dead end at the edge of the area
        stop = rng.uniform(*p.stop_s) if rng.random() < min(0.9, p.stop_probability * self._stop_factor) else 0.0
        if st.next_direction == back:
            stop = max(stop, p.u_turn_pause_s)
        st.stop_at_end = stop
        if rng.random() < p.cruise_change_probability:
            st.cruise = rng.uniform(p.min_cruise_mps, p.max_speed_mps)

    # --- steering ---
    def head_to(self, lat: float, lng: float) -> tuple[float, float]:
        """Drive to the street point nearest (lat, lng) and stop there (``arrived``);
        returns that point. A point outside the area is met at the area's edge."""
        self.target = make_target(self.grid, lat, lng)
        self._arrived, self._passing = False, None
        st = self.state
        stop_s = self._stop_ahead()
        if stop_s is not None:
            if stop_s - st.s <= 1e-6 and st.speed == 0:
                st.waiting, self._arrived = 0.0, True  # already standing there
                return self.target.lat, self.target.lng
            if self._stoppable(stop_s):
                return self.target.lat, self.target.lng
            self._passing = (st.i, st.j, st.direction)
        self._steer_far_intersection()
        return self.target.lat, self.target.lng

    def clear_target(self) -> None:
        """Cruise at random again, from where it is (the turn already chosen stays)."""
        self.target, self._arrived, self._passing = None, False, None

    @property
    def arrived(self) -> bool:
        """Standing at the target's street point."""
        return self.target is not None and self._arrived

    def _stop_ahead(self) -> float | None:
        """Where on the current street the driver stops for the target, if it does."""
        st = self.state
        if self.target is None or self._passing == (st.i, st.j, st.direction):
            return None
        along = along_street(self.grid, st.i, st.j, st.direction, self.target)
        return along if along is not None and along >= st.s - 1e-9 else None

    def _stoppable(self, stop_s: float) -> bool:
        """Can the driver stop at ``stop_s`` on this street braking gently? If not, it
        passes the target this time and comes round again."""
        st = self.state
        return st.speed * st.speed <= 2 * self.profile.decel_mps2 * (stop_s - st.s) + 1e-9

    def _steer_far_intersection(self) -> None:
        """A new target mid-street: take the better turn ahead if there is still room to
        brake for it; otherwise keep the planned one and steer from the next corner."""
        st, p = self.state, self.profile
        if self.target is None:
            return
        planned = (st.next_direction, st.stop_at_end)
        di, dj = STEPS[st.direction]
        st.next_direction = choose_exit(self.grid, st.i + di, st.j + dj, st.direction, self.target, self.rng)
        if st.next_direction == (st.direction + 2) % 4:
            st.stop_at_end = max(st.stop_at_end, p.u_turn_pause_s)
        if st.waiting > 0:
            return  # standing at the stop line: any way on is fine
        v_end = self._end_speed()
        d_rem = self.grid.edge_length(st.direction) - st.s
        if v_end is not None and st.speed * st.speed - v_end * v_end > 2 * p.decel_mps2 * d_rem + 1e-9:
            st.next_direction, st.stop_at_end = planned

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
