"""Thin jobs: each re-reads state from the database, so running one twice is harmless."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from hexfleet.alerts import desk
from hexfleet.analytics import rollups
from hexfleet.eta import learn
from hexfleet.rides import dispatch, surge_job
from hexfleet.tracking import queries as history
from hexfleet.users import queries as users

log = logging.getLogger("hexfleet.worker")


async def prune_history(ctx) -> int:
    """Delete position history older than HISTORY_RETENTION_DAYS."""
    settings = ctx["settings"]
    cutoff = datetime.now(UTC) - timedelta(days=settings.history_retention_days)
    async with ctx["db"].acquire() as conn:
        deleted = await history.prune_before(conn, cutoff)
    log.info("pruned %d positions older than %s", deleted, cutoff.isoformat())
    return deleted


async def prune_sessions(ctx) -> int:
    """Delete expired sign-in sessions (they no longer work; this only keeps the table small)."""
    async with ctx["db"].acquire() as conn:
        deleted = await users.prune_sessions(conn)
    if deleted:
        log.info("pruned %d expired sessions", deleted)
    return deleted


async def expire_offer(ctx, offer_id: int) -> bool:
    """An offer's timeout: back to searching, and the next driver is asked."""
    return await dispatch.expire_offer(ctx["rides"], offer_id)


async def dispatch_booking(ctx, booking_id: int) -> None:
    """A scheduled ride's dispatch time, or a retry while drivers in reach were busy."""
    await dispatch.dispatch_job(ctx["rides"], booking_id)


async def reconcile_rides(ctx) -> dict:
    """What lost jobs or dead processes left undone: due scheduled rides, overdue offers, stalled searches."""
    repairs = await dispatch.reconcile(ctx["rides"])
    if repairs.scheduled_started or repairs.offers_expired or repairs.searches_resumed:
        log.info("reconcile: %s", repairs)
    return vars(repairs)


async def recalculate_surge(ctx) -> int:
    rides = ctx["rides"]
    changes = await surge_job.recalculate(
        rides.pool, rides.store, rides.surge, ctx["publisher"], rides.settings, time.time()
    )
    if changes:
        log.info("surge changed in %d cells", len(changes))
    return len(changes)


async def rollup_analytics(ctx) -> dict:
    """Analytics rollups (every minute): the open hour, and closed hours late facts touched."""
    report = await rollups.tick(ctx["db"])
    if report.late_hours:
        log.info("analytics: rolled up %d late hours in %.1f s", len(report.late_hours), report.seconds)
    return {"open_hour": report.open_hour.isoformat(), "late_hours": len(report.late_hours)}


async def learn_speeds(ctx) -> dict:
    """Learned speeds (hourly): the closed hours' fixes → speed per cell and hour of week."""
    report = await learn.tick(ctx["db"], ctx["settings"])
    if report.hours:
        log.info("learned speeds: %d hours derived, %d rows, %.1f s", report.hours, report.rows, report.seconds)
    return {"hours": report.hours, "rows": report.rows}


async def evaluate_alerts(ctx) -> dict:
    """The alerts desk (every ALERT_EVERY_S): raise what needs a dispatcher, resolve what cleared."""
    rides = ctx["rides"]
    report = await desk.evaluate(
        rides.pool,
        rides.store,
        rides.router,
        ctx["settings"].alert_rules(),
        zones_at=desk.restricted_zones(ctx["zones"]),
    )
    if report.raised or report.resolved:
        log.info("alerts: %d raised, %d resolved (%.3f s)", len(report.raised), len(report.resolved), report.seconds)
    return {"raised": len(report.raised), "resolved": len(report.resolved)}
