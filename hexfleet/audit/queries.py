"""The SQL of the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: int | None
    target_label: str
    details: dict


async def insert_entry(
    conn,
    actor_id: int | None,
    actor: str,
    action: str,
    target_type: str,
    target_id: int | None,
    target_label: str,
    details: dict,
) -> None:
    await conn.execute(
        """INSERT INTO audit_log (actor_id, actor, action, target_type, target_id, target_label, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)""",
        actor_id,
        actor,
        str(action),
        target_type,
        target_id,
        target_label,
        json.dumps(details, default=str),
    )


async def recent_entries(conn, limit: int, before_id: int | None) -> list[Entry]:
    """Newest first; ``before_id`` pages back."""
    rows = await conn.fetch(
        """SELECT id, at, actor, action, target_type, target_id, target_label, details FROM audit_log
           WHERE ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $1""",
        limit,
        before_id,
    )
    return [
        Entry(
            r["id"],
            r["at"],
            r["actor"],
            r["action"],
            r["target_type"],
            r["target_id"],
            r["target_label"],
            json.loads(r["details"]),
        )
        for r in rows
    ]
