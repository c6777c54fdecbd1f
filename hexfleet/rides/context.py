"""What the ride workflows touch, passed in as one value (the web app, the worker and the
tests each build one; no workflow reaches for a global)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg
from redis.asyncio import Redis

from hexfleet.drivers.duty import DutyPublisher
from hexfleet.places.live import PlaceLabels
from hexfleet.rides.routes import Router
from hexfleet.rides.surge_index import SurgeIndex
from hexfleet.settings import Settings
from hexfleet.tracking.store import LiveStore
from hexfleet.zones.live import LiveZones


class Jobs(Protocol):
    """Deferred work (workers/scheduler.py runs it through arq). Losing one is harmless:
    the worker's reconcile job finds overdue offers and due bookings in PostgreSQL."""

    async def expire_offer_at(self, when: float, offer_id: int) -> None: ...

    async def dispatch_at(self, when: float, booking_id: int) -> None: ...


@dataclass
class Rides:
    pool: asyncpg.Pool
    store: LiveStore
    surge: SurgeIndex
    duty: DutyPublisher
    jobs: Jobs
    settings: Settings
    router: Router
    clock: Callable[[], float] = field(default=time.time)
    # Names for a quote's ends (the nearest place, or the geocoder's address); None: no labels.
    labels: PlaceLabels | None = None
    # Zones in memory (service areas, airport fees and fixed fares); None: no zone rules.
    zones: LiveZones | None = None

    @property
    def redis(self) -> Redis:
        """The live store's Redis client (dispatch leases share it)."""
        return self.store.redis
