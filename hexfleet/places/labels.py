"""Naming a position by the nearest place (pure): "Alexanderplatz, 60 m".

A web process keeps every active place in a ``PlaceIndex``: H3 cells at a resolution chosen
from the radius, each holding the places within reach of it, so a lookup reads the few places
of one cell (a few microseconds) and never touches the database. Places are few (hundreds to a
few thousand), so the whole index is rebuilt when any changes (hexfleet.places.live).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import h3.api.basic_int as h3i

from hexfleet.geo import EARTH_RADIUS_M, cell_of, haversine_m, ring_for_radius

M_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180  # of latitude, along a meridian
# Closer than this, a position is at the place: its name alone.
AT_PLACE_M = 25
PLACE = "place"
GEOCODER = "geocoder"


@dataclass(frozen=True)
class LabelPlace:
    """What the index keeps of a place."""

    id: int
    name: str
    category: str
    lat: float
    lng: float


@dataclass(frozen=True)
class Label:
    """A position's name: the nearest place (with its category and distance), or the geocoder's
    address (no category; the distance to an address is not known)."""

    name: str
    category: str | None
    distance_m: int | None
    source: str = PLACE

    @property
    def text(self) -> str:
        return label_text(self.name, self.distance_m)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "category": self.category,
            "distance_m": self.distance_m,
            "text": self.text,
            "source": self.source,
        }


def label_text(name: str, distance_m: float | None) -> str:
    """The name alone at the place (within AT_PLACE_M), else with the distance: to 10 m, or to
    0.1 km from 1 km on."""
    if distance_m is None or distance_m <= AT_PLACE_M:
        return name
    if distance_m < 995:
        return f"{name}, {math.floor(distance_m / 10 + 0.5) * 10} m"
    return f"{name}, {distance_m / 1000:.1f} km"


def resolution_for(radius_m: float) -> int:
    """The finest H3 resolution whose neighbouring cells cover ``radius_m`` around any point of a
    cell (k = 2, 19 cells): finer, more cells to read; coarser, more places per cell."""
    for resolution in range(15, -1, -1):
        if ring_for_radius(radius_m, resolution) <= 2:
            return resolution
    return 0


def _valid(lat: float, lng: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180


def nearest(lat: float, lng: float, places: Iterable[LabelPlace], radius_m: float) -> Label | None:
    """The nearest of ``places`` within ``radius_m`` (inclusive); a tie goes to the name first in
    alphabetical order, then the older place. Reads every place: the index does the same faster."""
    if not _valid(lat, lng):
        return None
    best_key: tuple[float, str, int] | None = None
    best: LabelPlace | None = None
    # No two points are nearer than their difference in latitude: a cheap test before the sine.
    max_dlat = radius_m / M_PER_DEGREE
    for place in places:
        if abs(place.lat - lat) > max_dlat:
            continue
        distance = haversine_m(lat, lng, place.lat, place.lng)
        if distance > radius_m:
            continue
        key = (distance, place.name.casefold(), place.id)
        if best_key is None or key < best_key:
            best_key, best = key, place
    if best is None or best_key is None:
        return None
    return Label(best.name, best.category, round(best_key[0]))


class PlaceIndex:
    """Active places by H3 cell, for ``nearest`` in a few microseconds. Each place is filed under
    every cell within reach of its own (19 of them), so a lookup reads one cell: the point's.
    (Reading the 19 cells around the point instead cost 7 µs of grid_disk a lookup.) Immutable: a
    change of places builds a new index, which replaces the old one in one assignment."""

    def __init__(self, places: Iterable[LabelPlace], radius_m: float) -> None:
        self.radius_m = radius_m
        self.resolution = resolution_for(radius_m)
        k = ring_for_radius(radius_m, self.resolution)
        cells: dict[int, list[LabelPlace]] = defaultdict(list)
        count = 0
        for place in places:
            if _valid(place.lat, place.lng):
                for cell in h3i.grid_disk(cell_of(place.lat, place.lng, self.resolution), k):
                    cells[cell].append(place)
                count += 1
        self._cells = dict(cells)
        self.size = count

    def nearest(self, lat: float, lng: float) -> Label | None:
        if not self._cells or not _valid(lat, lng):
            return None
        near = self._cells.get(cell_of(lat, lng, self.resolution))
        return nearest(lat, lng, near, self.radius_m) if near else None
