"""What a chart or a map layer can show (pure): each metric named once, with what it reads.

A series metric is read from a bucket's KPIs (``kpis.summary``), so a point means exactly what
the same key means in the summary. Each names the histograms it needs and whether it needs
revenue: the series query merges only those (a 90-day chart of counts merges none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SeriesMetric:
    label: str
    unit: str  # count, share, s, h, minor (money, per currency), ×
    read: Callable[[dict], float | None]
    histograms: tuple[str, ...] = ()
    revenue: bool = False

    @property
    def count(self) -> bool:
        """Counts and sums read 0 in an empty bucket; rates and times have no value there."""
        return self.unit in ("count", "h", "minor")


def _at(*path: str) -> Callable[[dict], float | None]:
    def read(summary: dict) -> float | None:
        value = summary
        for key in path:
            value = value[key]
        return value  # type: ignore[return-value]

    return read


SERIES: dict[str, SeriesMetric] = {
    "requests": SeriesMetric("Requests", "count", _at("requests")),
    "searches": SeriesMetric("Searches", "count", _at("searches")),
    "completed": SeriesMetric("Completed rides", "count", _at("completed")),
    "cancelled": SeriesMetric("Cancelled", "count", _at("cancelled", "total")),
    "no_driver": SeriesMetric("No driver (unmet demand)", "count", _at("no_driver")),
    "offers_sent": SeriesMetric("Offers sent", "count", _at("offers_sent")),
    "conversion": SeriesMetric("Search → booking", "share", _at("conversion")),
    "acceptance_rate": SeriesMetric("Acceptance rate", "share", _at("acceptance_rate")),
    "completion_rate": SeriesMetric("Completion rate", "share", _at("completion_rate")),
    "time_to_assign_p50": SeriesMetric("Time to assign, median", "s", _at("time_to_assign_s", "p50"), ("assign",)),
    "time_to_assign_p90": SeriesMetric("Time to assign, p90", "s", _at("time_to_assign_s", "p90"), ("assign",)),
    "pickup_wait_p50": SeriesMetric("Pickup wait, median", "s", _at("pickup_wait_s", "p50"), ("wait",)),
    "pickup_wait_p90": SeriesMetric("Pickup wait, p90", "s", _at("pickup_wait_s", "p90"), ("wait",)),
    "response_time_p50": SeriesMetric("Driver response, median", "s", _at("response_time_s", "p50"), ("response",)),
    "eta_mae": SeriesMetric("ETA mean error", "s", _at("eta", "mae_s")),
    "eta_bias": SeriesMetric("ETA bias (late +)", "s", _at("eta", "bias_s")),
    "eta_within_band": SeriesMetric("ETAs kept", "share", _at("eta", "within_band")),
    "revenue": SeriesMetric("Revenue", "minor", lambda s: None, revenue=True),  # per currency: see series_value
    "online_hours": SeriesMetric("Driver hours online", "h", _at("driver_hours", "online")),
    "available_hours": SeriesMetric("Driver hours available", "h", _at("driver_hours", "available")),
    "on_trip_hours": SeriesMetric("Driver hours on trip", "h", _at("driver_hours", "on_trip")),
    "utilisation": SeriesMetric("Utilisation", "share", _at("utilisation")),
    "surge_avg": SeriesMetric("Average surge", "×", _at("surge_avg")),
}


def series_value(metric: SeriesMetric, summary: dict | None, currency: str | None) -> float | None:
    """A bucket's value; ``summary`` None is a bucket with nothing in it."""
    if summary is None:
        return 0 if metric.count else None
    if metric.revenue:
        return summary["revenue_minor"].get(currency, 0) if currency else 0
    return metric.read(summary)


@dataclass(frozen=True)
class CellMetric:
    label: str
    unit: str
    key: str  # in kpis.supply_demand()


CELLS: dict[str, CellMetric] = {
    "demand": CellMetric("Requests", "count", "demand"),
    "unmet": CellMetric("No driver (unmet demand)", "count", "unmet"),
    "supply": CellMetric("Driver hours available", "h", "supply_hours"),
    "utilisation": CellMetric("Utilisation", "share", "utilisation"),
    "surge": CellMetric("Average surge", "×", "surge_avg"),
}


def flatten(summary: dict, prefix: str = "") -> list[tuple[str, object]]:
    """A summary's keys as dotted paths ("time_to_assign_s.p50"), for CSV rows."""
    out: list[tuple[str, object]] = []
    for key, value in summary.items():
        if isinstance(value, dict):
            out.extend(flatten(value, f"{prefix}{key}."))
        else:
            out.append((f"{prefix}{key}", value))
    return out
