import math

import pytest

from hexfleet.tracking.pings import Ping, PingError, iso, parse_body, parse_ping, parse_timestamp

NOW = 1_795_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (NOW, NOW),
        (int(NOW), NOW),
        ("2026-11-21T10:00:00Z", 1_795_255_200.0),
        ("2026-11-21T10:00:00.250Z", 1_795_255_200.25),
        ("2026-11-21T11:00:00+01:00", 1_795_255_200.0),
        ("2026-11-21t10:00:00z", 1_795_255_200.0),
    ],
)
def test_timestamps(value, expected):
    assert parse_timestamp(value) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-11-21T10:00:00", "UTC offset"),
        ("yesterday", "RFC 3339"),
        (True, "RFC 3339"),
        (None, "RFC 3339"),
        (-5, "not a valid time"),
        (math.inf, "not a valid time"),
    ],
)
def test_bad_timestamps(value, message):
    with pytest.raises(PingError, match=message):
        parse_timestamp(value)


def test_full_ping_is_normalised():
    ping = parse_ping(
        {"lat": 52.5, "lng": 13.4, "ts": NOW, "speed_mps": 4, "heading": 370, "accuracy_m": 5, "battery": 80, "id": 7}
    )
    assert ping == Ping(52.5, 13.4, NOW, 4.0, 10.0, 5.0, 80.0, "7")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [("speed_mps", -1, None), ("heading", -1, None), ("accuracy_m", -1, None), ("heading", 359.5, 359.5)],
)
def test_unknown_markers_become_none(field, value, expected):
    ping = parse_ping({"lat": 1, "lng": 1, "ts": NOW, field: value})
    assert getattr(ping, field) == expected


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ([1, 2], "JSON object"),
        ({"lng": 1, "ts": NOW}, "lat is required"),
        ({"lat": 1, "ts": NOW}, "lng is required"),
        ({"lat": 1, "lng": 1}, "ts is required"),
        ({"lat": "52", "lng": 1, "ts": NOW}, "lat must be a number"),
        ({"lat": True, "lng": 1, "ts": NOW}, "lat must be a number"),
        ({"lat": 91, "lng": 1, "ts": NOW}, "between -90 and 90"),
        ({"lat": 1, "lng": -181, "ts": NOW}, "between -180 and 180"),
        ({"lat": 0, "lng": 0, "ts": NOW}, "0,0"),
        ({"lat": 1, "lng": 1, "ts": NOW, "battery": 101}, "percentage"),
        ({"lat": 1, "lng": 1, "ts": NOW, "id": ""}, "1 to 64"),
        ({"lat": 1, "lng": 1, "ts": NOW, "id": [1]}, "string or integer"),
        ({"lat": 1, "lng": 1, "ts": NOW, "driver_id": 5}, "unknown field"),
    ],
)
def test_invalid_pings(item, message):
    with pytest.raises(PingError, match=message):
        parse_ping(item)


def test_batch_keeps_good_items_and_lists_bad_ones():
    is_batch, result = parse_body(
        {
            "pings": [
                {"lat": 1, "lng": 1, "ts": NOW},
                {"lat": 99, "lng": 1, "ts": NOW},
                "x",
                {"lat": 2, "lng": 2, "ts": NOW},
            ]
        },
        max_batch=500,
    )
    assert is_batch
    assert [p.lat for p in result.pings] == [1.0, 2.0]
    assert result.rejected == [
        {"index": 1, "error": "lat must be between -90 and 90"},
        {"index": 2, "error": "a ping must be a JSON object"},
    ]


def test_single_body_is_not_a_batch():
    is_batch, result = parse_body({"lat": 1, "lng": 1, "ts": NOW}, max_batch=500)
    assert not is_batch and len(result.pings) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"pings": [{"lat": 1, "lng": 1, "ts": NOW}] * 3}, "at most 2"),
        ({"pings": {}}, "must be a list"),
        ({"pings": [], "extra": 1}, "only the"),
        ({"lat": 1}, "lng is required"),
    ],
)
def test_bad_bodies(body, message):
    with pytest.raises(PingError, match=message):
        parse_body(body, max_batch=2)


def test_wire_roundtrip_and_iso():
    ping = Ping(1.5, 2.5, NOW + 0.123, speed_mps=3.0, id="a")
    assert Ping.from_wire(ping.to_wire()) == ping
    assert "battery" not in ping.to_wire()
    assert iso(1_795_255_200.25) == "2026-11-21T10:00:00.250Z"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"lat": 1, "lng": 1, "ts": NOW, "speed_mps": 1e39}, "speed_mps must be at most"),
        ({"lat": 1, "lng": 1, "ts": NOW, "accuracy_m": 1e39}, "accuracy_m must be at most"),
        ({"lat": 1, "lng": 1, "ts": 1e17}, "not a valid time"),
    ],
)
def test_values_history_cannot_store_are_refused(item, message):
    with pytest.raises(PingError, match=message):
        parse_ping(item)
