"""Fares and the rounding rule (pure tables; money is integer minor units)."""

import pytest

from hexfleet.rides.fares import Fare, price, round_half_up

EUR = Fare("standard", "EUR", base_minor=250, per_km_minor=135, per_minute_minor=30,
           booking_fee_minor=100, minimum_minor=700)  # fmt: skip


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (0, 1, 0),
        (5, 10, 1),
        (4, 10, 0),
        (15, 10, 2),
        (25, 10, 3),
        (14, 10, 1),
        (1, 3, 0),
        (2, 3, 1),
        (135 * 1234, 1000, 167),
    ],
)
def test_round_half_up(numerator, denominator, expected):
    assert round_half_up(numerator, denominator) == expected


@pytest.mark.parametrize(("numerator", "denominator"), [(-1, 2), (1, 0), (1, -3)])
def test_round_half_up_refuses_what_money_never_is(numerator, denominator):
    with pytest.raises(ValueError):
        round_half_up(numerator, denominator)


@pytest.mark.parametrize(
    ("distance_m", "duration_s", "surge", "expected"),
    [
        # distance = 135 × 5000 / 1000 = 675; time = 30 × 600 / 60 = 300; metered 1225; + fee 100
        (5000, 600, 10, {"distance_minor": 675, "time_minor": 300, "surge_minor": 0, "total_minor": 1325}),
        # ×1.5: 1225 × 1.5 = 1837.5 → 1838 (half up); + 100
        (5000, 600, 15, {"surge_minor": 613, "total_minor": 1938}),
        # 1234 m: 166.59 → 167; 95 s: 47.5 → 48; metered 465, + 100 = 565 < minimum 700
        (1234, 95, 10, {"distance_minor": 167, "time_minor": 48, "minimum_fare_minor": 135, "total_minor": 700}),
        # a surge that only lifts a short trip towards the minimum: the minimum still holds
        (1234, 95, 12, {"surge_minor": 93, "minimum_fare_minor": 42, "total_minor": 700}),
        (0, 0, 10, {"total_minor": 700}),
        (42_195, 9000, 30, {"distance_minor": 5696, "time_minor": 4500, "surge_minor": 20892, "total_minor": 31438}),
    ],
)
def test_price_table(distance_m, duration_s, surge, expected):
    p = price(EUR, distance_m, duration_s, surge)
    assert {k: p.breakdown()[k] for k in expected} == expected
    parts = p.breakdown()
    assert (
        parts["base_minor"] + parts["distance_minor"] + parts["time_minor"] + parts["surge_minor"]
        + parts["booking_fee_minor"] + parts["minimum_fare_minor"]
    ) == parts["total_minor"] == p.total_minor  # fmt: skip
    assert parts["surge_multiplier"] == surge / 10


@pytest.mark.parametrize(("distance_m", "duration_s", "surge"), [(-1, 0, 10), (0, -1, 10), (100, 10, 9)])
def test_price_refuses_impossible_trips(distance_m, duration_s, surge):
    with pytest.raises(ValueError):
        price(EUR, distance_m, duration_s, surge)


def test_the_same_trip_costs_the_same_every_time():
    assert len({price(EUR, 7777, 777, 13).total_minor for _ in range(100)}) == 1
