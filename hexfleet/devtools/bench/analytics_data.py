"""A fleet's history for analytics, written straight into PostgreSQL: ``generate(conn, ...)``.

Days of a ride-hailing fleet as the app would have recorded them: drivers working shifts
(duty history: on shift, busy on each ride, moving between resolution-7 cells, off duty and
gone at the end), riders asking for prices (quotes, most never booked), bookings now and
ahead (10 %), offers declined or let expire before one is accepted, rides given back,
cancelled by riders and dispatch, no driver at the busy hours, and every step in the booking
events, with the ETA promised at assignment and the arrival off by a realistic amount. The
demand follows the hours of a week (a morning and an evening peak, later on weekends) over
a city of about 90 resolution-7 cells with a busy centre.

Used by the analytics bench (``python -m hexfleet.devtools.bench.analytics``), by the tests of
the rollups, and by anything that wants months of data to measure reads against. Everything
is from ``random.Random(seed)``: one seed, one history. Rows go in with COPY (through
staging tables where ids are identity columns), a day at a time.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hexfleet.devtools.demo import DEMO_FARES
from hexfleet.geo import cell_of
from hexfleet.rides import fares as fare_rules

CENTRE = (52.52, 13.405)
RADIUS_M = 12_000.0
M_PER_DEG = 111_320.0
STALE_AFTER_S = 60.0
SPEED_MS = 25 / 3.6 / 1.3  # the estimate's average speed over road distance
CLASSES = (("standard", 0.7), ("comfort", 0.15), ("xl", 0.1), ("van", 0.05))
SHIFT_STARTS = ((5, 1), (6, 2), (7, 3), (8, 2), (10, 1), (12, 1), (14, 2), (15, 2), (16, 3), (17, 2), (19, 1), (21, 1))
# Requests per hour at the busiest hour, per driver of the fleet, and the shape of a weekday.
PEAK_PER_DRIVER = 0.35
WEEKDAY = (0.25, 0.15, 0.1, 0.08, 0.1, 0.25, 0.55, 0.95, 1.0, 0.75, 0.6, 0.65,
           0.7, 0.65, 0.6, 0.7, 0.85, 1.0, 0.95, 0.8, 0.7, 0.6, 0.5, 0.4)  # fmt: skip
WEEKEND = (0.5, 0.45, 0.4, 0.3, 0.2, 0.15, 0.2, 0.3, 0.45, 0.55, 0.65, 0.7,
           0.7, 0.7, 0.65, 0.65, 0.7, 0.75, 0.8, 0.8, 0.85, 0.85, 0.8, 0.65)  # fmt: skip
SNAPSHOT = "{}"  # booking events' snapshot: what live streams carried, not read by analytics


@dataclass
class Generated:
    start: datetime
    end: datetime  # bookings reached dispatch before this; every ride has ended by it
    drivers: list[int]
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _point(rng: random.Random) -> tuple[float, float]:
    """A pickup or drop-off: most near the centre and two hot spots, the rest anywhere."""
    spots = ((CENTRE, 2500.0, 0.45), ((52.505, 13.28), 2000.0, 0.15), ((52.545, 13.50), 2000.0, 0.1))
    pick = rng.random()
    origin, distance = CENTRE, RADIUS_M * math.sqrt(rng.random())  # anywhere, unless a hot spot is picked
    for spot, spread, share in spots:
        if pick < share:
            origin, distance = spot, abs(rng.gauss(0, spread))
            break
        pick -= share
    lat, lng = origin
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = distance * math.cos(bearing) / M_PER_DEG
    dlng = distance * math.sin(bearing) / (M_PER_DEG * math.cos(math.radians(lat)))
    return lat + dlat, lng + dlng


def _weighted(rng: random.Random, options) -> object:
    total = sum(w for _, w in options)
    pick = rng.uniform(0, total)
    for value, weight in options:
        pick -= weight
        if pick <= 0:
            return value
    return options[-1][0]


class _Duty:
    """One driver's duty rows as they are made (in time order), ended by the next."""

    def __init__(self, driver_id: int, vehicle_class: str) -> None:
        self.driver_id, self.vehicle_class = driver_id, vehicle_class
        self.changes: list[tuple[datetime, str, bool, int | None, str]] = []  # (at, duty, online, cell, source)

    def add(self, at: datetime, duty: str, online: bool, cell: int | None, source: str) -> None:
        self.changes.append((at, duty, online, cell, source))

    def rows(self, before: datetime | None) -> list[tuple]:
        """Rows of the changes before ``before`` (None: all), each ended by the next change."""
        self.changes.sort(key=lambda c: c[0])
        cut = len(self.changes) if before is None else bisect.bisect_left([c[0] for c in self.changes], before)
        if before is not None:
            cut = max(0, cut - 1)  # the last one before waits for its end
        out = []
        for i in range(cut):
            at, duty, online, cell, source = self.changes[i]
            ended = self.changes[i + 1][0] if i + 1 < len(self.changes) else None
            status = duty if online or duty == "off_duty" else "stale"
            out.append((self.driver_id, at, ended, status, duty, online, cell, self.vehicle_class, source))
        del self.changes[:cut]
        return out


@dataclass
class _Driver:
    id: int
    vehicle_class: str
    shift: dict[int, tuple[datetime, datetime]]  # day number → (start, end)
    cell: int
    free_at: datetime
    duty: _Duty


class _Writer:
    """Rows of one day, then COPY (identity tables through staging tables)."""

    def __init__(self) -> None:
        self.tables: dict[str, list[tuple]] = defaultdict(list)

    def add(self, table: str, row: tuple) -> None:
        self.tables[table].append(row)

    async def flush(self, conn, counts: dict[str, int]) -> None:
        for table, columns in _COLUMNS.items():
            rows = self.tables.pop(table, [])
            if not rows:
                continue
            # In the order the app writes them (by time): BRIN indexes (quotes, booking events)
            # rely on it, and a day's rows in the order its rides were simulated are not.
            when = columns.index(_TIME[table])
            rows.sort(key=lambda row: row[when])
            counts[table] += len(rows)
            if table in _IDENTITY:
                await conn.execute(f"TRUNCATE stage_{table}")
                await conn.copy_records_to_table(f"stage_{table}", records=rows, columns=columns)
                names = ", ".join(columns)
                await conn.execute(
                    f"INSERT INTO {table} ({names}) OVERRIDING SYSTEM VALUE SELECT {names} FROM stage_{table}"
                )
            else:
                await conn.copy_records_to_table(table, records=rows, columns=columns)


_COLUMNS = {
    "quotes": ["id", "user_id", "vehicle_class", "pickup_lat", "pickup_lng", "dropoff_lat", "dropoff_lng",
               "pickup_cell", "pickup_at", "distance_m", "duration_s", "route_source", "eta_pickup_s",
               "surge_tenths", "price_minor", "currency", "breakdown", "created_at", "expires_at", "used_at"],
    "bookings": ["id", "status", "quote_id", "customer_id", "created_by", "passenger_name", "passenger_phone",
                 "vehicle_class", "pickup_lat", "pickup_lng", "dropoff_lat", "dropoff_lng", "pickup_cell",
                 "pickup_cell7", "pickup_cell8", "distance_m", "duration_s", "price_minor", "currency", "breakdown",
                 "scheduled_for", "dispatch_at", "driver_id", "tracking_nonce", "cancelled_by", "created_at",
                 "updated_at", "assigned_at", "arrived_at", "started_at", "ended_at", "eta_pickup_s"],
    "offers": ["id", "booking_id", "driver_id", "status", "ring", "distance_m", "eta_s", "created_at", "expires_at",
               "responded_at"],
    "booking_events": ["booking_id", "action", "from_status", "to_status", "actor", "driver_id", "offer_id",
                       "snapshot", "at", "published_at"],
    "duty_history": ["driver_id", "started_at", "ended_at", "status", "duty", "online", "cell", "vehicle_class",
                     "source"],
}  # fmt: skip
_IDENTITY = ("quotes", "bookings", "offers")
_TIME = {"quotes": "created_at", "bookings": "created_at", "offers": "created_at", "booking_events": "at",
         "duty_history": "started_at"}  # fmt: skip


async def _setup(conn, drivers: int, customers: int, rng: random.Random) -> tuple[list[int], dict[int, str], list]:
    for fare in DEMO_FARES:
        await conn.execute(
            """INSERT INTO fares (vehicle_class, currency, base_minor, per_km_minor, per_minute_minor,
                                  booking_fee_minor, minimum_minor) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (vehicle_class) DO NOTHING""",
            fare.vehicle_class, fare.currency, fare.base_minor, fare.per_km_minor, fare.per_minute_minor,
            fare.booking_fee_minor, fare.minimum_minor,
        )  # fmt: skip
    user_ids = [
        r["id"]
        for r in await conn.fetch(
            """INSERT INTO users (email, password_hash, role)
               SELECT 'analytics-rider-' || g || '-' || $2::bigint || '@hexfleet.invalid', 'x', 'customer'
               FROM generate_series(1, $1) g RETURNING id""",
            customers,
            rng.randrange(10**9),
        )
    ]
    classes = [str(_weighted(rng, CLASSES)) for _ in range(drivers)]
    tag = rng.randrange(10**9)
    driver_ids = []
    for i, vehicle_class in enumerate(classes):
        vehicle = await conn.fetchval(
            "INSERT INTO vehicles (plate, class) VALUES ($1, $2) RETURNING id", f"AN-{tag}-{i}", vehicle_class
        )
        driver_ids.append(
            await conn.fetchval(
                "INSERT INTO drivers (name, status, vehicle_id) VALUES ($1, 'off_duty', $2) RETURNING id",
                f"Analytics driver {i + 1}",
                vehicle,
            )
        )
    for table in _IDENTITY:
        await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS stage_{table} (LIKE {table} INCLUDING DEFAULTS)")
    return driver_ids, dict(zip(driver_ids, classes, strict=True)), user_ids


async def _next_ids(conn) -> dict[str, int]:
    return {t: int(await conn.fetchval(f"SELECT coalesce(max(id), 0) + 1 FROM {t}")) for t in _IDENTITY}


async def generate(
    conn,
    *,
    drivers: int = 500,
    days: int = 90,
    end: datetime | None = None,
    seed: int = 17,
    progress: Callable[[int], None] | None = None,
) -> Generated:
    """Write ``days`` of a ``drivers``-driver fleet ending at ``end`` (default: three hours
    before the current hour, so every ride has ended); ``progress`` gets each finished day's number."""
    rng = random.Random(seed)
    if end is None:
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    start = end - timedelta(days=days)
    driver_ids, classes, customers = await _setup(conn, drivers, max(50, drivers // 2), rng)
    ids = await _next_ids(conn)
    out = Generated(start, end, driver_ids)
    fleet = [_Driver(d, classes[d], {}, cell_of(*_point(rng), 7), start, _Duty(d, classes[d])) for d in driver_ids]
    by_class: dict[str, list[_Driver]] = defaultdict(list)
    for driver in fleet:
        by_class[driver.vehicle_class].append(driver)
        first = int(_weighted(rng, SHIFT_STARTS))  # type: ignore[call-overload]
        for day in range(-1, days + 1):
            if rng.random() < 0.82:
                begin = start + timedelta(days=day, hours=first + rng.uniform(-0.5, 0.5))
                driver.shift[day] = (begin, begin + timedelta(hours=rng.uniform(6, 10)))
    fare_of = {f.vehicle_class: f for f in DEMO_FARES}
    writer = _Writer()
    sim = _Simulation(rng, start, fleet, by_class, customers, fare_of, ids, writer)
    for day in range(days):
        day_start = start + timedelta(days=day)
        for hour in range(24):
            at = day_start + timedelta(hours=hour)
            weights = WEEKEND if at.weekday() >= 5 else WEEKDAY
            rate = drivers * PEAK_PER_DRIVER * weights[hour]
            t = at + timedelta(seconds=rng.expovariate(rate / 3600))
            while t < at + timedelta(hours=1):
                sim.until(t)
                sim.request(t)
                t += timedelta(seconds=rng.expovariate(rate / 3600))
        sim.until(day_start + timedelta(days=1))
        for driver in fleet:
            for row in driver.duty.rows(day_start):
                writer.add("duty_history", row)
        await writer.flush(conn, out.counts)
        if progress is not None:
            progress(day + 1)
    for driver in fleet:
        for row in driver.duty.rows(None):
            writer.add("duty_history", row)
    await writer.flush(conn, out.counts)
    for table in _IDENTITY:
        await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    # As autovacuum leaves a table that grows all day: statistics, and the BRIN ranges of
    # quotes and booking events summarised (an unsummarised range matches every query).
    for table in ("quotes", "bookings", "offers", "booking_events", "duty_history"):
        await conn.execute(f"VACUUM ANALYZE {table}")
    return out


class _Simulation:
    def __init__(self, rng, start: datetime, fleet, by_class, customers, fare_of, ids, writer: _Writer) -> None:
        self.rng, self.start, self.fleet, self.by_class = rng, start, fleet, by_class
        self.customers, self.fare_of, self.ids, self.writer = customers, fare_of, ids, writer
        # Shift starts and ends in time order: (at, 0 = start / 1 = end, driver index)
        self.shift_events = sorted(
            (at, kind, i) for i, d in enumerate(fleet) for (begin, end) in d.shift.values()
            for at, kind in ((begin, 0), (end, 1))
        )  # fmt: skip
        self.next_shift_event = 0

    def _id(self, table: str) -> int:
        value = self.ids[table]
        self.ids[table] += 1
        return value

    def until(self, t: datetime) -> None:
        """Shifts that start or end before ``t``: online and available at the start; off duty at
        the end (after the ride in hand, if any), the phone off a minute later."""
        events = self.shift_events
        while self.next_shift_event < len(events) and events[self.next_shift_event][0] <= t:
            at, kind, i = events[self.next_shift_event]
            self.next_shift_event += 1
            driver = self.fleet[i]
            if kind == 0:
                driver.duty.add(at, "available", True, driver.cell, "back")
                driver.free_at = max(driver.free_at, at)
            else:
                off = at if driver.free_at <= at else driver.free_at + timedelta(milliseconds=1)
                driver.duty.add(off, "off_duty", True, driver.cell, "duty")
                driver.duty.add(off + timedelta(seconds=STALE_AFTER_S), "off_duty", False, driver.cell, "stale")

    def _on_shift(self, driver: _Driver, at: datetime) -> bool:
        day = (at - self.start).days
        for shift in (driver.shift.get(day), driver.shift.get(day - 1)):
            if shift and shift[0] <= at < shift[1] - timedelta(minutes=15):
                return True
        return False

    def _free(self, vehicle_class: str, at: datetime, asked: set[int]) -> _Driver | None:
        candidates = self.by_class.get(vehicle_class)
        for _ in range(40 if candidates else 0):
            driver = self.rng.choice(candidates)
            if driver.free_at <= at and driver.id not in asked and self._on_shift(driver, at):
                asked.add(driver.id)  # nobody is asked twice for one ride
                return driver
        return None

    def request(self, t: datetime) -> None:
        """One request reaching dispatch at ``t``, and its whole story."""
        rng = self.rng
        vehicle_class = str(_weighted(rng, CLASSES))
        pickup, dropoff = _point(rng), _point(rng)
        straight = math.dist(
            (pickup[0] * M_PER_DEG, pickup[1] * M_PER_DEG * math.cos(math.radians(pickup[0]))),
            (dropoff[0] * M_PER_DEG, dropoff[1] * M_PER_DEG * math.cos(math.radians(pickup[0]))),
        )
        distance = max(500, round(straight * 1.3))
        duration = round(distance / SPEED_MS)
        customer = rng.choice(self.customers)
        ahead = rng.random() < 0.1
        surge = 10 if ahead else rng.choice((10, 10, 10, 10, 11, 12, 13, 15))
        fare = self.fare_of[vehicle_class]
        price = fare_rules.price(fare, distance, duration, surge).total_minor
        cell7, cell8 = cell_of(*pickup, 7), cell_of(*pickup, 8)
        # Riders compare prices: a few quotes that never book for each one that does.
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            asked = t - timedelta(seconds=rng.uniform(60, 1800))
            self._quote(customer, vehicle_class, _point(rng), dropoff, asked, None, surge, price, None)
        created = t - timedelta(hours=rng.uniform(1, 20)) if ahead else t
        asked_at = created - timedelta(seconds=rng.uniform(5, 90))
        pickup_at = t + timedelta(minutes=10) if ahead else None
        quote_id = self._quote(customer, vehicle_class, pickup, dropoff, asked_at, pickup_at, surge, price, created)
        booking_id = self._id("bookings")
        story: list[tuple[datetime, str, str | None, str, str, int | None, int | None]] = []
        story.append((created, "create", None, "scheduled" if ahead else "searching", "customer", None, None))
        if ahead:
            story.append((t, "dispatch", "scheduled", "searching", "system", None, None))
        b: dict[str, Any] = {"status": "searching", "driver_id": None, "assigned_at": None, "arrived_at": None,
                             "started_at": None, "ended_at": None, "cancelled_by": None, "eta": None}  # fmt: skip
        now = t
        if rng.random() < 0.05:  # the rider gives up while dispatch searches
            now += timedelta(seconds=rng.uniform(20, 150))
            self._end(b, story, now, "cancel", "customer")
        else:
            driver = self._dispatch(b, story, booking_id, vehicle_class, now)
            if driver is None:
                now += timedelta(seconds=rng.uniform(15, 60))
                b["status"], b["ended_at"] = "no_driver", now
                story.append((now, "give_up", "searching", "no_driver", "system", None, None))
            else:
                self._ride(b, story, booking_id, vehicle_class, driver, cell7, cell_of(*dropoff, 7), distance, duration)
        self.writer.add(
            "bookings",
            (booking_id, b["status"], quote_id, customer, customer, "Rider", "+49 30 555 0000", vehicle_class,
             pickup[0], pickup[1], dropoff[0], dropoff[1], cell7, cell7, cell8, distance, duration, price, "EUR",
             "{}", t + timedelta(minutes=10) if ahead else None, t if ahead else None, b["driver_id"], "n",
             b["cancelled_by"], created, story[-1][0], b["assigned_at"], b["arrived_at"], b["started_at"],
             b["ended_at"], b["eta"]),
        )  # fmt: skip
        for at, action, before, after, actor, driver_id, offer_id in story:
            self.writer.add("booking_events", (booking_id, action, before, after, actor, driver_id, offer_id,
                                               SNAPSHOT, at, at))  # fmt: skip

    def _quote(
        self, customer: int, vehicle_class: str, pickup: tuple[float, float], dropoff, at, pickup_at, surge, price, used
    ) -> int:
        quote_id = self._id("quotes")
        self.writer.add(
            "quotes",
            (quote_id, customer, vehicle_class, pickup[0], pickup[1], dropoff[0], dropoff[1], cell_of(*pickup, 7),
             pickup_at, 5000, 900, "estimate", 300, surge, price, "EUR", "{}", at, at + timedelta(minutes=5), used),
        )  # fmt: skip
        return quote_id

    def _offer(self, booking_id, driver: _Driver, at, status, answered, distance, eta) -> int:
        offer_id = self._id("offers")
        self.writer.add(
            "offers",
            (offer_id, booking_id, driver.id, status, 1, distance, eta, at, at + timedelta(seconds=15), answered),
        )
        return offer_id

    def _dispatch(self, b, story, booking_id, vehicle_class, now) -> _Driver | None:
        """Offers until a driver accepts: some pass or let the offer expire first."""
        rng = self.rng
        asked = b.setdefault("asked", set())
        for _ in range(4):
            driver = self._free(vehicle_class, now, asked)
            if driver is None:
                return None
            distance = round(rng.uniform(200, 2500))
            eta = round(distance / SPEED_MS)
            fate = rng.random()
            offer_at = now + timedelta(seconds=rng.uniform(0.2, 2))
            if fate < 0.2:
                answered = offer_at + timedelta(seconds=rng.uniform(3, 14))
                offer_id = self._offer(booking_id, driver, offer_at, "declined", answered, distance, eta)
                story.append((offer_at, "offer", "searching", "offered", "system", driver.id, offer_id))
                story.append((answered, "decline", "offered", "searching", "driver", driver.id, offer_id))
                now = answered
                continue
            if fate < 0.28:
                answered = offer_at + timedelta(seconds=15)
                offer_id = self._offer(booking_id, driver, offer_at, "expired", answered, distance, eta)
                story.append((offer_at, "offer", "searching", "offered", "system", driver.id, offer_id))
                story.append((answered, "expire", "offered", "searching", "system", driver.id, offer_id))
                now = answered
                continue
            answered = offer_at + timedelta(seconds=rng.lognormvariate(1.7, 0.5))
            offer_id = self._offer(booking_id, driver, offer_at, "accepted", answered, distance, eta)
            story.append((offer_at, "offer", "searching", "offered", "system", driver.id, offer_id))
            story.append((answered, "accept", "offered", "assigned", "driver", driver.id, offer_id))
            b.update(status="assigned", driver_id=driver.id, assigned_at=answered, eta=eta)
            driver.free_at = answered + timedelta(hours=3)  # held until the ride's end is known
            driver.duty.add(answered, "busy", True, driver.cell, "duty")
            return driver
        return None

    def _end(self, b, story, at, action, actor, driver: _Driver | None = None) -> None:
        status = "completed" if action == "complete" else "cancelled"
        story.append((at, action, b["status"], status, actor, b["driver_id"], None))
        b["status"], b["ended_at"] = status, at
        if action == "cancel":
            b["cancelled_by"] = actor
        if driver is not None:
            driver.free_at = at
            driver.duty.add(at, "available", True, driver.cell, "duty")

    def _ride(self, b, story, booking_id, vehicle_class, driver, pickup_cell, dropoff_cell, distance, duration) -> None:
        rng = self.rng
        now = b["assigned_at"]
        if rng.random() < 0.03:  # the driver gives it back; another one takes it
            now += timedelta(seconds=rng.uniform(40, 200))
            story.append((now, "release", "assigned", "searching", "driver", driver.id, None))
            driver.free_at = now
            driver.duty.add(now, "available", True, driver.cell, "duty")
            b.update(status="searching", driver_id=None, assigned_at=None, eta=None)
            driver = self._dispatch(b, story, booking_id, vehicle_class, now)
            if driver is None:
                now += timedelta(seconds=30)
                b["status"], b["ended_at"] = "no_driver", now
                story.append((now, "give_up", "searching", "no_driver", "system", None, None))
                return
            now = b["assigned_at"]
        travel = b["eta"] * rng.lognormvariate(0.05, 0.3) + rng.gauss(10, 20)
        arrive = now + timedelta(seconds=max(20.0, travel))
        cancel = rng.random()
        if cancel < 0.04:  # the rider cancels while the car is on its way
            self._end(b, story, now + (arrive - now) * rng.uniform(0.1, 0.9), "cancel", "customer", driver)
            return
        if cancel < 0.045:
            self._end(b, story, now + (arrive - now) * rng.uniform(0.1, 0.9), "cancel", "dispatcher", driver)
            return
        if pickup_cell != driver.cell:
            driver.cell = pickup_cell
            driver.duty.add(arrive, "busy", True, pickup_cell, "moved")
        story.append((arrive, "arrive", "assigned", "arrived", "driver", driver.id, None))
        b.update(status="arrived", arrived_at=arrive)
        start = arrive + timedelta(seconds=rng.uniform(20, 180))
        story.append((start, "start", "arrived", "in_progress", "driver", driver.id, None))
        b.update(status="in_progress", started_at=start)
        finish = start + timedelta(seconds=duration * rng.uniform(0.85, 1.35))
        if dropoff_cell != driver.cell:
            driver.cell = dropoff_cell
            driver.duty.add(finish - timedelta(milliseconds=1), "busy", True, dropoff_cell, "moved")
        self._end(b, story, finish, "complete", "driver", driver)
