"""Times, money, distances and durations are rendered as elements the browser formats
(static/js/lib/format.js): an ISO time or an integer amount for the script, and a readable UTC
or plain text for whoever reads the page without it. The browser side has its own tests
(e2e/test_formats.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hexfleet.rides import money as money_rules
from hexfleet.settings import ROOT
from webapp.pages.template_filters import age, distance, duration, elapsed, local_time, minutes, money

AT = datetime(2031, 12, 3, 18, 8, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "style", "html"),
    [
        (AT, "time", '<time datetime="2031-12-03T18:08:11+00:00" data-format="time">18:08 UTC</time>'),
        (
            AT,
            "time-seconds",
            '<time datetime="2031-12-03T18:08:11+00:00" data-format="time-seconds">18:08:11 UTC</time>',
        ),
        (AT, "date", '<time datetime="2031-12-03T18:08:11+00:00" data-format="date">3 Dec 2031</time>'),
        (
            AT,
            "datetime",
            '<time datetime="2031-12-03T18:08:11+00:00" data-format="datetime">Wed 3 Dec, 18:08 UTC</time>',
        ),
        # Another zone is shown in UTC; the datetime keeps its offset (the instant is the same).
        (
            AT.astimezone(timezone(timedelta(hours=5, minutes=30))),
            "time",
            '<time datetime="2031-12-03T23:38:11+05:30" data-format="time">18:08 UTC</time>',
        ),
        (
            AT.replace(tzinfo=None),
            "time",
            '<time datetime="2031-12-03T18:08:11+00:00" data-format="time">18:08 UTC</time>',
        ),
        (
            "2031-12-03T18:08:11Z",
            "time",
            '<time datetime="2031-12-03T18:08:11+00:00" data-format="time">18:08 UTC</time>',
        ),
        ("not a time", "time", "—"),
        (None, "datetime", "—"),
    ],
)
def test_local_time(value, style, html):
    assert str(local_time(value, style)) == html


def test_ages_and_elapsed_times_count_from_now():
    assert str(age(AT - timedelta(minutes=4, seconds=5), AT)) == (
        '<time datetime="2031-12-03T18:04:06+00:00" data-format="ago">4 min ago</time>'
    )
    assert str(age(AT + timedelta(seconds=3), AT)).endswith(">just now</time>")  # a clock ahead of ours
    assert str(age(None, AT)) == "never"
    assert str(elapsed(AT - timedelta(minutes=65), AT)) == (
        '<time datetime="2031-12-03T17:03:11+00:00" data-format="elapsed">1 h 5 min</time>'
    )


@pytest.mark.parametrize(
    ("minor", "currency", "html"),
    [
        (815, "EUR", '<data class="money" value="815" data-currency="EUR">8.15 EUR</data>'),
        (1200, "JPY", '<data class="money" value="1200" data-currency="JPY">1200 JPY</data>'),
        (1250, "KWD", '<data class="money" value="1250" data-currency="KWD">1.250 KWD</data>'),
        (5, "<b>", '<data class="money" value="5" data-currency="&lt;b&gt;">5 minor units of &lt;b&gt;</data>'),
    ],
)
def test_money(minor, currency, html):
    assert str(money(minor, currency)) == html


@pytest.mark.parametrize(
    ("metres", "html"),
    [
        (850, '<data class="distance" value="850">850 m</data>'),
        (999.6, '<data class="distance" value="1000">1.0 km</data>'),
        (3240, '<data class="distance" value="3240">3.2 km</data>'),
        (125_400, '<data class="distance" value="125400">125 km</data>'),
        (None, "—"),
    ],
)
def test_distance(metres, html):
    assert str(distance(metres)) == html


@pytest.mark.parametrize(
    ("seconds", "html"),
    [
        (45, '<data class="duration" value="45">45 s</data>'),
        (840, '<data class="duration" value="840">14 min</data>'),
        (3900, '<data class="duration" value="3900">1 h 5 min</data>'),
        (7200, '<data class="duration" value="7200">2 h</data>'),
        (None, "—"),
    ],
)
def test_duration(seconds, html):
    assert str(duration(seconds)) == html


@pytest.mark.parametrize(
    ("seconds", "html"),
    [
        (8, '<data class="duration" data-round="minutes" value="8">1 min</data>'),
        (90, '<data class="duration" data-round="minutes" value="90">2 min</data>'),  # halves up, as in the page
        (3870, '<data class="duration" data-round="minutes" value="3870">1 h 5 min</data>'),
        (None, "—"),
    ],
)
def test_estimates_in_whole_minutes(seconds, html):
    assert str(minutes(seconds)) == html


def test_the_browser_counts_minor_units_as_the_server_does():
    """lib/currencies.js is hexfleet.rides.money's ISO 4217 table: the browser's Intl data (CLDR)
    gives HUF, IDR, IQD and others other decimals, so it cannot be used to scale amounts."""
    source = (ROOT / "static/js/lib/currencies.js").read_text()
    table = re.search(r"const BY_DIGITS = \{(.*?)\n\};", source, re.S)
    assert table, "lib/currencies.js keeps its BY_DIGITS table"
    browser = {
        code: int(digits)
        for digits, codes in re.findall(r"(\d+): [\"`]([A-Z\s]+)[\"`]", table[1])
        for code in codes.split()
    }
    assert browser == money_rules.EXPONENTS
