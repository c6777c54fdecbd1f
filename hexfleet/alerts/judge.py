"""One evaluation (pure): every rule over one snapshot of the fleet, and what it changes.

``findings(world, rules)`` runs each rule where it applies; ``plan(findings, unresolved, world)``
compares them with the alerts not yet resolved: a finding with no alert raises one, an alert
whose condition no longer holds (or holds for a new occurrence) is resolved, with the reason a
dispatcher reads ("assigned", "fresh_fix", ...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hexfleet.alerts import rules as r
from hexfleet.alerts.rules import Anchor, Finding, Fix, HeldRide, OpenBooking, Rule, ZoneRef

ZonesAt = Callable[[float, float], Sequence[ZoneRef]]


@dataclass(frozen=True)
class World:
    """What the desk gathered (PostgreSQL, the live store) at ``now``."""

    now: float
    open_bookings: Sequence[OpenBooking] = ()
    held_rides: Sequence[HeldRide] = ()
    fixes: dict[int, Fix] = field(default_factory=dict)  # driver id → latest accepted fix
    anchors: dict[int, Anchor] = field(default_factory=dict)  # driver id → where they stopped
    etas: dict[int, float] = field(default_factory=dict)  # booking id → pickup ETA from the driver now
    pickup_cells: dict[int, int] = field(default_factory=dict)  # booking id → resolution-7 cell
    short_cells: frozenset[int] = frozenset()  # the outlook's cells short of drivers
    duty: dict[int, str] = field(default_factory=dict)  # driver id → duty status
    # Restricted zones at a position; None until zones exist (the restricted rule stays off).
    zones_at: ZonesAt | None = None
    booking_status: dict[int, str] = field(default_factory=dict)  # the rest of the bookings alerts name


@dataclass(frozen=True)
class Unresolved:
    """An open or acknowledged alert, as the desk compares it."""

    id: int
    rule: str
    subject_kind: str
    subject_id: int
    occurrence: str

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.rule, self.subject_kind, self.subject_id)


@dataclass(frozen=True)
class Plan:
    raise_: list[Finding]
    resolve: list[tuple[int, str]]  # (alert id, resolution)


def restricted_candidates(world: World) -> list[int]:
    """Available drivers the restricted rule watches (none while zones do not exist)."""
    if world.zones_at is None:
        return []
    return sorted(d for d, status in world.duty.items() if status == "available" and d in world.fixes)


def findings(world: World, rules: r.AlertRules, raised: frozenset[tuple[str, str, int]] = frozenset()) -> list[Finding]:
    """Every rule's findings; ``raised``: keys with an unresolved alert (the ETA rule's hysteresis)."""
    now, out = world.now, []
    for booking in world.open_bookings:
        out.append(r.unassigned(booking, now, rules))
        if booking.id in world.pickup_cells:
            out.append(r.no_driver_soon(booking, world.pickup_cells[booking.id], world.short_cells, now, rules))
    for ride in world.held_rides:
        fix = world.fixes.get(ride.driver_id)
        out.append(r.stale_fix(ride, fix, now, rules))
        eta_key = (str(Rule.ETA_GROWING), "booking", ride.booking_id)
        out.append(r.eta_growing(ride, fix, world.etas.get(ride.booking_id), now, rules, eta_key in raised))
        out.append(r.not_moving(ride, fix, world.anchors.get(ride.driver_id), now, rules))
    if world.zones_at is not None:
        for driver_id in restricted_candidates(world):
            anchor = world.anchors.get(driver_id)
            zones = world.zones_at(anchor.lat, anchor.lng) if anchor is not None else ()
            fix = world.fixes.get(driver_id)
            out.append(r.restricted_wait(driver_id, world.duty.get(driver_id), fix, anchor, zones, now, rules))
    return [f for f in out if f is not None]


def resolution(alert: Unresolved, world: World) -> str:
    """Why an alert's condition cleared, in one word a dispatcher reads."""
    if alert.subject_kind == "booking":
        status = _booking_status(alert.subject_id, world)
        if alert.rule == Rule.ETA_GROWING and status == "assigned":
            return "closing_in"
        if alert.rule == Rule.NO_DRIVER_SOON and status in r.SEARCHING:
            return "drivers_near"
        return status or "gone"
    ride = next((h for h in world.held_rides if h.driver_id == alert.subject_id), None)
    if alert.rule == Rule.STALE_FIX:
        return "fresh_fix" if ride is not None else "ride_ended"
    if alert.rule == Rule.NOT_MOVING:
        return "moving" if ride is not None and ride.status == "in_progress" else "ride_ended"
    if alert.rule == Rule.RESTRICTED_WAIT:
        return "moving" if world.duty.get(alert.subject_id) == "available" else "not_available"
    return "cleared"


def _booking_status(booking_id: int, world: World) -> str | None:
    for booking in world.open_bookings:
        if booking.id == booking_id:
            return booking.status
    for ride in world.held_rides:
        if ride.booking_id == booking_id:
            return ride.status
    return world.booking_status.get(booking_id)


def plan(found: Sequence[Finding], unresolved: Sequence[Unresolved], world: World) -> Plan:
    by_key = {f.key: f for f in found}
    resolve: list[tuple[int, str]] = []
    kept: set[tuple[str, str, int]] = set()
    for alert in unresolved:
        finding = by_key.get(alert.key)
        if finding is not None and finding.occurrence == alert.occurrence:
            kept.add(alert.key)
        elif finding is not None:
            resolve.append((alert.id, "new_occurrence"))  # and the new one is raised below
        else:
            resolve.append((alert.id, resolution(alert, world)))
    return Plan([f for f in found if f.key not in kept], resolve)


def subjects_to_look_up(unresolved: Sequence[Unresolved], world: World) -> list[int]:
    """Bookings named by unresolved alerts that the snapshot does not hold (they ended, most
    likely): the desk reads their status for the resolution."""
    known = {b.id for b in world.open_bookings} | {h.booking_id for h in world.held_rides}
    return sorted({a.subject_id for a in unresolved if a.subject_kind == "booking" and a.subject_id not in known})
