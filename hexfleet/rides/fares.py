"""Fares and prices (pure). All money is integer minor units (cents, pence, øre).

The rounding rule, applied at every step that divides (and only there):

    round half up to a whole minor unit:  q(n / d) = (2n + d) // 2d   for n, d ≥ 0

    distance = q(per_km × metres / 1000)
    time     = q(per_minute × seconds / 60)
    metered  = base + distance + time                  (or a zone's fixed fare, below)
    surged   = q(metered × surge_tenths / 10)          (surge ×1.3 is 13 tenths)
    total    = max(surged + booking_fee, minimum) + zone fees

A fixed fare between two zones (hexfleet/zones/pricing.py) replaces the meter and the minimum:
metered = the fixed amount, base, distance and time are 0, and no minimum applies. Zone fees
(an airport's pickup or drop-off fee) are added after the minimum: they are passed on, not fare.

So a price never depends on floating point, the breakdown always adds up to the total,
and the same trip gives the same price on every machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Re-exported: fares price each class of the one list.
from hexfleet.drivers.vehicles import DEFAULT_CLASS as DEFAULT_CLASS
from hexfleet.drivers.vehicles import VEHICLE_CLASSES as VEHICLE_CLASSES

SURGE_NONE = 10  # tenths: ×1.0


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves up (both non-negative)."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class Fare:
    vehicle_class: str
    currency: str  # ISO 4217, e.g. "EUR"
    base_minor: int
    per_km_minor: int
    per_minute_minor: int
    booking_fee_minor: int
    minimum_minor: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Price:
    total_minor: int
    currency: str
    base_minor: int
    distance_minor: int
    time_minor: int
    surge_minor: int  # what the multiplier added to the metered fare
    booking_fee_minor: int
    minimum_fare_minor: int  # what the minimum added (0 when the trip is above it)
    surge_tenths: int
    fixed_fare_minor: int = 0  # a zone's fixed fare, in place of base, distance and time
    zone_fees_minor: int = 0  # airport pickup and drop-off fees (their lines: the quote's zone_lines)

    def breakdown(self) -> dict:
        """The parts of the total, for the customer's receipt; they add up to ``total_minor``."""
        return {
            "base_minor": self.base_minor,
            "distance_minor": self.distance_minor,
            "time_minor": self.time_minor,
            "surge_minor": self.surge_minor,
            "booking_fee_minor": self.booking_fee_minor,
            "minimum_fare_minor": self.minimum_fare_minor,
            "fixed_fare_minor": self.fixed_fare_minor,
            "zone_fees_minor": self.zone_fees_minor,
            "total_minor": self.total_minor,
            "surge_multiplier": multiplier(self.surge_tenths),
        }


def multiplier(tenths: int) -> float:
    """Tenths as the multiplier people read: 13 → 1.3."""
    return tenths / 10


def price(
    fare: Fare,
    distance_m: int,
    duration_s: int,
    surge_tenths: int = SURGE_NONE,
    *,
    fixed_minor: int | None = None,
    fees_minor: int = 0,
) -> Price:
    """The price of a trip (see the module docstring for the rounding rule); ``fixed_minor``: a
    zone's fixed fare for it, ``fees_minor``: its zone fees."""
    if distance_m < 0 or duration_s < 0 or surge_tenths < SURGE_NONE:
        raise ValueError("distance, duration must be ≥ 0 and surge at least ×1.0")
    if (fixed_minor is not None and fixed_minor < 0) or fees_minor < 0:
        raise ValueError("a fixed fare and zone fees are ≥ 0")
    if fixed_minor is None:
        base = fare.base_minor
        distance = round_half_up(fare.per_km_minor * distance_m, 1000)
        time_part = round_half_up(fare.per_minute_minor * duration_s, 60)
        metered = base + distance + time_part
        minimum = fare.minimum_minor
    else:
        base = distance = time_part = 0
        metered = fixed_minor
        minimum = 0
    surged = round_half_up(metered * surge_tenths, 10)
    subtotal = surged + fare.booking_fee_minor
    fare_total = max(subtotal, minimum)
    return Price(
        total_minor=fare_total + fees_minor,
        currency=fare.currency,
        base_minor=base,
        distance_minor=distance,
        time_minor=time_part,
        surge_minor=surged - metered,
        booking_fee_minor=fare.booking_fee_minor,
        minimum_fare_minor=fare_total - subtotal,
        surge_tenths=surge_tenths,
        fixed_fare_minor=fixed_minor or 0,
        zone_fees_minor=fees_minor,
    )
