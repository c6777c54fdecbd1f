"""What a zone may hold: its kind, its rules, its colour (pure).

``check_zone`` says what is wrong per field (``name``, ``geometry``, ``rules.fixed_fares[0].amount_minor``),
so the API answers 422 naming each, an import names the feature, and the editor marks its form.

Rules per kind (unknown keys are refused, so a typo never silently does nothing):
- ``service_area``: ``{"allow_dropoff_outside": true}``. While at least one service area is
  active, a pickup outside all of them is refused; a drop-off outside all of them is refused
  only when a service area holding the pickup says ``false``.
- ``airport``: ``{"pickup_fee_minor": 0, "dropoff_fee_minor": 0, "fixed_fares": [...]}``; each
  fixed fare ``{"to_zone_id" | "from_zone_id": id, "vehicle_class": ..., "amount_minor": n,
  "no_surge": true}`` prices a trip from this zone to that one (``to_zone_id``) or from that one
  to this one (``from_zone_id``) at ``amount_minor`` instead of the meter.
- ``restricted``: ``{"wait_minutes": null}``: how long an available driver may stand still inside
  before the alerts desk speaks up (null: ALERT_RESTRICTED_WAIT_S).
- ``custom``: ``{}`` (a zone to see on the map and to count in analytics).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hexfleet.drivers.vehicles import VEHICLE_CLASSES
from hexfleet.places.rules import clean_text
from hexfleet.zones.geometry import GeometryError, Shape, parse

KINDS = ("service_area", "airport", "restricted", "custom")
MAX_NAME = 120
MAX_FEE_MINOR = 1_000_000  # 10,000.00 in a currency with cents: no airport fee is more
MAX_FIXED_FARE_MINOR = 10_000_000
MAX_FIXED_FARES = 100
MAX_WAIT_MINUTES = 24 * 60
# Colours the map uses when none is given, per kind (the editor and the control room agree).
DEFAULT_COLORS = {"service_area": "#2e7d32", "airport": "#1565c0", "restricted": "#c62828", "custom": "#6a1b9a"}
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class FixedFare:
    other_zone_id: int  # 0 while only its name is known (a file being imported)
    outbound: bool  # True: from this zone to the other one (to_zone_id); False: from the other (from_zone_id)
    vehicle_class: str
    amount_minor: int
    no_surge: bool = True
    # In files (import, export) the other zone goes by name (``to_zone``/``from_zone``): ids
    # differ from one installation to the next.
    other_zone_name: str | None = None

    def to_json(self) -> dict:
        end = "to_zone_id" if self.outbound else "from_zone_id"
        return {
            end: self.other_zone_id,
            "vehicle_class": self.vehicle_class,
            "amount_minor": self.amount_minor,
            "no_surge": self.no_surge,
        }


@dataclass(frozen=True)
class Rules:
    """A zone's rules, checked (the fields of other kinds keep their defaults)."""

    allow_dropoff_outside: bool = True
    pickup_fee_minor: int = 0
    dropoff_fee_minor: int = 0
    fixed_fares: tuple[FixedFare, ...] = ()
    wait_minutes: int | None = None

    def to_json(self, kind: str) -> dict:
        if kind == "service_area":
            return {"allow_dropoff_outside": self.allow_dropoff_outside}
        if kind == "airport":
            return {
                "pickup_fee_minor": self.pickup_fee_minor,
                "dropoff_fee_minor": self.dropoff_fee_minor,
                "fixed_fares": [f.to_json() for f in self.fixed_fares],
            }
        if kind == "restricted":
            return {"wait_minutes": self.wait_minutes}
        return {}


@dataclass(frozen=True)
class ZoneIn:
    """A zone as it is stored: cleaned and checked."""

    name: str
    kind: str
    shape: Shape
    rules: Rules = field(default_factory=Rules)
    active: bool = True
    color: str = ""

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "geometry": self.shape.geojson,
            "rules": self.rules.to_json(self.kind),
            "active": self.active,
            "color": self.color,
        }


def _int(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"a whole number from {low} to {high} (minor units: cents)")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _only(data: dict, allowed: tuple[str, ...], where: str, errors: dict[str, str]) -> None:
    for key in data:
        if key not in allowed:
            shown = key if len(key) <= 40 else key[:40] + "…"
            expected = ", ".join(allowed) if allowed else "no rules"
            errors[f"{where}.{shown}" if where else shown] = f"unknown rule (this kind takes: {expected})"


def _fixed_fare(raw: Any, where: str, errors: dict[str, str], names: bool) -> FixedFare | None:
    if not isinstance(raw, dict):
        errors[where] = "an object: {to_zone_id or from_zone_id, vehicle_class, amount_minor, no_surge}"
        return None
    keys = ("to_zone_id", "from_zone_id", *(("to_zone", "from_zone") if names else ()))
    _only(raw, (*keys, "vehicle_class", "amount_minor", "no_surge"), where, errors)
    ends = [k for k in keys if k in raw]
    before = len(errors)
    other = 0
    other_name = None
    if len(ends) != 1:
        errors[where] = "give exactly one of to_zone_id (trips from this zone) and from_zone_id (trips to it)" + (
            ", or to_zone or from_zone with the other zone's name" if names else ""
        )
    elif ends[0].endswith("_id"):
        try:
            other = _int(raw[ends[0]], 1, 2**63 - 1)
        except ValueError:
            errors[f"{where}.{ends[0]}"] = "a zone's id"
    elif not isinstance(raw[ends[0]], str) or not 1 <= len(raw[ends[0]]) <= MAX_NAME:
        errors[f"{where}.{ends[0]}"] = "the other zone's name"
    else:
        other_name = " ".join(raw[ends[0]].split())
    vehicle_class = raw.get("vehicle_class")
    if vehicle_class not in VEHICLE_CLASSES:
        errors[f"{where}.vehicle_class"] = f"one of {', '.join(VEHICLE_CLASSES)}"
    amount = 0
    try:
        amount = _int(raw.get("amount_minor"), 0, MAX_FIXED_FARE_MINOR)
    except ValueError as error:
        errors[f"{where}.amount_minor"] = str(error)
    no_surge = True
    try:
        no_surge = _bool(raw.get("no_surge", True))
    except ValueError as error:
        errors[f"{where}.no_surge"] = str(error)
    if len(errors) > before:
        return None
    return FixedFare(other, ends[0].startswith("to_"), str(vehicle_class), amount, no_surge, other_name)


def check_rules(kind: str, raw: Any, errors: dict[str, str], names: bool = False) -> Rules:
    """The rules of a zone of ``kind``; each problem goes into ``errors`` (key ``rules.<field>``).
    ``names``: fixed fares may name the other zone (``to_zone``/``from_zone``: files)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors["rules"] = "an object with the rules of the zone's kind"
        return Rules()
    allowed = {
        "service_area": ("allow_dropoff_outside",),
        "airport": ("pickup_fee_minor", "dropoff_fee_minor", "fixed_fares"),
        "restricted": ("wait_minutes",),
        "custom": (),
    }.get(kind, ())
    _only(raw, allowed, "rules", errors)
    values: dict[str, Any] = {}
    if "allow_dropoff_outside" in raw:
        try:
            values["allow_dropoff_outside"] = _bool(raw["allow_dropoff_outside"])
        except ValueError as error:
            errors["rules.allow_dropoff_outside"] = str(error)
    for key in ("pickup_fee_minor", "dropoff_fee_minor"):
        if key in raw:
            try:
                values[key] = _int(raw[key], 0, MAX_FEE_MINOR)
            except ValueError as error:
                errors[f"rules.{key}"] = str(error)
    if "fixed_fares" in raw:
        fares = raw["fixed_fares"]
        if not isinstance(fares, list) or len(fares) > MAX_FIXED_FARES:
            errors["rules.fixed_fares"] = f"a list of at most {MAX_FIXED_FARES} fixed fares"
        else:
            checked = [_fixed_fare(f, f"rules.fixed_fares[{i}]", errors, names) for i, f in enumerate(fares)]
            seen: set[tuple[int | str, bool, str]] = set()
            for i, fare in enumerate(checked):
                if fare is None:
                    continue
                other: int | str = fare.other_zone_name.lower() if fare.other_zone_name else fare.other_zone_id
                trip = (other, fare.outbound, fare.vehicle_class)
                if trip in seen:
                    errors[f"rules.fixed_fares[{i}]"] = "a second fixed fare for the same zones and vehicle class"
                seen.add(trip)
            values["fixed_fares"] = tuple(f for f in checked if f is not None)
    if raw.get("wait_minutes") is not None:
        try:
            values["wait_minutes"] = _int(raw["wait_minutes"], 1, MAX_WAIT_MINUTES)
        except ValueError:
            errors["rules.wait_minutes"] = f"whole minutes from 1 to {MAX_WAIT_MINUTES}, or null"
    return Rules(**values)


def check_zone(data: Any, zone_id: int | None = None, names: bool = False) -> tuple[ZoneIn | None, dict[str, str]]:
    """A zone from its JSON fields, or None and what is wrong per field. ``zone_id``: the zone
    being edited (a fixed fare to itself is refused); ``names``: see check_rules."""
    errors: dict[str, str] = {}
    if not isinstance(data, dict):
        return None, {"zone": "an object with name, kind, geometry, rules, active and color"}
    name = ""
    raw_name = data.get("name")
    if not isinstance(raw_name, str):
        errors["name"] = "required: a text"
    else:
        try:
            name = clean_text(raw_name, MAX_NAME)
        except ValueError as error:
            errors["name"] = str(error)
        else:
            if not name:
                errors["name"] = "required"
    kind = data.get("kind")
    if kind not in KINDS:
        errors["kind"] = f"one of {', '.join(KINDS)}"
        kind = "custom"
    shape = None
    try:
        shape = parse(data.get("geometry"))
    except GeometryError as error:
        errors["geometry"] = str(error)
    rules = check_rules(kind, data.get("rules"), errors, names)
    if zone_id is not None and any(f.other_zone_id == zone_id for f in rules.fixed_fares):
        errors["rules.fixed_fares"] = "a fixed fare joins two different zones"
    if name and any((f.other_zone_name or "").lower() == name.lower() for f in rules.fixed_fares):
        errors["rules.fixed_fares"] = "a fixed fare joins two different zones"
    active = data.get("active", True)
    if not isinstance(active, bool):
        errors["active"] = "true or false"
    color = data.get("color")
    if color is None or color == "":
        color = DEFAULT_COLORS.get(kind, "#6a1b9a")
    elif not isinstance(color, str) or not _COLOR.match(color):
        errors["color"] = "a colour as #rrggbb"
    if errors or shape is None:
        return None, errors
    return ZoneIn(name, str(kind), shape, rules, bool(active), str(color).lower()), {}
