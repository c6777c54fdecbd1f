"""All SQL for places."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from hexfleet.errors import Conflict, NotFound
from hexfleet.places.labels import LabelPlace
from hexfleet.places.ranking import normalise_query
from hexfleet.places.rules import PlaceIn

# Candidates a search reads before ranking: far more than a page of results, few enough to rank
# in well under a millisecond.
SEARCH_CANDIDATES = 200
# A word this similar (pg_trgm word_similarity) is a candidate: "Alexandrplatz" scores 0.71
# against Alexanderplatz, "Hauptbanhof" 0.67 against Hauptbahnhof. (The default, 0.6, misses
# two typos in a short word.)
SIMILARITY_THRESHOLD = 0.5


@dataclass(frozen=True)
class Place:
    id: int
    name: str
    category: str
    address: str
    lat: float
    lng: float
    aliases: tuple[str, ...]
    active: bool
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "address": self.address,
            "lat": self.lat,
            "lng": self.lng,
            "aliases": list(self.aliases),
            "active": self.active,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "updated_at": self.updated_at.isoformat().replace("+00:00", "Z"),
        }

    def as_input(self) -> PlaceIn:
        return PlaceIn(self.name, self.category, self.address, self.lat, self.lng, self.aliases, self.active)


_COLUMNS = "id, name, category, address, lat, lng, aliases, active, created_at, updated_at"


def _place(row) -> Place:
    data = dict(row)
    data.pop("similarity", None)
    data["aliases"] = tuple(data["aliases"])
    return Place(**data)


def _taken(place: PlaceIn) -> Conflict:
    return Conflict(f"a place named {place.name!r} exists already", code="place-name-taken")


async def get_place(conn, place_id: int) -> Place:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM places WHERE id = $1", place_id)
    if row is None:
        raise NotFound(f"no place with id {place_id}", code="place-not-found")
    return _place(row)


async def insert_place(conn, place: PlaceIn) -> Place:
    try:
        row = await conn.fetchrow(
            f"""INSERT INTO places (name, category, address, lat, lng, aliases, active)
                VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}""",
            place.name,
            place.category,
            place.address,
            place.lat,
            place.lng,
            list(place.aliases),
            place.active,
        )
    except asyncpg.UniqueViolationError:
        raise _taken(place) from None
    return _place(row)


async def update_place(conn, place_id: int, place: PlaceIn) -> tuple[Place, Place]:
    """(before, after); NotFound for an unknown id, Conflict for a name another place has."""
    before_row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM places WHERE id = $1 FOR UPDATE", place_id)
    if before_row is None:
        raise NotFound(f"no place with id {place_id}", code="place-not-found")
    before = _place(before_row)
    if before.as_input() == place:
        return before, before  # nothing changed: updated_at stays
    try:
        row = await conn.fetchrow(
            f"""UPDATE places SET name = $2, category = $3, address = $4, lat = $5, lng = $6, aliases = $7,
                       active = $8, updated_at = now()
                WHERE id = $1 RETURNING {_COLUMNS}""",
            place_id,
            place.name,
            place.category,
            place.address,
            place.lat,
            place.lng,
            list(place.aliases),
            place.active,
        )
    except asyncpg.UniqueViolationError:
        raise _taken(place) from None
    return before, _place(row)


async def delete_place(conn, place_id: int) -> Place:
    row = await conn.fetchrow(f"DELETE FROM places WHERE id = $1 RETURNING {_COLUMNS}", place_id)
    if row is None:
        raise NotFound(f"no place with id {place_id}", code="place-not-found")
    return _place(row)


async def upsert_places(conn, places: list[PlaceIn]) -> tuple[list[str], list[str]]:
    """Add each place, or update the one with its name (whatever the case): (names added, names
    changed). Places the same as stored are left as they are. One statement for the whole list."""
    if not places:
        return [], []
    rows = await conn.fetch(
        """INSERT INTO places (name, category, address, lat, lng, aliases, active)
           SELECT n, c, a, la, ln, string_to_array(al, '|'), ac
           FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[], $7::bool[])
             AS u(n, c, a, la, ln, al, ac)
           ON CONFLICT ((lower(name))) DO UPDATE SET
             name = EXCLUDED.name, category = EXCLUDED.category, address = EXCLUDED.address,
             lat = EXCLUDED.lat, lng = EXCLUDED.lng, aliases = EXCLUDED.aliases, active = EXCLUDED.active,
             updated_at = now()
           WHERE (places.name, places.category, places.address, places.lat, places.lng, places.aliases,
                  places.active)
             IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.category, EXCLUDED.address, EXCLUDED.lat, EXCLUDED.lng,
                               EXCLUDED.aliases, EXCLUDED.active)
           RETURNING name, (xmax = 0) AS added""",
        *_columns(places),
    )
    return [r["name"] for r in rows if r["added"]], [r["name"] for r in rows if not r["added"]]


async def add_missing_places(conn, places: list[PlaceIn]) -> list[str]:
    """Add the places whose name (whatever its case) is not taken; a place an admin edited or
    deleted and added again is never overwritten. The names added."""
    rows = await conn.fetch(
        """INSERT INTO places (name, category, address, lat, lng, aliases, active)
           SELECT n, c, a, la, ln, string_to_array(al, '|'), ac
           FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[], $7::bool[])
             AS u(n, c, a, la, ln, al, ac)
           ON CONFLICT ((lower(name))) DO NOTHING RETURNING name""",
        *_columns(places),
    )
    return [r["name"] for r in rows]


def _columns(places: list[PlaceIn]) -> list[list]:
    """Column arrays for unnest(); aliases as one text each (they never hold "|", rules.py)."""
    return [
        [p.name for p in places],
        [p.category for p in places],
        [p.address for p in places],
        [p.lat for p in places],
        [p.lng for p in places],
        ["|".join(p.aliases) for p in places],
        [p.active for p in places],
    ]


async def search_places(
    conn, query: str, near: tuple[float, float], *, include_inactive: bool = False, limit: int = SEARCH_CANDIDATES
) -> list[tuple[Place, float]]:
    """Candidates for ``query`` with their similarity (ranking.rank orders them): a prefix of a
    word anywhere in the name or an alias, or a close spelling. With no query, the places
    nearest to ``near``."""
    text = normalise_query(query)
    if not text:
        rows = await conn.fetch(
            f"""SELECT {_COLUMNS}, 0.0::real AS similarity FROM places WHERE active OR $3
                -- Flat distance: enough to pick the nearest few, which ranking measures exactly.
                ORDER BY (lat - $1) ^ 2 + ((lng - $2) * cos(radians($1))) ^ 2, id LIMIT $4""",
            near[0],
            near[1],
            include_inactive,
            limit,
        )
        return [(_place(r), float(r["similarity"])) for r in rows]
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    async with conn.transaction():
        # For <% (word_similarity above the threshold, answered from the trigram index): this
        # transaction only.
        await conn.execute(f"SET LOCAL pg_trgm.word_similarity_threshold = {SIMILARITY_THRESHOLD}")
        rows = await conn.fetch(
            f"""SELECT {_COLUMNS}, word_similarity($1, search) AS similarity FROM places
                WHERE (active OR $3) AND (search LIKE $2 OR $1 <% search)
                ORDER BY similarity DESC, id LIMIT $4""",
            text,
            pattern,
            include_inactive,
            limit,
        )
    return [(_place(r), float(r["similarity"])) for r in rows]


async def list_places(
    conn, query: str = "", *, include_inactive: bool = True, limit: int = 50, offset: int = 0
) -> tuple[list[Place], int]:
    """A page of places by name (the admin's list), matching ``query`` as search does; and how
    many match in all."""
    text = normalise_query(query)
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    async with conn.transaction():
        await conn.execute(f"SET LOCAL pg_trgm.word_similarity_threshold = {SIMILARITY_THRESHOLD}")
        rows = await conn.fetch(
            f"""SELECT {_COLUMNS}, count(*) OVER () AS total FROM places
                WHERE (active OR $2) AND ($1 = '' OR search LIKE $3 OR $1 <% search)
                ORDER BY lower(name), id LIMIT $4 OFFSET $5""",
            text,
            include_inactive,
            pattern,
            limit,
            offset,
        )
    total = rows[0]["total"] if rows else await _count(conn, text, pattern, include_inactive)
    places = []
    for row in rows:
        data = dict(row)
        data.pop("total")
        places.append(_place(data))
    return places, total


async def _count(conn, text: str, pattern: str, include_inactive: bool) -> int:
    """How many match (for a page past the last one, which has no rows to carry the count)."""
    if not text:
        return await conn.fetchval("SELECT count(*) FROM places WHERE active OR $1", include_inactive)
    async with conn.transaction():
        await conn.execute(f"SET LOCAL pg_trgm.word_similarity_threshold = {SIMILARITY_THRESHOLD}")
        return await conn.fetchval(
            "SELECT count(*) FROM places WHERE (active OR $3) AND (search LIKE $2 OR $1 <% search)",
            text,
            pattern,
            include_inactive,
        )


async def all_places(conn) -> list[Place]:
    """Every place, active or not, by name (exports)."""
    return [_place(r) for r in await conn.fetch(f"SELECT {_COLUMNS} FROM places ORDER BY lower(name), id")]


async def active_for_labels(conn) -> list[LabelPlace]:
    """What the label index keeps: the active places."""
    rows = await conn.fetch("SELECT id, name, category, lat, lng FROM places WHERE active ORDER BY id")
    return [LabelPlace(r["id"], r["name"], r["category"], r["lat"], r["lng"]) for r in rows]
