"""The alert rules as tables: each raised past its threshold, quiet before it, with the
occurrence that makes it raise once (pure: times are seconds from an origin, no clock)."""

from __future__ import annotations

import pytest

from hexfleet.alerts import judge
from hexfleet.alerts import rules as r
from hexfleet.alerts.rules import Anchor, Fix, HeldRide, OpenBooking, Rule, ZoneRef

RULES = r.AlertRules(
    unassigned_s=120,
    stale_after_s=60,
    eta_growth_s=300,
    not_moving_s=300,
    still_radius_m=50,
    no_driver_soon_s=60,
    patience_s=300,
    restricted_wait_s=300,
)
T0 = 100_000.0  # an origin; every time below is relative to it
PICKUP = (52.52, 13.405)
# About 111 m of latitude per 0.001°.
NEAR, FAR = 0.0003, 0.001


def booking(status="searching", started=T0, bid=7) -> OpenBooking:
    return OpenBooking(bid, status, started, *PICKUP)


def ride(status="assigned", assigned=T0, started=None, eta=300, driver=3, bid=7) -> HeldRide:
    return HeldRide(bid, status, driver, assigned, started, eta, *PICKUP)


def fix(at, dlat=0.0) -> Fix:
    return Fix(PICKUP[0] + 0.01 + dlat, PICKUP[1], at)


@pytest.mark.parametrize(
    ("status", "waited", "raised"),
    [
        ("searching", 0, False),
        ("searching", 119.9, False),
        ("searching", 120, True),
        ("offered", 600, True),
        ("assigned", 600, False),
        ("no_driver", 600, False),
        ("scheduled", 600, False),
    ],
)
def test_unassigned(status, waited, raised):
    found = r.unassigned(booking(status), T0 + waited, RULES)
    assert (found is not None) == raised
    if found:
        assert found.key == ("unassigned", "booking", 7)
        assert found.occurrence == f"search:{round(T0 * 1000)}"
        assert "has waited 2 min" in found.details["summary"] or waited != 120


def test_a_new_search_is_a_new_occurrence():
    first = r.unassigned(booking(started=T0), T0 + 200, RULES)
    again = r.unassigned(booking(started=T0 + 500), T0 + 700, RULES)
    assert first and again and first.occurrence != again.occurrence
    assert first.occurrence == r.unassigned(booking(started=T0), T0 + 900, RULES).occurrence  # stable over time


@pytest.mark.parametrize(
    ("status", "last_fix_age", "raised"),
    [
        ("assigned", 0, False),
        ("assigned", 60, False),
        ("assigned", 60.5, True),
        ("arrived", 300, True),
        ("in_progress", 300, True),
        ("assigned", None, True),  # never sent a fix
        ("completed", 300, False),
    ],
)
def test_stale_fix(status, last_fix_age, raised):
    now = T0 + 1000
    f = fix(now - last_fix_age) if last_fix_age is not None else None
    found = r.stale_fix(ride(status), f, now, RULES)
    assert (found is not None) == raised
    if found:
        assert found.key == ("stale_fix", "driver", 3)
        assert found.details["booking_id"] == 7


def test_stale_occurrence_is_the_last_fix_heard():
    a = r.stale_fix(ride(), fix(T0), T0 + 100, RULES)
    b = r.stale_fix(ride(), fix(T0), T0 + 500, RULES)
    c = r.stale_fix(ride(), fix(T0 + 400), T0 + 500, RULES)  # came back, went quiet again
    assert a and b and c and a.occurrence == b.occurrence != c.occurrence


@pytest.mark.parametrize(
    ("elapsed", "eta_now", "raised_before", "raised"),
    [
        (0, 300, False, False),  # just assigned, as promised
        (120, 180, False, False),  # heading in as estimated: growth 0
        (120, 480, False, False),  # growth 300: not more than the threshold
        (120, 481, False, True),  # drove away
        (400, 300, False, True),  # stood still for 400 s: would arrive 400 s late
        (400, 60, True, True),  # growth 160, above half the threshold: an open alert holds
        (400, 49, True, False),  # growth 149: below half, it clears
    ],
)
def test_eta_growing(elapsed, eta_now, raised_before, raised):
    now = T0 + elapsed
    found = r.eta_growing(ride(), fix(now), eta_now, now, RULES, raised_before)
    assert (found is not None) == raised
    if found:
        assert found.key == ("eta_growing", "booking", 7)
        assert found.occurrence == f"assigned:{round(T0 * 1000)}"
        assert found.details["growth_s"] == elapsed + eta_now - 300


@pytest.mark.parametrize(
    ("case", "status", "eta", "fix_age", "eta_now"),
    [
        ("arrived: the ETA is over", "arrived", 300, 0, 2000),
        ("no promise to measure", "assigned", None, 0, 2000),
        ("stale fix: says nothing of where the driver is", "assigned", 300, 120, 2000),
        ("no estimate", "assigned", 300, 0, None),
    ],
)
def test_eta_growing_stays_quiet(case, status, eta, fix_age, eta_now):
    now = T0 + 1000
    assert r.eta_growing(ride(status, eta=eta), fix(now - fix_age), eta_now, now, RULES) is None, case


@pytest.mark.parametrize(
    ("anchor_since", "started", "fix_age", "raised"),
    [
        (T0, T0, 0, False),  # still for 299 s
        (T0 - 1, T0 - 1, 0, True),  # still for 300 s
        (T0 - 1000, T0, 0, False),  # stood at the pickup before the start: counts from the start
        (T0 - 1000, T0 - 400, 0, True),
        (T0 - 1000, T0 - 1000, 61, False),  # stale: the stale rule speaks
    ],
)
def test_not_moving(anchor_since, started, fix_age, raised):
    now = T0 + 299
    anchor = Anchor(*PICKUP, anchor_since)
    found = r.not_moving(ride("in_progress", started=started), fix(now - fix_age), anchor, now, RULES)
    assert (found is not None) == raised
    if found:
        assert found.key == ("not_moving", "driver", 3)
        assert found.occurrence == f"still:7:{round(max(anchor_since, started) * 1000)}"


def test_not_moving_only_in_progress():
    anchor = Anchor(*PICKUP, T0 - 1000)
    for status in ("assigned", "arrived"):
        assert r.not_moving(ride(status, started=T0 - 1000), fix(T0), anchor, T0, RULES) is None


@pytest.mark.parametrize(
    ("moves", "since"),
    [
        ([0, NEAR / 2, NEAR, -NEAR], 0),  # GPS noise within 50 m: the anchor stays at the first fix
        ([0, FAR], 1),  # 111 m away: a new anchor where the driver is
        ([0, FAR, FAR + NEAR], 1),
        ([0, FAR, 2 * FAR, 3 * FAR], 3),  # driving: a new anchor at every fix
    ],
)
def test_anchor_follows_only_real_moves(moves, since):
    anchor = None
    for step, dlat in enumerate(moves):
        anchor = r.advance_anchor(anchor, Fix(PICKUP[0] + dlat, PICKUP[1], T0 + step), 50)
    assert anchor is not None and anchor.since == T0 + since


@pytest.mark.parametrize(
    ("status", "elapsed", "short", "raised"),
    [
        ("searching", 239, True, False),  # 61 s before giving up
        ("searching", 240, True, True),
        ("offered", 290, True, True),
        ("searching", 400, True, True),  # past the deadline and still searching (an offer out)
        ("searching", 290, False, False),  # drivers enough there: dispatch will find one
        ("assigned", 290, True, False),
    ],
)
def test_no_driver_soon(status, elapsed, short, raised):
    cell = 42
    found = r.no_driver_soon(booking(status), cell, {cell} if short else set(), T0 + elapsed, RULES)
    assert (found is not None) == raised
    if found:
        assert found.severity == r.Severity.CRITICAL
        assert found.key == ("no_driver_soon", "booking", 7)


def test_no_driver_soon_never_without_patience():
    rules = r.AlertRules(patience_s=0)
    assert r.no_driver_soon(booking(), 42, {42}, T0 + 1000, rules) is None


ZONE = ZoneRef(5, "Airport apron")


@pytest.mark.parametrize(
    ("duty", "still_for", "zones", "fix_age", "raised"),
    [
        ("available", 300, [ZONE], 0, True),
        ("available", 299, [ZONE], 0, False),
        ("available", 3000, [], 0, False),  # not in a restricted zone
        ("busy", 3000, [ZONE], 0, False),  # on a ride: waiting there is the ride's business
        ("off_duty", 3000, [ZONE], 0, False),
        ("available", 3000, [ZONE], 61, False),  # stale
        ("available", 120, [ZoneRef(5, "Airport apron", wait_s=120)], 0, True),  # the zone's own limit
        ("available", 119, [ZoneRef(5, "Airport apron", wait_s=120)], 0, False),
        ("available", 400, [ZoneRef(5, "Airport apron", wait_s=600)], 0, False),  # longer than the setting
        ("available", 300, [ZoneRef(9, "Depot", wait_s=600), ZONE], 0, True),  # the one whose limit passed
    ],
)
def test_restricted_wait(duty, still_for, zones, fix_age, raised):
    now = T0 + 5000
    anchor = Anchor(*PICKUP, now - still_for)
    found = r.restricted_wait(3, duty, fix(now - fix_age), anchor, zones, now, RULES)
    assert (found is not None) == raised
    if found:
        assert found.key == ("restricted_wait", "driver", 3)
        assert found.occurrence == f"zone:5:{round((now - still_for) * 1000)}"
        assert "Airport apron" in found.details["summary"]


# ---------------------------------------------------------------- one evaluation: findings and plan


def world(**kw) -> judge.World:
    return judge.World(now=T0 + 1000, **kw)


def test_findings_over_a_snapshot():
    w = world(
        open_bookings=[booking(bid=1, started=T0)],
        held_rides=[ride(bid=2, driver=20, assigned=T0, eta=300), ride("in_progress", bid=3, driver=30, started=T0)],
        fixes={20: fix(T0 + 1000), 30: fix(T0 + 990)},
        anchors={30: Anchor(*PICKUP, T0 + 100)},
        etas={2: 600.0},
    )
    found = {f.key for f in judge.findings(w, RULES)}
    assert found == {
        ("unassigned", "booking", 1),
        ("eta_growing", "booking", 2),  # 1000 + 600 − 300 = 1300 s behind
        ("not_moving", "driver", 30),  # still since T0 + 100: 900 s
    }


def test_restricted_rule_is_off_without_zones():
    w = world(duty={9: "available"}, fixes={9: fix(T0 + 1000)}, anchors={9: Anchor(*PICKUP, T0)})
    assert judge.findings(w, RULES) == []
    zoned = world(
        duty={9: "available"},
        fixes={9: fix(T0 + 1000)},
        anchors={9: Anchor(*PICKUP, T0)},
        zones_at=lambda lat, lng: [ZONE],
    )
    assert [f.key for f in judge.findings(zoned, RULES)] == [("restricted_wait", "driver", 9)]


def unresolved(aid, rule, kind, sid, occurrence) -> judge.Unresolved:
    return judge.Unresolved(aid, rule, kind, sid, occurrence)


def test_plan_raises_new_keeps_known_resolves_cleared():
    w = world(
        open_bookings=[booking(bid=1, started=T0)],
        booking_status={4: "cancelled"},
        held_rides=[ride(bid=5, driver=50)],
        fixes={50: fix(T0 + 1000)},
    )
    found = judge.findings(w, RULES)
    occurrence = found[0].occurrence
    known = [
        unresolved(10, "unassigned", "booking", 1, occurrence),  # still holds: kept
        unresolved(11, "unassigned", "booking", 4, "search:1"),  # the booking was cancelled
        unresolved(12, "stale_fix", "driver", 50, "fix:1"),  # a fresh fix came
        unresolved(13, "unassigned", "booking", 5, "search:2"),  # now assigned
    ]
    plan = judge.plan(found, known, w)
    assert plan.raise_ == []
    assert plan.resolve == [(11, "cancelled"), (12, "fresh_fix"), (13, "assigned")]


def test_plan_replaces_an_alert_of_an_older_occurrence():
    w = world(open_bookings=[booking(bid=1, started=T0 + 500)])
    found = judge.findings(w, RULES)
    plan = judge.plan(found, [unresolved(10, "unassigned", "booking", 1, "search:1")], w)
    assert plan.resolve == [(10, "new_occurrence")]
    assert [f.key for f in plan.raise_] == [("unassigned", "booking", 1)]


@pytest.mark.parametrize(
    ("alert", "w", "why"),
    [
        (("eta_growing", "booking", 2), world(held_rides=[ride(bid=2)]), "closing_in"),
        (("eta_growing", "booking", 2), world(held_rides=[ride("arrived", bid=2)]), "arrived"),
        (("no_driver_soon", "booking", 1), world(open_bookings=[booking(bid=1)]), "drivers_near"),
        (("no_driver_soon", "booking", 1), world(booking_status={1: "no_driver"}), "no_driver"),
        (("unassigned", "booking", 1), world(), "gone"),
        (("not_moving", "driver", 3), world(held_rides=[ride("in_progress", driver=3)]), "moving"),
        (("not_moving", "driver", 3), world(), "ride_ended"),
        (("stale_fix", "driver", 3), world(), "ride_ended"),
        (("restricted_wait", "driver", 3), world(duty={3: "busy"}), "not_available"),
        (("restricted_wait", "driver", 3), world(duty={3: "available"}), "moving"),
    ],
)
def test_resolution_reasons(alert, w, why):
    assert judge.resolution(unresolved(1, *alert, "x"), w) == why


def test_subjects_to_look_up():
    w = world(open_bookings=[booking(bid=1)], held_rides=[ride(bid=2)])
    known = [unresolved(1, "unassigned", "booking", b, "x") for b in (1, 2, 3)]
    known.append(unresolved(5, "stale_fix", "driver", 9, "x"))
    assert judge.subjects_to_look_up(known, w) == [3]


def test_every_rule_has_a_severity_and_a_label():
    assert set(r.SEVERITY) == set(Rule) == set(r.LABELS)
