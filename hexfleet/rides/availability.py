"""Whether a quote's vehicle class can be served now, and what to suggest instead (pure).

A quote for now looks for the nearest available drivers anyway (its ETA); what it met on
the way says whether a driver of the class asked for is within dispatch reach, and when
none is, which other classes have one. Booking such a quote for now needs the rider's
explicit confirmation (``confirm_no_driver``), and dispatch then keeps looking for
DISPATCH_PATIENCE_S (hexfleet/rides/patience.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hexfleet.drivers.vehicles import SPOKEN, VEHICLE_CLASSES
from hexfleet.rides import patience

# How a class is named in a sentence ("no XL car is near").
CLASS_NAMES = SPOKEN


@dataclass(frozen=True)
class Availability:
    vehicle_class: str
    # Available drivers of the class asked for that the search met within reach: 0 means
    # none at all; otherwise at least this many (the search stops at the nearest few).
    drivers_near: int
    # With none of the class asked for in reach: the other classes that have an available
    # driver within reach (and a fare), nearest first. Empty when the class asked has one.
    suggested_classes: tuple[str, ...]
    keep_looking_s: float  # DISPATCH_PATIENCE_S

    @property
    def needs_confirmation(self) -> bool:
        """Booking this quote for now needs ``confirm_no_driver``."""
        return self.drivers_near == 0

    @property
    def keep_looking_minutes(self) -> int:
        return patience.minutes(self.keep_looking_s)

    def notice(self) -> str | None:
        """What to tell the rider before they book, or None when a driver is near."""
        if not self.needs_confirmation:
            return None
        what = CLASS_NAMES.get(self.vehicle_class, self.vehicle_class)
        return f"No {what} is near: {patience.keep_looking_phrase(self.keep_looking_s)}."

    def to_json(self) -> dict:
        return {
            "drivers_near": self.drivers_near,
            "suggested_classes": list(self.suggested_classes),
            "needs_confirmation": self.needs_confirmation,
            "keep_looking_s": self.keep_looking_s,
            "keep_looking_minutes": self.keep_looking_minutes,
            "notice": self.notice(),
        }


def suggest(asked: str, nearest_by_class: dict[str, float], offered: Iterable[str]) -> tuple[str, ...]:
    """The classes to suggest instead of ``asked``: those with a driver in reach
    (``nearest_by_class``: class → distance of its nearest driver) that have a fare
    (``offered``), nearest first, ties in the order of VEHICLE_CLASSES. Nothing when the
    class asked has a driver near: there is nothing to replace."""
    if asked in nearest_by_class:
        return ()
    fared = set(offered)
    order = {c: i for i, c in enumerate(VEHICLE_CLASSES)}
    found = [c for c in nearest_by_class if c != asked and c in fared]
    return tuple(sorted(found, key=lambda c: (nearest_by_class[c], order.get(c, len(order)))))
