"""The alerts desk (workflow): evaluate the rules, raise new alerts, resolve cleared ones,
acknowledge them for dispatchers.

**Where it runs.** An arq cron job in the worker (``workers/jobs.py: evaluate_alerts``), every
ALERT_EVERY_S seconds. The worker already holds what the rules need (the PostgreSQL pool, the
live store in Redis, the Router with learned speeds for ETAs); arq gives each run a job id, so
with several workers one evaluation runs per tick; and the tracker in the stream process stays
on its hot path (every fix), where a database scan of open bookings every few seconds has no
business and where several stream processes would each need to elect a leader first. The
rules look at state (bookings, the latest fixes), not at individual fixes, so a fixed cadence
loses nothing but a few seconds of latency; the result does not depend on the cadence either
(times come from the state, not from counting cycles), except that a driver who leaves their
spot and comes back between two evaluations is not seen to move.

**Once per occurrence.** Each finding names its occurrence; ``alerts`` has one row per
occurrence ever and at most one unresolved row per rule and subject (unique indexes), so
raising is ``INSERT ... ON CONFLICT DO NOTHING`` and resolving an ``UPDATE ... WHERE state <>
'resolved'``: two evaluations at once (a slow run overlapping the next) change each alert once.

**Live.** Every change writes an ``alert_events`` row in its transaction (an outbox): the relay
in the stream process publishes it next to the booking events, and each web process hands it to
its staff streams as an ``alert`` event (streaming/ride_fanout.py). Acknowledging and resolving
are written to the audit log in the same transaction.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from hexfleet import audit
from hexfleet.alerts import judge
from hexfleet.alerts import queries as q
from hexfleet.alerts.judge import World, ZonesAt
from hexfleet.alerts.rules import AlertRules, Anchor, Fix, advance_anchor, fresh, near_giving_up
from hexfleet.analytics import outlook, reports
from hexfleet.audit.actions import Action
from hexfleet.errors import Conflict, Invalid, NotFound
from hexfleet.geo import cell_of
from hexfleet.rides.routes import Router
from hexfleet.tracking.store import LiveStore

log = logging.getLogger("hexfleet.alerts")
DESK = audit.Actor("alerts desk")
MAX_NOTE = 500


@dataclass
class Report:
    raised: list[q.Alert] = field(default_factory=list)
    resolved: list[q.Alert] = field(default_factory=list)
    seconds: float = 0.0


async def gather(
    pool, store: LiveStore, router: Router, rules: AlertRules, now: float, zones_at: ZonesAt | None = None
) -> tuple[World, list[judge.Unresolved], dict[int, Anchor]]:
    """The snapshot the rules read, the unresolved alerts, and the anchors that changed (written
    with the alerts)."""
    async with pool.acquire() as conn:
        open_bookings = await q.open_bookings(conn)
        held = await q.held_rides(conn)
        unresolved = await q.unresolved(conn)
        anchors = await q.anchors(conn)
    duty = await store.duty() if zones_at is not None else {}
    watched_restricted = [d for d, s in duty.items() if s == "available"]
    drivers = sorted({h.driver_id for h in held} | set(watched_restricted))
    fixes = {d: Fix(f.lat, f.lng, f.received_at) for d, f in (await store.fixes(drivers)).items()}

    # Anchors: the drivers the stillness rules watch, moved on by their fresh fixes.
    watched = {h.driver_id for h in held if h.status == "in_progress"} | set(watched_restricted)
    changed: dict[int, Anchor] = {}
    for driver_id in watched:
        fix = fixes.get(driver_id)
        if fix is None or not fresh(fix, now, rules):
            continue
        moved = advance_anchor(anchors.get(driver_id), fix, rules.still_radius_m)
        if moved != anchors.get(driver_id):
            changed[driver_id] = moved
            anchors[driver_id] = moved
    anchors = {d: a for d, a in anchors.items() if d in watched}

    # ETAs from where each assigned driver is now (the estimate dispatchers' picks promise with).
    etas = {}
    for ride in held:
        fix = fixes.get(ride.driver_id)
        if ride.status == "assigned" and ride.eta_pickup_s is not None and fix is not None and fresh(fix, now, rules):
            etas[ride.booking_id] = float(
                router.estimate(fix.lat, fix.lng, ride.pickup_lat, ride.pickup_lng, now).duration_s
            )

    # The outlook only when a booking is close to giving up (it reads the analytics rollups).
    soon = [b for b in open_bookings if near_giving_up(b, now, rules)]
    pickup_cells = {b.id: cell_of(b.pickup_lat, b.pickup_lng, reports.RESOLUTION) for b in soon}
    short: frozenset[int] = frozenset()
    if soon:
        available = await store.indexed_cells(now - rules.stale_after_s)
        async with pool.acquire() as conn:
            judged, _, _ = await reports.judged_outlook(
                conn, available, datetime.fromtimestamp(now, UTC), outlook.WEEKS
            )
        short = frozenset(c.cell for c in judged if c.short)

    world = World(
        now=now,
        open_bookings=open_bookings,
        held_rides=held,
        fixes=fixes,
        anchors=anchors,
        etas=etas,
        pickup_cells=pickup_cells,
        short_cells=short,
        duty=duty,
        zones_at=zones_at,
    )
    missing = judge.subjects_to_look_up(unresolved, world)
    if missing:
        async with pool.acquire() as conn:
            statuses = await q.booking_statuses(conn, missing)
        world = replace(world, booking_status=statuses)
    return world, unresolved, changed


async def evaluate(
    pool,
    store: LiveStore,
    router: Router,
    rules: AlertRules,
    now: float | None = None,
    zones_at: ZonesAt | None = None,
) -> Report:
    """One evaluation: every rule over the fleet now; raise, resolve, record. ``zones_at``: the
    restricted zones at a position (None until zones exist: the restricted rule is off)."""
    started = time.monotonic()
    now = time.time() if now is None else now
    world, unresolved, changed = await gather(pool, store, router, rules, now, zones_at)
    raised_keys = frozenset(a.key for a in unresolved)
    found = judge.findings(world, rules, raised_keys)
    plan = judge.plan(found, unresolved, world)
    report = Report()
    async with pool.acquire() as conn, conn.transaction():
        # Resolve first: a new occurrence of an unresolved alert's condition replaces it.
        for alert_id, why in plan.resolve:
            alert = await q.resolve_alert(conn, alert_id, why, now)
            if alert is not None:
                await q.record_event(conn, alert, "resolved", now)
                await audit.record(
                    conn, DESK, Action.ALERT_RESOLVE, "alert", alert.id, _label(alert), {"resolution": why}
                )
                report.resolved.append(alert)
        for finding in plan.raise_:
            alert = await q.insert_alert(conn, finding, now)
            if alert is not None:
                await q.record_event(conn, alert, "raised", now)
                report.raised.append(alert)
        keep = set(world.anchors) | set(changed)
        await q.save_anchors(conn, changed, keep)
    report.seconds = time.monotonic() - started
    return report


def _label(alert: q.Alert) -> str:
    return f"{alert.to_json()['label']} · {alert.subject_kind} #{alert.subject_id}"


async def acknowledge(pool, actor: audit.Actor, alert_id: int, note: str | None, now: float | None = None) -> q.Alert:
    """A dispatcher has seen it (with an optional note): 404 for an unknown alert, 409 for one
    acknowledged or resolved already (with its state)."""
    now = time.time() if now is None else now
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise Invalid(f"note: at most {MAX_NOTE} characters", code="note-too-long")
    async with pool.acquire() as conn, conn.transaction():
        alert = await q.acknowledge_alert(conn, alert_id, actor.user_id, note, now)
        if alert is None:
            current = await q.get_alert(conn, alert_id)
            if current is None:
                raise NotFound(f"no alert {alert_id}", code="alert-not-found")
            error = Conflict(f"alert {alert_id} is {current.state} already", code="alert-not-open")
            error.extra = {"current_state": current.state}
            raise error
        await q.record_event(conn, alert, "acknowledged", now)
        await audit.record(
            conn, actor, Action.ALERT_ACKNOWLEDGE, "alert", alert.id, _label(alert), {"note": note or ""}
        )
    return alert
