"""The normalised ping and the rules that turn client JSON into one (pure, no I/O).

Every input format ends up as a ``Ping``: metres per second, degrees, metres, UTC epoch
seconds. This module is on the ingest hot path, which is why it validates by hand
instead of through pydantic (about 3x cheaper per ping here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_TS = 253_402_300_799.0  # 9999-12-31T23:59:59Z, the last second PostgreSQL and Python share


class PingError(ValueError):
    """A ping that cannot be accepted; the message is shown to the client."""


@dataclass(frozen=True, slots=True)
class Ping:
    lat: float
    lng: float
    ts: float  # device time, epoch seconds UTC
    speed_mps: float | None = None
    heading: float | None = None
    accuracy_m: float | None = None
    battery: float | None = None
    id: str | None = None  # client ping id, for idempotent retries
    altitude_m: float | None = None
    attributes: dict | None = None  # extra fields phone apps send (hdop, charge, tid, ...)

    def to_wire(self) -> dict:
        """Compact dict for the Kafka event (absent optionals omitted)."""
        wire: dict = {"lat": self.lat, "lng": self.lng, "ts": self.ts}
        for key in ("speed_mps", "heading", "accuracy_m", "battery", "id", "altitude_m", "attributes"):
            value = getattr(self, key)
            if value is not None:
                wire[key] = value
        return wire

    @classmethod
    def from_wire(cls, wire: dict) -> Ping:
        return cls(
            wire["lat"],
            wire["lng"],
            wire["ts"],
            wire.get("speed_mps"),
            wire.get("heading"),
            wire.get("accuracy_m"),
            wire.get("battery"),
            wire.get("id"),
            wire.get("altitude_m"),
            wire.get("attributes"),
        )


# Far beyond anything real, and small enough for the history table's 32-bit columns:
# a larger value would make the tracker's insert fail for the whole batch.
MAX_SPEED_MPS = 1_000.0
MAX_METRES = 1_000_000.0

_FIELDS = frozenset(("lat", "lng", "ts", "speed_mps", "heading", "accuracy_m", "battery", "id"))


def _number(item: dict, key: str, required: bool = False) -> float | None:
    value = item.get(key)
    if value is None:
        if required:
            raise PingError(f"{key} is required")
        return None
    # bool is an int subclass; true/false is never a coordinate.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PingError(f"{key} must be a number")
    value = float(value)
    if not math.isfinite(value):
        raise PingError(f"{key} must be finite")
    return value


def parse_timestamp(value: object) -> float:
    """RFC 3339 string or epoch seconds → epoch seconds (UTC)."""
    if isinstance(value, bool):
        raise PingError("ts must be RFC 3339 or epoch seconds")
    if isinstance(value, int | float):
        ts = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise PingError("ts must be RFC 3339 or epoch seconds") from None
        if parsed.tzinfo is None:
            raise PingError("ts needs a UTC offset (e.g. 2026-11-21T10:00:00Z)")
        ts = parsed.timestamp()
    else:
        raise PingError("ts must be RFC 3339 or epoch seconds")
    if not math.isfinite(ts) or not 0 < ts < MAX_TS:
        raise PingError("ts is not a valid time")
    return ts


def parse_ping(item: object) -> Ping:
    """Validate one client ping object (native API shape)."""
    if not isinstance(item, dict):
        raise PingError("a ping must be a JSON object")
    unknown = item.keys() - _FIELDS
    if unknown:
        raise PingError(f"unknown field(s): {', '.join(sorted(unknown))}")
    lat = _number(item, "lat", required=True)
    lng = _number(item, "lng", required=True)
    assert lat is not None and lng is not None
    if not -90.0 <= lat <= 90.0:
        raise PingError("lat must be between -90 and 90")
    if not -180.0 <= lng <= 180.0:
        raise PingError("lng must be between -180 and 180")
    if lat == 0.0 and lng == 0.0:
        # 0,0 is what broken GPS stacks report when they have no fix.
        raise PingError("0,0 is not a real position")
    if "ts" not in item or item["ts"] is None:
        raise PingError("ts is required")
    ts = parse_timestamp(item["ts"])
    speed = _number(item, "speed_mps")
    if speed is not None and speed < 0:
        speed = None  # many apps send -1 for "unknown"
    if speed is not None and speed > MAX_SPEED_MPS:
        raise PingError(f"speed_mps must be at most {MAX_SPEED_MPS:g}")
    heading = _number(item, "heading")
    if heading is not None:
        heading = None if heading < 0 else heading % 360.0
    accuracy = _number(item, "accuracy_m")
    if accuracy is not None and accuracy < 0:
        accuracy = None
    if accuracy is not None and accuracy > MAX_METRES:
        raise PingError(f"accuracy_m must be at most {MAX_METRES:g}")
    battery = _number(item, "battery")
    if battery is not None and not 0.0 <= battery <= 100.0:
        raise PingError("battery must be a percentage between 0 and 100")
    ping_id = item.get("id")
    if ping_id is not None:
        if isinstance(ping_id, bool) or not isinstance(ping_id, str | int):
            raise PingError("id must be a string or integer")
        ping_id = str(ping_id)
        if not 0 < len(ping_id) <= 64:
            raise PingError("id must be 1 to 64 characters")
    return Ping(lat, lng, ts, speed, heading, accuracy, battery, ping_id)


@dataclass(frozen=True, slots=True)
class BatchResult:
    pings: list[Ping]
    rejected: list[dict]  # {"index": i, "error": "..."}
    indexes: list[int]  # each good ping's index in the request


def parse_body(body: object, max_batch: int) -> tuple[bool, BatchResult]:
    """Parse a decoded request body: (is_batch, result).

    A single ping that fails raises PingError (the API answers 422); a batch keeps
    the good items and lists the bad ones, so one bad fix never drops the rest.
    """
    if isinstance(body, dict) and "pings" in body:
        items = body["pings"]
        if not isinstance(items, list):
            raise PingError('"pings" must be a list')
        if len(body) != 1:
            raise PingError('a batch body has only the "pings" field')
        if len(items) > max_batch:
            raise PingError(f"at most {max_batch} pings per request")
        good: list[Ping] = []
        rejected: list[dict] = []
        indexes: list[int] = []
        for index, item in enumerate(items):
            try:
                good.append(parse_ping(item))
                indexes.append(index)
            except PingError as error:
                rejected.append({"index": index, "error": str(error)})
        return True, BatchResult(good, rejected, indexes)
    return False, BatchResult([parse_ping(body)], [], [0])


def iso(ts: float) -> str:
    """Epoch seconds → RFC 3339 UTC with milliseconds (what the streams and APIs show)."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
