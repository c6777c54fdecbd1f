"""History replay's pure parts: time ranges, stops, speeds, the summary, GPX and CSV.

Fixes here start near the epoch (T0): nothing is judged against the clock, and the
time-bomb guard (tests/test_time_bombs.py) has no fixed date to find. The time-range
tables build their date strings from today for the same reason.
"""

from __future__ import annotations

import csv
import io
import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hexfleet.geo import haversine_m
from hexfleet.places.labels import LabelPlace, PlaceIndex
from hexfleet.tracking import exports, replay, timerange
from hexfleet.tracking.filters import IMPLAUSIBLE_JUMP, INACCURATE, OUT_OF_ORDER
from hexfleet.tracking.replay import GAP, Fix

T0 = 1_000.0
BERLIN = (52.52, 13.405)
GPX = {"g": exports.GPX_NS, "x": exports.TPX_NS}


def moved(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_195.0, lng + east_m / (111_195.0 * math.cos(math.radians(lat)))


def drive(start: float, origin, seconds: float, speed_mps: float, every: float = 2.0, report_speed: bool = True):
    """Fixes every ``every`` s driving east from ``origin``."""
    steps = int(seconds / every)
    return [
        Fix(
            start + i * every,
            *moved(*origin, 0, speed_mps * i * every),
            speed_mps=speed_mps if report_speed else None,
        )
        for i in range(1, steps + 1)
    ]


def stand(start: float, place, seconds: float, every: float = 2.0, noise_m: float = 5.0):
    """Fixes every ``every`` s at ``place``, wobbling by up to ``noise_m`` (a deterministic wobble)."""
    steps = int(seconds / every)
    return [
        Fix(
            start + i * every,
            *moved(*place, noise_m * math.sin(i * 1.7), noise_m * math.cos(i * 2.3)),
            speed_mps=0.0,
        )
        for i in range(steps + 1)
    ]


def end_of(fixes: list[Fix]) -> tuple[float, float]:
    return fixes[-1].lat, fixes[-1].lng


# ------------------------------------------------------------------ which fixes make the track


@pytest.mark.parametrize(
    ("flag", "on_track"),
    [(None, True), (OUT_OF_ORDER, True), (IMPLAUSIBLE_JUMP, False), (INACCURATE, False), ("something-new", False)],
)
def test_flags_decide_what_is_on_the_track(flag, on_track):
    assert Fix(T0, *BERLIN, flag=flag).on_track is on_track


def test_split_keeps_the_order_of_each_part():
    fixes = [
        Fix(T0, *BERLIN),
        Fix(T0 + 1, *BERLIN, flag=INACCURATE),
        Fix(T0 + 2, *BERLIN, flag=OUT_OF_ORDER),
        Fix(T0 + 3, *BERLIN, flag=IMPLAUSIBLE_JUMP),
    ]
    track, flagged = replay.split(fixes)
    assert [f.ts for f in track] == [T0, T0 + 2]
    assert [f.ts for f in flagged] == [T0 + 1, T0 + 3]


# ------------------------------------------------------------------ distance and speed


@pytest.mark.parametrize(
    ("north_m", "east_m"),
    [(1000, 0), (0, 1000), (300, -400), (7000, 7000), (0, 0)],
)
def test_segment_lengths_match_the_haversine(north_m, east_m):
    a = Fix(T0, *BERLIN)
    b = Fix(T0 + 60, *moved(*BERLIN, north_m, east_m))
    [length] = replay.segment_lengths([a, b])
    assert length == pytest.approx(haversine_m(a.lat, a.lng, b.lat, b.lng), rel=1e-4, abs=1e-6)


def test_long_segments_are_measured_on_the_sphere():
    paris = Fix(T0 + 3600, 48.8566, 2.3522)
    [length] = replay.segment_lengths([Fix(T0, *BERLIN), paris])
    assert length == pytest.approx(haversine_m(*BERLIN, paris.lat, paris.lng))
    assert 870_000 < length < 890_000


@pytest.mark.parametrize(
    ("kmh", "band"),
    [(None, 0), (0, 0), (9.9, 0), (10, 1), (29.9, 1), (30, 2), (49.99, 2), (50, 3), (79.9, 3), (80, 4), (250, 4)],
)
def test_speed_bands(kmh, band):
    assert replay.speed_band(None if kmh is None else kmh / 3.6) == band


def test_speeds_are_reported_or_derived_from_the_previous_fix():
    a = Fix(T0, *BERLIN)  # first, no speed: unknown
    b = Fix(T0 + 10, *moved(*BERLIN, 0, 100))  # 100 m in 10 s: 10 m/s derived
    c = Fix(T0 + 20, *moved(*BERLIN, 0, 150), speed_mps=7.5)  # reported wins
    d = Fix(T0 + 30, *moved(*BERLIN, 0, 250), speed_mps=-1.0)  # -1 means "unknown" to some apps
    e = Fix(T0 + 30, *moved(*BERLIN, 0, 260))  # no time passed: unknown
    f = Fix(T0 + 40, *moved(*BERLIN, 0, 260), speed_mps=float("nan"))
    speeds = replay.point_speeds([a, b, c, d, e, f])
    assert speeds[0] is None
    assert speeds[1] == pytest.approx(10.0, rel=1e-3)
    assert speeds[2] == 7.5
    assert speeds[3] == pytest.approx(10.0, rel=1e-3)
    assert speeds[4] is None
    assert speeds[5] == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------------------------ stops

AFTER_DRIVE = 600.0


def route_with(*parts):
    """Concatenate parts; each is a function of (start time, start place) returning fixes."""
    fixes: list[Fix] = [Fix(T0, *BERLIN, speed_mps=0.0)]
    for part in parts:
        fixes += part(fixes[-1].ts, end_of(fixes))
    return fixes


def driving(seconds, speed=10.0):
    return lambda start, place: drive(start, place, seconds, speed)


def standing(seconds, noise=5.0):
    return lambda start, place: stand(start + 2, place, seconds - 2, noise_m=noise)


# A stop reaches from the first fix within STOP_RADIUS_M of where the driver stood to the
# last: at 10 m/s with a fix every 2 s, the approach and the departure add about 4 s.
@pytest.mark.parametrize(
    ("parts", "durations", "why"),
    [
        ((driving(600),), [], "a drive without stopping"),
        ((driving(300), standing(180), driving(300)), [184], "three minutes at a closed road"),
        ((driving(300), standing(100), driving(300)), [], "100 s is a traffic light, not a stop"),
        ((driving(300), standing(112), driving(300)), [], "116 s within 50 m: just short"),
        ((driving(300), standing(116), driving(300)), [120], "120 s within 50 m: exactly the minimum"),
        ((driving(300), standing(300, noise=20), driving(300)), [306], "GPS wobbling 20 m is still standing"),
        ((driving(300), standing(180), driving(120), standing(240), driving(60)), [184, 244], "two stops"),
        ((standing(200), driving(300)), [204], "stopped at the start"),
        ((driving(300), standing(400)), [404], "stopped at the end"),
        ((driving(300, speed=0.3),), [300], "creeping 90 m in 5 min"),
    ],
)
def test_stops(parts, durations, why):
    track = route_with(*parts)
    stops = replay.find_stops(track)
    assert [s.duration_s for s in stops] == durations, why


def test_a_stop_is_where_the_driver_stood():
    track = route_with(driving(300), standing(180), driving(300))
    place = end_of(track[: 1 + 150])  # where the drive ended
    [stop] = replay.find_stops(track)
    assert haversine_m(stop.lat, stop.lng, *place) < 10
    assert track[stop.first].ts <= T0 + 302 and track[stop.last].ts >= T0 + 300 + 178
    assert stop.start_ts == track[stop.first].ts and stop.end_ts == track[stop.last].ts


def test_a_parked_phone_that_was_off_is_one_long_stop():
    track = [Fix(T0, *BERLIN), Fix(T0 + 1800, *moved(*BERLIN, 3, 2)), *drive(T0 + 1800, BERLIN, 60, 10)]
    [stop] = replay.find_stops(track)
    assert stop.first == 0 and stop.end_ts - T0 - 1800 == 4  # and 2 fixes of the drive away from it


def test_a_stop_cut_in_two_by_noise_is_one_stop():
    # Arriving at -20 m, then standing at +10 m and at +35 m: the +35 m fixes are more than
    # 50 m from the first fix of the stop, but both halves are one place.
    arrive = [Fix(T0, *moved(*BERLIN, 0, -20))]
    first = [Fix(T0 + 2 * i, *moved(*BERLIN, 0, 10)) for i in range(1, 76)]
    second = [Fix(T0 + 150 + 2 * i, *moved(*BERLIN, 0, 35)) for i in range(1, 76)]
    stops = replay.find_stops(arrive + first + second)
    assert [(s.first, s.last) for s in stops] == [(0, 150)]
    assert stops[0].duration_s == 300


def test_stops_cost_a_few_looks_per_fix_on_a_day_of_driving():
    track = route_with(*[part for _ in range(60) for part in (driving(600), standing(300))])
    assert len(track) > 25_000
    assert len(replay.find_stops(track)) == 60


def test_no_fixes_no_stops():
    assert replay.find_stops([]) == []
    assert replay.find_stops([Fix(T0, *BERLIN)]) == []


# ------------------------------------------------------------------ speed runs


def test_runs_follow_the_speed_bands_and_gaps():
    speeds_kmh = [0, 5, 5, 40, 40, 40, 5, 5]
    track = [Fix(T0 + 2 * i, *BERLIN, speed_mps=v / 3.6) for i, v in enumerate(speeds_kmh)]
    track.append(Fix(T0 + 2 * len(speeds_kmh) + 600, *BERLIN, speed_mps=5 / 3.6))  # 10 min later
    track.append(Fix(T0 + 2 * len(speeds_kmh) + 602, *BERLIN, speed_mps=5 / 3.6))
    runs = replay.speed_runs(track, replay.point_speeds(track))
    assert [(r.first, r.last, r.band) for r in runs] == [(0, 2, 0), (2, 5, 2), (5, 7, 0), (7, 8, GAP), (8, 9, 0)]


@pytest.mark.parametrize("count", [0, 1])
def test_runs_of_almost_nothing(count):
    track = [Fix(T0, *BERLIN)][:count]
    assert replay.speed_runs(track, replay.point_speeds(track)) == []


# ------------------------------------------------------------------ the summary and JSON


def test_summary_of_a_drive_with_a_stop():
    track = route_with(driving(300, speed=10), standing(180), driving(300, speed=15))
    flagged = [Fix(T0 + 50, 0.0, 0.0, flag=IMPLAUSIBLE_JUMP), Fix(T0 + 51, *BERLIN, flag=INACCURATE)]
    result = replay.analyse(sorted(track + flagged, key=lambda f: f.ts))
    s = result.summary
    assert s.fixes == len(track) and s.flagged == 2
    assert s.duration_s == pytest.approx(780)
    assert s.stops == 1 and s.stopped_s == 184
    assert s.moving_s == pytest.approx(780 - s.stopped_s)
    # 3,000 m + 4,500 m of driving; not the stand's wobble (it would add 900 m), nor the
    # flagged jump to 0,0.
    assert s.distance_m == pytest.approx(7_500, abs=10)
    assert s.max_speed_mps == 15
    assert s.avg_speed_mps == pytest.approx(s.distance_m / s.moving_s)


def test_summary_of_nothing():
    s = replay.analyse([]).summary
    assert (s.fixes, s.flagged, s.distance_m, s.duration_s, s.stops) == (0, 0, 0, 0, 0)
    assert s.max_speed_mps is None and s.avg_speed_mps is None


def test_json_rows_follow_the_columns():
    fixes = [
        Fix(T0, 52.5, 13.4, speed_mps=3.25, heading=90.5, accuracy_m=4.0, altitude_m=35.2),
        Fix(T0 + 3, *moved(52.5, 13.4, 0, 10)),  # speed derived: 10 m in 3 s
        Fix(T0 + 4, 52.6, 13.4, flag=IMPLAUSIBLE_JUMP),
    ]
    body = replay.to_json(replay.analyse(fixes))
    assert body["columns"] == ["t", "lat", "lng", "speed_mps", "heading", "accuracy_m", "altitude_m", "flag"]
    assert body["track"][0] == [T0, 52.5, 13.4, 3.25, 90.5, 4.0, 35.2, None]
    assert body["track"][1][3] == pytest.approx(3.33, abs=0.006) and len(str(body["track"][1][3])) <= 4
    assert body["flagged"] == [[T0 + 4, 52.6, 13.4, None, None, None, None, IMPLAUSIBLE_JUMP]]
    assert body["segments"] == [[0, 1, 1]]  # 10 m in 3 s is 12 km/h
    assert [b["below_kmh"] for b in body["bands"]] == [10, 30, 50, 80, None]
    assert body["summary"]["flagged"] == 1 and body["summary"]["fixes"] == 2


# ------------------------------------------------------------------ GPX


def gpx_of(fixes, name="Ada Lovelace", truncated=False, stop_labels=()) -> ET.Element:
    result = replay.analyse(fixes)
    data = exports.to_gpx(result, name, T0, T0 + 3600, truncated, stop_labels)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(data)


def test_gpx_has_the_track_with_times_elevation_and_speed():
    fixes = [
        Fix(T0, 52.5, 13.4, speed_mps=3.25, heading=370.0, altitude_m=35.2),
        Fix(T0 + 2.5, 52.5001, 13.4),
        Fix(T0 + 4, 52.6, 13.4, flag=IMPLAUSIBLE_JUMP, altitude_m=1.0),
    ]
    root = gpx_of(fixes)
    assert root.tag == f"{{{exports.GPX_NS}}}gpx" and root.get("version") == "1.1"
    points = root.findall("g:trk/g:trkseg/g:trkpt", GPX)
    assert [(p.get("lat"), p.get("lon")) for p in points] == [("52.5", "13.4"), ("52.5001", "13.4")]
    assert [p.findtext("g:time", namespaces=GPX) for p in points] == [exports.iso_utc(T0), exports.iso_utc(T0 + 2.5)]
    assert points[0].findtext("g:ele", namespaces=GPX) == "35.2" and points[1].find("g:ele", GPX) is None
    assert points[0].findtext("g:extensions/x:TrackPointExtension/x:speed", namespaces=GPX) == "3.25"
    assert points[0].findtext("g:extensions/x:TrackPointExtension/x:course", namespaces=GPX) == "10"
    derived = float(points[1].findtext("g:extensions/x:TrackPointExtension/x:speed", namespaces=GPX))
    assert derived == pytest.approx(11.12 / 2.5, rel=0.01)
    [flagged] = root.findall("g:wpt[g:type='flagged']", GPX)
    assert flagged.get("lat") == "52.6" and flagged.findtext("g:name", namespaces=GPX) == "Flagged: implausible jump"
    assert root.find("g:wpt[g:type='stop']", GPX) is None


def test_gpx_starts_a_new_segment_after_a_gap_and_lists_stops():
    track = route_with(driving(120), standing(300))
    # The phone was off for 20 minutes where it stood.
    later = [Fix(track[-1].ts + 1200, *end_of(track)), *drive(track[-1].ts + 1200, end_of(track), 60, 10)]
    root = gpx_of(track + later)
    segments = root.findall("g:trk/g:trkseg", GPX)
    assert [len(s) for s in segments] == [len(track), len(later)]
    [stop] = root.findall("g:wpt[g:type='stop']", GPX)
    assert stop.findtext("g:name", namespaces=GPX) == "Stop, 25 min"  # the 5 min stand and the 20 min gap


def test_gpx_names_each_stop_by_its_place():
    track = route_with(driving(120), standing(300), driving(120), standing(300), driving(60), standing(300))
    root = gpx_of(track, stop_labels=["Alexanderplatz, 60 m", None, 'Café <Bär> & "Söhne"\x00'])
    names = [stop.findtext("g:name", namespaces=GPX) for stop in root.findall("g:wpt[g:type='stop']", GPX)]
    assert names == ["Stop, 5 min: Alexanderplatz, 60 m", "Stop, 5 min", 'Stop, 5 min: Café <Bär> & "Söhne"\ufffd']


@pytest.mark.parametrize(
    "name",
    ["Ada & <Grace> \"Hopper\" 'x'", "</name><script>alert(1)</script>", "NUL\x00 and \x1b[31m and \ud800", "]]>"],
)
def test_gpx_escapes_the_driver_name(name):
    root = gpx_of([Fix(T0, *BERLIN)], name=name)
    expected = exports.xml_text(name)
    assert root.findtext("g:trk/g:name", namespaces=GPX) == expected
    assert root.findtext("g:metadata/g:name", namespaces=GPX).startswith(expected + ": ")
    assert "\x00" not in expected and "\ud800" not in expected


def test_gpx_says_when_it_was_cut_short():
    root = gpx_of([Fix(T0, *BERLIN)], truncated=True)
    assert "first 1 fixes" in root.findtext("g:metadata/g:desc", namespaces=GPX)
    assert gpx_of([Fix(T0, *BERLIN)]).find("g:metadata/g:desc", GPX) is None


# ------------------------------------------------------------------ CSV


def test_csv_lists_every_fix_in_time_order_flagged_ones_marked():
    fixes = [
        Fix(T0, 52.5, 13.4, speed_mps=3.25, heading=90.0, accuracy_m=4.0, altitude_m=35.2),
        Fix(T0 + 1.5, 52.6, 13.4, flag=IMPLAUSIBLE_JUMP),
        Fix(T0 + 2, 52.50001, 13.4, flag=OUT_OF_ORDER),
    ]
    rows = list(csv.reader(io.StringIO(exports.to_csv(replay.analyse(fixes)))))
    assert rows[0] == list(exports.CSV_COLUMNS)
    assert rows[1:] == [
        [exports.iso_utc(T0), "52.5", "13.4", "3.25", "90", "4", "35.2", "false", "", "", ""],
        [exports.iso_utc(T0 + 1.5), "52.6", "13.4", "", "", "", "", "true", IMPLAUSIBLE_JUMP, "", ""],
        [exports.iso_utc(T0 + 2), "52.50001", "13.4", "", "", "", "", "false", OUT_OF_ORDER, "", ""],
    ]
    assert exports.iso_utc(T0 + 1.5).endswith(".500Z") and exports.iso_utc(T0).endswith(":40Z")


def places_near(*places: tuple[str, float, float]) -> PlaceIndex:
    """An index of places (name, metres north of BERLIN, metres east), with the default 150 m radius."""
    return PlaceIndex(
        (LabelPlace(i, name, "other", *moved(*BERLIN, north, east)) for i, (name, north, east) in enumerate(places)),
        150.0,
    )


def test_csv_names_the_place_of_every_fix_within_the_radius():
    index = places_near(("Alexanderplatz", 0, 0), ('=HYPERLINK("http://evil")', 0, 1000), ("@SUM(A1)", 0, 2000))
    fixes = [
        Fix(T0, *moved(*BERLIN, 60, 0)),  # 60 m from the square
        Fix(T0 + 1, *moved(*BERLIN, 60, 0)),  # the very same position again
        Fix(T0 + 2, *moved(*BERLIN, 0, 10)),  # at it: within 25 m, the distance is still given
        Fix(T0 + 3, *moved(*BERLIN, 0, 500), flag=IMPLAUSIBLE_JUMP),  # flagged, and nothing near
        Fix(T0 + 4, *moved(*BERLIN, 0, 1040)),  # the operator's name looks like a formula
        Fix(T0 + 6, *moved(*BERLIN, 0, 2149)),  # at the edge of the radius
        Fix(T0 + 8, *moved(*BERLIN, 0, 2160)),  # just past it
    ]
    rows = list(csv.DictReader(io.StringIO(exports.to_csv(replay.analyse(fixes), index.nearest))))
    assert [(row["place"], row["place_distance_m"]) for row in rows] == [
        ("Alexanderplatz", "60"),
        ("Alexanderplatz", "60"),
        ("Alexanderplatz", "10"),
        ("", ""),
        ('\'=HYPERLINK("http://evil")', "40"),
        ("'@SUM(A1)", "149"),
        ("", ""),
    ]
    assert list(rows[0])[-2:] == ["place", "place_distance_m"]  # the columns before stay where they were


def test_csv_of_nothing_is_the_header():
    assert exports.to_csv(replay.analyse([])) == ",".join(exports.CSV_COLUMNS) + "\r\n"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Ada Lovelace", "ada-lovelace"),
        ('../../etc/passwd"; x=1', "etc-passwd-x-1"),
        ("Ünïcødé 😀", "n-c-d"),
        ("😀", ""),
        ("A" * 300, "a" * 40),
    ],
)
def test_export_file_names_are_safe(name, slug):
    filename = exports.safe_filename(7, name, T0, "gpx")
    stamp = datetime.fromtimestamp(T0, UTC).strftime("%Y%m%dT%H%MZ")
    assert filename == "-".join(p for p in ("hexfleet", "7", slug, stamp) if p) + ".gpx"
    assert filename.isascii() and set(filename) <= set("abcdefghijklmnopqrstuvwxyz0123456789-.TZ")


# ------------------------------------------------------------------ time ranges

TODAY = datetime.now(UTC).date().isoformat()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{d}T08:00:00Z", "{d}T08:00:00+00:00"),
        ("{d}T08:00:00z", "{d}T08:00:00+00:00"),
        ("{d}t08:00:00+02:00", "{d}T06:00:00+00:00"),
        ("{d} 08:00:00-05:30", "{d}T13:30:00+00:00"),
        ("{d}T08:00:00.25Z", "{d}T08:00:00.250000+00:00"),
        ("{d}T08:00:00.123456789Z", "{d}T08:00:00.123456+00:00"),
        ("  {d}T08:00:00Z ", "{d}T08:00:00+00:00"),
    ],
)
def test_instants_in_rfc3339(text, expected):
    parsed = timerange.parse_instant(text.format(d=TODAY), "from")
    assert parsed.isoformat() == expected.format(d=TODAY) and parsed.tzinfo == UTC


@pytest.mark.parametrize(
    "text",
    [
        "{d}T08:00:00",  # no offset: whose 08:00?
        "{d}",
        "{d}T08:00Z",
        "yesterday",
        "1714550400",
        "",
        "\x00",
        "{d}T25:00:00Z",
        "{d}T08:00:00+24:00",
        "{y}-01-01T00:00:00+01:00",  # before year 1 in UTC
        "{d}T08:00:00Z\x00",
        "{d}T08:00:00\u200bZ",
        "{a}-01-01T00:00:00Z",  # digits of another script
    ],
)
def test_instants_that_are_not_rfc3339(text):
    with pytest.raises(timerange.BadRange) as raised:
        timerange.parse_instant(text.format(d=TODAY, y="0001", a="\u0661\u0662\u0663\u0664"), "from")
    assert raised.value.status == 400 and "from" in raised.value.detail


NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, (NOW - timedelta(days=1), NOW)),
        (NOW - timedelta(hours=3), None, (NOW - timedelta(hours=3), NOW)),
        (None, NOW - timedelta(days=2), (NOW - timedelta(days=3), NOW - timedelta(days=2))),
        (NOW - timedelta(days=7), NOW, (NOW - timedelta(days=7), NOW)),
        (NOW + timedelta(hours=1), NOW + timedelta(hours=2), (NOW + timedelta(hours=1), NOW + timedelta(hours=2))),
    ],
)
def test_ranges(start, end, expected):
    assert timerange.resolve(start, end, NOW) == timerange.TimeRange(*expected)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (NOW, NOW, "from must be before to"),
        (NOW, NOW - timedelta(seconds=1), "from must be before to"),
        (
            NOW - timedelta(days=7, seconds=1),
            NOW,
            "the range is just over 7 days long; ask for at most 7 days at a time",
        ),
        (NOW - timedelta(days=30), NOW, "the range is 30 days long"),
        (NOW - timedelta(days=8.5), None, "the range is 8.5 days long"),
    ],
)
def test_ranges_refused(start, end, message):
    with pytest.raises(timerange.BadRange, match=message):
        timerange.resolve(start, end, NOW)


@pytest.mark.parametrize(
    ("name", "known"),
    [
        ("Europe/Berlin", True),
        ("America/Argentina/Buenos_Aires", True),
        ("UTC", True),
        ("Etc/GMT+5", True),
        ("", False),
        (None, False),
        ("Mars/Olympus_Mons", False),
        ("../../etc/passwd", False),
        ("/etc/localtime", False),
        ("Europe/Berlin\x00", False),
        ("A" * 100, False),
    ],
)
def test_zones(name, known):
    assert (timerange.zone(name) is not None) is known


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("{d}T08:00", True),
        ("{d}T08:00:30", True),
        ("{d} 08:00", True),
        ("{d}", False),
        ("{d}T8:00", False),
        ("", False),
    ],
)
def test_local_wall_times(text, ok):
    assert (timerange.parse_local(text.format(d=TODAY)) is not None) is ok


def test_wall_times_across_clock_changes():
    berlin = ZoneInfo("Europe/Berlin")
    year = NOW.year
    # The last Sunday of March: 02:00 does not happen; the last Sunday of October: 02:30 happens twice.
    spring = max(d for d in (datetime(year, 3, day) for day in range(25, 32)) if d.weekday() == 6)
    autumn = max(d for d in (datetime(year, 10, day) for day in range(25, 32)) if d.weekday() == 6)
    assert timerange.local_instant(spring.replace(hour=1, minute=30), berlin).hour == 0  # 01:30 CET is 00:30 UTC
    assert timerange.local_instant(spring.replace(hour=2, minute=30), berlin).hour == 1  # skipped: moves on an hour
    assert timerange.local_instant(autumn.replace(hour=2, minute=30), berlin).hour == 0  # the first 02:30 (CEST)
    midnight = timerange.local_midnight(datetime(year, 7, 1, 12, tzinfo=UTC), berlin)
    assert midnight == datetime(year, 6, 30, 22, tzinfo=UTC)


def test_rfc3339_output():
    moment = NOW.replace(microsecond=0)
    assert timerange.rfc3339(moment).endswith("Z") and "." not in timerange.rfc3339(moment)
    assert timerange.rfc3339(moment.replace(microsecond=250_000)).endswith(".250Z")
