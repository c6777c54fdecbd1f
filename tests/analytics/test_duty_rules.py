"""Duty-history rules (hexfleet/analytics/duty.py), by tables: observations → rows."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hexfleet.analytics import duty
from hexfleet.analytics.duty import LastSeen, Observation, OpenRow, Row, State

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # only instants relative to it matter here
A, B = 111, 222  # two cells


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def obs(seconds: float, kind: str, value=None) -> Observation:
    if kind == "duty":
        return Observation(1, t(seconds), "duty", duty=value)
    if kind == "seen":
        return Observation(1, t(seconds), "seen", cell=value)
    return Observation(1, t(seconds), kind)


def shape(rows: list[Row]) -> list[tuple]:
    return [((r.started_at - T0).total_seconds(), r.status, r.cell, r.source) for r in rows]


OFFLINE = State("off_duty", False, None)


@pytest.mark.parametrize(
    ("start", "observations", "rows"),
    [
        # A shift: comes online, goes available, moves, takes a ride, goes silent, comes back.
        (
            OFFLINE,
            [obs(0, "seen", A), obs(5, "duty", "available"), obs(600, "seen", B), obs(900, "duty", "busy"),
             obs(2000, "stale"), obs(2400, "seen", B), obs(2500, "duty", "off_duty")],
            [(0, "off_duty", A, "back"), (5, "available", A, "duty"), (600, "available", B, "moved"),
             (900, "busy", B, "duty"), (2000, "stale", B, "stale"), (2400, "busy", B, "back"),
             (2500, "off_duty", B, "duty")],
        ),
        # A fix in the same cell, a duty repeated: rows that repeat the state (the tracker seldom
        # sends such: it observes gaps, moves and status events), kept so order never matters.
        (State("available", True, A), [obs(10, "seen", A), obs(20, "duty", "available")],
         [(10, "available", A, "moved"), (20, "available", A, "duty")]),
        # A duty change while stale: recorded, still stale until a fix comes.
        (
            State("available", False, A),
            [obs(10, "duty", "busy"), obs(30, "seen", A)],
            [(10, "stale", A, "duty"), (30, "busy", A, "back")],
        ),
        # Off duty and silent: off duty either way (a row, for the online flag).
        (State("off_duty", True, A), [obs(10, "stale")], [(10, "off_duty", A, "stale")]),
        # Two observations at one instant: the later one read wins.
        (State("available", True, A), [obs(10, "duty", "busy"), obs(10, "duty", "off_duty")],
         [(10, "off_duty", A, "duty")]),
    ],
)  # fmt: skip
def test_refold_from_a_state(start, observations, rows):
    got = duty.refold(1, start, [], observations, "standard")
    assert shape(got) == rows
    for earlier, later in itertools.pairwise(got):
        assert earlier.ended_at == later.started_at  # each row lasts until the next
    if got:
        assert got[-1].ended_at is None


def test_a_row_that_arrives_late_is_put_in_its_place_and_later_rows_follow_it():
    # Stored: the driver moved at 600 (written while still "available"). Then the status event
    # of 500 (busy) arrives: the move row must become busy too, not keep "available".
    stored = duty.refold(1, State("available", True, A), [], [obs(600, "seen", B)], "standard")
    assert shape(stored) == [(600, "available", B, "moved")]
    again = duty.refold(1, State("available", True, A), stored, [obs(500, "duty", "busy")], "standard")
    assert shape(again) == [(500, "busy", A, "duty"), (600, "busy", B, "moved")]
    assert duty.affected_since(again, stored) == t(500)


def test_a_late_stale_row_turns_a_later_duty_row_stale():
    stored = duty.refold(1, State("available", True, A), [], [obs(100, "duty", "busy")], "standard")
    again = duty.refold(1, State("available", True, A), stored, [obs(70, "stale")], "standard")
    assert shape(again) == [(70, "stale", A, "stale"), (100, "stale", A, "duty")]


def test_the_rows_do_not_depend_on_the_order_observations_arrive_in():
    script = [
        obs(0, "seen", A), obs(5, "duty", "available"), obs(100, "stale"), obs(130, "seen", A),
        obs(140, "seen", B), obs(150, "duty", "busy"), obs(200, "stale"), obs(210, "duty", "available"),
    ]  # fmt: skip
    at_once = duty.refold(1, OFFLINE, [], script, "standard")
    for order in ([7, 6, 5, 4, 3, 2, 1, 0], [3, 0, 6, 1, 4, 7, 2, 5], [1, 3, 5, 7, 0, 2, 4, 6]):
        rows: list[Row] = []
        for i in order:  # one at a time, as the writer does: the rows from its instant on, refolded
            o = script[i]
            before = [r for r in rows if r.started_at < o.at]
            later = [r for r in rows if r.started_at >= o.at]
            rows = before + duty.refold(1, before[-1].state if before else OFFLINE, later, [o], "standard")
            rows = [replace(r, ended_at=n.started_at) for r, n in itertools.pairwise(rows)] + rows[-1:]
        assert rows == at_once, order


def test_a_redelivery_changes_nothing():
    first = duty.refold(1, OFFLINE, [], [obs(0, "seen", A), obs(5, "duty", "available")], "standard")
    again = duty.refold(1, OFFLINE, first, [obs(0, "seen", A), obs(5, "duty", "available")], "standard")
    assert again == first
    assert duty.affected_since(again, first) is None


@pytest.mark.parametrize(
    ("last", "records", "expected"),
    [
        # never seen: the first fix is a sighting
        (None, [("fix", 100.0, A), ("fix", 102.0, A)], [(100, "seen", A)]),
        # a gap longer than STALE_AFTER_S (60): stale 60 s after the last fix, then back
        (LastSeen(100.0, A), [("fix", 200.0, A)], [(160, "stale", None), (200, "seen", A)]),
        # exactly 60 s is not yet stale
        (LastSeen(100.0, A), [("fix", 160.0, A)], []),
        # a move to another cell
        (LastSeen(100.0, A), [("fix", 102.0, B), ("fix", 104.0, B)], [(102, "seen", B)]),
        # a status event after a silence: stale first, then the change
        (LastSeen(100.0, A), [("duty", 300.0, "busy"), ("duty", 400.0, "available")],
         [(160, "stale", None), (300, "duty", "busy"), (400, "duty", "available")]),
        # an unknown status is ignored
        (LastSeen(100.0, A), [("duty", 101.0, "dancing")], []),
    ],
)  # fmt: skip
def test_observations_from_a_batch(last, records, expected):
    base = T0.timestamp()
    shifted = None if last is None else LastSeen(base + last.received_at, last.cell)
    got = duty.from_records(1, shifted, [(k, base + ts, v) for k, ts, v in records], 60.0)
    simple = [((o.at - T0).total_seconds(), o.kind, o.duty if o.kind == "duty" else o.cell) for o in got]
    assert simple == [(s, k, v) for s, k, v in expected]


def test_the_sweep_and_the_fix_path_write_the_same_stale_row():
    base = T0.timestamp()
    from_fix = duty.from_records(1, LastSeen(base, A), [("fix", base + 500, A)], 60.0)[0]
    from_sweep = duty.from_sweep({1: OpenRow(t(-30), True)}, {1: LastSeen(base, A)}, base + 71, 60.0, 10.0)
    assert from_sweep == [from_fix]


@pytest.mark.parametrize(
    ("row", "fix_at", "now", "expected"),
    [
        (OpenRow(t(0), True), 0, 69, []),  # silent 69 s: within the margin, maybe a fix is on its way
        (OpenRow(t(0), True), 0, 71, [(60, "stale")]),
        (OpenRow(t(0), True), None, 71, [(60, "stale")]),  # no fix known: from the row's start
        (OpenRow(t(0), False), 100, 120, [(100, "seen")]),  # offline, but a fresh fix: back
        (OpenRow(t(200), False), 100, 120, []),  # the fix is older than the stale row
        (OpenRow(t(0), False), 100, 200, []),  # the fix is not fresh any more
        (None, 100, 120, [(100, "seen")]),  # no row yet, online: its first row
        (None, None, 120, []),
    ],
)
def test_what_the_sweep_finds(row, fix_at, now, expected):
    base = T0.timestamp()
    seen = {} if fix_at is None else {1: LastSeen(base + fix_at, A)}
    got = duty.from_sweep({1: row}, seen, base + now, 60.0, 10.0)
    assert [((o.at - T0).total_seconds(), o.kind) for o in got] == expected
