"""`hexfleet analytics backfill|verify`: the real command as a subprocess, a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta

import pytest

from hexfleet.analytics import queries as aq
from hexfleet.devtools.bench.analytics_data import generate

NO_DEV_STACK = "/nonexistent/hexfleet-data"  # never adopt a `make run` of this checkout


def hexfleet(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env.update(DATABASE_URL=database_url, HEXFLEET_DATA_DIR=NO_DEV_STACK)
    return subprocess.run(
        [sys.executable, "-m", "hexfleet.cli.main", "analytics", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def iso(value) -> str:
    return value.isoformat()


async def test_backfill_then_verify_then_a_row_changed_by_hand(db, database_url):
    async with db.acquire() as conn:
        made = await generate(conn, drivers=5, days=2, seed=3)
    span = (iso(made.start), iso(made.end))
    done = hexfleet(database_url, "backfill", "--from", span[0], "--to", span[1], "--no-progress")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("rolled up 48 hours (0 were final already) and 3 days")
    again = hexfleet(database_url, "backfill", "--from", span[0], "--to", span[1], "--no-progress")
    assert "rolled up 0 hours (48 were final already)" in again.stdout  # resumable: nothing left to do

    ok = hexfleet(database_url, "verify", "--from", span[0], "--to", span[1], "--no-progress")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip().endswith("the rollups match the raw rows")
    assert "checked 48 closed hours and 1 whole days" in ok.stdout

    # Someone edits a rollup row by hand: verify names it, and fails.
    row = await db.fetchrow(
        """SELECT period_start, cell, vehicle_class, completed FROM analytics_cells
           WHERE grain = 'hour' AND cell <> 0 AND completed > 0 ORDER BY period_start LIMIT 1"""
    )
    await db.execute(
        """UPDATE analytics_cells SET completed = completed + 1
           WHERE grain = 'hour' AND period_start = $1 AND cell = $2 AND vehicle_class = $3""",
        row["period_start"],
        row["cell"],
        row["vehicle_class"],
    )
    bad = hexfleet(database_url, "verify", "--from", span[0], "--to", span[1], "--no-progress")
    assert bad.returncode == 1
    from hexfleet.geo import cell_name

    line = next(li for li in bad.stdout.splitlines() if "completed stored" in li)
    assert f"hour {row['period_start']:%Y-%m-%d %H:%M} UTC" in line
    assert f"cell {cell_name(row['cell'])}, {row['vehicle_class']}" in line
    assert f"completed stored {row['completed'] + 1}, from raw rows {row['completed']}" in line
    assert "1 difference (" in bad.stdout.splitlines()[-1]
    # Rolling that hour up again repairs it.
    redo = hexfleet(
        database_url, "backfill", "--from", iso(row["period_start"]),
        "--to", iso(row["period_start"] + timedelta(hours=1)), "--redo", "--no-progress",
    )  # fmt: skip
    assert redo.returncode == 0
    assert hexfleet(database_url, "verify", "--from", span[0], "--to", span[1], "--no-progress").returncode == 0
    assert await aq.final_hours(db, made.start, made.end)


TODAY = date.today()
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--from", "yesterday", "--to", f"{TODAY}"], "--from must be a date"),
        (["backfill", "--from", f"{TODAY - DAY}T10:00:00", "--to", f"{TODAY}"], "has no offset"),
        (["backfill", "--from", f"{TODAY}", "--to", f"{TODAY - DAY}"], "--from must be before --to"),
        (["verify", "--from", f"{TODAY.year}-13-01", "--to", f"{TODAY}"], "--from must be a date"),
    ],
)
def test_bad_input_is_one_line(database_url, args, message):
    result = hexfleet(database_url, *args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
