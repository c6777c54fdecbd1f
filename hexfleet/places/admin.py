"""Changing places: add, edit, delete, import. Each change and its audit entry share a
transaction; after the commit every process is told (``announce``), so ride labels follow at once.

The admin page, the API and the demo seed call these with what they touch as arguments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hexfleet import audit
from hexfleet.places import queries
from hexfleet.places.rules import PlaceIn

Announce = Callable[[], Awaitable[None]]
# Names an import's audit entry lists (the counts are always complete).
AUDIT_NAMES = 50


def _changes(before: PlaceIn, after: PlaceIn) -> dict:
    old, new = before.to_json(), after.to_json()
    return {k: [old[k], new[k]] for k in new if old[k] != new[k]}


def _names(names: list[str]) -> str:
    more = len(names) - AUDIT_NAMES
    return ", ".join(names[:AUDIT_NAMES]) + (f" and {more} more" if more > 0 else "")


async def create(pool, actor: audit.Actor, place: PlaceIn, announce: Announce) -> queries.Place:
    async with pool.acquire() as conn, conn.transaction():
        saved = await queries.insert_place(conn, place)
        details = {k: v for k, v in place.to_json().items() if k != "name"}
        await audit.record(conn, actor, audit.Action.PLACE_CREATE, "place", saved.id, saved.name, details)
    await announce()
    return saved


async def update(pool, actor: audit.Actor, place_id: int, place: PlaceIn, announce: Announce) -> queries.Place:
    async with pool.acquire() as conn, conn.transaction():
        before, after = await queries.update_place(conn, place_id, place)
        changes = _changes(before.as_input(), after.as_input())
        if changes:
            await audit.record(conn, actor, audit.Action.PLACE_UPDATE, "place", place_id, after.name, changes)
    if changes:
        await announce()
    return after


async def delete(pool, actor: audit.Actor, place_id: int, announce: Announce) -> queries.Place:
    async with pool.acquire() as conn, conn.transaction():
        gone = await queries.delete_place(conn, place_id)
        # What it was, so the log alone can put it back.
        await audit.record(
            conn, actor, audit.Action.PLACE_DELETE, "place", place_id, gone.name, gone.as_input().to_json()
        )
    await announce()
    return gone


async def import_places(
    pool, actor: audit.Actor, places: list[PlaceIn], source: str, announce: Announce
) -> dict[str, int]:
    """Add or update every place (by name), all in one transaction: {added, updated, unchanged}."""
    async with pool.acquire() as conn, conn.transaction():
        added, updated = await queries.upsert_places(conn, places)
        counts = {"added": len(added), "updated": len(updated), "unchanged": len(places) - len(added) - len(updated)}
        details = {
            **counts,
            "source": source,
            # One text each (the log shows a pair of values as a change from one to the other).
            "added_names": _names(added),
            "updated_names": _names(updated),
        }
        await audit.record(conn, actor, audit.Action.PLACE_IMPORT, "place", None, f"{len(places)} places", details)
    if added or updated:
        await announce()
    return counts
