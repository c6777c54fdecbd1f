"""The learned speeds in memory: the fallback chain, the minimum passes, the line split over cells."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import h3.api.basic_int as h3i
import pytest

from hexfleet.eta.segments import Tally
from hexfleet.eta.table import CITY, Row, SpeedTable, hour_of_week, rows_from_tallies
from hexfleet.geo import haversine_m
from hexfleet.rides.routes import EstimateRules, estimate

UTC_ZONE = ZoneInfo("UTC")
LAT, LNG = 52.52, 13.405
CELL = h3i.latlng_to_cell(LAT, LNG, 8)
AREA = h3i.cell_to_parent(CELL, 7)
NEIGHBOUR = next(c for c in h3i.grid_ring(CELL, 1) if h3i.cell_to_parent(c, 7) == AREA)
FAR = next(c for c in h3i.grid_ring(CELL, 12) if h3i.cell_to_parent(c, 7) != AREA)
HOW = 8  # Monday 08:00


def kmh_row(resolution: int, cell: int, kmh: float, passes: int = 10, how: int = HOW) -> Row:
    return Row(resolution, cell, how, passes, kmh * 1000, 3600)


TABLE = SpeedTable.from_rows(
    [kmh_row(8, CELL, 12), kmh_row(7, AREA, 18), kmh_row(0, CITY, 30), kmh_row(8, NEIGHBOUR, 50, passes=3)],
    25.0,
    UTC_ZONE,
    min_passes=8,
)


@pytest.mark.parametrize(
    ("cell", "how", "kmh", "source"),
    [
        (CELL, HOW, 12, "cell"),
        (NEIGHBOUR, HOW, 18, "area"),  # its own row has 3 passes: under the minimum
        (FAR, HOW, 30, "city"),
        (CELL, HOW + 1, 25, "average"),  # nothing learned at 09:00
    ],
)
def test_the_fallback_chain(cell, how, kmh, source):
    assert 3.6 / TABLE.pace(cell, how) == pytest.approx(kmh)
    assert TABLE.source(cell, how) == source


@pytest.mark.parametrize(("kmh", "used"), [(1, 4), (400, 150), (40, 40)])
def test_learned_speeds_are_bounded(kmh, used):
    table = SpeedTable.from_rows([kmh_row(8, CELL, kmh)], 25.0, UTC_ZONE, 1)
    assert 3.6 / table.pace(CELL, HOW) == pytest.approx(used)


@pytest.mark.parametrize(
    ("when", "zone", "how"),
    [
        (datetime(2024, 1, 1, 0, 30, tzinfo=UTC), "UTC", 0),  # a Monday
        (datetime(2024, 1, 7, 23, 59, tzinfo=UTC), "UTC", 167),
        (datetime(2024, 1, 1, 7, 0, tzinfo=UTC), "Europe/Berlin", 8),  # 08:00 in Berlin
        (datetime(2024, 7, 1, 7, 0, tzinfo=UTC), "Europe/Berlin", 9),  # summer time
        (datetime(2024, 1, 1, 3, 0, tzinfo=UTC), "America/New_York", 6 * 24 + 22),  # still Sunday there
    ],
)
def test_hour_of_week(when, zone, how):
    assert hour_of_week(when.timestamp(), ZoneInfo(zone)) == how


MONDAY_8 = datetime(2024, 1, 1, 8, 10, tzinfo=UTC).timestamp()


def test_the_line_is_split_over_the_cells_it_crosses():
    # 3 km east from the slow cell: the first stretch at 12 km/h, the rest of the area at 18, beyond at 30.
    lat2, lng2 = LAT, LNG + 0.044
    seconds = TABLE.line_s(LAT, LNG, lat2, lng2, MONDAY_8)
    distance = haversine_m(LAT, LNG, lat2, lng2)
    assert distance / 30 * 3.6 < seconds < distance / 12 * 3.6
    pieces = 200
    expected = sum(
        distance / pieces * TABLE.pace(h3i.latlng_to_cell(LAT, LNG + 0.044 * (k + 0.5) / pieces, 8), HOW)
        for k in range(pieces)
    )
    assert seconds == pytest.approx(expected, rel=0.03)
    assert TABLE.line_s(LAT, LNG, LAT, LNG, MONDAY_8) == 0


def test_estimate_with_and_without_learned_speeds():
    rules = EstimateRules(detour_factor=1.3, average_speed_kmh=25)
    plain = estimate(LAT, LNG, LAT, LNG + 0.01, rules)
    assert estimate(LAT, LNG, LAT, LNG + 0.01, rules, SpeedTable(25.0), MONDAY_8) == plain  # nothing learned
    slow = estimate(LAT, LNG, LAT, LNG + 0.001, rules, TABLE, MONDAY_8)  # 68 m inside the 12 km/h cell
    assert slow.distance_m == round(haversine_m(LAT, LNG, LAT, LNG + 0.001) * 1.3)
    assert slow.duration_s == pytest.approx(haversine_m(LAT, LNG, LAT, LNG + 0.001) * 1.3 / (12 / 3.6), abs=1)


def test_rows_from_tallies_sum_per_resolution_and_hour_of_week():
    monday_8 = datetime(2024, 1, 1, 8, tzinfo=UTC)
    tallies = {
        (int(monday_8.timestamp()), CELL): Tally(3, 10, 1000.0, 100.0),
        (int((monday_8 + timedelta(weeks=1)).timestamp()), CELL): Tally(2, 5, 500.0, 50.0),
        (int(monday_8.timestamp()), NEIGHBOUR): Tally(1, 4, 400.0, 80.0),
    }
    rows = {
        (r.resolution, r.cell, r.hour_of_week): (r.passes, r.distance_m, r.seconds)
        for r in rows_from_tallies(tallies, UTC_ZONE)
    }
    assert rows == {
        (8, CELL, HOW): (5, 1500.0, 150.0),
        (8, NEIGHBOUR, HOW): (1, 400.0, 80.0),
        (7, AREA, HOW): (6, 1900.0, 230.0),
        (0, CITY, HOW): (6, 1900.0, 230.0),
    }
