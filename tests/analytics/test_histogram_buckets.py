"""The histogram buckets: where values land, and how far a percentile read from them can be off."""

from __future__ import annotations

import random

import pytest

from hexfleet.analytics import histogram as h


@pytest.mark.parametrize(
    ("seconds", "bucket"),
    [
        (-5.0, 0),  # clock skew: counted as 0 s
        (0.0, 0),
        (0.999, 0),
        (1.0, 1),
        (2.0, 17),  # one doubling: 16 buckets on
        (2.0 - 1e-9, 16),
        (4.0, 33),
        (60.0, 1 + 94),  # 16 × log2(60) = 94.5
        (3600.0, 1 + 189),
        (2.0**20, h.LAST),
        (10.0**9, h.LAST),  # beyond 12 days: the last bucket
        (float("nan"), 0),
    ],
)
def test_bucket_of(seconds, bucket):
    assert h.bucket_of(seconds) == bucket


@pytest.mark.parametrize("seconds", [1.0, 1.0437, 1.5, 7.3, 59.99, 60.0, 61.5, 599.0, 3599.9, 86_400.0, 2.0**19 * 1.9])
def test_a_value_lies_in_its_bucket_and_the_midpoint_is_within_the_stated_error(seconds):
    index = h.bucket_of(seconds)
    assert h.lower(index) <= seconds < h.upper(index)
    assert abs(h.midpoint(index) - seconds) <= h.RELATIVE_ERROR * seconds + 1e-12


def test_below_one_second_the_error_is_at_most_half_a_second():
    for seconds in (0.0, 0.2, 0.5, 0.99):
        assert abs(h.midpoint(h.bucket_of(seconds)) - seconds) <= h.ABSOLUTE_ERROR_BELOW_1S


def test_the_stated_error_is_half_a_bucket_rounded_up():
    assert (2 ** (1 / 16) - 1) / 2 < h.RELATIVE_ERROR <= 0.0222
    for index in (1, 50, 200, h.LAST - 1):
        assert h.upper(index) / h.lower(index) == pytest.approx(2 ** (1 / 16))


@pytest.mark.parametrize(
    ("values", "p", "exact"),
    [
        ([5.0], 0.5, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.0),  # nearest rank: ceil(0.5 × 4) = 2nd
        ([1.0, 2.0, 3.0, 4.0, 5.0], 0.5, 3.0),
        ([float(i) for i in range(1, 11)], 0.9, 9.0),  # ceil(0.9 × 10) = 9th, not the 10th
        ([float(i) for i in range(1, 101)], 0.9, 90.0),
        ([], 0.5, None),
    ],
)
def test_nearest_rank_percentiles(values, p, exact):
    assert h.exact_percentile(values, p) == exact
    counts: dict[int, int] = {}
    for v in values:
        h.add(counts, v)
    estimate = h.percentile(counts, p)
    if exact is None:
        assert estimate is None
    else:
        assert abs(estimate - exact) <= h.RELATIVE_ERROR * exact


def test_merged_histograms_give_the_percentiles_of_all_their_values_together():
    rng = random.Random(7)
    parts = [[rng.lognormvariate(3, 1) for _ in range(rng.randint(0, 60))] for _ in range(48)]
    merged: dict[int, int] = {}
    for part in parts:
        counts: dict[int, int] = {}
        for v in part:
            h.add(counts, v)
        indexes, ns = h.to_arrays(counts)
        assert indexes == sorted(indexes) and 0 not in ns
        h.merge(merged, h.from_arrays(indexes, ns))
    everything = [v for part in parts for v in part]
    for p in (0.5, 0.9, 0.99):
        exact = h.exact_percentile(everything, p)
        assert abs(h.percentile(merged, p) - exact) <= h.RELATIVE_ERROR * exact
    # Averaging the parts' medians is what the histograms are there to avoid: here it is far off.
    medians = [h.exact_percentile(part, 0.5) for part in parts if part]
    assert abs(sum(medians) / len(medians) - h.exact_percentile(everything, 0.5)) > h.RELATIVE_ERROR * 20
