"""The analytics API's answers as CSV files (pure): one table per answer, a file name per range.

Numbers as the JSON has them (shares 0–1, times in seconds, hours, money in integer minor
units with the currency in the column name), times in RFC 3339 UTC; a text a spreadsheet would
run as a formula (a driver named "=HYPERLINK(...)") gets a quote before it.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from hexfleet.analytics.metrics import flatten
from hexfleet.places.exports import protect_formula


def _write(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else protect_formula(v) if isinstance(v, str) else v for v in row])
    return out.getvalue()


def filename(kind: str, start: datetime, end: datetime, tz: str) -> str:
    """hexfleet-analytics-<kind>-<first day>-<last day>.csv, the days in ``tz`` (ASCII only:
    safe in a Content-Disposition header and on every file system)."""
    zone = ZoneInfo(tz)
    first = start.astimezone(zone).strftime("%Y%m%d")
    last = end.astimezone(zone).strftime("%Y%m%d")
    days = first if first == last else f"{first}-{last}"
    return f"hexfleet-analytics-{kind}-{days}.csv"


def summary_csv(report: dict) -> str:
    """kpi, value, previous: one row per key of the summary ("time_to_assign_s.p50")."""
    skip = {"from", "to", "tz", "vehicle_class", "cells", "previous"}
    now = {k: v for k, v in flatten({k: v for k, v in report.items() if k not in skip})}
    then = {k: v for k, v in flatten({k: v for k, v in report["previous"].items() if k not in ("from", "to")})}
    keys = list(now) + [k for k in then if k not in now]
    rows = [["from", report["from"], report["previous"]["from"]], ["to", report["to"], report["previous"]["to"]]]
    rows += [[k, now.get(k), then.get(k)] for k in keys]
    return _write(["kpi", "value", "previous"], rows)


def series_csv(report: dict) -> str:
    unit = report["unit"] if report["currency"] is None else f"{report['currency']} minor units"
    return _write(["bucket_start", f"{report['metric']} ({unit})"], [[p["t"], p["value"]] for p in report["points"]])


CELL_COLUMNS = ["demand", "searches", "unmet", "supply_hours", "online_hours", "utilisation", "surge_avg"]


def cells_csv(report: dict) -> str:
    rows = []
    for c in report["cells"]:
        lats = [p[0] for p in c["outline"]]
        lngs = [p[1] for p in c["outline"]]
        centre = [round(sum(lats) / len(lats), 6), round(sum(lngs) / len(lngs), 6)]
        rows.append([c["cell"], *centre, *(c[k] for k in CELL_COLUMNS)])
    return _write(["cell", "lat", "lng", *CELL_COLUMNS], rows)


def drivers_csv(report: dict) -> str:
    currencies = sorted({cur for d in report["drivers"] for cur in d["revenue_minor"]})
    header = [
        "driver_id",
        "name",
        "online_h",
        "available_h",
        "en_route_h",
        "on_trip_h",
        "utilisation",
        "trips",
        "offers",
        "acceptance_rate",
        "released",
        "distance_km",
        *(f"revenue_{c}_minor" for c in currencies),
    ]
    rows = []
    for d in report["drivers"]:
        h = d["hours"]
        rows.append(
            [
                d["id"],
                d["name"] if d["name"] is not None else "",
                h["online"],
                h["available"],
                h["en_route"],
                h["on_trip"],
                d["utilisation"],
                d["trips"],
                d["offers"],
                d["acceptance_rate"],
                d["released"],
                d["distance_km"],
                *(d["revenue_minor"].get(c, 0) for c in currencies),
            ]
        )
    return _write(header, rows)


def outlook_csv(report: dict) -> str:
    rows = [[c["cell"], c["expected"], c["available"], c["capacity"], c["gap"], c["short"]] for c in report["cells"]]
    return _write(["cell", "expected_requests", "available_drivers", "capacity", "gap", "short"], rows)
