"""GPS quality rules (pure): how every fix is judged, whatever app sent it.

Two stages, because they need different knowledge:
- ``judge_time`` at ingest, needing only the server clock: fixes from the future or the
  distant past are rejected and never enter the system.
- ``judge_motion`` where the previous accepted fix is known (the tracker and each web
  process's fan-out): a fix older than the latest, an implausible jump or a poor
  accuracy is kept in history, flagged, and does not move the live position.
"""

from __future__ import annotations

from dataclasses import dataclass

from hexfleet.geo import haversine_m
from hexfleet.tracking.pings import Ping

# Decisions, also the `reason` label in /metrics and the flag stored with a position.
ACCEPTED = "accepted"
DUPLICATE = "duplicate"
INVALID = "invalid"
FUTURE = "future"
TOO_OLD = "too-old"
OUT_OF_ORDER = "out-of-order"
IMPLAUSIBLE_JUMP = "implausible-jump"
INACCURATE = "inaccurate"

REJECTED = (INVALID, FUTURE, TOO_OLD)
FLAGGED = (OUT_OF_ORDER, IMPLAUSIBLE_JUMP, INACCURATE)

DESCRIPTIONS = {
    DUPLICATE: "already received",
    INVALID: "invalid coordinates or time",
    FUTURE: "timestamp is in the future",
    TOO_OLD: "timestamp is too old",
    OUT_OF_ORDER: "older than the latest fix",
    IMPLAUSIBLE_JUMP: "implausible jump",
    INACCURATE: "accuracy too poor",
}


@dataclass(frozen=True, slots=True)
class FilterRules:
    future_s: float = 600.0
    past_s: float = 7 * 86400.0
    max_speed_kmh: float = 300.0
    max_accuracy_m: float = 100.0


@dataclass(frozen=True, slots=True)
class LastFix:
    """The latest accepted fix of a driver: what a new one is judged against."""

    lat: float
    lng: float
    ts: float


def judge_time(ping: Ping, now: float, rules: FilterRules) -> str:
    if ping.ts > now + rules.future_s:
        return FUTURE
    if ping.ts < now - rules.past_s:
        return TOO_OLD
    return ACCEPTED


def judge_motion(ping: Ping, last: LastFix | None, rules: FilterRules) -> str:
    """Whether this fix may move the live position (ACCEPTED) or only goes to history, flagged."""
    if last is not None and ping.ts == last.ts:
        return DUPLICATE  # a retry that reached another web instance, or a Kafka redelivery
    if last is not None and ping.ts < last.ts:
        return OUT_OF_ORDER
    if ping.accuracy_m is not None and ping.accuracy_m > rules.max_accuracy_m:
        return INACCURATE
    if last is not None:
        metres = haversine_m(last.lat, last.lng, ping.lat, ping.lng)
        seconds = ping.ts - last.ts
        # A few metres of GPS noise over a sub-second gap is not a jump: only judge real moves.
        if metres > 50 and metres / seconds * 3.6 > rules.max_speed_kmh:
            return IMPLAUSIBLE_JUMP
    return ACCEPTED


def judge_sequence(pings: list[Ping], last: LastFix | None, rules: FilterRules) -> tuple[list[str], LastFix | None]:
    """Judge one driver's fixes in arrival order; returns the verdicts and the new latest fix."""
    verdicts = []
    for ping in pings:
        verdict = judge_motion(ping, last, rules)
        verdicts.append(verdict)
        if verdict == ACCEPTED:
            last = LastFix(ping.lat, ping.lng, ping.ts)
    return verdicts, last
