"""A driver's history as files (pure): GPX 1.1 for mapping tools, CSV for spreadsheets.

GPX: the track as ``trk/trkseg/trkpt`` (time, ``ele`` when the phone sent an altitude,
speed and course in Garmin's TrackPointExtension v2, which GPX 1.1 readers know), a new
``trkseg`` after a gap (``replay.GAP_S``), the stops as waypoints of type ``stop`` and the
flagged fixes as waypoints of type ``flagged``, so no reader joins them into the line.

CSV: every fix, times in ISO 8601 UTC; ``flagged`` is true for the fixes kept off the track
(implausible jumps, poor accuracy), ``flag`` the stored reason (a late, ``out-of-order``
fix has one but is on the track: sorted by device time it is in its place).
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

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
)

# Characters XML 1.0 cannot carry even escaped (control characters, lone surrogates):
# ElementTree escapes <, & and quotes but would write these as they are.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def iso_utc(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def _num(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{GPX_NS}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def to_gpx(replay: Replay, driver_name: str, start_ts: float, end_ts: float, truncated: bool = False) -> bytes:
    """GPX 1.1 of one driver's replay (UTF-8 bytes with the XML declaration)."""
    ET.register_namespace("", GPX_NS)
    ET.register_namespace("gpxtpx", TPX_NS)
    ET.register_namespace("xsi", XSI_NS)
    name = xml_text(driver_name)
    root = ET.Element(
        f"{{{GPX_NS}}}gpx", {"version": "1.1", "creator": "hexfleet", f"{{{XSI_NS}}}schemaLocation": SCHEMA_LOCATION}
    )
    meta = _sub(root, "metadata")
    _sub(meta, "name", f"{name}: {iso_utc(start_ts)} to {iso_utc(end_ts)}")
    if truncated:
        _sub(meta, "desc", f"Only the first {replay.summary.fixes + replay.summary.flagged} fixes of the range.")
    _sub(meta, "time", iso_utc(end_ts))
    for stop in replay.stops:
        wpt = _sub(root, "wpt", lat=_num(stop.lat, 7), lon=_num(stop.lng, 7))
        _sub(wpt, "time", iso_utc(stop.start_ts))
        _sub(wpt, "name", f"Stop, {_duration(stop.duration_s)}")
        _sub(wpt, "desc", f"{iso_utc(stop.start_ts)} to {iso_utc(stop.end_ts)}")
        _sub(wpt, "type", "stop")
    for fix in replay.flagged:
        wpt = _sub(root, "wpt", lat=_num(fix.lat, 7), lon=_num(fix.lng, 7))
        if fix.altitude_m is not None:
            _sub(wpt, "ele", _num(fix.altitude_m, 1))
        _sub(wpt, "time", iso_utc(fix.ts))
        _sub(wpt, "name", f"Flagged: {DESCRIPTIONS.get(fix.flag or '', fix.flag or '')}")
        _sub(wpt, "type", "flagged")
    trk = _sub(root, "trk")
    _sub(trk, "name", name)
    segment = None
    previous = None
    for fix, speed in zip(replay.track, replay.speeds, strict=True):
        if segment is None or (previous is not None and fix.ts - previous > GAP_S):
            segment = _sub(trk, "trkseg")
        previous = fix.ts
        point = _sub(segment, "trkpt", lat=_num(fix.lat, 7), lon=_num(fix.lng, 7))
        if fix.altitude_m is not None:
            _sub(point, "ele", _num(fix.altitude_m, 1))
        _sub(point, "time", iso_utc(fix.ts))
        if speed is not None or fix.heading is not None:
            ext = ET.SubElement(_sub(point, "extensions"), f"{{{TPX_NS}}}TrackPointExtension")
            if speed is not None:
                ET.SubElement(ext, f"{{{TPX_NS}}}speed").text = _num(speed, 2)
            if fix.heading is not None:
                ET.SubElement(ext, f"{{{TPX_NS}}}course").text = _num(fix.heading % 360, 1)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def to_csv(replay: Replay) -> str:
    """Every fix in device-time order, the flagged ones marked (flagged=true and the reason).

    The speed is the one the phone reported (empty when none): the file keeps what was
    stored; the page's derived speeds are the page's."""
    fixes = sorted([*replay.track, *replay.flagged], key=lambda f: f.ts)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for fix in fixes:
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
            )
        )
    return out.getvalue()


def safe_filename(driver_id: int, driver_name: str, start_ts: float, suffix: str) -> str:
    """hexfleet-<id>-<name, ASCII letters and digits only>-<start, UTC>.<suffix>: safe in a
    Content-Disposition header and on every file system."""
    slug = re.sub(r"[^a-z0-9]+", "-", driver_name.lower()).strip("-")[:40].strip("-")
    stamp = datetime.fromtimestamp(start_ts, UTC).strftime("%Y%m%dT%H%MZ")
    return "-".join(part for part in ("hexfleet", str(driver_id), slug, stamp) if part) + "." + suffix
