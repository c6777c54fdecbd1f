"""Where demand will be (pure): the requests expected per cell in the coming hour, against the
drivers available there now.

**Method.** The coming hour is the next 60 minutes from now. It overlaps two clock hours: the
rest of this one (a share ``f`` of it) and the start of the next (``1 − f``). For each of the
last ``weeks`` weeks, the requests of a resolution-7 cell in the same two hours of that week
(the same hour of week) are blended the same way, ``f · this + (1 − f) · next``, and the weeks
are averaged with weights that halve every ``HALF_LIFE_WEEKS`` (last week counts most: a new
hotel, a closed station or the season shows up within a few weeks, and one odd week is damped
by the others). A week whose two hours were never rolled up (before analytics began, a gap
in the worker) is left out of the average instead of counting as a week with no demand; a
cell with no rows in a rolled-up week had none.

**Short of drivers.** A driver available now can take about ``RIDES_PER_DRIVER_HOUR`` rides in
the coming hour (a city ride with its pickup is 20–30 minutes). A cell is short when at least
``MIN_EXPECTED`` requests are expected there and more than its drivers can take:
``expected > available × RIDES_PER_DRIVER_HOUR``. ``gap`` is how many rides would go unserved
(expected − capacity), so the worst cells sort first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

WEEKS = 4
MAX_WEEKS = 12
HALF_LIFE_WEEKS = 2.0
RIDES_PER_DRIVER_HOUR = 2.0
MIN_EXPECTED = 1.0
HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)


def weights(weeks: int, half_life: float = HALF_LIFE_WEEKS) -> list[float]:
    """The weight of each past week, last week first: 1, then halving every ``half_life`` weeks."""
    return [0.5 ** (k / half_life) for k in range(weeks)]


def window(now: datetime) -> tuple[datetime, float]:
    """(start of this clock hour in UTC, the share of it still to come)."""
    now = now.astimezone(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    return hour, 1.0 - (now - hour) / HOUR


def history_hours(now: datetime, weeks: int) -> list[tuple[datetime, datetime]]:
    """For each past week, last week first: (the same clock hour then, the one after it)."""
    hour, _ = window(now)
    return [(hour - WEEK * k, hour - WEEK * k + HOUR) for k in range(1, weeks + 1)]


def expected(
    counts: Sequence[tuple[float, float]], known: Sequence[bool], share: float, week_weights: Sequence[float]
) -> float | None:
    """Requests expected in the coming hour from each past week's (this hour, next hour)
    counts, last week first; weeks not ``known`` are left out. None when no week is known."""
    total = weight = 0.0
    for (this_hour, next_hour), ok, w in zip(counts, known, week_weights, strict=True):
        if not ok:
            continue
        total += w * (share * this_hour + (1.0 - share) * next_hour)
        weight += w
    return total / weight if weight else None


@dataclass(frozen=True)
class CellOutlook:
    cell: int
    expected: float
    available: int
    capacity: float  # rides the available drivers can take in the hour
    gap: float  # expected − capacity (positive: rides that would wait or go unserved)
    short: bool


def judge(
    expected_requests: float,
    available: int,
    per_driver: float = RIDES_PER_DRIVER_HOUR,
    min_expected: float = MIN_EXPECTED,
) -> tuple[float, float, bool]:
    """(capacity, gap, short) of a cell expecting ``expected_requests`` with ``available`` drivers."""
    capacity = available * per_driver
    gap = expected_requests - capacity
    return capacity, gap, expected_requests >= min_expected and gap > 0


def outlook(
    counts: Mapping[int, Sequence[tuple[float, float]]],
    known: Sequence[bool],
    share: float,
    available: Mapping[int, int],
    week_weights: Sequence[float],
) -> list[CellOutlook]:
    """Every cell with demand in its history or a driver now, the shortest first.

    ``counts``: cell → each past week's (this hour, next hour) requests, last week first."""
    weeks = len(known)
    none = [(0.0, 0.0)] * weeks
    out = []
    for cell in set(counts) | {c for c, n in available.items() if n > 0}:
        value = expected(counts.get(cell, none), known, share, week_weights) or 0.0
        drivers = available.get(cell, 0)
        capacity, gap, short = judge(value, drivers)
        out.append(CellOutlook(cell, round(value, 2), drivers, capacity, round(gap, 2), short))
    return sorted(out, key=lambda c: (not c.short, -c.gap, c.cell))
