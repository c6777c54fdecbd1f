from __future__ import annotations

import argparse
import asyncio
import sys

import asyncpg

from hexfleet.cli.db import parse_id
from hexfleet.cli.output import emit
from hexfleet.drivers import connect, queries, revocation
from hexfleet.errors import Invalid


def driver_id(text: str) -> int:
    """argparse type: a driver id within bigint range (else a one-line usage error, not a traceback)."""
    try:
        return parse_id(text, "driver id")
    except Invalid as error:
        raise argparse.ArgumentTypeError(error.detail) from None


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="create a driver with a device and print its credentials")
    add.add_argument("--name", required=True)
    add.add_argument("--phone")
    add.add_argument("--vehicle-plate")
    add.add_argument("--json", action="store_true", help="print one JSON object")
    show = sub.add_parser("show", help="show a driver and how to connect its phone (Traccar Client, OwnTracks)")
    show.add_argument("id", type=driver_id, help="driver id")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    rotate = sub.add_parser(
        "rotate", help="replace the driver's device id and token; the old ones stop working at once"
    )
    rotate.add_argument("id", type=driver_id, help="driver id")
    rotate.add_argument("--json", action="store_true", help="print one JSON object")


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


async def show_driver(dsn: str, driver_id: int):
    conn = await asyncpg.connect(dsn)
    try:
        driver = await queries.get_driver(conn, driver_id)  # NotFound: main() prints it
        device_id = await queries.current_device_id(conn, driver_id)
    finally:
        await conn.close()
    return driver, device_id


async def rotate_driver(dsn: str, driver_id: int):
    conn = await asyncpg.connect(dsn)
    try:
        driver = await queries.get_driver(conn, driver_id)
        device = await queries.rotate_device(conn, driver_id)
    finally:
        await conn.close()
    return driver, device


async def announce(redis_url: str, driver_id: int) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await revocation.announce(redis, driver_id)
    finally:
        await redis.aclose()


def _instructions(settings, driver, device_id: str, token: str | None = None) -> connect.ConnectInstructions:
    return connect.instructions(settings.base_url(), settings.osmand_port, device_id, token, driver.name)


def _facts(driver, device_id: str | None) -> str:
    return "\n".join(
        [
            f"driver {driver.id}: {driver.name}",
            f"  phone:     {driver.phone or '-'}",
            f"  vehicle:   {driver.vehicle_plate or '-'}",
            f"  duty:      {driver.status}",
            f"  device id: {device_id or f'none (hexfleet drivers rotate {driver.id} issues one)'}",
        ]
    )


def _print_qr_codes(info: connect.ConnectInstructions) -> None:
    """Terminal QR codes, only for a person at a terminal (the links are in the text anyway)."""
    if not sys.stdout.isatty():
        return
    print("\nTraccar Client 9+: Settings > scan QR code")
    print(connect.qr_terminal(info.traccar.qr_payload), end="")
    if info.owntracks.config_link:
        print("OwnTracks: scan with the phone's camera, open in OwnTracks")
        print(connect.qr_terminal(info.owntracks.config_link), end="")


def _payload(driver, device_id: str | None, info: connect.ConnectInstructions | None) -> dict:
    return {
        "id": driver.id,
        "name": driver.name,
        "phone": driver.phone,
        "vehicle_plate": driver.vehicle_plate,
        "status": driver.status,
        "device_id": device_id,
        "connect": info.to_json() if info else None,
    }


def run_add(args, settings) -> int:
    driver, device = asyncio.run(add_driver(settings.database_url, args.name, args.phone, args.vehicle_plate))
    if args.json:  # a contract: scripts (and the e2e suite) parse exactly these keys
        emit({"id": driver.id, "name": driver.name, "device_id": device.device_id, "token": device.token}, True, "")
        return 0
    info = _instructions(settings, driver, device.device_id, device.token)
    print(
        f"created driver {driver.name} (id {driver.id})\ndevice_id: {device.device_id}\n"
        f"token (shown once): {device.token}\n\n{connect.as_text(info)}"
    )
    _print_qr_codes(info)
    return 0


def run_show(args, settings) -> int:
    driver, device_id = asyncio.run(show_driver(settings.database_url, args.id))
    info = _instructions(settings, driver, device_id) if device_id else None
    hint = f"`hexfleet drivers rotate {driver.id}` issues a new one (the phone must then be set up again)"
    if args.json:
        emit(_payload(driver, device_id, info), True, "")
        return 0
    print(_facts(driver, device_id))
    if info:
        print()
        print(connect.as_text(info, rotate_hint=hint))
        _print_qr_codes(info)
    return 0


def run_rotate(args, settings) -> int:
    driver, device = asyncio.run(rotate_driver(settings.database_url, args.id))
    ttl = f"AUTH_CACHE_TTL_S ({settings.auth_cache_ttl_s:g} s)"
    if settings.redis_url:
        try:
            asyncio.run(announce(settings.redis_url, driver.id))
            announced, note = True, "web processes were told: the old device id and token stop working now"
        except Exception as error:  # the rotation is done: never lose the new token over this
            announced, note = False, f"could not tell web processes ({error}); the old token works for up to {ttl}"
    else:
        announced, note = False, f"REDIS_URL is not set: web processes drop the old token within {ttl}"
    info = _instructions(settings, driver, device.device_id, device.token)
    if args.json:
        payload = _payload(driver, device.device_id, info)
        payload.update(token=device.token, announced=announced)
        emit(payload, True, "")
    else:
        print(
            f"rotated the device of driver {driver.name} (id {driver.id})\ndevice_id: {device.device_id}\n"
            f"token (shown once): {device.token}\n\n{connect.as_text(info)}"
        )
        _print_qr_codes(info)
    print(f"hexfleet drivers rotate: {note}", file=sys.stderr)
    return 0


def run(args, settings) -> int:
    settings.require_database()
    return {"add": run_add, "show": run_show, "rotate": run_rotate}[args.action](args, settings)
