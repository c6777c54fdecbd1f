"""What a place may hold, and ride labels' text rules (pure)."""

from __future__ import annotations

import pytest

from hexfleet.places.rules import MAX_ALIASES, MAX_LABEL, MAX_NAME, PlaceIn, check_place, clean_label

GOOD = {
    "name": "  Alexanderplatz ",
    "category": "Landmark",
    "address": "Alexanderplatz,\t10178 Berlin",
    "lat": "52.5219",
    "lng": 13.4132,
    "aliases": "Alex | Alexanderplatz|alex",
    "active": "",
}


def test_a_good_place_is_cleaned():
    place, errors = check_place(GOOD)
    assert errors == {}
    # White space collapsed, category lower case, the name and a repeated alias once only.
    assert place == PlaceIn("Alexanderplatz", "landmark", "Alexanderplatz, 10178 Berlin", 52.5219, 13.4132, ("Alex",))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "   "),
        ("name", None),
        ("name", 12),
        ("name", "A" * (MAX_NAME + 1)),
        ("name", "Bar\x00"),
        ("name", "Hotel \u202eAdlon"),  # a right-to-left override: reads as another name
        ("name", "Bad \ud800"),
        ("category", "castle"),
        ("category", None),
        ("address", "x" * 301),
        ("address", ["a list"]),
        ("lat", "91"),
        ("lat", "NaN"),
        ("lat", "inf"),
        ("lat", ""),
        ("lat", True),
        ("lat", "52,52"),
        ("lng", "-180.5"),
        ("lng", None),
        ("lng", "1e400"),
        ("aliases", "|".join(f"a{i}" for i in range(MAX_ALIASES + 1))),
        ("aliases", ["ok", 3]),
        ("aliases", ["has | bar"]),
        ("aliases", {"a": 1}),
        ("aliases", ["\x07bell"]),
        ("active", "maybe"),
        ("active", 2),
    ],
)
def test_each_bad_field_is_named(field, value):
    place, errors = check_place({**GOOD, field: value})
    assert place is None
    assert list(errors) == [field], errors
    assert errors[field].endswith(".")


@pytest.mark.parametrize(
    ("raw", "active"),
    [("", True), (None, True), ("yes", True), ("TRUE", True), ("1", True), (True, True), ("no", False),
     ("false", False), ("0", False), (False, False), (" Off ", False)],
)  # fmt: skip
def test_active_is_a_spreadsheet_yes_or_no(raw, active):
    place, _ = check_place({**GOOD, "active": raw})
    assert place is not None and place.active is active


def test_every_problem_at_once():
    _, errors = check_place({"name": "", "category": "x", "lat": "x", "lng": "y"})
    assert set(errors) == {"name", "category", "lat", "lng"}


def test_scripts_keep_their_joiners():
    # Persian writes some words with a zero-width non-joiner: a name, not a trick.
    place, errors = check_place({**GOOD, "name": "می\u200cخواهم"})
    assert errors == {} and place.name == "می\u200cخواهم"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [(None, None), ("", None), ("   ", None), (" Hauptbahnhof,\n Berlin ", "Hauptbahnhof, Berlin"),
     ("A" * MAX_LABEL, "A" * MAX_LABEL)],
)  # fmt: skip
def test_labels_are_cleaned(raw, cleaned):
    assert clean_label(raw) == cleaned


@pytest.mark.parametrize("raw", ["A" * (MAX_LABEL + 1), "x\x00", "\u2066hidden\u2069", "\x1b[31mred"])
def test_labels_that_cannot_be_shown_are_refused(raw):
    with pytest.raises(ValueError):
        clean_label(raw)
