"""From position history to driving time and distance per (clock hour, H3 cell) (pure).

Input: one driver's accepted fixes (``flag IS NULL``) after another, each driver's oldest
first. Every pair of consecutive fixes is a *segment*; a kept segment adds its distance
(great circle between the two fixes; at a fix every few seconds that is the road driven)
and its duration to the H3 resolution-8 cell of its midpoint and the clock hour it began in.

What is kept, and why:

- A gap under ``min_gap_s`` is skipped (the later fix is dropped, the earlier one stays the
  anchor): two fixes a fraction of a second apart are mostly GPS noise.
- A gap over ``max_gap_s`` ends the stretch: where the driver went in between is unknown.
- A segment faster than ``max_speed_mps`` is a GPS jump: its later fix is dropped.
- Standing (slower than ``still_mps``, which GPS drift of a standing phone stays under) is
  part of driving while it is short: traffic lights and queues belong in an ETA. A standing
  run longer than ``park_s`` is a driver parked or waiting for a rider and is dropped whole,
  as is a standing run that ends a stretch (the data stopped before we knew which it was).

The learned figure is therefore a *pace* (seconds per metre) = total time / total distance of
the kept segments: the distance-weighted harmonic mean speed, the one that makes an ETA over
a distance unbiased. A median of segment speeds would be robust too, but it ignores the time
spent at lights and would promise early arrivals. Robustness comes from the filters above and
from counting *passes* (a run of one driver's consecutive kept segments in one cell and hour):
a cell-hour is used only with enough passes (``LEARNED_SPEEDS_MIN_PASSES``), so one driver
crawling through a cell once cannot set its speed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import h3.api.basic_int as h3i

from hexfleet.geo import haversine_m

RESOLUTION = 8
HOUR_S = 3600


@dataclass(frozen=True)
class SegmentRules:
    min_gap_s: float = 1.0
    max_gap_s: float = 30.0
    max_speed_mps: float = 45.0  # 162 km/h: a city fleet's fixes beyond that are GPS jumps
    still_mps: float = 1.0
    park_s: float = 90.0

    @property
    def lookback_s(self) -> float:
        """How far before an hour a derivation must start to judge that hour's first segments
        (whether a standing run that crosses into it is a short stop or parking)."""
        return self.park_s + self.max_gap_s


@dataclass
class Tally:
    """Driving in one (hour, cell): sums, so tallies of any hours merge exactly."""

    passes: int = 0
    segments: int = 0
    distance_m: float = 0.0
    seconds: float = 0.0

    def add(self, distance_m: float, seconds: float) -> None:
        self.segments += 1
        self.distance_m += distance_m
        self.seconds += seconds


@dataclass
class _Segment:
    hour: int  # epoch seconds of the clock hour it began in
    cell: int
    distance_m: float
    seconds: float


@dataclass
class Deriver:
    """Feeds fixes in any number of chunks (a cursor's pages); ``tallies`` holds the result.

    ``since``: segments beginning before it are used only as context (the lookback), not
    counted; None counts all."""

    rules: SegmentRules = field(default_factory=SegmentRules)
    since: float | None = None
    tallies: dict[tuple[int, int], Tally] = field(default_factory=dict)
    _driver: int | None = None
    _t: float = 0.0
    _lat: float = 0.0
    _lng: float = 0.0
    _standing: list[_Segment] = field(default_factory=list)
    _standing_s: float = 0.0
    _parked: bool = False
    _pass: tuple[int, int] | None = None  # (hour, cell) of the last kept segment of this stretch

    def feed(self, fixes: Iterable[tuple[int, float, float, float]]) -> None:
        """``fixes``: (driver_id, epoch seconds, lat, lng), by driver then time."""
        r = self.rules
        for driver, t, lat, lng in fixes:
            if driver != self._driver:
                self._end_stretch()
                self._driver, self._t, self._lat, self._lng = driver, t, lat, lng
                continue
            dt = t - self._t
            if dt < r.min_gap_s:
                continue
            if dt > r.max_gap_s:
                self._end_stretch()
                self._t, self._lat, self._lng = t, lat, lng
                continue
            distance = haversine_m(self._lat, self._lng, lat, lng)
            speed = distance / dt
            if speed > r.max_speed_mps:
                continue
            cell = h3i.latlng_to_cell((self._lat + lat) / 2, (self._lng + lng) / 2, RESOLUTION)
            segment = _Segment(int(self._t // HOUR_S) * HOUR_S, cell, distance, dt)
            starts = self._t
            self._t, self._lat, self._lng = t, lat, lng
            if self.since is not None and starts < self.since:
                # Context only: it says whether the driver is standing, it is not counted.
                self._track_standing(segment, speed, count=False)
                continue
            self._track_standing(segment, speed, count=True)

    def finish(self) -> dict[tuple[int, int], Tally]:
        self._end_stretch()
        self._driver = None
        return self.tallies

    def _track_standing(self, segment: _Segment, speed: float, count: bool) -> None:
        if speed < self.rules.still_mps:
            self._standing_s += segment.seconds
            if self._parked or self._standing_s > self.rules.park_s:
                self._parked = True
                self._standing.clear()
                self._pass = None  # moving off after parking starts a new pass
            elif count:
                self._standing.append(segment)
            return
        if not self._parked:
            for held in self._standing:
                self._keep(held)
        self._standing.clear()
        self._standing_s, self._parked = 0.0, False
        if count:
            self._keep(segment)

    def _keep(self, segment: _Segment) -> None:
        key = (segment.hour, segment.cell)
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = Tally()
        if key != self._pass:
            tally.passes += 1
            self._pass = key
        tally.add(segment.distance_m, segment.seconds)

    def _end_stretch(self) -> None:
        self._standing.clear()
        self._standing_s, self._parked, self._pass = 0.0, False, None


def derive(
    fixes: Iterable[tuple[int, float, float, float]], rules: SegmentRules | None = None, since: float | None = None
) -> dict[tuple[int, int], Tally]:
    """All fixes at once (tests, the bench): (hour, cell) → Tally."""
    deriver = Deriver(rules or SegmentRules(), since)
    deriver.feed(fixes)
    return deriver.finish()


def speed_kmh(tally: Tally) -> float:
    return tally.distance_m / tally.seconds * 3.6 if tally.seconds > 0 else math.nan
