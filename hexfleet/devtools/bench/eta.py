"""ETAs at constant speed against learned ones: `python -m hexfleet.devtools.bench.eta`.

Simulates a week of the simulator's city (``eta_sim.py``: a slow centre at rush hour, faster
outskirts at night), learns speeds from a training fleet's fixes with the worker's own
derivation, then drives held-out rides and reports, for the estimate at AVERAGE_SPEED_KMH and
for the learned one: the mean absolute error and the bias (actual − estimate; positive: the
car came later than promised), overall and by time of day. Also the cost of one estimate on
the quote path with the learned table in memory. The target: learned cuts the error by at
least 25% and keeps the bias within ±30 s. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

import orjson

from hexfleet.devtools.bench.eta_sim import Outcome, Plan, run
from hexfleet.devtools.sim.traffic import congestion
from hexfleet.rides.routes import EstimateRules, estimate

TARGET_CUT = 0.25
TARGET_BIAS_S = 30.0


def _estimate_us(outcome: Outcome, plan: Plan) -> dict[str, float]:
    """Microseconds per estimate of a 3 km line, at constant speed and with the learned table."""
    rules = EstimateRules(plan.detour, plan.average_kmh)
    lat, lng = plan.centre
    at = time.time()
    figures = {}
    for name, table in (("constant", None), ("learned", outcome.table)):
        began, n = time.perf_counter(), 2000
        for k in range(n):
            estimate(lat, lng, lat + 0.02, lng + 0.02 + k * 1e-6, rules, table, at)
        figures[name] = round((time.perf_counter() - began) / n * 1e6, 1)
    return figures


def _kind(how: int) -> str:
    busy = congestion(how)
    return "rush" if busy >= 1 else "night" if busy == 0 else "day"


def report(outcome: Outcome, plan: Plan, seconds: float) -> dict:
    c_mae, c_bias = outcome.errors("constant")
    l_mae, l_bias = outcome.errors("learned")
    cut = 1 - l_mae / c_mae if c_mae else 0.0
    table = outcome.table
    assert table is not None
    us = _estimate_us(outcome, plan)
    figures: dict = {
        "seed": plan.seed,
        "hours": len(plan.hours),
        "training_fixes": outcome.fixes,
        "rides": len(outcome.rides),
        "learned_rows": {"cell": len(table.res8), "area": len(table.res7), "city": len(table.city)},
        "constant": {"mae_s": round(c_mae, 1), "bias_s": round(c_bias, 1)},
        "learned": {"mae_s": round(l_mae, 1), "bias_s": round(l_bias, 1)},
        "mae_cut": round(cut, 3),
        "estimate_us": us,
        "seconds": round(seconds, 1),
        "target_met": cut >= TARGET_CUT and abs(l_bias) <= TARGET_BIAS_S,
    }
    print(f"{len(outcome.rides)} held-out rides in {len(plan.hours)} hours of week; {outcome.fixes:,} fixes learned")
    print(f"{'':<14}{'MAE':>10}{'bias':>10}")
    print(f"{'constant':<14}{c_mae:>9.0f}s{c_bias:>+9.0f}s   (AVERAGE_SPEED_KMH {plan.average_kmh:g})")
    print(f"{'learned':<14}{l_mae:>9.0f}s{l_bias:>+9.0f}s   (MAE {cut:.0%} lower; target ≥ 25%, bias within ±30 s)")
    for kind in ("rush", "day", "night"):
        rides = [r for r in outcome.rides if _kind(r.hour_of_week) == kind]
        if rides:
            sub = Outcome(rides=rides)
            (cm, cb), (lm, lb) = sub.errors("constant"), sub.errors("learned")
            print(f"  {kind:<12}{cm:>9.0f}s{cb:>+9.0f}s → {lm:>5.0f}s{lb:>+6.0f}s  ({len(rides)} rides)")
    print(f"one estimate (3 km line): {us['constant']} µs at constant speed, {us['learned']} µs learned")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hexfleet.devtools.bench.eta", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7, help="seed (7)")
    parser.add_argument("--drivers", type=int, default=20, metavar="N", help="training drivers per hour (20)")
    parser.add_argument("--minutes", type=float, default=30.0, metavar="M", help="each drives this long (30)")
    parser.add_argument("--rides", type=int, default=3, metavar="N", help="held-out rides per hour (3)")
    parser.add_argument("--every", type=int, default=2, metavar="K", help="simulate every K-th hour of week (2)")
    parser.add_argument("--min-passes", type=int, default=8, metavar="N", help="LEARNED_SPEEDS_MIN_PASSES (8)")
    args = parser.parse_args(argv)
    if min(args.drivers, args.rides, args.every, args.min_passes) < 1 or args.minutes <= 0:
        parser.error("counts must be at least 1 and minutes positive")
    plan = Plan(
        seed=args.seed,
        hours=tuple(range(0, 168, args.every)),
        drivers=args.drivers,
        minutes=args.minutes,
        rides=args.rides,
        min_passes=args.min_passes,
    )
    began = time.perf_counter()
    outcome = run(plan, datetime.now(UTC))
    figures = report(outcome, plan, time.perf_counter() - began)
    print(orjson.dumps(figures).decode())
    return 0 if figures["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
