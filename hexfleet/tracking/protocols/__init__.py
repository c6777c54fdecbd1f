"""Third-party driver-app protocols, read into the normalised ``Ping`` (pure, no I/O).

``osmand`` reads what Traccar Client and other OsmAnd-style apps send (query, form or
background-geolocation JSON); ``owntracks`` reads OwnTracks HTTP-mode messages. Both
build their pings through ``pings.parse_ping`` so every input obeys the same rules.

Two kinds of failure, because phones retry anything that is not a 2xx forever and in order:
- ``ProtocolError``: the request cannot be read at all (answer 400).
- ``Report.error``: the request was read but this fix cannot be used (answer 200, count it
  as rejected "invalid"), so one bad fix never blocks the phone's queue.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

from hexfleet.tracking.pings import MAX_METRES, Ping, PingError, parse_ping

KNOT_MPS = 1852.0 / 3600.0  # one international nautical mile per hour
KMH_MPS = 1000.0 / 3600.0
# Longer attribute strings (OwnTracks can attach a base64 photo to a location) are dropped.
MAX_ATTRIBUTE_CHARS = 256

COORDINATES_UNREADABLE = "coordinates cannot be read"
TIME_UNREADABLE = "timestamp cannot be read"

# Plain decimal notation only: float() would also take "nan", "inf" and "1_0".
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class ProtocolError(ValueError):
    """A request that cannot be read at all. ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Report:
    """One fix (or attribute-only event) as a protocol delivered it.

    ``ping`` is None when there were no coordinates (attributes only; the device time, when
    known, is then ``attributes["ts"]``) or when ``error`` says why the fix cannot be used.
    """

    device_id: str | None  # from the message (OsmAnd); None for OwnTracks (identity is Basic auth)
    ping: Ping | None
    attributes: dict
    error: str | None = None


def read_number(value: object) -> float | None:
    """A finite number (JSON number or decimal string) or None when unreadable."""
    if isinstance(value, bool):
        return None  # bool is an int subclass; true/false is never a measurement
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        number = float(value)
    else:
        return None
    return number if math.isfinite(number) else None


def read_coordinates(lat: object, lon: object) -> tuple[float, float]:
    """Both coordinates as numbers in range, or ProtocolError("coordinates cannot be read")."""
    lat_n, lon_n = read_number(lat), read_number(lon)
    if lat_n is None or lon_n is None or not -90.0 <= lat_n <= 90.0 or not -180.0 <= lon_n <= 180.0:
        raise ProtocolError(COORDINATES_UNREADABLE)
    return lat_n, lon_n


def read_percent(value: object) -> float | None:
    """A battery percentage in 0..100, or None (unreadable, -1 for unknown, out of range)."""
    number = read_number(value)
    return number if number is not None and 0.0 <= number <= 100.0 else None


def make_ping(
    lat: float,
    lng: float,
    ts: float,
    *,
    speed_mps: float | None = None,
    heading: float | None = None,
    accuracy_m: float | None = None,
    battery: float | None = None,
    altitude_m: float | None = None,
    ping_id: str | None = None,
) -> Ping:
    """Build a Ping through the native rules (0,0 rejected, -1 markers dropped, heading mod 360).

    Raises ``PingError`` like ``parse_ping``; callers pass values they already read as numbers.
    """
    item: dict = {"lat": lat, "lng": lng, "ts": ts}
    optional = {"speed_mps": speed_mps, "heading": heading, "accuracy_m": accuracy_m, "battery": battery}
    item.update((key, value) for key, value in optional.items() if value is not None)
    if ping_id is not None:
        item["id"] = ping_id
    ping = parse_ping(item)
    # parse_ping's native shape has no altitude; the protocols do.
    if altitude_m is None or abs(altitude_m) > MAX_METRES:
        return ping  # an absurd altitude is dropped, not the fix
    return replace(ping, altitude_m=altitude_m)


def fix_report(device_id: str | None, attributes: dict, lat: float, lng: float, ts: float, **optional: Any) -> Report:
    """A Report with the fix (``make_ping`` keywords), or with ``error`` when the rules reject it (0,0)."""
    try:
        return Report(device_id, make_ping(lat, lng, ts, **optional), attributes)
    except PingError as error:
        return Report(device_id, None, attributes, str(error))


def keep_attribute(attributes: dict, key: str, value: object) -> None:
    """Keep JSON scalars and lists of strings small enough to store with a position; drop the rest.

    Strings with a NUL character are dropped too: PostgreSQL's jsonb cannot store them.
    """
    if "\x00" in key:
        return
    if isinstance(value, str):
        if len(value) <= MAX_ATTRIBUTE_CHARS and "\x00" not in value:
            attributes[key] = value
    elif isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        attributes[key] = value
    elif isinstance(value, list) and len(value) <= 32:
        # OwnTracks' inregions / inrids: region names and ids.
        if all(isinstance(item, str) and len(item) <= MAX_ATTRIBUTE_CHARS and "\x00" not in item for item in value):
            attributes[key] = value
