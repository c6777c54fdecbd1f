"""The CLI's --json outputs are a contract: scripts parse them."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import orjson
import pytest

# A data folder where no `hexfleet dev` runs (see tests/hexfleet/test_dev_stack.py for one that does).
NO_DEV_STACK = "/nonexistent/hexfleet-data"


def hexfleet(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env["DATABASE_URL"] = database_url
    env["HEXFLEET_DATA_DIR"] = NO_DEV_STACK  # never a `make run` that happens to run in this checkout
    return subprocess.run(
        [sys.executable, "-m", "hexfleet.cli.main", *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_users_add_json_gives_a_working_token(db, database_url):
    result = hexfleet(
        database_url,
        "users",
        "add",
        "--email",
        "Ann@Example.org",
        "--password",
        "s3cret-pass",
        "--role",
        "dispatcher",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    out = orjson.loads(result.stdout)
    assert set(out) == {"id", "email", "role", "token", "token_expires_at"}
    assert (out["email"], out["role"]) == ("Ann@Example.org", "dispatcher")
    ends = datetime.fromisoformat(out["token_expires_at"])  # the default: 90 days from now
    assert abs(ends - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=5)
    from hexfleet.users.queries import user_for_token

    async with db.acquire() as conn:
        assert (await user_for_token(conn, out["token"])).id == out["id"]
    again = hexfleet(
        database_url, "users", "add", "--email", "ann@example.org", "--password", "s3cret-pass", "--role", "admin"
    )
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr


async def test_drivers_add_json_gives_device_credentials(db, database_url):
    result = hexfleet(
        database_url, "drivers", "add", "--name", "Bo", "--phone", "+49 30 1", "--vehicle-plate", "B-HF-1", "--json"
    )
    assert result.returncode == 0, result.stderr
    out = orjson.loads(result.stdout)
    assert set(out) == {"id", "name", "device_id", "token"}
    from hexfleet.drivers.queries import driver_for_device_id, driver_for_token

    async with db.acquire() as conn:
        assert await driver_for_token(conn, out["token"]) == out["id"]
        assert await driver_for_device_id(conn, out["device_id"]) == out["id"]
    taken = hexfleet(database_url, "drivers", "add", "--name", "Cy", "--vehicle-plate", "b-hf-1")
    assert taken.returncode == 2 and "already has a driver" in taken.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "add", "--email", "nope", "--password", "longenough", "--role", "admin"], "not an email"),
        (["users", "add", "--email", "a@b.co", "--password", "short", "--role", "admin"], "at least 8"),
        (
            ["users", "add", "--email", "a@b.co", "--password", "longenough", "--role", "admin", "--token-days", "0"],
            "a whole number of days from 1 to 365, not '0'",
        ),
        (
            ["users", "add", "--email", "a@b.co", "--password", "longenough", "--role", "admin", "--token-days", "366"],
            "from 1 to 365",
        ),
        (["users", "token", "a@b.co", "--days", "soon"], "a whole number of days"),
        (["users", "token", "nobody@example.org"], "no account with email"),
        (["drivers", "add", "--name", "  "], "Enter the driver's name"),
        (["drivers", "add", "--name", "Di", "--phone", "call me"], "Enter a phone number"),
        (["drivers", "deactivate", "12x"], "whole number"),
        (["drivers", "reactivate", "99999999999999999999"], "out of range"),
    ],
)
def test_bad_input_is_a_readable_error(database_url, args, message):
    result = hexfleet(database_url, *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_missing_database_url_is_explained():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["HEXFLEET_DATA_DIR"] = NO_DEV_STACK
    result = subprocess.run(
        [sys.executable, "-m", "hexfleet.cli.main", "migrate"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2 and "DATABASE_URL not set" in result.stderr


async def test_drivers_list_deactivate_and_reactivate(db, database_url, settings):
    from hexfleet import audit
    from hexfleet.drivers.queries import driver_for_token

    added = orjson.loads(
        hexfleet(database_url, "drivers", "add", "--name", "Dee", "--vehicle-plate", "B-DE-1", "--vehicle-class", "xl",
                 "--json").stdout
    )  # fmt: skip
    other = orjson.loads(hexfleet(database_url, "drivers", "add", "--name", "Eve", "--json").stdout)

    listed = orjson.loads(hexfleet(database_url, "drivers", "list", "--json").stdout)["drivers"]
    assert [(d["id"], d["name"], d["vehicle_plate"], d["vehicle_class"], d["deactivated_at"]) for d in listed] == [
        (added["id"], "Dee", "B-DE-1", "xl", None),
        (other["id"], "Eve", None, None, None),
    ]
    text = hexfleet(database_url, "drivers", "list").stdout
    assert "B-DE-1" in text and "2 active drivers" in text

    gone = hexfleet(database_url, "drivers", "deactivate", str(added["id"]), "--json")
    assert gone.returncode == 0, gone.stderr
    out = orjson.loads(gone.stdout)
    assert out["changed"] is True and out["deactivated_at"] and out["status"] == "off_duty"
    async with db.acquire() as conn:
        assert await driver_for_token(conn, added["token"]) is None  # its device is revoked
    active = orjson.loads(hexfleet(database_url, "drivers", "list", "--json").stdout)["drivers"]
    assert [d["id"] for d in active] == [other["id"]]
    every = orjson.loads(hexfleet(database_url, "drivers", "list", "--all", "--json").stdout)["drivers"]
    assert {d["id"] for d in every} == {added["id"], other["id"]}
    again = hexfleet(database_url, "drivers", "deactivate", str(added["id"]))
    assert again.returncode == 0 and "already was" in again.stdout

    back = hexfleet(database_url, "drivers", "reactivate", str(added["id"]))
    assert back.returncode == 0 and "is active" in back.stdout and f"drivers rotate {added['id']}" in back.stdout
    assert len(orjson.loads(hexfleet(database_url, "drivers", "list", "--json").stdout)["drivers"]) == 2

    missing = hexfleet(database_url, "drivers", "deactivate", "987654321")
    assert missing.returncode == 2 and "no driver with id 987654321" in missing.stderr

    async with db.acquire() as conn:
        entries = await audit.recent(conn)
    actions = [(e.action, e.target_id) for e in reversed(entries)]
    assert actions == [
        ("driver.create", added["id"]),
        ("driver.create", other["id"]),
        ("driver.deactivate", added["id"]),
        ("driver.reactivate", added["id"]),
    ]
    assert all(e.actor.startswith("command line") for e in entries)
