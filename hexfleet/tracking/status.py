"""Whether a driver is online, stale or never seen (pure)."""

from __future__ import annotations

from hexfleet.drivers.duty import DutyStatus


def liveness(received_at: float | None, now: float, stale_after_s: float) -> tuple[bool, bool]:
    """(online, stale): online while the last fix is fresh, stale after; neither if never seen."""
    if received_at is None:
        return False, False
    fresh = now - received_at <= stale_after_s
    return fresh, not fresh


def counts(views) -> dict[str, int]:
    """Fleet counts for the control room: online drivers by duty status, plus stale ones.

    A driver counts as available only while a fresh fix comes from their phone: one who
    went available without (no phone sending, or its last fix stale) counts apart, as
    ``waiting_for_gps``."""
    c = {"total": 0, "online": 0, "stale": 0, "waiting_for_gps": 0} | {str(s): 0 for s in DutyStatus}
    for v in views:
        c["total"] += 1
        if v.stale:
            c["stale"] += 1
        elif v.online:
            c["online"] += 1
            c[v.status] = c.get(v.status, 0) + 1
        if not v.online and v.status == DutyStatus.AVAILABLE:
            c["waiting_for_gps"] += 1
    return c
