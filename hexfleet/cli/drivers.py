"""`hexfleet drivers`: the fleet from the command line (add, list, show, rotate, deactivate,
reactivate). Changes go through hexfleet.drivers.admin, as the admin pages' do, and are
written to the audit log as done by the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from hexfleet import audit, redisconn
from hexfleet.cli.db import database, parse_id, pool
from hexfleet.cli.output import emit, table
from hexfleet.drivers import admin, connect, queries, revocation
from hexfleet.drivers.duty import DutyStatus
from hexfleet.drivers.vehicles import DEFAULT_CLASS, VEHICLE_CLASSES
from hexfleet.errors import Invalid
from hexfleet.tracking.store import LiveStore


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
    add.add_argument("--vehicle-class", default=DEFAULT_CLASS, choices=VEHICLE_CLASSES)
    add.add_argument("--json", action="store_true", help="print one JSON object")
    listing = sub.add_parser("list", help="the fleet: id, name, plate, class, duty (deactivated ones with --all)")
    listing.add_argument("--all", action="store_true", help="include deactivated drivers")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    show = sub.add_parser(
        "show",
        help="show a driver and how to connect its phone (Traccar Client, OwnTracks); the device id and token "
        "were shown once, by `add` or `rotate`",
    )
    show.add_argument("id", type=driver_id, help="driver id")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    rotate = sub.add_parser(
        "rotate", help="replace the driver's device id and token; the old ones stop working at once"
    )
    rotate.add_argument("id", type=driver_id, help="driver id")
    rotate.add_argument("--json", action="store_true", help="print one JSON object")
    deactivate = sub.add_parser(
        "deactivate",
        help="take a driver off the fleet: devices revoked, off duty, gone from the control room "
        "(refused while it has an offer or a ride in hand); its history and rides are kept",
    )
    deactivate.add_argument("id", type=driver_id, help="driver id")
    deactivate.add_argument("--json", action="store_true", help="print one JSON object")
    reactivate = sub.add_parser(
        "reactivate", help="bring a deactivated driver back (off duty, no device: `rotate` issues one)"
    )
    reactivate.add_argument("id", type=driver_id, help="driver id")
    reactivate.add_argument("--json", action="store_true", help="print one JSON object")


async def add_driver(dsn: str, name: str, phone: str | None, plate: str | None, vehicle_class: str = DEFAULT_CLASS):
    form, errors = admin.DriverForm.parse(name, phone or "", plate or "", vehicle_class)
    if form is None:
        raise Invalid(" ".join(errors.values()))
    async with pool(dsn) as p:
        return await admin.add_driver(p, audit.Actor.command_line(), form)


async def list_drivers(dsn: str, include_deactivated: bool) -> list[queries.Driver]:
    async with pool(dsn) as p, p.acquire() as conn:
        return await queries.list_drivers(conn, include_deactivated=include_deactivated)


async def show_driver(dsn: str, driver_id: int):
    async with database(dsn) as conn:
        driver = await queries.get_driver(conn, driver_id)  # NotFound: main() prints it
        return driver, await queries.current_device(conn, driver_id)


async def rotate_driver(dsn: str, driver_id: int):
    async with pool(dsn) as p:
        device = await admin.rotate(p, audit.Actor.command_line(), driver_id, _later)
        async with p.acquire() as conn:
            driver = await queries.get_driver(conn, driver_id)
    return driver, device


async def _later(driver_id: int) -> None:
    """The command line announces after the change, itself (announce, off_duty)."""


async def set_active(dsn: str, driver_id: int, active: bool) -> tuple[queries.Driver, bool]:
    """(the driver after, whether it changed)."""
    actor = audit.Actor.command_line()
    async with pool(dsn) as p:
        async with p.acquire() as conn:
            before = await queries.get_driver(conn, driver_id)
        if active:
            after = await admin.reactivate(p, actor, driver_id)
        else:
            after = await admin.deactivate(p, actor, driver_id, _later, _later)
    return after, (before.deactivated_at is None) != (after.deactivated_at is None)


async def off_duty(redis_url: str, driver_id: int, stale_after_s: float) -> None:
    """Take a deactivated driver out of the live index (PostgreSQL has it off duty already)."""
    redis = redisconn.connect(redis_url)
    try:
        await LiveStore(redis).set_duty(driver_id, DutyStatus.OFF_DUTY, time.time() - stale_after_s)
    finally:
        await redis.aclose()


async def announce(redis_url: str, driver_id: int) -> None:
    redis = redisconn.connect(redis_url)
    try:
        await revocation.announce(redis, driver_id)
    finally:
        await redis.aclose()


def _instructions(settings, driver, device: queries.DeviceCredentials) -> connect.ConnectInstructions:
    """Right after `add` or `rotate`: the only time the device id and token are known."""
    return connect.instructions(settings.base_url(), settings.osmand_port, device.device_id, device.token, driver.name)


def _later_instructions(settings, driver, device: queries.Device) -> connect.ConnectInstructions:
    """Addresses and settings without the device id and token (stored hashed)."""
    return connect.instructions(settings.base_url(), settings.osmand_port, name=driver.name, hint=device.hint)


def _facts(driver, device: queries.Device | None) -> str:
    if device is None:
        shown = f"none (`hexfleet drivers rotate {driver.id}` issues one)"
    else:
        shown = f"{connect.masked_hint(device.hint)} ({connect.ID_SHOWN_ONCE}, {device.created_at:%Y-%m-%d %H:%M %Z})"
    return "\n".join(
        [
            f"driver {driver.id}: {driver.name}",
            f"  phone:     {driver.phone or '-'}",
            f"  vehicle:   {driver.vehicle_plate or '-'}",
            f"  duty:      {driver.status}",
            f"  device id: {shown}",
        ]
    )


def _print_qr_codes(info: connect.ConnectInstructions) -> None:
    """Terminal QR codes, only for a person at a terminal (the links are in the text anyway)."""
    if not sys.stdout.isatty() or not info.traccar.qr_payload:
        return
    print("\nTraccar Client 9+: Settings > scan QR code")
    print(connect.qr_terminal(info.traccar.qr_payload), end="")
    if info.owntracks.config_link:
        print("OwnTracks: scan with the phone's camera, open in OwnTracks")
        print(connect.qr_terminal(info.owntracks.config_link), end="")


def _payload(driver, info: connect.ConnectInstructions | None) -> dict:
    """``device_id`` is there only right after `add` or `rotate` (else null: stored hashed);
    ``device_hint`` is its last 4 characters, whenever the driver has a device."""
    return {
        "id": driver.id,
        "name": driver.name,
        "phone": driver.phone,
        "vehicle_plate": driver.vehicle_plate,
        "status": driver.status,
        "device_id": info.device_id if info else None,
        "device_hint": info.device_hint if info else None,
        "connect": info.to_json() if info else None,
    }


def run_add(args, settings) -> int:
    driver, device = asyncio.run(
        add_driver(settings.database_url, args.name, args.phone, args.vehicle_plate, args.vehicle_class)
    )
    if args.json:  # a contract: scripts (and the e2e suite) parse exactly these keys
        emit({"id": driver.id, "name": driver.name, "device_id": device.device_id, "token": device.token}, True, "")
        return 0
    info = _instructions(settings, driver, device)
    print(
        f"created driver {driver.name} (id {driver.id})\ndevice_id (shown once): {device.device_id}\n"
        f"token (shown once): {device.token}\n\n{connect.as_text(info)}"
    )
    _print_qr_codes(info)
    return 0


def run_show(args, settings) -> int:
    driver, device = asyncio.run(show_driver(settings.database_url, args.id))
    info = _later_instructions(settings, driver, device) if device else None
    hint = (
        f"`hexfleet drivers rotate {driver.id}` issues a new device identifier and token, shown once "
        "(the phone in use stops sending until it is set up with them)."
    )
    if args.json:
        emit(_payload(driver, info), True, "")
        return 0
    print(_facts(driver, device))
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
    info = _instructions(settings, driver, device)
    if args.json:
        payload = _payload(driver, info)
        payload.update(token=device.token, announced=announced)
        emit(payload, True, "")
    else:
        print(
            f"rotated the device of driver {driver.name} (id {driver.id})\ndevice_id (shown once): {device.device_id}\n"
            f"token (shown once): {device.token}\n\n{connect.as_text(info)}"
        )
        _print_qr_codes(info)
    print(f"hexfleet drivers rotate: {note}", file=sys.stderr)
    return 0


def run_list(args, settings) -> int:
    drivers = asyncio.run(list_drivers(settings.database_url, args.all))
    if args.json:
        emit({"drivers": [_listed(d) for d in drivers]}, True, "")
        return 0
    if not drivers:
        print("no drivers yet: `hexfleet drivers add --name …` (or Fleet admin in the control room)")
        return 0
    rows = [
        [
            str(d.id),
            d.name,
            d.vehicle_plate or "-",
            d.vehicle_class or "-",
            "deactivated" if d.deactivated_at else d.status,
            d.phone or "-",
        ]
        for d in drivers
    ]
    print(table(["ID", "NAME", "PLATE", "CLASS", "DUTY", "PHONE"], rows, right=frozenset({0})))
    if not args.all:
        print(f"{len(drivers)} active driver{'s' if len(drivers) != 1 else ''} (--all adds deactivated ones)")
    return 0


def _listed(d: queries.Driver) -> dict:
    return {
        "id": d.id,
        "name": d.name,
        "phone": d.phone,
        "vehicle_plate": d.vehicle_plate,
        "vehicle_class": d.vehicle_class,
        "status": d.status,
        "deactivated_at": d.deactivated_at.isoformat() if d.deactivated_at else None,
    }


def run_set_active(args, settings) -> int:
    active = args.action == "reactivate"
    driver, changed = asyncio.run(set_active(settings.database_url, args.id, active))
    notes = []
    if changed and not active:
        notes = _announce_deactivation(settings, driver.id)
    state = "active" if active else "deactivated"
    human = f"driver {driver.name} (id {driver.id}) is {state}" + ("" if changed else " (it already was)")
    if changed and not active:
        human += ": its devices are revoked and it is off duty; its history and rides are kept"
    if changed and active:
        human += f" and off duty; `hexfleet drivers rotate {driver.id}` issues a device for its phone"
    emit({**_listed(driver), "changed": changed}, args.json, human)
    for note in notes:
        print(f"hexfleet drivers {args.action}: {note}", file=sys.stderr)
    return 0


def _announce_deactivation(settings, driver_id: int) -> list[str]:
    """Tell the running web processes (revoked tokens) and the live index (off duty); the
    change itself is done, so a failure here is a note, not an error."""
    if not settings.redis_url:
        ttl = f"AUTH_CACHE_TTL_S ({settings.auth_cache_ttl_s:g} s)"
        return [f"REDIS_URL is not set: web processes drop its token within {ttl}"]
    notes = []
    for what, work in (
        ("revoke its token in the web processes", announce(settings.redis_url, driver_id)),
        ("take it off the live map", off_duty(settings.redis_url, driver_id, settings.stale_after_s)),
    ):
        try:
            asyncio.run(work)
        except Exception as error:
            notes.append(f"could not {what} ({error}); it happens within a minute by itself")
    return notes


def run(args, settings) -> int:
    settings.require_database()
    actions = {
        "add": run_add,
        "list": run_list,
        "show": run_show,
        "rotate": run_rotate,
        "deactivate": run_set_active,
        "reactivate": run_set_active,
    }
    return actions[args.action](args, settings)
