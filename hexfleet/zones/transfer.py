"""Zones in and out as a GeoJSON FeatureCollection (pure), round-trippable.

Each Feature is a zone: its geometry (a Polygon, a MultiPolygon, or a Point with a ``radius_m``
property for a circle) and the properties ``name``, ``kind``, ``rules``, ``active``, ``color``
(``id`` is written on export and ignored on import: zones are matched by name, whatever the
case, so a file from another installation adds or updates zones of the same names). For the same
reason a fixed fare names its other zone in a file: ``{"to_zone": "City centre", ...}`` (ids work
too, ``to_zone_id``, for zones already stored).

An import is all or nothing: ``parse`` returns the zones only when every feature is good, and
otherwise raises ImportInvalid listing each bad feature (from 1) and field.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from hexfleet.places.imports import ImportInvalid, RowError
from hexfleet.zones import geometry
from hexfleet.zones.queries import MAX_ZONES, Zone
from hexfleet.zones.rules import ZoneIn, check_zone

MAX_BYTES = 8 * 1024 * 1024  # 200 zones of a few thousand vertices each
# A single zone's body (POST, PUT): MAX_VERTICES positions of up to ~45 characters each.
MAX_ZONE_BYTES = 512 * 1024
GEOJSON_TYPES = ("application/geo+json", "application/json")


def _file_error(message: str) -> ImportInvalid:
    return ImportInvalid([RowError("file", None, None, message)])


def parse(data: bytes) -> list[ZoneIn]:
    if len(data) > MAX_BYTES:
        raise _file_error(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB: split it")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise _file_error("the file is not JSON (UTF-8): a GeoJSON FeatureCollection is expected") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise _file_error('a GeoJSON FeatureCollection is expected: {"type": "FeatureCollection", "features": [...]}')
    features = document.get("features")
    if not isinstance(features, list):
        raise _file_error("features must be a list")
    if not features:
        raise _file_error("no zones in the file")
    if len(features) > MAX_ZONES:
        raise _file_error(f"more than {MAX_ZONES} zones: split the file")
    errors: list[RowError] = []
    zones: list[ZoneIn] = []
    seen: dict[str, int] = {}
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            errors.append(RowError("feature", number, None, 'a Feature is expected: {"type": "Feature", ...}'))
            continue
        properties = feature.get("properties")
        if properties is None:
            properties = {}
        if not isinstance(properties, dict):
            errors.append(RowError("feature", number, "properties", "an object"))
            continue
        try:
            shape = geometry.feature_geometry(feature.get("geometry"), properties)
        except geometry.GeometryError as error:
            errors.append(RowError("feature", number, "geometry", str(error)))
            continue
        fields = {k: properties.get(k) for k in ("name", "kind", "rules", "active", "color") if k in properties}
        zone, problems = check_zone({**fields, "geometry": shape}, names=True)
        for field, message in problems.items():
            errors.append(RowError("feature", number, field, message))
        if zone is None:
            continue
        first = seen.setdefault(zone.name.lower(), number)
        if first != number:
            errors.append(RowError("feature", number, "name", f"feature {first} has this name too"))
            continue
        zones.append(zone)
    if errors:
        raise ImportInvalid(errors)
    return zones


def _named_fares(rules: dict, names: dict[int, str]) -> dict:
    """Fixed fares naming their other zone (ids differ between installations). A fare whose zone
    was deleted is left out: it priced nothing."""
    fares = rules.get("fixed_fares")
    if not isinstance(fares, list):
        return rules
    out = []
    for fare in fares:
        end = "to_zone_id" if "to_zone_id" in fare else "from_zone_id"
        name = names.get(fare.get(end))
        if name is not None:
            out.append({end.removesuffix("_id"): name, **{k: v for k, v in fare.items() if k != end}})
    return {**rules, "fixed_fares": out}


def to_geojson(zones: Iterable[Zone]) -> bytes:
    zones = list(zones)
    names = {z.id: z.name for z in zones}
    features = []
    for zone in zones:
        shape, extra = geometry.as_feature_geometry(zone.geometry)
        features.append(
            {
                "type": "Feature",
                "geometry": shape,
                "properties": {
                    "id": zone.id,
                    "name": zone.name,
                    "kind": zone.kind,
                    "rules": _named_fares(zone.rules, names),
                    "active": zone.active,
                    "color": zone.color,
                    **extra,
                },
            }
        )
    return orjson.dumps({"type": "FeatureCollection", "features": features})
