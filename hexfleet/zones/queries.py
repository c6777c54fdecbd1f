"""All SQL for zones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

from hexfleet.errors import Conflict, NotFound
from hexfleet.zones import rules as zone_rules
from hexfleet.zones.geometry import parse

MAX_ZONES = 1_000  # a city's operator draws dozens; the list and the in-memory cover stay small


@dataclass(frozen=True)
class Zone:
    id: int
    name: str
    kind: str
    geometry: dict
    color: str
    active: bool
    rules: dict
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "geometry": self.geometry,
            "rules": self.rules,
            "active": self.active,
            "color": self.color,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }

    def as_input(self) -> zone_rules.ZoneIn:
        """The stored zone, checked again (stored zones were checked on the way in)."""
        zone, errors = zone_rules.check_zone(
            {
                "name": self.name,
                "kind": self.kind,
                "geometry": self.geometry,
                "rules": self.rules,
                "active": self.active,
                "color": self.color,
            }
        )
        if zone is None:  # only a row written around the API could do this
            raise ValueError(f"zone {self.id} as stored is not valid: {errors}")
        return zone


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


_COLUMNS = "id, name, kind, geometry, color, active, rules, created_at, updated_at"


def _zone(row) -> Zone:
    data = dict(row)
    data["geometry"] = orjson.loads(data["geometry"])
    data["rules"] = orjson.loads(data["rules"])
    return Zone(**data)


def _taken(name: str) -> Conflict:
    return Conflict(f"a zone named {name!r} exists already", code="zone-name-taken")


def _missing(zone_id: int) -> NotFound:
    return NotFound(f"no zone with id {zone_id}", code="zone-not-found")


def _json(value: dict) -> str:
    return orjson.dumps(value).decode()


async def list_zones(conn, *, active_only: bool = False) -> list[Zone]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM zones WHERE active OR NOT $1 ORDER BY lower(name), id LIMIT $2",
        active_only,
        MAX_ZONES,
    )
    return [_zone(r) for r in rows]


async def get_zone(conn, zone_id: int) -> Zone:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM zones WHERE id = $1", zone_id)
    if row is None:
        raise _missing(zone_id)
    return _zone(row)


async def count_zones(conn) -> int:
    return await conn.fetchval("SELECT count(*) FROM zones")


async def existing_ids(conn, ids: list[int]) -> set[int]:
    rows = await conn.fetch("SELECT id FROM zones WHERE id = ANY($1::bigint[])", ids)
    return {r["id"] for r in rows}


async def insert_zone(conn, zone: zone_rules.ZoneIn) -> Zone:
    if await count_zones(conn) >= MAX_ZONES:
        raise Conflict(f"at most {MAX_ZONES} zones: delete some first", code="too-many-zones")
    try:
        row = await conn.fetchrow(
            f"""INSERT INTO zones (name, kind, geometry, color, active, rules)
                VALUES ($1, $2, $3::jsonb, $4, $5, $6::jsonb) RETURNING {_COLUMNS}""",
            zone.name,
            zone.kind,
            _json(zone.shape.geojson),
            zone.color,
            zone.active,
            _json(zone.rules.to_json(zone.kind)),
        )
    except asyncpg.UniqueViolationError:
        raise _taken(zone.name) from None
    return _zone(row)


async def update_zone(conn, zone_id: int, zone: zone_rules.ZoneIn) -> tuple[Zone, Zone]:
    """(before, after); NotFound for an unknown id, Conflict for a name another zone has."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM zones WHERE id = $1 FOR UPDATE", zone_id)
    if row is None:
        raise _missing(zone_id)
    before = _zone(row)
    same = (
        before.name == zone.name
        and before.kind == zone.kind
        and before.geometry == zone.shape.geojson
        and before.color == zone.color
        and before.active == zone.active
        and before.rules == zone.rules.to_json(zone.kind)
    )
    if same:
        return before, before  # nothing changed: updated_at stays
    try:
        row = await conn.fetchrow(
            f"""UPDATE zones SET name = $2, kind = $3, geometry = $4::jsonb, color = $5, active = $6,
                       rules = $7::jsonb, updated_at = now()
                WHERE id = $1 RETURNING {_COLUMNS}""",
            zone_id,
            zone.name,
            zone.kind,
            _json(zone.shape.geojson),
            zone.color,
            zone.active,
            _json(zone.rules.to_json(zone.kind)),
        )
    except asyncpg.UniqueViolationError:
        raise _taken(zone.name) from None
    return before, _zone(row)


async def delete_zone(conn, zone_id: int) -> Zone:
    row = await conn.fetchrow(f"DELETE FROM zones WHERE id = $1 RETURNING {_COLUMNS}", zone_id)
    if row is None:
        raise _missing(zone_id)
    return _zone(row)


async def zones_by_name(conn, names: list[str]) -> dict[str, Zone]:
    """The zones with these names (whatever the case), by lower-case name, locked for an import."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM zones WHERE lower(name) = ANY($1::text[]) ORDER BY id FOR UPDATE",
        [n.lower() for n in names],
    )
    return {r["name"].lower(): _zone(r) for r in rows}


async def active_for_index(conn) -> list[Zone]:
    """The active zones, for the in-memory cover."""
    return await list_zones(conn, active_only=True)


def shape_of(zone: Zone):
    """The stored geometry as a Shape (checked again: cheap next to covering it)."""
    return parse(zone.geometry)
