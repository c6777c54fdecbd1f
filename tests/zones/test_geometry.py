"""Zone geometry (pure): what is accepted, what a 422 says, and the exact point test: holes,
multipolygons, points on edges and vertices (inside), circles (haversine)."""

from __future__ import annotations

import pytest

from hexfleet.geo import haversine_m
from hexfleet.zones import geometry
from hexfleet.zones.geometry import GeometryError, parse

SQUARE = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]]
HOLE = [[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0], [4.0, 4.0]]
DONUT = parse({"type": "Polygon", "coordinates": [SQUARE, HOLE]})
TWO = parse(
    {
        "type": "MultiPolygon",
        "coordinates": [
            [SQUARE],
            [[[20.0, 0.0], [30.0, 0.0], [25.0, 8.0], [20.0, 0.0]]],
        ],
    }
)
CIRCLE = parse({"type": "Circle", "center": [13.4, 52.5], "radius_m": 1000})


@pytest.mark.parametrize(
    ("shape", "lat", "lng", "inside"),
    [
        # (lat, lng): positions in GeoJSON are [lng, lat]
        (DONUT, 1.0, 1.0, True),
        (DONUT, 5.0, 5.0, False),  # in the hole
        (DONUT, 11.0, 5.0, False),
        (DONUT, 0.0, 5.0, True),  # on the outline's edge: inside
        (DONUT, 0.0, 0.0, True),  # on a vertex: inside
        (DONUT, 10.0, 10.0, True),  # the opposite vertex
        (DONUT, 4.0, 5.0, True),  # on the hole's edge: the polygon's boundary, inside
        (DONUT, 4.0, 4.0, True),  # the hole's vertex
        (DONUT, 4.000001, 5.0, False),  # just inside the hole
        (DONUT, -0.000001, 5.0, False),  # just outside the outline
        (TWO, 5.0, 5.0, True),
        (TWO, 4.0, 25.0, True),  # the triangle
        (TWO, 5.0, 15.0, False),  # between the two
        (TWO, 8.0, 25.0, True),  # the triangle's apex
        (TWO, 0.0, 20.0, True),
        (CIRCLE, 52.5, 13.4, True),
        (CIRCLE, 52.5 + 0.0089, 13.4, True),  # ~990 m north
        (CIRCLE, 52.5 + 0.0091, 13.4, False),  # ~1,012 m north
        (CIRCLE, 52.5, 13.4 + 0.0147, True),  # ~995 m east
        (CIRCLE, 52.5, 13.4 + 0.0149, False),  # ~1,009 m east
    ],
)
def test_point_in_zone(shape, lat, lng, inside):
    assert shape.covers(lat, lng) is inside


def test_a_circle_is_exact_on_its_radius():
    lat, lng = geometry.destination(52.5, 13.4, 1.0, 1000.0)
    assert haversine_m(52.5, 13.4, lat, lng) == pytest.approx(1000.0, abs=1e-6)
    inner = geometry.destination(52.5, 13.4, 1.0, 999.99)
    outer = geometry.destination(52.5, 13.4, 1.0, 1000.01)
    assert CIRCLE.covers(*inner) and not CIRCLE.covers(*outer)


def _poly(ring):
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (None, "must be a GeoJSON object"),
        ([], "must be a GeoJSON object"),
        ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "not LineString"),
        ({"type": "x" * 100}, "not missing"),
        ({"type": "Polygon"}, "must be a list of rings"),
        ({"type": "Polygon", "coordinates": []}, "must be a list of rings"),
        (_poly([[0, 0], [1, 0], [1, 1], [0, 1]]), "coordinates[0] is not closed"),
        (_poly([[0, 0], [1, 0], [0, 0]]), "coordinates[0] has 3 positions"),
        (_poly([[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]), "self-intersection at [1, 1]"),
        (_poly([[0, 0], [1, 0], [2, 0], [0, 0]]), "not a valid area"),  # no area: a line
        (_poly([[0, 0], [1, 0], [1, 1], ["a", 1], [0, 0]]), "coordinates[0][3][0] (longitude) must be a number"),
        (_poly([[0, 0], [1, 0], [1, True], [0, 0]]), "coordinates[0][2][1] (latitude) must be a number"),
        (_poly([[0, 0], [1, 0], [1, 1, 1, 1], [0, 0]]), "must be a position [lng, lat]"),
        (_poly([[0, 0], [1, 0], [1, 86], [0, 0]]), "latitude 86 is not between -85 and 85"),
        (_poly([[0, 0], [181, 0], [1, 1], [0, 0]]), "longitude 181 is not between -180 and 180"),
        (_poly([[-170, 0], [170, 0], [170, 1], [-170, 0]]), "antimeridian"),
        ({"type": "Polygon", "coordinates": [SQUARE, [[20, 20], [21, 20], [21, 21], [20, 20]]]}, "hole lies outside"),
        ({"type": "MultiPolygon", "coordinates": [[SQUARE], [SQUARE]]}, "polygons overlap"),
        ({"type": "MultiPolygon", "coordinates": [[SQUARE], [[[1, 1], [2, 1], [1, 1]]]]}, "coordinates[1][0] has 3"),
        (_poly([[float(i % 2), i / 10] for i in range(5_001)]), "too many vertices: a zone has at most 5000"),
        ({"type": "Circle", "center": [13.4, 52.5]}, "needs radius_m"),
        ({"type": "Circle", "center": [13.4, 52.5], "radius_m": 5}, "between 10 and 100000"),
        ({"type": "Circle", "center": [13.4, 52.5], "radius_m": float("nan")}, "radius_m must be a number"),
        ({"type": "Circle", "center": [52.5], "radius_m": 50}, "center must be a position"),
        ({"type": "Circle", "center": [179.999, 0], "radius_m": 5000}, "antimeridian"),
        ({"type": "Circle", "center": [0, 84.99], "radius_m": 5000}, "past latitude 85"),
        ({"type": "Circle", "center": [0, 0], "radius_m": 50, "color": "red"}, "not color"),
    ],
)
def test_bad_geometries_say_what_is_wrong(data, words):
    with pytest.raises(GeometryError) as caught:
        parse(data)
    assert words in str(caught.value)


def test_a_geometry_is_normalised():
    shape = parse(_poly([[13, 52, 40.5], [14, 52, 0], [14, 53, 0], [13, 52, 40.5]]))  # altitude dropped
    assert shape.geojson == _poly([[13.0, 52.0], [14.0, 52.0], [14.0, 53.0], [13.0, 52.0]])
    assert shape.vertices == 4
    assert CIRCLE.geojson == {"type": "Circle", "center": [13.4, 52.5], "radius_m": 1000.0}


def test_features_carry_circles_as_points_with_a_radius():
    geo, extra = geometry.as_feature_geometry(CIRCLE.geojson)
    assert geo == {"type": "Point", "coordinates": [13.4, 52.5]} and extra == {"radius_m": 1000.0}
    assert geometry.feature_geometry(geo, extra) == CIRCLE.geojson
    with pytest.raises(GeometryError, match="radius_m"):
        geometry.feature_geometry(geo, {})
