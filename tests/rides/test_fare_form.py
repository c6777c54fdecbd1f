"""A fare as an admin types it: per-field checks in the currency's units, and the sample trip
priced by the real fare function (pure)."""

from __future__ import annotations

import pytest

from hexfleet.rides import fare_form, fares

GOOD = {"currency": "EUR", "base": "2.50", "per_km": "1.35", "per_minute": "0.30", "booking_fee": "1", "minimum": "7"}


def test_a_good_fare():
    fare, errors = fare_form.parse("standard", GOOD)
    assert errors == {}
    assert fare == fares.Fare("standard", "EUR", 250, 135, 30, 100, 700)
    assert fare_form.form_values(fare) == {**GOOD, "booking_fee": "1.00", "minimum": "7.00"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"currency": ""}, "currency", "Enter the currency: a three-letter ISO 4217 code such as EUR."),
        ({"currency": "euro"}, "currency", "Use a three-letter ISO 4217 code such as EUR, not 'euro'."),
        ({"currency": "XYZ"}, "currency", "Unknown currency 'XYZ': use an ISO 4217 code such as EUR, USD, GBP, JPY."),
        ({"base": ""}, "base", "Enter the base (0 for none)."),
        (
            {"per_km": "1,35"},
            "per_km",
            "Per km: write decimals with a point and no thousands separators (12.50), not '1,35'.",
        ),
        ({"per_minute": "0.305"}, "per_minute", "Per minute: EUR has 2 decimals, 0.305 has 3."),
        ({"booking_fee": "-1"}, "booking_fee", "Booking fee must not be negative (-1)."),
        ({"minimum": "100001"}, "minimum", "Minimum 100001 EUR is too large (at most 100000.00 EUR)."),
        ({"minimum": "ten"}, "minimum", "Minimum must be an amount in EUR such as 12.50, not 'ten'."),
        ({"currency": "jpy", "base": "2.50"}, "base", "Base: JPY has no minor unit, write a whole number (not 2.50)."),
    ],
)
def test_each_wrong_field_is_named(change, field, message):
    fare, errors = fare_form.parse("standard", {**GOOD, **change})
    assert fare is None
    assert errors[field] == message
    others = set(errors) - {field}
    assert others <= {"per_km", "per_minute", "booking_fee", "minimum"}  # JPY: the other decimals too
    if "currency" not in change:
        assert others == set()


def test_a_bad_currency_leaves_the_amounts_unjudged():
    fare, errors = fare_form.parse("van", {**GOOD, "currency": "??", "base": "x"})
    assert fare is None and set(errors) == {"currency"}  # "x" in which currency? said once it is known


@pytest.mark.parametrize(
    ("fare", "total", "parts"),
    [
        # 5 km, 15 min: 2.50 + 6.75 + 4.50 = 13.75, + 1.00 fee = 14.75
        (fares.Fare("standard", "EUR", 250, 135, 30, 100, 700), 1475, (250, 675, 450, 100, 0)),
        # below the minimum: raised to it
        (fares.Fare("standard", "EUR", 0, 10, 1, 0, 1000), 1000, (0, 50, 15, 0, 935)),
        (fares.Fare("xl", "JPY", 500, 400, 50, 0, 0), 3250, (500, 2000, 750, 0, 0)),
        (fares.Fare("van", "BHD", 1250, 333, 17, 5, 0), 3175, (1250, 1665, 255, 5, 0)),
    ],
)
def test_the_sample_trip_is_priced_by_the_fare_function(fare, total, parts):
    price = fare_form.sample(fare)
    assert price == fares.price(fare, 5000, 900, fares.SURGE_NONE)
    assert price.total_minor == total
    assert (
        price.base_minor,
        price.distance_minor,
        price.time_minor,
        price.booking_fee_minor,
        price.minimum_fare_minor,
    ) == parts


def test_changes_in_the_units_the_page_shows():
    before = fares.Fare("standard", "EUR", 250, 135, 30, 100, 700)
    after = fares.Fare("standard", "EUR", 300, 135, 30, 100, 800)
    assert fare_form.changes(before, after) == {"base": ["2.50", "3.00"], "minimum": ["7.00", "8.00"]}
    assert fare_form.changes(None, after)["currency"] == [None, "EUR"]
