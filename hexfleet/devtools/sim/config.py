"""What one ``hexfleet simulate`` run does: the options, checked (``command.py``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimConfig:
    drivers: int
    interval: float
    duration: float
    center: tuple[float, float]
    radius_m: float
    url: str
    seed: int | None
    progress: bool
    rides_per_minute: float = 6.0  # 0: no riders (drivers still take rides booked by anyone else)
    scheduled_share: float = 0.2  # of riders who book 20-40 minutes ahead
    accept_share: float = 0.85  # of offers a driver accepts; it declines the rest
    cancel_share: float = 0.1  # of riders who cancel when their driver is slow to come
    # Customers the riders book as: enough that none passes the per-user booking limits.
    rider_accounts: int = 8
    # Where to announce the demo devices it replaces, so web processes drop the old tokens at
    # once rather than after AUTH_CACHE_TTL_S. None: nothing announced (said at start).
    redis_url: str | None = None
