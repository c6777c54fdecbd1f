"""The street grid the simulated drivers drive on: a lattice of blocks around a centre.

Pure: no I/O, no clocks. Positions are computed in a local east/north plane in metres (an
equirectangular projection around the centre: at city scale its error is far below GPS
noise) and converted to lat/lng only at the edges.

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
STEPS = ((1, 0), (0, 1), (-1, 0), (0, -1))


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
        return [d for d, (di, dj) in enumerate(STEPS) if self.has_node(i + di, j + dj)]

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
        return self._to_world(*STEPS[direction])

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
        # Two blocks around: near the edge of the area the nearest streets can be that far.
        for i in range(ci - 2, ci + 3):
            for j in range(cj - 2, cj + 3):
                if not self.has_node(i, j):
                    continue
                nx, ny = i * self.block_x_m, j * self.block_y_m
                for d in self.exits(i, j):
                    ux, uy = STEPS[d]
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
                di, dj = STEPS[d]
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

    def snap(self, lat: float, lng: float) -> Placement:
        """The street point nearest (lat, lng); a point outside the area is first pulled in
        along its line to the centre (a pickup beyond the demo area is met at its edge)."""
        placement = self.nearest_street(lat, lng)
        if placement is None:
            x, y = self.to_xy(lat, lng)
            far = math.hypot(x, y)
            placement = self.nearest_street(*self.to_latlng(x * self.reach_m / far, y * self.reach_m / far))
        if placement is None:  # cannot happen within the reach; be loud if it ever does
            raise ValueError(f"no street near {lat}, {lng}")
        return placement

    def grid_xy(self, placement: Placement) -> tuple[float, float]:
        """Grid metres (along the streets, unrotated) of a street point."""
        ux, uy = STEPS[placement.direction]
        return placement.i * self.block_x_m + ux * placement.s, placement.j * self.block_y_m + uy * placement.s

    def latlng_of(self, placement: Placement) -> tuple[float, float]:
        gx, gy = self.grid_xy(placement)
        return self.to_latlng(*self._to_world(gx, gy))
