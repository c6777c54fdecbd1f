"""`hexfleet dev` as a user runs it, with a second terminal beside it.

The real command starts its embedded servers in a temporary data folder, with none of
the URL variables set. While it runs, the real CLI (a subprocess, no URLs either) must
find its servers and port; a stop with a live stream open must end cleanly, with no
traceback; and once it has stopped, the CLI says so in one line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from hexfleet.devtools.testing import free_port

HEXFLEET = str(Path(sys.executable).parent / "hexfleet")
URL_VARIABLES = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "PORT", "PUBLIC_URL", "SECRET_KEY")
START_TIMEOUT_S = 120.0  # a first start runs initdb for the embedded PostgreSQL


def _env(data_dir: Path, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in URL_VARIABLES}
    env.update(HEXFLEET_DATA_DIR=str(data_dir), MAP_TILE_URL="", PYTHONUNBUFFERED="1")
    if port is not None:
        env["PORT"] = str(port)
    return env


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """The command a user types in a second terminal: no URL variables, another folder."""
    return subprocess.run(
        [HEXFLEET, *args], env=_env(data_dir), cwd="/", capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def dev_stack(tmp_path):
    data_dir, port, log = tmp_path / "data", free_port(), tmp_path / "dev.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [HEXFLEET, "dev", "--no-simulator"],
            env=_env(data_dir, port),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (data_dir / "dev-stack.json").exists():  # written once the web app is ready
            assert proc.poll() is None, f"hexfleet dev exited with {proc.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"hexfleet dev not ready:\n{log.read_text()}"
            time.sleep(0.2)
        yield proc, data_dir, port, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _read_stream(url: str, token: str, seen: dict) -> None:
    with httpx.Client(timeout=httpx.Timeout(5.0, read=60.0), trust_env=False) as client:
        with client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as response:
            seen["status"] = response.status_code
            for chunk in response.iter_raw():
                seen["bytes"] = seen.get("bytes", 0) + len(chunk)
    seen["ended_at"] = time.monotonic()


def test_the_cli_finds_a_running_dev_stack_and_a_stop_is_clean(dev_stack):
    proc, data_dir, port, log = dev_stack
    base = f"http://127.0.0.1:{port}"
    banner = log.read_text()
    assert "command line  . " in banner and "activate" in banner  # how to get `hexfleet` on PATH

    assert "0 applied" in cli(data_dir, "migrate").stdout
    user = cli(data_dir, "users", "add", "--email", "desk@example.org", "--password", "s3cret-pass",
               "--role", "admin", "--json")  # fmt: skip
    assert user.returncode == 0, user.stderr
    token = json.loads(user.stdout)["token"]
    added = cli(data_dir, "drivers", "add", "--name", "Ann", "--json")
    assert added.returncode == 0, added.stderr
    driver_id = json.loads(added.stdout)["id"]
    shown = json.loads(cli(data_dir, "drivers", "show", str(driver_id), "--json").stdout)
    assert shown["connect"]["traccar"]["server_url"] == f"{base}/osmand"  # the port it really serves on
    rotated = cli(data_dir, "drivers", "rotate", str(driver_id))
    assert rotated.returncode == 0 and "web processes were told" in rotated.stderr  # it found Redis too

    listing = httpx.get(f"{base}/api/v1/drivers", headers={"Authorization": f"Bearer {token}"}, trust_env=False)
    assert listing.status_code == 200 and [d["name"] for d in listing.json()["drivers"]] == ["Ann"]

    # A process that crashes is restarted; the others and the servers keep running.
    before = json.loads((data_dir / "dev-stack.json").read_text())["processes"]
    os.kill(before["worker"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while (now := json.loads((data_dir / "dev-stack.json").read_text())["processes"]).get("worker") in (
        None,
        before["worker"],
    ):
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    assert now["web"] == before["web"] and now["stream"] == before["stream"]
    assert httpx.get(f"{base}/readyz", trust_env=False).status_code == 200
    assert "worker.1 exited with signal SIGKILL; restarting in 1 s" in log.read_text()

    # A live stream is open (a control room would be) when the stack is stopped.
    seen: dict = {}
    reader = threading.Thread(target=_read_stream, args=(f"{base}/api/v1/stream/positions", token, seen))
    reader.start()
    deadline = time.monotonic() + 10
    while not seen.get("bytes") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen.get("status") == 200 and seen.get("bytes")
    stopped_at = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    reader.join(10)
    assert "ended_at" in seen and seen["ended_at"] - stopped_at < 4  # ended by us, not cut at the timeout
    output = log.read_text()
    for sign_of_trouble in ("Traceback", "ERROR", "Exception in ASGI application", "did not stop"):
        assert sign_of_trouble not in output, output
    assert not (data_dir / "dev-stack.json").exists()

    after = cli(data_dir, "users", "add", "--email", "late@example.org", "--password", "s3cret-pass", "--role", "admin")
    assert after.returncode == 2
    assert len(after.stderr.strip().splitlines()) == 1 and "`make run` is not running" in after.stderr
