"""All SQL of analytics: duty history, the raw facts of an hour, the rollup tables, and the
reads of rollups over a range that the API and the page use.

Rollup columns are built from ``hexfleet.analytics.totals`` (one list of fields), so a new
figure is a field there and a column in a migration. Hours are UTC hours; ``period_start``
of a day row is UTC midnight.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta

import orjson

from hexfleet.analytics import histogram
from hexfleet.analytics.aggregate import BookingFact, DutyFact, EventFact, HourFacts, OfferFact, QuoteFact
from hexfleet.analytics.duty import OpenRow, Row
from hexfleet.analytics.totals import COUNTS, DRIVER_COUNTS, HISTOGRAMS, DriverTotals, Totals
from hexfleet.geo import cell_of

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
RESOLUTION = 7  # rollup cells
# Advisory lock namespaces (two-key form): a driver's duty history, a day's rollup rows.
LOCK_DUTY = 17_001
LOCK_DAY = 17_002
# Booking events that shape rides' time and outcomes (the rest: offers, links, dispatch).
STORY_ACTIONS = ["accept", "assign", "reassign", "arrive", "start", "complete", "cancel", "release"]


def _cell(stored: int | None, lat: float, lng: float) -> int:
    """A pickup's resolution-7 cell: stored since migration 013, else from its coordinates."""
    return stored if stored is not None else cell_of(lat, lng, RESOLUTION)


# ---------------------------------------------------------------- duty history


async def lock_drivers(conn, driver_ids: list[int]) -> None:
    """Serialise duty-history writes per driver until the transaction ends (tracker batches and
    sweeps may touch one driver at once; each works out later rows from the earlier ones)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashint8(d)) FROM unnest($2::bigint[]) AS d ORDER BY d",
        LOCK_DUTY,
        sorted(set(driver_ids)),
    )


_ROW_COLUMNS = "driver_id, started_at, status, duty, online, cell, vehicle_class, source, ended_at"


def _row(r) -> Row:
    return Row(*(r[c] for c in _ROW_COLUMNS.split(", ")))


async def duty_context(conn, since: Mapping[int, datetime]) -> dict[int, tuple[str, str, Row | None, list[Row]]]:
    """For each known driver: (vehicle class now, duty stored on the driver, the row before
    ``since``, the rows from ``since`` on in order). Unknown drivers are left out."""
    ids, times = list(since), [since[d] for d in since]
    drivers = await conn.fetch(
        f"""SELECT d.id, coalesce(v.class, 'standard') AS class_now, d.status AS duty_now,
                   p.{", p.".join(_ROW_COLUMNS.split(", "))}
            FROM unnest($1::bigint[], $2::timestamptz[]) AS q(driver_id, since)
            JOIN drivers d ON d.id = q.driver_id
            LEFT JOIN vehicles v ON v.id = d.vehicle_id
            LEFT JOIN LATERAL (SELECT * FROM duty_history h WHERE h.driver_id = q.driver_id AND h.started_at < q.since
                               ORDER BY h.started_at DESC LIMIT 1) p ON true""",
        ids,
        times,
    )
    later = await conn.fetch(
        f"""SELECT h.{", h.".join(_ROW_COLUMNS.split(", "))}
            FROM unnest($1::bigint[], $2::timestamptz[]) AS q(driver_id, since)
            JOIN duty_history h ON h.driver_id = q.driver_id AND h.started_at >= q.since
            ORDER BY h.driver_id, h.started_at""",
        ids,
        times,
    )
    rows_after: dict[int, list[Row]] = {}
    for r in later:
        rows_after.setdefault(r["driver_id"], []).append(_row(r))
    out = {}
    for r in drivers:
        before = _row(r) if r["started_at"] is not None else None
        out[r["id"]] = (r["class_now"], r["duty_now"], before, rows_after.get(r["id"], []))
    return out


def _row_args(rows: list[Row]) -> list[list]:
    return [
        [r.driver_id for r in rows],
        [r.started_at for r in rows],
        [r.ended_at for r in rows],
        [r.status for r in rows],
        [r.duty for r in rows],
        [r.online for r in rows],
        [r.cell for r in rows],
        [r.vehicle_class for r in rows],
        [r.source for r in rows],
    ]


_UNNEST_ROWS = """unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[], $6::bool[],
                         $7::bigint[], $8::text[], $9::text[])
                  AS u(driver_id, started_at, ended_at, status, duty, online, cell, vehicle_class, source)"""


async def save_duty_rows(conn, new: list[Row], changed: list[Row]) -> None:
    """Insert new rows (a row already at that instant wins) and rewrite changed ones."""
    if new:
        await conn.execute(
            f"""INSERT INTO duty_history (driver_id, started_at, ended_at, status, duty, online, cell, vehicle_class,
                                          source)
                SELECT * FROM {_UNNEST_ROWS} ON CONFLICT (driver_id, started_at) DO NOTHING""",
            *_row_args(new),
        )
    if changed:
        await conn.execute(
            f"""UPDATE duty_history h SET ended_at = u.ended_at, status = u.status, duty = u.duty, online = u.online,
                                          cell = u.cell, source = u.source
                FROM {_UNNEST_ROWS} WHERE h.driver_id = u.driver_id AND h.started_at = u.started_at""",
            *_row_args(changed),
        )


async def open_duty_rows(conn) -> dict[int, OpenRow | None]:
    """Every driver's current row (None: no row yet): what the tracker's sweep checks."""
    rows = await conn.fetch(
        """SELECT d.id, h.started_at, h.online FROM drivers d
           LEFT JOIN duty_history h ON h.driver_id = d.id AND h.ended_at IS NULL"""
    )
    return {r["id"]: (OpenRow(r["started_at"], r["online"]) if r["started_at"] else None) for r in rows}


async def duty_rows(conn, driver_id: int) -> list[Row]:
    """One driver's whole duty history, oldest first (checks and tests)."""
    rows = await conn.fetch(
        f"SELECT {_ROW_COLUMNS} FROM duty_history WHERE driver_id = $1 ORDER BY started_at", driver_id
    )
    return [_row(r) for r in rows]


# ---------------------------------------------------------------- the facts of one hour


def _booking_fact(r) -> BookingFact:
    return BookingFact(
        id=r["id"],
        demand_at=r["demand_at"],
        scheduled=r["scheduled"],
        status=r["status"],
        vehicle_class=r["vehicle_class"],
        cell=_cell(r["pickup_cell7"], r["pickup_lat"], r["pickup_lng"]),
        driver_id=r["driver_id"],
        cancelled_by=r["cancelled_by"],
        assigned_at=r["assigned_at"],
        arrived_at=r["arrived_at"],
        ended_at=r["ended_at"],
        eta_pickup_s=r["eta_pickup_s"],
        price_minor=r["price_minor"],
        currency=r["currency"],
        distance_m=r["distance_m"],
    )


def _offer_fact(r) -> OfferFact:
    cell = _cell(r["pickup_cell7"], r["pickup_lat"], r["pickup_lng"])
    return OfferFact(r["driver_id"], r["status"], r["created_at"], r["responded_at"], cell, r["vehicle_class"])


def _quote_fact(r) -> QuoteFact:
    cell = cell_of(r["pickup_lat"], r["pickup_lng"], RESOLUTION)
    return QuoteFact(cell, r["vehicle_class"], r["booked"], r["surge_tenths"])


async def hour_facts(conn, start: datetime, end: datetime) -> HourFacts:
    """Everything the rollup of [start, end) reads (hexfleet.analytics.aggregate.HourFacts).
    Never positions: they are pruned after HISTORY_RETENTION_DAYS, rollups are kept for years."""
    bookings = await conn.fetch(
        """SELECT id, coalesce(dispatch_at, created_at) AS demand_at, scheduled_for IS NOT NULL AS scheduled, status,
                  vehicle_class, pickup_cell7, pickup_lat, pickup_lng, driver_id, cancelled_by, assigned_at,
                  arrived_at, ended_at, eta_pickup_s, price_minor, currency, distance_m
           FROM bookings WHERE hf_booking_span(created_at, dispatch_at, ended_at) && tstzrange($1, $2)
           ORDER BY id""",
        start,
        end,
    )
    facts = HourFacts(bookings=[_booking_fact(r) for r in bookings])
    events = await conn.fetch(
        """SELECT id, booking_id, action, driver_id, at FROM booking_events
           WHERE booking_id = ANY($1::bigint[]) AND action = ANY($2::text[]) ORDER BY booking_id, id""",
        [b.id for b in facts.bookings],
        STORY_ACTIONS,
    )
    facts.events = [EventFact(r["id"], r["booking_id"], r["action"], r["driver_id"], r["at"]) for r in events]
    offers = await conn.fetch(
        """SELECT o.driver_id, o.status, o.created_at, o.responded_at, b.pickup_cell7, b.pickup_lat, b.pickup_lng,
                  b.vehicle_class
           FROM offers o JOIN bookings b ON b.id = o.booking_id
           WHERE o.created_at >= $1 AND o.created_at < $2 ORDER BY o.id""",
        start,
        end,
    )
    facts.offers = [_offer_fact(r) for r in offers]
    quotes = await conn.fetch(
        """SELECT pickup_lat, pickup_lng, vehicle_class, used_at IS NOT NULL AS booked,
                  CASE WHEN pickup_at IS NULL THEN surge_tenths END AS surge_tenths
           FROM quotes WHERE created_at >= $1 AND created_at < $2 ORDER BY id""",
        start,
        end,
    )
    facts.quotes = [_quote_fact(r) for r in quotes]
    duty = await conn.fetch(
        """SELECT driver_id, started_at, ended_at, status, cell, vehicle_class FROM duty_history
           WHERE status IN ('available', 'busy') AND tstzrange(started_at, ended_at) && tstzrange($1, $2)
           ORDER BY driver_id, started_at""",
        start,
        end,
    )
    facts.duty = [DutyFact(*r.values()) for r in duty]
    return facts


# ---------------------------------------------------------------- rollup rows: write and read back

CELL_COLUMNS = [*COUNTS, *(f"{h}_{part}" for h in HISTOGRAMS for part in "bn"), "revenue"]
DRIVER_COLUMNS = [*DRIVER_COUNTS, "revenue"]


def _money(revenue: Mapping[str, tuple[int, int]]) -> str:
    return orjson.dumps({c: [m, d] for c, (m, d) in sorted(revenue.items())}).decode()


def _unmoney(text: str | None) -> dict[str, tuple[int, int]]:
    return {c: (int(v[0]), int(v[1])) for c, v in orjson.loads(text or "{}").items()}


def _cell_values(t: Totals) -> list:
    values: list = [getattr(t, c) for c in COUNTS]
    for name in HISTOGRAMS:
        values.extend(histogram.to_arrays(getattr(t, name)))
    values.append(_money(t.revenue))
    return values


def _totals(r) -> Totals:
    t = Totals(**{c: r[c] for c in COUNTS})
    for name in HISTOGRAMS:
        setattr(t, name, histogram.from_arrays(r[f"{name}_b"], r[f"{name}_n"]))
    t.revenue = _unmoney(r["revenue"])
    return t


def _driver_totals(r) -> DriverTotals:
    t = DriverTotals(**{c: r[c] for c in DRIVER_COUNTS})
    t.revenue = _unmoney(r["revenue"])
    return t


async def _replace(conn, table: str, key: list[str], columns: list[str], grain: str, start: datetime, rows: list):
    """Make the table's rows of one period exactly ``rows`` ((key values, column values) pairs):
    upsert each (rows that did not change are not rewritten), delete the period's others."""
    names = ["grain", "period_start", *key, *columns]
    marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns)
    mine = ", ".join(f"{table}.{c}" for c in columns)
    theirs = ", ".join(f"excluded.{c}" for c in columns)
    if rows:
        await conn.executemany(
            f"""INSERT INTO {table} ({", ".join(names)}) VALUES ({marks})
                ON CONFLICT (grain, period_start, {", ".join(key)}) DO UPDATE SET {sets}
                WHERE ({mine}) IS DISTINCT FROM ({theirs})""",
            [[grain, start, *k, *v] for k, v in rows],
        )
    keys = [list(col) for col in zip(*(k for k, _ in rows), strict=True)] if rows else [[] for _ in key]
    types = {"cell": "bigint", "vehicle_class": "text", "driver_id": "bigint"}
    unnest = ", ".join(f"${i + 3}::{types[k]}[]" for i, k in enumerate(key))
    await conn.execute(
        f"""DELETE FROM {table} WHERE grain = $1 AND period_start = $2
            AND ({", ".join(key)}) NOT IN (SELECT * FROM unnest({unnest}))""",
        grain,
        start,
        *keys,
    )


async def replace_cell_rows(conn, grain: str, start: datetime, rows: Mapping[tuple[int, str], Totals]) -> None:
    items = [((cell, vc), _cell_values(t)) for (cell, vc), t in sorted(rows.items())]
    await _replace(conn, "analytics_cells", ["cell", "vehicle_class"], CELL_COLUMNS, grain, start, items)


async def replace_driver_rows(conn, grain: str, start: datetime, rows: Mapping[int, DriverTotals]) -> None:
    items = [
        ((driver,), [*(getattr(t, c) for c in DRIVER_COUNTS), _money(t.revenue)]) for driver, t in sorted(rows.items())
    ]
    await _replace(conn, "analytics_drivers", ["driver_id"], DRIVER_COLUMNS, grain, start, items)


async def cell_rows(conn, grain: str, start: datetime, end: datetime) -> dict[tuple[datetime, int, str], Totals]:
    """Stored rows of one grain with period_start in [start, end), by (period, cell, class)."""
    rows = await conn.fetch(
        f"""SELECT period_start, cell, vehicle_class, {", ".join(CELL_COLUMNS)} FROM analytics_cells
            WHERE grain = $1 AND period_start >= $2 AND period_start < $3""",
        grain,
        start,
        end,
    )
    return {(r["period_start"], r["cell"], r["vehicle_class"]): _totals(r) for r in rows}


async def driver_rows(conn, grain: str, start: datetime, end: datetime) -> dict[tuple[datetime, int], DriverTotals]:
    rows = await conn.fetch(
        f"""SELECT period_start, driver_id, {", ".join(DRIVER_COLUMNS)} FROM analytics_drivers
            WHERE grain = $1 AND period_start >= $2 AND period_start < $3""",
        grain,
        start,
        end,
    )
    return {(r["period_start"], r["driver_id"]): _driver_totals(r) for r in rows}


async def lock_day(conn, day: datetime) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", LOCK_DAY, int(day.timestamp() // 86_400))


# ---------------------------------------------------------------- which hours are up to date


async def claim_hour(conn, hour: datetime) -> None:
    """Lock the hour's bookkeeping row until the transaction ends: one rollup of an hour at a
    time (the cron, a backfill, several workers), and a late fact marking it dirty meanwhile
    waits, so its mark is never lost (it lands after this rollup, which may not have read it)."""
    await conn.execute("INSERT INTO analytics_hours (hour) VALUES ($1) ON CONFLICT (hour) DO NOTHING", hour)
    await conn.execute("SELECT 1 FROM analytics_hours WHERE hour = $1 FOR UPDATE", hour)


async def hour_done(conn, hour: datetime, computed_at: datetime) -> None:
    """After a rollup (in its transaction, the hour claimed): up to date as of ``computed_at``."""
    await conn.execute(
        "UPDATE analytics_hours SET computed_at = $2, dirty_at = NULL WHERE hour = $1", hour, computed_at
    )


async def mark_dirty(conn, hours: Iterable[datetime]) -> int:
    """Late facts touched these closed hours: the cron rolls them up again."""
    wanted = sorted(set(hours))
    if not wanted:
        return 0
    await conn.execute(
        """INSERT INTO analytics_hours (hour, dirty_at) SELECT h, clock_timestamp() FROM unnest($1::timestamptz[]) h
           ORDER BY h ON CONFLICT (hour) DO UPDATE SET dirty_at = excluded.dirty_at""",
        wanted,
    )
    return len(wanted)


async def dirty_hours(conn, before: datetime, limit: int) -> list[datetime]:
    rows = await conn.fetch(
        "SELECT hour FROM analytics_hours WHERE dirty_at IS NOT NULL AND hour < $1 ORDER BY hour LIMIT $2",
        before,
        limit,
    )
    return [r["hour"] for r in rows]


async def final_hours(conn, start: datetime, end: datetime) -> set[datetime]:
    """Hours in [start, end) rolled up after they closed and untouched since (a backfill skips them)."""
    rows = await conn.fetch(
        """SELECT hour FROM analytics_hours WHERE hour >= $1 AND hour < $2
           AND computed_at >= hour + interval '1 hour' AND dirty_at IS NULL""",
        start,
        end,
    )
    return {r["hour"] for r in rows}


async def get_mark(conn, name: str) -> datetime | None:
    return await conn.fetchval("SELECT value FROM analytics_state WHERE name = $1", name)


async def set_mark(conn, name: str, value: datetime) -> None:
    await conn.execute(
        """INSERT INTO analytics_state (name, value) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET value = excluded.value""",
        name,
        value,
    )


async def hours_touched_by_booking_events(conn, since: datetime, before: datetime) -> set[datetime]:
    """Closed hours (before ``before``) whose rows booking events since ``since`` change: the
    hour each changed booking reached dispatch, the hours its offers were made and its quote
    asked for (the quote is now booked), and the hour of the event itself."""
    rows = await conn.fetch(
        """WITH e AS (SELECT DISTINCT booking_id, at FROM booking_events WHERE at >= $1),
                b AS (SELECT DISTINCT booking_id FROM e)
           SELECT h FROM (
             SELECT date_trunc('hour', coalesce(bk.dispatch_at, bk.created_at), 'UTC') AS h
               FROM b JOIN bookings bk ON bk.id = b.booking_id
             UNION SELECT date_trunc('hour', q.created_at, 'UTC')
               FROM b JOIN bookings bk ON bk.id = b.booking_id JOIN quotes q ON q.id = bk.quote_id
             UNION SELECT date_trunc('hour', o.created_at, 'UTC') FROM b JOIN offers o ON o.booking_id = b.booking_id
             UNION SELECT date_trunc('hour', e.at, 'UTC') FROM e
           ) x WHERE h < $2""",
        since,
        before,
    )
    return {r["h"] for r in rows}


# ---------------------------------------------------------------- reads over a range (API, page)


def floor_hour(value: datetime) -> datetime:
    value = value.astimezone(UTC)
    return value.replace(minute=0, second=0, microsecond=0)


def _split(start: datetime, end: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    """[start, end) in hours → (start, d0, d1, end): whole UTC days [d0, d1) read from day rows,
    the hours before and after from hour rows (d0 == d1: hours only)."""
    start, end = floor_hour(start), floor_hour(end)
    d0 = start.replace(hour=0)
    if d0 < start:
        d0 += DAY
    d1 = end.replace(hour=0)
    if d1 <= d0:
        return start, end, end, end  # no whole day: [start, end) from hour rows, the rest empty
    return start, d0, d1, end


_RANGE = """((grain = 'hour' AND ((period_start >= $1 AND period_start < $2)
                                 OR (period_start >= $3 AND period_start < $4)))
             OR (grain = 'day' AND period_start >= $2 AND period_start < $3))"""


def _cell_filter(cells: Iterable[int] | None, first: int) -> tuple[str, list]:
    """SQL for "these cells" (None: the whole-fleet rows) and its argument."""
    if cells is None:
        return "cell = 0", []
    return f"cell = ANY(${first}::bigint[])", [sorted(set(cells))]


async def _merged(
    conn,
    where: str,
    args: list,
    group: str,
    *,
    histograms: Collection[str] = HISTOGRAMS,
    revenue: bool = True,
) -> dict[object, Totals]:
    """Rows of analytics_cells matching ``where`` added up per ``group`` (an SQL expression):
    group → Totals. Only the ``histograms`` named are merged (the others stay empty), and
    revenue only if asked: unnesting them is most of a long range's cost.

    JIT compilation is off for these reads: it took 25–30 ms per query here, to save less."""
    unknown = set(histograms) - set(HISTOGRAMS)
    if unknown:
        raise ValueError(f"no such histograms: {sorted(unknown)}")
    sums = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTS)
    out: dict[object, Totals] = {}
    async with conn.transaction():
        await conn.execute("SET LOCAL jit = off")
        for r in await conn.fetch(f"SELECT {group} AS g, {sums} FROM analytics_cells WHERE {where} GROUP BY 1", *args):
            out[r["g"]] = Totals(**{c: r[c] for c in COUNTS})
        wanted = [h for h in HISTOGRAMS if h in histograms]
        if not wanted and not revenue:
            return out
        # The group of each row is worked out once (a materialised CTE), not once per histogram bucket.
        columns = [f"{h}_{part}" for h in wanted for part in "bn"] + (["revenue"] if revenue else [])
        parts = [
            f"""SELECT g, '{h}' AS h, u.b AS k, sum(u.n)::bigint AS n, 0::bigint AS m, NULL AS c
                FROM src, unnest({h}_b, {h}_n) AS u(b, n) GROUP BY 1, 3"""
            for h in wanted
        ]
        if revenue:
            parts.append(
                """SELECT g, 'revenue' AS h, NULL::int AS k, sum((r.value->>0)::bigint)::bigint AS n,
                          sum((r.value->>1)::bigint)::bigint AS m, r.key AS c
                   FROM src, jsonb_each(revenue) AS r GROUP BY 1, r.key"""
            )
        query = f"""WITH src AS MATERIALIZED (SELECT {group} AS g, {", ".join(columns)} FROM analytics_cells
                                             WHERE {where})
                    {" UNION ALL ".join(parts)}"""
        for r in await conn.fetch(query, *args):
            totals = out.setdefault(r["g"], Totals())
            if r["h"] == "revenue":
                totals.revenue[r["c"]] = (r["n"], r["m"])
            else:
                getattr(totals, r["h"])[r["k"]] = r["n"]
    return out


async def range_totals(
    conn, start: datetime, end: datetime, *, vehicle_class: str | None = None, cells: Iterable[int] | None = None
) -> Totals:
    """Everything in the hours starting in [start, end) (rounded down to hours), added up: the
    whole fleet, or the given resolution-7 cells (a bounding box's), one class or all."""
    where, extra = _cell_filter(cells, 6)
    found = await _merged(
        conn,
        f"{_RANGE} AND ($5::text IS NULL OR vehicle_class = $5) AND {where}",
        [*_split(start, end), vehicle_class, *extra],
        "0",
    )
    return found.get(0, Totals())


async def series(
    conn,
    start: datetime,
    end: datetime,
    bucket: str,
    tz: str,
    *,
    vehicle_class: str | None = None,
    cells: Iterable[int] | None = None,
    histograms: Collection[str] = HISTOGRAMS,
    revenue: bool = True,
) -> list[tuple[datetime, Totals]]:
    """Totals per hour or per day (``bucket``) as days run in the IANA zone ``tz``, oldest
    first; buckets with nothing in them are left out. An hour belongs to the bucket its start
    falls in (in a zone with a half-hour offset, a local day gathers the hours starting in it).
    Read from hour rows; name only the ``histograms`` a chart needs (``()`` for none), and
    ``revenue=False`` without money: a long range is much faster so."""
    if bucket not in ("hour", "day"):
        raise ValueError("bucket must be hour or day")
    where, extra = _cell_filter(cells, 6)
    found = await _merged(
        conn,
        f"""grain = 'hour' AND period_start >= $1 AND period_start < $2 AND ($3::text IS NULL OR vehicle_class = $3)
            AND {where}""",
        [floor_hour(start), floor_hour(end), vehicle_class, bucket, tz, *extra],
        "date_trunc($4, period_start, $5)",
        histograms=histograms,
        revenue=revenue,
    )
    return sorted(found.items())  # type: ignore[arg-type]  # the groups are datetimes


async def per_cell(
    conn,
    start: datetime,
    end: datetime,
    *,
    vehicle_class: str | None = None,
    cells: Iterable[int] | None = None,
    histograms: Collection[str] = (),
    revenue: bool = False,
) -> dict[int, Totals]:
    """Totals per resolution-7 cell over the hours starting in [start, end) (cells with
    nothing are left out); ``cells`` limits them (a bounding box's). The map's layers need
    counts and hours only: name ``histograms`` (and ``revenue=True``) to have them too."""
    where, extra = _cell_filter(cells, 6)
    if cells is None:
        where = "cell <> 0"
    return await _merged(
        conn,
        f"{_RANGE} AND ($5::text IS NULL OR vehicle_class = $5) AND {where}",
        [*_split(start, end), vehicle_class, *extra],
        "cell",
        histograms=histograms,
        revenue=revenue,
    )  # type: ignore[return-value]  # the groups are cells


async def per_driver(conn, start: datetime, end: datetime) -> list[tuple[int, str | None, DriverTotals]]:
    """(driver id, name — None for a driver since deleted, totals) of every driver with anything
    in the hours starting in [start, end), by driver id."""
    sums = ", ".join(f"sum(a.{c})::bigint AS {c}" for c in DRIVER_COUNTS)
    async with conn.transaction():
        await conn.execute("SET LOCAL jit = off")
        return await _per_driver(conn, start, end, sums)


async def _per_driver(conn, start: datetime, end: datetime, sums: str) -> list[tuple[int, str | None, DriverTotals]]:
    rows = await conn.fetch(
        f"""SELECT a.driver_id, d.name, {sums} FROM analytics_drivers a LEFT JOIN drivers d ON d.id = a.driver_id
            WHERE {_RANGE} GROUP BY a.driver_id, d.name ORDER BY a.driver_id""",
        *_split(start, end),
    )
    money = await conn.fetch(
        f"""SELECT a.driver_id, r.key, sum((r.value->>0)::bigint)::bigint AS minor,
                   sum((r.value->>1)::bigint)::bigint AS metres
            FROM analytics_drivers a, jsonb_each(a.revenue) AS r
            WHERE {_RANGE} GROUP BY 1, 2""",
        *_split(start, end),
    )
    out = {r["driver_id"]: (r["driver_id"], r["name"], DriverTotals(**{c: r[c] for c in DRIVER_COUNTS})) for r in rows}
    for r in money:
        out[r["driver_id"]][2].revenue[r["key"]] = (r["minor"], r["metres"])
    return list(out.values())


async def per_cell_at(
    conn, hours: Collection[datetime], *, vehicle_class: str | None = None, cells: Iterable[int] | None = None
) -> dict[int, Totals]:
    """Like ``per_cell``, over the given UTC hours only (the map's hour-of-week slider: every
    Monday 08:00 of the range), counts and hours only."""
    where, extra = _cell_filter(cells, 3)
    if cells is None:
        where = "cell <> 0"
    return await _merged(
        conn,
        f"""grain = 'hour' AND period_start = ANY($1::timestamptz[]) AND ($2::text IS NULL OR vehicle_class = $2)
            AND {where}""",
        [sorted(hours), vehicle_class, *extra],
        "cell",
        histograms=(),
        revenue=False,
    )  # type: ignore[return-value]  # the groups are cells


async def requests_at(conn, hours: Collection[datetime]) -> dict[tuple[datetime, int], int]:
    """Requests per (UTC hour, resolution-7 cell) in the given hours, every class: the outlook's history."""
    rows = await conn.fetch(
        """SELECT period_start, cell, sum(requests)::bigint AS n FROM analytics_cells
           WHERE grain = 'hour' AND period_start = ANY($1::timestamptz[]) AND cell <> 0
           GROUP BY 1, 2 HAVING sum(requests) > 0""",
        sorted(hours),
    )
    return {(r["period_start"], r["cell"]): r["n"] for r in rows}


async def rolled_up(conn, hours: Collection[datetime]) -> set[datetime]:
    """Which of the given hours were ever rolled up (an hour with no rows then had nothing)."""
    rows = await conn.fetch(
        "SELECT hour FROM analytics_hours WHERE hour = ANY($1::timestamptz[]) AND computed_at IS NOT NULL",
        sorted(hours),
    )
    return {r["hour"] for r in rows}
