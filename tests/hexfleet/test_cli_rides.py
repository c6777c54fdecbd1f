"""`hexfleet bookings` and `hexfleet fares`: the real command as a subprocess, a real database.

Bookings are made and moved along through the rides queries (as the workflows do), with
times built from now; the commands print them in the zone TZ names.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from helpers import make_driver, make_fare, make_user

from hexfleet.cli import fares as fares_cli
from hexfleet.devtools.testing import create_database, drop_database, free_port
from hexfleet.geo import cell_of
from hexfleet.rides import links
from hexfleet.rides import queries as q
from hexfleet.rides.fares import Fare
from hexfleet.rides.states import BookingStatus as S

# A data folder where no `hexfleet dev` runs: never a `make run` that happens to run in this checkout.
NO_DEV_STACK = "/nonexistent/hexfleet-data"
PICKUP = (52.52, 13.405)
DROPOFF = (52.53, 13.43)
BOOKING_KEYS = {
    "id", "status", "vehicle_class", "pickup", "dropoff", "price_minor", "currency", "scheduled_for", "driver_id",
    "search_ring", "cancelled_by", "updated_at", "quote_id", "customer_id", "passenger", "notes", "distance_m",
    "duration_s", "breakdown", "dispatch_at", "cancel_reason", "created_at", "assigned_at", "arrived_at",
    "started_at", "ended_at",
}  # fmt: skip
FARE_KEYS = {
    "vehicle_class", "currency", "base_minor", "per_km_minor", "per_minute_minor", "booking_fee_minor", "minimum_minor"
}  # fmt: skip
FULL_FARE = ["--currency", "EUR", "--base", "2.50", "--per-km", "1.35", "--per-minute", "0.30"]
FULL_FARE += ["--booking-fee", "1.00", "--minimum", "7.00"]


def hexfleet(database_url: str, *args: str, tz: str = "UTC") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env.update(DATABASE_URL=database_url, HEXFLEET_DATA_DIR=NO_DEV_STACK, TZ=tz)
    return subprocess.run(
        [sys.executable, "-m", "hexfleet.cli.main", *args], env=env, capture_output=True, text=True, timeout=60
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess, message: str) -> None:
    """Exit status 2, one line on stderr that says what is wrong, nothing on stdout."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout == ""


def minute(at: datetime, offset: timedelta = timedelta(0)) -> str:
    return (at + offset).astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def second(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------- bookings made through the queries


async def make_booking(
    pool, customer_id: int, *, ago_s: float, scheduled_in_s: float | None = None, price_minor: int = 1240
) -> q.Booking:
    """A booked quote, as create_booking stores it: searching (or scheduled), with its create event."""
    now = time.time() - ago_s
    at = datetime.fromtimestamp(now, UTC)
    scheduled = at + timedelta(seconds=scheduled_in_s) if scheduled_in_s else None
    trip = {
        "vehicle_class": "standard",
        "pickup_lat": PICKUP[0],
        "pickup_lng": PICKUP[1],
        "dropoff_lat": DROPOFF[0],
        "dropoff_lng": DROPOFF[1],
        "pickup_cell": cell_of(*PICKUP, 7),
        "distance_m": 2400,
        "duration_s": 420,
        "price_minor": price_minor,
        "currency": "EUR",
        "breakdown": {"total_minor": price_minor},
    }
    async with pool.acquire() as conn, conn.transaction():
        quote = await q.insert_quote(
            conn,
            user_id=customer_id,
            pickup_at=scheduled,
            route_source="estimate",
            eta_pickup_s=None,
            surge_tenths=10,
            created_at=at,
            expires_at=at + timedelta(minutes=5),
            **trip,
        )
        await q.claim_quote(conn, quote.id, customer_id, now)
        booking = await q.insert_booking(
            conn,
            status=S.SCHEDULED if scheduled else S.SEARCHING,
            quote_id=quote.id,
            customer_id=customer_id,
            created_by=customer_id,
            passenger_name="Rita",
            passenger_phone="+49 30 5550101",
            notes="gate 2",
            scheduled_for=scheduled,
            dispatch_at=scheduled - timedelta(minutes=10) if scheduled else None,
            tracking_nonce=links.new_nonce(),
            created_at=at,
            updated_at=at,
            **trip,
        )
        await q.record_event(conn, booking, "create", None, "customer", customer_id, now)
    return booking


async def move(pool, booking: q.Booking, action: str, to: S, actor: str, actor_id: int | None, at: float, **extra):
    """One state change with its event, as the dispatch workflow makes it."""
    reason = extra.pop("reason", None)
    offer_id = extra.pop("offer_id", None)
    async with pool.acquire() as conn, conn.transaction():
        moved = await q.update_booking(
            conn, booking.id, booking.status, status=to, updated_at=datetime.fromtimestamp(at, UTC), **extra
        )
        assert moved is not None
        await q.record_event(
            conn, moved, action, booking.status, actor, actor_id, at, offer_id=offer_id, reason=reason,
            driver_id=moved.driver_id,
        )  # fmt: skip
    return moved


async def offer(pool, booking: q.Booking, driver_id: int, distance_m: int, at: float) -> tuple[q.Booking, q.Offer]:
    async with pool.acquire() as conn:
        made = await q.insert_offer(conn, booking.id, driver_id, 0, distance_m, 40, at, at + 30)
    return await move(pool, booking, "offer", S.OFFERED, "system", None, at, offer_id=made.id), made


@pytest.fixture
async def rides(db):
    """Three bookings, oldest first: one assigned after a declined offer, one cancelled, one scheduled."""
    await make_fare(db)
    customer, _ = await make_user(db, "customer")
    dispatcher, _ = await make_user(db, "dispatcher")
    al, _ = await make_driver(db, "Al")
    bea, _ = await make_driver(db, "Bea")
    now = time.time()

    ride = await make_booking(db, customer.id, ago_s=1800)
    ride, first = await offer(db, ride, al.id, 55, now - 1790)
    async with db.acquire() as conn:
        await q.end_offer(conn, first.id, "declined", now - 1780)
    ride = await move(
        db, ride, "decline", S.SEARCHING, "driver", al.id, now - 1780, reason="too far", offer_id=first.id
    )
    ride, second_offer = await offer(db, ride, bea.id, 1800, now - 1770)
    async with db.acquire() as conn:
        await q.end_offer(conn, second_offer.id, "accepted", now - 1760)
    when = datetime.fromtimestamp(now - 1760, UTC)
    ride = await move(
        db, ride, "accept", S.ASSIGNED, "driver", bea.id, now - 1760, driver_id=bea.id, assigned_at=when,
        offer_id=second_offer.id,
    )  # fmt: skip

    dropped = await make_booking(db, customer.id, ago_s=900, price_minor=705)
    dropped = await move(
        db, dropped, "cancel", S.CANCELLED, "dispatcher", dispatcher.id, now - 890, cancelled_by="dispatcher",
        cancel_reason="caller changed plans", ended_at=datetime.fromtimestamp(now - 890, UTC),
        reason="caller changed plans",
    )  # fmt: skip

    later = await make_booking(db, customer.id, ago_s=60, scheduled_in_s=7200, price_minor=123456)
    return {
        "assigned": ride,
        "cancelled": dropped,
        "scheduled": later,
        "al": al,
        "bea": bea,
        "customer": customer,
        "dispatcher": dispatcher,
        "offers": (first, second_offer),
    }


# ---------------------------------------------------------------- bookings list


async def test_list_says_when_there_are_no_bookings(db, database_url):
    assert ok(hexfleet(database_url, "bookings", "list")) == "no bookings yet\n"
    assert ok(hexfleet(database_url, "bookings", "list", "--status", "searching,no-driver")) == (
        "no bookings with status searching, no_driver\n"
    )
    assert orjson.loads(ok(hexfleet(database_url, "bookings", "list", "--json"))) == {"bookings": []}


async def test_list_shows_the_newest_first_in_a_table(rides, database_url):
    out = ok(hexfleet(database_url, "bookings", "list")).splitlines()
    header, *rows = out[: out.index("")]
    assert header.split()[0] == "id"
    for title in ("status", "created", "scheduled for", "pickup → drop-off", "price", "driver"):
        assert title in header
    later, dropped, ride = rides["scheduled"], rides["cancelled"], rides["assigned"]
    assert [int(r.split()[0]) for r in rows] == [later.id, dropped.id, ride.id]
    route = "52.5200,13.4050 → 52.5300,13.4300"
    assert "scheduled" in rows[0] and minute(later.created_at) in rows[0] and minute(later.scheduled_for) in rows[0]
    assert rows[0].split()[-3:] == ["1234.56", "EUR", "-"]
    assert "cancelled" in rows[1] and "7.05 EUR" in rows[1] and route in rows[1]
    assert "assigned" in rows[2] and "12.40 EUR" in rows[2] and rows[2].endswith(f"  {rides['bea'].id}")
    assert minute(ride.created_at) in rows[2] and route in rows[2]
    # Columns line up: every row's price ends where the header's "price" ends.
    assert len({len(r.split(" EUR")[0]) for r in rows}) == 1
    assert out[-1] == "times in local time (UTC+00:00)"


async def test_list_shows_local_time_where_tz_says(rides, database_url):
    out = ok(hexfleet(database_url, "bookings", "list", tz="IST-5:30"))
    assert minute(rides["assigned"].created_at, timedelta(hours=5, minutes=30)) in out
    assert out.splitlines()[-1] == "times in local time (UTC+05:30)"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("assigned", ["assigned"]),
        ("cancelled,scheduled", ["scheduled", "cancelled"]),
        ("Scheduled, CANCELLED ,scheduled", ["scheduled", "cancelled"]),
        ("in-progress,assigned", ["assigned"]),
        ("no driver,CANCELLED", ["cancelled"]),
    ],
)
async def test_list_filters_by_status(rides, database_url, status, expected):
    out = ok(hexfleet(database_url, "bookings", "list", "--status", status)).splitlines()
    rows = out[1 : out.index("")]
    assert [int(r.split()[0]) for r in rows] == [rides[name].id for name in expected]


async def test_list_status_repeated_and_an_empty_match(rides, database_url):
    out = ok(hexfleet(database_url, "bookings", "list", "--status", "assigned", "--status", "scheduled"))
    assert str(rides["assigned"].id) in out and str(rides["scheduled"].id) in out and "cancelled" not in out
    none = hexfleet(database_url, "bookings", "list", "--status", "no_driver,in_progress")
    assert ok(none) == "no bookings with status no_driver, in_progress\n"


async def test_list_limit_says_there_may_be_more(rides, database_url):
    out = ok(hexfleet(database_url, "bookings", "list", "--limit", "1")).splitlines()
    assert len(out) == 4 and out[1].split()[0] == str(rides["scheduled"].id)
    assert out[-1].endswith("the newest 1 shown, --limit shows more")
    assert "--limit" not in ok(hexfleet(database_url, "bookings", "list", "--limit", "3"))


async def test_list_json_is_one_object_with_the_bookings(rides, database_url):
    out = orjson.loads(ok(hexfleet(database_url, "bookings", "list", "--json", "--status", "assigned,cancelled")))
    assert set(out) == {"bookings"}
    assigned, cancelled = rides["assigned"], rides["cancelled"]
    assert [b["id"] for b in out["bookings"]] == [cancelled.id, assigned.id]
    assert all(set(b) == BOOKING_KEYS for b in out["bookings"])
    first = out["bookings"][1]
    assert (first["status"], first["driver_id"], first["price_minor"], first["currency"]) == (
        "assigned", rides["bea"].id, 1240, "EUR"
    )  # fmt: skip
    assert first["pickup"] == {"lat": 52.52, "lng": 13.405, "label": None} and first["created_at"].endswith("Z")
    assert out["bookings"][0]["cancel_reason"] == "caller changed plans"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--status", "flying"], "unknown status 'flying'; statuses: scheduled, searching, offered, assigned"),
        (["--status", "searching,done"], "unknown status 'done'; statuses:"),
        (["--status", ","], "--status needs at least one status"),
        (["--limit", "0"], "--limit must be a whole number from 1 to 1000, not '0'"),
        (["--limit", "1001"], "--limit must be a whole number from 1 to 1000"),
        (["--limit", "ten"], "--limit must be a whole number"),
        (["--limit", "2.5"], "--limit must be a whole number"),
        (["--limit", "9" * 400], "--limit must be a whole number"),
    ],
)
async def test_list_refuses_bad_options_in_one_line(db, database_url, args, message):
    refused(hexfleet(database_url, "bookings", "list", *args), message)


# ---------------------------------------------------------------- bookings show


async def test_show_gives_the_details_the_timeline_and_the_offers(rides, database_url):
    ride, al, bea, customer = rides["assigned"], rides["al"], rides["bea"], rides["customer"]
    out = ok(hexfleet(database_url, "bookings", "show", str(ride.id)))
    details, timeline, offers, note = out.rstrip("\n").split("\n\n")
    assert details.splitlines()[0] == f"booking {ride.id}"
    facts = dict(line.strip().split(": ", 1) for line in details.splitlines()[1:])
    assert {k: v.strip() for k, v in facts.items()} == {
        "status": "assigned",
        "created": second(ride.created_at),
        "scheduled for": "-",
        "vehicle class": "standard",
        "pickup": "52.520000,13.405000",
        "drop-off": "52.530000,13.430000",
        "trip": "2.4 km, 7 min",
        "price": "12.40 EUR",
        "passenger": "Rita, +49 30 5550101",
        "notes": "gate 2",
        "driver": f"{bea.id} (Bea)",
    }
    lines = timeline.splitlines()
    assert lines[0] == "timeline" and lines[1].split() == ["time", "from", "→", "to", "action", "by", "reason"]
    events = [line.split("  ") for line in lines[2:]]
    cells = [[c.strip() for c in e if c.strip()] for e in events]
    assert [c[1:] for c in cells] == [
        ["- → searching", "create", f"customer {customer.id}"],
        ["searching → offered", "offer", "system"],
        ["offered → searching", "decline", f"driver {al.id}", "too far"],
        ["searching → offered", "offer", "system"],
        ["offered → assigned", "accept", f"driver {bea.id}"],
    ]
    assert cells[0][0] == second(ride.created_at)
    first, accepted = rides["offers"]
    offer_lines = offers.splitlines()
    assert offer_lines[0] == "offers" and offer_lines[1].split() == ["driver", "status", "distance", "eta", "expires"]
    assert [[c.strip() for c in line.split("  ") if c.strip()] for line in offer_lines[2:]] == [
        [f"{al.id} (Al)", "declined", "55 m", "40 s", second(first.expires_at)],
        [f"{bea.id} (Bea)", "accepted", "1.8 km", "40 s", second(accepted.expires_at)],
    ]
    assert note == "times in local time (UTC+00:00)"


async def test_show_a_cancelled_and_a_scheduled_booking(rides, database_url):
    dropped = ok(hexfleet(database_url, "bookings", "show", str(rides["cancelled"].id)))
    assert "cancelled:     by dispatcher: caller changed plans" in dropped
    assert f"searching → cancelled  cancel  dispatcher {rides['dispatcher'].id}  caller changed plans" in dropped
    assert "no driver was offered this booking" in dropped
    later = rides["scheduled"]
    out = ok(hexfleet(database_url, "bookings", "show", str(later.id), tz="IST-5:30"))
    assert f"scheduled for: {minute(later.scheduled_for, timedelta(hours=5, minutes=30))}" in out
    assert "price:         1234.56 EUR" in out and "driver:        -" in out


async def test_show_json_has_the_booking_its_events_and_its_offers(rides, database_url):
    ride = rides["assigned"]
    out = orjson.loads(ok(hexfleet(database_url, "bookings", "show", str(ride.id), "--json")))
    assert set(out) == BOOKING_KEYS | {"events", "offers"}
    assert (out["id"], out["status"], out["driver_id"]) == (ride.id, "assigned", rides["bea"].id)
    assert [(e["from_status"], e["to_status"], e["actor"], e["reason"]) for e in out["events"]] == [
        (None, "searching", "customer", None),
        ("searching", "offered", "system", None),
        ("offered", "searching", "driver", "too far"),
        ("searching", "offered", "system", None),
        ("offered", "assigned", "driver", None),
    ]
    assert all(set(e) == {"id", "booking_id", "action", "from_status", "to_status", "actor", "reason", "at"}
               for e in out["events"])  # fmt: skip
    assert [(o["driver_id"], o["status"], o["distance_m"]) for o in out["offers"]] == [
        (rides["al"].id, "declined", 55),
        (rides["bea"].id, "accepted", 1800),
    ]
    assert all(o["expires_at"].endswith("Z") for o in out["offers"])


async def test_show_unknown_id_is_one_line(db, database_url):
    refused(hexfleet(database_url, "bookings", "show", "424242"), "no booking with id 424242")
    refused(hexfleet(database_url, "bookings", "show", "424242", "--json"), "no booking with id 424242")
    refused(hexfleet(database_url, "bookings", "show", str(2**63 - 1)), f"no booking with id {2**63 - 1}")


@pytest.mark.parametrize(
    ("booking_id", "message"),
    [
        ("abc", "booking id must be a whole number such as 42, not 'abc'"),
        ("1.5", "booking id must be a whole number"),
        ("-1", "booking id must be a whole number"),
        ("+7", "booking id must be a whole number"),
        ("1e3", "booking id must be a whole number"),
        ("٣", "booking id must be a whole number"),  # int() would read this Arabic-Indic digit as 3
        ("", "booking id must be a whole number"),
        (str(2**63), "is out of range (ids go up to 9223372036854775807)"),
        ("9" * 5000, "is out of range"),
    ],
)
async def test_show_refuses_what_is_not_an_id(db, database_url, booking_id, message):
    refused(hexfleet(database_url, "bookings", "show", booking_id), message)


# ---------------------------------------------------------------- fares


async def test_fares_list_when_none_is_set(db, database_url):
    out = ok(hexfleet(database_url, "fares", "list"))
    assert out.startswith("no fares set yet") and "hexfleet fares set standard --currency EUR" in out
    assert orjson.loads(ok(hexfleet(database_url, "fares", "list", "--json"))) == {"fares": []}


async def test_fares_list_shows_major_units_and_the_classes_without_a_fare(db, database_url):
    await make_fare(db, "standard")
    await make_fare(db, "van")
    out = ok(hexfleet(database_url, "fares", "list")).splitlines()
    assert out[0].split() == ["class", "currency", "base", "per", "km", "per", "minute", "booking", "fee", "minimum"]
    assert out[1].split() == ["standard", "EUR", "2.50", "1.35", "0.30", "1.00", "7.00"]
    assert out[2].split() == ["van", "EUR", "6.00", "2.40", "0.50", "1.50", "15.00"]
    assert out[3] == "no fare for comfort, xl: quotes for them are refused"
    listed = orjson.loads(ok(hexfleet(database_url, "fares", "list", "--json")))
    assert set(listed) == {"fares"} and all(set(f) == FARE_KEYS for f in listed["fares"])
    assert listed["fares"][0] == {
        "vehicle_class": "standard", "currency": "EUR", "base_minor": 250, "per_km_minor": 135,
        "per_minute_minor": 30, "booking_fee_minor": 100, "minimum_minor": 700,
    }  # fmt: skip


async def stored(db, vehicle_class: str) -> Fare | None:
    async with db.acquire() as conn:
        return await q.get_fare(conn, vehicle_class)


async def test_fares_set_creates_a_fare_exactly(db, database_url):
    out = ok(hexfleet(database_url, "fares", "set", "comfort", *FULL_FARE))
    assert out.splitlines() == [
        "created the fare of comfort",
        "  base:        2.50 EUR",
        "  per km:      1.35 EUR",
        "  per minute:  0.30 EUR",
        "  booking fee: 1.00 EUR",
        "  minimum:     7.00 EUR",
    ]
    assert await stored(db, "comfort") == Fare("comfort", "EUR", 250, 135, 30, 100, 700)


@pytest.mark.parametrize(
    ("currency", "amounts", "expected"),
    [
        ("JPY", ["300", "150", "30", "100", "1000"], (300, 150, 30, 100, 1000)),
        ("krw", ["3000", "1200", "200", "0", "10000"], (3000, 1200, 200, 0, 10000)),
        ("KWD", ["1.250", "0.5", "0.075", "0", "2.000"], (1250, 500, 75, 0, 2000)),
        ("BHD", ["0.001", "1", "0.1", "0.01", "10000.000"], (1, 1000, 100, 10, 10_000_000)),
        ("USD", ["0.29", "1.15", "4.35", "0.1", "100000"], (29, 115, 435, 10, 10_000_000)),
    ],
)
async def test_fares_set_uses_the_currencys_minor_unit(db, database_url, currency, amounts, expected):
    args = ["--currency", currency]
    for option, amount in zip(
        ["--base", "--per-km", "--per-minute", "--booking-fee", "--minimum"], amounts, strict=True
    ):
        args += [option, amount]
    out = orjson.loads(ok(hexfleet(database_url, "fares", "set", "xl", *args, "--json")))
    fare = Fare("xl", currency.upper(), *expected)
    assert out == fare.to_json() and await stored(db, "xl") == fare


async def test_fares_set_changes_only_what_is_given(db, database_url):
    await make_fare(db, "standard")
    out = ok(hexfleet(database_url, "fares", "set", "standard", "--base", "2.75", "--minimum", "7"))
    assert out.splitlines() == [
        "updated the fare of standard",
        "  base:        2.75 EUR  (was 2.50 EUR)",
        "  per km:      1.35 EUR",
        "  per minute:  0.30 EUR",
        "  booking fee: 1.00 EUR",
        "  minimum:     7.00 EUR",
    ]
    assert await stored(db, "standard") == Fare("standard", "EUR", 275, 135, 30, 100, 700)
    again = ok(hexfleet(database_url, "fares", "set", "standard", "--currency", "eur", "--base", "2.75"))
    assert again == "fare of standard unchanged\n"
    as_json = orjson.loads(ok(hexfleet(database_url, "fares", "set", "standard", "--per-km", "1.40", "--json")))
    assert as_json == Fare("standard", "EUR", 275, 140, 30, 100, 700).to_json()


async def test_fares_set_a_new_currency_needs_every_amount_again(db, database_url):
    await make_fare(db, "standard")
    before = await stored(db, "standard")
    refused(
        hexfleet(database_url, "fares", "set", "standard", "--currency", "JPY", "--base", "300"),
        "changing the currency of standard from EUR to JPY needs every amount again, in JPY "
        "(missing --per-km, --per-minute, --booking-fee, --minimum)",
    )
    assert await stored(db, "standard") == before
    args = ["--currency", "JPY", "--base", "300", "--per-km", "150", "--per-minute", "30"]
    out = ok(hexfleet(database_url, "fares", "set", "standard", *args, "--booking-fee", "100", "--minimum", "1000"))
    assert "  base:        300 JPY  (was 2.50 EUR)" in out
    assert await stored(db, "standard") == Fare("standard", "JPY", 300, 150, 30, 100, 1000)
    # Partial changes now read amounts in yen: a decimal is refused, a whole number taken.
    refused(hexfleet(database_url, "fares", "set", "standard", "--base", "2.50"), "--base: JPY has no minor unit")
    ok(hexfleet(database_url, "fares", "set", "standard", "--base", "350"))
    assert (await stored(db, "standard")).base_minor == 350


async def test_concurrent_partial_changes_are_all_kept(db, database_url):
    """Admins changing different amounts of one fare at the same moment: no change is lost.

    In one event loop, so the read-merge-write transactions really interleave (separate
    processes start too far apart to collide)."""
    await make_fare(db, "standard")
    changes = [{"--base": "3.00"}, {"--per-km": "2.00"}, {"--per-minute": "0.40"}, {"--minimum": "9.00"}]
    changes += [{"--booking-fee": "1.50"}, {"--base": "3.00", "--minimum": "9.00"}]
    done = await asyncio.gather(*(fares_cli.put(database_url, "standard", None, c) for c in changes))
    assert all(fare.currency == "EUR" for _, fare in done)
    assert await stored(db, "standard") == Fare("standard", "EUR", 300, 200, 40, 150, 900)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["standard", "--per-km", "1.355"], "--per-km: EUR has 2 decimals, 1.355 has 3"),
        (["standard", "--base", "1.250"], "--base: EUR has 2 decimals"),
        (["standard", "--base", "2,50"], "--base: write decimals with a point"),
        (["standard", "--minimum", "-1"], "--minimum must not be negative (-1)"),
        (["standard", "--minimum", "-0.50"], "--minimum must not be negative"),
        (["standard", "--base", "1e3"], "--base must be an amount in EUR such as 12.50, not '1e3'"),
        (["standard", "--base", "nan"], "--base must be an amount in EUR"),
        (["standard", "--base", ""], "--base must be an amount in EUR"),
        (
            ["standard", "--booking-fee", "100000.01"],
            "--booking-fee 100000.01 EUR is too large (at most 100000.00 EUR)",
        ),
        (["standard", "--base", "9" * 5000], "--base 99999999999999999999… is too large"),
        (["standard"], "nothing to change: give at least one of --currency, --base"),
        (["limo", "--base", "1"], "unknown vehicle class 'limo'; classes: standard, comfort, xl, van"),
        (["standard", "--currency", "EURO"], "currency must be a three-letter ISO 4217 code such as EUR, not 'EURO'"),
        (["standard", "--currency", "E1R"], "currency must be a three-letter ISO 4217 code"),
        (["standard", "--currency", "ABC"], "unknown currency 'ABC': use an ISO 4217 code"),
        (["standard", "--currency", "XAU"], "unknown currency 'XAU'"),
        (["xl", "--currency", "EUR", "--base", "2"], "xl has no fare yet: give all of --currency, --base, --per-km"),
        (["xl", "--base", "2"], "(missing --currency, --per-km, --per-minute, --booking-fee, --minimum)"),
    ],
)
async def test_fares_set_refuses_bad_input_and_changes_nothing(db, database_url, args, message):
    await make_fare(db, "standard")
    before = await stored(db, "standard")
    refused(hexfleet(database_url, "fares", "set", *args), message)
    refused(hexfleet(database_url, "fares", "set", *args, "--json"), message)
    assert await stored(db, "standard") == before
    assert await stored(db, "xl") is None


# ---------------------------------------------------------------- the database itself


@pytest.mark.parametrize("args", [["bookings", "list"], ["bookings", "show", "1"], ["fares", "list"]])
def test_an_unreachable_database_is_one_line(args):
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"  # nobody listens there
    refused(hexfleet(url, *args), "cannot connect to PostgreSQL")


async def test_an_unmigrated_database_says_to_migrate(service_urls):
    name = f"hexfleet_bare_{uuid.uuid4().hex[:8]}"
    url = await create_database(service_urls["postgres"], name)
    try:
        for args in (["bookings", "list"], ["bookings", "show", "1"], ["fares", "list"], ["fares", "set", "xl"]):
            refused(hexfleet(url, *args), "the database has no rides tables yet: run `hexfleet migrate`")
    finally:
        await drop_database(service_urls["postgres"], name)


# ---------------------------------------------------------------- drivers with work in hand


async def test_a_driver_with_a_ride_in_hand_cannot_be_deactivated(rides, database_url, db):
    bea, ride = rides["bea"], rides["assigned"]
    refused(hexfleet(database_url, "drivers", "deactivate", str(bea.id)), f"booking #{ride.id}")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT deactivated_at FROM drivers WHERE id = $1", bea.id) is None
    ok(hexfleet(database_url, "drivers", "deactivate", str(rides["al"].id)))  # Al's offer ended: free to go
