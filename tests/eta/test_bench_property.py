"""The method's promise, on a small seeded run of the ETA bench's city: learned speeds cut the
mean absolute error of constant-speed ETAs by at least 25% and keep the bias within ±30 s on
rides held out from learning. A property of the method, not a timing: the same seed gives
the same figures on any machine."""

from __future__ import annotations

from datetime import UTC, datetime

from hexfleet.devtools.bench.eta import TARGET_BIAS_S, TARGET_CUT
from hexfleet.devtools.bench.eta_sim import Plan, run

# Night, morning rush, midday, evening rush, evening, and a Saturday afternoon.
PLAN = Plan(seed=7, hours=(2, 8, 13, 17, 21, 130), drivers=20, minutes=30, rides=20)


def test_learned_etas_beat_the_constant_speed_on_held_out_rides():
    outcome = run(PLAN, datetime.now(UTC))
    assert len(outcome.rides) >= 100
    constant_mae, _ = outcome.errors("constant")
    learned_mae, learned_bias = outcome.errors("learned")
    assert learned_mae <= (1 - TARGET_CUT) * constant_mae, (constant_mae, learned_mae)
    assert abs(learned_bias) <= TARGET_BIAS_S
    assert outcome.table is not None and outcome.table.res8 and outcome.table.res7  # the chain is exercised


def test_the_same_seed_gives_the_same_rides():
    small = Plan(seed=3, hours=(8,), drivers=3, minutes=10, rides=3)
    first, second = run(small, datetime.now(UTC)), run(small, datetime.now(UTC))
    assert [r.actual_s for r in first.rides] == [r.actual_s for r in second.rides]
    assert first.table == second.table
