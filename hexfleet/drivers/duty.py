"""A driver's duty status, and the one workflow that changes it.

The driver app, the dispatcher API, the control room and ride dispatch (accepting a
ride makes a driver busy, completing it available again) all change duty through
here, so PostgreSQL (the record), Redis (the availability index the nearby search and
dispatch read) and the maps (an event every web process streams) always agree.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Protocol

from hexfleet.drivers import queries as driver_queries


class DutyStatus(StrEnum):
    AVAILABLE = "available"
    OFF_DUTY = "off_duty"
    BUSY = "busy"


class DutyPublisher(Protocol):
    """Tells every web process (their maps) about a duty change; streaming.publisher has the Kafka one."""

    async def duty_changed(self, driver_id: int, status: DutyStatus, at: float) -> None: ...


class DutyIndex(Protocol):
    """The live store's side of a duty change (hexfleet.tracking.store.LiveStore)."""

    async def set_duty(self, driver_id: int, status: str, fresh_after: float) -> None: ...


async def change_duty(
    pool, store: DutyIndex, publisher: DutyPublisher, driver_id: int, status: DutyStatus, stale_after_s: float
) -> dict:
    """PostgreSQL first (NotFound for unknown drivers), then Redis and the event."""
    async with pool.acquire() as conn:
        await driver_queries.set_status(conn, driver_id, status)
    await announce_duty(store, publisher, driver_id, status, stale_after_s)
    return {"driver_id": driver_id, "status": str(status)}


async def announce_duty(
    store: DutyIndex, publisher: DutyPublisher, driver_id: int, status: DutyStatus, stale_after_s: float
) -> None:
    """After PostgreSQL has the new status (possibly in a larger transaction, such as a
    ride's accept): the index and the maps follow."""
    now = time.time()
    await store.set_duty(driver_id, status, now - stale_after_s)
    await publisher.duty_changed(driver_id, status, now)
