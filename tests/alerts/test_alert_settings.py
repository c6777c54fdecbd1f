"""The ALERT_* settings: read into the desk's rules, bad values refused at start-up, and the
worker's cron runs at every ALERT_EVERY_S-th second."""

from __future__ import annotations

import pytest

from hexfleet.settings import Settings, SettingsError


def test_the_rules_read_every_threshold():
    rules = Settings.from_env(
        {
            "ALERT_UNASSIGNED_S": "90",
            "ALERT_ETA_GROWTH_S": "240",
            "ALERT_NOT_MOVING_S": "600",
            "ALERT_STILL_RADIUS_M": "80",
            "ALERT_NO_DRIVER_SOON_S": "45",
            "ALERT_RESTRICTED_WAIT_S": "420",
            "STALE_AFTER_S": "30",
            "DISPATCH_PATIENCE_S": "200",
        }
    ).alert_rules()
    assert (rules.unassigned_s, rules.eta_growth_s, rules.not_moving_s, rules.still_radius_m) == (90, 240, 600, 80)
    assert (rules.no_driver_soon_s, rules.restricted_wait_s) == (45, 420)
    assert (rules.stale_after_s, rules.patience_s) == (30, 200)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"ALERT_EVERY_S": "7"}, "ALERT_EVERY_S must divide 60"),
        ({"ALERT_EVERY_S": "0"}, "ALERT_EVERY_S must be at least 1"),
        ({"ALERT_EVERY_S": "120"}, "ALERT_EVERY_S must be at most 60"),
        ({"ALERT_UNASSIGNED_S": "5"}, "ALERT_UNASSIGNED_S must be at least 10"),
        ({"ALERT_STILL_RADIUS_M": "5000"}, "ALERT_STILL_RADIUS_M must be at most 1000"),
        ({"ALERT_NO_DRIVER_SOON_S": "-1"}, "ALERT_NO_DRIVER_SOON_S must be at least 0"),
        ({"RATE_ALERTS": "lots"}, "RATE_ALERTS must look like 10/minute"),
    ],
)
def test_bad_values_stop_the_process(env, words):
    with pytest.raises(SettingsError, match=words):
        Settings.from_env(env)


def test_the_worker_evaluates_at_every_alert_every_s(monkeypatch):
    import importlib

    import workers.settings as worker_settings

    monkeypatch.setenv("ALERT_EVERY_S", "15")
    try:
        reloaded = importlib.reload(worker_settings)
        [job] = [c for c in reloaded.WorkerSettings.cron_jobs if c.name == "cron:evaluate_alerts"]
        assert job.second == {0, 15, 30, 45} and job.run_at_startup
    finally:
        monkeypatch.delenv("ALERT_EVERY_S")
        importlib.reload(worker_settings)
