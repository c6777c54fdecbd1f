"""Bucketed histograms of durations, so percentiles merge exactly over any range (pure).

Averaging hourly medians gives a number that is nobody's median. Every rollup row keeps a
histogram instead; adding the counts of any set of rows gives the histogram of all their
values together, and its percentile is as good as a single row's.

Buckets (seconds; logarithmic, 16 per doubling, as HDR histograms do):

- bucket 0 holds [0 s, 1 s);
- bucket i ≥ 1 holds [2^((i-1)/16), 2^(i/16)) s, so each is 4.4 % wider than the one before;
- the last bucket, ``LAST`` (321, from 2^20 s, about 12 days), also holds anything longer.

A percentile is read as the midpoint of the bucket holding the value of that rank, so it is
off by at most half a bucket: **at most 2.22 % of the true value** for values of 1 s to 12
days, at most 0.5 s below 1 s. "The value of that rank" is the nearest-rank percentile (the
smallest value with at least p % of all values at or below it), the same definition the exact
computation from raw rows uses, so the bound holds for the result, not only per value.

Stored sparse: the bucket numbers and their counts as two arrays, numbers ascending.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

PER_DOUBLING = 16
LAST = 1 + 20 * PER_DOUBLING  # 321: from 2^20 s (12.1 days) up
# Half a bucket's width as a share of its start is (2^(1/16) − 1) / 2 = 2.214 %: the bound, rounded up.
RELATIVE_ERROR = 0.0222
ABSOLUTE_ERROR_BELOW_1S = 0.5


def bucket_of(seconds: float) -> int:
    """The bucket a duration falls in (negative durations, from clock skew, count as 0 s)."""
    if not seconds >= 1:  # also NaN
        return 0
    index = 1 + math.floor(PER_DOUBLING * math.log2(seconds))
    # log2 may land a hair on the wrong side of a boundary: the bounds decide.
    if seconds < lower(index):
        index -= 1
    elif index < LAST and seconds >= lower(index + 1):
        index += 1
    return min(index, LAST)


def lower(index: int) -> float:
    """The smallest duration in a bucket."""
    return 0.0 if index == 0 else 2 ** ((index - 1) / PER_DOUBLING)


def upper(index: int) -> float:
    """Where a bucket ends (the last one is read as if it ended a bucket later)."""
    return 1.0 if index == 0 else 2 ** (index / PER_DOUBLING)


def midpoint(index: int) -> float:
    return (lower(index) + upper(index)) / 2


def add(counts: dict[int, int], seconds: float) -> None:
    index = bucket_of(seconds)
    counts[index] = counts.get(index, 0) + 1


def merge(into: dict[int, int], other: Mapping[int, int]) -> None:
    for index, n in other.items():
        if n:
            into[index] = into.get(index, 0) + n


def percentile(counts: Mapping[int, int], p: float) -> float | None:
    """The nearest-rank ``p`` percentile (0 < p ≤ 1) as its bucket's midpoint; None when empty."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(p * total - 1e-9))  # p × total of 0.9 × 10 is 9, not 9.000000000000002
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return midpoint(index)
    return midpoint(max(counts))  # unreachable: the counts add up to total


def exact_percentile(values: Iterable[float], p: float) -> float | None:
    """The nearest-rank percentile of raw values: what a histogram's answer is measured against."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(p * len(ordered) - 1e-9)) - 1]


def to_arrays(counts: Mapping[int, int]) -> tuple[list[int], list[int]]:
    """(bucket numbers ascending, their counts), zero counts left out: what a row stores."""
    indexes = sorted(i for i, n in counts.items() if n)
    return indexes, [counts[i] for i in indexes]


def from_arrays(indexes: Iterable[int], ns: Iterable[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for index, n in zip(indexes, ns, strict=True):
        out[int(index)] = out.get(int(index), 0) + int(n)
    return out
