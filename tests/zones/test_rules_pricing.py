"""Zone rules per kind and what they do to a price (pure tables): service areas refusing a trip,
airport fees as lines, fixed fares between two zones per vehicle class, surge off for them."""

from __future__ import annotations

import pytest

from hexfleet.errors import Invalid
from hexfleet.rides.fares import Fare, price
from hexfleet.zones import pricing
from hexfleet.zones.cover import ZoneHit
from hexfleet.zones.rules import FixedFare, Rules, check_rules, check_zone

CIRCLE = {"type": "Circle", "center": [13.4, 52.5], "radius_m": 500}


@pytest.mark.parametrize(
    ("kind", "raw", "expected", "errors"),
    [
        ("service_area", None, Rules(), {}),
        ("service_area", {"allow_dropoff_outside": False}, Rules(allow_dropoff_outside=False), {}),
        ("service_area", {"allow_dropoff_outside": "no"}, Rules(), {"rules.allow_dropoff_outside": "true or false"}),
        ("service_area", {"pickup_fee_minor": 5}, Rules(), {"rules.pickup_fee_minor": "unknown rule"}),
        ("airport", {"pickup_fee_minor": 500, "dropoff_fee_minor": 0}, Rules(pickup_fee_minor=500), {}),
        ("airport", {"pickup_fee_minor": 1.5}, Rules(), {"rules.pickup_fee_minor": "a whole number"}),
        ("airport", {"pickup_fee_minor": True}, Rules(), {"rules.pickup_fee_minor": "a whole number"}),
        ("airport", {"dropoff_fee_minor": 10**9}, Rules(), {"rules.dropoff_fee_minor": "from 0 to 1000000"}),
        (
            "airport",
            {"fixed_fares": [{"to_zone_id": 7, "vehicle_class": "xl", "amount_minor": 5000}]},
            Rules(fixed_fares=(FixedFare(7, True, "xl", 5000, True),)),
            {},
        ),
        (
            "airport",
            {"fixed_fares": [{"from_zone_id": 7, "vehicle_class": "van", "amount_minor": 0, "no_surge": False}]},
            Rules(fixed_fares=(FixedFare(7, False, "van", 0, False),)),
            {},
        ),
        (
            "airport",
            {"fixed_fares": [{"to_zone_id": 7, "from_zone_id": 8, "vehicle_class": "xl", "amount_minor": 1}]},
            Rules(fixed_fares=()),
            {"rules.fixed_fares[0]": "exactly one of"},
        ),
        (
            "airport",
            {"fixed_fares": [{"to_zone": "Centre", "vehicle_class": "xl", "amount_minor": 1}]},
            Rules(fixed_fares=()),
            {"rules.fixed_fares[0].to_zone": "unknown rule", "rules.fixed_fares[0]": "exactly one of"},
        ),
        ("airport", {"fixed_fares": "all"}, Rules(), {"rules.fixed_fares": "a list"}),
        (
            "airport",
            {"fixed_fares": [{"to_zone_id": 7, "vehicle_class": "xl", "amount_minor": 1}] * 2},
            Rules(fixed_fares=(FixedFare(7, True, "xl", 1),) * 2),
            {"rules.fixed_fares[1]": "a second fixed fare"},
        ),
        ("restricted", {"wait_minutes": 10}, Rules(wait_minutes=10), {}),
        ("restricted", {"wait_minutes": None}, Rules(), {}),
        ("restricted", {"wait_minutes": 0}, Rules(), {"rules.wait_minutes": "from 1 to 1440"}),
        ("custom", {}, Rules(), {}),
        ("custom", {"anything": 1}, Rules(), {"rules.anything": "this kind takes: no rules"}),
        ("custom", [], Rules(), {"rules": "an object"}),
    ],
)
def test_rules_table(kind, raw, expected, errors):
    found: dict[str, str] = {}
    rules = check_rules(kind, raw, found)
    assert set(found) == set(errors)
    for key, words in errors.items():
        assert words in found[key], found
    if not errors:
        assert rules == expected


def test_rules_serialise_per_kind():
    rules = Rules(pickup_fee_minor=300, fixed_fares=(FixedFare(2, True, "standard", 4000),))
    assert rules.to_json("airport") == {
        "pickup_fee_minor": 300,
        "dropoff_fee_minor": 0,
        "fixed_fares": [{"to_zone_id": 2, "vehicle_class": "standard", "amount_minor": 4000, "no_surge": True}],
    }
    assert Rules().to_json("service_area") == {"allow_dropoff_outside": True}
    assert Rules().to_json("restricted") == {"wait_minutes": None}
    assert Rules().to_json("custom") == {}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"name": " ", "kind": "custom", "geometry": CIRCLE}, "name", "required"),
        ({"name": "x" * 121, "kind": "custom", "geometry": CIRCLE}, "name", "at most 120"),
        ({"name": "a\u202eb", "kind": "custom", "geometry": CIRCLE}, "name", "no control or invisible"),
        ({"name": "A", "kind": "zoo", "geometry": CIRCLE}, "kind", "one of service_area"),
        ({"name": "A", "kind": "custom", "geometry": CIRCLE, "active": "yes"}, "active", "true or false"),
        ({"name": "A", "kind": "custom", "geometry": CIRCLE, "color": "#12345g"}, "color", "#rrggbb"),
        ({"name": "A", "kind": "custom"}, "geometry", "must be a GeoJSON object"),
    ],
)
def test_zone_fields(data, field, words):
    zone, errors = check_zone(data)
    assert zone is None and words in errors[field]


def test_a_fixed_fare_joins_two_zones():
    data = {"name": "BER", "kind": "airport", "geometry": CIRCLE,
            "rules": {"fixed_fares": [{"to_zone_id": 3, "vehicle_class": "standard", "amount_minor": 1}]}}  # fmt: skip
    assert check_zone(data, zone_id=3)[1] == {"rules.fixed_fares": "a fixed fare joins two different zones"}
    assert check_zone(data, zone_id=4)[0] is not None


# --- what zones do to a quote ------------------------------------------------------------

AREA = ZoneHit(1, "City", "service_area", "#2e7d32", Rules())
STRICT = ZoneHit(2, "Old town", "service_area", "#2e7d32", Rules(allow_dropoff_outside=False))
CENTRE = ZoneHit(3, "Centre", "custom", "#6a1b9a", Rules())
BER = ZoneHit(
    4,
    "BER",
    "airport",
    "#1565c0",
    Rules(
        pickup_fee_minor=500,
        dropoff_fee_minor=200,
        fixed_fares=(
            FixedFare(3, True, "standard", 4500, True),  # BER → Centre
            FixedFare(3, False, "standard", 4000, False),  # Centre → BER, surge applies
            FixedFare(5, True, "standard", 4200, True),  # BER → Messe (overlapping Centre)
        ),
    ),
)
MESSE = ZoneHit(5, "Messe", "custom", "#6a1b9a", Rules())


@pytest.mark.parametrize(
    ("areas", "pickup", "dropoff", "code"),
    [
        (0, [], [], None),  # no service area: everything is served
        (1, [AREA], [], None),  # drop-off outside: allowed by default
        (1, [], [AREA], "outside-service-area"),
        (1, [CENTRE], [AREA], "outside-service-area"),  # another kind of zone does not serve
        (2, [STRICT], [], "dropoff-outside-service-area"),
        (2, [STRICT], [AREA], None),  # ends inside a service area: fine
        (2, [STRICT, AREA], [], "dropoff-outside-service-area"),  # any area at the pickup that says so
    ],
)
def test_service_areas(areas, pickup, dropoff, code):
    if code is None:
        pricing.check_served(areas, pickup, dropoff)
        return
    with pytest.raises(Invalid) as caught:
        pricing.check_served(areas, pickup, dropoff)
    assert caught.value.code == code and caught.value.status == 422


@pytest.mark.parametrize(
    ("pickup", "dropoff", "vehicle_class", "fees", "fixed"),
    [
        ([], [], "standard", [], None),
        ([BER], [], "standard", [("pickup_fee", "Pickup fee: BER", 500)], None),
        ([], [BER], "comfort", [("dropoff_fee", "Drop-off fee: BER", 200)], None),
        (
            [BER],
            [BER],
            "standard",
            [("pickup_fee", "Pickup fee: BER", 500), ("dropoff_fee", "Drop-off fee: BER", 200)],
            None,
        ),
        ([BER], [CENTRE], "standard", [("pickup_fee", "Pickup fee: BER", 500)], (4500, True, "BER → Centre")),
        ([BER], [CENTRE], "comfort", [("pickup_fee", "Pickup fee: BER", 500)], None),  # no fare for the class
        ([CENTRE], [BER], "standard", [("dropoff_fee", "Drop-off fee: BER", 200)], (4000, False, "Centre → BER")),
        ([BER], [CENTRE, MESSE], "standard", [("pickup_fee", "Pickup fee: BER", 500)], (4200, True, "BER → Messe")),
        ([MESSE], [BER], "standard", [("dropoff_fee", "Drop-off fee: BER", 200)], None),  # only BER → Messe set
    ],
)
def test_zone_terms(pickup, dropoff, vehicle_class, fees, fixed):
    terms = pricing.terms(pickup, dropoff, vehicle_class)
    assert [(f.code, f.label, f.amount_minor) for f in terms.fees] == fees
    assert terms.fees_minor == sum(f[2] for f in fees)
    if fixed is None:
        assert terms.fixed is None
    else:
        assert terms.fixed is not None
        assert (terms.fixed.amount_minor, terms.fixed.no_surge, terms.fixed.label.removeprefix("Fixed fare: ")) == fixed


EUR = Fare("standard", "EUR", base_minor=250, per_km_minor=135, per_minute_minor=30, booking_fee_minor=100,
           minimum_minor=700)  # fmt: skip


@pytest.mark.parametrize(
    ("fixed", "fees", "surge", "expected"),
    [
        # metered as ever, plus the fees after the minimum: 10 km, 20 min: 250 + 1350 + 600 = 2200 + 100
        (None, 500, 10, {"total_minor": 2800, "zone_fees_minor": 500, "fixed_fare_minor": 0, "base_minor": 250}),
        # a fixed fare replaces the meter and the minimum; the booking fee stays
        (
            4500,
            0,
            10,
            {
                "total_minor": 4600,
                "fixed_fare_minor": 4500,
                "base_minor": 0,
                "distance_minor": 0,
                "time_minor": 0,
                "minimum_fare_minor": 0,
            },
        ),
        (4500, 500, 10, {"total_minor": 5100}),
        # surge on a fixed fare (when its rule allows it): ×1.5 of 4000 = 6000
        (4000, 0, 15, {"surge_minor": 2000, "total_minor": 6100}),
        # a fixed fare below the minimum is still the fare
        (300, 0, 10, {"total_minor": 400, "minimum_fare_minor": 0}),
    ],
)
def test_prices_with_zone_terms(fixed, fees, surge, expected):
    p = price(EUR, 10_000, 1200, surge, fixed_minor=fixed, fees_minor=fees)
    parts = p.breakdown()
    assert {k: parts[k] for k in expected} == expected
    assert (
        parts["base_minor"] + parts["distance_minor"] + parts["time_minor"] + parts["fixed_fare_minor"]
        + parts["surge_minor"] + parts["booking_fee_minor"] + parts["minimum_fare_minor"] + parts["zone_fees_minor"]
    ) == parts["total_minor"] == p.total_minor  # fmt: skip


def test_the_minimum_applies_before_the_fees():
    p = price(EUR, 1000, 60, fees_minor=500)  # metered 250 + 135 + 30 + 100 = 515 < 700
    assert p.minimum_fare_minor == 185 and p.total_minor == 700 + 500


def test_negative_terms_are_refused():
    with pytest.raises(ValueError):
        price(EUR, 1000, 60, fixed_minor=-1)
    with pytest.raises(ValueError):
        price(EUR, 1000, 60, fees_minor=-1)
