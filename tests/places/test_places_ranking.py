"""Search ranking (pure): how well the text matches first, then distance from `near`."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hexfleet.geo import haversine_m
from hexfleet.places.ranking import CLOSE, EXACT, LOOSE, MISSPELT, PREFIX, WORD, match_tier, normalise_query, rank


@dataclass(frozen=True)
class P:
    id: int
    name: str
    lat: float
    lng: float
    aliases: tuple[str, ...] = ()


CENTRE = (52.52, 13.405)


@pytest.mark.parametrize(
    ("query", "texts", "similarity", "tier"),
    [
        ("alexanderplatz", ["Alexanderplatz"], 1.0, EXACT),
        ("alex", ["Alexanderplatz", "Alex"], 1.0, EXACT),  # an alias, as typed
        ("alex", ["Alexanderplatz"], 1.0, PREFIX),
        ("hbf", ["Berlin Hauptbahnhof", "Hbf Berlin"], 1.0, PREFIX),  # an alias's start
        ("tor", ["Brandenburger Tor"], 1.0, WORD),
        ("terminal", ["BER Airport Terminal 1"], 1.0, WORD),
        ("1", ["BER Terminal 1"], 1.0, WORD),
        ("campus-mitte", ["Charité Campus-Mitte"], 1.0, WORD),
        ("rplatz", ["Alexanderplatz"], 0.5, LOOSE),  # inside a word is no start
        ("alexandrplatz", ["Alexanderplatz"], 0.71, MISSPELT),  # a typo of the whole name
        ("alexandrplatz", ["Bahnhof Alexanderplatz"], 0.71, CLOSE),  # of a word of it
        ("hauptbanhof", ["Berlin Hauptbahnhof", "Hauptbahnhof"], 0.67, MISSPELT),  # of an alias
        ("alexandrplatz", ["Alexanderplatz"], 0.59, LOOSE),  # too unlike
        ("", ["Alexanderplatz"], 0.0, LOOSE),
        ("a.b", ["axb"], 0.0, LOOSE),  # the query is text, not a pattern
        ("hotel  adlon", ["Hotel  Adlon Kempinski"], 1.0, PREFIX),  # white space as typed, or as stored
        ("hotel adlon", ["Hotel Adlon"], 1.0, EXACT),
    ],
)
def test_match_tier(query, texts, similarity, tier):
    assert match_tier(normalise_query(query), texts, similarity) == tier


def test_query_is_normalised_and_bounded():
    assert normalise_query("  Hotel\tADLON  ") == "hotel adlon"
    assert len(normalise_query("x" * 500)) == 100


def test_better_match_beats_nearer_place():
    near = P(1, "Café Terminal", 52.5201, 13.4051)  # a word starts with it, next door
    far = P(2, "Terminal 1", 52.36, 13.51)  # the name starts with it, 19 km away
    ranked = rank([(near, 1.0), (far, 1.0)], "terminal", CENTRE, 10)
    assert [r.place.id for r in ranked] == [2, 1]


def test_within_a_tier_nearest_first():
    places = [P(1, "Terminal 5", 52.39, 13.52), P(2, "Terminal 1", 52.36, 13.51), P(3, "Terminal 2", 52.37, 13.51)]
    ranked = rank([(p, 1.0) for p in places], "Ter", CENTRE, 10)
    assert [r.place.id for r in ranked] == [1, 3, 2]
    assert ranked[0].distance_m == round(haversine_m(*CENTRE, 52.39, 13.52))  # metres from near


def test_near_elsewhere_changes_the_order():
    places = [P(1, "Hotel North", 52.60, 13.40), P(2, "Hotel South", 52.40, 13.40)]
    north = rank([(p, 1.0) for p in places], "hotel", (52.61, 13.40), 10)
    south = rank([(p, 1.0) for p in places], "hotel", (52.39, 13.40), 10)
    assert [r.place.id for r in north] == [1, 2] and [r.place.id for r in south] == [2, 1]


def test_ties_by_name_then_id_and_limit():
    places = [P(3, "b", 52.52, 13.405), P(2, "a", 52.52, 13.405), P(1, "a", 52.52, 13.405)]
    ranked = rank([(p, 0.0) for p in places], "", CENTRE, 2)
    assert [r.place.id for r in ranked] == [1, 2]


def test_no_near_no_distance():
    [ranked] = rank([(P(1, "x", 1.0, 2.0), 1.0)], "x", None, 5)
    assert ranked.distance_m is None and ranked.tier == EXACT


def test_a_misspelt_name_beats_a_misspelt_word_nearer():
    square = P(1, "Alexanderplatz", 52.5219, 13.4132)
    station = P(2, "Bahnhof Alexanderplatz", 52.5201, 13.4051)
    ranked = rank([(station, 0.71), (square, 0.71)], "Alexandrplatz", CENTRE, 10)
    assert [r.place.id for r in ranked] == [1, 2]


def test_a_close_spelling_beats_a_loose_one_nearer():
    close = P(1, "Alexanderplatz", 52.5219, 13.4132)
    loose = P(2, "Alexa Shopping", 52.5197, 13.4150)
    ranked = rank([(loose, 0.55), (close, 0.71)], "Alexandrplatz", CENTRE, 10)
    assert [r.place.id for r in ranked] == [1, 2]
