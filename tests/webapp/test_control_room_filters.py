"""The control room's list filter and sort (pure: no app, no stores).

static/js/control-room/match.js filters the map markers by the same rules; the browser tests in
e2e/test_control_room_shift.py check that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hexfleet.tracking.fleet import DriverView
from webapp.pages.control_room import filter_drivers, matches_status, needs_attention, sort_drivers

NOW = datetime.now(UTC)  # every rule takes `now` as an argument: any instant will do


def view(id: int, name: str, status: str = "available", presence: str = "online", **extra) -> DriverView:
    return DriverView(
        id=id, name=name, phone=extra.pop("phone", None), vehicle_plate=extra.pop("plate", None), status=status,
        online=presence == "online", stale=presence == "stale", lat=None, lng=None, ts=None, last_seen=None,
        speed_mps=None, heading=None, battery=None, **extra,
    )  # fmt: skip


FLEET = [
    view(1, "Ada", "available", plate="B-HX 101"),
    view(2, "Bea", "busy", phone="+49 30 1"),
    view(3, "Cy", "off_duty"),
    view(4, "Dee", "available", "stale"),
    view(5, "Eve", "available", "nofix"),
    view(6, "Fay", "busy", last_problem="implausible-jump", last_problem_at=NOW - timedelta(minutes=2)),
    view(7, "Gus", "available", last_problem="implausible-jump", last_problem_at=NOW - timedelta(hours=2)),
]


def ids(drivers) -> list[int]:
    return [d.id for d in drivers]


@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("", "", [1, 2, 3, 4, 5, 6, 7]),
        ("", "online", [1, 2, 3, 6, 7]),
        ("", "available", [1, 7]),  # online ones only, as the count card counts
        ("", "busy", [2, 6]),
        ("", "off_duty", [3]),
        ("", "stale", [4]),
        ("", "attention", [4, 6]),
        ("available", "", [1, 4, 5, 7]),  # a status word finds the status, not only names
        ("avail", "", [1, 4, 5, 7]),
        ("av", "", []),  # too short to mean a status
        ("off duty", "", [3]),
        ("off_duty", "", [3]),
        ("stale", "", [4]),
        ("busy", "online", [2, 6]),
        ("hx 1", "", [1]),
        ("+49 30", "", [2]),
        ("#3", "", [3]),
        ("bea", "available", []),
    ],
)
def test_filter(query, status, expected):
    assert sorted(ids(filter_drivers(FLEET, query, status, NOW))) == expected


def test_unknown_status_filters_nothing_out_of_matches_status():
    assert matches_status(FLEET[0], "", NOW)


def test_needs_attention_is_stale_or_a_recent_flag():
    assert [d.id for d in FLEET if needs_attention(d, NOW)] == [4, 6]


def test_sort_by_status_then_name_or_attention_first():
    assert ids(sort_drivers(FLEET, now=NOW)) == [1, 7, 2, 6, 3, 4, 5]
    assert ids(sort_drivers(FLEET, attention_first=True, now=NOW)) == [6, 4, 1, 7, 2, 3, 5]
