"""Guard: no test may depend on today's date.

A fixed timestamp in a test that sends fixes through the server's time filter passes on
the day it is written and fails once ``FILTER_PAST_S`` has passed (that is how main went
red on 2026-11-28). This runs every fixed-date input of the suite through the filter
with the clock moved a year ahead, as the suite will meet it next year: any input the
filter would then refuse, outside the pure tables below, fails here on the day it is
written, naming the file and line.

Pure tables may keep fixed dates: they pass their own ``now`` (or judge nothing against
the clock), so their verdicts never change.
"""

from __future__ import annotations

import ast
import re
import time
from datetime import UTC, date, datetime
from pathlib import Path

from hexfleet.settings import ROOT, Settings
from hexfleet.tracking import filters
from hexfleet.tracking.pings import Ping

# Files that only hold pure tables (file → why its dates are safe).
PURE_TABLES = {
    "tests/hexfleet/test_pings.py": "timestamp parsing: dates in, epoch seconds out, no clock",
    "tests/hexfleet/test_protocols.py": "protocol parsing tables; the filters are not involved",
    "tests/hexfleet/test_filters.py": "every verdict is judged against a `now` the table passes in",
    "tests/test_time_bombs.py": "this guard's own examples",
    "tests/webapp/test_readable_markup.py": "how given instants are written for the browser; no filter, no clock",
    "tests/analytics/test_duty_rules.py": "duty rules on instants relative to one origin; no filter, no clock",
    "tests/analytics/test_rollup_aggregate.py": "one hour's facts aggregated against a `now` the table passes in",
    "tests/eta/test_table.py": "hour of week of given instants, and learned speeds looked up by them; no filter",
    "tests/analytics/test_analytics_params.py": "years 1 and 9999: dates the analytics API refuses; no filter",
}
SCANNED = ("tests", "e2e")
YEAR_S = 365 * 86400.0
# Epoch seconds or milliseconds between 2001 and 2100: the shape of a device timestamp.
EPOCH_S = (1e9, 4.1e9)
EPOCH_MS = (1e12, 4.1e12)
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[ Tt](\d{2}):(\d{2})(?::(\d{2}))?)?")


def _iso_moments(text: str) -> list[float]:
    found = []
    for m in _ISO_DATE.finditer(text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
        hour, minute, second = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
        try:
            found.append(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp())
        except ValueError:
            continue  # "1234-56-78" is not a date
    return found


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def fixed_moments(source: str) -> list[tuple[int, float]]:
    """(line, epoch seconds) of every fixed moment written into ``source``."""
    found: list[tuple[int, float]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, ts) for ts in _iso_moments(node.value)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, int | float) and node.value is not True:
            value = float(node.value)
            if EPOCH_S[0] <= value <= EPOCH_S[1]:
                found.append((node.lineno, value))
            elif EPOCH_MS[0] <= value <= EPOCH_MS[1]:
                found.append((node.lineno, value / 1000))
        elif isinstance(node, ast.Call) and _call_name(node) in ("datetime", "date"):
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, int)]
            if len(args) >= 3 and len(args) == len(node.args):
                try:
                    found.append((node.lineno, datetime(*args[:6], tzinfo=UTC).timestamp()))
                except (TypeError, ValueError):
                    continue
    return found


def test_the_scanner_finds_every_shape_of_fixed_date():
    source = """
a = "2026-11-21 10:00:00"
b = {"timestamp": "2026-11-21T10:00:05Z"}
c = 1_795_255_200
d = 1795255200250
e = datetime(2026, 11, 21, 10)
f = time.time() - 60
g = 8000
"""
    lines = sorted({line for line, _ in fixed_moments(source)})
    assert lines == [2, 3, 4, 5, 6]
    assert date.fromtimestamp(fixed_moments(source)[0][1]) == date(2026, 11, 21)


def test_no_fixed_dates_reach_the_time_filter():
    rules = Settings.from_env({}).filter_rules()
    next_year = time.time() + YEAR_S
    bombs = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in PURE_TABLES:
                continue
            for line, ts in fixed_moments(path.read_text()):
                verdict = filters.judge_time(Ping(52.5, 13.4, ts), next_year, rules)
                if verdict != filters.ACCEPTED:
                    bombs.append(f"{rel}:{line}: {datetime.fromtimestamp(ts, UTC):%Y-%m-%d %H:%M} ({verdict})")
    assert not bombs, (
        "fixed dates that the time filter will refuse once FILTER_PAST_S has passed; build them from "
        "time.time() / datetime.now(), or move pure tables into PURE_TABLES:\n" + "\n".join(bombs)
    )


def test_pure_tables_exist():
    """A renamed table must not leave a stale exemption behind."""
    assert [name for name in PURE_TABLES if not (ROOT / name).exists()] == []


def test_the_guard_would_have_caught_the_osmand_bomb():
    """The input that turned main red on 2026-11-28, exactly as it was written."""
    old = 'r = await client.post("/osmand", data={"timestamp": "2026-11-21 10:00:00"})'
    rules = Settings.from_env({}).filter_rules()
    [(_, ts)] = fixed_moments(old)
    assert filters.judge_time(Ping(52.5, 13.4, ts), time.time() + YEAR_S, rules) == filters.TOO_OLD
    assert Path(__file__).name == "test_time_bombs.py"
