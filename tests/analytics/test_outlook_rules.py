"""Where demand will be: the pure rules (hexfleet/analytics/outlook.py), by tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hexfleet.analytics import outlook

W4 = outlook.weights(4)


def test_weights_halve_every_half_life():
    assert outlook.weights(1) == [1.0]
    assert W4 == pytest.approx([1.0, 0.7071, 0.5, 0.3536], abs=1e-4)
    assert outlook.weights(3, half_life=1) == [1.0, 0.5, 0.25]


@pytest.mark.parametrize(
    ("counts", "known", "share", "want"),
    [
        # Every week the same: that number, whatever the weights and the share.
        ([(6, 6)] * 4, [True] * 4, 0.5, 6.0),
        # The rest of this hour only (share 1): the next hour does not count.
        ([(4, 100)] * 4, [True] * 4, 1.0, 4.0),
        # Just before the next hour (share 0): only the next hour counts.
        ([(4, 100)] * 4, [True] * 4, 0.0, 100.0),
        # Half way: half of each.
        ([(4, 8)] * 4, [True] * 4, 0.5, 6.0),
        # Last week weighs most: (1·10 + 0.7071·0 + 0.5·0 + 0.3536·0) / 2.5607.
        ([(10, 10), (0, 0), (0, 0), (0, 0)], [True] * 4, 0.5, 10 / sum(W4)),
        # The oldest week weighs least.
        ([(0, 0), (0, 0), (0, 0), (10, 10)], [True] * 4, 0.5, 10 * W4[3] / sum(W4)),
        # A week never rolled up is left out, not read as a week without demand.
        ([(8, 8), (0, 0), (0, 0), (0, 0)], [True, False, False, False], 0.5, 8.0),
        ([(0, 0), (9, 9), (0, 0), (0, 0)], [False, True, True, False], 0.5, 9 * W4[1] / (W4[1] + W4[2])),
        # No week known: no expectation at all.
        ([(5, 5)] * 4, [False] * 4, 0.5, None),
    ],
)
def test_expected_requests(counts, known, share, want):
    got = outlook.expected(counts, known, share, W4)
    assert got == (None if want is None else pytest.approx(want))


@pytest.mark.parametrize(
    ("expected", "available", "capacity", "gap", "short"),
    [
        (0.0, 0, 0.0, 0.0, False),  # nothing expected, nobody there: fine
        (0.9, 0, 0.0, 0.9, False),  # under one request expected: not worth a flag
        (1.0, 0, 0.0, 1.0, True),  # one request, no driver: short
        (4.0, 2, 4.0, 0.0, False),  # two drivers take four rides an hour: just enough
        (4.5, 2, 4.0, 0.5, True),
        (3.0, 5, 10.0, -7.0, False),  # more drivers than needed
    ],
)
def test_short_of_drivers(expected, available, capacity, gap, short):
    assert outlook.judge(expected, available) == (capacity, pytest.approx(gap), short)


def test_the_coming_hour_is_the_rest_of_this_hour_and_the_start_of_the_next():
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert outlook.window(hour) == (hour, 1.0)
    assert outlook.window(hour + timedelta(minutes=15)) == (hour, 0.75)
    start, share = outlook.window(hour + timedelta(minutes=59, seconds=30))
    assert start == hour and share == pytest.approx(1 / 120)
    pairs = outlook.history_hours(hour + timedelta(minutes=20), 3)
    assert pairs == [
        (hour - timedelta(days=7 * k), hour - timedelta(days=7 * k) + timedelta(hours=1)) for k in (1, 2, 3)
    ]


def test_outlook_lists_cells_with_demand_or_drivers_shortest_first():
    counts = {1: [(10, 10)] * 4, 2: [(3, 3)] * 4, 3: [(1, 1)] * 4}
    available = {2: 1, 4: 2}  # cell 4: drivers, no demand
    judged = outlook.outlook(counts, [True] * 4, 0.5, available, W4)
    assert [(c.cell, c.expected, c.available, c.short) for c in judged] == [
        (1, 10.0, 0, True),  # gap 10
        (2, 3.0, 1, True),  # gap 1
        (3, 1.0, 0, True),  # gap 1, a higher cell number
        (4, 0.0, 2, False),
    ]
