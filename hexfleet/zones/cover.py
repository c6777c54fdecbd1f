"""Which zones hold a point, in microseconds, without PostGIS (pure).

Each zone is covered once with H3 cells, from coarse to fine:

1. the cells at resolution ``RESOLUTION - LEVELS`` near the zone are candidates;
2. a candidate wholly inside the zone (with a margin, below) is an *inner* cell: a point whose
   cell descends from it is inside, answered at once; one clear of the zone is dropped; one on its
   boundary is split into its children and each is judged the same way, down to RESOLUTION;
3. at RESOLUTION, a cell on the boundary keeps the zone's exact test (shapely's prepared
   geometry, or the haversine distance for a circle): only points there pay for it.

A lookup takes the point's cell at RESOLUTION and its parents at the coarser levels that hold
any cell, and reads one dict per level. With 200 zones that is ~3 µs a point (README, Zones).

The margin: H3 children do not tile their parent exactly (aperture 7), so the points whose cell
at RESOLUTION descends from a cell stray outside that cell's outline, by less than one child's
edge. A cell counts as inner only if it lies inside the zone shrunk by two child edges, and is
dropped only if it is clear of the zone grown by as much; both err towards splitting, which is
slower to build and never wrong. Metres become degrees of longitude at the zone's highest
latitude (the largest number of degrees a metre can be there), again erring the safe way.
A test compares the cover with the exact test on 100,000 random points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import h3
import h3.api.basic_int as h3i
import shapely
from shapely.geometry import Polygon

from hexfleet.geo import haversine_m
from hexfleet.zones.geometry import Circle, Shape, circle_outline

RESOLUTION = 9  # cells ~0.1 km², edges ~200 m: boundary cells few, exact tests rare
LEVELS = 4  # candidates at resolution 5 (~250 km²): a city takes a few dozen
LEAF_MARGIN_M = 1.0  # H3 edges are great-circle arcs; the outline's straight edges differ by < 1 mm
# Metres in a degree of latitude, rounded down (110,574 at the equator): more degrees per metre
# is the safe side for both margins.
M_PER_DEGREE = 110_000.0


@dataclass(frozen=True)
class ZoneHit:
    """A zone a point is in, with what the rules of rides need to know about it."""

    id: int
    name: str
    kind: str
    color: str
    rules: object  # hexfleet.zones.rules.Rules (kept loose: the cover knows nothing of rules)


@dataclass(frozen=True)
class CoverStats:
    zones: int
    inner_cells: int
    boundary_cells: int
    tests: int  # cells judged while building


def _edge_m(resolution: int) -> float:
    return h3.average_hexagon_edge_length(resolution, "m")


def _margin_m(resolution: int) -> float:
    if resolution >= RESOLUTION:
        return LEAF_MARGIN_M
    return 2 * _edge_m(resolution + 1) + LEAF_MARGIN_M


def _cell_polygon(cell: int) -> Polygon:
    return Polygon([(lng, lat) for lat, lng in h3i.cell_to_boundary(cell)])


class _Judge:
    """Inner, boundary or clear, for the cells of one zone at one resolution."""

    def __init__(self, shape: Shape, resolution: int) -> None:
        self.shape = shape
        self.margin_m = _margin_m(resolution)
        if shape.circle is None:
            _, min_lat, _, max_lat = shape.area.bounds
            top = min(89.0, max(abs(min_lat), abs(max_lat)) + 1)
            degrees = self.margin_m / (M_PER_DEGREE * math.cos(math.radians(top)))
            self.inner = shape.area.buffer(-degrees)
            self.outer = shape.area.buffer(degrees)
            shapely.prepare(self.inner)
            shapely.prepare(self.outer)

    def judge(self, cell: int) -> int:
        """1: inner, 0: boundary, -1: clear of the zone."""
        circle = self.shape.circle
        if circle is not None:
            return _judge_circle(circle, cell, self.margin_m)
        polygon = _cell_polygon(cell)
        if not self.outer.intersects(polygon):
            return -1
        if not self.inner.is_empty and self.inner.contains(polygon):
            return 1
        return 0


def _judge_circle(circle: Circle, cell: int, margin_m: float) -> int:
    # A spherical cap is convex: a cell whose vertices are all inside it is inside it.
    lat, lng = h3i.cell_to_latlng(cell)
    vertices = h3i.cell_to_boundary(cell)
    far = max(haversine_m(circle.lat, circle.lng, a, b) for a, b in vertices)
    if far + margin_m <= circle.radius_m:
        return 1
    radius = max(haversine_m(lat, lng, a, b) for a, b in vertices)
    if haversine_m(circle.lat, circle.lng, lat, lng) > circle.radius_m + radius + margin_m:
        return -1
    return 0


def _candidates(shape: Shape, resolution: int) -> list[int]:
    """Cells at ``resolution`` that may hold a point of the zone: every cell whose centre lies
    within its own radius (two edges, for the largest cells) plus the margin of the zone."""
    reach_m = 2 * _edge_m(resolution) + _margin_m(resolution)
    if shape.circle is not None:
        c = shape.circle
        # The outline's vertices are on the circle: grow it past the sides' sag (r·(1-cos(π/64))).
        area = circle_outline(Circle(c.lat, c.lng, c.radius_m * 1.01 + reach_m))
    else:
        _, min_lat, _, max_lat = shape.area.bounds
        top = min(89.0, max(abs(min_lat), abs(max_lat)) + 1)
        area = shape.area.buffer(reach_m / (M_PER_DEGREE * math.cos(math.radians(top))))
    return [h3.str_to_int(c) for c in h3.geo_to_cells(shapely.geometry.mapping(area), resolution)]


def cover(shape: Shape, resolution: int = RESOLUTION, levels: int = LEVELS) -> tuple[list[int], list[int], int]:
    """(inner cells of any resolution, boundary cells at ``resolution``, cells judged)."""
    top = max(0, resolution - levels)
    inner: list[int] = []
    boundary: list[int] = []
    tests = 0
    cells = _candidates(shape, top)
    for res in range(top, resolution + 1):
        judge = _Judge(shape, res)
        split: list[int] = []
        for cell in cells:
            tests += 1
            verdict = judge.judge(cell)
            if verdict == 1:
                inner.append(cell)
            elif verdict == 0:
                split.append(cell)
        if res == resolution:
            boundary = split
        else:
            cells = [child for cell in split for child in h3i.cell_to_children(cell, res + 1)]
    return inner, boundary, tests


@dataclass(frozen=True)
class CoveredZone:
    hit: ZoneHit
    shape: Shape


class ZoneIndex:
    """The zones of this process, covered; ``zones_at`` answers from memory."""

    def __init__(self, zones: Iterable[CoveredZone] = (), resolution: int = RESOLUTION, levels: int = LEVELS) -> None:
        self.resolution = resolution
        self.zones: tuple[CoveredZone, ...] = tuple(sorted(zones, key=lambda z: z.hit.id))
        # cell → (hit, exact test or None for an inner cell), every zone's cells in one dict: cells
        # of different resolutions never share an id.
        cells: dict[int, list[tuple[ZoneHit, Callable[[float, float], bool] | None]]] = {}
        inner_count = boundary_count = tests = 0
        for zone in self.zones:
            inner, boundary, judged = cover(zone.shape, resolution, levels)
            tests += judged
            inner_count += len(inner)
            boundary_count += len(boundary)
            for cell in inner:
                cells.setdefault(cell, []).append((zone.hit, None))
            for cell in boundary:
                cells.setdefault(cell, []).append((zone.hit, zone.shape.covers))
        self._cells = {cell: tuple(entries) for cell, entries in cells.items()}
        # Coarser levels that hold cells, finest first (a parent per level per lookup).
        coarser = {h3i.get_resolution(c) for c in cells} - {resolution}
        self._levels = sorted(coarser, reverse=True)
        self.stats = CoverStats(len(self.zones), inner_count, boundary_count, tests)
        self.service_areas = sum(1 for z in self.zones if z.hit.kind == "service_area")

    def __len__(self) -> int:
        return len(self.zones)

    def zones_at(self, lat: float, lng: float) -> list[ZoneHit]:
        """The zones holding the point (edges included), by id. Coordinates out of range: none."""
        if not (-90 <= lat <= 90 and -180 <= lng <= 180) or not self._cells:
            return []
        cell = h3i.latlng_to_cell(lat, lng, self.resolution)
        found: list[ZoneHit] = []
        entries = self._cells.get(cell)
        if entries:
            found.extend(hit for hit, test in entries if test is None or test(lat, lng))
        for level in self._levels:
            entries = self._cells.get(h3i.cell_to_parent(cell, level))
            if entries:
                found.extend(hit for hit, _ in entries)  # coarser cells are all inner
        if len(found) > 1:
            found.sort(key=lambda h: h.id)
        return found

    def of_kind(self, kind: str) -> Sequence[CoveredZone]:
        return [z for z in self.zones if z.hit.kind == kind]
