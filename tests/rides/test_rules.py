"""Small pure rules of rides: ranking, booking windows, passengers, tracking links, estimates."""

from datetime import UTC, datetime, timedelta

import pytest

from hexfleet.errors import Invalid
from hexfleet.rides import links
from hexfleet.rides.passengers import normalise_name, normalise_notes, normalise_phone
from hexfleet.rides.ranking import Candidate, rank, ring_radius_m
from hexfleet.rides.routes import EstimateRules, estimate
from hexfleet.rides.windows import check_scheduled


def test_rank_by_distance_then_id():
    ranked = rank([Candidate(3, 500.0), Candidate(1, 500.0), Candidate(2, 120.0)])
    assert [c.driver_id for c in ranked] == [2, 1, 3]


def test_rank_by_routed_eta_when_everyone_has_one():
    ranked = rank([Candidate(1, 100.0, eta_s=600), Candidate(2, 900.0, eta_s=200)])  # a river between 1 and the pickup
    assert [c.driver_id for c in ranked] == [2, 1]


def test_rank_falls_back_to_distance_when_an_eta_is_missing():
    ranked = rank([Candidate(1, 100.0, eta_s=None), Candidate(2, 900.0, eta_s=200)])
    assert [c.driver_id for c in ranked] == [1, 2]


@pytest.mark.parametrize(("ring", "expected"), [(1, 1500), (2, 3000), (4, 6000)])
def test_ring_radius(ring, expected):
    assert ring_radius_m(ring, 1500) == expected


def test_ring_zero_does_not_exist():
    with pytest.raises(ValueError):
        ring_radius_m(0, 1500)


NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("ahead", "ok"),
    [
        (timedelta(minutes=14, seconds=59), False),
        (timedelta(minutes=15), True),
        (timedelta(days=3), True),
        (timedelta(days=30), True),
        (timedelta(days=30, seconds=1), False),
        (timedelta(minutes=-5), False),
    ],
)
def test_scheduling_window(ahead, ok):
    if ok:
        assert check_scheduled(NOW + ahead, NOW) == NOW + ahead
    else:
        with pytest.raises(Invalid, match="between 15 minutes and 30 days"):
            check_scheduled(NOW + ahead, NOW)


def test_scheduling_needs_a_utc_offset():
    with pytest.raises(Invalid, match="UTC offset"):
        check_scheduled((NOW + timedelta(hours=1)).replace(tzinfo=None), NOW)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+49 30 1234567", "+49 30 1234567"), (" 030/123-4567 ", "030/123-4567"), ("(555) 123 4567", "(555) 123 4567")],
)
def test_phone_numbers(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["call me", "12345", "+49 30 1234567890123456", "+49\x0030123456", "555-CALL-NOW", ""])
def test_not_phone_numbers(raw):
    with pytest.raises(Invalid, match=r"passenger\.phone"):
        normalise_phone(raw)


def test_names_and_notes():
    assert normalise_name("  Ann   Smith ") == "Ann Smith"
    with pytest.raises(Invalid):
        normalise_name("   ")
    assert normalise_notes("  ") is None
    with pytest.raises(Invalid):
        normalise_notes("x" * 1001)


def test_tracking_tokens_round_trip_and_refuse_tampering():
    token = links.make_token("secret", 42, "nonce-1")
    assert links.read_token("secret", token) == (42, "nonce-1")
    assert links.read_token("other-secret", token) is None
    assert links.read_token("secret", token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is None
    assert links.read_token("secret", "") is None
    assert links.read_token("secret", "x" * 500) is None
    forged = links.make_token("secret", "42", "nonce-1")  # type: ignore[arg-type]
    assert links.read_token("secret", forged) is None  # right signature, wrong shape


def test_estimate():
    route = estimate(52.52, 13.405, 52.53, 13.405, EstimateRules(detour_factor=1.3, average_speed_kmh=36))
    # 1,112 m great-circle × 1.3 = 1,445 m at 10 m/s
    assert (route.distance_m, route.duration_s, route.source) == (1446, 145, "estimate")
