"""All SQL for drivers, their vehicles and devices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from hexfleet import security
from hexfleet.db import contains_pattern
from hexfleet.drivers.search import SearchTerms
from hexfleet.drivers.vehicles import VEHICLE_CLASSES as VEHICLE_CLASSES  # re-exported: one list
from hexfleet.errors import Conflict, NotFound

# An arbitrary constant: the advisory lock key that means "creating drivers by name".
_CREATE_LOCK_KEY = 7_402_915_119


@dataclass(frozen=True)
class Driver:
    id: int
    name: str
    phone: str | None
    status: str
    vehicle_plate: str | None
    vehicle_class: str | None
    created_at: datetime
    # Set when an admin deactivated the driver: kept with its history and rides, but off
    # the control room and unable to send (its devices are revoked).
    deactivated_at: datetime | None = None


@dataclass(frozen=True)
class DeviceCredentials:
    """A device as it is issued: the only time its id and token are known in full."""

    driver_id: int
    device_id: str  # shown once, stored hashed (OsmAnd's only credential)
    token: str  # shown once, stored hashed
    row_id: int  # devices.id: how sessions and links name the device


@dataclass(frozen=True)
class Device:
    """A device as it is stored: its id and token are hashes, so neither can be shown again."""

    row_id: int
    driver_id: int
    hint: str | None  # the id's last 4 characters, to tell phones apart
    created_at: datetime


_DRIVER_COLUMNS = """d.id, d.name, d.phone, d.status, v.plate AS vehicle_plate, v.class AS vehicle_class,
                     d.created_at, d.deactivated_at"""


def _driver(row) -> Driver:
    return Driver(**{k: row[k] for k in Driver.__dataclass_fields__})


async def create_driver(conn, name: str, phone: str | None = None, vehicle_plate: str | None = None) -> Driver:
    """Create a driver, creating or attaching the vehicle with that plate."""
    async with conn.transaction():
        vehicle_id = None
        if vehicle_plate:
            vehicle_id = await conn.fetchval(
                """INSERT INTO vehicles (plate) VALUES ($1)
                   ON CONFLICT (upper(plate)) DO UPDATE SET plate = vehicles.plate RETURNING id""",
                vehicle_plate,
            )
        try:
            driver_id = await conn.fetchval(
                "INSERT INTO drivers (name, phone, vehicle_id) VALUES ($1, $2, $3) RETURNING id",
                name,
                phone,
                vehicle_id,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"vehicle {vehicle_plate} already has a driver", code="vehicle-taken") from None
    return await get_driver(conn, driver_id)


async def get_driver(conn, driver_id: int) -> Driver:
    row = await conn.fetchrow(
        f"SELECT {_DRIVER_COLUMNS} FROM drivers d LEFT JOIN vehicles v ON v.id = d.vehicle_id WHERE d.id = $1",
        driver_id,
    )
    if row is None:
        raise NotFound(f"no driver with id {driver_id}", code="driver-not-found")
    return _driver(row)


async def list_drivers(conn, include_deactivated: bool = False) -> list[Driver]:
    """The fleet (the control room's drivers); admins also see the deactivated ones."""
    rows = await conn.fetch(
        f"""SELECT {_DRIVER_COLUMNS} FROM drivers d LEFT JOIN vehicles v ON v.id = d.vehicle_id
            WHERE $1 OR d.deactivated_at IS NULL ORDER BY d.id""",
        include_deactivated,
    )
    return [_driver(r) for r in rows]


# Drivers an admin's search finds (hexfleet/drivers/search.py). $1: include deactivated ones;
# $2: pattern of the text as typed; $3: digits (phones); $4: letters and digits (plates); $5: id.
_SEARCH = r"""FROM drivers d LEFT JOIN vehicles v ON v.id = d.vehicle_id
    WHERE ($1 OR d.deactivated_at IS NULL)
      AND ($2::text IS NULL
           OR d.name ILIKE $2 ESCAPE '\' OR v.plate ILIKE $2 ESCAPE '\' OR d.phone ILIKE $2 ESCAPE '\'
           OR ($3::text IS NOT NULL AND regexp_replace(coalesce(d.phone, ''), '[^0-9]', '', 'g') LIKE '%' || $3 || '%')
           OR ($4::text IS NOT NULL AND regexp_replace(upper(coalesce(v.plate, '')), '[^A-Z0-9]', '', 'g')
                                        LIKE '%' || $4 || '%')
           OR d.id = $5)"""


def _search_args(include_deactivated: bool, terms: SearchTerms | None) -> list:
    if terms is None:
        return [include_deactivated, None, None, None, None]
    return [include_deactivated, contains_pattern(terms.text), terms.digits, terms.plate, terms.driver_id]


async def search_drivers(
    conn, terms: SearchTerms | None, include_deactivated: bool = False, limit: int = 50, offset: int = 0
) -> list[Driver]:
    """The admin list: drivers matching the search (everyone for None), by id."""
    rows = await conn.fetch(
        f"SELECT {_DRIVER_COLUMNS} {_SEARCH} ORDER BY d.id LIMIT $6 OFFSET $7",
        *_search_args(include_deactivated, terms),
        limit,
        offset,
    )
    return [_driver(r) for r in rows]


async def count_drivers(conn, terms: SearchTerms | None = None, include_deactivated: bool = False) -> int:
    return await conn.fetchval(f"SELECT count(*) {_SEARCH}", *_search_args(include_deactivated, terms))


async def update_driver(
    conn, driver_id: int, name: str, phone: str | None, vehicle_plate: str | None, vehicle_class: str
) -> tuple[Driver, Driver]:
    """Change a driver's name, phone and vehicle (plate and class); returns (before, after).

    A plate names a vehicle: an unknown one is created, a known one that another driver
    drives is a Conflict. The vehicle's class is what dispatch matches rides against.
    """
    async with conn.transaction():
        locked = await conn.fetchval("SELECT id FROM drivers WHERE id = $1 FOR UPDATE", driver_id)
        if locked is None:
            raise NotFound(f"no driver with id {driver_id}", code="driver-not-found")
        before = await get_driver(conn, driver_id)
        vehicle_id = None
        if vehicle_plate:
            vehicle_id = await conn.fetchval(
                """INSERT INTO vehicles (plate, class) VALUES ($1, $2)
                   ON CONFLICT (upper(plate)) DO UPDATE SET plate = vehicles.plate RETURNING id""",
                vehicle_plate,
                vehicle_class,
            )
            await conn.execute("UPDATE vehicles SET class = $2 WHERE id = $1", vehicle_id, vehicle_class)
        try:
            await conn.execute(
                "UPDATE drivers SET name = $2, phone = $3, vehicle_id = $4 WHERE id = $1",
                driver_id,
                name,
                phone,
                vehicle_id,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"vehicle {vehicle_plate} already has a driver", code="vehicle-taken") from None
        return before, await get_driver(conn, driver_id)


async def set_vehicle_class(conn, driver_id: int, vehicle_class: str) -> bool:
    """Change the class of the vehicle a driver drives; False when the driver has none."""
    changed = await conn.fetchval(
        """UPDATE vehicles v SET class = $2 FROM drivers d
           WHERE d.id = $1 AND v.id = d.vehicle_id RETURNING v.id""",
        driver_id,
        vehicle_class,
    )
    return changed is not None


async def driver_of_plate(conn, plate: str) -> Driver | None:
    """Who drives the vehicle with this plate (deactivated drivers too: they keep their vehicle)."""
    row = await conn.fetchrow(
        f"""SELECT {_DRIVER_COLUMNS} FROM drivers d JOIN vehicles v ON v.id = d.vehicle_id
            WHERE upper(v.plate) = upper($1)""",
        plate,
    )
    return _driver(row) if row else None


async def set_deactivated(conn, driver_id: int, deactivated: bool) -> bool:
    """Mark a driver (de)activated; False when it already was. Deactivating also revokes its
    devices and puts it off duty: callers announce both (revocation, duty)."""
    if deactivated:
        changed = await conn.fetchval(
            """UPDATE drivers SET deactivated_at = now(), status = 'off_duty'
               WHERE id = $1 AND deactivated_at IS NULL RETURNING id""",
            driver_id,
        )
        if changed is not None:
            await revoke_devices(conn, driver_id)
    else:
        changed = await conn.fetchval(
            "UPDATE drivers SET deactivated_at = NULL WHERE id = $1 AND deactivated_at IS NOT NULL RETURNING id",
            driver_id,
        )
    return changed is not None


async def work_in_hand(conn, driver_id: int) -> int | None:
    """The booking a driver holds (an open offer or a ride not yet ended), if any: such a
    driver cannot be deactivated until the ride is finished or given to someone else."""
    return await conn.fetchval(
        """SELECT booking_id FROM offers WHERE driver_id = $1 AND status = 'pending'
           UNION ALL
           SELECT id FROM bookings WHERE driver_id = $1 AND status IN ('assigned', 'arrived', 'in_progress')
           LIMIT 1""",
        driver_id,
    )


async def find_drivers_by_name_prefix(conn, prefix: str) -> list[Driver]:
    rows = await conn.fetch(
        f"""SELECT {_DRIVER_COLUMNS} FROM drivers d LEFT JOIN vehicles v ON v.id = d.vehicle_id
            WHERE d.name LIKE $1 || '%' AND d.deactivated_at IS NULL ORDER BY d.id""",
        prefix,
    )
    return [_driver(r) for r in rows]


async def set_status(conn, driver_id: int, status: str) -> None:
    updated = await conn.fetchval(
        "UPDATE drivers SET status = $2 WHERE id = $1 AND deactivated_at IS NULL RETURNING id", driver_id, status
    )
    if updated is None:
        await _refuse_missing_or_deactivated(conn, driver_id)


async def _refuse_missing_or_deactivated(conn, driver_id: int) -> None:
    if await conn.fetchval("SELECT deactivated_at IS NOT NULL FROM drivers WHERE id = $1", driver_id):
        raise Conflict(f"driver {driver_id} is deactivated: an admin can reactivate it", code="driver-deactivated")
    raise NotFound(f"no driver with id {driver_id}", code="driver-not-found")


async def duty_statuses(conn) -> dict[int, str]:
    return {r["id"]: r["status"] for r in await conn.fetch("SELECT id, status FROM drivers")}


async def issue_device(conn, driver_id: int) -> DeviceCredentials:
    """Register a new device (id + Bearer token) for a driver; both are stored hashed, so
    the caller shows them now or never."""
    device_id, token = security.new_device_id(), security.new_driver_token()
    row_id = await conn.fetchval(
        """INSERT INTO devices (driver_id, device_id_hash, device_id_hint, token_hash)
           VALUES ($1, $2, $3, $4) RETURNING id""",
        driver_id,
        security.device_id_hash(device_id),
        security.device_id_hint(device_id),
        security.token_hash(token),
    )
    return DeviceCredentials(driver_id, device_id, token, row_id)


async def revoke_devices(conn, driver_id: int) -> int:
    """Revoke every live device of a driver; returns how many."""
    result = await conn.execute(
        "UPDATE devices SET revoked_at = now() WHERE driver_id = $1 AND revoked_at IS NULL", driver_id
    )
    return int(result.split()[-1])


async def driver_for_token(conn, token: str) -> int | None:
    return await conn.fetchval(
        "SELECT driver_id FROM devices WHERE token_hash = $1 AND revoked_at IS NULL", security.token_hash(token)
    )


async def driver_for_device_id(conn, device_id: str) -> int | None:
    """OsmAnd: the device id alone, looked up by its hash."""
    return await conn.fetchval(
        "SELECT driver_id FROM devices WHERE device_id_hash = $1 AND revoked_at IS NULL",
        security.device_id_hash(device_id),
    )


async def driver_for_device_row(conn, row_id: int) -> int | None:
    """The driver of a live device named by its row (driver web app sessions and links)."""
    return await conn.fetchval("SELECT driver_id FROM devices WHERE id = $1 AND revoked_at IS NULL", row_id)


async def get_drivers(conn, driver_ids: list[int]) -> list[Driver]:
    rows = await conn.fetch(
        f"""SELECT {_DRIVER_COLUMNS} FROM drivers d LEFT JOIN vehicles v ON v.id = d.vehicle_id
            WHERE d.id = ANY($1::bigint[])""",
        driver_ids,
    )
    return [_driver(r) for r in rows]


async def lock_driver_creation(conn) -> None:
    """Serialise find-or-create of drivers by name until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _CREATE_LOCK_KEY)


async def rotate_device(conn, driver_id: int) -> DeviceCredentials:
    """Revoke the driver's devices and issue a new one, atomically. Callers then announce
    the change (hexfleet.drivers.revocation) so web processes drop cached lookups."""
    async with conn.transaction():
        # The row lock serialises concurrent rotations of one driver: without it both would
        # revoke and both insert, leaving two live devices.
        locked = await conn.fetchval(
            "SELECT id FROM drivers WHERE id = $1 AND deactivated_at IS NULL FOR UPDATE", driver_id
        )
        if locked is None:
            await _refuse_missing_or_deactivated(conn, driver_id)
        await revoke_devices(conn, driver_id)
        return await issue_device(conn, driver_id)


async def current_device(conn, driver_id: int) -> Device | None:
    """The driver's live device (the newest, should there be several), or None."""
    row = await conn.fetchrow(
        """SELECT id, driver_id, device_id_hint, created_at FROM devices
           WHERE driver_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1""",
        driver_id,
    )
    return Device(row["id"], row["driver_id"], row["device_id_hint"], row["created_at"]) if row else None


async def driver_for_device_credentials(conn, device_id: str, token: str) -> int | None:
    """OwnTracks' Basic auth: the device id and its token must belong to the same live device."""
    return await conn.fetchval(
        "SELECT driver_id FROM devices WHERE device_id_hash = $1 AND token_hash = $2 AND revoked_at IS NULL",
        security.device_id_hash(device_id),
        security.token_hash(token),
    )
