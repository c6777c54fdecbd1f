"""The alert rules (pure): what in the state of the fleet needs a dispatcher.

Each rule is a function of state gathered by the desk (hexfleet/alerts/desk.py) and the
thresholds in ``AlertRules`` (the ALERT_* settings). It answers a ``Finding`` while its condition
holds, naming the condition's **occurrence**: the search that started at 10:02:13, the
assignment made at 10:05, the fix last heard at 10:07:40, the spot the driver stopped at. One
occurrence raises one alert, ever (a unique index in PostgreSQL): a condition that flickers
around its threshold, or that a dispatcher acknowledged, is never raised again every cycle.

- ``unassigned``: a booking searching or offered for ALERT_UNASSIGNED_S since its search started.
- ``stale_fix``: the driver of an assigned, arrived or in-progress ride has sent no fix for
  STALE_AFTER_S (the control room's "stale").
- ``eta_growing``: an assigned driver not getting closer: the time since assignment plus the
  pickup ETA from where the driver is now exceeds the ETA promised at assignment by more than
  ALERT_ETA_GROWTH_S. A driver heading for the pickup as estimated keeps that sum near the
  promise; one stuck, lost or driving away grows it. It clears below half the threshold (and
  the occurrence is the assignment), so an ETA hovering around the line raises one alert.
- ``not_moving``: a ride in progress whose driver stayed within ALERT_STILL_RADIUS_M of one
  spot for ALERT_NOT_MOVING_S (counted from the later of the stop and the ride's start).
- ``no_driver_soon``: a booking within ALERT_NO_DRIVER_SOON_S of giving up (DISPATCH_PATIENCE_S
  after its search started) whose pickup lies in a resolution-7 cell the analytics outlook
  shows short of drivers: dispatch will not find one by itself.
- ``restricted_wait``: an available driver not moving inside a restricted zone for the zone's
  ``wait_minutes``, else ALERT_RESTRICTED_WAIT_S (it takes the restricted zones at the driver's
  position as input: ``desk.restricted_zones``).

A rule whose driver's fix is stale says nothing about where the driver is: ``eta_growing``,
``not_moving`` and ``restricted_wait`` stay quiet then (``stale_fix`` speaks for it).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from hexfleet.geo import haversine_m


class Rule(StrEnum):
    UNASSIGNED = "unassigned"
    STALE_FIX = "stale_fix"
    ETA_GROWING = "eta_growing"
    NOT_MOVING = "not_moving"
    NO_DRIVER_SOON = "no_driver_soon"
    RESTRICTED_WAIT = "restricted_wait"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class State(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# Most urgent first: the panel's and the API's order.
URGENCY = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
SEVERITY = {
    Rule.UNASSIGNED: Severity.WARNING,
    Rule.STALE_FIX: Severity.WARNING,
    Rule.ETA_GROWING: Severity.WARNING,
    Rule.NOT_MOVING: Severity.WARNING,
    Rule.NO_DRIVER_SOON: Severity.CRITICAL,
    Rule.RESTRICTED_WAIT: Severity.INFO,
}
LABELS = {
    Rule.UNASSIGNED: "No driver yet",
    Rule.STALE_FIX: "Driver's position is stale",
    Rule.ETA_GROWING: "Driver not getting closer",
    Rule.NOT_MOVING: "Ride not moving",
    Rule.NO_DRIVER_SOON: "About to find no driver",
    Rule.RESTRICTED_WAIT: "Waiting in a restricted zone",
}
SEARCHING = ("searching", "offered")
HELD = ("assigned", "arrived", "in_progress")


@dataclass(frozen=True)
class AlertRules:
    unassigned_s: float = 120.0
    stale_after_s: float = 60.0
    eta_growth_s: float = 300.0
    not_moving_s: float = 300.0
    still_radius_m: float = 50.0
    no_driver_soon_s: float = 60.0
    patience_s: float = 300.0
    restricted_wait_s: float = 300.0


# ---------------------------------------------------------------- the state the rules read


@dataclass(frozen=True)
class OpenBooking:
    """A booking looking for a driver (searching or offered); times are epoch seconds."""

    id: int
    status: str
    search_started: float
    pickup_lat: float
    pickup_lng: float


@dataclass(frozen=True)
class HeldRide:
    """A booking a driver holds (assigned, arrived or in progress)."""

    booking_id: int
    status: str
    driver_id: int
    assigned_at: float | None
    started_at: float | None
    eta_pickup_s: int | None
    pickup_lat: float
    pickup_lng: float


@dataclass(frozen=True)
class Fix:
    lat: float
    lng: float
    received_at: float  # server time: staleness is judged by it, as the control room does


@dataclass(frozen=True)
class Anchor:
    """Where a driver stopped: within ``still_radius_m`` of (lat, lng) since ``since``."""

    lat: float
    lng: float
    since: float


@dataclass(frozen=True)
class ZoneRef:
    """A restricted zone the driver is in (hexfleet/zones); ``wait_s``: the zone's own limit
    (its rules' ``wait_minutes``), else ALERT_RESTRICTED_WAIT_S."""

    id: int
    name: str
    wait_s: float | None = None


@dataclass(frozen=True)
class Finding:
    rule: Rule
    subject_kind: str  # "booking" | "driver"
    subject_id: int
    occurrence: str
    severity: Severity
    details: dict = field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[str, str, int]:
        return (str(self.rule), self.subject_kind, self.subject_id)


def _ms(ts: float) -> str:
    return str(round(ts * 1000))


def _minutes(seconds: float) -> str:
    """A duration as a person says it: "45 s", "3 min", "1 h 05 min"."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    m = s // 60
    if m < 60:
        return f"{m} min"
    return f"{m // 60} h {m % 60:02d} min"


def fresh(fix: Fix | None, now: float, rules: AlertRules) -> bool:
    return fix is not None and now - fix.received_at <= rules.stale_after_s


def advance_anchor(anchor: Anchor | None, fix: Fix, radius_m: float) -> Anchor:
    """The driver's anchor after this fix: kept while the fix is within ``radius_m`` of it, else
    a new one where the driver is now (they moved: the stop, if any, starts here)."""
    if anchor is not None and haversine_m(anchor.lat, anchor.lng, fix.lat, fix.lng) <= radius_m:
        return anchor
    return Anchor(fix.lat, fix.lng, fix.received_at)


# ---------------------------------------------------------------- the rules


def unassigned(booking: OpenBooking, now: float, rules: AlertRules) -> Finding | None:
    if booking.status not in SEARCHING:
        return None
    waited = now - booking.search_started
    if waited < rules.unassigned_s:
        return None
    return Finding(
        Rule.UNASSIGNED,
        "booking",
        booking.id,
        f"search:{_ms(booking.search_started)}",
        SEVERITY[Rule.UNASSIGNED],
        {
            "booking_id": booking.id,
            "status": booking.status,
            "search_started_at": booking.search_started,
            "summary": f"Booking #{booking.id} has waited {_minutes(waited)} for a driver",
        },
    )


def stale_fix(ride: HeldRide, fix: Fix | None, now: float, rules: AlertRules) -> Finding | None:
    if ride.status not in HELD or fresh(fix, now, rules):
        return None
    last = fix.received_at if fix is not None else None
    silent = f"no fix for {_minutes(now - last)}" if last is not None else "no fix at all"
    return Finding(
        Rule.STALE_FIX,
        "driver",
        ride.driver_id,
        # The last fix heard: a driver who comes back and goes quiet again is a new occurrence.
        f"fix:{_ms(last)}" if last is not None else f"never:{ride.booking_id}",
        SEVERITY[Rule.STALE_FIX],
        {
            "driver_id": ride.driver_id,
            "booking_id": ride.booking_id,
            "status": ride.status,
            "last_fix_at": last,
            "summary": f"Driver #{ride.driver_id} ({ride.status.replace('_', ' ')}, booking #{ride.booking_id}): "
            f"{silent}",
        },
    )


def eta_growth(ride: HeldRide, eta_now_s: float, now: float) -> float | None:
    """How much later than promised the driver would reach the pickup from where they are now:
    (time since assignment + ETA now) − ETA promised. None without a promise."""
    if ride.assigned_at is None or ride.eta_pickup_s is None:
        return None
    return (now - ride.assigned_at) + eta_now_s - ride.eta_pickup_s


def eta_growing(
    ride: HeldRide, fix: Fix | None, eta_now_s: float | None, now: float, rules: AlertRules, raised: bool = False
) -> Finding | None:
    """``raised``: an unresolved alert exists already; it holds until the growth falls below half
    the threshold (hysteresis)."""
    if ride.status != "assigned" or eta_now_s is None or not fresh(fix, now, rules):
        return None
    growth = eta_growth(ride, eta_now_s, now)
    threshold = rules.eta_growth_s / 2 if raised else rules.eta_growth_s
    if growth is None or growth <= threshold:
        return None
    return Finding(
        Rule.ETA_GROWING,
        "booking",
        ride.booking_id,
        f"assigned:{_ms(ride.assigned_at)}",  # type: ignore[arg-type]  # eta_growth checked it
        SEVERITY[Rule.ETA_GROWING],
        {
            "booking_id": ride.booking_id,
            "driver_id": ride.driver_id,
            "eta_promised_s": ride.eta_pickup_s,
            "eta_now_s": round(eta_now_s),
            "growth_s": round(growth),
            "summary": f"Driver #{ride.driver_id} is {_minutes(growth)} behind the pickup ETA of booking "
            f"#{ride.booking_id}",
        },
    )


def not_moving(ride: HeldRide, fix: Fix | None, anchor: Anchor | None, now: float, rules: AlertRules) -> Finding | None:
    if ride.status != "in_progress" or anchor is None or ride.started_at is None or not fresh(fix, now, rules):
        return None
    since = max(anchor.since, ride.started_at)  # waiting at the pickup before the start is not it
    if now - since < rules.not_moving_s:
        return None
    return Finding(
        Rule.NOT_MOVING,
        "driver",
        ride.driver_id,
        f"still:{ride.booking_id}:{_ms(since)}",
        SEVERITY[Rule.NOT_MOVING],
        {
            "driver_id": ride.driver_id,
            "booking_id": ride.booking_id,
            "still_since": since,
            "lat": anchor.lat,
            "lng": anchor.lng,
            "summary": f"Driver #{ride.driver_id} has not moved for {_minutes(now - since)} with booking "
            f"#{ride.booking_id} on board",
        },
    )


def giving_up_at(booking: OpenBooking, rules: AlertRules) -> float:
    return booking.search_started + rules.patience_s


def near_giving_up(booking: OpenBooking, now: float, rules: AlertRules) -> bool:
    """Within ALERT_NO_DRIVER_SOON_S of DISPATCH_PATIENCE_S (the desk asks the outlook only then)."""
    return (
        booking.status in SEARCHING
        and rules.patience_s > 0
        and now >= giving_up_at(booking, rules) - rules.no_driver_soon_s
    )


def no_driver_soon(
    booking: OpenBooking, cell: int, short_cells: Collection[int], now: float, rules: AlertRules
) -> Finding | None:
    """``cell``: the pickup's resolution-7 cell; ``short_cells``: the outlook's short ones."""
    if not near_giving_up(booking, now, rules) or cell not in short_cells:
        return None
    left = giving_up_at(booking, rules) - now
    when = f"in {_minutes(left)}" if left > 0 else "now"
    return Finding(
        Rule.NO_DRIVER_SOON,
        "booking",
        booking.id,
        f"search:{_ms(booking.search_started)}",
        SEVERITY[Rule.NO_DRIVER_SOON],
        {
            "booking_id": booking.id,
            "gives_up_at": giving_up_at(booking, rules),
            "cell": format(cell, "x"),
            "summary": f"Booking #{booking.id} gives up {when}: its area is short of drivers",
        },
    )


def restricted_wait(
    driver_id: int,
    duty: str | None,
    fix: Fix | None,
    anchor: Anchor | None,
    zones_here: Sequence[ZoneRef],
    now: float,
    rules: AlertRules,
) -> Finding | None:
    """``zones_here``: the restricted zones at the driver's anchor (the first one names it)."""
    if duty != "available" or anchor is None or not zones_here or not fresh(fix, now, rules):
        return None
    waited = now - anchor.since
    over = [z for z in zones_here if waited >= (rules.restricted_wait_s if z.wait_s is None else z.wait_s)]
    if not over:
        return None
    zone = min(over, key=lambda z: z.id)
    return Finding(
        Rule.RESTRICTED_WAIT,
        "driver",
        driver_id,
        f"zone:{zone.id}:{_ms(anchor.since)}",
        SEVERITY[Rule.RESTRICTED_WAIT],
        {
            "driver_id": driver_id,
            "zone_id": zone.id,
            "zone": zone.name,
            "still_since": anchor.since,
            "summary": f"Driver #{driver_id} has waited {_minutes(now - anchor.since)} in {zone.name} "
            "(a restricted zone)",
        },
    )
