"""All SQL of the alerts desk: alerts, their events (the outbox), anchors, and the booking state
the rules read."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from hexfleet.alerts.judge import Unresolved
from hexfleet.alerts.rules import LABELS, URGENCY, Anchor, Finding, HeldRide, OpenBooking, Rule, Severity
from hexfleet.rides.queries import OUTBOX_CHANNEL

MAX_LIST = 500


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


@dataclass(frozen=True)
class Alert:
    id: int
    rule: str
    subject_kind: str
    subject_id: int
    occurrence: str
    severity: str
    state: str
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    acknowledged_by_email: str | None
    ack_note: str | None
    resolved_at: datetime | None
    resolution: str | None
    details: dict

    def to_json(self) -> dict:
        """The alert as the API, the stream and the panel show it."""
        return {
            "id": self.id,
            "rule": self.rule,
            "label": LABELS.get(Rule(self.rule), self.rule) if self.rule in set(Rule) else self.rule,
            "severity": self.severity,
            "state": self.state,
            "subject": {"kind": self.subject_kind, "id": self.subject_id},
            "booking_id": self.details.get("booking_id"),
            "driver_id": self.details.get("driver_id"),
            "summary": self.details.get("summary", ""),
            "raised_at": _iso(self.raised_at),
            "acknowledged_at": _iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by_email,
            "note": self.ack_note,
            "resolved_at": _iso(self.resolved_at),
            "resolution": self.resolution,
            "details": self.details,
        }


_COLUMNS = """a.id, a.rule, a.subject_kind, a.subject_id, a.occurrence, a.severity, a.state, a.raised_at,
              a.acknowledged_at, a.acknowledged_by, u.email AS acknowledged_by_email, a.ack_note, a.resolved_at,
              a.resolution, a.details"""
_FROM = "alerts a LEFT JOIN users u ON u.id = a.acknowledged_by"


def _alert(row) -> Alert:
    data = dict(row)
    data["details"] = orjson.loads(data["details"])
    return Alert(**data)


async def _one(conn, alert_id: int) -> Alert | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.id = $1", alert_id)
    return _alert(row) if row else None


async def get_alert(conn, alert_id: int) -> Alert | None:
    return await _one(conn, alert_id)


def urgency_key(alert: Alert) -> tuple:
    """Open before acknowledged before resolved; then the most severe; then the newest."""
    state_rank = {"open": 0, "acknowledged": 1, "resolved": 2}.get(alert.state, 3)
    return (state_rank, URGENCY.get(Severity(alert.severity), 9), -alert.raised_at.timestamp(), -alert.id)


async def list_alerts(conn, states: Sequence[str], limit: int = 100) -> list[Alert]:
    """The alerts in ``states``, most urgent and newest first (resolved ones: the latest resolved)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM {_FROM} WHERE a.state = ANY($1::text[])
            ORDER BY coalesce(a.resolved_at, a.raised_at) DESC, a.id DESC LIMIT $2""",
        list(states),
        min(limit, MAX_LIST),
    )
    return sorted((_alert(r) for r in rows), key=urgency_key)


async def count_by_state(conn) -> dict[str, int]:
    rows = await conn.fetch("SELECT state, count(*) AS n FROM alerts WHERE state <> 'resolved' GROUP BY state")
    counts = {"open": 0, "acknowledged": 0}
    counts.update({r["state"]: r["n"] for r in rows})
    return counts


async def unresolved(conn) -> list[Unresolved]:
    rows = await conn.fetch(
        "SELECT id, rule, subject_kind, subject_id, occurrence FROM alerts WHERE state <> 'resolved' ORDER BY id"
    )
    return [Unresolved(r["id"], r["rule"], r["subject_kind"], r["subject_id"], r["occurrence"]) for r in rows]


async def record_event(conn, alert: Alert, action: str, now: float) -> int:
    """The change's outbox row, in the transaction that made it (the relay publishes it after the commit)."""
    event_id = await conn.fetchval(
        "INSERT INTO alert_events (alert_id, action, snapshot, at) VALUES ($1, $2, $3, $4) RETURNING id",
        alert.id,
        action,
        orjson.dumps(alert.to_json()).decode(),
        _dt(now),
    )
    await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")  # delivered at commit, dropped on rollback
    return int(event_id)


async def insert_alert(conn, finding: Finding, now: float) -> Alert | None:
    """Raise it; None when this occurrence was raised before (resolved or not) or another alert of
    its rule and subject is unresolved."""
    alert_id = await conn.fetchval(
        """INSERT INTO alerts (rule, subject_kind, subject_id, occurrence, severity, raised_at, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) ON CONFLICT DO NOTHING RETURNING id""",
        str(finding.rule),
        finding.subject_kind,
        finding.subject_id,
        finding.occurrence,
        str(finding.severity),
        _dt(now),
        orjson.dumps(finding.details).decode(),
    )
    return await _one(conn, alert_id) if alert_id is not None else None


async def resolve_alert(conn, alert_id: int, resolution: str, now: float) -> Alert | None:
    """Resolve it unless it is already (None then: another desk got there first)."""
    done = await conn.fetchval(
        """UPDATE alerts SET state = 'resolved', resolved_at = $2, resolution = $3
           WHERE id = $1 AND state <> 'resolved' RETURNING id""",
        alert_id,
        _dt(now),
        resolution,
    )
    return await _one(conn, alert_id) if done is not None else None


async def acknowledge_alert(conn, alert_id: int, user_id: int | None, note: str | None, now: float) -> Alert | None:
    """Acknowledge an open alert; None when it is not open (the caller tells 404 from 409)."""
    done = await conn.fetchval(
        """UPDATE alerts SET state = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3, ack_note = $4
           WHERE id = $1 AND state = 'open' RETURNING id""",
        alert_id,
        _dt(now),
        user_id,
        note,
    )
    return await _one(conn, alert_id) if done is not None else None


# ---------------------------------------------------------------- the outbox


@dataclass(frozen=True)
class AlertEvent:
    id: int
    alert_id: int
    action: str
    snapshot: dict
    at: datetime


async def unpublished_events(conn, limit: int) -> list[AlertEvent]:
    rows = await conn.fetch(
        "SELECT id, alert_id, action, snapshot, at FROM alert_events WHERE published_at IS NULL ORDER BY id LIMIT $1",
        limit,
    )
    return [AlertEvent(r["id"], r["alert_id"], r["action"], orjson.loads(r["snapshot"]), r["at"]) for r in rows]


async def mark_published(conn, event_ids: list[int], now: float) -> None:
    await conn.execute("UPDATE alert_events SET published_at = $2 WHERE id = ANY($1::bigint[])", event_ids, _dt(now))


async def events_of_alert(conn, alert_id: int) -> list[AlertEvent]:
    rows = await conn.fetch(
        "SELECT id, alert_id, action, snapshot, at FROM alert_events WHERE alert_id = $1 ORDER BY id", alert_id
    )
    return [AlertEvent(r["id"], r["alert_id"], r["action"], orjson.loads(r["snapshot"]), r["at"]) for r in rows]


# ---------------------------------------------------------------- anchors


async def anchors(conn) -> dict[int, Anchor]:
    rows = await conn.fetch("SELECT driver_id, lat, lng, since FROM alert_anchors")
    return {r["driver_id"]: Anchor(r["lat"], r["lng"], r["since"].timestamp()) for r in rows}


async def save_anchors(conn, changed: dict[int, Anchor], keep: Iterable[int]) -> None:
    """Write the anchors that changed; forget every driver not in ``keep`` (no longer watched)."""
    if changed:
        await conn.executemany(
            """INSERT INTO alert_anchors (driver_id, lat, lng, since) VALUES ($1, $2, $3, $4)
               ON CONFLICT (driver_id) DO UPDATE SET lat = excluded.lat, lng = excluded.lng, since = excluded.since""",
            [(d, a.lat, a.lng, _dt(a.since)) for d, a in changed.items()],
        )
    await conn.execute("DELETE FROM alert_anchors WHERE NOT (driver_id = ANY($1::bigint[]))", sorted(set(keep)))


# ---------------------------------------------------------------- the state the rules read


async def open_bookings(conn) -> list[OpenBooking]:
    """Bookings looking for a driver. A search's start: search_started_at (older rows: when they
    reached dispatch)."""
    rows = await conn.fetch(
        """SELECT id, status, coalesce(search_started_at, dispatch_at, created_at) AS started, pickup_lat, pickup_lng
           FROM bookings WHERE status IN ('searching', 'offered') ORDER BY id"""
    )
    return [OpenBooking(r["id"], r["status"], r["started"].timestamp(), r["pickup_lat"], r["pickup_lng"]) for r in rows]


async def held_rides(conn) -> list[HeldRide]:
    rows = await conn.fetch(
        """SELECT id, status, driver_id, assigned_at, started_at, eta_pickup_s, pickup_lat, pickup_lng
           FROM bookings WHERE status IN ('assigned', 'arrived', 'in_progress') AND driver_id IS NOT NULL
           ORDER BY id"""
    )
    return [
        HeldRide(
            r["id"],
            r["status"],
            r["driver_id"],
            _ts(r["assigned_at"]),
            _ts(r["started_at"]),
            r["eta_pickup_s"],
            r["pickup_lat"],
            r["pickup_lng"],
        )
        for r in rows
    ]


async def booking_statuses(conn, booking_ids: list[int]) -> dict[int, str]:
    if not booking_ids:
        return {}
    rows = await conn.fetch("SELECT id, status FROM bookings WHERE id = ANY($1::bigint[])", booking_ids)
    return {r["id"]: r["status"] for r in rows}
