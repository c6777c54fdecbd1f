"""Every KPI of the operation, defined once (pure; the README's KPI table says the same).

The inputs are rollup rows added together (``hexfleet.analytics.totals``), so each KPI is
computed from sums and merged histograms, never from averages of averages: over an hour, a
day or a quarter, for the whole fleet or a few cells, the definition is the same.

A rate whose denominator is 0 is ``None`` (no data), never 0 (which would read as "bad").
"""

from __future__ import annotations

from dataclasses import dataclass

from hexfleet.analytics import histogram
from hexfleet.analytics.totals import DriverTotals, Totals


@dataclass(frozen=True)
class Band:
    """ETA honesty for promises in [promise_from_s, promise_to_s): the arrival counts as on
    time when actual − promised lies in [early_s, late_s] (early_s is negative)."""

    promise_from_s: float
    promise_to_s: float
    early_s: float
    late_s: float


# Early arrivals count against: a rider who was told 5 minutes and sees the car after 2 is not
# ready, and one told 2 who waits 5 is annoyed. Promises of 15 minutes or more have no band:
# they count in the mean error and the bias, not in the share within band.
ETA_BANDS = (
    Band(0, 180, -30, 90),
    Band(180, 360, -60, 150),
    Band(360, 600, -60, 210),
    Band(600, 900, -90, 270),
)


def band_of(promised_s: float) -> Band | None:
    for band in ETA_BANDS:
        if band.promise_from_s <= promised_s < band.promise_to_s:
            return band
    return None


def within_band(promised_s: float, actual_s: float) -> bool | None:
    """Whether an arrival after ``actual_s`` kept a promise of ``promised_s``; None without a band."""
    band = band_of(promised_s)
    if band is None:
        return None
    return band.early_s <= actual_s - promised_s <= band.late_s


# Cancellations by who: the actor recorded on the booking (bookings.cancelled_by) → the KPI's name.
CANCELLED_BY = {"customer": "rider", "dispatcher": "dispatcher", "admin": "dispatcher", "system": "system"}


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _hours(ms: int) -> float:
    return ms / 3_600_000


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def acceptance_rate(accepted: int, declined: int, expired: int) -> float | None:
    """Accepted over offers a driver answered or let expire; a withdrawn offer was never the
    driver's to take (the ride went elsewhere first)."""
    return ratio(accepted, accepted + declined + expired)


def completion_rate(t: Totals) -> float | None:
    """Completed over requests that have ended (completed, cancelled by anyone but a driver,
    or no driver): rides still under way count once they end."""
    ended = t.completed + t.cancelled_rider + t.cancelled_dispatcher + t.cancelled_system + t.no_driver
    return ratio(t.completed, ended)


def fare_per_km(revenue: dict[str, tuple[int, int]]) -> dict[str, float | None]:
    """Revenue per km of completed rides, per currency (minor units per km)."""
    return {c: (round(minor / (metres / 1000), 1) if metres else None) for c, (minor, metres) in revenue.items()}


def summary(t: Totals) -> dict:
    """The KPIs of merged rollup rows, as the API and the page show them."""
    cancelled = t.cancelled_rider + t.cancelled_dispatcher + t.cancelled_system
    return {
        "requests": t.requests,
        "requests_scheduled": t.requests_scheduled,
        "searches": t.searches,
        "conversion": ratio(t.searches_booked, t.searches),
        "assigned": t.assigned,
        "completed": t.completed,
        "completion_rate": completion_rate(t),
        "cancelled": {
            "rider": t.cancelled_rider,
            "driver": t.cancelled_driver,
            "dispatcher": t.cancelled_dispatcher,
            "system": t.cancelled_system,
            "before_assignment": t.cancelled_before_assign,
            "after_assignment": t.cancelled_after_assign,
            "total": cancelled,
        },
        "no_driver": t.no_driver,
        "offers_sent": t.offers_sent,
        "acceptance_rate": acceptance_rate(t.offers_accepted, t.offers_declined, t.offers_expired),
        "response_time_s": {"p50": _seconds(histogram.percentile(t.response, 0.5))},
        "time_to_assign_s": {
            "p50": _seconds(histogram.percentile(t.assign, 0.5)),
            "p90": _seconds(histogram.percentile(t.assign, 0.9)),
        },
        "pickup_wait_s": {
            "p50": _seconds(histogram.percentile(t.wait, 0.5)),
            "p90": _seconds(histogram.percentile(t.wait, 0.9)),
        },
        "eta": {
            "n": t.eta_n,
            "mae_s": _seconds(ratio(t.eta_abs_ms / 1000, t.eta_n)),
            "bias_s": _seconds(ratio(t.eta_sum_ms / 1000, t.eta_n)),
            "within_band": ratio(t.eta_band_ok, t.eta_band_n),
        },
        "revenue_minor": {c: minor for c, (minor, _) in sorted(t.revenue.items())},
        "fare_per_km_minor": fare_per_km(dict(sorted(t.revenue.items()))),
        "distance_km": round(t.distance_m / 1000, 1),
        "driver_hours": {
            "online": round(_hours(t.online_ms), 2),
            "available": round(_hours(t.available_ms), 2),
            "busy": round(_hours(t.busy_ms), 2),
            "en_route": round(_hours(t.en_route_ms), 2),
            "on_trip": round(_hours(t.on_trip_ms), 2),
        },
        "utilisation": ratio(t.on_trip_ms, t.online_ms),
        "surge_avg": None if not t.surge_quotes else round(t.surge_tenths / t.surge_quotes / 10, 2),
    }


def supply_demand(t: Totals) -> dict:
    """A cell's (or an hour's) supply and demand: the map's layers."""
    return {
        "demand": t.requests,
        "searches": t.searches,
        "unmet": t.no_driver,
        "supply_hours": round(_hours(t.available_ms), 2),
        "online_hours": round(_hours(t.online_ms), 2),
        "utilisation": ratio(t.on_trip_ms, t.online_ms),
        "surge_avg": None if not t.surge_quotes else round(t.surge_tenths / t.surge_quotes / 10, 2),
    }


def driver_summary(t: DriverTotals) -> dict:
    """One driver's figures over a range (the drivers table)."""
    return {
        "hours": {
            "online": round(_hours(t.online_ms), 2),
            "available": round(_hours(t.available_ms), 2),
            "en_route": round(_hours(t.en_route_ms), 2),
            "on_trip": round(_hours(t.on_trip_ms), 2),
        },
        "utilisation": ratio(t.on_trip_ms, t.online_ms),
        "trips": t.trips,
        "offers": t.offers_sent,
        "acceptance_rate": acceptance_rate(t.offers_accepted, t.offers_declined, t.offers_expired),
        "released": t.releases,
        "revenue_minor": {c: minor for c, (minor, _) in sorted(t.revenue.items())},
        "distance_km": round(t.distance_m / 1000, 1),
    }
