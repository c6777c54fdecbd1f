"""Which driver is asked first (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    driver_id: int
    distance_m: float  # great-circle, from the driver's live position to the pickup
    eta_s: float | None = None  # routed, when ROUTING_URL answered


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """Nearest first: by routed ETA where every candidate has one, else by distance;
    ties by driver id, so the order never depends on dict or Redis set order."""
    if candidates and all(c.eta_s is not None for c in candidates):
        return sorted(candidates, key=lambda c: (c.eta_s, c.distance_m, c.driver_id))
    return sorted(candidates, key=lambda c: (c.distance_m, c.driver_id))


def ring_radius_m(ring: int, step_m: float) -> float:
    """Ring 1 reaches step_m from the pickup, ring 2 twice that, and so on."""
    if ring < 1:
        raise ValueError("rings count from 1")
    return ring * step_m


def ring_of(distance_m: float, step_m: float) -> int:
    """The innermost ring that reaches ``distance_m`` (ring 1 also holds the pickup itself)."""
    return max(1, math.ceil(distance_m / step_m))
