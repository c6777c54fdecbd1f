"""Geometry on the sphere and the H3 cells of the availability index (pure)."""

from __future__ import annotations

import math

# Integer cell ids: about twice as fast as strings in h3 4.x (MEASUREMENTS.md).
import h3.api.basic_int as h3i
from h3 import average_hexagon_edge_length

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def cell_of(lat: float, lng: float, resolution: int) -> int:
    return h3i.latlng_to_cell(lat, lng, resolution)


def cell_name(cell: int) -> str:
    """The hex form every H3 tool reads (8729a1d75ffffff)."""
    return h3i.int_to_str(cell)


def cell_boundary(cell: int) -> tuple[tuple[float, float], ...]:
    return h3i.cell_to_boundary(cell)


def parent_cell(cell: int, resolution: int) -> int:
    return h3i.cell_to_parent(cell, resolution)


def disk(cell: int, k: int) -> list[int]:
    return h3i.grid_disk(cell, k)


def ring_for_radius(radius_m: float, resolution: int) -> int:
    """Smallest k whose grid_disk surely covers a circle of radius_m around a point.

    Neighbouring centres are about sqrt(3) edges apart; cells vary in size over the
    globe (the smallest are ~0.6 of the average), so assume the small ones.
    """
    spacing = math.sqrt(3) * average_hexagon_edge_length(resolution, "m") * 0.6
    return math.ceil(radius_m / spacing) + 1


def cells_within(lat: float, lng: float, radius_m: float, resolution: int) -> list[int]:
    return h3i.grid_disk(cell_of(lat, lng, resolution), ring_for_radius(radius_m, resolution))


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """'minLng,minLat,maxLng,maxLat' → tuple; ValueError with a readable message."""
    try:
        min_lng, min_lat, max_lng, max_lat = (float(p) for p in text.split(","))
    except ValueError:
        raise ValueError("bbox must be minLng,minLat,maxLng,maxLat") from None
    if not (-180 <= min_lng <= 180 and -180 <= max_lng <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ValueError("bbox is out of range or has min above max")
    return min_lng, min_lat, max_lng, max_lat


def in_bbox(lat: float, lng: float, bbox: tuple[float, float, float, float]) -> bool:
    min_lng, min_lat, max_lng, max_lat = bbox
    if not min_lat <= lat <= max_lat:
        return False
    if min_lng <= max_lng:
        return min_lng <= lng <= max_lng
    return lng >= min_lng or lng <= max_lng  # box crossing the antimeridian
