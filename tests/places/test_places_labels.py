"""Nearest-place labels (pure): the radius edge, ties, inactive places, the index against a plain search."""

from __future__ import annotations

import math
import random

import pytest

from hexfleet.geo import haversine_m
from hexfleet.places.labels import Label, LabelPlace, PlaceIndex, label_text, nearest, resolution_for
from hexfleet.settings import Settings, SettingsError

ALEX = LabelPlace(1, "Alexanderplatz", "landmark", 52.5219, 13.4132)
HBF = LabelPlace(2, "Berlin Hauptbahnhof", "station", 52.5251, 13.3694)
M_PER_DEG_LAT = 111_195.0  # on hexfleet.geo's sphere


def north_of(place: LabelPlace, metres: float) -> tuple[float, float]:
    return place.lat + metres / M_PER_DEG_LAT, place.lng


@pytest.mark.parametrize(
    ("name", "distance", "text"),
    [("Alexanderplatz", None, "Alexanderplatz"), ("Alexanderplatz", 0, "Alexanderplatz"),
     ("Alexanderplatz", 25, "Alexanderplatz"), ("Alexanderplatz", 25.4, "Alexanderplatz, 30 m"),
     ("Alexanderplatz", 60, "Alexanderplatz, 60 m"), ("Alexanderplatz", 64.9, "Alexanderplatz, 60 m"),
     ("Alexanderplatz", 65, "Alexanderplatz, 70 m"), ("Alexanderplatz", 994, "Alexanderplatz, 990 m"),
     ("Alexanderplatz", 995, "Alexanderplatz, 1.0 km"), ("Alexanderplatz", 1460, "Alexanderplatz, 1.5 km")],
)  # fmt: skip
def test_label_text(name, distance, text):
    assert label_text(name, distance) == text


@pytest.mark.parametrize("index", [False, True], ids=["plain", "index"])
@pytest.mark.parametrize(
    ("metres", "found"),
    [(0, True), (60, True), (149, True), (151, False), (500, False)],
)
def test_the_radius_edge(index, metres, found):
    lat, lng = north_of(ALEX, metres)
    label = PlaceIndex([ALEX], 150).nearest(lat, lng) if index else nearest(lat, lng, [ALEX], 150)
    if not found:
        assert label is None
        return
    assert label == Label("Alexanderplatz", "landmark", round(haversine_m(lat, lng, ALEX.lat, ALEX.lng)))
    assert abs(label.distance_m - metres) <= 1


def test_exactly_at_the_radius_counts():
    lat, lng = north_of(ALEX, 100)
    exact = haversine_m(lat, lng, ALEX.lat, ALEX.lng)
    assert nearest(lat, lng, [ALEX], exact) is not None
    assert nearest(lat, lng, [ALEX], exact - 0.001) is None


def test_the_nearest_wins():
    near = LabelPlace(3, "Zoo Entrance", "landmark", *north_of(ALEX, 40))
    lat, lng = north_of(ALEX, 30)  # 30 m from Alexanderplatz, 10 m from the entrance
    assert PlaceIndex([ALEX, near, HBF], 150).nearest(lat, lng).name == "Zoo Entrance"


def test_a_tie_goes_to_the_name_first_in_order_then_the_older_place():
    twin_b = LabelPlace(5, "B place", "hotel", ALEX.lat, ALEX.lng)
    twin_a = LabelPlace(9, "a place", "venue", ALEX.lat, ALEX.lng)
    older = LabelPlace(4, "a place", "venue", ALEX.lat, ALEX.lng)
    index = PlaceIndex([twin_b, twin_a, older], 150)
    label = index.nearest(*north_of(ALEX, 10))
    assert (label.name, label.category) == ("a place", "venue")
    assert nearest(*north_of(ALEX, 10), [twin_b, twin_a, older], 150) == label
    assert nearest(*north_of(ALEX, 10), [twin_b, older, twin_a], 150) == label  # not by order given


def test_an_empty_index_names_nothing():
    assert PlaceIndex([], 150).nearest(ALEX.lat, ALEX.lng) is None


@pytest.mark.parametrize("where", [(math.nan, 13.4), (52.5, math.inf), (91.0, 13.4), (52.5, -181.0)])
def test_impossible_positions_have_no_label(where):
    assert PlaceIndex([ALEX], 150).nearest(*where) is None
    assert nearest(*where, [ALEX], 150) is None


@pytest.mark.parametrize("radius", [10, 25, 150, 700, 2000])
def test_the_index_agrees_with_reading_every_place(radius):
    """Random places and points around Berlin (and across a cell edge or two): the index finds what
    reading every place finds, at every radius the setting allows."""
    rng = random.Random(radius)
    places = [
        LabelPlace(i, f"P{i}", "other", 52.52 + rng.uniform(-0.05, 0.05), 13.405 + rng.uniform(-0.08, 0.08))
        for i in range(400)
    ]
    index = PlaceIndex(places, radius)
    for _ in range(500):
        lat, lng = 52.52 + rng.uniform(-0.05, 0.05), 13.405 + rng.uniform(-0.08, 0.08)
        assert index.nearest(lat, lng) == nearest(lat, lng, places, radius)


@pytest.mark.parametrize(("radius", "resolution"), [(10, 12), (25, 11), (150, 9), (300, 8), (2000, 6)])
def test_resolution_for_radius(radius, resolution):
    assert resolution_for(radius) == resolution


def test_the_radius_setting_is_read_and_bounded():
    assert Settings.from_env({}).place_label_radius_m == 150.0
    assert Settings.from_env({"PLACE_LABEL_RADIUS_M": "80"}).place_label_radius_m == 80.0
    for bad in ("5", "2001", "far"):
        with pytest.raises(SettingsError, match="PLACE_LABEL_RADIUS_M"):
            Settings.from_env({"PLACE_LABEL_RADIUS_M": bad})
