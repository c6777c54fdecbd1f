"""What zones do to a quote (pure): whether the trip is served, and its zone lines.

- Service areas: while at least one is active, a pickup outside all of them is refused
  (``outside-service-area``); a drop-off outside all of them is refused only when a service
  area holding the pickup says ``allow_dropoff_outside: false`` (``dropoff-outside-service-area``).
- Airports (and venues drawn as airport zones): a pickup fee for a pickup inside, a drop-off fee
  for a drop-off inside, each its own line; a fixed fare when the trip runs between the zone and
  another one its rules name, for the vehicle class asked. The fixed amount replaces the meter
  (base, distance, time) and the minimum fare; the booking fee and zone fees are added as their
  own lines; surge applies unless the fixed fare says ``no_surge``. Two fixed fares that both
  fit: the lower amount (then the lower zone id) wins, so the rider never pays more for overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hexfleet.errors import Invalid
from hexfleet.zones.cover import ZoneHit
from hexfleet.zones.rules import Rules


@dataclass(frozen=True)
class Line:
    code: str  # pickup_fee | dropoff_fee
    label: str  # for the receipt: "Pickup fee: Airport BER"
    amount_minor: int
    zone_id: int

    def to_json(self) -> dict:
        return {"code": self.code, "label": self.label, "amount_minor": self.amount_minor, "zone_id": self.zone_id}


@dataclass(frozen=True)
class Fixed:
    amount_minor: int
    no_surge: bool
    from_zone_id: int
    to_zone_id: int
    label: str  # "Fixed fare: Airport BER → City centre"

    def to_json(self) -> dict:
        return {
            "amount_minor": self.amount_minor,
            "no_surge": self.no_surge,
            "from_zone_id": self.from_zone_id,
            "to_zone_id": self.to_zone_id,
            "label": self.label,
        }


@dataclass(frozen=True)
class Terms:
    fees: tuple[Line, ...] = ()
    fixed: Fixed | None = None

    @property
    def fees_minor(self) -> int:
        return sum(line.amount_minor for line in self.fees)


NONE = Terms()


def _rules(hit: ZoneHit) -> Rules:
    rules = hit.rules
    return rules if isinstance(rules, Rules) else Rules()


def check_served(service_areas: int, at_pickup: Sequence[ZoneHit], at_dropoff: Sequence[ZoneHit]) -> None:
    """Invalid (422) when the trip is outside the service area; ``service_areas``: how many are
    active (none: everywhere is served)."""
    if service_areas <= 0:
        return
    serving = [h for h in at_pickup if h.kind == "service_area"]
    if not serving:
        raise Invalid("the pickup is outside the service area: no rides start there", code="outside-service-area")
    if any(h.kind == "service_area" for h in at_dropoff):
        return
    strict = [h for h in serving if not _rules(h).allow_dropoff_outside]
    if strict:
        raise Invalid(
            f"the drop-off is outside the service area, and rides from {strict[0].name} end inside it",
            code="dropoff-outside-service-area",
        )


def terms(at_pickup: Sequence[ZoneHit], at_dropoff: Sequence[ZoneHit], vehicle_class: str) -> Terms:
    """The zone lines of a trip from a point in ``at_pickup`` to one in ``at_dropoff``."""
    fees: list[Line] = []
    for hit in at_pickup:
        if hit.kind == "airport" and _rules(hit).pickup_fee_minor > 0:
            fees.append(Line("pickup_fee", f"Pickup fee: {hit.name}", _rules(hit).pickup_fee_minor, hit.id))
    for hit in at_dropoff:
        if hit.kind == "airport" and _rules(hit).dropoff_fee_minor > 0:
            fees.append(Line("dropoff_fee", f"Drop-off fee: {hit.name}", _rules(hit).dropoff_fee_minor, hit.id))
    names = {h.id: h.name for h in (*at_pickup, *at_dropoff)}
    pickup_ids = {h.id for h in at_pickup}
    dropoff_ids = {h.id for h in at_dropoff}
    found = _fixed(at_pickup, dropoff_ids, True, vehicle_class, names) + _fixed(
        at_dropoff, pickup_ids, False, vehicle_class, names
    )
    fixed = min(found, key=lambda f: (f.amount_minor, f.from_zone_id, f.to_zone_id)) if found else None
    return Terms(tuple(fees), fixed)


def _fixed(
    hits: Sequence[ZoneHit], other_end: set[int], outbound: bool, vehicle_class: str, names: dict[int, str]
) -> list[Fixed]:
    out = []
    for hit in hits:
        if hit.kind != "airport":
            continue
        for fare in _rules(hit).fixed_fares:
            if fare.outbound != outbound or fare.vehicle_class != vehicle_class or fare.other_zone_id not in other_end:
                continue
            start, end = (hit.id, fare.other_zone_id) if outbound else (fare.other_zone_id, hit.id)
            label = f"Fixed fare: {names[start]} → {names[end]}"
            out.append(Fixed(fare.amount_minor, fare.no_surge, start, end, label))
    return out
