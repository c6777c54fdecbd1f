from __future__ import annotations

import asyncio

import asyncpg

from hexfleet.cli.output import emit
from hexfleet.drivers import queries
from hexfleet.errors import Invalid


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="create a driver with a device and print its credentials")
    add.add_argument("--name", required=True)
    add.add_argument("--phone")
    add.add_argument("--vehicle-plate")
    add.add_argument("--json", action="store_true", help="print one JSON object")


async def add_driver(dsn: str, name: str, phone: str | None, plate: str | None):
    name = name.strip()
    if not name:
        raise Invalid("driver name must not be empty")
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            driver = await queries.create_driver(conn, name, phone, plate.strip() if plate else None)
            device = await queries.issue_device(conn, driver.id)
    finally:
        await conn.close()
    return driver, device


def run(args, settings) -> int:
    settings.require_database()
    driver, device = asyncio.run(add_driver(settings.database_url, args.name, args.phone, args.vehicle_plate))
    emit(
        {"id": driver.id, "name": driver.name, "device_id": device.device_id, "token": device.token},
        args.json,
        f"created driver {driver.name} (id {driver.id})\ndevice_id: {device.device_id}\n"
        f"token (shown once): {device.token}",
    )
    return 0
