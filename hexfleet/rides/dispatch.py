"""Dispatch: offer a booking to the best nearby driver, and every step of the ride after that.

Each step is one PostgreSQL transaction that locks the booking row, asks
``states.transition`` whether the step is allowed, changes the row only if it is still
in the status that was read (the claim), and records the event (which is also the outbox
row the relay publishes). The partial unique indexes on offers and bookings make the
claims atomic across any number of web and worker processes: no driver holds two rides
or two open offers, no booking has two drivers or two open offers.

Side effects that are not PostgreSQL (the driver's duty in Redis and on the maps, the
deferred jobs) happen after the commit; if a process dies in between, the worker's
``reconcile`` repairs it from PostgreSQL.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from hexfleet.drivers import queries as driver_queries
from hexfleet.drivers.duty import DutyStatus, announce_duty
from hexfleet.errors import Conflict, Invalid, NotFound
from hexfleet.rides import leases, patience
from hexfleet.rides import queries as q
from hexfleet.rides.context import Rides
from hexfleet.rides.search import ENGAGED, Search, find_driver
from hexfleet.rides.states import ACTIVE, TERMINAL, Action, Actor, BookingStatus, OfferStatus, transition

log = logging.getLogger("hexfleet.dispatch")

S = BookingStatus
# When every driver in reach is busy answering another offer, look again after this long.
RETRY_ENGAGED_S = 3.0
# A searching booking with no open offer for this long has lost its dispatcher (reconcile).
STALLED_AFTER_S = 10.0
# Changes that start a new search for a driver (DISPATCH_PATIENCE_S counts from them): a
# declined or expired offer goes on with the search it belongs to.
NEW_SEARCH = frozenset({Action.DISPATCH, Action.RELEASE})


@dataclass(frozen=True)
class Who:
    """Who asks for a change: the actor and their id (user id, or driver id for drivers)."""

    actor: Actor
    id: int | None = None


SYSTEM = Who(Actor.SYSTEM)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def _change(
    conn,
    booking: q.Booking,
    action: Action,
    who: Who,
    now: float,
    *,
    event_driver_id: int | None = None,
    offer_id: int | None = None,
    reason: str | None = None,
    **columns,
) -> q.Booking:
    """One transition of a locked booking: decide it, claim it, record it.

    ``columns`` are the booking's changes beside its status; the event names
    ``event_driver_id`` (the driver offered or acting), else the booking's driver. Every
    terminal state gets an end time (its tracking link counts down from it); leaving one
    (a no_driver ride dispatched again) clears it, so the ride and its link are live again."""
    new_status = transition(booking.status, action, who.actor)
    if new_status is S.SEARCHING and action in NEW_SEARCH:
        columns.setdefault("search_started_at", _dt(now))
    if new_status in TERMINAL:
        columns.setdefault("ended_at", _dt(now))
    elif booking.status in TERMINAL:
        columns["ended_at"] = None
    updated = await q.update_booking(
        conn, booking.id, booking.status, status=new_status, updated_at=_dt(now), **columns
    )
    if updated is None:  # only without the row lock: the booking moved on meanwhile
        raise Conflict(f"booking {booking.id} changed meanwhile; try again", code="booking-changed")
    await q.record_event(
        conn,
        updated,
        str(action),
        booking.status,
        str(who.actor),
        who.id,
        now,
        driver_id=event_driver_id if event_driver_id is not None else updated.driver_id,
        offer_id=offer_id,
        reason=reason,
    )
    return updated


async def _locked(conn, booking_id: int) -> q.Booking:
    booking = await q.get_booking(conn, booking_id, for_update=True)
    if booking is None:
        raise NotFound(f"no booking with id {booking_id}", code="booking-not-found")
    return booking


async def _later(what: str, coro) -> None:
    """Deferred jobs are best effort: reconcile finds what a lost job would have done."""
    try:
        await coro
    except Exception:
        log.warning("could not schedule %s; the reconcile job will catch it", what, exc_info=True)


async def _duty(rides: Rides, driver_id: int, status: DutyStatus) -> None:
    """After a commit that changed a driver's duty in PostgreSQL: the index and maps follow."""
    try:
        await announce_duty(rides.store, rides.duty, driver_id, status, rides.settings.stale_after_s)
    except Exception:
        # PostgreSQL has it; the tracker's start-up sync and the next duty change repair Redis.
        log.warning("could not announce duty %s of driver %s", status, driver_id, exc_info=True)


# ---------------------------------------------------------------- offering


async def offer_next(rides: Rides, booking_id: int) -> q.Offer | None:
    """Offer a searching booking to the best driver not asked yet. With nobody within the
    last ring, look again later until DISPATCH_PATIENCE_S after the search started, then
    give up (no_driver).

    Safe to call any number of times from any process: a booking that is not searching,
    or already has an open offer, is left alone.
    """
    s = rides.settings
    lost: set[int] = set()  # drivers another dispatcher claimed while we looked
    look_again: float | None = None
    while True:
        async with rides.pool.acquire() as conn:
            booking = await q.get_booking(conn, booking_id)
            if booking is None or booking.status is not S.SEARCHING:
                return None
            if await q.pending_offer_of_booking(conn, booking_id) is not None:
                return None
        found = await find_driver(rides, booking, lost)
        now = rides.clock()
        if found == ENGAGED:
            await _later("a dispatch retry", rides.jobs.dispatch_at(now + RETRY_ENGAGED_S, booking_id))
            return None
        async with rides.pool.acquire() as conn, conn.transaction():
            booking = await _locked(conn, booking_id)
            if booking.status is not S.SEARCHING or await q.pending_offer_of_booking(conn, booking_id):
                return None
            if not isinstance(found, Search):
                started = (booking.search_started_at or booking.created_at).timestamp()
                look_again = patience.next_look(started, now, s.dispatch_patience_s)
                if look_again is None:  # nobody came within reach in all that time
                    reach_km = s.dispatch_max_rings * s.dispatch_ring_m / 1000
                    await _change(
                        conn, booking, Action.GIVE_UP, SYSTEM, now, reason=f"no driver within {reach_km:g} km"
                    )
                    return None
                break  # nobody in reach yet: keep looking (after the transaction)
            claimed = await _claim(conn, booking_id, found, lost, now, now + s.offer_timeout_s)
            if claimed is None:
                continue  # every candidate went to other bookings meanwhile: search again without them
            offer, driver_id = claimed
            await _change(
                conn, booking, Action.OFFER, SYSTEM, now, event_driver_id=driver_id, offer_id=offer.id,
                search_ring=found.ring,
            )  # fmt: skip
        await _later("an offer timeout", rides.jobs.expire_offer_at(offer.expires_at.timestamp(), offer.id))
        return offer
    # Nobody in reach, and the booking's patience has not run out: search again then (a
    # lost job is caught by reconcile, which resumes searches left without an offer).
    if look_again is not None:
        await _later("a search for a driver", rides.jobs.dispatch_at(look_again, booking_id))
    return None


async def _claim(
    conn, booking_id: int, found: Search, lost: set[int], now: float, expires: float
) -> tuple[q.Offer, int] | None:
    """Offer the booking to the best candidate still free, in rank order (booking row locked).

    A candidate another booking's offer got first (a unique violation) is added to
    ``lost`` and the next is tried: the ranking still holds, and searching again from
    scratch for every lost race is what made dispatchers pile up in a flood."""
    for candidate in found.ranked:
        eta = round(candidate.eta_s) if candidate.eta_s is not None else None
        try:
            async with conn.transaction():  # a savepoint: losing the driver keeps the booking lock
                offer = await q.insert_offer(
                    conn, booking_id, candidate.driver_id, found.ring, round(candidate.distance_m), eta, now, expires
                )
        except asyncpg.UniqueViolationError:
            lost.add(candidate.driver_id)
            continue
        return offer, candidate.driver_id
    return None


# ---------------------------------------------------------------- the driver's side


async def _driver_offer(conn, driver_id: int, offer_id: int) -> q.Offer:
    offer = await q.get_offer(conn, offer_id, for_update=True)
    if offer is None or offer.driver_id != driver_id:  # someone else's offer: it does not exist for you
        raise NotFound(f"no offer with id {offer_id}", code="offer-not-found")
    return offer


async def _end_offer(conn, offer: q.Offer, status: str, action: Action, who: Who, now: float) -> q.Booking:
    """pending → declined/expired, and the booking back to searching."""
    await q.end_offer(conn, offer.id, status, now)
    booking = await _locked(conn, offer.booking_id)
    return await _change(conn, booking, action, who, now, event_driver_id=offer.driver_id, offer_id=offer.id)


async def accept(rides: Rides, driver_id: int, offer_id: int) -> q.Booking:
    """The driver takes the ride: offered → assigned, the driver's duty → busy, atomically."""
    now = rides.clock()
    expired = False
    async with rides.pool.acquire() as conn, conn.transaction():
        offer = await _driver_offer(conn, driver_id, offer_id)
        if offer.status != OfferStatus.PENDING:
            raise Conflict(f"this offer is {offer.status}", code=f"offer-{offer.status}")
        if offer.expires_at.timestamp() <= now:
            await _end_offer(conn, offer, OfferStatus.EXPIRED, Action.EXPIRE, SYSTEM, now)
            expired = True
        else:
            booking = await _locked(conn, offer.booking_id)
            await q.end_offer(conn, offer.id, OfferStatus.ACCEPTED, now)
            try:
                async with conn.transaction():
                    booking = await _change(
                        conn, booking, Action.ACCEPT, Who(Actor.DRIVER, driver_id), now, offer_id=offer.id,
                        driver_id=driver_id, assigned_at=_dt(now), eta_pickup_s=_offered_eta(rides, offer),
                    )  # fmt: skip
            except asyncpg.UniqueViolationError:
                raise Conflict("you already have a ride in hand", code="driver-has-ride") from None
            await driver_queries.set_status(conn, driver_id, DutyStatus.BUSY)
    if expired:
        await offer_next(rides, offer.booking_id)
        raise Conflict("this offer expired before it was accepted", code="offer-expired")
    await _duty(rides, driver_id, DutyStatus.BUSY)
    return booking


async def decline(rides: Rides, driver_id: int, offer_id: int) -> q.Offer:
    """The driver says no: the booking goes on searching (the caller runs offer_next)."""
    now = rides.clock()
    async with rides.pool.acquire() as conn, conn.transaction():
        offer = await _driver_offer(conn, driver_id, offer_id)
        if offer.status != OfferStatus.PENDING:
            raise Conflict(f"this offer is {offer.status}", code=f"offer-{offer.status}")
        await _end_offer(conn, offer, OfferStatus.DECLINED, Action.DECLINE, Who(Actor.DRIVER, driver_id), now)
    return offer


async def expire_offer(rides: Rides, offer_id: int) -> bool:
    """An offer's time is up (the deferred job, or reconcile): back to searching. Idempotent."""
    now = rides.clock()
    async with rides.pool.acquire() as conn, conn.transaction():
        offer = await q.get_offer(conn, offer_id, for_update=True)
        if offer is None or offer.status != OfferStatus.PENDING or offer.expires_at.timestamp() > now:
            return False
        booking = await _end_offer(conn, offer, OfferStatus.EXPIRED, Action.EXPIRE, SYSTEM, now)
    await offer_next(rides, booking.id)
    return True


# The driver's buttons: action → (timestamp column, duty afterwards)
_STEPS = {
    Action.ARRIVE: ("arrived_at", None),
    Action.START: ("started_at", None),
    Action.COMPLETE: ("ended_at", DutyStatus.AVAILABLE),
    Action.RELEASE: (None, DutyStatus.AVAILABLE),
}


async def driver_step(rides: Rides, driver_id: int, booking_id: int, action: Action, reason: str | None = None):
    """arrived → start → complete, or release (the driver gives the ride back: it searches anew)."""
    if action not in _STEPS:
        raise Invalid(f"drivers cannot {action}", code="bad-action")
    now = rides.clock()
    column, duty_after = _STEPS[action]
    async with rides.pool.acquire() as conn, conn.transaction():
        booking = await q.get_booking(conn, booking_id, for_update=True)
        if booking is None or booking.driver_id != driver_id:  # not your ride: it does not exist for you
            raise NotFound(f"no booking with id {booking_id}", code="booking-not-found")
        changes: dict = {column: _dt(now)} if column else {}
        if action is Action.RELEASE:
            changes.update(driver_id=None, search_ring=0, assigned_at=None, arrived_at=None, eta_pickup_s=None)
        booking = await _change(
            conn,
            booking,
            action,
            Who(Actor.DRIVER, driver_id),
            now,
            event_driver_id=driver_id,
            reason=reason,
            **changes,
        )
        if duty_after is not None:
            await driver_queries.set_status(conn, driver_id, duty_after)
    if duty_after is not None:
        await _duty(rides, driver_id, duty_after)
    if action is Action.RELEASE:
        await offer_next(rides, booking_id)
    return booking


# ---------------------------------------------------------------- dispatchers and customers


async def cancel(rides: Rides, booking_id: int, who: Who, reason: str | None) -> q.Booking:
    """Cancel (the customer before the ride starts, staff until it ends); frees its driver."""
    now = rides.clock()
    async with rides.pool.acquire() as conn, conn.transaction():
        booking = await _locked(conn, booking_id)
        freed = booking.driver_id if booking.status in ACTIVE else None
        await q.withdraw_pending(conn, booking_id=booking_id, now=now)
        booking = await _change(
            conn, booking, Action.CANCEL, who, now, reason=reason, cancelled_by=str(who.actor),
            cancel_reason=reason, ended_at=_dt(now),
        )  # fmt: skip
        if freed is not None:
            await driver_queries.set_status(conn, freed, DutyStatus.AVAILABLE)
    if freed is not None:
        await _duty(rides, freed, DutyStatus.AVAILABLE)
    return booking


async def assign(rides: Rides, booking_id: int, driver_id: int, who: Who) -> q.Booking:
    """A dispatcher picks the driver (or swaps the assigned one); open offers are withdrawn."""
    now = rides.clock()
    fix = await _where_is(rides, driver_id)
    async with rides.pool.acquire() as conn, conn.transaction():
        booking = await _locked(conn, booking_id)
        driver = await driver_queries.get_driver(conn, driver_id)  # 404 for an unknown driver
        if driver.status == DutyStatus.OFF_DUTY:
            raise Conflict(f"{driver.name} is off duty", code="driver-off-duty")
        if booking.driver_id == driver_id and booking.status in ACTIVE:
            raise Conflict(f"{driver.name} already has this ride", code="already-assigned")
        previous = booking.driver_id if booking.status in ACTIVE else None
        action = Action.REASSIGN if previous is not None else Action.ASSIGN
        await q.withdraw_pending(conn, booking_id=booking_id, driver_id=driver_id, now=now)
        try:
            async with conn.transaction():
                booking = await _change(
                    conn, booking, action, who, now, driver_id=driver_id, assigned_at=_dt(now), arrived_at=None,
                    eta_pickup_s=_promised_eta(rides, fix, booking),
                )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise Conflict(f"{driver.name} already has a ride in hand", code="driver-has-ride") from None
        await driver_queries.set_status(conn, driver_id, DutyStatus.BUSY)
        if previous is not None:
            await driver_queries.set_status(conn, previous, DutyStatus.AVAILABLE)
    await _duty(rides, driver_id, DutyStatus.BUSY)
    if previous is not None:
        await _duty(rides, previous, DutyStatus.AVAILABLE)
    return booking


async def _where_is(rides: Rides, driver_id: int) -> tuple[float, float] | None:
    """The driver's latest fix, for the pickup ETA a dispatcher's pick promises (None: unknown)."""
    try:
        fix = (await rides.store.fixes([driver_id])).get(driver_id)
    except Exception:  # Redis away: the assignment goes ahead without a promise to measure
        return None
    return (fix.lat, fix.lng) if fix is not None else None


def _promised_eta(rides: Rides, fix: tuple[float, float] | None, booking: q.Booking) -> int | None:
    if fix is None:
        return None
    return rides.router.estimate(*fix, booking.pickup_lat, booking.pickup_lng, rides.clock()).duration_s


def _offered_eta(rides: Rides, offer: q.Offer) -> int:
    """The pickup ETA an accepted offer promises: its routed one, else the estimate over its
    distance (what the rider is shown, measured against the arrival by analytics)."""
    if offer.eta_s is not None:
        return offer.eta_s
    rules = rides.settings.estimate_rules()
    return math.ceil(offer.distance_m * rules.detour_factor / (rules.average_speed_kmh / 3.6))


async def redispatch(rides: Rides, booking_id: int, who: Who) -> q.Booking:
    """Start automatic dispatch again (a no_driver booking, or a scheduled one early)."""
    now = rides.clock()
    async with rides.pool.acquire() as conn, conn.transaction():
        booking = await _locked(conn, booking_id)
        booking = await _change(conn, booking, Action.DISPATCH, who, now, search_ring=0)
    await offer_next(rides, booking_id)
    return booking


# ---------------------------------------------------------------- scheduled rides and repairs


async def start_scheduled(rides: Rides, booking_id: int) -> bool:
    """The deferred job of a scheduled ride: start searching once its dispatch time has come.

    arq may run a job twice: only one run finds the booking still scheduled and due.
    """
    now = rides.clock()
    async with rides.pool.acquire() as conn, conn.transaction():
        booking = await q.get_booking(conn, booking_id, for_update=True)
        if booking is None or booking.status is not S.SCHEDULED:
            return False
        if booking.dispatch_at is not None and booking.dispatch_at.timestamp() > now:
            return False  # early (a clock skew, or a job for an old time): its own job comes later
        await _change(conn, booking, Action.DISPATCH, SYSTEM, now)
    await offer_next(rides, booking_id)
    return True


async def dispatch_job(rides: Rides, booking_id: int) -> None:
    """What a deferred dispatch job does, whichever state the booking is in now."""
    if not await start_scheduled(rides, booking_id):
        await offer_next(rides, booking_id)


@dataclass
class Repairs:
    scheduled_started: int = 0
    offers_expired: int = 0
    searches_resumed: int = 0
    searches_leased: int = 0  # stalled-looking, but a process has their dispatch queued or running


async def reconcile(rides: Rides) -> Repairs:
    """Find what lost jobs or dead processes left undone, from PostgreSQL (worker cron)."""
    now = rides.clock()
    done = Repairs()
    async with rides.pool.acquire() as conn:
        due = await q.due_scheduled(conn, now)
        overdue = await q.overdue_offers(conn, now)
        stalled = await q.stalled_searches(conn, now - STALLED_AFTER_S)
    for booking_id in due:
        done.scheduled_started += await start_scheduled(rides, booking_id)
    for offer_id in overdue:
        done.offers_expired += await expire_offer(rides, offer_id)
    # A booking whose dispatch a process has queued or running is that process's: resuming
    # it here too doubled the work of a web process that had fallen behind. A lease left by
    # a process that died expires, and its bookings are picked up then.
    orphaned = await leases.unheld(rides.redis, stalled)
    done.searches_leased = len(stalled) - len(orphaned)
    for booking_id in orphaned:
        done.searches_resumed += (await offer_next(rides, booking_id)) is not None
    return done
