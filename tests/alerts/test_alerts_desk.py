"""The alerts desk against real PostgreSQL and Redis: each rule raises one alert per occurrence
(never again on the next evaluations), resolves it when its condition clears, writes an outbox
event for each change and audits each resolution. Times are real time plus offsets: the
bookings' own times come from the real workflows."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from helpers import make_driver, make_fare, make_user, place_driver

from hexfleet import audit
from hexfleet.alerts import desk
from hexfleet.alerts import queries as aq
from hexfleet.analytics import outlook
from hexfleet.errors import Conflict, NotFound
from hexfleet.geo import cell_of
from hexfleet.rides import bookings, dispatch, quotes
from hexfleet.rides.states import Action, Actor
from hexfleet.tracking.pings import Ping
from webapp.services import services

PICKUP, DROPOFF = (52.52, 13.405), (52.53, 13.43)
# About 1.1 km north of the pickup.
AWAY = (52.53, 13.405)


@pytest.fixture
def rides(app):
    return services(app).rides


@pytest.fixture
def rules(settings):
    return settings.alert_rules()


async def book(rides, db) -> int:
    await make_fare(db)
    customer, _ = await make_user(db, "customer")
    quote = await quotes.make_quote(rides, customer.id, quotes.QuoteRequest(PICKUP, DROPOFF))
    booking = await bookings.create_booking(
        rides,
        bookings.Viewer(customer.id, "customer"),
        bookings.BookingRequest(quote.id, "Rita", "+49 30 555", confirm_no_driver=True),
    )
    return booking.id


async def fix_at(store, driver_id: int, where: tuple[float, float], at: float) -> None:
    """A fix the tracker accepted at server time ``at`` (device time the same)."""
    await store.apply_fixes([(driver_id, Ping(where[0], where[1], at), at)])


async def evaluate(rides, rules, at: float) -> desk.Report:
    return await desk.evaluate(rides.pool, rides.store, rides.router, rules, now=at)


async def alerts_of(db, rule: str) -> list[aq.Alert]:
    async with db.acquire() as conn:
        found = await aq.list_alerts(conn, ["open", "acknowledged", "resolved"], 500)
    return [a for a in found if a.rule == rule]


async def actions_of(db, alert_id: int) -> list[str]:
    async with db.acquire() as conn:
        return [e.action for e in await aq.events_of_alert(conn, alert_id)]


async def audited(db, action: str) -> list[audit.Entry]:
    async with db.acquire() as conn:
        return [e for e in await audit.recent(conn, 100) if e.action == action]


async def test_unassigned_raised_once_and_resolved_when_cancelled(rides, rules, db):
    booking_id = await book(rides, db)
    t0 = time.time()
    assert (await evaluate(rides, rules, t0 + rules.unassigned_s - 5)).raised == []
    first = await evaluate(rides, rules, t0 + rules.unassigned_s + 1)
    assert [(a.rule, a.subject_id, a.state) for a in first.raised] == [("unassigned", booking_id, "open")]
    for later in (2, 3, 30):  # the next evaluations: the same occurrence, nothing new
        assert (await evaluate(rides, rules, t0 + rules.unassigned_s + later)).raised == []
    [alert] = await alerts_of(db, "unassigned")
    assert alert.details["booking_id"] == booking_id and "for a driver" in alert.details["summary"]

    await dispatch.cancel(rides, booking_id, dispatch.Who(Actor.CUSTOMER, None), "changed plans")
    done = await evaluate(rides, rules, t0 + rules.unassigned_s + 40)
    assert [(a.id, a.state, a.resolution) for a in done.resolved] == [(alert.id, "resolved", "cancelled")]
    assert (await evaluate(rides, rules, t0 + rules.unassigned_s + 50)).resolved == []
    assert await actions_of(db, alert.id) == ["raised", "resolved"]
    [entry] = await audited(db, "alert.resolve")
    assert entry.target_id == alert.id and entry.actor == "alerts desk" and entry.details == {"resolution": "cancelled"}


async def test_acknowledged_alert_is_not_raised_again(rides, rules, db):
    await book(rides, db)
    t0 = time.time()
    [alert] = (await evaluate(rides, rules, t0 + rules.unassigned_s + 1)).raised
    dispatcher, _ = await make_user(db, "dispatcher")
    seen = await desk.acknowledge(db, audit.Actor(dispatcher.email, dispatcher.id), alert.id, "  calling the rider ")
    assert (seen.state, seen.ack_note, seen.acknowledged_by_email) == (
        "acknowledged",
        "calling the rider",
        dispatcher.email,
    )
    assert (await evaluate(rides, rules, t0 + rules.unassigned_s + 60)).raised == []
    with pytest.raises(Conflict) as twice:
        await desk.acknowledge(db, audit.Actor(dispatcher.email, dispatcher.id), alert.id, None)
    assert twice.value.extra == {"current_state": "acknowledged"}
    with pytest.raises(NotFound):
        await desk.acknowledge(db, audit.Actor(dispatcher.email, dispatcher.id), alert.id + 1000, None)
    [entry] = await audited(db, "alert.acknowledge")
    assert entry.actor == dispatcher.email and entry.details == {"note": "calling the rider"}
    assert await actions_of(db, alert.id) == ["raised", "acknowledged"]


async def test_a_new_search_raises_a_new_alert(rides, rules, db):
    booking_id = await book(rides, db)
    t0 = time.time()
    [first] = (await evaluate(rides, rules, t0 + rules.unassigned_s + 1)).raised
    # A dispatcher gives the ride to a driver who gives it back: a new search starts.
    driver, _ = await make_driver(db)
    await place_driver(rides.store, driver.id, *AWAY)
    dispatcher, _ = await make_user(db, "dispatcher")
    await dispatch.assign(rides, booking_id, driver.id, dispatch.Who(Actor.DISPATCHER, dispatcher.id))
    await dispatch.driver_step(rides, driver.id, booking_id, Action.RELEASE)
    restarted = time.time()
    report = await evaluate(rides, rules, restarted + rules.unassigned_s + 1)
    assert [a.id for a in report.resolved] == [first.id] and report.resolved[0].resolution == "new_occurrence"
    assert [a.subject_id for a in report.raised] == [booking_id] and report.raised[0].id != first.id


async def assigned_ride(rides, db) -> tuple[int, int, float]:
    """A booking assigned by a dispatcher to a driver ~1.1 km away: (booking, driver, promised ETA)."""
    booking_id = await book(rides, db)
    driver, _ = await make_driver(db)
    await place_driver(rides.store, driver.id, *AWAY)
    dispatcher, _ = await make_user(db, "dispatcher")
    await dispatch.assign(rides, booking_id, driver.id, dispatch.Who(Actor.DISPATCHER, dispatcher.id))
    eta = await db.fetchval("SELECT eta_pickup_s FROM bookings WHERE id = $1", booking_id)
    assert eta > 60  # the promise the rule measures against
    return booking_id, driver.id, eta


async def test_eta_growing_raised_once_and_resolved_on_arrival(rides, rules, db):
    booking_id, driver_id, _ = await assigned_ride(rides, db)
    t0 = time.time()
    # The driver stays where they were: the pickup gets later by every second that passes.
    await fix_at(rides.store, driver_id, AWAY, t0 + rules.eta_growth_s - 10)
    assert (await evaluate(rides, rules, t0 + rules.eta_growth_s - 10)).raised == []
    await fix_at(rides.store, driver_id, AWAY, t0 + rules.eta_growth_s + 5)
    [alert] = (await evaluate(rides, rules, t0 + rules.eta_growth_s + 5)).raised
    assert (alert.rule, alert.subject_kind, alert.subject_id) == ("eta_growing", "booking", booking_id)
    assert alert.details["driver_id"] == driver_id and alert.details["growth_s"] > rules.eta_growth_s
    await fix_at(rides.store, driver_id, AWAY, t0 + rules.eta_growth_s + 20)
    assert (await evaluate(rides, rules, t0 + rules.eta_growth_s + 20)).raised == []
    await dispatch.driver_step(rides, driver_id, booking_id, Action.ARRIVE)
    done = await evaluate(rides, rules, t0 + rules.eta_growth_s + 30)
    assert [(a.id, a.resolution) for a in done.resolved] == [(alert.id, "arrived")]


async def test_stale_fix_raised_once_and_resolved_by_a_fresh_fix(rides, rules, db):
    booking_id, driver_id, _ = await assigned_ride(rides, db)
    t0 = time.time()
    [alert] = (await evaluate(rides, rules, t0 + rules.stale_after_s + 2)).raised
    assert (alert.rule, alert.subject_kind, alert.subject_id) == ("stale_fix", "driver", driver_id)
    assert alert.details["booking_id"] == booking_id
    assert (await evaluate(rides, rules, t0 + rules.stale_after_s + 30)).raised == []
    await fix_at(rides.store, driver_id, AWAY, t0 + rules.stale_after_s + 40)
    done = await evaluate(rides, rules, t0 + rules.stale_after_s + 41)
    assert [(a.id, a.resolution) for a in done.resolved] == [(alert.id, "fresh_fix")]
    # Quiet again later: a new occurrence (the last fix heard is another one), a new alert.
    again = await evaluate(rides, rules, t0 + 2 * rules.stale_after_s + 42)
    assert [a.rule for a in again.raised] == ["stale_fix"] and again.raised[0].id != alert.id


async def test_not_moving_in_progress_raised_once_and_resolved_when_moving(rides, rules, db):
    booking_id, driver_id, _ = await assigned_ride(rides, db)
    await dispatch.driver_step(rides, driver_id, booking_id, Action.ARRIVE)
    await dispatch.driver_step(rides, driver_id, booking_id, Action.START)
    t0 = time.time()
    still = (AWAY[0] + 0.0002, AWAY[1])  # 22 m from the first fix: GPS noise, not a move
    for offset, where in ((1, AWAY), (100, still), (rules.not_moving_s - 10, AWAY)):
        await fix_at(rides.store, driver_id, where, t0 + offset)
        assert (await evaluate(rides, rules, t0 + offset)).raised == []
    await fix_at(rides.store, driver_id, still, t0 + rules.not_moving_s + 2)
    [alert] = (await evaluate(rides, rules, t0 + rules.not_moving_s + 2)).raised
    assert (alert.rule, alert.subject_id, alert.details["booking_id"]) == ("not_moving", driver_id, booking_id)
    await fix_at(rides.store, driver_id, still, t0 + rules.not_moving_s + 20)
    assert (await evaluate(rides, rules, t0 + rules.not_moving_s + 20)).raised == []
    await fix_at(rides.store, driver_id, DROPOFF, t0 + rules.not_moving_s + 30)
    done = await evaluate(rides, rules, t0 + rules.not_moving_s + 30)
    assert [(a.id, a.resolution) for a in done.resolved] == [(alert.id, "moving")]
    async with db.acquire() as conn:
        [anchor] = (await aq.anchors(conn)).values()
    assert (anchor.lat, anchor.lng) == DROPOFF
    # The ride ends: the driver is no longer watched, and the anchor goes.
    await dispatch.driver_step(rides, driver_id, booking_id, Action.COMPLETE)
    await evaluate(rides, rules, t0 + rules.not_moving_s + 40)
    async with db.acquire() as conn:
        assert await aq.anchors(conn) == {}


async def short_of_drivers_here(db, now: float, requests: int = 6) -> None:
    """Analytics rollups of the past weeks: the pickup's cell had ``requests`` in this hour and the
    next, every week (what the outlook learns from); no driver is available there now."""
    cell = cell_of(*PICKUP, 7)
    hours = [h for pair in outlook.history_hours(datetime.fromtimestamp(now, UTC), outlook.WEEKS) for h in pair]
    async with db.acquire() as conn:
        for hour in hours:
            await conn.execute(
                """INSERT INTO analytics_cells (grain, period_start, cell, vehicle_class, requests)
                   VALUES ('hour', $1, $2, 'standard', $3)""",
                hour,
                cell,
                requests,
            )
            await conn.execute(
                "INSERT INTO analytics_hours (hour, computed_at) VALUES ($1, $2)", hour, hour + timedelta(hours=1)
            )


async def test_no_driver_soon_where_the_outlook_is_short(rides, rules, db):
    booking_id = await book(rides, db)
    t0 = time.time()
    await short_of_drivers_here(db, t0)
    soon = t0 + rules.patience_s - rules.no_driver_soon_s
    report = await evaluate(rides, rules, soon - 5)
    assert "no_driver_soon" not in [a.rule for a in report.raised]
    report = await evaluate(rides, rules, soon + 1)
    [alert] = [a for a in report.raised if a.rule == "no_driver_soon"]
    assert (alert.severity, alert.subject_id) == ("critical", booking_id)
    assert alert.details["cell"] == format(cell_of(*PICKUP, 7), "x")
    assert not [a for a in (await evaluate(rides, rules, soon + 5)).raised if a.rule == "no_driver_soon"]
    async with db.acquire() as conn:  # it gives up (as dispatch does once its patience ran out)
        await conn.execute("UPDATE bookings SET status = 'no_driver', ended_at = now() WHERE id = $1", booking_id)
    done = await evaluate(rides, rules, soon + 10)
    assert {(a.rule, a.resolution) for a in done.resolved} == {
        ("no_driver_soon", "no_driver"),
        ("unassigned", "no_driver"),
    }


async def test_no_driver_soon_stays_quiet_where_drivers_are_enough(rides, rules, db):
    await book(rides, db)
    t0 = time.time()
    await short_of_drivers_here(db, t0, requests=0)  # the past weeks had no demand here
    report = await evaluate(rides, rules, t0 + rules.patience_s - rules.no_driver_soon_s + 1)
    assert "no_driver_soon" not in [a.rule for a in report.raised]
