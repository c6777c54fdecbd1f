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

    async def set_duty(self, driver_id: int, status: str, fresh_after: float) -> bool: ...


async def change_duty(
    pool, store: DutyIndex, publisher: DutyPublisher, driver_id: int, status: DutyStatus, stale_after_s: float
) -> dict:
    """PostgreSQL first (NotFound for unknown drivers), then Redis and the event.

    Going available is allowed without a fresh fix (the phone may be finding the GPS), but
    such a driver is offered nothing until a fix arrives: the answer says so
    (``waiting_for_gps``)."""
    async with pool.acquire() as conn:
        await driver_queries.set_status(conn, driver_id, status)
    indexed = await announce_duty(store, publisher, driver_id, status, stale_after_s)
    return {"driver_id": driver_id, "status": str(status), "waiting_for_gps": waiting_for_gps(status, indexed)}


def waiting_for_gps(status: str, has_fresh_fix: bool) -> bool:
    """Available by choice, but not dispatchable: no phone sends, or its last fix is stale."""
    return status == DutyStatus.AVAILABLE and not has_fresh_fix


async def announce_duty(
    store: DutyIndex, publisher: DutyPublisher, driver_id: int, status: DutyStatus, stale_after_s: float
) -> bool:
    """After PostgreSQL has the new status (possibly in a larger transaction, such as a
    ride's accept): the index and the maps follow. Returns whether the driver is in the
    availability index now."""
    now = time.time()
    indexed = await store.set_duty(driver_id, status, now - stale_after_s)
    await publisher.duty_changed(driver_id, status, now)
    return indexed
