"""The KPI definitions (hexfleet/analytics/kpis.py), by tables."""

from __future__ import annotations

import pytest

from hexfleet.analytics import histogram, kpis
from hexfleet.analytics.totals import DriverTotals, Totals


@pytest.mark.parametrize(
    ("promised_s", "actual_s", "kept"),
    [
        # 0–3 min: −30 s … +90 s
        (0, 0, True),
        (120, 90, True),  # 30 s early: the edge
        (120, 89, False),  # 31 s early: counts against, as the rider feels it
        (120, 210, True),  # 90 s late: the edge
        (120, 211, False),
        (179, 269, True),
        # 3–6 min: −1 … +2.5 min
        (180, 120, True),
        (180, 119, False),
        (300, 450, True),
        (300, 451, False),
        # 6–10 min: −1 … +3.5 min
        (360, 300, True),
        (480, 690, True),
        (480, 691, False),
        (480, 419, False),
        # 10–15 min: −1.5 … +4.5 min
        (600, 510, True),
        (600, 509, False),
        (720, 990, True),
        (720, 991, False),
        (899, 1169, True),
        # 15 min and more: no band
        (900, 900, None),
        (1800, 100, None),
    ],
)
def test_eta_bands(promised_s, actual_s, kept):
    assert kpis.within_band(promised_s, actual_s) is kept


@pytest.mark.parametrize(
    ("accepted", "declined", "expired", "rate"),
    [(0, 0, 0, None), (3, 1, 0, 0.75), (1, 1, 2, 0.25), (5, 0, 0, 1.0)],
)
def test_acceptance_rate_leaves_withdrawn_offers_out(accepted, declined, expired, rate):
    assert kpis.acceptance_rate(accepted, declined, expired) == rate


@pytest.mark.parametrize(
    ("totals", "rate"),
    [
        (Totals(), None),  # nothing ended yet: no rate, not 0
        (Totals(requests=4, completed=3, cancelled_rider=1), 0.75),
        (Totals(requests=10, completed=6, no_driver=2, cancelled_system=1, cancelled_dispatcher=1), 0.6),
        # rides still under way and rides a driver gave back (they went on) are not ended
        (Totals(requests=5, completed=2, cancelled_driver=3), 1.0),
    ],
)
def test_completion_rate(totals, rate):
    assert kpis.completion_rate(totals) == rate


@pytest.mark.parametrize(
    ("actor", "who"),
    [("customer", "rider"), ("dispatcher", "dispatcher"), ("admin", "dispatcher"), ("system", "system")],
)
def test_who_cancelled(actor, who):
    assert kpis.CANCELLED_BY[actor] == who


@pytest.mark.parametrize(
    ("revenue", "per_km"),
    [
        ({}, {}),
        ({"EUR": (2500, 10_000)}, {"EUR": 250.0}),
        ({"EUR": (1000, 0)}, {"EUR": None}),
        ({"EUR": (3000, 4000), "CHF": (900, 1000)}, {"EUR": 750.0, "CHF": 900.0}),  # each currency its own km
    ],
)
def test_fare_per_km(revenue, per_km):
    assert kpis.fare_per_km(revenue) == per_km


def _hist(*values: float) -> dict[int, int]:
    counts: dict[int, int] = {}
    for v in values:
        histogram.add(counts, v)
    return counts


def test_the_summary_of_merged_rows_has_every_key_scripts_rely_on():
    t = Totals(
        requests=10, searches=40, searches_booked=10, completed=6, no_driver=1, cancelled_rider=2,
        cancelled_dispatcher=1, cancelled_driver=1, cancelled_before_assign=2, cancelled_after_assign=1,
        assigned=8, offers_sent=12, offers_accepted=8, offers_declined=2, offers_expired=2, offers_withdrawn=3,
        eta_n=4, eta_abs_ms=240_000, eta_sum_ms=-60_000, eta_band_n=3, eta_band_ok=2, distance_m=30_000,
        online_ms=36_000_000, available_ms=18_000_000, busy_ms=18_000_000, en_route_ms=3_600_000,
        on_trip_ms=9_000_000, surge_quotes=4, surge_tenths=50,
        assign=_hist(10, 20, 30, 40, 50, 60, 70, 80, 90, 100), wait=_hist(300), response=_hist(4, 6, 8),
        revenue={"EUR": (15_000, 30_000)},
    )  # fmt: skip
    s = kpis.summary(t)
    assert {"requests", "searches", "completed", "cancelled", "no_driver", "acceptance_rate", "time_to_assign_s",
            "pickup_wait_s", "eta", "revenue_minor", "driver_hours", "utilisation"} <= set(s)  # fmt: skip
    assert {"rider", "driver", "dispatcher", "system"} <= set(s["cancelled"])
    assert s["requests"] == 10 and s["searches"] == 40 and s["conversion"] == 0.25
    assert s["cancelled"] == {
        "rider": 2, "driver": 1, "dispatcher": 1, "system": 0, "before_assignment": 2, "after_assignment": 1,
        "total": 3,
    }  # fmt: skip
    assert s["acceptance_rate"] == 8 / 12
    assert s["completion_rate"] == 6 / 10
    assert s["time_to_assign_s"]["p50"] == pytest.approx(50, rel=histogram.RELATIVE_ERROR)
    assert s["time_to_assign_s"]["p90"] == pytest.approx(90, rel=histogram.RELATIVE_ERROR)
    assert s["pickup_wait_s"] == {"p50": pytest.approx(300, rel=0.03), "p90": pytest.approx(300, rel=0.03)}
    assert s["response_time_s"]["p50"] == pytest.approx(6, rel=histogram.RELATIVE_ERROR)
    assert s["eta"] == {"n": 4, "mae_s": 60.0, "bias_s": -15.0, "within_band": 2 / 3}
    assert s["revenue_minor"] == {"EUR": 15_000}
    assert s["fare_per_km_minor"] == {"EUR": 500.0}
    assert s["driver_hours"] == {"online": 10.0, "available": 5.0, "busy": 5.0, "en_route": 1.0, "on_trip": 2.5}
    assert s["utilisation"] == 0.25
    assert s["surge_avg"] == 1.25


def test_an_empty_range_reads_as_no_data_not_as_zero_rates():
    s = kpis.summary(Totals())
    assert s["requests"] == 0
    for value in (s["conversion"], s["acceptance_rate"], s["completion_rate"], s["utilisation"], s["surge_avg"],
                  s["time_to_assign_s"]["p50"], s["pickup_wait_s"]["p90"], s["eta"]["mae_s"],
                  s["eta"]["within_band"]):  # fmt: skip
        assert value is None


def test_rows_add_up_exactly_whatever_the_order():
    a = Totals(requests=2, online_ms=1000, assign=_hist(5), revenue={"EUR": (100, 1000)})
    b = Totals(requests=3, online_ms=500, assign=_hist(5, 500), revenue={"EUR": (50, 10), "USD": (7, 70)})
    ab, ba = Totals().add(a).add(b), Totals().add(b).add(a)
    assert ab == ba
    assert ab.requests == 5 and ab.online_ms == 1500
    assert ab.revenue == {"EUR": (150, 1010), "USD": (7, 70)}
    assert sum(ab.assign.values()) == 3


def test_a_drivers_summary():
    d = DriverTotals(online_ms=7_200_000, on_trip_ms=3_600_000, en_route_ms=900_000, offers_sent=5,
                     offers_accepted=3, offers_declined=1, offers_expired=1, trips=3, distance_m=12_345,
                     revenue={"EUR": (4200, 12_345)})  # fmt: skip
    s = kpis.driver_summary(d)
    assert s["hours"]["online"] == 2.0 and s["hours"]["on_trip"] == 1.0 and s["hours"]["en_route"] == 0.25
    assert s["utilisation"] == 0.5 and s["acceptance_rate"] == 0.6
    assert s["trips"] == 3 and s["revenue_minor"] == {"EUR": 4200} and s["distance_km"] == 12.3
