"""Every Redis key and channel hexfleet uses, in one place (all under ``hf:``).

Live tracking (hexfleet.tracking.store):
- ``hf:pos:{id}``   hash: a driver's latest fix and where it is indexed
- ``hf:duty``       hash: driver id → duty status (mirror of drivers.status)
- ``hf:cell:{c}``   set: available drivers with a fresh fix in H3 cell c
- ``hf:live``       zset: indexed driver id → server time of its last fix (for the stale sweep)
- ``hf:geo``        GEO set: indexed driver id → its position (the same members as ``hf:live``),
  for nearest-N searches (GEOSEARCH) by quotes and dispatch

Rides (hexfleet.rides):
- ``hf:surge``      hash: H3 cell (resolution 7) → surge multiplier in tenths (12 = ×1.2)
- ``hf:dispatching:{booking id}``   string: a token while a process has the booking's dispatch
  queued or running (expires after a while), so the reconcile job leaves it alone

Driver web app (webapp.driver_session):
- ``hf:driver-link:{sha256}``   string "driver id:device id" of a one-time sign-in link, keyed
  by the sha256 (hex) of its token, expiring after DRIVER_LINK_TTL_S; spent with GETDEL

Processes:
- ``hf:stats:tracker``   the tracker's counters, for the web's /metrics
- ``hf:auth:revoked``    channel: device credentials changed, drop cached lookups
- ``hf:places:changed``  channel: places were added, edited, deleted or imported: reload the label index
- ``hf:zones:changed``   channel: zones were added, edited, deleted or imported: cover them again
"""

from __future__ import annotations

PREFIX = "hf:"
POS_PREFIX = "hf:pos:"
DUTY = "hf:duty"
CELL_PREFIX = "hf:cell:"
LIVE = "hf:live"
GEO = "hf:geo"
SURGE = "hf:surge"
DISPATCHING_PREFIX = "hf:dispatching:"
DRIVER_LINK_PREFIX = "hf:driver-link:"
DRIVER_SESSION_PREFIX = "hf:driver-session:"  # + sha256 of a driver web app session id: "driver:device"
TRACKER_STATS = "hf:stats:tracker"
REVOCATION_CHANNEL = "hf:auth:revoked"
PLACES_CHANNEL = "hf:places:changed"
ZONES_CHANNEL = "hf:zones:changed"


def pos(driver_id: int) -> str:
    return f"{POS_PREFIX}{driver_id}"


def dispatching(booking_id: int) -> str:
    return f"{DISPATCHING_PREFIX}{booking_id}"


def driver_link(token_sha256_hex: str) -> str:
    return f"{DRIVER_LINK_PREFIX}{token_sha256_hex}"


def driver_session(session_sha256_hex: str) -> str:
    return f"{DRIVER_SESSION_PREFIX}{session_sha256_hex}"
