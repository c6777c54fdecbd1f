"""What a place may hold, and the text rules shared with ride labels (pure).

``check_place`` says what is wrong per field, so the admin form marks fields, the API answers
422 naming them, and an import names the line and the field.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

CATEGORIES = ("airport", "station", "hotel", "hospital", "venue", "depot", "landmark", "other")
MAX_NAME = 120
MAX_ADDRESS = 300
MAX_ALIAS = 120
MAX_ALIASES = 20
# A ride's pickup or drop-off label: a place's name, or an address the geocoder gave (its
# suggestions are cut to 200 characters too, webapp/geocoder.py).
MAX_LABEL = 200


@dataclass(frozen=True)
class PlaceIn:
    """A place as it is stored: cleaned and checked."""

    name: str
    category: str
    address: str
    lat: float
    lng: float
    aliases: tuple[str, ...] = ()
    active: bool = True

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "category": self.category,
            "address": self.address,
            "lat": self.lat,
            "lng": self.lng,
            "aliases": list(self.aliases),
            "active": self.active,
        }


# Bidirectional embeddings, overrides and isolates, and the byte order mark: invisible, they
# reorder or hide what a dispatcher reads ("Trojan Source"). Joiners and marks that scripts need
# (ZWNJ in Persian, LRM/RLM) stay allowed.
_INVISIBLE = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")


def _unsafe(ch: str) -> bool:
    # Control characters (NUL among them: PostgreSQL refuses it), lone surrogates (no UTF-8 for
    # them) and private-use characters (no font shows them the same way twice).
    return ch in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cs", "Co")


def clean_text(value: str, limit: int) -> str:
    """White space collapsed to single spaces; raises ValueError (a sentence for people) for text
    that is too long or holds characters a label must not."""
    text = " ".join(value.split())
    if len(text) > limit:
        raise ValueError(f"at most {limit} characters")
    if any(_unsafe(ch) for ch in text):
        raise ValueError("letters, digits, spaces and punctuation only (no control or invisible characters)")
    return text


def clean_label(value: str | None) -> str | None:
    """A ride's pickup or drop-off label from a client: None when empty, ValueError when not fit."""
    if value is None:
        return None
    return clean_text(value, MAX_LABEL) or None


def _coordinate(raw: object, low: float, high: float) -> float:
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, str):
        raw = raw.strip()
    value = float(raw)  # type: ignore[arg-type]  # ValueError/TypeError: the caller's message
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError
    return value


_TRUE = {"true", "yes", "1", "on", "y", "t"}
_FALSE = {"false", "no", "0", "off", "n", "f"}


def parse_active(raw: object) -> bool:
    """A spreadsheet's yes/no (true, 1, yes, on; empty means active), or a JSON boolean."""
    if raw is None:
        return True
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text == "" or text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError


def check_place(raw: dict) -> tuple[PlaceIn | None, dict[str, str]]:
    """A place from loosely typed values (a form, a CSV row, JSON): the place, or per-field errors.

    ``aliases`` is a list of strings or one string with aliases separated by ``|``.
    """
    errors: dict[str, str] = {}
    values: dict = {}
    name = raw.get("name")
    try:
        values["name"] = clean_text(name, MAX_NAME) if isinstance(name, str) else ""
        if not values["name"]:
            errors["name"] = f"Enter the place's name (1 to {MAX_NAME} characters)."
    except ValueError as error:
        errors["name"] = f"Name: {error}."
    category = raw.get("category")
    category = category.strip().lower() if isinstance(category, str) else category
    if category not in CATEGORIES:
        errors["category"] = f"Choose one of {', '.join(CATEGORIES)}."
    else:
        values["category"] = category
    address = raw.get("address")
    if address is None:
        address = ""
    try:
        if not isinstance(address, str):
            raise ValueError("text")
        values["address"] = clean_text(address, MAX_ADDRESS)
    except ValueError as error:
        errors["address"] = f"Address: {error}."
    for key, low, high in (("lat", -90.0, 90.0), ("lng", -180.0, 180.0)):
        try:
            values[key] = _coordinate(raw.get(key), low, high)
        except (ValueError, TypeError, OverflowError):
            errors[key] = f"Enter a number from {low:g} to {high:g} (decimal degrees, such as 52.5219)."
    try:
        values["aliases"] = _aliases(raw.get("aliases"), values.get("name"))
    except ValueError as error:
        errors["aliases"] = f"Aliases: {error}."
    try:
        values["active"] = parse_active(raw.get("active"))
    except ValueError:
        errors["active"] = "Active is true or false (yes or no, 1 or 0)."
    if errors:
        return None, errors
    return PlaceIn(**values), {}


def _aliases(raw: object, name: str | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        items: list = raw.split("|")
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        raise ValueError("a list of names, or names separated by |")
    found: list[str] = []
    seen = {name.casefold()} if name else set()
    for item in items:
        if not isinstance(item, str):
            raise ValueError("each alias is text")
        if "|" in item:
            raise ValueError("an alias cannot hold | (it separates aliases)")
        alias = clean_text(item, MAX_ALIAS)
        if alias and alias.casefold() not in seen:  # the name again, or an alias twice: once is enough
            seen.add(alias.casefold())
            found.append(alias)
    if len(found) > MAX_ALIASES:
        raise ValueError(f"at most {MAX_ALIASES}")
    return tuple(found)
