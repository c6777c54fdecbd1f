"""The names live streams use, in one place: audience channels and SSE event names.

A ride event names the channels that may see it (``streaming.ride_fanout``); a stream
subscribes to one (``webapp.api.stream``, the driver's and the tracking link's streams).
Browsers listen for the event names (``EventSource.addEventListener``).
"""

from __future__ import annotations

# Audience channels of the rides hub.
STAFF = "staff"  # every booking event and surge
SURGE = "surge"  # surge changes, for riders' maps


def booking(booking_id: int) -> str:
    """One booking's events (its rider's page, a tracking link)."""
    return f"booking:{booking_id}"


def customer(user_id: int) -> str:
    """Every booking of one rider."""
    return f"customer:{user_id}"


def driver(driver_id: int) -> str:
    """One driver's offers and rides."""
    return f"driver:{driver_id}"


# SSE event names (``event:`` lines): plain strings, as the fan-out builds one per fix.
POSITION = "position"  # a driver's fix
STATUS = "status"  # a driver's duty
BOOKING = "booking"  # a booking changed
SURGE_CHANGED = "surge"  # surge multipliers changed
GONE = "gone"  # a tracking link stopped working: the stream ends
