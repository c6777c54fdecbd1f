"""Deriving driving time and distance from fixes: what is kept, what is dropped (tables)."""

from __future__ import annotations

import math

import h3.api.basic_int as h3i
import pytest

from hexfleet.eta.segments import HOUR_S, SegmentRules, derive, speed_kmh

LAT, LNG = 52.52, 13.405
M_PER_DEG_LAT = 111_195.0
T0 = 1_000 * HOUR_S  # an hour boundary; pure arithmetic, never meets a time filter


def north(metres: float) -> float:
    return LAT + metres / M_PER_DEG_LAT


def trail(*moves: tuple[float, float], driver: int = 1, start: float = T0, at: float = 0.0):
    """Fixes from (seconds, metres north) steps: each step adds a fix that far later and further."""
    fixes = [(driver, start, north(at), LNG)]
    t, y = start, at
    for dt, dy in moves:
        t, y = t + dt, y + dy
        fixes.append((driver, t, north(y), LNG))
    return fixes


def totals(tallies) -> tuple[int, int, float, float]:
    return (
        sum(t.passes for t in tallies.values()),
        sum(t.segments for t in tallies.values()),
        round(sum(t.distance_m for t in tallies.values())),
        round(sum(t.seconds for t in tallies.values())),
    )


@pytest.mark.parametrize(
    ("moves", "expected", "why"),
    [
        ([(4, 40)] * 5, (1, 5, 200, 20), "steady driving: every segment, one pass"),
        ([(4, 40), (4, 0.5), (4, 0.3), (4, 40)], (1, 4, 81, 16), "a short stop (a red light) counts"),
        ([(4, 40)] + [(4, 0.2)] * 30 + [(4, 40)], (1, 2, 80, 8), "standing over 90 s (parked) is dropped"),
        ([(4, 40), (4, 0.2), (4, 0.2)], (1, 1, 40, 4), "standing at the end of the data is dropped"),
        ([(4, 40), (60, 400), (4, 40)], (2, 2, 80, 8), "a gap over 30 s breaks the stretch"),
        ([(4, 40), (0.5, 5), (4, 40)], (1, 2, 85, 8.5), "a fix half a second after the last is skipped"),
        ([(4, 40), (4, 900), (4, -860)], (1, 2, 80, 12), "a GPS jump (225 m/s) is dropped, not its anchor"),
        ([(4, 0.2)] * 10, (0, 0, 0, 0), "a parked driver: nothing"),
    ],
)
def test_what_is_kept(moves, expected, why):
    assert totals(derive(trail(*moves))) == pytest.approx(expected, abs=1), why


def test_drivers_are_separate_stretches():
    fixes = trail((4, 40), (4, 40), driver=1) + trail((4, 40), driver=2, at=5000)
    assert totals(derive(fixes))[:2] == (2, 3)


def test_segments_count_in_the_cell_of_their_middle_and_the_hour_they_began():
    fixes = trail(*[(4, 40)] * 40, start=T0 - 60)  # 160 s across the hour boundary, 1.6 km north
    tallies = derive(fixes)
    assert {hour for hour, _ in tallies} == {T0 - HOUR_S, T0}
    before = sum(t.seconds for (hour, _), t in tallies.items() if hour < T0)
    assert before == pytest.approx(60)
    cells = {cell for _, cell in tallies}
    assert h3i.latlng_to_cell(north(20), LNG, 8) in cells and len(cells) >= 2  # 1.6 km crosses cells
    assert all(speed_kmh(t) == pytest.approx(36) for t in tallies.values())


def test_a_pass_is_one_driver_once_through_a_cell():
    # There and back along the same street: two passes through each cell it crosses.
    tallies = derive(trail(*([(4, 40)] * 30 + [(4, -40)] * 30)))
    first = h3i.latlng_to_cell(north(20), LNG, 8)
    assert tallies[(T0, first)].passes == 2


def test_since_counts_only_what_begins_after_it_but_uses_the_lookback():
    # Parked for 80 s before ``since`` and 20 s after: still parking (over 90 s), not a stop.
    fixes = trail(*[(4, 0.2)] * 25, (4, 40), (4, 40), start=T0 - 80)
    assert totals(derive(fixes, since=T0)) == (1, 2, 80, 8)
    assert totals(derive(fixes, since=None))[1] == 2  # without since the same: parking is dropped


def test_rules_are_tunable():
    rules = SegmentRules(park_s=300)
    moves = [(4, 40)] + [(4, 0.2)] * 30 + [(4, 40)]
    assert totals(derive(trail(*moves), rules))[1] == 32  # 2 minutes of standing is now traffic
    assert math.isclose(rules.lookback_s, 330)
