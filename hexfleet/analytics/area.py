"""Which rollup cells a map's bounding box covers (pure): what the reads' ``cells=`` take.

A bounding box filters by pickup cell: the resolution-7 cells whose centre lies inside it,
plus the cells of its corners and centre, so a box smaller than a cell (a zoomed-in map)
still means the cells under it. A box crossing the antimeridian (minLng > maxLng) is two.
Boxes covering more than ``MAX_CELLS`` cells (about 250,000 km², a small country) are
refused rather than enumerated: read the whole fleet (no ``cells``) instead.
"""

from __future__ import annotations

import math

import h3.api.basic_int as h3i

from hexfleet.geo import cell_of

RESOLUTION = 7
MAX_CELLS = 50_000
_CELL_KM2 = 5.16  # the average area of a resolution-7 cell
_KM_PER_DEG = 111.32


class AreaTooLarge(ValueError):
    """A bounding box too large to list its cells."""


def _parts(min_lng: float, min_lat: float, max_lng: float, max_lat: float) -> list[tuple[float, float, float, float]]:
    if min_lng <= max_lng:
        return [(min_lng, min_lat, max_lng, max_lat)]
    return [(min_lng, min_lat, 180.0, max_lat), (-180.0, min_lat, max_lng, max_lat)]


def estimated_cells(bbox: tuple[float, float, float, float]) -> float:
    """About how many resolution-7 cells a box holds (its area over a cell's)."""
    total = 0.0
    for min_lng, min_lat, max_lng, max_lat in _parts(*bbox):
        middle = math.radians((min_lat + max_lat) / 2)
        width = (max_lng - min_lng) * _KM_PER_DEG * max(math.cos(middle), 0.01)
        total += width * (max_lat - min_lat) * _KM_PER_DEG / _CELL_KM2
    return total


def cells_in_bbox(bbox: tuple[float, float, float, float]) -> set[int]:
    """The resolution-7 cells of a box given as (minLng, minLat, maxLng, maxLat), as
    ``hexfleet.geo.parse_bbox`` returns it; AreaTooLarge past MAX_CELLS."""
    if estimated_cells(bbox) > MAX_CELLS:
        raise AreaTooLarge(f"the area is too large to filter by cell (more than {MAX_CELLS:,} cells): zoom in")
    cells: set[int] = set()
    for min_lng, min_lat, max_lng, max_lat in _parts(*bbox):
        ring = [(min_lat, min_lng), (min_lat, max_lng), (max_lat, max_lng), (max_lat, min_lng)]
        if max_lng > min_lng and max_lat > min_lat:
            cells.update(h3i.h3shape_to_cells(h3i.LatLngPoly(ring), RESOLUTION))
        for lat, lng in [*ring, ((min_lat + max_lat) / 2, (min_lng + max_lng) / 2)]:
            cells.add(cell_of(lat, lng, RESOLUTION))
    return cells
