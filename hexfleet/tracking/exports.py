"""A driver's history as files (pure): GPX 1.1 for mapping tools, CSV for spreadsheets.

GPX: the track as ``trk/trkseg/trkpt`` (time, ``ele`` when the phone sent an altitude,
speed and course in Garmin's TrackPointExtension v2, which GPX 1.1 readers know), a new
``trkseg`` after a gap (``replay.GAP_S``), the stops as waypoints of type ``stop`` and the
flagged fixes as waypoints of type ``flagged``, so no reader joins them into the line.

CSV: every fix, times in ISO 8601 UTC; ``flagged`` is true for the fixes kept off the track
(implausible jumps, poor accuracy), ``flag`` the stored reason (a late, ``out-of-order``
fix has one but is on the track: sorted by device time it is in its place); ``place`` the
nearest of the operator's places within the label radius and ``place_distance_m`` how far it
is (both empty when none is near).

Places are named by the caller (``place_of``, ``stop_labels``): these functions stay pure.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from hexfleet.places.exports import protect_formula
from hexfleet.places.labels import Label
from hexfleet.tracking.filters import DESCRIPTIONS
from hexfleet.tracking.replay import GAP_S, Replay

GPX_NS = "http://www.topografix.com/GPX/1/1"
TPX_NS = "http://www.garmin.com/xmlschemas/TrackPointExtension/v2"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = (
    "http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd "
    "http://www.garmin.com/xmlschemas/TrackPointExtension/v2 "
    "http://www.garmin.com/xmlschemas/TrackPointExtensionv2.xsd"
)
CSV_COLUMNS = (
    "time_utc",
    "latitude",
    "longitude",
    "speed_mps",
    "heading_deg",
    "accuracy_m",
    "altitude_m",
    "flagged",
    "flag",
    "place",
    "place_distance_m",
)

# Characters XML 1.0 cannot carry even escaped (control characters, lone surrogates):
# escaping turns <, & and > into entities but would leave these as they are.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def iso_utc(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def _num(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"


def _text(text: str) -> str:
    return escape(xml_text(text))


def _wpt(lat: float, lng: float, *parts: str) -> str:
    return f'<wpt lat="{_num(lat, 7)}" lon="{_num(lng, 7)}">{"".join(parts)}</wpt>'


def to_gpx(
    replay: Replay,
    driver_name: str,
    start_ts: float,
    end_ts: float,
    truncated: bool = False,
    stop_labels: Sequence[str | None] = (),
) -> bytes:
    """GPX 1.1 of one driver's replay (UTF-8 bytes with the XML declaration). ``stop_labels``:
    each stop's place ("Alexanderplatz, 60 m") or None, in the order of ``replay.stops``; a
    stop's waypoint is named by it ("Stop, 5 min: Alexanderplatz, 60 m").

    Written as text, not through ElementTree: a day of fixes is about 200,000 elements,
    which ElementTree took a second to build and write. Only the driver's name and the places'
    names are text from outside; they are escaped (``_text``), everything else is numbers,
    times and fixed words."""
    name = _text(driver_name)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<gpx xmlns="{GPX_NS}" xmlns:gpxtpx="{TPX_NS}" xmlns:xsi="{XSI_NS}" version="1.1" creator="hexfleet" '
        f'xsi:schemaLocation="{SCHEMA_LOCATION}">',
        f"<metadata><name>{name}: {iso_utc(start_ts)} to {iso_utc(end_ts)}</name>",
    ]
    if truncated:
        out.append(f"<desc>Only the first {replay.summary.fixes + replay.summary.flagged} fixes of the range.</desc>")
    out.append(f"<time>{iso_utc(end_ts)}</time></metadata>")
    for i, stop in enumerate(replay.stops):
        where = stop_labels[i] if i < len(stop_labels) else None
        out.append(
            _wpt(
                stop.lat,
                stop.lng,
                f"<time>{iso_utc(stop.start_ts)}</time>",
                f"<name>Stop, {_duration(stop.duration_s)}{': ' + _text(where) if where else ''}</name>",
                f"<desc>{iso_utc(stop.start_ts)} to {iso_utc(stop.end_ts)}</desc>",
                "<type>stop</type>",
            )
        )
    for fix in replay.flagged:
        out.append(
            _wpt(
                fix.lat,
                fix.lng,
                "" if fix.altitude_m is None else f"<ele>{_num(fix.altitude_m, 1)}</ele>",
                f"<time>{iso_utc(fix.ts)}</time>",
                f"<name>Flagged: {_text(DESCRIPTIONS.get(fix.flag or '', fix.flag or ''))}</name>",
                "<type>flagged</type>",
            )
        )
    out.append(f"<trk><name>{name}</name>")
    previous = None
    for fix, speed in zip(replay.track, replay.speeds, strict=True):
        if previous is None:
            out.append("<trkseg>")
        elif fix.ts - previous > GAP_S:
            out.append("</trkseg><trkseg>")
        previous = fix.ts
        point = f'<trkpt lat="{_num(fix.lat, 7)}" lon="{_num(fix.lng, 7)}">'
        if fix.altitude_m is not None:
            point += f"<ele>{_num(fix.altitude_m, 1)}</ele>"
        point += f"<time>{iso_utc(fix.ts)}</time>"
        if speed is not None or fix.heading is not None:
            point += "<extensions><gpxtpx:TrackPointExtension>"
            if speed is not None:
                point += f"<gpxtpx:speed>{_num(speed, 2)}</gpxtpx:speed>"
            if fix.heading is not None:
                point += f"<gpxtpx:course>{_num(fix.heading % 360, 1)}</gpxtpx:course>"
            point += "</gpxtpx:TrackPointExtension></extensions>"
        out.append(point + "</trkpt>")
    if previous is not None:
        out.append("</trkseg>")
    out.append("</trk></gpx>\n")
    return "".join(out).encode()


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def to_csv(replay: Replay, place_of: Callable[[float, float], Label | None] | None = None) -> str:
    """Every fix in device-time order, the flagged ones marked (flagged=true and the reason),
    and the place each is at (``place_of(lat, lng)``: the nearest within the label radius, or
    None; without it the place columns stay empty).

    The speed is the one the phone reported (empty when none): the file keeps what was
    stored; the page's derived speeds are the page's. A place's name is the operator's text:
    one a spreadsheet would run as a formula gets a quote before it (``protect_formula``)."""
    fixes = sorted([*replay.track, *replay.flagged], key=lambda f: f.ts)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    named: dict[str, str] = {}  # a day passes the same few places thousands of times
    label: Label | None = None
    last: tuple[float, float] | None = None
    for fix in fixes:
        # A phone standing still often reports the very same position again: asked once (~3 µs a lookup).
        if place_of is not None and (fix.lat, fix.lng) != last:
            last = (fix.lat, fix.lng)
            label = place_of(fix.lat, fix.lng)
        if label is None:
            place, metres = "", ""
        else:
            place = named.get(label.name) or named.setdefault(label.name, protect_formula(label.name))
            metres = "" if label.distance_m is None else str(label.distance_m)
        writer.writerow(
            (
                iso_utc(fix.ts),
                _num(fix.lat, 7),
                _num(fix.lng, 7),
                "" if fix.speed_mps is None else _num(fix.speed_mps, 2),
                "" if fix.heading is None else _num(fix.heading, 1),
                "" if fix.accuracy_m is None else _num(fix.accuracy_m, 1),
                "" if fix.altitude_m is None else _num(fix.altitude_m, 1),
                "false" if fix.on_track else "true",
                fix.flag or "",
                place,
                metres,
            )
        )
    return out.getvalue()


def safe_filename(driver_id: int, driver_name: str, start_ts: float, suffix: str) -> str:
    """hexfleet-<id>-<name, ASCII letters and digits only>-<start, UTC>.<suffix>: safe in a
    Content-Disposition header and on every file system."""
    slug = re.sub(r"[^a-z0-9]+", "-", driver_name.lower()).strip("-")[:40].strip("-")
    stamp = datetime.fromtimestamp(start_ts, UTC).strftime("%Y%m%dT%H%MZ")
    return "-".join(part for part in ("hexfleet", str(driver_id), slug, stamp) if part) + "." + suffix
