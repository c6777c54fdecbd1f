"""Chaos under load: kill -9 each part of a running `hexfleet dev` stack in turn and hold it to
its promises.

Drivers post fixes through the real HTTP ingest (a phone retries every fix until it is
answered 202) and work their rides through the driver API; riders book and some cancel.
Meanwhile the tracker and relay (`python -m streaming`), the web process and the worker
are killed with SIGKILL (the dev supervisor restarts them), then Redis and PostgreSQL
(started again here, on the same port and data folder; Redis from its last snapshot).
After each kill the test waits until the whole pipeline works again: fixes reach the
history, a new ride is completed, an unanswered offer is expired by the worker, booking
events are relayed. Then:

- every fix answered 202 is in ``positions`` exactly once, with the coordinates sent,
  and nothing is there that no phone sent (the broker's copies are counted too: a fix
  produced twice by a retry is still stored once);
- every booking ended (completed, cancelled or no_driver), its events form one legal
  chain that ends in its status, no driver ever held two rides, every event reached the
  booking-events topic, and PostgreSQL and the live index agree on every driver's duty.

Not killed: the broker. The embedded Tansu keeps nothing on disk, so killing it loses
fixes answered 202 but not yet read (documented in the README).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import time
from collections import Counter, defaultdict
from functools import partial

import asyncpg
import pytest
from helpers import make_driver, make_user, wait_for
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from chaos.fleet import DevStack, Driver, Load, db_time, query, read_topic
from hexfleet.devtools import embedded
from hexfleet.devtools.testing import free_port
from hexfleet.keys import DUTY
from hexfleet.rides.states import ACTIVE, Action, Actor, BookingStatus, transition
from hexfleet.tracking.store import LiveStore
from streaming.events import PingsEvent, decode, decode_ride_event
from streaming.tracker import Tracker

DRIVERS = 10
SLEEPY = 2  # never answer offers: their offers expire through the worker
CUSTOMERS = 4
KILLS = ("stream", "web", "worker", "redis", "postgres")
HEAL_TIMEOUT_S = 60.0
SETTLED = ("completed", "cancelled", "no_driver")


@pytest.fixture
async def stack(tmp_path):
    dev = DevStack(
        tmp_path,
        OFFER_TIMEOUT_S="5",
        # The riders book faster than a person: no booking is refused for its rate.
        RATE_BOOKINGS="1000/minute",
        RATE_QUOTES="1000/minute",
        LOG_LEVEL="WARNING",
    )
    try:
        await asyncio.to_thread(dev.start)
        yield dev
    finally:
        await asyncio.to_thread(dev.stop)


async def make_accounts(dsn: str) -> tuple[list[Driver], list[str]]:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        drivers = []
        for n in range(DRIVERS):
            driver, device = await make_driver(pool, f"Chaos Driver {n:02d}")
            drivers.append(Driver(driver.id, device.token, sleepy=n < SLEEPY))
        customers = [(await make_user(pool, "customer", f"chaos-rider-{n}@example.org"))[1] for n in range(CUSTOMERS)]
    finally:
        await pool.close()
    return drivers, customers


async def until(predicate, timeout: float, what: str, stack: DevStack, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s\n{stack.log_tail()}")
        await asyncio.sleep(interval)


async def healthy_since(stack: DevStack, since: float) -> bool:
    """Everything works again: a fix made after ``since`` is in the history, a ride booked after
    it was completed, an offer expired (the worker), and its booking events were relayed."""
    rows = await query(
        stack.database_url,
        """SELECT (SELECT count(*) FROM positions WHERE device_time > $1) AS stored,
                  (SELECT count(*) FROM bookings WHERE created_at > $1 AND status = 'completed') AS completed,
                  (SELECT count(*) FROM offers WHERE status = 'expired' AND responded_at > $1) AS expired,
                  (SELECT count(*) FROM booking_events WHERE at > $1 AND published_at IS NOT NULL) AS relayed""",
        db_time(since),
    )
    return bool(rows) and all(rows[0].values())


async def snapshot_behind(stack: DevStack) -> None:
    """Redis saves a snapshot, then a ride that was in hand at that moment is completed: the
    snapshot a restarted Redis loads now has that driver busy, PostgreSQL has it available."""
    redis = Redis.from_url(stack.redis_url)

    async def saved() -> bool:
        try:
            return bool(await redis.save())  # synchronous: done when it answers
        except ResponseError:  # a background save is running: ask again once it is done
            return False

    try:
        await until(saved, 10, "redis SAVE", stack, 0.05)
    finally:
        await redis.aclose()
    rows = await query(stack.database_url, "SELECT id FROM bookings WHERE status = ANY($1::text[])", list(ACTIVE))
    in_hand = [r["id"] for r in rows or []]

    async def one_completed():
        if not in_hand:
            return True
        done = await query(
            stack.database_url, "SELECT 1 FROM bookings WHERE id = ANY($1) AND status = 'completed'", in_hand
        )
        return bool(done)

    await until(one_completed, 30, "a ride in hand at the snapshot to complete", stack)


async def settled(stack: DevStack) -> bool:
    rows = await query(
        stack.database_url, "SELECT count(*) AS n FROM bookings WHERE status <> ALL($1::text[])", SETTLED
    )
    return rows is not None and rows[0]["n"] == 0


# ---------------------------------------------------------------- checks


async def check_history(stack: DevStack, load: Load) -> tuple[list[str], dict]:
    ids = [d.id for d in load.drivers]
    rows = await query(
        stack.database_url,
        "SELECT driver_id, device_time, lat, lng FROM positions WHERE driver_id = ANY($1::bigint[])",
        ids,
    )
    stored: Counter = Counter((r["driver_id"], r["device_time"]) for r in rows)
    where = {(r["driver_id"], r["device_time"]): (r["lat"], r["lng"]) for r in rows}
    sent = {(p.driver_id, db_time(p.ts)): p for p in load.pings}
    problems = []
    lost = [p for key, p in sent.items() if p.acked and key not in where]
    moved = [p for key, p in sent.items() if key in where and where[key] != (p.lat, p.lng)]
    twice = [key for key, n in stored.items() if n > 1]
    strangers = [key for key in where if key not in sent]
    rejected = [p for p in load.pings if p.rejected]
    if lost:
        problems.append(f"{len(lost)} fixes answered 202 are not in the history, e.g. {lost[:3]}")
    if moved:
        problems.append(f"{len(moved)} stored fixes have other coordinates than sent, e.g. {moved[:3]}")
    if twice:
        problems.append(f"{len(twice)} fixes are stored more than once, e.g. {twice[:3]}")
    if strangers:
        problems.append(f"{len(strangers)} stored fixes were never sent, e.g. {strangers[:3]}")
    if rejected:
        problems.append(f"{len(rejected)} fixes were rejected, e.g. {rejected[:3]}")
    # The broker's copies: a retry after a lost answer (or a redelivery) produces a fix again.
    copies: Counter = Counter()
    for value in await read_topic(stack.kafka, "driver-locations"):
        event = decode(value)
        if isinstance(event, PingsEvent):
            copies.update((event.driver_id, db_time(p.ts)) for p in event.pings)
    missing_in_topic = [p for key, p in sent.items() if p.acked and copies[key] == 0]
    if missing_in_topic:
        problems.append(f"{len(missing_in_topic)} fixes answered 202 never reached the topic")
    per_phase: dict[str, Counter] = defaultdict(Counter)
    for key, p in sent.items():
        row = per_phase[p.phase]
        row["made"] += 1
        row["202"] += p.acked
        row["stored"] += key in where
        row["lost"] += p.acked and key not in where
        row["unsure"] += p.unsure
        row["retried"] += p.attempts > 1
        row["produced twice"] += copies[key] > 1
    return problems, per_phase


async def check_bookings(stack: DevStack, load: Load) -> tuple[list[str], Counter, dict]:
    dsn = stack.database_url
    bookings = {r["id"]: r for r in await query(dsn, "SELECT * FROM bookings ORDER BY id")}
    events = await query(
        dsn,
        """SELECT id, booking_id, action, from_status, to_status, actor, published_at,
                  snapshot->>'status' AS snap_status, (snapshot->>'driver_id')::bigint AS snap_driver
           FROM booking_events ORDER BY id""",
    )
    offers = await query(dsn, "SELECT booking_id, driver_id, status FROM offers")
    drivers = {r["id"]: r["status"] for r in await query(dsn, "SELECT id, status FROM drivers")}
    problems: list[str] = []
    by_booking: dict[int, list] = defaultdict(list)
    for e in events:
        by_booking[e["booking_id"]].append(e)

    # One legal chain per booking, ending in its status.
    for booking_id, booking in bookings.items():
        chain = by_booking.get(booking_id, [])
        if not chain or chain[0]["action"] != "create" or chain[0]["from_status"] is not None:
            problems.append(f"booking {booking_id}: does not start with its create event")
            continue
        for before, e in itertools.pairwise(chain):
            if e["from_status"] != before["to_status"]:
                problems.append(
                    f"booking {booking_id}: event {e['id']} starts from {e['from_status']}, not {before['to_status']}"
                )
            try:
                legal = transition(BookingStatus(e["from_status"]), Action(e["action"]), Actor(e["actor"]))
            except Exception as error:
                problems.append(f"booking {booking_id}: event {e['id']} is illegal: {error}")
                continue
            if legal != e["to_status"]:
                problems.append(f"booking {booking_id}: event {e['id']} went to {e['to_status']}, not {legal}")
        for e in chain:
            if e["snap_status"] != e["to_status"]:
                problems.append(f"booking {booking_id}: event {e['id']} snapshot says {e['snap_status']}")
        last = chain[-1]
        if last["to_status"] != booking["status"] or last["snap_driver"] != booking["driver_id"]:
            problems.append(
                f"booking {booking_id}: is {booking['status']} with driver {booking['driver_id']}, "
                f"its last event says {last['to_status']} with {last['snap_driver']}"
            )
        if booking["status"] not in SETTLED:
            problems.append(f"booking {booking_id}: still {booking['status']}")
        if booking["status"] == "completed":
            times = [booking[c] for c in ("assigned_at", "arrived_at", "started_at", "ended_at")]
            if booking["driver_id"] is None or None in times or times != sorted(times):
                problems.append(f"booking {booking_id}: completed without a driver or in the wrong order: {times}")
        if booking["status"] == "no_driver" and booking["driver_id"] is not None:
            problems.append(f"booking {booking_id}: no_driver with driver {booking['driver_id']}")

    # No driver holds two rides at any point: replay every event in commit order.
    holds: dict[int, set[int]] = defaultdict(set)
    holder: dict[int, int] = {}
    for e in events:
        booking_id = e["booking_id"]
        if booking_id in holder and (e["to_status"] not in ACTIVE or e["snap_driver"] != holder[booking_id]):
            holds[holder.pop(booking_id)].discard(booking_id)
        if e["to_status"] in ACTIVE and booking_id not in holder:
            driver_id = e["snap_driver"]
            if driver_id is None or holds[driver_id]:
                problems.append(
                    f"event {e['id']}: driver {driver_id} takes booking {booking_id} holding {holds[driver_id]}"
                )
            holder[booking_id] = driver_id
            holds[driver_id].add(booking_id)

    accepted = Counter(o["booking_id"] for o in offers if o["status"] == "accepted")
    pending = [o for o in offers if o["status"] == "pending"]
    if pending:
        problems.append(f"{len(pending)} offers still pending: {pending[:3]}")
    for booking_id, n in accepted.items():
        if n > 1:
            problems.append(f"booking {booking_id}: {n} accepted offers")
    for o in offers:
        if o["status"] == "accepted" and bookings[o["booking_id"]]["status"] == "completed":
            if o["driver_id"] != bookings[o["booking_id"]]["driver_id"]:
                problems.append(f"booking {o['booking_id']}: completed by another driver than the one who accepted")
    ours = {d.id for d in load.drivers}
    busy = {d: s for d, s in drivers.items() if d in ours and s != "available"}
    if busy:
        problems.append(f"drivers not available once every ride ended: {busy}")

    # The outbox: every event published, and on the topic (a relay killed after the ack publishes again).
    unpublished = [e["id"] for e in events if e["published_at"] is None]
    if unpublished:
        problems.append(f"{len(unpublished)} booking events never published: {unpublished[:5]}")
    relayed: Counter = Counter()
    for value in await read_topic(stack.kafka, "booking-events"):
        relayed[decode_ride_event(value).event_id] += 1
    absent = [e["id"] for e in events if relayed[e["id"]] == 0]
    if absent:
        problems.append(f"{len(absent)} booking events are not on the topic: {absent[:5]}")

    # The live index agrees with PostgreSQL: a driver Redis thinks busy is never offered a ride.
    redis = Redis.from_url(stack.redis_url)
    try:
        store = LiveStore(redis)
        duty, indexed = await store.duty(), await store.index_members()
    finally:
        await redis.aclose()
    disagree = {d: (drivers[d], duty.get(d, "available")) for d in ours if duty.get(d, "available") != drivers[d]}
    if disagree:
        problems.append(f"duty in PostgreSQL vs Redis disagrees for drivers {disagree}")
    unlisted = sorted(d for d in ours if drivers[d] == "available" and d not in indexed)
    if unlisted:
        problems.append(f"available drivers with fresh fixes missing from the live index: {unlisted}")

    phase_of = dict(load.booked)
    per_phase: dict[str, Counter] = defaultdict(Counter)
    for booking_id, booking in bookings.items():
        per_phase[phase_of.get(booking_id, "unanswered")][booking["status"]] += 1
    summary = Counter(
        {
            "bookings": len(bookings),
            "events": len(events),
            "events relayed twice": sum(n > 1 for n in relayed.values()),
            **Counter(b["status"] for b in bookings.values()),
        }
    )
    return problems, summary, per_phase


def report(
    stack: DevStack, load: Load, timeline: list, pings: dict, rides: dict, summary: Counter, runtime: float
) -> str:
    repairs = stack.log.read_text(errors="replace").count("differed from PostgreSQL")
    lines = [
        "",
        f"chaos run: {runtime:.0f} s; duty repairs by the tracker: {repairs}",
        "kill       back after  healthy after",
    ]
    lines += [f"{name:<10} {back:>8.1f} s {healed:>11.1f} s" for name, back, healed in timeline]
    cols = ("made", "202", "stored", "lost", "unsure", "retried", "produced twice")
    lines.append("fixes by phase  " + "  ".join(f"{c:>8}" for c in cols))
    for phase in ("warm-up", *KILLS, "drain"):
        row = pings.get(phase, Counter())
        lines.append(f"{phase:<15} " + "  ".join(f"{row[c]:>8}" for c in cols))
    lines.append("bookings by phase  " + "  ".join(f"{s:>10}" for s in SETTLED))
    for phase in ("warm-up", *KILLS, "drain", "unanswered"):
        if phase in rides:
            lines.append(f"{phase:<18} " + "  ".join(f"{rides[phase][s]:>10}" for s in SETTLED))
    lines.append("bookings: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    trouble = Counter()
    for (phase, what), n in load.trouble.items():
        trouble[f"{phase}/{what}"] += n
    lines.append(
        "answers other than success: " + (", ".join(f"{k} ×{v}" for k, v in sorted(trouble.items())) or "none")
    )
    return "\n".join(lines)


async def test_nothing_acknowledged_is_lost_and_bookings_stay_consistent_through_kill_9(stack):
    began = time.monotonic()
    drivers, customers = await make_accounts(stack.database_url)
    load = Load(stack.url, drivers, customers)
    load.start()
    timeline = []
    try:
        started = time.time()
        await until(lambda: healthy_since(stack, started), HEAL_TIMEOUT_S, "the stack under load", stack)
        for target in KILLS:
            if target == "redis":
                await snapshot_behind(stack)
            load.phase = target
            killed = time.time()
            if target == "redis":
                back = await stack.kill_redis()
            elif target == "postgres":
                back = await stack.kill_postgres()
            else:
                back = await stack.kill_process(target)
            await until(partial(healthy_since, stack, back), HEAL_TIMEOUT_S, f"healthy after killing {target}", stack)
            timeline.append((target, back - killed, time.time() - back))
        load.phase = "drain"
        await load.finish(lambda: settled(stack), timeout=90)
    finally:
        await load.close()

    acked = [(p.driver_id, db_time(p.ts)) for p in load.pings if p.acked]

    async def history_caught_up():
        rows = await query(
            stack.database_url,
            """SELECT count(*) AS n FROM positions p
               JOIN unnest($1::bigint[], $2::timestamptz[]) AS s(d, t) ON p.driver_id = s.d AND p.device_time = s.t""",
            [a[0] for a in acked],
            [a[1] for a in acked],
        )
        return rows is not None and rows[0]["n"] == len(acked)

    async def outbox_empty():
        rows = await query(stack.database_url, "SELECT count(*) AS n FROM booking_events WHERE published_at IS NULL")
        return rows is not None and rows[0]["n"] == 0

    with contextlib.suppress(AssertionError):  # if it never does, check_history names what is missing
        await until(history_caught_up, 30, "the history to hold every fix answered 202", stack)
    await until(outbox_empty, 30, "the outbox to drain", stack)

    ping_problems, pings = await check_history(stack, load)
    ride_problems, summary, rides = await check_bookings(stack, load)
    text = report(stack, load, timeline, pings, rides, summary, time.monotonic() - began)
    print(text)
    problems = ping_problems + ride_problems
    # A service that is down is a 503 with Retry-After, never a 500 (connection errors while a
    # web process is killed are expected: nobody answers then).
    server_errors = {what: n for (_, what), n in load.trouble.items() if "HTTP 5" in what and "HTTP 503" not in what}
    problems += [f"{n} × {what} while a process or service was down" for what, n in server_errors.items()]
    assert not problems, "\n".join(problems) + "\n" + text
    assert summary["completed"] >= len(KILLS) and sum(p["made"] for p in pings.values()) > 0, text


# ---------------------------------------------------------------- the regression the chaos run found


async def test_the_tracker_repairs_duty_that_a_restarted_redis_lost(settings, db, tmp_path):
    """A driver busy when Redis last saved, available again before Redis was killed: the restarted
    Redis loads the snapshot and says busy, so dispatch would never offer that driver a ride again.
    The tracker sees the restart (a new run id) and repairs it from PostgreSQL; a duty write that
    failed without a restart (a lost announcement) is repaired by the periodic check."""
    port = free_port()
    server = embedded.start_redis(tmp_path, port=port)
    url = f"redis://127.0.0.1:{port}/0"
    redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    store = LiveStore(redis)
    driver, _ = await make_driver(db, "Busy at the snapshot")
    await db.execute("UPDATE drivers SET status = 'busy' WHERE id = $1", driver.id)
    tracker = Tracker(settings.with_(redis_url=url), db, redis)
    tracker.duty_check_every_s = 3600.0  # first: only the restart may trigger a repair
    task = asyncio.create_task(tracker.run())

    async def duty_is(status: str) -> bool:
        try:
            return (await store.duty()).get(driver.id) == status
        except Exception:  # Redis is being restarted
            return False

    try:
        await wait_for(lambda: duty_is("busy"), timeout=30)  # the start-up sync
        await wait_for(lambda: _true(tracker.redis_run_id), timeout=10)  # the sweep has seen this Redis
        await redis.save()  # the snapshot: busy
        # The ride ends: PostgreSQL, then Redis (as hexfleet.drivers.duty does); then kill -9.
        await db.execute("UPDATE drivers SET status = 'available' WHERE id = $1", driver.id)
        await store.set_duty(driver.id, "available", time.time() - 60)
        os.kill(int((await redis.info("server"))["process_id"]), signal.SIGKILL)
        server.stop()  # reaps it
        while embedded.port_open(port):
            await asyncio.sleep(0.05)
        server = embedded.start_redis(tmp_path, port=port)  # it loads the snapshot: busy
        await wait_for(lambda: duty_is("available"), timeout=15, interval=0.2)
        assert tracker.duty_repairs == 1  # found different (the snapshot's busy) and repaired

        # A duty write that never reached Redis (it was away for a moment, no restart).
        tracker.duty_check_every_s = 1.0
        await redis.hset(DUTY, str(driver.id), "off_duty")
        await wait_for(lambda: duty_is("available"), timeout=15, interval=0.2)
        assert tracker.duty_repairs == 2
    finally:
        tracker.stop()
        await asyncio.wait_for(task, 15)
        await redis.aclose()
        server.stop()


async def _true(value) -> bool:
    return bool(value)
