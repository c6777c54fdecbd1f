import math
import random

import pytest

from hexfleet.geo import cell_of, cells_within, haversine_m, in_bbox, parse_bbox


@pytest.mark.parametrize(
    ("a", "b", "metres"),
    [
        ((52.5200, 13.4050), (52.5200, 13.4050), 0),
        ((0, 0), (0, 1), 111_195),
        ((52.5200, 13.4050), (48.8566, 2.3522), 877_460),  # Berlin - Paris
        ((-33.8688, 151.2093), (51.5074, -0.1278), 16_993_900),  # Sydney - London
    ],
)
def test_haversine(a, b, metres):
    assert haversine_m(*a, *b) == pytest.approx(metres, rel=1e-3, abs=1)


@pytest.mark.parametrize(
    ("lat", "lng", "radius"), [(52.52, 13.405, 500), (52.52, 13.405, 3000), (-1.29, 36.82, 1500), (64.1, -21.9, 2000)]
)
def test_cells_within_cover_every_point_in_the_radius(lat, lng, radius):
    cells = set(cells_within(lat, lng, radius, 9))
    rng = random.Random(7)
    for _ in range(500):
        # A random point at up to `radius` metres, in a random direction.
        d, bearing = radius * math.sqrt(rng.random()), rng.random() * 2 * math.pi
        dlat = d * math.cos(bearing) / 111_195
        dlng = d * math.sin(bearing) / (111_195 * math.cos(math.radians(lat)))
        point = (lat + dlat, lng + dlng)
        if haversine_m(lat, lng, *point) <= radius:
            assert cell_of(*point, 9) in cells


@pytest.mark.parametrize(
    ("text", "point", "inside"),
    [
        ("13.3,52.4,13.5,52.6", (52.5, 13.4), True),
        ("13.3,52.4,13.5,52.6", (52.7, 13.4), False),
        ("179,-10,-179,10", (0, 179.5), True),  # crosses the antimeridian
        ("179,-10,-179,10", (0, 0), False),
    ],
)
def test_bbox(text, point, inside):
    assert in_bbox(*point, parse_bbox(text)) is inside


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "0,10,1,5", "0,0,200,1"])
def test_bad_bbox(text):
    with pytest.raises(ValueError, match="bbox"):
        parse_bbox(text)
