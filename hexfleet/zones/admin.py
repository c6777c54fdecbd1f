"""Changing zones: add, edit, delete, import. Each change and its audit entry share a transaction
(nothing half-saved); after the commit every process is told (``announce``), so quotes and the
tracker use the new zones at once.

The API, the editor page and the demo seed call these with what they touch as arguments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from hexfleet import audit
from hexfleet.errors import Invalid
from hexfleet.places.imports import ImportInvalid, RowError
from hexfleet.zones import queries
from hexfleet.zones.rules import ZoneIn

Announce = Callable[[], Awaitable[None]]
AUDIT_NAMES = 50  # names an import's audit entry lists (the counts are always complete)


def _summary(zone: ZoneIn) -> dict:
    """What the log says of a zone: everything but the coordinates, which it counts (a drawn
    outline has thousands; the delete entry keeps them all so the log alone can put it back)."""
    geometry = zone.shape.geojson
    shape = geometry if geometry["type"] == "Circle" else {"type": geometry["type"], "vertices": zone.shape.vertices}
    return {
        "kind": zone.kind,
        "geometry": shape,
        "rules": zone.rules.to_json(zone.kind),
        "active": zone.active,
        "color": zone.color,
    }


def _changes(before: ZoneIn, after: ZoneIn) -> dict:
    old, new = _summary(before), _summary(after)
    changes = {k: [old[k], new[k]] for k in new if old[k] != new[k]}
    if before.name != after.name:
        changes["name"] = [before.name, after.name]
    if before.shape.geojson != after.shape.geojson and "geometry" not in changes:
        changes["geometry"] = ["moved", "moved"]  # same type and vertex count, other positions
    return changes


async def _check_references(conn, zones: list[ZoneIn], known: set[int] | None = None) -> None:
    """Fixed fares name zones that exist (a typo in an id would never price anything)."""
    wanted = sorted({f.other_zone_id for z in zones for f in z.rules.fixed_fares} - (known or set()))
    if not wanted:
        return
    missing = sorted(set(wanted) - await queries.existing_ids(conn, wanted))
    if missing:
        error = Invalid(f"rules.fixed_fares: no zone with id {', '.join(map(str, missing[:10]))}", code="invalid-zone")
        error.extra = {"errors": {"rules.fixed_fares": f"no zone with id {', '.join(map(str, missing[:10]))}"}}
        raise error


async def create(pool, actor: audit.Actor, zone: ZoneIn, announce: Announce) -> queries.Zone:
    async with pool.acquire() as conn, conn.transaction():
        await _check_references(conn, [zone])
        saved = await queries.insert_zone(conn, zone)
        await audit.record(conn, actor, audit.Action.ZONE_CREATE, "zone", saved.id, saved.name, _summary(zone))
    await announce()
    return saved


async def update(pool, actor: audit.Actor, zone_id: int, zone: ZoneIn, announce: Announce) -> queries.Zone:
    async with pool.acquire() as conn, conn.transaction():
        await _check_references(conn, [zone])
        before, after = await queries.update_zone(conn, zone_id, zone)
        changes = _changes(before.as_input(), zone) if after is not before else {}
        if changes:
            await audit.record(conn, actor, audit.Action.ZONE_UPDATE, "zone", zone_id, after.name, changes)
    if changes:
        await announce()
    return after


async def delete(pool, actor: audit.Actor, zone_id: int, announce: Announce) -> queries.Zone:
    async with pool.acquire() as conn, conn.transaction():
        gone = await queries.delete_zone(conn, zone_id)
        details = {**_summary(gone.as_input()), "geometry": gone.geometry}
        await audit.record(conn, actor, audit.Action.ZONE_DELETE, "zone", zone_id, gone.name, details)
    await announce()
    return gone


def _names(names: list[str]) -> str:
    more = len(names) - AUDIT_NAMES
    return ", ".join(names[:AUDIT_NAMES]) + (f" and {more} more" if more > 0 else "")


async def import_zones(pool, actor: audit.Actor, zones: list[ZoneIn], source: str, announce: Announce) -> dict:
    """Add or update every zone (by name, whatever the case), all in one transaction:
    {added, updated, unchanged}. A zone named twice in one file is refused before this. Fixed
    fares may name their other zone (``to_zone``/``from_zone``): one of the file or one stored."""
    added: list[str] = []
    updated: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        stored = await queries.zones_by_name(conn, [z.name for z in zones])
        ids = {key: zone.id for key, zone in stored.items()}
        # New zones first, without their fixed fares: a fare may name a zone later in the file.
        fresh: dict[str, int] = {}
        for zone in zones:
            key = zone.name.lower()
            if key not in stored:
                saved = await queries.insert_zone(conn, replace(zone, rules=replace(zone.rules, fixed_fares=())))
                ids[key] = fresh[key] = saved.id
                added.append(zone.name)
        named = {f.other_zone_name.lower() for z in zones for f in z.rules.fixed_fares if f.other_zone_name}
        if named - ids.keys():
            others = await queries.zones_by_name(conn, sorted(named - ids.keys()))
            ids.update({key: zone.id for key, zone in others.items()})
        resolved = _resolve(zones, ids)
        await _check_references(conn, resolved)
        for zone in resolved:
            key = zone.name.lower()
            if key in fresh:
                if zone.rules.fixed_fares:
                    await queries.update_zone(conn, fresh[key], zone)
                continue
            before, after = await queries.update_zone(conn, stored[key].id, zone)
            if after is not before:
                updated.append(zone.name)
        counts = {"added": len(added), "updated": len(updated), "unchanged": len(zones) - len(added) - len(updated)}
        details = {**counts, "source": source, "added_names": _names(added), "updated_names": _names(updated)}
        await audit.record(conn, actor, audit.Action.ZONE_IMPORT, "zone", None, f"{len(zones)} zones", details)
    if added or updated:
        await announce()
    return counts


def _resolve(zones: list[ZoneIn], ids: dict[str, int]) -> list[ZoneIn]:
    """Fixed fares with the ids of the zones they name; ImportInvalid for a name nobody has."""
    errors: list[RowError] = []
    resolved = []
    for number, zone in enumerate(zones, start=1):
        fares = []
        for i, fare in enumerate(zone.rules.fixed_fares):
            if fare.other_zone_name is None:
                fares.append(fare)
                continue
            other = ids.get(fare.other_zone_name.lower())
            if other is None:
                end = "to_zone" if fare.outbound else "from_zone"
                message = f"no zone named {fare.other_zone_name!r}, in the file or stored"
                errors.append(RowError("feature", number, f"rules.fixed_fares[{i}].{end}", message))
                continue
            fares.append(replace(fare, other_zone_id=other, other_zone_name=None))
        resolved.append(replace(zone, rules=replace(zone.rules, fixed_fares=tuple(fares))))
    if errors:
        raise ImportInvalid(errors)  # rolls the transaction back: nothing was saved
    return resolved
