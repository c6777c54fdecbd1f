"""How place search results are ordered (pure): by how well the text matches, then by distance.

PostgreSQL finds the candidates (a prefix anywhere in the name or an alias, or a trigram
``word_similarity`` above a threshold: typos forgiven) and gives each its similarity; this
sorts them into tiers a person expects: the exact name first, then names that start with
what was typed, then names with a word that does, then misspellings of a whole name, of a
word, and loose likenesses. Within a
tier, the nearest to ``near`` (the map's centre, or where the rider is) comes first, so
"Ter" lists the airport's terminals nearest first rather than by a similarity score no one
can see.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Generic, Protocol, TypeVar

from hexfleet.geo import haversine_m

MAX_QUERY = 100

EXACT = 5  # the name or an alias, as typed (case aside)
PREFIX = 4  # the name or an alias starts with it
WORD = 3  # a word of the name or an alias starts with it ("tor" in "Brandenburger Tor")
MISSPELT = 2  # the whole name or an alias, misspelt ("Alexandrplatz": the square before its station)
CLOSE = 1  # a word of it, misspelt
LOOSE = 0  # a loose likeness (or no query: everything, nearest first)

# word_similarity at or above this is a close spelling: one letter missing or swapped in a
# word of ten scores about 0.65-0.75 (pg_trgm), a different word well below.
CLOSE_SIMILARITY = 0.6
# A whole name this alike (difflib's ratio) is that name misspelt: a letter missing or swapped
# in "Alexanderplatz" is 0.96; "Bahnhof Alexanderplatz" against the same typo 0.77.
MISSPELT_RATIO = 0.85


class Placed(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> Sequence[str]: ...
    @property
    def lat(self) -> float: ...
    @property
    def lng(self) -> float: ...


P = TypeVar("P", bound=Placed)


@dataclass(frozen=True)
class Ranked(Generic[P]):
    place: P
    tier: int
    distance_m: int | None


def normalise_query(text: str) -> str:
    """What is searched: white space collapsed, lower case (as PostgreSQL's lower()), bounded."""
    return " ".join(text.split()).lower()[:MAX_QUERY]


def match_tier(query: str, texts: Sequence[str], similarity: float) -> int:
    """How well ``query`` (normalised) matches the best of ``texts`` (a name and its aliases)."""
    if not query:
        return LOOSE
    best = LOOSE
    word_start = re.compile(r"(?:^|[\W_])" + re.escape(query))
    for text in texts:
        candidate = " ".join(text.split()).lower()
        if candidate == query:
            return EXACT
        if candidate.startswith(query):
            best = max(best, PREFIX)
        elif word_start.search(candidate):
            best = max(best, WORD)
    if best == LOOSE and similarity >= CLOSE_SIMILARITY:
        whole = max(SequenceMatcher(None, query, " ".join(t.split()).lower()).ratio() for t in texts)
        best = MISSPELT if whole >= MISSPELT_RATIO else CLOSE
    return best


def rank(
    candidates: Sequence[tuple[P, float]], query: str, near: tuple[float, float] | None, limit: int
) -> list[Ranked[P]]:
    """The best ``limit`` of (place, similarity) pairs: by tier, then distance from ``near``
    (when given), then name and id (a stable order for equal ones)."""
    query = normalise_query(query)
    ranked = []
    for place, similarity in candidates:
        distance = round(haversine_m(near[0], near[1], place.lat, place.lng)) if near else None
        ranked.append(Ranked(place, match_tier(query, [place.name, *place.aliases], similarity), distance))
    ranked.sort(key=lambda r: (-r.tier, r.distance_m or 0, r.place.name.lower(), r.place.id))
    return ranked[: max(0, limit)]
