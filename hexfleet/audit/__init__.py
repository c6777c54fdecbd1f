"""The audit log: who changed what in the fleet, for admins to read.

Every admin action (drivers, devices, staff accounts, fares, places; from the pages, the API or
the command line) is recorded in the same transaction as the change it describes, so the
log never claims a change that did not happen nor misses one that did. Details never hold
a secret (tokens and passwords are recorded as "issued", never their values).
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass

from hexfleet.audit import queries
from hexfleet.audit.actions import LABELS, Action
from hexfleet.audit.queries import Entry

__all__ = ["LABELS", "Action", "Actor", "Entry", "recent", "record"]


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


async def record(
    conn,
    actor: Actor,
    action: Action,
    target_type: str,
    target_id: int | None,
    target_label: str = "",
    details: dict | None = None,
) -> None:
    if action not in LABELS:  # a typo here would hide an action from the log's wording
        raise ValueError(f"unknown audit action {action!r}")
    await queries.insert_entry(
        conn, actor.user_id, actor.name, action, target_type, target_id, target_label, details or {}
    )


async def recent(conn, limit: int = 50, before_id: int | None = None) -> list[Entry]:
    """Newest first; ``before_id`` pages back."""
    return await queries.recent_entries(conn, limit, before_id)
