"""The OsmAnd protocol as Traccar Client and many GPS apps speak it (pure, no I/O).

Two shapes reach ``/osmand``:
- parameters (query string, or a form body when the query string is empty): ``id``,
  ``lat``/``lon``, ``timestamp``, ``speed`` in knots, ...; read by ``parse_osmand_params``;
- the background-geolocation JSON that Traccar Client 9+ posts; read by ``parse_osmand_json``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from hexfleet.tracking.pings import PingError, parse_timestamp
from hexfleet.tracking.protocols import (
    COORDINATES_UNREADABLE,
    KNOT_MPS,
    TIME_UNREADABLE,
    ProtocolError,
    Report,
    fix_report,
    keep_attribute,
    read_coordinates,
    read_number,
    read_percent,
)

# A numeric timestamp above this is milliseconds. 1e11 seconds is the year 5138 and 1e11
# milliseconds is March 1973, so no real device clock falls on the wrong side either way.
# (Traccar's own cut, 2**31, would read seconds after January 2038 as milliseconds.)
MS_THRESHOLD = 1e11

DEVICE_ID_REQUIRED = "device id is required"
MARKED_INVALID = "the device marked this fix invalid"

_PARAMS_READ = frozenset(
    {"id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing", "heading", "altitude", "accuracy"}
    | {"hdop", "batt", "charge", "valid"}
)
_FLAGS = {"true": True, "1": True, "false": False, "0": False}


def parse_time(value: object) -> float:
    """OsmAnd device time → epoch seconds UTC; raises ``PingError`` when unreadable.

    Unix seconds or milliseconds (number or decimal string), ISO 8601 with an offset or Z,
    or without an offset (then UTC, as is ``yyyy-MM-dd HH:mm:ss``).
    """
    number = read_number(value)
    if number is not None:
        return parse_timestamp(number / 1000.0 if number > MS_THRESHOLD else number)
    if not isinstance(value, str):
        raise PingError(TIME_UNREADABLE)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        seconds = parsed.timestamp()
    except (ValueError, OverflowError):
        raise PingError(TIME_UNREADABLE) from None
    return parse_timestamp(seconds)


def _device_id(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _present(params: Mapping[str, str], key: str) -> str | None:
    """The parameter's value, or None when missing or empty (apps send ``lat=`` without a fix)."""
    value = params.get(key)
    if value is None:
        return None
    return value.strip() or None


def _params_coordinates(params: Mapping[str, str]) -> tuple[float, float] | None:
    lat, lon = _present(params, "lat"), _present(params, "lon")
    if lat is None and lon is None:
        location = _present(params, "location")
        if location is None:
            return None
        parts = location.split(",")
        if len(parts) != 2:
            raise ProtocolError(COORDINATES_UNREADABLE)
        lat, lon = parts
    return read_coordinates(lat, lon)


def parse_osmand_params(params: Mapping[str, str], now: float) -> Report:
    """Read one OsmAnd fix from decoded query or form parameters.

    ProtocolError (400) for a missing device id or coordinates that cannot be read; a fix
    at 0,0, with an unreadable time or sent with ``valid=false`` comes back as
    ``Report.error``. Optional values that cannot be used (``speed=abc``, ``batt=150``)
    are left off the ping and kept as strings in the attributes, under their own name.
    """
    device_id = _device_id(params.get("id")) or _device_id(params.get("deviceid"))
    if device_id is None:
        raise ProtocolError(DEVICE_ID_REQUIRED)
    coordinates = _params_coordinates(params)
    attributes: dict = {}
    for key, value in params.items():
        if key not in _PARAMS_READ:
            keep_attribute(attributes, key, value)

    def number(key: str, read: Callable[[object], float | None] = read_number) -> float | None:
        raw = _present(params, key)
        value = read(raw)
        if raw is not None and value is None:
            keep_attribute(attributes, key, raw)
        return value

    speed_kn = number("speed")
    heading = number("bearing") if _present(params, "bearing") is not None else number("heading")
    altitude = number("altitude")
    accuracy = number("accuracy")
    battery = number("batt", read_percent)
    if (hdop := number("hdop")) is not None:
        attributes["hdop"] = hdop
    for key in ("charge", "valid"):
        raw = _present(params, key)
        if raw is not None:
            attributes[key] = _FLAGS.get(raw.lower(), raw)

    ts = _time(_present(params, "timestamp"), now, attributes)
    if coordinates is None:
        return _attributes_only(device_id, attributes, ts)
    if ts is None:
        return Report(device_id, None, attributes, TIME_UNREADABLE)
    if attributes.get("valid") is False:
        return Report(device_id, None, attributes, MARKED_INVALID)
    return fix_report(
        device_id,
        attributes,
        *coordinates,
        ts,
        speed_mps=None if speed_kn is None else speed_kn * KNOT_MPS,
        heading=heading,
        accuracy_m=accuracy,
        battery=battery,
        altitude_m=altitude,
    )


def _time(raw: object, now: float, attributes: dict) -> float | None:
    """Device time; ``now`` when not sent; None (the raw value kept as an attribute) when unreadable."""
    if raw is None:
        return now
    try:
        return parse_time(raw)
    except PingError:
        keep_attribute(attributes, "timestamp", raw)
        return None


def _attributes_only(device_id: str, attributes: dict, ts: float | None) -> Report:
    """No coordinates (cell/wifi only, or no fix yet): an event, not a position."""
    if ts is not None:
        attributes["ts"] = ts
    return Report(device_id, None, attributes)


def parse_osmand_json(body: object, now: float) -> list[Report]:
    """Read a background-geolocation JSON body: one Report per location.

    Accepts ``{"device_id", "location": {...}}``, ``"location"`` as a list, and a top-level
    array of such objects. The device id is the top-level ``device_id`` (what Traccar Client
    sends), else ``location.extras.device_id``.
    """
    if isinstance(body, list):
        return [report for item in body for report in _json_object(item, now)]
    return _json_object(body, now)


def _json_object(body: object, now: float) -> list[Report]:
    if not isinstance(body, dict):
        raise ProtocolError("expected a JSON object with a location")
    location = body.get("location")
    if location is None:
        raise ProtocolError("location is required")
    locations = location if isinstance(location, list) else [location]
    # Other top-level keys are the app's configured extra params; keep them with each fix.
    shared: dict = {}
    for key, value in body.items():
        if key not in ("device_id", "location"):
            keep_attribute(shared, key, value)
    reports = []
    for item in locations:
        if not isinstance(item, dict):
            raise ProtocolError("location must be a JSON object")
        extras = item.get("extras")
        extras = extras if isinstance(extras, dict) else {}
        device_id = _device_id(body.get("device_id")) or _device_id(extras.get("device_id"))
        if device_id is None:
            raise ProtocolError(DEVICE_ID_REQUIRED)
        reports.append(_json_location(device_id, item, extras, dict(shared), now))
    return reports


def _json_location(device_id: str, location: dict, extras: dict, attributes: dict, now: float) -> Report:
    for key, value in extras.items():
        if key != "device_id":
            keep_attribute(attributes, key, value)
    for key in ("event", "is_moving", "odometer", "mock", "alarm", "uuid"):
        if key in location:
            keep_attribute(attributes, key, location[key])
    activity = location.get("activity")
    if isinstance(activity, dict):
        keep_attribute(attributes, "activity", activity.get("type"))
    battery: float | None = None
    battery_info = location.get("battery")
    if isinstance(battery_info, dict):
        level = read_number(battery_info.get("level"))
        if level is not None and 0.0 <= level <= 1.0:  # -1: unknown (simulators, some tablets)
            battery = level * 100.0
        if isinstance(battery_info.get("is_charging"), bool):
            attributes["charge"] = battery_info["is_charging"]

    ts = _time(location.get("timestamp"), now, attributes)
    coords = location.get("coords")
    if coords is not None and not isinstance(coords, dict):
        raise ProtocolError(COORDINATES_UNREADABLE)
    if coords is None or (coords.get("latitude") is None and coords.get("longitude") is None):
        return _attributes_only(device_id, attributes, ts)
    lat, lon = read_coordinates(coords.get("latitude"), coords.get("longitude"))
    if ts is None:
        return Report(device_id, None, attributes, TIME_UNREADABLE)
    uuid = location.get("uuid")
    return fix_report(
        device_id,
        attributes,
        lat,
        lon,
        ts,
        speed_mps=read_number(coords.get("speed")),  # already m/s; -1 (unknown) is dropped
        heading=read_number(coords.get("heading")),
        accuracy_m=read_number(coords.get("accuracy")),
        battery=battery,
        altitude_m=read_number(coords.get("altitude")),
        # The SDK's per-location uuid makes a retried upload a duplicate, not a second fix.
        ping_id=uuid if isinstance(uuid, str) and 0 < len(uuid) <= 64 else None,
    )
