"""The analytics API's answers, built from rollups (the web API and the bench call these).

Each takes a connection and what the caller asked for, already checked
(``hexfleet.analytics.params``), and returns the JSON-ready dict the API sends; the CSV files
are made from the same dicts (``hexfleet.analytics.exports``).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from hexfleet.analytics import kpis, metrics, outlook
from hexfleet.analytics import queries as aq
from hexfleet.analytics.params import Range, buckets, hours_of_week
from hexfleet.geo import cell_boundary, cell_name, parent_cell
from hexfleet.tracking import timerange

RESOLUTION = 7


def _span(span: Range) -> dict:
    return {"from": timerange.rfc3339(span.start), "to": timerange.rfc3339(span.end)}


def outline(cell: int) -> list[list[float]]:
    """A cell's outline as [lat, lng] pairs (Leaflet's order), 6 decimals (about 0.1 m)."""
    return [[round(lat, 6), round(lng, 6)] for lat, lng in cell_boundary(cell)]


async def summary(
    conn, span: Range, *, vehicle_class: str | None = None, cells: set[int] | None = None, tz: str = "UTC"
) -> dict:
    """The KPIs of the range, and of the same length before it under ``previous``."""
    now = kpis.summary(await aq.range_totals(conn, span.start, span.end, vehicle_class=vehicle_class, cells=cells))
    before = span.previous
    then = kpis.summary(await aq.range_totals(conn, before.start, before.end, vehicle_class=vehicle_class, cells=cells))
    return {
        **_span(span),
        "tz": tz,
        "vehicle_class": vehicle_class,
        "cells": None if cells is None else len(cells),
        **now,
        "previous": {**_span(before), **then},
    }


async def series(
    conn,
    span: Range,
    metric_name: str,
    bucket: str,
    tz: str,
    *,
    vehicle_class: str | None = None,
    cells: set[int] | None = None,
) -> dict:
    """One metric per hour or per local day, a point for every bucket (empty ones: 0 for counts,
    null for rates and times). Revenue is shown in the range's main currency (the one with the
    most revenue), named in ``currency``."""
    metric = metrics.SERIES[metric_name]
    rows = await aq.series(
        conn,
        span.start,
        span.end,
        bucket,
        tz,
        vehicle_class=vehicle_class,
        cells=cells,
        histograms=metric.histograms,
        revenue=metric.revenue,
    )
    found = {start: kpis.summary(t) for start, t in rows}
    currency = None
    if metric.revenue:
        sums: Counter[str] = Counter()
        for s in found.values():
            sums.update(s["revenue_minor"])
        currency = sums.most_common(1)[0][0] if sums else None
    starts = sorted(set(buckets(span, bucket, tz)) | set(found))
    points = [
        {"t": timerange.rfc3339(t), "value": metrics.series_value(metric, found.get(t), currency)} for t in starts
    ]
    return {
        **_span(span),
        "tz": tz,
        "metric": metric_name,
        "label": metric.label,
        "unit": metric.unit,
        "bucket": bucket,
        "vehicle_class": vehicle_class,
        "currency": currency,
        "points": points,
    }


async def cells(
    conn,
    span: Range,
    metric_name: str,
    tz: str,
    *,
    vehicle_class: str | None = None,
    cells: set[int] | None = None,
    how: int | None = None,
) -> dict:
    """Supply and demand per resolution-7 cell over the range (or only its hours at hour of week
    ``how`` in ``tz``), each with its outline and the chosen metric as ``value``."""
    metric = metrics.CELLS[metric_name]
    if how is None:
        found = await aq.per_cell(conn, span.start, span.end, vehicle_class=vehicle_class, cells=cells)
        hours = None
    else:
        at = hours_of_week(span, how, tz)
        found = await aq.per_cell_at(conn, at, vehicle_class=vehicle_class, cells=cells) if at else {}
        hours = len(at)
    out = []
    for cell, totals in sorted(found.items()):
        figures = kpis.supply_demand(totals)
        out.append({"cell": cell_name(cell), "value": figures[metric.key], **figures, "outline": outline(cell)})
    return {
        **_span(span),
        "tz": tz,
        "metric": metric_name,
        "label": metric.label,
        "unit": metric.unit,
        "vehicle_class": vehicle_class,
        "how": how,
        "hours": hours,
        "cells": out,
    }


async def drivers(conn, span: Range) -> dict:
    """Every driver with anything in the range: hours, trips, acceptance, revenue, distance."""
    rows = await aq.per_driver(conn, span.start, span.end)
    return {
        **_span(span),
        "drivers": [{"id": d, "name": name, **kpis.driver_summary(t)} for d, name, t in rows],
    }


async def judged_outlook(
    conn, available_cells: dict[int, int], now: datetime, weeks: int
) -> tuple[list[outlook.CellOutlook], list[bool], list[float]]:
    """(each resolution-7 cell judged, which weeks were known, their weights): the outlook's
    figures without the report around them (the alerts desk asks which cells are short)."""
    pairs = outlook.history_hours(now, weeks)
    hours = [h for pair in pairs for h in pair]
    counts_at = await aq.requests_at(conn, hours)
    done = await aq.rolled_up(conn, hours)
    known = [this in done and after in done for this, after in pairs]
    by_cell: dict[int, list[tuple[float, float]]] = {}
    for cell in {c for _, c in counts_at}:
        by_cell[cell] = [(counts_at.get((this, cell), 0), counts_at.get((after, cell), 0)) for this, after in pairs]
    available = Counter(parent_cell(c, RESOLUTION) for c in available_cells.values())
    _, share = outlook.window(now)
    week_weights = outlook.weights(weeks)
    return outlook.outlook(by_cell, known, share, available, week_weights), known, week_weights


async def demand_outlook(conn, available_cells: dict[int, int], now: datetime, weeks: int) -> dict:
    """The coming hour's expected requests per resolution-7 cell against the drivers available
    there now (``available_cells``: driver id → the live index cell of each available driver
    with a fresh fix, at any resolution of 7 or finer)."""
    judged, known, week_weights = await judged_outlook(conn, available_cells, now, weeks)
    return {
        "at": timerange.rfc3339(now),
        "weeks": weeks,
        "weeks_known": sum(known),
        "weights": [round(w, 3) for w in week_weights],
        "rides_per_driver_hour": outlook.RIDES_PER_DRIVER_HOUR,
        "short_cells": sum(c.short for c in judged),
        "cells": [
            {
                "cell": cell_name(c.cell),
                "expected": c.expected,
                "available": c.available,
                "capacity": c.capacity,
                "gap": c.gap,
                "short": c.short,
                "outline": outline(c.cell),
            }
            for c in judged
        ],
    }
