"""One hour's raw facts → its rollup rows (pure; hexfleet/analytics/queries.py reads the facts).

Two kinds of fact, attributed differently:

- **A booking's story belongs to the hour it reached dispatch** (its creation, or its dispatch
  time when booked ahead), in its pickup cell and vehicle class: the request, whether and how
  fast it got a driver, the pickup wait and the ETA kept, how it ended and what it earned. A
  ride completed after that hour closed changes that hour (the rollup cron finds it again).
- **Time is cut where it happened**: a driver's working time (duty history), en route and on
  trip (from the booking events, per driver) are clipped to the hour, and to "now" in the hour
  still open, in the cell of the duty row or the booking's pickup.

Offers belong to the hour they were made; quotes to the hour they were asked for. Every fact
also counts in cell 0, the whole fleet, which alone holds facts without a cell (a driver whose
position is not known yet).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hexfleet.analytics import histogram, kpis
from hexfleet.analytics.totals import DriverTotals, Totals
from hexfleet.rides.states import BookingStatus, OfferStatus

HOUR = timedelta(hours=1)
FLEET = 0  # the cell number of the whole-fleet rows
ASSIGNING = frozenset({"accept", "assign", "reassign"})
ENDING = frozenset({"complete", "cancel", "release"})


@dataclass(frozen=True)
class BookingFact:
    id: int
    demand_at: datetime  # reached dispatch: created, or its dispatch time when booked ahead
    scheduled: bool
    status: str
    vehicle_class: str
    cell: int  # H3 resolution 7 of the pickup
    driver_id: int | None
    cancelled_by: str | None
    assigned_at: datetime | None  # the assignment of the driver who has it (or had it at the end)
    arrived_at: datetime | None
    ended_at: datetime | None
    eta_pickup_s: int | None  # promised at that assignment
    price_minor: int
    currency: str
    distance_m: int


@dataclass(frozen=True)
class EventFact:
    id: int
    booking_id: int
    action: str
    driver_id: int | None
    at: datetime


@dataclass(frozen=True)
class OfferFact:
    driver_id: int
    status: str
    created_at: datetime
    responded_at: datetime | None
    cell: int
    vehicle_class: str


@dataclass(frozen=True)
class QuoteFact:
    cell: int
    vehicle_class: str
    booked: bool
    surge_tenths: int | None  # None: a quote for later, priced without surge


@dataclass(frozen=True)
class DutyFact:
    driver_id: int
    started_at: datetime
    ended_at: datetime | None
    status: str  # only working rows are read: available, busy
    cell: int | None
    vehicle_class: str


@dataclass
class HourFacts:
    """Everything one hour's rollup reads: bookings alive in the hour (with all their events,
    in order), offers and quotes made in it, working duty rows overlapping it."""

    bookings: list[BookingFact] = field(default_factory=list)
    events: list[EventFact] = field(default_factory=list)
    offers: list[OfferFact] = field(default_factory=list)
    quotes: list[QuoteFact] = field(default_factory=list)
    duty: list[DutyFact] = field(default_factory=list)


CellKey = tuple[int, str]  # (cell, vehicle class)


def _ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)


def _overlap_ms(start: datetime, end: datetime | None, window: tuple[datetime, datetime]) -> int:
    lo, hi = max(start, window[0]), min(end or window[1], window[1])
    return _ms(hi - lo) if hi > lo else 0


class _Rows:
    def __init__(self) -> None:
        self.cells: dict[CellKey, Totals] = defaultdict(Totals)
        self.drivers: dict[int, DriverTotals] = defaultdict(DriverTotals)

    def of(self, cell: int | None, vehicle_class: str) -> list[Totals]:
        """The rows a fact counts in: its cell's (if it has one) and the whole fleet's."""
        rows = [self.cells[(FLEET, vehicle_class)]]
        if cell is not None and cell != FLEET:
            rows.append(self.cells[(cell, vehicle_class)])
        return rows


def aggregate(hour: datetime, now: datetime, facts: HourFacts) -> tuple[dict[CellKey, Totals], dict[int, DriverTotals]]:
    """The rows of the hour starting at ``hour`` (UTC, on the hour), as known at ``now``.

    Returns the cell rows by (cell, vehicle class) and the driver rows by driver id; rows
    with nothing in them are left out."""
    end = hour + HOUR
    window = (hour, min(end, max(now, hour)))
    rows = _Rows()
    events: dict[int, list[EventFact]] = defaultdict(list)
    for event in facts.events:
        events[event.booking_id].append(event)
    for booking in facts.bookings:
        story = sorted(events.get(booking.id, ()), key=lambda e: e.id)
        if hour <= booking.demand_at < end:
            _story(rows, booking, story)
        _time_on_rides(rows, booking, story, window)
    for offer in facts.offers:
        _offer(rows, offer)
    for quote in facts.quotes:
        _quote(rows, quote)
    for duty in facts.duty:
        _duty(rows, duty, window)
    cells = {k: t for k, t in rows.cells.items() if not t.is_empty()}
    drivers = {d: t for d, t in rows.drivers.items() if not t.is_empty()}
    return cells, drivers


def _story(rows: _Rows, b: BookingFact, story: list[EventFact]) -> None:
    targets = rows.of(b.cell, b.vehicle_class)
    first_assigned = next((e.at for e in story if e.action in ASSIGNING), None)
    releases = [e for e in story if e.action == "release"]
    wait_s = (b.arrived_at - b.assigned_at).total_seconds() if b.arrived_at and b.assigned_at else None
    for t in targets:
        t.requests += 1
        t.requests_scheduled += b.scheduled
        t.cancelled_driver += len(releases)
        if first_assigned is not None:
            t.assigned += 1
            histogram.add(t.assign, (first_assigned - b.demand_at).total_seconds())
        if wait_s is not None:
            histogram.add(t.wait, wait_s)
            if b.eta_pickup_s is not None:
                error_ms = round((wait_s - b.eta_pickup_s) * 1000)
                t.eta_n += 1
                t.eta_abs_ms += abs(error_ms)
                t.eta_sum_ms += error_ms
                kept = kpis.within_band(b.eta_pickup_s, wait_s)
                if kept is not None:
                    t.eta_band_n += 1
                    t.eta_band_ok += kept
        if b.status == BookingStatus.COMPLETED:
            t.completed += 1
            t.distance_m += b.distance_m
            _earn(t.revenue, b)
        elif b.status == BookingStatus.NO_DRIVER:
            t.no_driver += 1
        elif b.status == BookingStatus.CANCELLED:
            who = kpis.CANCELLED_BY.get(b.cancelled_by or "", "system")
            setattr(t, f"cancelled_{who}", getattr(t, f"cancelled_{who}") + 1)
            if b.assigned_at is not None:
                t.cancelled_after_assign += 1
            else:
                t.cancelled_before_assign += 1
    if b.status == BookingStatus.COMPLETED and b.driver_id is not None:
        d = rows.drivers[b.driver_id]
        d.trips += 1
        d.distance_m += b.distance_m
        _earn(d.revenue, b)
    for release in releases:
        if release.driver_id is not None:
            rows.drivers[release.driver_id].releases += 1


def _earn(revenue: dict[str, tuple[int, int]], b: BookingFact) -> None:
    minor, metres = revenue.get(b.currency, (0, 0))
    revenue[b.currency] = (minor + b.price_minor, metres + b.distance_m)


def _time_on_rides(rows: _Rows, b: BookingFact, story: Iterable[EventFact], window) -> None:
    """Each driver's en route (assigned → arrived) and on trip (started → ended) time, from
    the events: a reassigned or given-back ride counts for each driver while they had it."""
    phase: tuple[str, int | None, datetime] | None = None  # (kind, driver, since)

    def close(at: datetime | None) -> None:
        if phase is None:
            return
        kind, driver, since = phase
        ms = _overlap_ms(since, at, window)
        if not ms:
            return
        for t in rows.of(b.cell, b.vehicle_class):
            setattr(t, f"{kind}_ms", getattr(t, f"{kind}_ms") + ms)
        if driver is not None:
            d = rows.drivers[driver]
            setattr(d, f"{kind}_ms", getattr(d, f"{kind}_ms") + ms)

    holder: int | None = None
    for e in story:
        if e.action in ASSIGNING:
            close(e.at)
            holder = e.driver_id
            phase = ("en_route", holder, e.at)
        elif e.action == "arrive":
            close(e.at)
            phase = None  # waiting at the pickup: busy, but neither en route nor on trip
        elif e.action == "start":
            close(e.at)
            phase = ("on_trip", e.driver_id if e.driver_id is not None else holder, e.at)
        elif e.action in ENDING:
            close(e.at)
            phase, holder = None, None
    close(b.ended_at)  # still under way: until now (the window's end); ended without an event: then


def _offer(rows: _Rows, o: OfferFact) -> None:
    responded = o.status in (OfferStatus.ACCEPTED, OfferStatus.DECLINED) and o.responded_at is not None
    for t in rows.of(o.cell, o.vehicle_class):
        t.offers_sent += 1
        if o.status in (OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.EXPIRED, OfferStatus.WITHDRAWN):
            setattr(t, f"offers_{o.status}", getattr(t, f"offers_{o.status}") + 1)
        if responded:
            histogram.add(t.response, (o.responded_at - o.created_at).total_seconds())  # type: ignore[operator]
    d = rows.drivers[o.driver_id]
    d.offers_sent += 1
    if o.status in (OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.EXPIRED):
        setattr(d, f"offers_{o.status}", getattr(d, f"offers_{o.status}") + 1)


def _quote(rows: _Rows, q: QuoteFact) -> None:
    for t in rows.of(q.cell, q.vehicle_class):
        t.searches += 1
        t.searches_booked += q.booked
        if q.surge_tenths is not None:
            t.surge_quotes += 1
            t.surge_tenths += q.surge_tenths


def _duty(rows: _Rows, f: DutyFact, window) -> None:
    ms = _overlap_ms(f.started_at, f.ended_at, window)
    if not ms or f.status not in ("available", "busy"):
        return
    for t in rows.of(f.cell, f.vehicle_class):
        t.online_ms += ms
        setattr(t, f"{f.status}_ms", getattr(t, f"{f.status}_ms") + ms)
    d = rows.drivers[f.driver_id]
    d.online_ms += ms
    setattr(d, f"{f.status}_ms", getattr(d, f"{f.status}_ms") + ms)
