"""The surge rule (pure table): demand against supply, smoothed, stepped, capped."""

import pytest

from hexfleet.rides.surge import SurgeRules, next_tenths, target_tenths

RULES = SurgeRules()  # ×1.0 to ×3.0, sensitivity 0.5, smoothing 0.5


@pytest.mark.parametrize(
    ("demand", "supply", "target"),
    [(0, 0, 10), (0, 10, 10), (5, 10, 10), (10, 10, 10), (20, 10, 15), (30, 10, 20), (3, 0, 20), (50, 10, 30)],
)
def test_target(demand, supply, target):
    assert target_tenths(demand, supply, RULES) == pytest.approx(target)


@pytest.mark.parametrize(
    ("demand", "supply", "previous", "expected"),
    [
        (0, 10, 10, 10),  # quiet: stays at ×1.0
        (20, 10, 10, 13),  # goal ×1.5: half the gap (0.25) rounds up to the step 0.3
        (20, 10, 13, 14),  # then 1.4 ...
        (20, 10, 14, 15),  # ... at least one step per run, so it reaches ×1.5
        (20, 10, 15, 15),
        (100, 1, 10, 20),  # capped goal ×3.0, smoothed: halfway
        (100, 1, 29, 30),
        (100, 1, 30, 30),  # never above SURGE_MAX
        (0, 5, 30, 20),  # demand gone: decays halfway
        (0, 5, 11, 10),  # and the last step back to ×1.0
        (11, 10, 10, 11),  # ratio 1.1: target ×1.05 rounds half up to the step ×1.1
    ],
)
def test_next_tenths(demand, supply, previous, expected):
    assert next_tenths(demand, supply, previous, RULES) == expected


def test_a_cell_converges_on_its_target_and_stays():
    history, current = [], 10
    for _ in range(10):
        current = next_tenths(25, 10, current, RULES)
        history.append(current)
    assert history[-1] == 18  # 1 + 0.5 × (2.5 − 1) = 1.75 → 1.8
    assert history == sorted(history)  # never overshoots


def test_caps_come_from_the_rules():
    narrow = SurgeRules(min_tenths=10, max_tenths=15, smoothing=1.0)
    assert next_tenths(1000, 1, 10, narrow) == 15
    assert next_tenths(0, 1, 15, narrow) == 10


def test_counts_are_counts():
    with pytest.raises(ValueError):
        next_tenths(-1, 0, 10, RULES)
