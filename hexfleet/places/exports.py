"""Writing places as CSV or GeoJSON (pure), in the formats imports.py reads: an export imported
again gives the same places."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import orjson

from hexfleet.places.imports import COLUMNS, formula_like
from hexfleet.places.rules import PlaceIn


def protect_formula(value: str) -> str:
    """A cell a spreadsheet would run as a formula ("=HYPERLINK(...)") gets a quote before it;
    imports.unquote_formula takes it off again."""
    return "'" + value if formula_like(value) else value


def _number(value: float) -> str:
    return repr(float(value))  # the shortest text that reads back as the same float


def to_csv(places: Iterable[PlaceIn]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for p in places:
        writer.writerow(
            [
                protect_formula(p.name),
                p.category,
                protect_formula(p.address),
                _number(p.lat),
                _number(p.lng),
                protect_formula("|".join(p.aliases)),
                "true" if p.active else "false",
            ]
        )
    return out.getvalue()


def to_geojson(places: Iterable[PlaceIn]) -> bytes:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p.lng, p.lat]},
            "properties": {
                "name": p.name,
                "category": p.category,
                "address": p.address,
                "aliases": list(p.aliases),
                "active": p.active,
            },
        }
        for p in places
    ]
    return orjson.dumps({"type": "FeatureCollection", "features": features})
