"""A zone's shape (pure): GeoJSON in, checked, and the exact point test.

Accepted geometries (positions are ``[lng, lat]`` as in GeoJSON; an altitude is dropped):
- ``Polygon`` and ``MultiPolygon``, holes included: every ring closed (first position = last),
  at least 4 positions, no self-intersection, no hole outside its shell, no antimeridian crossing;
- a circle, ``{"type": "Circle", "center": [lng, lat], "radius_m": r}``. GeoJSON has no circle
  (RFC 7946 leaves it out); a centre and a radius is what the map draws and what an operator
  types, so that is what is stored and served. In a FeatureCollection (import and export) a
  circle is a ``Point`` with a ``radius_m`` property, the convention drawing tools use.

A point on an edge or a vertex is inside (shapely's ``covers``, not ``contains``): a pickup on
the line of a service area is served. The edge of a hole is the polygon's boundary too, so a
point on it is inside. A circle's exact test is the haversine distance to its centre ≤ radius.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.validation import explain_validity

from hexfleet.geo import haversine_m

# Vertices of one zone, all rings together: a city's outline from OpenStreetMap simplified to
# ~10 m has a few thousand; more costs memory and build time without better answers.
MAX_VERTICES = 5_000
MIN_RADIUS_M = 10.0
MAX_RADIUS_M = 100_000.0
# Zones nearer the poles than this are refused: the cover converts metres to degrees of
# longitude, which grow without bound there (and nobody dispatches rides on the ice).
MAX_ABS_LAT = 85.0
# A circle drawn as a polygon (for the cover's cell tests and for maps that cannot draw circles).
CIRCLE_SEGMENTS = 64
EARTH_RADIUS_M = 6_371_008.8
KINDS = ("Polygon", "MultiPolygon", "Circle")


class GeometryError(ValueError):
    """What is wrong with a geometry, in words an operator can act on."""


@dataclass(frozen=True)
class Circle:
    lat: float
    lng: float
    radius_m: float

    def to_geojson(self) -> dict:
        return {"type": "Circle", "center": [self.lng, self.lat], "radius_m": self.radius_m}


@dataclass(frozen=True)
class Shape:
    """A checked zone geometry: its GeoJSON (normalised) and the shapely geometry of its area.

    For a circle, ``area`` is a polygon around it (CIRCLE_SEGMENTS sides, its vertices on the
    circle): close enough for maps and coverage, never used for the exact test."""

    geojson: dict
    area: Polygon | MultiPolygon
    circle: Circle | None = None

    @property
    def vertices(self) -> int:
        return 0 if self.circle else vertex_count(self.geojson)

    def covers(self, lat: float, lng: float) -> bool:
        """The exact test: is the point inside (edges and vertices included)?"""
        if self.circle is not None:
            return haversine_m(self.circle.lat, self.circle.lng, lat, lng) <= self.circle.radius_m
        return bool(shapely.intersects_xy(self.area, lng, lat))


def vertex_count(geojson: dict) -> int:
    kind = geojson.get("type")
    if kind == "Polygon":
        return sum(len(ring) for ring in geojson["coordinates"])
    if kind == "MultiPolygon":
        return sum(len(ring) for polygon in geojson["coordinates"] for ring in polygon)
    return 0


def _number(value: Any, where: str) -> float:
    # bool is an int in Python, never a coordinate.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GeometryError(f"{where} must be a number")
    return float(value)


def _position(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or not 2 <= len(value) <= 3:
        raise GeometryError(f"{where} must be a position [lng, lat]")
    lng, lat = _number(value[0], f"{where}[0] (longitude)"), _number(value[1], f"{where}[1] (latitude)")
    if not -180 <= lng <= 180:
        raise GeometryError(f"{where}: longitude {lng:g} is not between -180 and 180 (positions are [lng, lat])")
    if not -MAX_ABS_LAT <= lat <= MAX_ABS_LAT:
        raise GeometryError(f"{where}: latitude {lat:g} is not between -{MAX_ABS_LAT:g} and {MAX_ABS_LAT:g}")
    return lng, lat


def _ring(value: Any, where: str, budget: list[int]) -> list[tuple[float, float]]:
    if not isinstance(value, list | tuple):
        raise GeometryError(f"{where} must be a list of positions")
    budget[0] -= len(value)
    if budget[0] < 0:
        raise GeometryError(f"too many vertices: a zone has at most {MAX_VERTICES} (simplify the outline)")
    ring = [_position(p, f"{where}[{i}]") for i, p in enumerate(value)]
    if len(ring) < 4:
        raise GeometryError(f"{where} has {len(ring)} positions: a ring needs at least 4 (the last repeats the first)")
    if ring[0] != ring[-1]:
        raise GeometryError(f"{where} is not closed: its last position must repeat the first")
    return ring


def _rings(value: Any, where: str, budget: list[int]) -> list[list[tuple[float, float]]]:
    if not isinstance(value, list | tuple) or not value:
        raise GeometryError(f"{where} must be a list of rings (the outline, then any holes)")
    return [_ring(r, f"{where}[{i}]", budget) for i, r in enumerate(value)]


def _valid(geometry: Polygon | MultiPolygon, what: str) -> None:
    if not geometry.is_valid:
        reason = explain_validity(geometry)  # "Self-intersection[13.4 52.5]", "Hole lies outside shell[...]"
        raise GeometryError(f"{what} is not a valid area: {_readable(reason)}")
    if geometry.area <= 0:
        raise GeometryError(f"{what} encloses no area")
    min_lng, _, max_lng, _ = geometry.bounds
    if max_lng - min_lng > 180:
        raise GeometryError(f"{what} spans more than 180° of longitude: split a zone that crosses the antimeridian")


def _readable(reason: str) -> str:
    # GEOS says "Self-intersection[13.4 52.5]": name the place as [lng, lat], like the input.
    name, _, where = reason.partition("[")
    where = where.rstrip("]").strip()
    if not where:
        return name.lower()
    parts = where.split()
    return f"{name.lower()} at [{', '.join(parts[:2])}]"


def _circle(data: dict) -> Shape:
    unknown = set(data) - {"type", "center", "radius_m"}
    if unknown:
        raise GeometryError(f"a Circle has center and radius_m only, not {', '.join(sorted(unknown))}")
    lng, lat = _position(data.get("center"), "center")
    radius = data.get("radius_m")
    if radius is None:
        raise GeometryError("a Circle needs radius_m (metres)")
    radius = _number(radius, "radius_m")
    if not MIN_RADIUS_M <= radius <= MAX_RADIUS_M:
        raise GeometryError(f"radius_m must be between {MIN_RADIUS_M:g} and {MAX_RADIUS_M:g} metres")
    circle = Circle(lat, lng, radius)
    outline = circle_outline(circle)
    min_lng, _, max_lng, _ = outline.bounds
    if min_lng < -180 or max_lng > 180:
        raise GeometryError("the circle crosses the antimeridian: move it or draw two polygons")
    if abs(lat) + math.degrees(radius / EARTH_RADIUS_M) > MAX_ABS_LAT:
        raise GeometryError(f"the circle reaches past latitude {MAX_ABS_LAT:g}")
    return Shape(circle.to_geojson(), outline, circle)


def destination(lat: float, lng: float, bearing_rad: float, distance_m: float) -> tuple[float, float]:
    """The point ``distance_m`` from (lat, lng) along a bearing (great circle), as (lat, lng)."""
    d = distance_m / EARTH_RADIUS_M
    p1, l1 = math.radians(lat), math.radians(lng)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing_rad))
    l2 = l1 + math.atan2(math.sin(bearing_rad) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), math.degrees(l2)


def circle_outline(circle: Circle, segments: int = CIRCLE_SEGMENTS) -> Polygon:
    """A polygon with its vertices on the circle (lng, lat)."""
    points = [destination(circle.lat, circle.lng, 2 * math.pi * i / segments, circle.radius_m) for i in range(segments)]
    return Polygon([(lng, lat) for lat, lng in points])


def parse(data: Any) -> Shape:
    """Check a GeoJSON geometry (or a Circle) and return its Shape; GeometryError says what is
    wrong (the first problem found, with where it is: ``coordinates[0][3]``)."""
    if not isinstance(data, dict):
        raise GeometryError("geometry must be a GeoJSON object with a type: Polygon, MultiPolygon or Circle")
    kind = data.get("type")
    if kind == "Circle":
        return _circle(data)
    if kind not in KINDS:
        shown = kind if isinstance(kind, str) and len(kind) <= 40 else "missing"
        raise GeometryError(f"geometry type must be Polygon, MultiPolygon or Circle, not {shown}")
    budget = [MAX_VERTICES]
    coordinates = data.get("coordinates")
    geometry: Polygon | MultiPolygon
    if kind == "Polygon":
        rings = _rings(coordinates, "coordinates", budget)
        geometry = Polygon(rings[0], rings[1:])
        _valid(geometry, "the polygon")
        normalised = {"type": "Polygon", "coordinates": _lists(rings)}
    else:
        if not isinstance(coordinates, list | tuple) or not coordinates:
            raise GeometryError("coordinates of a MultiPolygon must be a list of polygons")
        polygons = [_rings(p, f"coordinates[{i}]", budget) for i, p in enumerate(coordinates)]
        parts = []
        for i, rings in enumerate(polygons):
            part = Polygon(rings[0], rings[1:])
            _valid(part, f"polygon {i + 1}")
            parts.append(part)
        geometry = MultiPolygon(parts)
        _valid(geometry, "the multipolygon (its polygons overlap or touch along an edge)")
        normalised = {"type": "MultiPolygon", "coordinates": [_lists(rings) for rings in polygons]}
    shapely.prepare(geometry)  # every later covers() is a prepared test
    return Shape(normalised, geometry)


def _lists(rings: list[list[tuple[float, float]]]) -> list[list[list[float]]]:
    return [[[lng, lat] for lng, lat in ring] for ring in rings]


def feature_geometry(geometry: Any, properties: dict) -> dict:
    """A Feature's geometry as a zone geometry: a Point with a ``radius_m`` property is a circle."""
    if isinstance(geometry, dict) and geometry.get("type") == "Point":
        if "radius_m" not in properties:
            raise GeometryError("a Point is a zone only as a circle: give it a radius_m property (metres)")
        return {"type": "Circle", "center": geometry.get("coordinates"), "radius_m": properties["radius_m"]}
    return geometry


def as_feature_geometry(geojson: dict) -> tuple[dict, dict]:
    """A zone geometry for a FeatureCollection: (geometry, extra properties); a circle becomes a
    Point with ``radius_m``."""
    if geojson.get("type") == "Circle":
        return {"type": "Point", "coordinates": geojson["center"]}, {"radius_m": geojson["radius_m"]}
    return geojson, {}
