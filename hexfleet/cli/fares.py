"""``hexfleet fares list|set``: what each vehicle class costs, typed and shown in major units.

Amounts go in as decimal text (``--base 2.50``) and are stored exactly as integer minor
units of the fare's currency (hexfleet/rides/money.py); the JSON output keeps minor units,
like the API's ``/api/v1/fares``.
"""

from __future__ import annotations

import asyncio

import asyncpg

from hexfleet import audit
from hexfleet.cli.db import database
from hexfleet.cli.output import emit, table
from hexfleet.errors import Conflict, Invalid
from hexfleet.rides import queries as q
from hexfleet.rides.fares import VEHICLE_CLASSES, Fare
from hexfleet.rides.money import EXPONENTS, format_amount, format_major, normalise_currency, parse_amount

# (option, Fare field, label): the amounts of a fare, in the order people read them.
AMOUNTS = (
    ("--base", "base_minor", "base"),
    ("--per-km", "per_km_minor", "per km"),
    ("--per-minute", "per_minute_minor", "per minute"),
    ("--booking-fee", "booking_fee_minor", "booking fee"),
    ("--minimum", "minimum_minor", "minimum"),
)
# Two admins changing one fare at once: the loser reads the winner's fare and applies its change again.
ATTEMPTS = 10


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="every vehicle class's fare")
    listing.add_argument("--json", action="store_true", help="print one JSON object (amounts in minor units)")
    put = sub.add_parser(
        "set",
        help="set a vehicle class's fare; amounts in major units (2.50), exact to the currency's minor unit",
        description="Set a vehicle class's fare. A new fare needs every option; an existing one keeps what is "
        "not given (a new --currency needs every amount again). New quotes use the fare at once.",
    )
    put.add_argument("vehicle_class", metavar="CLASS", help=f"one of {', '.join(VEHICLE_CLASSES)}")
    put.add_argument("--currency", help="ISO 4217 code, e.g. EUR")
    for option, _, label in AMOUNTS:
        put.add_argument(option, metavar="AMOUNT", help=f"{label}, e.g. 2.50")
    put.add_argument("--json", action="store_true", help="print one JSON object (amounts in minor units)")


def known_class(text: str) -> str:
    name = text.strip().lower()
    if name not in VEHICLE_CLASSES:
        raise Invalid(f"unknown vehicle class {text[:40]!r}; classes: {', '.join(VEHICLE_CLASSES)}")
    return name


def merged(current: Fare | None, vehicle_class: str, currency: str | None, amounts: dict[str, str]) -> Fare:
    """The fare after this change (Invalid when the change is incomplete or a value is bad).

    Amounts are read in the currency the fare will have. Changing an existing fare's
    currency needs every amount again: the stored ones count minor units of the old one.
    """
    options = ["--currency", *(option for option, _, _ in AMOUNTS)]
    if current is None:
        missing = [o for o in options if (currency if o == "--currency" else amounts.get(o)) is None]
        if missing:
            raise Invalid(
                f"{vehicle_class} has no fare yet: give all of {', '.join(options)} (missing {', '.join(missing)})"
            )
    elif currency is None and not amounts:
        raise Invalid(f"nothing to change: give at least one of {', '.join(options)}")
    if currency is not None:
        code = normalise_currency(currency)
    else:
        assert current is not None  # a new fare without --currency was refused above
        code = current.currency
    if current is not None and code != current.currency:
        missing = [o for o, _, _ in AMOUNTS if o not in amounts]
        if missing:
            raise Invalid(
                f"changing the currency of {vehicle_class} from {current.currency} to {code} needs every amount "
                f"again, in {code} (missing {', '.join(missing)})"
            )
    if code not in EXPONENTS:  # stored before the currency was checked; --currency replaces it
        raise Invalid(f"the fare's currency {code!r} is unknown here: give --currency and every amount")
    values = {field: parse_amount(amounts[o], code, name=o) for o, field, _ in AMOUNTS if o in amounts}
    kept = current.to_json() if current else {}
    return Fare(**{**kept, "vehicle_class": vehicle_class, "currency": code, **values})


async def fetch_all(dsn: str) -> list[Fare]:
    async with database(dsn) as conn:
        return await q.list_fares(conn)


async def put(dsn: str, vehicle_class: str, currency: str | None, amounts: dict[str, str]):
    """Read, merge and write in one serializable transaction: a concurrent change is never lost."""
    async with database(dsn) as conn:
        for _ in range(ATTEMPTS):
            try:
                async with conn.transaction(isolation="serializable"):
                    before = await q.get_fare(conn, vehicle_class)
                    fare = merged(before, vehicle_class, currency, amounts)
                    after = await q.put_fare(conn, fare, None)
                    await audit.record(
                        conn,
                        audit.Actor.command_line(),
                        audit.Action.FARE_SET,
                        "fare",
                        None,
                        vehicle_class,
                        after.to_json(),
                    )
                    return before, after
            except asyncpg.SerializationError:
                continue
    raise Conflict(f"the fare of {vehicle_class} kept changing under us; try again")


def list_text(fares: list[Fare]) -> str:
    if not fares:
        return (
            "no fares set yet: quotes are refused until a vehicle class has one, e.g.\n"
            "  hexfleet fares set standard --currency EUR --base 2.50 --per-km 1.35 --per-minute 0.30 "
            "--booking-fee 1.00 --minimum 7.00"
        )
    header = ("class", "currency", *(label for _, _, label in AMOUNTS))
    rows = [
        (f.vehicle_class, f.currency, *(format_major(getattr(f, field), f.currency) for _, field, _ in AMOUNTS))
        for f in fares
    ]
    lines = [table(header, rows, right=frozenset(range(2, len(header))))]
    unset = [c for c in VEHICLE_CLASSES if c not in {f.vehicle_class for f in fares}]
    if unset:
        lines.append(f"no fare for {', '.join(unset)}: quotes for {'it' if len(unset) == 1 else 'them'} are refused")
    return "\n".join(lines)


def set_text(before: Fare | None, fare: Fare) -> str:
    if before == fare:
        return f"fare of {fare.vehicle_class} unchanged"
    lines = [f"{'created' if before is None else 'updated'} the fare of {fare.vehicle_class}"]
    width = max(len(label) for _, _, label in AMOUNTS) + 1
    for _, field, label in AMOUNTS:
        now = format_amount(getattr(fare, field), fare.currency)
        was = format_amount(getattr(before, field), before.currency) if before else now
        lines.append(f"  {(label + ':').ljust(width)} {now}" + (f"  (was {was})" if was != now else ""))
    return "\n".join(lines)


def run_list(args, settings) -> int:
    settings.require_database()
    fares = asyncio.run(fetch_all(settings.database_url))
    emit({"fares": [f.to_json() for f in fares]}, args.json, list_text(fares))
    return 0


def run_set(args, settings) -> int:
    vehicle_class = known_class(args.vehicle_class)
    amounts = {o: getattr(args, o[2:].replace("-", "_")) for o, _, _ in AMOUNTS}
    amounts = {o: v for o, v in amounts.items() if v is not None}
    if args.currency is not None:
        normalise_currency(args.currency)  # a bad code is an error before any database is asked
    settings.require_database()
    before, fare = asyncio.run(put(settings.database_url, vehicle_class, args.currency, amounts))
    emit(fare.to_json(), args.json, set_text(before, fare))
    return 0


def run(args, settings) -> int:
    return {"list": run_list, "set": run_set}[args.action](args, settings)
