"""Surge pricing per H3 cell (pure): demand against supply, smoothed, stepped, capped.

Every recalculation (an arq cron job, every 30 s) computes a target from the ratio of
demand (open bookings and recent quotes in a cell and its ring) to supply (available,
fresh drivers there):

    target = 1 + sensitivity × max(0, demand / max(supply, 1) − 1)

rounds it to a step of 0.1 and caps it to [SURGE_MIN, SURGE_MAX], then moves part of the
way there from the previous multiplier (``smoothing``: 0.5 halves the gap each run, and
every run moves at least one step, so one burst of quotes does not whip prices around
and a cell still reaches its target). Multipliers are integer tenths (13 = ×1.3). A
cell with no demand decays back to ×1.0 the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SurgeRules:
    min_tenths: int = 10
    max_tenths: int = 30
    sensitivity: float = 0.5  # ×(1 + 0.5) at twice as much demand as supply
    smoothing: float = 0.5  # share of the gap to the target closed per run (1.0: no smoothing)


def target_tenths(demand: int, supply: int, rules: SurgeRules) -> float:
    ratio = demand / max(supply, 1)
    return 10 * (1 + rules.sensitivity * max(0.0, ratio - 1.0))


def next_tenths(demand: int, supply: int, previous_tenths: int, rules: SurgeRules) -> int:
    """The cell's new multiplier in tenths, from its demand, supply and previous multiplier."""
    if demand < 0 or supply < 0:
        raise ValueError("demand and supply are counts")
    goal = max(rules.min_tenths, min(rules.max_tenths, int(target_tenths(demand, supply, rules) + 0.5)))
    if goal == previous_tenths:
        return goal
    moved = previous_tenths + rules.smoothing * (goal - previous_tenths)
    # Whole tenths, a half rounded towards the goal.
    stepped = math.floor(moved + 0.5) if goal > previous_tenths else math.ceil(moved - 0.5)
    if stepped == previous_tenths:  # at least one step of 0.1 towards the goal per run
        stepped += 1 if goal > previous_tenths else -1
    return max(rules.min_tenths, min(rules.max_tenths, stepped))
