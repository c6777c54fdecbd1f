"""The CLI's --json outputs are a contract: scripts parse them."""

import os
import subprocess
import sys

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
    assert set(out) == {"id", "email", "role", "token"}
    assert (out["email"], out["role"]) == ("Ann@Example.org", "dispatcher")
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
        (["drivers", "add", "--name", "  "], "must not be empty"),
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
