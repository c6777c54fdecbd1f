"""Replaying a driver's stored history (pure): the track, its stops, speeds and summary.

Which fixes make the track: the ones shown live (no flag) and the late ones (flag
``out-of-order``: a phone's buffered fixes, in place once sorted by device time), as the
control room's trail does. Implausible jumps and inaccurate fixes are kept apart
(``Replay.flagged``): drawn on their own, never joined into the line or counted in
the distance.

A fix's speed is the one the phone reported, or, when it reported none, the average over
the segment from the previous fix. Segments are coloured by that speed, in bands; a
segment longer than ``GAP_S`` in time is a gap (the phone was off or out of coverage).
The distance leaves out what GPS noise adds while the driver stands (``travelled_m``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

from hexfleet.geo import haversine_m
from hexfleet.tracking.filters import OUT_OF_ORDER

# A stop: the driver stayed within STOP_RADIUS_M of where it began for at least STOP_MIN_S.
STOP_RADIUS_M = 50.0
STOP_MIN_S = 120.0
# No fix for this long: the segment is drawn as a gap, not coloured by a speed.
GAP_S = 300.0
GAP = -1

# Speed bands: (upper bound in km/h, label); a speed belongs to the first band it is under.
BANDS: tuple[tuple[float, str], ...] = (
    (10.0, "under 10 km/h"),
    (30.0, "10–30 km/h"),
    (50.0, "30–50 km/h"),
    (80.0, "50–80 km/h"),
    (math.inf, "80 km/h and over"),
)

_M_PER_DEG = math.pi / 180 * 6_371_008.8


# Not frozen: a frozen dataclass costs 4x as much to build (41 ms against 11 ms for the
# 43,200 fixes of a day here); nothing changes a Fix after it is read.
@dataclass(slots=True)
class Fix:
    ts: float  # device time, epoch seconds UTC
    lat: float
    lng: float
    speed_mps: float | None = None
    heading: float | None = None
    accuracy_m: float | None = None
    altitude_m: float | None = None
    flag: str | None = None  # None: shown live; else why it was kept out (hexfleet.tracking.filters)

    @property
    def on_track(self) -> bool:
        return self.flag is None or self.flag == OUT_OF_ORDER


@dataclass(frozen=True, slots=True)
class Stop:
    first: int  # index of its first fix in the track
    last: int  # index of its last fix
    start_ts: float
    end_ts: float
    lat: float  # the mean position of its fixes
    lng: float

    @property
    def duration_s(self) -> float:
        return self.end_ts - self.start_ts


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive segments in one speed band: track fixes ``first`` to ``last`` inclusive."""

    first: int
    last: int
    band: int  # index into BANDS, or GAP


@dataclass(frozen=True, slots=True)
class Summary:
    fixes: int  # on the track
    flagged: int
    distance_m: float
    duration_s: float  # first to last fix of the track
    stopped_s: float
    moving_s: float  # the duration less the stops
    max_speed_mps: float | None
    avg_speed_mps: float | None  # distance over moving time
    stops: int


@dataclass(frozen=True, slots=True)
class Replay:
    track: list[Fix]
    flagged: list[Fix]
    speeds: list[float | None]  # per track fix
    stops: list[Stop]
    runs: list[Run]
    summary: Summary


def split(fixes: list[Fix]) -> tuple[list[Fix], list[Fix]]:
    """(the track, the flagged fixes kept apart), each in the order given."""
    track = [f for f in fixes if f.on_track]
    return track, [f for f in fixes if not f.on_track]


def segment_lengths(track: list[Fix]) -> list[float]:
    """Metres from each fix to the next (one fewer than the fixes).

    On a plane for segments under ~10 km (off by less than a millimetre at a few hundred
    metres, and a third of the cost of the haversine a day of fixes would pay 43,200 times);
    on the sphere beyond."""
    lengths = []
    cos, radians, sqrt = math.cos, math.radians, math.sqrt
    for a, b in pairwise(track):
        dy = (b.lat - a.lat) * _M_PER_DEG
        dx = (b.lng - a.lng) * _M_PER_DEG * cos(radians((a.lat + b.lat) / 2))
        metres = sqrt(dx * dx + dy * dy)
        lengths.append(metres if metres < 10_000 else haversine_m(a.lat, a.lng, b.lat, b.lng))
    return lengths


def _reported(speed: float | None) -> float | None:
    return speed if speed is not None and speed >= 0 and math.isfinite(speed) else None


def point_speeds(track: list[Fix], lengths: list[float] | None = None) -> list[float | None]:
    """Each fix's speed (m/s): reported, else over the segment from the previous fix; None
    for a first fix without one, or after no time at all."""
    lengths = segment_lengths(track) if lengths is None else lengths
    speeds: list[float | None] = []
    for i, fix in enumerate(track):
        speed = _reported(fix.speed_mps)
        if speed is None and i > 0:
            seconds = fix.ts - track[i - 1].ts
            speed = lengths[i - 1] / seconds if seconds > 0 else None
        speeds.append(speed)
    return speeds


_UPPER_MPS = tuple(upper / 3.6 for upper, _ in BANDS)


def speed_band(speed_mps: float | None) -> int:
    """The index in BANDS of this speed (no speed: the slowest band)."""
    speed = speed_mps or 0.0
    for index, upper in enumerate(_UPPER_MPS):
        if speed < upper:
            return index
    return len(BANDS) - 1


def find_stops(track: list[Fix], radius_m: float = STOP_RADIUS_M, min_s: float = STOP_MIN_S) -> list[Stop]:
    """Stops: from a fix, every following fix within ``radius_m`` of it, for ``min_s`` or more.

    A stop that GPS noise cut in two (its second part begins at the next fix, near the
    first part) is one stop. Cost: the fixes within the radius of each fix, and a fix that
    begins a stop is never looked at again, so a day of driving costs a few per fix.
    """
    stops: list[Stop] = []
    n = len(track)
    limit = radius_m * radius_m
    i = 0
    while i < n:
        anchor = track[i]
        # Metres on a plane tangent at the anchor: exact enough at tens of metres, and cheap.
        kx = _M_PER_DEG * math.cos(math.radians(anchor.lat))
        j = i + 1
        while j < n:
            dx = (track[j].lng - anchor.lng) * kx
            dy = (track[j].lat - anchor.lat) * _M_PER_DEG
            if dx * dx + dy * dy > limit:
                break
            j += 1
        if track[j - 1].ts - anchor.ts >= min_s:
            stops.append(_stop(track, i, j - 1))
            i = j
        else:
            i += 1
    return _merge(track, stops, radius_m)


def _stop(track: list[Fix], first: int, last: int) -> Stop:
    count = last - first + 1
    lat = sum(f.lat for f in track[first : last + 1]) / count
    lng = sum(f.lng for f in track[first : last + 1]) / count
    return Stop(first, last, track[first].ts, track[last].ts, lat, lng)


def _merge(track: list[Fix], stops: list[Stop], radius_m: float) -> list[Stop]:
    merged: list[Stop] = []
    for stop in stops:
        before = merged[-1] if merged else None
        if (
            before is not None
            and stop.first == before.last + 1
            and haversine_m(before.lat, before.lng, stop.lat, stop.lng) <= radius_m
        ):
            merged[-1] = _stop(track, before.first, stop.last)
        else:
            merged.append(stop)
    return merged


def speed_runs(track: list[Fix], speeds: list[float | None], gap_s: float = GAP_S) -> list[Run]:
    """The track cut where its speed band changes: each segment takes the band of the fix
    it ends at, or GAP when it spans more than ``gap_s``. Neighbouring runs share a fix."""
    runs: list[Run] = []
    first, band = 0, None
    for i in range(1, len(track)):
        this = GAP if track[i].ts - track[i - 1].ts > gap_s else speed_band(speeds[i])
        if this != band:
            if band is not None:
                runs.append(Run(first, i - 1, band))
            first, band = i - 1, this
    if band is not None:
        runs.append(Run(first, len(track) - 1, band))
    return runs


def travelled_m(track: list[Fix], lengths: list[float], stops: list[Stop]) -> float:
    """The distance driven: every segment outside the stops, and across each stop the
    straight line from its first fix to its last. A phone lying still wobbles by metres
    every fix; summed over a 5-minute stop that is about a kilometre nobody drove."""
    total = sum(lengths)
    for stop in stops:
        total -= sum(lengths[stop.first : stop.last])
        first, last = track[stop.first], track[stop.last]
        total += haversine_m(first.lat, first.lng, last.lat, last.lng)
    return total


def summarise(
    track: list[Fix], speeds: list[float | None], stops: list[Stop], flagged: int, distance_m: float
) -> Summary:
    duration = track[-1].ts - track[0].ts if track else 0.0
    stopped = sum(s.duration_s for s in stops)
    moving = max(0.0, duration - stopped)
    known = [s for s in speeds if s is not None]
    return Summary(
        fixes=len(track),
        flagged=flagged,
        distance_m=distance_m,
        duration_s=duration,
        stopped_s=stopped,
        moving_s=moving,
        max_speed_mps=max(known) if known else None,
        avg_speed_mps=distance_m / moving if moving > 0 else None,
        stops=len(stops),
    )


def analyse(fixes: list[Fix]) -> Replay:
    """Everything the replay shows, from one driver's fixes in device-time order."""
    track, flagged = split(fixes)
    lengths = segment_lengths(track)
    speeds = point_speeds(track, lengths)
    stops = find_stops(track)
    summary = summarise(track, speeds, stops, len(flagged), travelled_m(track, lengths, stops))
    return Replay(track, flagged, speeds, stops, speed_runs(track, speeds), summary)


# ------------------------------------------------------------------ JSON for the page

COLUMNS = ("t", "lat", "lng", "speed_mps", "heading", "accuracy_m", "altitude_m", "flag")


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _row(fix: Fix, speed: float | None) -> list:
    # The stored values come rounded from the query (history.py); only a derived speed is
    # rounded here, and only when it is one (round() costs ~0.6 us).
    if speed is not None and speed != fix.speed_mps:
        speed = round(speed, 2)
    return [fix.ts, fix.lat, fix.lng, speed, fix.heading, fix.accuracy_m, fix.altitude_m, fix.flag]


def to_json(replay: Replay) -> dict:
    """The replay as compact JSON: fixes as rows of COLUMNS (t in epoch seconds), a day of
    fixes at one every 2 s is about 2.5 MB this way, twice that as objects."""
    s = replay.summary
    return {
        "columns": list(COLUMNS),
        "track": [_row(f, v) for f, v in zip(replay.track, replay.speeds, strict=True)],
        "flagged": [_row(f, f.speed_mps) for f in replay.flagged],
        "stops": [
            {
                "first": stop.first,
                "last": stop.last,
                "start": stop.start_ts,
                "end": stop.end_ts,
                "duration_s": round(stop.duration_s, 3),
                "lat": round(stop.lat, 6),
                "lng": round(stop.lng, 6),
            }
            for stop in replay.stops
        ],
        "segments": [[run.first, run.last, run.band] for run in replay.runs],
        "bands": [
            {"band": i, "label": label, "below_kmh": None if math.isinf(upper) else upper}
            for i, (upper, label) in enumerate(BANDS)
        ],
        "summary": {
            "fixes": s.fixes,
            "flagged": s.flagged,
            "distance_m": round(s.distance_m, 1),
            "duration_s": round(s.duration_s, 3),
            "moving_s": round(s.moving_s, 3),
            "stopped_s": round(s.stopped_s, 3),
            "max_speed_mps": _r(s.max_speed_mps, 2),
            "avg_speed_mps": _r(s.avg_speed_mps, 2),
            "stops": s.stops,
        },
    }
