"""``hexfleet simulate``: its option checks and the runner's pure helpers. No services needed."""

from __future__ import annotations

import argparse

import httpx
import pytest

from hexfleet.cli.main import main
from hexfleet.devtools.sim import accounts, api, report, runner
from hexfleet.devtools.sim import command as simulate
from hexfleet.devtools.sim.config import SimConfig
from hexfleet.errors import Invalid
from hexfleet.settings import Settings

# What `hexfleet simulate` fills in when no option says otherwise.
SETTINGS = Settings.from_env({"PORT": "8123", "MAP_CENTER": "48.8566,2.3522"})


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hexfleet simulate")
    simulate.configure(parser)
    return parser.parse_args(argv)


def config(**changes) -> SimConfig:
    defaults = SimConfig(
        drivers=50,
        interval=2.0,
        duration=0.0,
        center=(48.8566, 2.3522),
        radius_m=4000.0,
        url="http://127.0.0.1:8123",
        seed=None,
        progress=True,
    )
    return SimConfig(**{**defaults.__dict__, **changes})


# --- the command line -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("52.52,13.405", (52.52, 13.405)),
        ("-33.87,151.21", (-33.87, 151.21)),
        (" 52.5 , 13.4 ", (52.5, 13.4)),
        ("85,180", (85.0, 180.0)),
        ("-85,-180", (-85.0, -180.0)),
        ("0,0", (0.0, 0.0)),
    ],
)
def test_parse_center_accepts_lat_lng(text, expected):
    assert simulate.parse_center(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "--center must be lat,lng (e.g. 52.52,13.405), not 'abc'"),
        ("1,2,3", "--center must be lat,lng (e.g. 52.52,13.405), not '1,2,3'"),
        ("52.52", "--center must be lat,lng (e.g. 52.52,13.405), not '52.52'"),
        ("52.52;13.405", "--center must be lat,lng (e.g. 52.52,13.405), not '52.52;13.405'"),
        ("north,east", "--center must be lat,lng (e.g. 52.52,13.405), not 'north,east'"),
        ("", "--center must be lat,lng (e.g. 52.52,13.405), not ''"),
        ("91,0", "--center is out of range (latitude ±85, longitude ±180): '91,0'"),
        ("85.01,0", "--center is out of range (latitude ±85, longitude ±180): '85.01,0'"),
        ("0,-180.5", "--center is out of range (latitude ±85, longitude ±180): '0,-180.5'"),
        ("nan,0", "--center is out of range (latitude ±85, longitude ±180): 'nan,0'"),
    ],
)
def test_parse_center_rejects_with_one_line(text, message):
    with pytest.raises(Invalid) as caught:
        simulate.parse_center(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ((), config()),
        (
            ("--drivers", "3", "--interval", "0.5", "--duration", "60", "--radius-km", "1.5", "--seed", "7"),
            config(drivers=3, interval=0.5, duration=60.0, radius_m=1500.0, seed=7),
        ),
        (("--center=-33.87,151.21",), config(center=(-33.87, 151.21))),
        (
            (
                "--url",
                "https://demo.example.org/",
            ),
            config(url="https://demo.example.org"),
        ),
        (
            (
                "--url",
                "http://10.0.0.5:8000//",
            ),
            config(url="http://10.0.0.5:8000"),
        ),
        (("--no-progress",), config(progress=False)),
        (
            ("--drivers", "1", "--interval", "0.1", "--radius-km", "0.1"),
            config(drivers=1, interval=0.1, radius_m=100.0),
        ),
        (
            ("--drivers", "10000", "--interval", "3600", "--radius-km", "50"),
            config(drivers=10_000, interval=3600.0, radius_m=50_000.0),
        ),
        (
            ("--rides-per-minute", "12.5", "--scheduled-share", "0.5", "--accept-share", "1", "--cancel-share", "0"),
            # Enough customers that none books more than 0.8 of the platform's 60 an hour.
            config(rides_per_minute=12.5, scheduled_share=0.5, accept_share=1.0, cancel_share=0.0, rider_accounts=16),
        ),
        (("--rides-per-minute", "0"), config(rides_per_minute=0.0, rider_accounts=0)),  # no riders
        (
            ("--rides-per-minute", "600", "--scheduled-share", "1", "--accept-share", "0", "--cancel-share", "1"),
            config(rides_per_minute=600.0, scheduled_share=1.0, accept_share=0.0, cancel_share=1.0, rider_accounts=750),
        ),
    ],
)
def test_config_from_args(argv, expected):
    assert simulate.config_from_args(parse(*argv), SETTINGS) == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--drivers", "0"), "--drivers must be between 1 and 10000, not 0"),
        (("--drivers", "10001"), "--drivers must be between 1 and 10000, not 10001"),
        (("--interval", "0.05"), "--interval must be between 0.1 and 3600 seconds, not 0.05"),
        (("--interval", "nan"), "--interval must be between 0.1 and 3600 seconds, not nan"),
        (("--interval", "inf"), "--interval must be between 0.1 and 3600 seconds, not inf"),
        (("--duration", "-1"), "--duration must be 0 (run until Ctrl-C) or a positive number, not -1.0"),
        (("--duration", "inf"), "--duration must be 0 (run until Ctrl-C) or a positive number, not inf"),
        (("--duration", "nan"), "--duration must be 0 (run until Ctrl-C) or a positive number, not nan"),
        (("--radius-km", "0.05"), "--radius-km must be between 0.1 and 50, not 0.05"),
        (("--radius-km", "60"), "--radius-km must be between 0.1 and 50, not 60.0"),
        (("--center", "abc"), "--center must be lat,lng (e.g. 52.52,13.405), not 'abc'"),
        (("--url", "ftp://x"), "--url must start with http:// or https://, not 'ftp://x'"),
        (("--url", "127.0.0.1:8000/"), "--url must start with http:// or https://, not '127.0.0.1:8000'"),
        (("--rides-per-minute", "-1"), "--rides-per-minute must be between 0 (no riders) and 600, not -1.0"),
        (("--rides-per-minute", "601"), "--rides-per-minute must be between 0 (no riders) and 600, not 601.0"),
        (("--rides-per-minute", "nan"), "--rides-per-minute must be between 0 (no riders) and 600, not nan"),
        (("--scheduled-share", "1.5"), "--scheduled-share must be between 0 and 1, not 1.5"),
        (("--accept-share", "-0.1"), "--accept-share must be between 0 and 1, not -0.1"),
        (("--accept-share", "nan"), "--accept-share must be between 0 and 1, not nan"),
        (("--cancel-share", "2"), "--cancel-share must be between 0 and 1, not 2.0"),
    ],
)
def test_config_from_args_rejects(argv, message):
    with pytest.raises(Invalid) as caught:
        simulate.config_from_args(parse(*argv), SETTINGS)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--center", "abc"], "hexfleet simulate: --center must be lat,lng (e.g. 52.52,13.405), not 'abc'\n"),
        (["--drivers", "0"], "hexfleet simulate: --drivers must be between 1 and 10000, not 0\n"),
        (
            ["--duration", "1"],
            "hexfleet simulate: DATABASE_URL not set: the simulator creates its demo drivers in PostgreSQL. "
            "Run it under `hexfleet dev`, or point DATABASE_URL at the app's database.\n",
        ),
    ],
)
def test_the_command_fails_with_one_line_and_status_2(monkeypatch, capsys, argv, message):
    for name in ("DATABASE_URL", "MAP_CENTER", "PORT"):
        monkeypatch.delenv(name, raising=False)
    assert main(["simulate", *argv]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", message)


# --- the runner's pure helpers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "name", "plate"),
    [
        (1, "Demo Driver 01", "HF-DEMO-01"),
        (12, "Demo Driver 12", "HF-DEMO-12"),
        (100, "Demo Driver 100", "HF-DEMO-100"),
    ],
)
def test_demo_names_and_plates(n, name, plate):
    assert (accounts.demo_name(n), accounts.demo_plate(n)) == (name, plate)
    assert accounts.demo_name(n).startswith(accounts.DEMO_PREFIX)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([{"index": 0, "error": "bad lat"}, {"index": 2, "error": "bad lng"}], 2),
        ([], 0),
        (3, 3),
        (0, 0),
        (2.9, 2),
        (True, 0),  # a flag is not a count
        (None, 0),
        ("3", 0),
        ({"count": 3}, 0),
    ],
)
def test_count_field(value, expected):
    assert api.count_field(value) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, 0.0),
        ("", 0.0),
        ("3", 3.0),
        ("0.5", 0.5),
        ("-2", 0.0),
        ("120", api.MAX_BACKOFF_S),
        ("inf", api.MAX_BACKOFF_S),
        ("nan", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # HTTP dates fall back on our own backoff
    ],
)
def test_parse_retry_after(header, expected):
    assert api.parse_retry_after(header) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"accepted": 1, "duplicates": 0, "rejected": []}', {"accepted": 1, "duplicates": 0, "rejected": []}),
        (b"{}", {}),
        (b"[1, 2]", {}),
        (b"null", {}),
        (b'"ok"', {}),
        (b"", {}),
        (b"<html><body>502 Bad Gateway</body></html>", {}),
    ],
)
def test_parse_json_object(content, expected):
    assert api.parse_json_object(content) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"detail": "lat out of range", "title": "Invalid input"}, ": lat out of range"),
        ({"title": "Too Many Requests"}, ": Too Many Requests"),
        ({"detail": "", "title": "Unauthorized"}, ": Unauthorized"),
        ({"errors": [{"loc": ["lat"]}]}, ": [{'loc': ['lat']}]"),
        ({"detail": "x" * 300}, ": " + "x" * 200),
        ({"status": 500}, ""),
        ({}, ""),
    ],
)
def test_problem_detail(body, expected):
    assert api.problem_detail(body) == expected


@pytest.mark.parametrize(
    ("interval", "failures", "fraction", "expected"),
    [
        (2.0, 1, 1.0, 4.0),
        (2.0, 1, 0.5, 2.0),
        (2.0, 2, 1.0, 8.0),
        (2.0, 3, 1.0, 15.0),  # 16 s capped
        (2.0, 3, 0.5, 7.5),  # the jitter applies after the cap
        (0.1, 1, 1.0, 0.2),
        (0.1, 7, 1.0, 12.8),
        (0.1, 8, 1.0, 15.0),
        (0.01, 10, 1.0, 10.24),
        (0.01, 11, 1.0, 10.24),  # the doubling stops after 10 failures
        (0.01, 10_000, 0.75, 7.68),
    ],
)
def test_backoff_s(interval, failures, fraction, expected):
    assert api.backoff_s(interval, failures, fraction) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0:00:00"), (59.9, "0:00:59"), (61, "0:01:01"), (3600, "1:00:00"), (90061.5, "25:01:01")],
)
def test_format_duration(seconds, expected):
    assert report.format_duration(seconds) == expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("boom"), "ValueError: boom"),
        (TimeoutError(), "TimeoutError"),
        (httpx.ConnectError("All connection attempts failed"), "ConnectError: All connection attempts failed"),
        (httpx.ReadTimeout("  "), "ReadTimeout"),
        (ConnectionRefusedError(111, "Connection refused"), "ConnectionRefusedError: [Errno 111] Connection refused"),
    ],
)
def test_describe_error(error, expected):
    assert report.describe_error(error) == expected


# --- the reporter's lines ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("final", "head"),
    [(False, "running for"), (True, "stopped after")],
)
def test_summary_line(final, head):
    stats = report.Stats(
        sent=10, accepted=9, duplicates=1, rejected=2, errors=3,
        booked=12, scheduled=2, assigned=8, completed=5, cancelled=1, no_driver=3,
    )  # fmt: skip
    reporter = report.Reporter(config(), stats=stats)
    reporter.started -= 100  # as if it had been driving for 100 s
    assert reporter.summary(final=final) == (
        f"simulate: {head} 0:01:40: 10 pings sent (0.1/s), 9 accepted, 1 duplicates, 2 rejected, 3 errors; "
        "rides: 12 booked (2 scheduled), 8 assigned, 5 completed, 1 cancelled, 3 no driver"
    )


def test_warnings_are_rate_limited_per_kind(capsys):
    reporter = report.Reporter(config(progress=False))
    reporter.failed("unreachable", "cannot reach http://127.0.0.1:8123: ConnectError")
    reporter.failed("unreachable", "cannot reach http://127.0.0.1:8123: ConnectError")
    reporter.failed("http-503", "/api/v1/driver/pings answered 503 Service Unavailable")
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "simulate: warning: cannot reach http://127.0.0.1:8123: ConnectError; retrying with backoff (1 errors so far)",
        "simulate: warning: /api/v1/driver/pings answered 503 Service Unavailable; retrying with backoff "
        "(3 errors so far)",
    ]
    assert reporter.stats.errors == 3


def test_recovery_is_announced_once_and_rearms_the_warnings(capsys):
    reporter = report.Reporter(config(progress=False, interval=2.0))
    reporter.failed("unreachable", "cannot reach it")
    reporter.tick()  # the error is fresh: still failing
    reporter._last_error_at -= 6  # as if the last error were 6 s ago (> max(5, 2 x interval))
    reporter.tick()
    reporter.tick()
    reporter.failed("unreachable", "cannot reach it")
    out, err = capsys.readouterr()
    assert out == "simulate: the server is answering again\n"
    assert err.splitlines() == [
        "simulate: warning: cannot reach it; retrying with backoff (1 errors so far)",
        "simulate: warning: cannot reach it; retrying with backoff (2 errors so far)",
    ]


@pytest.mark.parametrize(
    ("emails", "expected"),
    [
        (
            ["rider-001@simulated-riders.hexfleet.local"],
            "1 simulated customer (rider-001 @simulated-riders.hexfleet.local)",
        ),
        (
            [f"rider-{n:03d}@simulated-riders.hexfleet.local" for n in range(1, 9)],
            "8 simulated customers (rider-001… @simulated-riders.hexfleet.local)",
        ),
        ([], "0 simulated customers"),
    ],
)
def test_describe_accounts(emails, expected):
    assert runner.describe_accounts(emails) == expected


def test_describe_classes():
    from hexfleet.devtools.sim.accounts import DemoDriver

    fleet = [DemoDriver(f"D{n}", n, "t", vehicle_class=c) for n, c in enumerate(["standard", "xl", "standard", "van"])]
    assert runner.describe_classes(fleet) == "2 standard, 1 xl, 1 van"


def test_the_progress_bar_counts_rides_too(capsys):
    reporter = report.Reporter(config(progress=True))
    reporter.open()
    s = reporter.stats
    s.sent, s.accepted, s.booked, s.assigned, s.completed, s.cancelled, s.no_driver = 7, 7, 4, 3, 2, 1, 1
    reporter.tick()
    assert reporter.bar.n == 7
    assert reporter.bar.postfix == "accepted=7, errors=0, booked=4, assigned=3, completed=2, cancelled=1, no_driver=1"
    reporter.close()
    out, _ = capsys.readouterr()
    assert out.startswith("simulate: stopped after") and out.rstrip().endswith(
        "rides: 4 booked (0 scheduled), 3 assigned, 2 completed, 1 cancelled, 1 no driver"
    )
