"""A map's bounding box → the rollup cells it covers (hexfleet/analytics/area.py)."""

from __future__ import annotations

import pytest

from hexfleet.analytics import area
from hexfleet.geo import cell_of, parse_bbox

BERLIN = "13.30,52.47,13.50,52.57"  # about 13.6 × 11.1 km


def test_a_city_box_holds_the_cells_whose_centres_are_in_it_and_those_under_its_corners():
    cells = area.cells_in_bbox(parse_bbox(BERLIN))
    assert 25 <= len(cells) <= 45  # about 150 km² of 5.16 km² cells, and the edges
    assert cell_of(52.52, 13.405, 7) in cells
    assert cell_of(52.47, 13.30, 7) in cells  # a corner
    assert cell_of(52.52, 13.70, 7) not in cells  # 14 km east


@pytest.mark.parametrize("box", ["13.4049,52.5199,13.4051,52.5201", "13.405,52.52,13.405,52.52"])
def test_a_box_smaller_than_a_cell_still_means_the_cell_under_it(box):
    assert area.cells_in_bbox(parse_bbox(box)) == {cell_of(52.52, 13.405, 7)}


def test_a_box_across_the_antimeridian_is_two():
    cells = area.cells_in_bbox(parse_bbox("179.9,-17.0,-179.9,-16.9"))
    assert cell_of(-16.95, 179.95, 7) in cells and cell_of(-16.95, -179.95, 7) in cells
    assert cell_of(-16.95, 0.0, 7) not in cells


@pytest.mark.parametrize("box", ["-180,-90,180,90", "0,40,20,55"])
def test_a_box_too_large_is_refused_before_listing_anything(box):
    with pytest.raises(area.AreaTooLarge, match="zoom in"):
        area.cells_in_bbox(parse_bbox(box))


def test_the_estimate_is_close_to_what_is_listed():
    box = parse_bbox(BERLIN)
    assert area.estimated_cells(box) == pytest.approx(len(area.cells_in_bbox(box)), rel=0.5)
