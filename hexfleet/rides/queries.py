"""All SQL for rides: fares, quotes, bookings, offers, booking events (the outbox), surge history.

Times are passed in (from the workflow's clock), never taken from ``now()``, so the
workflows and their tests agree on what "expired" and "due" mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import orjson

from hexfleet.rides.availability import Availability
from hexfleet.rides.fares import Fare
from hexfleet.rides.states import BookingStatus

# Woken on every committed booking event, so the relay publishes at once instead of polling.
OUTBOX_CHANNEL = "hexfleet_outbox"


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


# ---------------------------------------------------------------- fares


_FARE_COLUMNS = "vehicle_class, currency, base_minor, per_km_minor, per_minute_minor, booking_fee_minor, minimum_minor"


def _fare(row) -> Fare:
    return Fare(**{k: row[k] for k in Fare.__dataclass_fields__})


async def get_fare(conn, vehicle_class: str) -> Fare | None:
    row = await conn.fetchrow(f"SELECT {_FARE_COLUMNS} FROM fares WHERE vehicle_class = $1", vehicle_class)
    return _fare(row) if row else None


async def list_fares(conn) -> list[Fare]:
    return [_fare(r) for r in await conn.fetch(f"SELECT {_FARE_COLUMNS} FROM fares ORDER BY vehicle_class")]


async def put_fare(conn, fare: Fare, user_id: int | None) -> Fare:
    row = await conn.fetchrow(
        f"""INSERT INTO fares ({_FARE_COLUMNS}, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (vehicle_class) DO UPDATE SET
              currency = EXCLUDED.currency, base_minor = EXCLUDED.base_minor,
              per_km_minor = EXCLUDED.per_km_minor, per_minute_minor = EXCLUDED.per_minute_minor,
              booking_fee_minor = EXCLUDED.booking_fee_minor, minimum_minor = EXCLUDED.minimum_minor,
              updated_at = now(), updated_by = EXCLUDED.updated_by
            RETURNING {_FARE_COLUMNS}""",
        fare.vehicle_class,
        fare.currency,
        fare.base_minor,
        fare.per_km_minor,
        fare.per_minute_minor,
        fare.booking_fee_minor,
        fare.minimum_minor,
        user_id,
    )
    return _fare(row)


# ---------------------------------------------------------------- quotes


@dataclass(frozen=True)
class Quote:
    id: int
    user_id: int
    vehicle_class: str
    pickup_lat: float
    pickup_lng: float
    dropoff_lat: float
    dropoff_lng: float
    pickup_cell: int
    pickup_at: datetime | None
    distance_m: int
    duration_s: int
    route_source: str
    eta_pickup_s: int | None
    surge_tenths: int
    price_minor: int
    currency: str
    breakdown: dict
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    # The names the trip's ends were given (hexfleet.places): the rider's choice, else the nearest place.
    pickup_label: str | None
    dropoff_label: str | None
    # Who is near the pickup, as the quote's ETA search found them (not stored: only the
    # quote's answer carries it). None for a later pickup, and for a quote read back.
    availability: Availability | None = None

    def to_json(self) -> dict:
        return {
            "quote_id": self.id,
            "price_minor": self.price_minor,
            "currency": self.currency,
            "expires_at": _iso(self.expires_at),
            "surge_multiplier": self.surge_tenths / 10,
            "eta_pickup_s": self.eta_pickup_s,
            "distance_m": self.distance_m,
            "duration_s": self.duration_s,
            "breakdown": self.breakdown,
            "vehicle_class": self.vehicle_class,
            "pickup": {"lat": self.pickup_lat, "lng": self.pickup_lng, "label": self.pickup_label},
            "dropoff": {"lat": self.dropoff_lat, "lng": self.dropoff_lng, "label": self.dropoff_label},
            "pickup_at": _iso(self.pickup_at),
            "route_source": self.route_source,
            "availability": self.availability.to_json() if self.availability else None,
        }


_QUOTE_COLUMNS = ", ".join(f for f in Quote.__dataclass_fields__ if f != "availability")


def _quote(row) -> Quote:
    data = dict(row)
    data["breakdown"] = orjson.loads(data["breakdown"])
    return Quote(**data)


async def insert_quote(conn, **values) -> Quote:
    """Store a priced quote; ``values`` are Quote's fields except id and used_at."""
    values["breakdown"] = orjson.dumps(values["breakdown"]).decode()
    columns = list(values)
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO quotes ({', '.join(columns)}) VALUES ({placeholders}) RETURNING {_QUOTE_COLUMNS}",
        *values.values(),
    )
    return _quote(row)


async def claim_quote(conn, quote_id: int, user_id: int, now: float) -> Quote | None:
    """Use a quote once: only its owner, only before it expires, only if unused."""
    row = await conn.fetchrow(
        f"""UPDATE quotes SET used_at = $3 WHERE id = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3
            RETURNING {_QUOTE_COLUMNS}""",
        quote_id,
        user_id,
        _ts(now),
    )
    return _quote(row) if row else None


async def get_quote(conn, quote_id: int) -> Quote | None:
    row = await conn.fetchrow(f"SELECT {_QUOTE_COLUMNS} FROM quotes WHERE id = $1", quote_id)
    return _quote(row) if row else None


async def recent_quote_demand(conn, since: float) -> dict[int, int]:
    """Quoting customers per pickup cell since ``since`` (one per customer and cell: a customer
    asking again and again is one person wanting a ride)."""
    rows = await conn.fetch(
        """SELECT pickup_cell, count(DISTINCT user_id) AS n FROM quotes
           WHERE created_at >= $1 AND used_at IS NULL GROUP BY pickup_cell""",
        _ts(since),
    )
    return {r["pickup_cell"]: r["n"] for r in rows}


# ---------------------------------------------------------------- bookings


@dataclass(frozen=True)
class Booking:
    id: int
    status: BookingStatus
    quote_id: int
    customer_id: int | None
    created_by: int | None
    passenger_name: str
    passenger_phone: str
    notes: str | None
    vehicle_class: str
    pickup_lat: float
    pickup_lng: float
    dropoff_lat: float
    dropoff_lng: float
    pickup_cell: int
    distance_m: int
    duration_s: int
    price_minor: int
    currency: str
    breakdown: dict
    scheduled_for: datetime | None
    dispatch_at: datetime | None
    driver_id: int | None
    search_ring: int
    tracking_nonce: str
    cancelled_by: str | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime
    assigned_at: datetime | None
    arrived_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    pickup_label: str | None  # copied from the quote
    dropoff_label: str | None
    # When the current search for a driver started (DISPATCH_PATIENCE_S counts from it).
    search_started_at: datetime | None = None

    def snapshot(self) -> dict:
        """What live streams carry: enough to redraw a ride, nothing private (no passenger
        contact, no customer id, no tracking secret)."""
        return {
            "id": self.id,
            "status": str(self.status),
            "vehicle_class": self.vehicle_class,
            "pickup": {"lat": self.pickup_lat, "lng": self.pickup_lng, "label": self.pickup_label},
            "dropoff": {"lat": self.dropoff_lat, "lng": self.dropoff_lng, "label": self.dropoff_label},
            "price_minor": self.price_minor,
            "currency": self.currency,
            "scheduled_for": _iso(self.scheduled_for),
            "driver_id": self.driver_id,
            "search_ring": self.search_ring,
            "cancelled_by": self.cancelled_by,
            "updated_at": _iso(self.updated_at),
        }

    def to_json(self) -> dict:
        """The full booking, for its customer and for staff."""
        return {
            **self.snapshot(),
            "quote_id": self.quote_id,
            "customer_id": self.customer_id,
            "passenger": {"name": self.passenger_name, "phone": self.passenger_phone},
            "notes": self.notes,
            "distance_m": self.distance_m,
            "duration_s": self.duration_s,
            "breakdown": self.breakdown,
            "dispatch_at": _iso(self.dispatch_at),
            "cancel_reason": self.cancel_reason,
            "created_at": _iso(self.created_at),
            "assigned_at": _iso(self.assigned_at),
            "arrived_at": _iso(self.arrived_at),
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
        }


_BOOKING_COLUMNS = ", ".join(Booking.__dataclass_fields__)


def _booking(row) -> Booking:
    data = dict(row)
    data["status"] = BookingStatus(data["status"])
    data["breakdown"] = orjson.loads(data["breakdown"])
    return Booking(**data)


async def insert_booking(conn, **values) -> Booking:
    """Store a booking; ``values`` are Booking's columns except id and the later timestamps."""
    values["breakdown"] = orjson.dumps(values["breakdown"]).decode()
    values["status"] = str(values["status"])
    columns = list(values)
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO bookings ({', '.join(columns)}) VALUES ({placeholders}) RETURNING {_BOOKING_COLUMNS}",
        *values.values(),
    )
    return _booking(row)


async def get_booking(conn, booking_id: int, *, for_update: bool = False) -> Booking | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_BOOKING_COLUMNS} FROM bookings WHERE id = $1{lock}", booking_id)
    return _booking(row) if row else None


# Columns a workflow may change (never id, quote or price): guards the dynamic SET below.
_MUTABLE = {
    "status", "driver_id", "search_ring", "cancelled_by", "cancel_reason", "updated_at", "assigned_at",
    "arrived_at", "started_at", "ended_at", "dispatch_at", "search_started_at", "eta_pickup_s",
}  # fmt: skip


async def update_booking(conn, booking_id: int, expected: BookingStatus, **changes) -> Booking | None:
    """Change a booking only if it is still in ``expected`` (the atomic claim); None if not."""
    unknown = set(changes) - _MUTABLE
    if unknown:
        raise ValueError(f"not changeable: {sorted(unknown)}")
    values = [str(v) if isinstance(v, BookingStatus) else v for v in changes.values()]
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
    row = await conn.fetchrow(
        f"UPDATE bookings SET {sets} WHERE id = $1 AND status = $2 RETURNING {_BOOKING_COLUMNS}",
        booking_id,
        str(expected),
        *values,
    )
    return _booking(row) if row else None


async def set_tracking_nonce(conn, booking_id: int, nonce: str) -> Booking | None:
    """A new tracking link (the old ones stop working). Not a change of the ride, so
    ``updated_at`` stays: it orders the ride's states and finds stalled searches."""
    row = await conn.fetchrow(
        f"UPDATE bookings SET tracking_nonce = $2 WHERE id = $1 RETURNING {_BOOKING_COLUMNS}", booking_id, nonce
    )
    return _booking(row) if row else None


async def list_bookings(
    conn,
    *,
    statuses: list[str] | None = None,
    customer_id: int | None = None,
    driver_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Booking]:
    """Newest first; ``before_id`` is the cursor (the last id of the previous page)."""
    rows = await conn.fetch(
        f"""SELECT {_BOOKING_COLUMNS} FROM bookings
            WHERE ($1::text[] IS NULL OR status = ANY($1))
              AND ($2::bigint IS NULL OR customer_id = $2)
              AND ($3::bigint IS NULL OR driver_id = $3)
              AND ($4::bigint IS NULL OR id < $4)
            ORDER BY id DESC LIMIT $5""",
        statuses,
        customer_id,
        driver_id,
        before_id,
        limit,
    )
    return [_booking(r) for r in rows]


async def driver_current_booking(conn, driver_id: int) -> Booking | None:
    row = await conn.fetchrow(
        f"""SELECT {_BOOKING_COLUMNS} FROM bookings
            WHERE driver_id = $1 AND status IN ('assigned', 'arrived', 'in_progress')""",
        driver_id,
    )
    return _booking(row) if row else None


async def due_scheduled(conn, now: float, limit: int = 500) -> list[int]:
    rows = await conn.fetch(
        "SELECT id FROM bookings WHERE status = 'scheduled' AND dispatch_at <= $1 ORDER BY dispatch_at LIMIT $2",
        _ts(now),
        limit,
    )
    return [r["id"] for r in rows]


async def stalled_searches(conn, before: float, limit: int = 500) -> list[int]:
    """Searching bookings with no open offer, untouched since ``before``: their dispatcher died."""
    rows = await conn.fetch(
        """SELECT b.id FROM bookings b
           WHERE b.status = 'searching' AND b.updated_at < $1
             AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.booking_id = b.id AND o.status = 'pending')
           ORDER BY b.id LIMIT $2""",
        _ts(before),
        limit,
    )
    return [r["id"] for r in rows]


async def open_demand(conn) -> dict[int, int]:
    """Bookings waiting for a driver, per pickup cell (surge demand)."""
    rows = await conn.fetch(
        """SELECT pickup_cell, count(*) AS n FROM bookings
           WHERE status IN ('searching', 'offered', 'no_driver') GROUP BY pickup_cell"""
    )
    return {r["pickup_cell"]: r["n"] for r in rows}


# ---------------------------------------------------------------- offers


@dataclass(frozen=True)
class Offer:
    id: int
    booking_id: int
    driver_id: int
    status: str  # pending | accepted | declined | expired | withdrawn
    ring: int
    distance_m: int
    eta_s: int | None
    created_at: datetime
    expires_at: datetime
    responded_at: datetime | None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "booking_id": self.booking_id,
            "driver_id": self.driver_id,
            "status": self.status,
            "distance_m": self.distance_m,
            "eta_s": self.eta_s,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
        }


_OFFER_COLUMNS = ", ".join(Offer.__dataclass_fields__)


def _offer(row) -> Offer:
    return Offer(**dict(row))


async def insert_offer(
    conn, booking_id: int, driver_id: int, ring: int, distance_m: int, eta_s: int | None, now: float, expires: float
) -> Offer:
    """Raises asyncpg.UniqueViolationError when the driver already has an open offer (or was
    asked for this booking before): the partial unique indexes make the claim atomic."""
    row = await conn.fetchrow(
        f"""INSERT INTO offers (booking_id, driver_id, status, ring, distance_m, eta_s, created_at, expires_at)
            VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7) RETURNING {_OFFER_COLUMNS}""",
        booking_id,
        driver_id,
        ring,
        distance_m,
        eta_s,
        _ts(now),
        _ts(expires),
    )
    return _offer(row)


async def get_offer(conn, offer_id: int, *, for_update: bool = False) -> Offer | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_OFFER_COLUMNS} FROM offers WHERE id = $1{lock}", offer_id)
    return _offer(row) if row else None


async def pending_offer_of_booking(conn, booking_id: int) -> Offer | None:
    row = await conn.fetchrow(
        f"SELECT {_OFFER_COLUMNS} FROM offers WHERE booking_id = $1 AND status = 'pending'", booking_id
    )
    return _offer(row) if row else None


async def pending_offers_of_driver(conn, driver_id: int) -> list[Offer]:
    rows = await conn.fetch(
        f"SELECT {_OFFER_COLUMNS} FROM offers WHERE driver_id = $1 AND status = 'pending' ORDER BY id", driver_id
    )
    return [_offer(r) for r in rows]


async def end_offer(conn, offer_id: int, status: str, now: float) -> Offer | None:
    """pending → accepted/declined/expired/withdrawn; None if it was no longer pending."""
    row = await conn.fetchrow(
        f"""UPDATE offers SET status = $2, responded_at = $3 WHERE id = $1 AND status = 'pending'
            RETURNING {_OFFER_COLUMNS}""",
        offer_id,
        status,
        _ts(now),
    )
    return _offer(row) if row else None


async def withdraw_pending(conn, *, booking_id: int | None = None, driver_id: int | None = None, now: float) -> list:
    """Withdraw the open offer of a booking and/or of a driver (a dispatcher decided otherwise)."""
    rows = await conn.fetch(
        f"""UPDATE offers SET status = 'withdrawn', responded_at = $3
            WHERE status = 'pending' AND (booking_id = $1 OR driver_id = $2) RETURNING {_OFFER_COLUMNS}""",
        booking_id,
        driver_id,
        _ts(now),
    )
    return [_offer(r) for r in rows]


async def overdue_offers(conn, now: float, limit: int = 500) -> list[int]:
    rows = await conn.fetch(
        "SELECT id FROM offers WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        _ts(now),
        limit,
    )
    return [r["id"] for r in rows]


async def offers_of_booking(conn, booking_id: int) -> list[Offer]:
    rows = await conn.fetch(f"SELECT {_OFFER_COLUMNS} FROM offers WHERE booking_id = $1 ORDER BY id", booking_id)
    return [_offer(r) for r in rows]


async def eligible_drivers(conn, driver_ids: list[int], vehicle_class: str, booking_id: int) -> dict[int, bool]:
    """Of these drivers, the ones that may be offered this booking, each with whether it is
    busy with an open offer for another booking right now (``True``: ask again shortly).

    Eligible: available in PostgreSQL (the record, not only the index), driving this
    vehicle class (no vehicle counts as standard), not asked for this booking before, and
    no ride in hand."""
    rows = await conn.fetch(
        """SELECT d.id, EXISTS (SELECT 1 FROM offers o WHERE o.driver_id = d.id AND o.status = 'pending') AS engaged
           FROM drivers d LEFT JOIN vehicles v ON v.id = d.vehicle_id
           WHERE d.id = ANY($1::bigint[]) AND d.status = 'available'
             AND coalesce(v.class, 'standard') = $2
             AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.driver_id = d.id AND o.booking_id = $3)
             AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.driver_id = d.id
                             AND b.status IN ('assigned', 'arrived', 'in_progress'))""",
        driver_ids,
        vehicle_class,
        booking_id,
    )
    return {r["id"]: r["engaged"] for r in rows}


async def classes_among(conn, driver_ids: list[int]) -> dict[str, tuple[int, int]]:
    """Of these drivers (nearest first), per vehicle class (no vehicle counts as standard):
    the position in the list of its first driver, and how many drive it. At most four rows
    come back, however many drivers go in: a quote that finds nobody of its class reads
    every driver in reach, and only needs the classes."""
    rows = await conn.fetch(
        """SELECT coalesce(v.class, 'standard') AS class, min(u.ord) AS first, count(*) AS n
           FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, ord)
           JOIN drivers d ON d.id = u.id LEFT JOIN vehicles v ON v.id = d.vehicle_id
           GROUP BY 1""",
        driver_ids,
    )
    return {r["class"]: (r["first"] - 1, r["n"]) for r in rows}


# ---------------------------------------------------------------- booking events (the outbox)


@dataclass(frozen=True)
class BookingEvent:
    id: int
    booking_id: int
    action: str
    from_status: str | None
    to_status: str
    actor: str
    actor_id: int | None
    driver_id: int | None
    offer_id: int | None
    reason: str | None
    snapshot: dict
    at: datetime
    # Who may see it live (not stored: read from the booking when the relay publishes).
    customer_id: int | None = None
    offer_driver_id: int | None = None
    offer_expires_at: datetime | None = None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "booking_id": self.booking_id,
            "action": self.action,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "actor": self.actor,
            "reason": self.reason,
            "at": _iso(self.at),
        }


_EVENT_COLUMNS = (
    "id, booking_id, action, from_status, to_status, actor, actor_id, driver_id, offer_id, reason, snapshot, at"
)


def _event(row) -> BookingEvent:
    data = dict(row)
    data["snapshot"] = orjson.loads(data["snapshot"])
    return BookingEvent(**data)


async def record_event(
    conn,
    booking: Booking,
    action: str,
    from_status: BookingStatus | None,
    actor: str,
    actor_id: int | None,
    now: float,
    *,
    driver_id: int | None = None,
    offer_id: int | None = None,
    reason: str | None = None,
) -> int:
    """Store one state change (its time, actor and the booking after it) and wake the relay.

    Call it in the transaction that made the change, after the booking row was updated: the
    row lock orders a booking's events, so their ids are in the order they happened.
    """
    event_id = await conn.fetchval(
        """INSERT INTO booking_events (booking_id, action, from_status, to_status, actor, actor_id, driver_id,
                                       offer_id, reason, snapshot, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id""",
        booking.id,
        action,
        str(from_status) if from_status else None,
        str(booking.status),
        actor,
        actor_id,
        driver_id,
        offer_id,
        reason,
        orjson.dumps(booking.snapshot()).decode(),
        _ts(now),
    )
    await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")  # delivered at commit, dropped on rollback
    return int(event_id)


async def events_of_booking(conn, booking_id: int) -> list[BookingEvent]:
    rows = await conn.fetch(
        f"SELECT {_EVENT_COLUMNS} FROM booking_events WHERE booking_id = $1 ORDER BY id", booking_id
    )
    return [_event(r) for r in rows]


async def try_relay_lock(conn, key: int) -> bool:
    """The outbox relay's session lock: True for the one relay that publishes."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))


async def unpublished_events(conn, limit: int) -> list[BookingEvent]:
    """The outbox, oldest first, with who may see each event."""
    rows = await conn.fetch(
        f"""SELECT {", ".join("e." + c.strip() for c in _EVENT_COLUMNS.split(","))},
                   b.customer_id, o.driver_id AS offer_driver_id, o.expires_at AS offer_expires_at
            FROM booking_events e JOIN bookings b ON b.id = e.booking_id
            LEFT JOIN offers o ON o.id = e.offer_id
            WHERE e.published_at IS NULL ORDER BY e.id LIMIT $1""",
        limit,
    )
    return [_event(r) for r in rows]


async def mark_published(conn, event_ids: list[int], now: float) -> None:
    await conn.execute("UPDATE booking_events SET published_at = $2 WHERE id = ANY($1::bigint[])", event_ids, _ts(now))


# ---------------------------------------------------------------- surge history


async def insert_surge_history(conn, rows: list[tuple[int, float, int, int, int]]) -> None:
    """(cell, at, multiplier tenths, demand, supply) rows; a repeat of the same instant is ignored."""
    if not rows:
        return
    await conn.execute(
        """INSERT INTO surge_history (cell, at, multiplier, demand, supply)
           SELECT c, t, m / 10.0, d, s FROM unnest($1::bigint[], $2::timestamptz[], $3::int[], $4::int[], $5::int[])
             AS u(c, t, m, d, s)
           ON CONFLICT DO NOTHING""",
        [r[0] for r in rows],
        [_ts(r[1]) for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        [r[4] for r in rows],
    )


def unique_violation(error: Exception, index: str) -> bool:
    return isinstance(error, asyncpg.UniqueViolationError) and getattr(error, "constraint_name", None) == index


# ---------------------------------------------------------------- the dispatcher's queue


@dataclass(frozen=True)
class QueueItem:
    booking: Booking
    driver_name: str | None  # the driver holding the ride
    offer_driver_id: int | None  # the driver being asked now
    offer_driver_name: str | None
    offer_expires_at: datetime | None


async def queue(conn, limit: int = 300) -> list[QueueItem]:
    """Bookings a dispatcher watches: waiting for a driver, scheduled, and under way."""
    rows = await conn.fetch(
        f"""SELECT {", ".join("b." + c for c in Booking.__dataclass_fields__)},
                   d.name AS driver_name, o.driver_id AS offer_driver_id, od.name AS offer_driver_name,
                   o.expires_at AS offer_expires_at
            FROM bookings b
            LEFT JOIN drivers d ON d.id = b.driver_id
            LEFT JOIN offers o ON o.booking_id = b.id AND o.status = 'pending'
            LEFT JOIN drivers od ON od.id = o.driver_id
            WHERE b.status IN ('no_driver', 'searching', 'offered', 'scheduled', 'assigned', 'arrived', 'in_progress')
            ORDER BY b.id DESC LIMIT $1""",
        limit,
    )
    items = []
    for row in rows:
        data = dict(row)
        extra = {k: data.pop(k) for k in ("driver_name", "offer_driver_id", "offer_driver_name", "offer_expires_at")}
        items.append(QueueItem(booking=_booking(data), **extra))
    return items


async def recently_ended(conn, since: float, limit: int = 20) -> list[Booking]:
    rows = await conn.fetch(
        f"""SELECT {_BOOKING_COLUMNS} FROM bookings
            WHERE status IN ('completed', 'cancelled') AND ended_at >= $1 ORDER BY ended_at DESC LIMIT $2""",
        _ts(since),
        limit,
    )
    return [_booking(r) for r in rows]
