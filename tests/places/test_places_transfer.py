"""Import parsing (CSV and GeoJSON: good files, and each kind of bad row) and the export round trip (pure)."""

from __future__ import annotations

import orjson
import pytest

from hexfleet.errors import DomainError
from hexfleet.places import exports, imports
from hexfleet.places.imports import MAX_PLACES, ImportInvalid, kind_of, parse, parse_csv, parse_geojson
from hexfleet.places.rules import PlaceIn

CSV = (
    "name,category,address,lat,lng,aliases,active\r\n"
    'Berlin Hauptbahnhof,station,"Europaplatz 1, 10557 Berlin",52.5251,13.3694,Hbf|Central Station,true\r\n'
    "Alexanderplatz,landmark,,52.5219,13.4132,Alex,\r\n"
    "\r\n"
    "Old Depot,depot,,52.53,13.33,,no\r\n"
)


def test_a_good_csv():
    places = parse_csv(CSV)
    assert places == [
        PlaceIn("Berlin Hauptbahnhof", "station", "Europaplatz 1, 10557 Berlin", 52.5251, 13.3694,
                ("Hbf", "Central Station"), True),
        PlaceIn("Alexanderplatz", "landmark", "", 52.5219, 13.4132, ("Alex",), True),
        PlaceIn("Old Depot", "depot", "", 52.53, 13.33, (), False),
    ]  # fmt: skip


def test_columns_in_any_order_and_case_optional_ones_left_out():
    places = parse_csv("LNG; Name ;lat;CATEGORY\n13.4132;Alexanderplatz;52.5219;landmark\n")  # semicolons
    assert places == [PlaceIn("Alexanderplatz", "landmark", "", 52.5219, 13.4132)]


def test_a_spreadsheets_byte_order_mark_is_fine():
    assert parse(b"\xef\xbb\xbf" + CSV.encode(), "csv")[0].name == "Berlin Hauptbahnhof"


def _errors(text: str) -> list[dict]:
    with pytest.raises(ImportInvalid) as raised:
        parse_csv(text)
    assert raised.value.status == 422 and raised.value.code == "import-invalid"
    return raised.value.extra["errors"]


HEADER = "name,category,lat,lng\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [{"field": None, "error": "the file is empty: it needs a header line "
               "(name,category,address,lat,lng,aliases,active) and a line per place"}]),
        (HEADER, [{"field": None, "error": "no places in the file"}]),
        ("name,category,lat\nA,hotel,1\n", [{"line": 1, "field": None, "error": "the header lacks lng"}]),
        ("name,category,lat,lng,latitude\n", [{"line": 1, "field": None,
          "error": "unknown column 'latitude'; columns: name, category, address, lat, lng, aliases, active"}]),
        ("name,name,category,lat,lng\n", [{"line": 1, "field": None, "error": "column 'name' twice"}]),
        (HEADER + "A,hotel,52.5\n", [{"line": 2, "field": None, "error": "3 values, the header names 4"}]),
        (HEADER + "A,hotel,52.5,13.4\nB,castle,52.5,13.4\n",
         [{"line": 3, "field": "category", "error": "Choose one of airport, station, hotel, hospital, venue, "
           "depot, landmark, other."}]),
        (HEADER + "A,hotel,95,13.4\n",
         [{"line": 2, "field": "lat", "error": "Enter a number from -90 to 90 (decimal degrees, such as 52.5219)."}]),
        (HEADER + ",hotel,52.5,13.4\n",
         [{"line": 2, "field": "name", "error": "Enter the place's name (1 to 120 characters)."}]),
        (HEADER + "A,hotel,52.5,13.4\n\na,venue,52.6,13.5\n",  # the same name, another case
         [{"line": 4, "field": "name", "error": "'a' is named on line 2 already"}]),
        (HEADER + 'A,hotel,"52.5,13.4\n', [{"line": 2, "field": None, "error": "not CSV (unexpected end of data)"}]),
    ],
)  # fmt: skip
def test_each_kind_of_bad_csv_is_named(text, expected):
    assert _errors(text) == expected


def test_every_bad_row_is_listed_not_only_the_first():
    rows = "".join(f"Place {i},hotel,{'x' if i % 2 else 52.5},13.4\n" for i in range(10))
    errors = _errors(HEADER + rows)
    assert [e["line"] for e in errors] == [3, 5, 7, 9, 11]
    assert all(e["field"] == "lat" for e in errors)


def test_a_flood_of_errors_is_listed_up_to_a_hundred():
    rows = "".join(f"Place {i},castle,52.5,13.4\n" for i in range(150))
    with pytest.raises(ImportInvalid) as raised:
        parse_csv(HEADER + rows)
    assert len(raised.value.extra["errors"]) == 100 and raised.value.extra["more_errors"] == 50
    assert "150 problems (first: Line 2 (category): Choose one of" in raised.value.detail


def test_at_most_ten_thousand_places():
    rows = "".join(f"P{i},hotel,52.5,13.4\n" for i in range(MAX_PLACES + 1))
    assert _errors(HEADER + rows) == [{"field": None, "error": "more than 10,000 places: split the file"}]
    assert len(parse_csv(HEADER + rows[: rows.index(f"P{MAX_PLACES},")])) == MAX_PLACES


def test_not_utf8_is_one_clear_error():
    with pytest.raises(ImportInvalid) as raised:
        parse("name,category,lat,lng\nCafé,hotel,1,2\n".encode("latin-1"), "csv")
    assert raised.value.extra["errors"][0]["error"].startswith("the file is not UTF-8 text")


def test_too_large_and_unknown_kinds():
    with pytest.raises(ImportInvalid, match="larger than 2 MB"):
        parse(b"x" * (imports.MAX_BYTES + 1), "csv")
    with pytest.raises(DomainError) as raised:
        parse(b"x", None)
    assert raised.value.status == 415


@pytest.mark.parametrize(
    ("content_type", "filename", "kind"),
    [("text/csv; charset=utf-8", "", "csv"), ("application/geo+json", "", "geojson"),
     ("application/json", "", "geojson"), ("application/octet-stream", "places.CSV", "csv"),
     ("", "export.geojson", "geojson"),
     ("application/pdf", "x.pdf", None), ("", "", None), ("text/csv", "x.geojson", "csv")],
)  # fmt: skip
def test_kind_of(content_type, filename, kind):
    assert kind_of(content_type, filename) == kind


def feature(**props) -> dict:
    coordinates = props.pop("coordinates", [13.4132, 52.5219])
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": coordinates}, "properties": props}


def geojson(*features) -> bytes:
    return orjson.dumps({"type": "FeatureCollection", "features": list(features)})


def test_a_good_geojson():
    places = parse_geojson(
        geojson(
            feature(name="Alexanderplatz", category="landmark", aliases=["Alex"]),
            feature(name="BER Terminal 1", category="airport", aliases="BER|T1", active=False,
                    coordinates=[13.51, 52.36, 40]),
        )
    )  # fmt: skip
    assert places == [
        PlaceIn("Alexanderplatz", "landmark", "", 52.5219, 13.4132, ("Alex",), True),
        PlaceIn("BER Terminal 1", "airport", "", 52.36, 13.51, ("BER", "T1"), False),
    ]


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        ([feature(name="A", category="hotel"), {"type": "Point"}],
         [{"feature": 2, "field": None, "error": 'not a GeoJSON Feature ({"type": "Feature", ...})'}]),
        ([{**feature(name="A", category="hotel"), "geometry": {"type": "LineString", "coordinates": [[1, 2]]}}],
         [{"feature": 1, "field": "geometry", "error": "a Point is expected"}]),
        ([feature(name="A", category="hotel", coordinates=[13.4])],
         [{"feature": 1, "field": "geometry", "error": "coordinates are [longitude, latitude]"}]),
        ([feature(name="A", category="hotel", coordinates=[200, 52])],
         [{"feature": 1, "field": "lng",
           "error": "Enter a number from -180 to 180 (decimal degrees, such as 52.5219)."}]),
        ([{**feature(), "properties": None}],
         [{"feature": 1, "field": "properties", "error": "an object with name and category is expected"}]),
        ([feature(name="A", category="hotel", active="perhaps")],
         [{"feature": 1, "field": "active", "error": "Active is true or false (yes or no, 1 or 0)."}]),
        ([feature(name="A", category="hotel"), feature(name="a", category="venue")],
         [{"feature": 2, "field": "name", "error": "'a' is named on feature 1 already"}]),
    ],
)  # fmt: skip
def test_each_kind_of_bad_feature_is_named(features, expected):
    with pytest.raises(ImportInvalid) as raised:
        parse_geojson(geojson(*features))
    assert raised.value.extra["errors"] == expected


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"type": "Feature"}', b'{"type": "FeatureCollection"}', b"\xff\xfe"],
)
def test_not_a_feature_collection(body):
    with pytest.raises(ImportInvalid) as raised:
        parse_geojson(body)
    assert raised.value.extra["errors"][0]["field"] is None


TRICKY = [
    PlaceIn("Berlin Hauptbahnhof", "station", "Europaplatz 1, 10557 Berlin", 52.525084, 13.369402,
            ("Hbf", "Central Station"), True),
    PlaceIn('Café "Zum Tor", Mitte', "other", "Line one; two", 0.1 + 0.2, -179.999999999, (), False),
    PlaceIn("=HYPERLINK(\"http://evil\")", "other", "+49 30 1234", -33.8688, 151.2093, ("@home", "-x"), True),
    PlaceIn("'=already quoted", "venue", "'+", 90.0, 180.0, ("Ünïcødé ✓",), True),
    PlaceIn("Москва Белорусская", "station", "", 55.7767, 37.5817, ("بیمارستان\u200cها",), True),
]  # fmt: skip


def test_csv_export_round_trip():
    text = exports.to_csv(TRICKY)
    assert parse_csv(text) == TRICKY
    # What a spreadsheet opens runs nothing: no cell starts a formula.
    lines = text.splitlines()
    assert lines[0] == "name,category,address,lat,lng,aliases,active"
    assert lines[3].startswith('"\'=HYPERLINK(""http://evil"")",other,\'+49 30 1234,')


def test_geojson_export_round_trip():
    body = exports.to_geojson(TRICKY)
    assert parse_geojson(body) == TRICKY
    first = orjson.loads(body)["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [13.369402, 52.525084]}
    assert first["properties"]["aliases"] == ["Hbf", "Central Station"]
