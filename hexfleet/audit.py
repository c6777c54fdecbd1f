"""The audit log: who changed what in the fleet, for admins to read.

Every admin action (drivers, devices, staff accounts, fares, places; from the pages, the API or
the command line) is recorded in the same transaction as the change it describes, so the
log never claims a change that did not happen nor misses one that did. Details never hold
a secret (tokens and passwords are recorded as "issued", never their values).
"""

from __future__ import annotations

import getpass
import json
import socket
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, or the command line."""

    name: str
    user_id: int | None = None

    @classmethod
    def command_line(cls) -> Actor:
        try:
            who = f"{getpass.getuser()}@{socket.gethostname()}"
        except Exception:  # no login name in some containers: still say where it came from
            who = socket.gethostname()
        return cls(f"command line ({who})")


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


# What each action is called on the page.
LABELS = {
    "driver.create": "added driver",
    "driver.update": "edited driver",
    "driver.deactivate": "deactivated driver",
    "driver.reactivate": "reactivated driver",
    "driver.rotate": "issued new device credentials for",
    "driver.signin_link": "created a driver app sign-in link for",
    "user.create": "added account",
    "user.disable": "disabled account",
    "user.enable": "enabled account",
    "user.reset_password": "reset the password of",
    "user.change_password": "changed the password of",
    "user.token_issue": "issued an API token for",
    "user.token_revoke": "revoked an API token of",
    "user.sign_out": "signed out every session of",
    "fare.set": "set the fare of",
    "place.create": "added place",
    "place.update": "edited place",
    "place.delete": "deleted place",
    "place.import": "imported",
    "zone.create": "added zone",
    "zone.update": "edited zone",
    "zone.delete": "deleted zone",
    "zone.import": "imported",
    "alert.acknowledge": "acknowledged alert",
    "alert.resolve": "resolved alert",
}


async def record(
    conn,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: int | None,
    target_label: str = "",
    details: dict | None = None,
) -> None:
    if action not in LABELS:  # a typo here would hide an action from the log's wording
        raise ValueError(f"unknown audit action {action!r}")
    await conn.execute(
        """INSERT INTO audit_log (actor_id, actor, action, target_type, target_id, target_label, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)""",
        actor.user_id,
        actor.name,
        action,
        target_type,
        target_id,
        target_label,
        json.dumps(details or {}, default=str),
    )


async def recent(conn, limit: int = 50, before_id: int | None = None) -> list[Entry]:
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
