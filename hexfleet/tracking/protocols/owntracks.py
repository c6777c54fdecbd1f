"""OwnTracks HTTP mode: one JSON message per POST (pure, no I/O).

Only ``_type: "location"`` becomes a ping; every other type is accepted and ignored. The
app retries any non-2xx answer forever, so a location that is readable JSON but carries
an unusable fix comes back as ``Report.error`` (answer 200) instead of raising.
Identity is not in the message: the caller takes it from HTTP Basic auth.
"""

from __future__ import annotations

from hexfleet.tracking.pings import PingError, parse_timestamp
from hexfleet.tracking.protocols import (
    KMH_MPS,
    TIME_UNREADABLE,
    ProtocolError,
    Report,
    fix_report,
    keep_attribute,
    read_coordinates,
    read_number,
    read_percent,
)

_PING_FIELDS = ("lat", "lon", "tst", "acc", "alt", "vel", "cog", "batt")
# Battery status "bs": 0 unknown, 1 unplugged, 2 charging, 3 full (on the charger).
_CHARGING = {1: False, 2: True, 3: True}


def parse_owntracks(body: object) -> Report | None:
    """Read one OwnTracks message: a Report for a location, None for any other ``_type``.

    ProtocolError (400) only when the body is not a JSON object with a ``_type``. Kept as
    attributes: everything else the message carries (``tid``, ``created_at``, ``t`` the
    trigger, ``conn``, ``bs``, ``m``, ``inregions``, ...), plus ``charge`` from ``bs``.
    """
    if not isinstance(body, dict):
        raise ProtocolError("an OwnTracks message is a JSON object")
    kind = body.get("_type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError('"_type" is required')
    if kind != "location":
        return None

    attributes: dict = {}
    for key, value in body.items():
        if key != "_type" and key not in _PING_FIELDS:
            keep_attribute(attributes, key, value)
    bs = body.get("bs")
    if isinstance(bs, int) and not isinstance(bs, bool) and bs in _CHARGING:
        attributes["charge"] = _CHARGING[bs]

    def number(key: str) -> float | None:
        raw = body.get(key)
        value = read_number(raw)
        if raw is not None and value is None:
            keep_attribute(attributes, key, raw)  # an unusable value stays visible, off the ping
        return value

    vel_kmh = number("vel")
    cog = number("cog")
    acc = number("acc")
    alt = number("alt")
    battery = read_percent(body.get("batt"))
    if body.get("batt") is not None and battery is None:
        keep_attribute(attributes, "batt", body["batt"])

    try:
        lat, lon = read_coordinates(body.get("lat"), body.get("lon"))
    except ProtocolError as error:
        return Report(None, None, attributes, str(error))
    if body.get("tst") is None:
        return Report(None, None, attributes, "tst is required")
    try:
        ts = parse_timestamp(body["tst"])
    except PingError:
        keep_attribute(attributes, "tst", body["tst"])
        return Report(None, None, attributes, TIME_UNREADABLE)
    return fix_report(
        None,
        attributes,
        lat,
        lon,
        ts,
        speed_mps=None if vel_kmh is None else vel_kmh * KMH_MPS,
        heading=cog,
        accuracy_m=acc,
        battery=battery,
        altitude_m=alt,
    )
