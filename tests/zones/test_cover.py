"""The H3 cover (pure): it agrees with the exact test on 100,000 random points over 200 zones of
every shape (holes, multipolygons, circles, a city-sized outline), and small tables for edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from hexfleet.devtools.bench.zones import CENTRE, city_zones, index_of
from hexfleet.zones import cover
from hexfleet.zones.cover import ZoneIndex
from hexfleet.zones.geometry import EARTH_RADIUS_M, Shape, parse


def exact(shapes: list[Shape], lats: np.ndarray, lngs: np.ndarray) -> list[list[int]]:
    """The exact answer per point, vectorised: shapely for areas, haversine for circles."""
    inside = np.zeros((len(shapes), len(lats)), dtype=bool)
    for i, shape in enumerate(shapes):
        if shape.circle is None:
            inside[i] = shapely.intersects_xy(shape.area, lngs, lats)
        else:
            c = shape.circle
            p1, p2 = math.radians(c.lat), np.radians(lats)
            a = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(np.radians(lngs - c.lng) / 2) ** 2
            inside[i] = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a))) <= c.radius_m
    return [list(np.flatnonzero(inside[:, j]) + 1) for j in range(len(lats))]


def test_the_cover_agrees_with_the_exact_test_on_100k_points():
    shapes = city_zones(200, seed=18)
    index = index_of(shapes)
    assert index.stats.zones == 200 and index.stats.inner_cells > 0 and index.stats.boundary_cells > 0
    rng = np.random.default_rng(18)
    n = 100_000
    # Half spread over the area, half within a few metres of a zone's vertices (where covers go wrong).
    lats = rng.uniform(CENTRE[0] - 0.25, CENTRE[0] + 0.25, n)
    lngs = rng.uniform(CENTRE[1] - 0.4, CENTRE[1] + 0.4, n)
    vertices = np.array([xy for s in shapes for xy in shapely.get_coordinates(s.area)])
    picks = vertices[rng.integers(0, len(vertices), n // 2)]
    lngs[: n // 2] = picks[:, 0] + rng.normal(0, 0.00005, n // 2)  # ~5 m
    lats[: n // 2] = picks[:, 1] + rng.normal(0, 0.00005, n // 2)
    want = exact(shapes, lats, lngs)
    got = [[h.id for h in index.zones_at(float(a), float(b))] for a, b in zip(lats, lngs, strict=True)]
    wrong = [(lats[i], lngs[i], got[i], want[i]) for i in range(n) if got[i] != want[i]]
    assert wrong == []
    assert sum(1 for w in want if w) > n // 4  # the points do land in zones


@pytest.mark.parametrize(
    ("lat", "lng", "ids"),
    [
        (0.5, 0.5, [1]),
        (0.5, 0.5 + 1e-12, [1]),
        (0.25, 0.25, [1, 2]),  # overlapping zones: both, by id
        (0.0, 0.0, [1, 2]),  # a shared vertex
        (1.0, 0.5, [1]),  # on the edge
        (1.0000001, 0.5, []),
        (0.5, 0.5005, [1]),
        (95.0, 0.0, []),  # out of range: no zone, no error
        (0.0, 200.0, []),
    ],
)
def test_lookup_table(lat, lng, ids):
    square = parse({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]})
    corner = parse({"type": "Polygon", "coordinates": [[[0, 0], [0.3, 0], [0.3, 0.3], [0, 0.3], [0, 0]]]})
    index = index_of([square, corner])
    assert [h.id for h in index.zones_at(lat, lng)] == ids


def test_an_empty_index_answers_nothing():
    assert ZoneIndex(()).zones_at(52.5, 13.4) == [] and len(ZoneIndex(())) == 0


def test_inner_cells_are_coarse_where_they_can_be():
    big = parse({"type": "Circle", "center": [13.4, 52.5], "radius_m": 30_000})
    inner, boundary, _ = cover.cover(big)
    resolutions = {cover.h3i.get_resolution(c) for c in inner}
    assert min(resolutions) < cover.RESOLUTION  # a 30 km circle is mostly a few big cells
    assert {cover.h3i.get_resolution(c) for c in boundary} == {cover.RESOLUTION}
