"""Managing the fleet: add, edit, deactivate and reactivate drivers, issue device credentials.

The admin pages and the command line call these; each change and its audit entry share a
transaction. Dependencies come in as arguments (a pool, and for changes that other
processes must hear of, the announcers), so no web framework is needed here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hexfleet import audit
from hexfleet.drivers import queries
from hexfleet.drivers.vehicles import DEFAULT_CLASS
from hexfleet.errors import Conflict, Invalid

# Announcers: revocation (web processes drop cached device lookups) and duty (the index and
# the maps follow an off-duty driver). Both run after the commit.
Announce = Callable[[int], Awaitable[None]]

_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{4,30}$")


@dataclass(frozen=True)
class DriverForm:
    """A driver's editable facts, cleaned; ``DriverForm.parse`` says what is wrong, per field."""

    name: str
    phone: str | None
    vehicle_plate: str | None
    vehicle_class: str

    @classmethod
    def parse(
        cls, name: str, phone: str, vehicle_plate: str, vehicle_class: str
    ) -> tuple[DriverForm | None, dict[str, str]]:
        errors: dict[str, str] = {}
        name, phone, plate = name.strip(), phone.strip(), vehicle_plate.strip().upper()
        if not 1 <= len(name) <= 200:
            errors["name"] = "Enter the driver's name (up to 200 characters)."
        elif any(unicodedata.category(ch) == "Cc" for ch in name):  # NUL among them: PostgreSQL refuses it
            errors["name"] = "Use letters, digits, spaces and punctuation in the name (no control characters)."
        if phone and not _PHONE.match(phone):
            errors["phone"] = "Enter a phone number such as +49 30 1234567, or leave it empty."
        if plate and not (1 <= len(plate) <= 20 and re.fullmatch(r"[A-Z0-9][A-Z0-9 .·-]*", plate)):
            errors["vehicle_plate"] = "Use letters, digits, spaces and dashes (up to 20), or leave it empty."
        if vehicle_class not in queries.VEHICLE_CLASSES:
            errors["vehicle_class"] = f"Choose one of {', '.join(queries.VEHICLE_CLASSES)}."
        if errors:
            return None, errors
        return cls(name, phone or None, plate or None, vehicle_class), {}


def _changes(before: queries.Driver, after: queries.Driver) -> dict:
    fields = ("name", "phone", "vehicle_plate", "vehicle_class")
    return {f: [getattr(before, f), getattr(after, f)] for f in fields if getattr(before, f) != getattr(after, f)}


async def _who_drives(pool, plate: str | None, error: Conflict) -> Conflict:
    """The refusal names who drives the vehicle, so the admin knows whom to edit. A deactivated
    driver keeps its vehicle and is hidden from the list by default: the usual surprise."""
    if error.code != "vehicle-taken" or not plate:
        return error
    async with pool.acquire() as conn:
        holder = await queries.driver_of_plate(conn, plate)
    if holder is None:  # freed meanwhile: the original words still hold
        return error
    # Worded as queries.py words it (the command line and its tests read the same words), plus who.
    if holder.deactivated_at is not None:
        detail = (
            f"vehicle {plate} already has a driver: {holder.name} (#{holder.id}, deactivated; edit them to free it)"
        )
    else:
        detail = f"vehicle {plate} already has a driver: {holder.name} (#{holder.id})"
    return Conflict(detail, code="vehicle-taken")


async def add_driver(pool, actor: audit.Actor, form: DriverForm) -> tuple[queries.Driver, queries.DeviceCredentials]:
    """A new driver with its first device; the credentials are shown once by the caller."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            driver = await queries.create_driver(conn, form.name, form.phone, form.vehicle_plate)
            if form.vehicle_plate and form.vehicle_class != (driver.vehicle_class or DEFAULT_CLASS):
                _, driver = await queries.update_driver(
                    conn, driver.id, form.name, form.phone, form.vehicle_plate, form.vehicle_class
                )
            device = await queries.issue_device(conn, driver.id)
            details = {
                "phone": driver.phone,
                "vehicle_plate": driver.vehicle_plate,
                "vehicle_class": driver.vehicle_class,
            }
            await audit.record(conn, actor, audit.Action.DRIVER_CREATE, "driver", driver.id, driver.name, details)
    except Conflict as error:  # after the rollback: the lookup runs outside the failed transaction
        raise await _who_drives(pool, form.vehicle_plate, error) from None
    return driver, device


async def edit_driver(pool, actor: audit.Actor, driver_id: int, form: DriverForm) -> queries.Driver:
    try:
        async with pool.acquire() as conn, conn.transaction():
            before, after = await queries.update_driver(
                conn, driver_id, form.name, form.phone, form.vehicle_plate, form.vehicle_class
            )
            changes = _changes(before, after)
            if changes:
                await audit.record(conn, actor, audit.Action.DRIVER_UPDATE, "driver", driver_id, after.name, changes)
    except Conflict as error:
        raise await _who_drives(pool, form.vehicle_plate, error) from None
    return after


async def deactivate(pool, actor: audit.Actor, driver_id: int, revoked: Announce, off_duty: Announce) -> queries.Driver:
    """Off the control room, devices revoked, off duty. Refused while the driver holds an
    offer or a ride: finish or reassign it first (nobody's ride is dropped silently)."""
    async with pool.acquire() as conn, conn.transaction():
        driver = await queries.get_driver(conn, driver_id)
        booking_id = await queries.work_in_hand(conn, driver_id)
        if booking_id is not None:
            raise Conflict(
                f"{driver.name} has booking #{booking_id} in hand: reassign or finish it first",
                code="driver-busy",
            )
        changed = await queries.set_deactivated(conn, driver_id, True)
        if changed:
            await audit.record(conn, actor, audit.Action.DRIVER_DEACTIVATE, "driver", driver_id, driver.name)
    if changed:
        await revoked(driver_id)
        await off_duty(driver_id)
    return await _reload(pool, driver_id)


async def reactivate(pool, actor: audit.Actor, driver_id: int) -> queries.Driver:
    """Back in the fleet, off duty and without a device: issue one to connect a phone."""
    async with pool.acquire() as conn, conn.transaction():
        driver = await queries.get_driver(conn, driver_id)
        if await queries.set_deactivated(conn, driver_id, False):
            await audit.record(conn, actor, audit.Action.DRIVER_REACTIVATE, "driver", driver_id, driver.name)
    return await _reload(pool, driver_id)


async def rotate(pool, actor: audit.Actor, driver_id: int, revoked: Announce) -> queries.DeviceCredentials:
    """New device id and token (the old ones stop); the audit says so, never the values."""
    async with pool.acquire() as conn, conn.transaction():
        driver = await queries.get_driver(conn, driver_id)
        device = await queries.rotate_device(conn, driver_id)
        await audit.record(conn, actor, audit.Action.DRIVER_ROTATE, "driver", driver_id, driver.name)
    await revoked(driver_id)
    return device


async def _reload(pool, driver_id: int) -> queries.Driver:
    async with pool.acquire() as conn:
        return await queries.get_driver(conn, driver_id)


def parse_driver_id(text: str) -> int:
    """A driver id from a form or the command line: digits within bigint, else Invalid."""
    digits = text.strip().lstrip("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19 or int(digits) > 2**63 - 1:
        raise Invalid(f"a driver id is a whole number such as 12, not {text[:40]!r}")
    return int(digits)
