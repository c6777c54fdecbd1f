"""Every Kafka event hexfleet writes: one schema per type, encoded with orjson, here only.

``driver-locations`` (keyed by driver id, so one driver's events stay in order):
- ``pings``: one or more pings of one driver from one request (a batched request is
  one record, which is about twice as fast to produce as one record per ping).
- ``status``: a duty status change (available / off_duty / busy).
- ``attrs``: a device report without coordinates, kept in history only.

``booking-events`` (written by the outbox relay):
- ``booking``: one state change of a booking, with who may see it (keyed by booking id).
- ``alert``: an alert raised, acknowledged or resolved, for staff (keyed ``alert:{id}``).

``surge`` (one key):
- ``surge``: the cells whose multiplier changed in one recalculation.
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


@dataclass(frozen=True, slots=True)
class BookingChanged:
    event_id: int  # booking_events.id: consumers drop a redelivered one by it
    booking_id: int
    action: str
    from_status: str | None
    to_status: str
    actor: str
    at: float
    customer_id: int | None  # who may see it live: the customer, the driver concerned, staff
    driver_id: int | None
    offer_id: int | None
    offer_expires_at: float | None
    reason: str | None
    booking: dict  # the public snapshot (hexfleet.rides.queries.Booking.snapshot)

    def public(self) -> dict:
        """The JSON streamed to browsers and driver apps (no customer id)."""
        return {
            "event_id": self.event_id,
            "booking_id": self.booking_id,
            "action": self.action,
            "from_status": self.from_status,
            "status": self.to_status,
            "actor": self.actor,
            "at": self.at,
            "driver_id": self.driver_id,
            "offer": {"id": self.offer_id, "expires_at": self.offer_expires_at} if self.offer_id else None,
            "reason": self.reason,
            "booking": self.booking,
        }


@dataclass(frozen=True, slots=True)
class AlertChanged:
    event_id: int  # alert_events.id: consumers drop a redelivered one by it
    alert_id: int
    action: str  # raised | acknowledged | resolved
    at: float
    alert: dict  # the alert as the API shows it (hexfleet.alerts.queries.Alert.to_json)

    def public(self) -> dict:
        """The JSON of the staff streams' ``alert`` event."""
        return {"event_id": self.event_id, "alert_id": self.alert_id, "action": self.action, "at": self.at,
                "alert": self.alert}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SurgeChanged:
    at: float
    cells: dict[int, int]  # H3 cell → multiplier in tenths


def key_for(driver_id: int) -> bytes:
    return str(driver_id).encode()


def encode_pings(driver_id: int, received_at: float, pings: list[Ping]) -> bytes:
    return orjson.dumps({"t": "pings", "d": driver_id, "rt": received_at, "p": [p.to_wire() for p in pings]})


def encode_status(driver_id: int, status: str, at: float) -> bytes:
    return orjson.dumps({"t": "status", "d": driver_id, "s": status, "at": at})


def encode_attributes(driver_id: int, received_at: float, ts: float, attributes: dict) -> bytes:
    return orjson.dumps({"t": "attrs", "d": driver_id, "rt": received_at, "ts": ts, "a": attributes})


def encode_booking(e: BookingChanged) -> bytes:
    return orjson.dumps(
        {
            "t": "booking",
            "id": e.event_id,
            "b": e.booking_id,
            "a": e.action,
            "f": e.from_status,
            "s": e.to_status,
            "by": e.actor,
            "at": e.at,
            "c": e.customer_id,
            "d": e.driver_id,
            "o": e.offer_id,
            "oe": e.offer_expires_at,
            "r": e.reason,
            "bk": e.booking,
        }
    )


def booking_key(booking_id: int) -> bytes:
    return str(booking_id).encode()


def encode_alert(e: AlertChanged) -> bytes:
    return orjson.dumps({"t": "alert", "id": e.event_id, "al": e.alert_id, "a": e.action, "at": e.at, "x": e.alert})


def alert_key(alert_id: int) -> bytes:
    return f"alert:{alert_id}".encode()


def encode_surge(e: SurgeChanged) -> bytes:
    return orjson.dumps({"t": "surge", "at": e.at, "cells": {str(c): t for c, t in e.cells.items()}})


class BadEvent(ValueError):
    pass


def _opt_int(value) -> int | None:
    return None if value is None else int(value)


def decode_ride_event(value: bytes) -> BookingChanged | AlertChanged | SurgeChanged:
    """A record of the booking-events or surge topic."""
    try:
        raw = orjson.loads(value)
        kind = raw["t"]
        if kind == "booking":
            return BookingChanged(
                int(raw["id"]),
                int(raw["b"]),
                str(raw["a"]),
                None if raw["f"] is None else str(raw["f"]),
                str(raw["s"]),
                str(raw["by"]),
                float(raw["at"]),
                _opt_int(raw["c"]),
                _opt_int(raw["d"]),
                _opt_int(raw["o"]),
                None if raw["oe"] is None else float(raw["oe"]),
                None if raw["r"] is None else str(raw["r"]),
                dict(raw["bk"]),
            )
        if kind == "alert":
            return AlertChanged(int(raw["id"]), int(raw["al"]), str(raw["a"]), float(raw["at"]), dict(raw["x"]))
        if kind == "surge":
            return SurgeChanged(float(raw["at"]), {int(c): int(t) for c, t in dict(raw["cells"]).items()})
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise BadEvent(f"undecodable ride event: {error}") from None
    raise BadEvent(f"unknown ride event type {kind!r}")


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
