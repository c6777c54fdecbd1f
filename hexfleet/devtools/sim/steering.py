"""Which way to turn for a target on the street grid (pure).

A target is a street point (a pickup, a drop-off). At each intersection a driver takes
the street with the shortest remaining grid (Manhattan) distance to it. That greedy
choice is also a shortest route: the area is a disc, and for two points A and B inside a
disc one of the two corners of their bounding rectangle is inside too (|C1|² + |C2|² =
|A|² + |B|²), so an L-shaped street route between them always exists and some street out
of every intersection shortens the distance by a whole block.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hexfleet.devtools.sim.grid import STEPS, Grid, Placement

EPS_M = 1e-6


@dataclass(frozen=True)
class Target:
    """A street point to drive to, in grid metres (``gx``, ``gy``) and lat/lng."""

    placement: Placement
    gx: float
    gy: float
    lat: float
    lng: float


def make_target(grid: Grid, lat: float, lng: float) -> Target:
    """The street point nearest (lat, lng), pulled into the area when it lies outside."""
    placement = grid.snap(lat, lng)
    gx, gy = grid.grid_xy(placement)
    tlat, tlng = grid.latlng_of(placement)
    return Target(placement, gx, gy, tlat, tlng)


def along_street(grid: Grid, i: int, j: int, direction: int, target: Target) -> float | None:
    """Metres from intersection (i, j) along the street in ``direction`` to the target,
    or None when the target is not on that street (its ends included)."""
    ux, uy = STEPS[direction]
    dx, dy = target.gx - i * grid.block_x_m, target.gy - j * grid.block_y_m
    along, across = dx * ux + dy * uy, abs(dx * uy - dy * ux)
    length = grid.edge_length(direction)
    if across > EPS_M or along < -EPS_M or along > length + EPS_M:
        return None
    return min(length, max(0.0, along))


def manhattan_m(grid: Grid, i: int, j: int, target: Target) -> float:
    """Street distance from intersection (i, j) to the target when a shortest route exists
    (always, see the module docstring)."""
    return abs(target.gx - i * grid.block_x_m) + abs(target.gy - j * grid.block_y_m)


def cost_via(grid: Grid, i: int, j: int, direction: int, target: Target) -> float:
    """Shortest distance to the target when leaving intersection (i, j) in ``direction``."""
    along = along_street(grid, i, j, direction, target)
    if along is not None:
        return along
    di, dj = STEPS[direction]
    return grid.edge_length(direction) + manhattan_m(grid, i + di, j + dj, target)


def choose_exit(grid: Grid, i: int, j: int, arriving: int, target: Target, rng: random.Random) -> int:
    """The street to take at intersection (i, j), reached driving in ``arriving``: the one
    closest to the target, equal ones drawn by ``rng``. Turning back only when it is
    strictly shorter than every street ahead (a U-turn is a manoeuvre, not a whim)."""
    exits = grid.exits(i, j)
    back = (arriving + 2) % 4
    ahead = [d for d in exits if d != back]
    if not ahead:
        return back  # a dead end at the edge of the area
    costs = {d: cost_via(grid, i, j, d, target) for d in exits}
    best = min(costs[d] for d in ahead)
    if back in costs and costs[back] < best - EPS_M:
        return back
    ties = [d for d in ahead if costs[d] <= best + EPS_M]
    return ties[0] if len(ties) == 1 else rng.choice(ties)
