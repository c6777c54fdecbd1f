import pytest

from hexfleet.tracking import filters as f
from hexfleet.tracking.pings import Ping

RULES = f.FilterRules(future_s=600, past_s=86400, max_speed_kmh=200, max_accuracy_m=100)
NOW = 1_795_000_000.0
BERLIN = (52.5200, 13.4050)


@pytest.mark.parametrize(
    ("ts", "verdict"),
    [
        (NOW, f.ACCEPTED),
        (NOW + 599, f.ACCEPTED),
        (NOW + 601, f.FUTURE),
        (NOW - 86399, f.ACCEPTED),
        (NOW - 86401, f.TOO_OLD),
    ],
)
def test_judge_time(ts, verdict):
    assert f.judge_time(Ping(*BERLIN, ts), NOW, RULES) == verdict


def km_north(km: float) -> tuple[float, float]:
    return BERLIN[0] + km / 111.195, BERLIN[1]


@pytest.mark.parametrize(
    ("ping", "verdict", "why"),
    [
        (Ping(*km_north(1), NOW + 60), f.ACCEPTED, "1 km in 60 s is 60 km/h"),
        (Ping(*km_north(5), NOW + 60), f.IMPLAUSIBLE_JUMP, "5 km in 60 s is 300 km/h"),
        (Ping(*km_north(0.03), NOW + 0.1), f.ACCEPTED, "30 m of noise in 0.1 s is not a jump"),
        (Ping(*km_north(0.5), NOW + 1), f.IMPLAUSIBLE_JUMP, "500 m in 1 s"),
        (Ping(*km_north(1), NOW - 1), f.OUT_OF_ORDER, "older than the latest"),
        (Ping(*km_north(1), NOW), f.DUPLICATE, "same device time"),
        (Ping(*km_north(0.1), NOW + 30, accuracy_m=250), f.INACCURATE, "accuracy worse than 100 m"),
        (Ping(*km_north(0.1), NOW + 30, accuracy_m=100), f.ACCEPTED, "accuracy exactly at the limit"),
    ],
)
def test_judge_motion(ping, verdict, why):
    assert f.judge_motion(ping, f.LastFix(*BERLIN, NOW), RULES) == verdict, why


def test_first_fix_is_accepted_unless_inaccurate():
    assert f.judge_motion(Ping(*BERLIN, NOW), None, RULES) == f.ACCEPTED
    assert f.judge_motion(Ping(*BERLIN, NOW, accuracy_m=500), None, RULES) == f.INACCURATE


def test_sequence_judges_against_the_last_accepted_fix():
    pings = [
        Ping(*km_north(0.5), NOW + 30),  # fine
        Ping(*km_north(20), NOW + 40),  # a wild jump: flagged, not the new reference
        Ping(*km_north(0.7), NOW + 50),  # fine relative to the last accepted, not to the jump
        Ping(*km_north(0.6), NOW + 45),  # late arrival
    ]
    verdicts, last = f.judge_sequence(pings, f.LastFix(*BERLIN, NOW), RULES)
    assert verdicts == [f.ACCEPTED, f.IMPLAUSIBLE_JUMP, f.ACCEPTED, f.OUT_OF_ORDER]
    assert last == f.LastFix(*km_north(0.7), NOW + 50)
