"""What one rollup row holds, and how rows add up (pure).

A ``Totals`` is one row of ``analytics_cells`` (an hour or a day, one cell, one vehicle class)
or the sum of any number of them: every field is a count or a sum, so adding rows is exact
and the order never matters. ``DriverTotals`` is the same for ``analytics_drivers``.
The field names are the table's column names (hexfleet/analytics/queries.py builds its SQL
from them); the histograms are stored as ``<name>_b`` / ``<name>_n`` arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from hexfleet.analytics import histogram


def _add_money(into: dict[str, tuple[int, int]], other: dict[str, tuple[int, int]]) -> None:
    for currency, (minor, metres) in other.items():
        had_minor, had_metres = into.get(currency, (0, 0))
        into[currency] = (had_minor + minor, had_metres + metres)


@dataclass
class Totals:
    # demand
    searches: int = 0  # quotes asked for
    searches_booked: int = 0  # of them, booked
    surge_quotes: int = 0  # quotes for a ride now (a ride booked ahead is priced without surge)
    surge_tenths: int = 0  # the sum of their multipliers, in tenths
    requests: int = 0  # bookings that reached dispatch in the period
    requests_scheduled: int = 0  # of them, booked ahead
    # outcomes of those bookings (as they stand when rolled up)
    assigned: int = 0
    completed: int = 0
    no_driver: int = 0
    cancelled_rider: int = 0
    cancelled_driver: int = 0  # rides an assigned driver gave back (they search again)
    cancelled_dispatcher: int = 0  # dispatchers and admins
    cancelled_system: int = 0
    cancelled_before_assign: int = 0
    cancelled_after_assign: int = 0
    # offers made in the period
    offers_sent: int = 0
    offers_accepted: int = 0
    offers_declined: int = 0
    offers_expired: int = 0
    offers_withdrawn: int = 0
    # ETA honesty: arrival (assigned → arrived) against the ETA promised at assignment
    eta_n: int = 0
    eta_abs_ms: int = 0
    eta_sum_ms: int = 0  # signed: late is positive
    eta_band_n: int = 0  # promises under 15 minutes (the ones with a band)
    eta_band_ok: int = 0  # of them, arrived within the band
    distance_m: int = 0  # of completed rides
    # driver time in the period (ms)
    online_ms: int = 0  # available or busy, with a fresh fix
    available_ms: int = 0
    busy_ms: int = 0
    en_route_ms: int = 0  # assigned → arrived
    on_trip_ms: int = 0  # started → ended
    # histograms: bucket → count (hexfleet.analytics.histogram)
    assign: dict[int, int] = field(default_factory=dict)  # time to assign, s
    wait: dict[int, int] = field(default_factory=dict)  # pickup wait (assigned → arrived), s
    response: dict[int, int] = field(default_factory=dict)  # driver response to an offer, s
    # currency → (minor units, metres) of completed rides: fare per km needs each currency's own km
    revenue: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add(self, other: Totals) -> Totals:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in HISTOGRAMS:
            histogram.merge(getattr(self, name), getattr(other, name))
        _add_money(self.revenue, other.revenue)
        return self

    def is_empty(self) -> bool:
        return not any(getattr(self, n) for n in COUNTS) and not any(getattr(self, h) for h in HISTOGRAMS)


@dataclass
class DriverTotals:
    online_ms: int = 0
    available_ms: int = 0
    busy_ms: int = 0
    en_route_ms: int = 0
    on_trip_ms: int = 0
    offers_sent: int = 0
    offers_accepted: int = 0
    offers_declined: int = 0
    offers_expired: int = 0
    trips: int = 0  # completed rides
    releases: int = 0  # rides given back
    distance_m: int = 0  # of the completed rides
    revenue: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add(self, other: DriverTotals) -> DriverTotals:
        for name in DRIVER_COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        _add_money(self.revenue, other.revenue)
        return self

    def is_empty(self) -> bool:
        return not any(getattr(self, n) for n in DRIVER_COUNTS)


HISTOGRAMS = ("assign", "wait", "response")
COUNTS = tuple(f.name for f in fields(Totals) if f.name not in HISTOGRAMS and f.name != "revenue")
DRIVER_COUNTS = tuple(f.name for f in fields(DriverTotals) if f.name != "revenue")
