"""OsmAnd and OwnTracks parsing, with samples shaped as the public protocol descriptions show
(Traccar's OsmAnd page and decoder tests, the background-geolocation location schema, and
the OwnTracks booklet's JSON page)."""

import math
from urllib.parse import parse_qsl

import pytest

from hexfleet.tracking.pings import Ping
from hexfleet.tracking.protocols import (
    KMH_MPS,
    KNOT_MPS,
    ProtocolError,
    Report,
    make_ping,
    read_number,
)
from hexfleet.tracking.protocols.osmand import MS_THRESHOLD, parse_osmand_json, parse_osmand_params, parse_time
from hexfleet.tracking.protocols.owntracks import parse_owntracks

NOW = 1_795_000_000.0
T_2026 = 1_795_255_200.0  # 2026-11-21T10:00:00Z


def params(query: str) -> dict[str, str]:
    """Decode a query string or form body as the web layer does ('+' and %XX included)."""
    return dict(parse_qsl(query, keep_blank_values=True))


# ---------------------------------------------------------------- units and helpers


def test_unit_constants_are_exact():
    assert KNOT_MPS == 1852 / 3600
    assert KMH_MPS == 1 / 3.6


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("52.5", 52.5),
        (" -13.25 ", -13.25),
        ("1e2", 100.0),
        (".5", 0.5),
        (7, 7.0),
        (2.5, 2.5),
        ("abc", None),
        ("nan", None),
        ("inf", None),
        ("1_0", None),
        ("52,5", None),
        ("", None),
        (True, None),
        (None, None),
        (math.nan, None),
        ([1], None),
    ],
)
def test_read_number(value, expected):
    assert read_number(value) == expected


def test_make_ping_applies_native_rules_and_keeps_altitude():
    ping = make_ping(52.5, 13.4, NOW, speed_mps=-1, heading=370, accuracy_m=-1, battery=50, altitude_m=-12.5)
    assert ping == Ping(52.5, 13.4, NOW, None, 10.0, None, 50.0, None, -12.5)


# ---------------------------------------------------------------- OsmAnd parameters


def test_traccar_client_query_string():
    report = parse_osmand_params(
        params("id=123456&timestamp=1700000000&lat=52.5&lon=13.4&speed=10&bearing=90&altitude=30&accuracy=5&batt=80"),
        NOW,
    )
    assert report == Report(
        "123456",
        Ping(52.5, 13.4, 1_700_000_000.0, 10 * 1852 / 3600, 90.0, 5.0, 80.0, None, 30.0),
        {},
    )


@pytest.mark.parametrize(
    ("mapping", "device_id", "lat", "lng"),
    [
        # Form body (POST with an empty query string): the same mapping reaches the parser.
        (params("deviceid=abc&lat=60.0&lon=30.0&speed=0.0&heading=0.0"), "abc", 60.0, 30.0),
        (params("id=123456&timestamp=1377177267&location=60.0,30.0"), "123456", 60.0, 30.0),
        (params("id=123456&location=-33.86,151.21"), "123456", -33.86, 151.21),
        ({"id": " 42 ", "lat": "-90", "lon": "180"}, "42", -90.0, 180.0),
        # lat/lon win over location when both are sent.
        ({"id": "1", "lat": "1.5", "lon": "2.5", "location": "9,9"}, "1", 1.5, 2.5),
        # id wins over deviceid.
        ({"id": "first", "deviceid": "second", "lat": "1", "lon": "1"}, "first", 1.0, 1.0),
    ],
)
def test_coordinates_and_device_id(mapping, device_id, lat, lng):
    report = parse_osmand_params(mapping, NOW)
    assert (report.device_id, report.ping.lat, report.ping.lng, report.error) == (device_id, lat, lng, None)


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("1700000000", 1_700_000_000.0),
        ("1700000000.5", 1_700_000_000.5),
        ("1442068686579", 1_442_068_686.579),  # milliseconds (Traccar decoder test sample)
        ("1700000000000", 1_700_000_000.0),
        ("100000000000", 1e11),  # the threshold itself is still seconds
        ("100000000001", 100_000_000.001),
        ("2026-11-21T10:00:00Z", T_2026),
        ("2026-11-21T10:00:00.250Z", T_2026 + 0.25),
        ("2026-11-21T11:00:00+01:00", T_2026),
        ("2026-11-21T05:00:00-05:00", T_2026),
        ("2026-11-21T10:00:00", T_2026),  # ISO without an offset: UTC
        ("2026-11-21 10:00:00", T_2026),  # yyyy-MM-dd HH:mm:ss: UTC
    ],
)
def test_osmand_timestamps(timestamp, expected):
    report = parse_osmand_params({"id": "1", "lat": "1", "lon": "1", "timestamp": timestamp}, NOW)
    assert report.ping.ts == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Traccar decoder test samples, URL-encoded as sent: '+' and %3A decode to the formats above.
        ("id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z", 1_453_920_947.0),
        ("lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&id=353861053849681", 1_401_873_011.0),
    ],
)
def test_url_encoded_timestamps(query, expected):
    assert parse_osmand_params(params(query), NOW).ping.ts == expected


@pytest.mark.parametrize("timestamp", [None, "", "   "])
def test_missing_timestamp_is_server_time(timestamp):
    mapping = {"id": "1", "lat": "1", "lon": "1"}
    if timestamp is not None:
        mapping["timestamp"] = timestamp
    assert parse_osmand_params(mapping, NOW).ping.ts == NOW


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_700_000_000, 1_700_000_000.0),
        (1_700_000_000_000, 1_700_000_000.0),
        (MS_THRESHOLD, MS_THRESHOLD),
        (MS_THRESHOLD + 1000, MS_THRESHOLD / 1000 + 1),
    ],
)
def test_numeric_times_in_seconds_or_milliseconds(value, expected):
    assert parse_time(value) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("speed_kn", "expected_mps"),
    [("0", 0.0), ("1", 0.514444), ("10", 5.14444), ("19.4384", 10.0), ("100", 51.4444), ("-1", None)],
)
def test_knots_to_metres_per_second(speed_kn, expected_mps):
    ping = parse_osmand_params({"id": "1", "lat": "1", "lon": "1", "speed": speed_kn}, NOW).ping
    if expected_mps is None:
        assert ping.speed_mps is None
    else:
        assert ping.speed_mps == pytest.approx(expected_mps, abs=1e-4)


@pytest.mark.parametrize(
    ("extra", "field", "expected"),
    [
        ({"bearing": "90"}, "heading", 90.0),
        ({"heading": "45.5"}, "heading", 45.5),
        ({"bearing": "370"}, "heading", 10.0),
        ({"bearing": "-1"}, "heading", None),
        ({"bearing": "90", "heading": "180"}, "heading", 90.0),
        ({"altitude": "350.059479"}, "altitude_m", 350.059479),
        ({"altitude": "-12"}, "altitude_m", -12.0),
        ({"accuracy": "12.5"}, "accuracy_m", 12.5),
        ({"batt": "87"}, "battery", 87.0),
        ({"batt": "87.5"}, "battery", 87.5),
        ({"batt": "0"}, "battery", 0.0),
        ({"batt": "100"}, "battery", 100.0),
        ({"batt": "150"}, "battery", None),
        ({"batt": "-1"}, "battery", None),
    ],
)
def test_osmand_optional_values(extra, field, expected):
    ping = parse_osmand_params({"id": "1", "lat": "1", "lon": "1", **extra}, NOW).ping
    assert getattr(ping, field) == expected


@pytest.mark.parametrize(
    ("extra", "attributes"),
    [
        # Unknown parameters are kept as the strings they arrived as.
        ({"ignition": "true", "rpm": "933", "fuel": "24"}, {"ignition": "true", "rpm": "933", "fuel": "24"}),
        ({"driverUniqueId": "D-7"}, {"driverUniqueId": "D-7"}),
        ({"hdop": "6.0"}, {"hdop": 6.0}),
        ({"charge": "true"}, {"charge": True}),
        ({"charge": "false"}, {"charge": False}),
        ({"charge": "1"}, {"charge": True}),
        ({"charge": "0"}, {"charge": False}),
        ({"charge": "maybe"}, {"charge": "maybe"}),
        ({"valid": "true"}, {"valid": True}),
        # Values that cannot be used stay visible, off the ping.
        ({"batt": "150"}, {"batt": "150"}),
        ({"speed": "fast"}, {"speed": "fast"}),
        ({"hdop": "n/a"}, {"hdop": "n/a"}),
        ({"note": "x" * 300}, {}),
    ],
)
def test_osmand_attributes(extra, attributes):
    report = parse_osmand_params({"id": "1", "lat": "1", "lon": "1", **extra}, NOW)
    assert report.attributes == attributes
    assert report.ping is not None


@pytest.mark.parametrize(
    ("query", "attributes"),
    [
        # Traccar decoder sample: cell towers and wifi only, no position.
        (
            "id=123456&timestamp=1377177267&cell=257,02,16,2224&wifi=00-14-22-01-23-45,-80",
            {"cell": "257,02,16,2224", "wifi": "00-14-22-01-23-45,-80", "ts": 1_377_177_267.0},
        ),
        ("id=123456&batt=40&charge=true", {"charge": True, "ts": NOW}),
        ("id=123456&lat=&lon=", {"ts": NOW}),
        ("id=123456&timestamp=soon", {"timestamp": "soon"}),
    ],
)
def test_no_coordinates_is_attribute_only(query, attributes):
    assert parse_osmand_params(params(query), NOW) == Report("123456", None, attributes)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"lat": "60.0", "lon": "30.0", "timestamp": "1377177267"}, "device id is required"),
        ({"id": "", "lat": "1", "lon": "1"}, "device id is required"),
        ({"id": "  ", "deviceid": "", "lat": "1", "lon": "1"}, "device id is required"),
        ({}, "device id is required"),
        ({"id": "1", "lat": "abc", "lon": "1"}, "coordinates cannot be read"),
        ({"id": "1", "lat": "NaN", "lon": "1"}, "coordinates cannot be read"),
        ({"id": "1", "lat": "1", "lon": "inf"}, "coordinates cannot be read"),
        ({"id": "1", "lat": "90.5", "lon": "1"}, "coordinates cannot be read"),
        ({"id": "1", "lat": "1", "lon": "-180.1"}, "coordinates cannot be read"),
        ({"id": "1", "lat": "52,5", "lon": "13,4"}, "coordinates cannot be read"),
        ({"id": "1", "lat": "52.5"}, "coordinates cannot be read"),
        ({"id": "1", "lon": "13.4"}, "coordinates cannot be read"),
        ({"id": "1", "location": "52.5"}, "coordinates cannot be read"),
        ({"id": "1", "location": "52.5,13.4,30"}, "coordinates cannot be read"),
        ({"id": "1", "location": "a,b"}, "coordinates cannot be read"),
    ],
)
def test_osmand_unreadable_requests(mapping, message):
    with pytest.raises(ProtocolError, match=message) as caught:
        parse_osmand_params(mapping, NOW)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("mapping", "error"),
    [
        ({"id": "1", "lat": "0", "lon": "0"}, "0,0 is not a real position"),
        ({"id": "1", "location": "0.0,0.0"}, "0,0 is not a real position"),
        ({"id": "1", "lat": "1", "lon": "1", "timestamp": "yesterday"}, "timestamp cannot be read"),
        ({"id": "1", "lat": "1", "lon": "1", "timestamp": "0"}, "timestamp cannot be read"),
        ({"id": "1", "lat": "1", "lon": "1", "timestamp": "-5"}, "timestamp cannot be read"),
        ({"id": "1", "lat": "1", "lon": "1", "timestamp": "2026-13-01 10:00:00"}, "timestamp cannot be read"),
        ({"id": "1", "lat": "1", "lon": "1", "valid": "false"}, "the device marked this fix invalid"),
        ({"id": "1", "lat": "1", "lon": "1", "valid": "0"}, "the device marked this fix invalid"),
    ],
)
def test_osmand_unusable_fix_is_a_report_error(mapping, error):
    report = parse_osmand_params(mapping, NOW)
    assert (report.device_id, report.ping, report.error) == ("1", None, error)


# ---------------------------------------------------------------- OsmAnd JSON (background-geolocation)


def bg_location(**overrides) -> dict:
    """One location as Traccar Client 9 posts it (Traccar's OsmAnd page / decoder test)."""
    location = {
        "timestamp": "2025-06-15T13:45:12.862Z",
        "coords": {"latitude": 37.4219983, "longitude": -122.084, "accuracy": 5, "speed": 4.5, "heading": 63,
                   "altitude": 5},
        "is_moving": True,
        "odometer": 120,
        "event": "motionchange",
        "battery": {"level": 0.79, "is_charging": False},
        "activity": {"type": "in_vehicle"},
        "uuid": "0e9a2473-a9a7-4c00-997b-fb97d2154e75",
        "extras": {},
    }  # fmt: skip
    location.update(overrides)
    return location


BG_TS = 1_749_995_112.862
BG_PING = Ping(37.4219983, -122.084, BG_TS, 4.5, 63.0, 5.0, 79.0, "0e9a2473-a9a7-4c00-997b-fb97d2154e75", 5.0)
BG_ATTRIBUTES = {
    "event": "motionchange",
    "is_moving": True,
    "odometer": 120,
    "uuid": "0e9a2473-a9a7-4c00-997b-fb97d2154e75",
    "activity": "in_vehicle",
    "charge": False,
}


def test_background_geolocation_single_object():
    reports = parse_osmand_json({"location": bg_location(), "device_id": "48241179"}, NOW)
    assert reports == [Report("48241179", BG_PING, BG_ATTRIBUTES)]


def test_background_geolocation_location_list():
    second = bg_location(timestamp="2025-06-15T13:45:22.862Z", uuid="b2")
    reports = parse_osmand_json({"device_id": "48241179", "location": [bg_location(), second]}, NOW)
    assert [(r.device_id, r.ping.ts, r.ping.id) for r in reports] == [
        ("48241179", BG_TS, BG_PING.id),
        ("48241179", BG_TS + 10, "b2"),
    ]


def test_background_geolocation_top_level_array():
    body = [{"device_id": "a", "location": bg_location()}, {"device_id": 77, "location": [bg_location()]}]
    assert [(r.device_id, r.ping) for r in parse_osmand_json(body, NOW)] == [("a", BG_PING), ("77", BG_PING)]


def test_background_geolocation_unknown_markers():
    # iOS simulator sample from Traccar's decoder tests: -1 means "unknown" for speed, heading, battery.
    location = {
        "extras": {},
        "mock": True,
        "coords": {"speed_accuracy": -1, "speed": -1, "longitude": -122.406417, "ellipsoidal_altitude": 0,
                   "floor": None, "heading_accuracy": -1, "latitude": 37.785834000000001, "accuracy": 5,
                   "altitude_accuracy": -1, "altitude": 0, "heading": -1},
        "is_moving": False,
        "age": 188,
        "odometer": 0,
        "uuid": "2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8",
        "event": "motionchange",
        "battery": {"level": -1, "is_charging": False},
        "activity": {"type": "unknown", "confidence": 100},
        "timestamp": "2025-05-09T04:11:30.579Z",
    }  # fmt: skip
    [report] = parse_osmand_json({"location": location, "device_id": "658765"}, NOW)
    assert report.ping == Ping(37.785834, -122.406417, 1_746_763_890.579, None, None, 5.0, None,
                               "2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8", 0.0)  # fmt: skip
    assert report.attributes["mock"] is True
    assert report.error is None


@pytest.mark.parametrize(
    ("level", "percent"),
    [(0, 0.0), (0.05, 5.0), (0.79, 79.0), (1, 100.0), (-1, None), (1.5, None), ("x", None)],
)
def test_battery_level_fraction_to_percent(level, percent):
    location = bg_location(battery={"level": level, "is_charging": True})
    [report] = parse_osmand_json({"device_id": "1", "location": location}, NOW)
    if percent is None:
        assert report.ping.battery is None
    else:
        assert report.ping.battery == pytest.approx(percent)
    assert report.attributes["charge"] is True


def test_device_id_from_extras_and_extras_kept():
    location = bg_location(extras={"device_id": "from-extras", "job": "J-17", "priority": 2, "nested": {"a": 1}})
    [report] = parse_osmand_json({"location": location}, NOW)
    assert report.device_id == "from-extras"
    assert report.attributes["job"] == "J-17"
    assert report.attributes["priority"] == 2
    assert "nested" not in report.attributes
    assert "device_id" not in report.attributes


def test_top_level_device_id_wins_and_params_kept():
    location = bg_location(extras={"device_id": "other"})
    [report] = parse_osmand_json({"device_id": "top", "fleet": "north", "location": location}, NOW)
    assert (report.device_id, report.attributes["fleet"]) == ("top", "north")


def test_background_geolocation_standard_keys_win_over_extras():
    [report] = parse_osmand_json({"device_id": "1", "location": bg_location(extras={"event": "custom"})}, NOW)
    assert report.attributes["event"] == "motionchange"


@pytest.mark.parametrize(
    ("overrides", "attributes"),
    [
        ({"coords": None}, {**BG_ATTRIBUTES, "ts": BG_TS}),
        ({"coords": {}}, {**BG_ATTRIBUTES, "ts": BG_TS}),
        ({"coords": None, "timestamp": None}, {**BG_ATTRIBUTES, "ts": NOW}),
    ],
)
def test_background_geolocation_without_coordinates(overrides, attributes):
    location = bg_location(**overrides)
    assert parse_osmand_json({"device_id": "1", "location": location}, NOW) == [Report("1", None, attributes)]


def test_background_geolocation_missing_timestamp_is_server_time():
    location = bg_location()
    del location["timestamp"]
    [report] = parse_osmand_json({"device_id": "1", "location": location}, NOW)
    assert report.ping.ts == NOW


def test_empty_location_list_is_nothing_to_store():
    assert parse_osmand_json({"device_id": "1", "location": []}, NOW) == []
    assert parse_osmand_json([], NOW) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("hello", "JSON object"),
        (42, "JSON object"),
        (None, "JSON object"),
        ([{"device_id": "1", "location": bg_location()}, "x"], "JSON object"),
        ({"device_id": "1"}, "location is required"),
        ({"device_id": "1", "location": "here"}, "location must be a JSON object"),
        ({"device_id": "1", "location": [bg_location(), 5]}, "location must be a JSON object"),
        ({"location": bg_location()}, "device id is required"),
        ({"device_id": "", "location": bg_location()}, "device id is required"),
        ({"device_id": True, "location": bg_location()}, "device id is required"),
        ({"device_id": "1", "location": bg_location(coords=[1, 2])}, "coordinates cannot be read"),
        ({"device_id": "1", "location": bg_location(coords={"latitude": "abc", "longitude": 1})},
         "coordinates cannot be read"),
        ({"device_id": "1", "location": bg_location(coords={"latitude": 91, "longitude": 1})},
         "coordinates cannot be read"),
        ({"device_id": "1", "location": bg_location(coords={"latitude": 1})}, "coordinates cannot be read"),
        ({"device_id": "1", "location": bg_location(coords={"latitude": True, "longitude": 1})},
         "coordinates cannot be read"),
    ],
)  # fmt: skip
def test_background_geolocation_unreadable(body, message):
    with pytest.raises(ProtocolError, match=message) as caught:
        parse_osmand_json(body, NOW)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"coords": {"latitude": 0, "longitude": 0}}, "0,0 is not a real position"),
        ({"timestamp": "not a time"}, "timestamp cannot be read"),
        ({"timestamp": True}, "timestamp cannot be read"),
    ],
)
def test_background_geolocation_unusable_fix(overrides, error):
    [report] = parse_osmand_json({"device_id": "1", "location": bg_location(**overrides)}, NOW)
    assert (report.device_id, report.ping, report.error) == ("1", None, error)


# ---------------------------------------------------------------- OwnTracks


def ot_location(**overrides) -> dict:
    """A location as the OwnTracks booklet's JSON page describes it."""
    message = {
        "_type": "location",
        "acc": 12,
        "alt": 48,
        "batt": 64,
        "bs": 2,
        "cog": 270,
        "conn": "m",
        "created_at": 1_795_255_205,
        "lat": 52.5200066,
        "lon": 13.404954,
        "m": 1,
        "t": "u",
        "tid": "JD",
        "tst": 1_795_255_200,
        "vac": 3,
        "vel": 54,
    }
    message.update(overrides)
    return message


def test_owntracks_location():
    report = parse_owntracks(ot_location())
    assert report == Report(
        None,
        Ping(52.5200066, 13.404954, T_2026, 15.0, 270.0, 12.0, 64.0, None, 48.0),
        {"bs": 2, "charge": True, "conn": "m", "created_at": 1_795_255_205, "m": 1, "t": "u", "tid": "JD", "vac": 3},
    )


def test_owntracks_minimal_location():
    report = parse_owntracks({"_type": "location", "lat": -33.8688, "lon": 151.2093, "tst": 1_700_000_000})
    assert report == Report(None, Ping(-33.8688, 151.2093, 1_700_000_000.0), {})


@pytest.mark.parametrize(
    ("vel_kmh", "expected_mps"),
    [(0, 0.0), (3.6, 1.0), (36, 10.0), (54, 15.0), (100, 27.7778), (-1, None)],
)
def test_kilometres_per_hour_to_metres_per_second(vel_kmh, expected_mps):
    ping = parse_owntracks(ot_location(vel=vel_kmh)).ping
    if expected_mps is None:
        assert ping.speed_mps is None
    else:
        assert ping.speed_mps == pytest.approx(expected_mps, abs=1e-4)


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"cog": -1}, "heading", None),
        ({"cog": 360}, "heading", 0.0),
        ({"acc": -1}, "accuracy_m", None),
        ({"alt": -5}, "altitude_m", -5.0),
        ({"batt": 100}, "battery", 100.0),
        ({"batt": 150}, "battery", None),
        ({"batt": "x"}, "battery", None),
    ],
)
def test_owntracks_optional_values(overrides, field, expected):
    assert getattr(parse_owntracks(ot_location(**overrides)).ping, field) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"bs": 0}, {"bs": 0}),
        ({"bs": 1}, {"bs": 1, "charge": False}),
        ({"bs": 2}, {"bs": 2, "charge": True}),
        ({"bs": 3}, {"bs": 3, "charge": True}),
        ({"batt": 150}, {"batt": 150}),
        ({"vel": "fast"}, {"vel": "fast"}),
        ({"inregions": ["Home", "Depot"]}, {"inregions": ["Home", "Depot"]}),
        ({"SSID": "depot-wifi", "BSSID": "aa:bb:cc:dd:ee:ff"}, {"SSID": "depot-wifi", "BSSID": "aa:bb:cc:dd:ee:ff"}),
        ({"image": "iVBORw0KGgo" * 100, "imagename": "x.png"}, {"imagename": "x.png"}),
        ({"topic": "owntracks/jd/phone"}, {"topic": "owntracks/jd/phone"}),
    ],
)
def test_owntracks_attributes(overrides, expected):
    base = {"_type": "location", "lat": 1.0, "lon": 1.0, "tst": 1_700_000_000}
    assert parse_owntracks({**base, **overrides}).attributes == expected


@pytest.mark.parametrize(
    "body",
    [
        {"_type": "transition", "event": "enter", "lat": 1, "lon": 1, "tst": 1_700_000_000, "desc": "Depot"},
        {"_type": "waypoint", "desc": "Depot", "lat": 1, "lon": 1, "rad": 50, "tst": 1_700_000_000},
        {"_type": "waypoints", "waypoints": []},
        {"_type": "card", "name": "Jane", "face": "iVBORw0KGgo"},
        {"_type": "lwt", "tst": 1_700_000_000},
        {"_type": "status", "iOS": {}},
        {"_type": "cmd", "action": "reportLocation"},
        {"_type": "beacon", "uuid": "x", "major": 1, "minor": 2},
        {"_type": "steps", "steps": 100},
        {"_type": "encrypted", "data": "abc"},
        {"_type": "configuration"},
        {"_type": "something-new"},
    ],
)
def test_owntracks_other_types_are_ignored(body):
    assert parse_owntracks(body) is None


@pytest.mark.parametrize(
    "body",
    [[], [ot_location()], "location", 42, None, {}, {"lat": 1, "lon": 1}, {"_type": ""}, {"_type": 5}],
)
def test_owntracks_unreadable_bodies(body):
    with pytest.raises(ProtocolError) as caught:
        parse_owntracks(body)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"lat": None}, "coordinates cannot be read"),
        ({"lat": "abc"}, "coordinates cannot be read"),
        ({"lat": True}, "coordinates cannot be read"),
        ({"lat": 91}, "coordinates cannot be read"),
        ({"lon": -181}, "coordinates cannot be read"),
        ({"lat": 0, "lon": 0}, "0,0 is not a real position"),
        ({"tst": None}, "tst is required"),
        ({"tst": "yesterday"}, "timestamp cannot be read"),
        ({"tst": -5}, "timestamp cannot be read"),
        ({"tst": True}, "timestamp cannot be read"),
    ],
)
def test_owntracks_unusable_location_is_a_report_error(overrides, error):
    report = parse_owntracks(ot_location(**overrides))
    assert (report.device_id, report.ping, report.error) == (None, None, error)
    assert report.attributes["tid"] == "JD"  # still read: the caller can show who sent it
