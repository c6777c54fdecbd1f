"""Events on the ``driver-locations`` topic: one schema per type, encoded with orjson.

Keyed by driver id so one driver's events stay in order on one partition.
- ``pings``: one or more pings of one driver from one request (a batched request is
  one record, which is about twice as fast to produce as one record per ping).
- ``status``: a duty status change (available / off_duty / busy).
- ``attrs``: a device report without coordinates, kept in history only.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from hexfleet.tracking.pings import Ping


@dataclass(frozen=True, slots=True)
class PingsEvent:
    driver_id: int
    received_at: float  # server time, epoch seconds
    pings: list[Ping]


@dataclass(frozen=True, slots=True)
class StatusEvent:
    driver_id: int
    status: str
    at: float


@dataclass(frozen=True, slots=True)
class AttributesEvent:
    """A device report without coordinates (e.g. only cell or wifi data)."""

    driver_id: int
    received_at: float
    ts: float  # device time
    attributes: dict


Event = PingsEvent | StatusEvent | AttributesEvent


def key_for(driver_id: int) -> bytes:
    return str(driver_id).encode()


def encode_pings(driver_id: int, received_at: float, pings: list[Ping]) -> bytes:
    return orjson.dumps({"t": "pings", "d": driver_id, "rt": received_at, "p": [p.to_wire() for p in pings]})


def encode_status(driver_id: int, status: str, at: float) -> bytes:
    return orjson.dumps({"t": "status", "d": driver_id, "s": status, "at": at})


def encode_attributes(driver_id: int, received_at: float, ts: float, attributes: dict) -> bytes:
    return orjson.dumps({"t": "attrs", "d": driver_id, "rt": received_at, "ts": ts, "a": attributes})


class BadEvent(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PingsRecord:
    """A ``pings`` event decoded only as far as asked: a live stream needs just the newest
    fix of a batch of a hundred, so building every ``Ping`` would be wasted work."""

    driver_id: int
    received_at: float
    raw: list[dict]

    def newest(self) -> Ping:
        return Ping.from_wire(max(self.raw, key=lambda p: p["ts"]))

    def pings(self) -> list[Ping]:
        return [Ping.from_wire(p) for p in self.raw]

    def first_ts(self) -> float:
        return min(float(p["ts"]) for p in self.raw)


def decode_lazily(value: bytes) -> PingsRecord | StatusEvent | AttributesEvent:
    """Decode the envelope; a ``pings`` event keeps its fixes in wire form (see PingsRecord)."""
    try:
        raw = orjson.loads(value)
        kind = raw["t"]
        if kind == "pings":
            pings = raw["p"]
            if not isinstance(pings, list) or not pings or not all(isinstance(p, dict) for p in pings):
                raise ValueError("a pings event needs a non-empty list of fixes")
            return PingsRecord(int(raw["d"]), float(raw["rt"]), pings)
        if kind == "status":
            return StatusEvent(int(raw["d"]), str(raw["s"]), float(raw["at"]))
        if kind == "attrs":
            return AttributesEvent(int(raw["d"]), float(raw["rt"]), float(raw["ts"]), dict(raw["a"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise BadEvent(f"undecodable event: {error}") from None
    raise BadEvent(f"unknown event type {kind!r}")


def decode(value: bytes) -> Event:
    """Decode an event completely (every fix of a pings event becomes a Ping)."""
    event = decode_lazily(value)
    if isinstance(event, PingsRecord):
        try:
            return PingsEvent(event.driver_id, event.received_at, event.pings())
        except (KeyError, TypeError, ValueError) as error:
            raise BadEvent(f"undecodable event: {error}") from None
    return event
