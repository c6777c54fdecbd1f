"""Learned speeds in memory, and the travel time along a straight line (pure).

A pace (seconds per metre) is looked up per H3 resolution-8 cell and hour of week, falling
back, when that cell-hour has fewer than the minimum passes, to its resolution-7 parent in the
same hour of week, then to the whole city in that hour of week, then to ``AVERAGE_SPEED_KMH``.
Rows under the minimum are never loaded, so a missing key is the fallback.

Hour of week: 0 is Monday 00:00-01:00 and 167 Sunday 23:00-24:00, in the zone
``LEARNED_SPEEDS_TZ`` (UTC unless set): rush hour is a local matter.

The travel time of a trip without a routing server is the straight line from start to end cut
into pieces of at most ``PIECE_M``, each driven at the pace of the resolution-8 cell its middle
lies in, times ``DETOUR_FACTOR`` (roads are longer than the straight line; the learned pace is
along the roads). Pieces are shorter than a resolution-8 cell (about 920 m across), so the
cells the line crosses each get their share of the distance, give or take one piece.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import h3.api.basic_int as h3i

from hexfleet.eta.segments import Tally
from hexfleet.geo import haversine_m

PIECE_M = 150.0
MAX_PIECES = 400  # a 60 km line is cut into 150 m pieces, a longer one into coarser ones
# Bounds on a learned speed: a cell that only ever saw a jam or a glitch cannot promise
# a 40-minute kilometre or a 200 km/h one.
MIN_KMH = 4.0
MAX_KMH = 150.0
HOURS_OF_WEEK = 168
CITY = 0  # the cell number of the city-wide rows (no H3 cell is 0)


@dataclass(frozen=True)
class Row:
    resolution: int  # 8, 7, or 0 for the whole city
    cell: int
    hour_of_week: int
    passes: int
    distance_m: float
    seconds: float


def hour_of_week(at: float, zone: ZoneInfo) -> int:
    local = datetime.fromtimestamp(at, zone)
    return local.weekday() * 24 + local.hour


def _pace(distance_m: float, seconds: float) -> float:
    kmh = min(MAX_KMH, max(MIN_KMH, distance_m / seconds * 3.6))
    return 3.6 / kmh


@dataclass
class SpeedTable:
    """Paces by (resolution-8 cell, hour), (resolution-7 cell, hour) and hour (city-wide)."""

    default_kmh: float
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    res8: dict[tuple[int, int], float] = field(default_factory=dict)
    res7: dict[tuple[int, int], float] = field(default_factory=dict)
    city: dict[int, float] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[Row], default_kmh: float, zone: ZoneInfo, min_passes: int) -> SpeedTable:
        table = cls(default_kmh, zone)
        for row in rows:
            if row.passes < min_passes or row.seconds <= 0 or row.distance_m <= 0:
                continue
            pace = _pace(row.distance_m, row.seconds)
            if row.resolution == 8:
                table.res8[(row.cell, row.hour_of_week)] = pace
            elif row.resolution == 7:
                table.res7[(row.cell, row.hour_of_week)] = pace
            elif row.resolution == 0:
                table.city[row.hour_of_week] = pace
        return table

    @property
    def empty(self) -> bool:
        return not self.city and not self.res7 and not self.res8

    def pace(self, cell8: int, how: int) -> float:
        """Seconds per metre in this cell at this hour of week, through the fallback chain."""
        pace = self.res8.get((cell8, how))
        if pace is None:
            pace = self.res7.get((h3i.cell_to_parent(cell8, 7), how))
            if pace is None:
                pace = self.city.get(how)
                if pace is None:
                    pace = 3.6 / self.default_kmh
        return pace

    def source(self, cell8: int, how: int) -> str:
        """Which link of the chain answers (for people: the CLI, the bench)."""
        if (cell8, how) in self.res8:
            return "cell"
        if (h3i.cell_to_parent(cell8, 7), how) in self.res7:
            return "area"
        return "city" if how in self.city else "average"

    def line_s(self, lat1: float, lng1: float, lat2: float, lng2: float, at: float) -> float:
        """Seconds to drive the straight line (no detour factor) starting at ``at``."""
        distance = haversine_m(lat1, lng1, lat2, lng2)
        if self.empty or distance == 0:
            return distance * 3.6 / self.default_kmh
        how = hour_of_week(at, self.zone)
        n = min(MAX_PIECES, max(1, math.ceil(distance / PIECE_M)))
        dlat, dlng = (lat2 - lat1) / n, (lng2 - lng1) / n
        total = 0.0  # in pieces; times distance / n at the end
        last_cell, last_pace = 0, 0.0
        for k in range(n):
            f = k + 0.5
            cell = h3i.latlng_to_cell(lat1 + dlat * f, lng1 + dlng * f, 8)
            if cell != last_cell:
                last_cell, last_pace = cell, self.pace(cell, how)
            total += last_pace
        return total * distance / n


def rows_from_tallies(tallies: dict[tuple[int, int], Tally], zone: ZoneInfo) -> list[Row]:
    """What ``queries.rebuild_speeds`` computes in SQL, in Python (the bench; a test holds the
    two to the same answer): per hour of week, a row per resolution-8 cell, per resolution-7
    cell and for the city."""
    sums: dict[tuple[int, int, int], list[float]] = {}
    for (hour, cell8), t in tallies.items():
        how = hour_of_week(hour, zone)
        for key in ((8, cell8, how), (7, h3i.cell_to_parent(cell8, 7), how), (0, CITY, how)):
            s = sums.setdefault(key, [0, 0.0, 0.0])
            s[0] += t.passes
            s[1] += t.distance_m
            s[2] += t.seconds
    return [Row(r, c, how, int(p), d, sec) for (r, c, how), (p, d, sec) in sums.items()]
