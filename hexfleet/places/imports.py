"""Reading a list of places from CSV or GeoJSON (pure): every row checked, every error named.

An import is all or nothing: ``parse_csv`` and ``parse_geojson`` return the places only when
every row is good, and otherwise raise ImportInvalid listing each bad row by its line (CSV,
counting the header as line 1) or feature number (GeoJSON, from 1) and field.

CSV: a header naming the columns (any order, any case): ``name``, ``category``, ``lat``,
``lng`` required; ``address``, ``aliases`` (separated by ``|``), ``active`` (true/false, yes/no,
1/0; empty is true) optional. Commas, or semicolons as spreadsheets in many countries save it.
GeoJSON: a FeatureCollection of Point features, those fields as properties (``aliases`` a
list or a ``|`` string, ``active`` a boolean), the position from the geometry.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import orjson

from hexfleet.errors import DomainError, Invalid
from hexfleet.places.rules import PlaceIn, check_place

COLUMNS = ("name", "category", "address", "lat", "lng", "aliases", "active")
REQUIRED = ("name", "category", "lat", "lng")
MAX_PLACES = 10_000
MAX_BYTES = 2 * 1024 * 1024  # 10,000 places of ~200 bytes each
MAX_ERRORS = 100  # listed; the count says how many more
# A cell a spreadsheet would run as a formula starts with one of these; exports put a quote
# before it (so opening the file runs nothing) and imports take that quote off again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RowError:
    kind: str  # "line" (CSV), "feature" (GeoJSON) or "file"
    number: int | None
    field: str | None
    message: str

    def to_json(self) -> dict:
        where = {self.kind: self.number} if self.kind != "file" else {}
        return {**where, "field": self.field, "error": self.message}

    def __str__(self) -> str:
        where = f"{self.kind.capitalize()} {self.number}" if self.kind != "file" else "The file"
        return f"{where}{f' ({self.field})' if self.field else ''}: {self.message}"


class ImportInvalid(Invalid):
    """422 with ``errors``: each bad row. Nothing was saved."""

    code = "import-invalid"

    def __init__(self, errors: list[RowError]) -> None:
        shown = errors[:MAX_ERRORS]
        more = len(errors) - len(shown)
        super().__init__(
            f"nothing was imported: {len(errors)} problem{'s' if len(errors) != 1 else ''} "
            f"(first: {errors[0]})" + (f"; {more} more not listed" if more else "")
        )
        self.errors = shown
        self.more = more
        self.extra = {"errors": [e.to_json() for e in shown], "more_errors": more}


def _file_error(message: str) -> ImportInvalid:
    return ImportInvalid([RowError("file", None, None, message)])


def decode(data: bytes) -> str:
    """UTF-8 text (a byte order mark, as spreadsheets write one, is dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_error("the file is not UTF-8 text: save it as CSV UTF-8 (or GeoJSON)") from None


def formula_like(value: str) -> bool:
    """Whether a spreadsheet would run the cell, or it is such a cell already protected (so that
    a text really starting with a quote and "=" comes back as it was too)."""
    return value.startswith(FORMULA_START) or (value.startswith("'") and formula_like(value[1:]))


def unquote_formula(value: str) -> str:
    """A cell exports.py protected ("'=...") back to what it was."""
    return value[1:] if value.startswith("'") and formula_like(value[1:]) else value


def _check_all(rows: list[tuple[int, dict]], kind: str, errors: list[RowError]) -> list[PlaceIn]:
    places: list[PlaceIn] = []
    first_seen: dict[str, int] = {}
    for number, raw in rows:
        place, problems = check_place(raw)
        for field, message in problems.items():
            errors.append(RowError(kind, number, field, message))
        if place is not None:
            key = place.name.casefold()
            if key in first_seen:
                errors.append(
                    RowError(kind, number, "name", f"{place.name!r} is named on {kind} {first_seen[key]} already")
                )
            else:
                first_seen[key] = number
                places.append(place)
    if errors:
        raise ImportInvalid(errors)
    if not places:
        raise _file_error("no places in the file")
    return places


def parse_csv(text: str) -> list[PlaceIn]:
    """Every place of a CSV file with a header, or ImportInvalid naming each bad line."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise _file_error(f"line 1 is not CSV ({error})") from None
    if header is None or not any(h.strip() for h in header):
        raise _file_error(f"the file is empty: it needs a header line ({','.join(COLUMNS)}) and a line per place")
    names = [h.strip().lower() for h in header]
    unknown = [h for h in names if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in names]
    repeated = sorted({h for h in names if names.count(h) > 1})
    errors: list[RowError] = []
    if unknown:
        errors.append(RowError("line", 1, None, f"unknown column {unknown[0][:40]!r}; columns: {', '.join(COLUMNS)}"))
    if missing:
        errors.append(RowError("line", 1, None, f"the header lacks {', '.join(missing)}"))
    if repeated:
        errors.append(RowError("line", 1, None, f"column {repeated[0]!r} twice"))
    if errors:
        raise ImportInvalid(errors)
    rows: list[tuple[int, dict]] = []
    line = 1
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank lines (a trailing one above all)
            if len(rows) >= MAX_PLACES:
                raise _file_error(f"more than {MAX_PLACES:,} places: split the file")
            if len(cells) != len(names):
                errors.append(RowError("line", line, None, f"{len(cells)} values, the header names {len(names)}"))
                continue
            rows.append((line, {n: unquote_formula(c) for n, c in zip(names, cells, strict=True)}))
    except csv.Error as error:
        errors.append(RowError("line", reader.line_num, None, f"not CSV ({error})"))
    return _check_all(rows, "line", errors)


def parse_geojson(data: bytes | str) -> list[PlaceIn]:
    """Every place of a GeoJSON FeatureCollection of Points, or ImportInvalid naming each bad feature."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise _file_error("the file is not JSON: a GeoJSON FeatureCollection is expected") from None
    if (
        not isinstance(body, dict)
        or body.get("type") != "FeatureCollection"
        or not isinstance(body.get("features"), list)
    ):
        raise _file_error('a GeoJSON FeatureCollection is expected: {"type": "FeatureCollection", "features": [...]}')
    features = body["features"]
    if len(features) > MAX_PLACES:
        raise _file_error(f"more than {MAX_PLACES:,} places: split the file")
    rows: list[tuple[int, dict]] = []
    errors: list[RowError] = []
    for number, feature in enumerate(features, start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            errors.append(RowError("feature", number, None, 'not a GeoJSON Feature ({"type": "Feature", ...})'))
            continue
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            errors.append(RowError("feature", number, "geometry", "a Point is expected"))
            continue
        coordinates = geometry.get("coordinates")
        if not isinstance(coordinates, list) or len(coordinates) not in (2, 3):
            errors.append(RowError("feature", number, "geometry", "coordinates are [longitude, latitude]"))
            continue
        properties = feature.get("properties")
        if not isinstance(properties, dict):
            errors.append(RowError("feature", number, "properties", "an object with name and category is expected"))
            continue
        raw = {k: properties.get(k) for k in COLUMNS if k not in ("lat", "lng")}
        rows.append((number, {**raw, "lng": coordinates[0], "lat": coordinates[1]}))
    return _check_all(rows, "feature", errors)


CSV_TYPES = ("text/csv", "application/csv", "text/plain")
GEOJSON_TYPES = ("application/geo+json", "application/json")


def kind_of(content_type: str, filename: str = "") -> str | None:
    """ "csv" or "geojson" by the content type, else (a browser's upload, often sent as
    application/octet-stream) by the file name's extension; None for anything else."""
    kind = content_type.split(";", 1)[0].strip().lower()
    name = filename.strip().lower()
    if kind in GEOJSON_TYPES:
        return "geojson"
    if kind in CSV_TYPES:
        return "csv"
    if name.endswith((".geojson", ".json")):
        return "geojson"
    if name.endswith((".csv", ".txt")):
        return "csv"
    return None


def parse(data: bytes, kind: str | None) -> list[PlaceIn]:
    """A file of this kind (``kind_of``), or ImportInvalid (422) naming each bad row."""
    if len(data) > MAX_BYTES:
        raise _file_error(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB: split it")
    if kind == "geojson":
        return parse_geojson(data)
    if kind == "csv":
        return parse_csv(decode(data))
    raise DomainError(
        "send CSV (Content-Type: text/csv) or GeoJSON (application/geo+json)",
        code="unsupported-import-type",
        status=415,
    )
