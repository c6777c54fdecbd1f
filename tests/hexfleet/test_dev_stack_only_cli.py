"""`.data/dev-stack.json` (what a running `make run` tells other terminals) is read by the
command line only: a web, stream or worker process beside such a file keeps its own settings,
so a stray file never points a production process at a developer's servers."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hexfleet.settings import Settings, write_dev_stack

# What a running `hexfleet dev` would have written: servers that are not this test's.
STACK = {
    "DATABASE_URL": "postgresql://dev-stack.invalid:5432/hexfleet",
    "REDIS_URL": "redis://dev-stack.invalid:6379",
    "KAFKA_BOOTSTRAP_SERVERS": "dev-stack.invalid:9092",
    "PORT": "8765",
}


@pytest.fixture
def running_stack(tmp_path, monkeypatch):
    """A data folder with a dev-stack.json whose owner is alive and is (by its command line) hexfleet."""
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "hexfleet-dev-holder"])
    try:
        # Until it has exec'd, /proc shows the forking pytest's command line: not yet "hexfleet".
        deadline = time.monotonic() + 10
        while b"hexfleet-dev-holder" not in Path(f"/proc/{holder.pid}/cmdline").read_bytes():
            assert time.monotonic() < deadline, "the holder process did not start"
            time.sleep(0.01)
        path = write_dev_stack(tmp_path, STACK)
        record = json.loads(path.read_text())
        record["pid"] = holder.pid
        path.write_text(json.dumps(record))
        for name in (*STACK, "PUBLIC_URL", "HOST"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HEXFLEET_DATA_DIR", str(tmp_path))
        yield tmp_path
    finally:
        holder.kill()
        holder.wait()


def _env_without_services(data_dir) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (*STACK, "PUBLIC_URL", "HOST")}
    env["HEXFLEET_DATA_DIR"] = str(data_dir)
    return env


def test_only_an_explicit_dev_stack_reads_the_file(running_stack):
    production = Settings.from_env()
    assert not production.database_url and not production.redis_url and production.port == 8000
    command_line = Settings.from_env(dev_stack=True)
    assert command_line.database_url == STACK["DATABASE_URL"]
    assert command_line.kafka_bootstrap_servers == STACK["KAFKA_BOOTSTRAP_SERVERS"]
    assert command_line.port == 8765


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("from webapp.app import create_app; create_app()", "hexfleet web:"),
        ("import runpy; runpy.run_module('streaming', run_name='__main__')", "streaming:"),
        ("from workers.settings import SETTINGS; SETTINGS.require_services()", "DATABASE_URL"),
    ],
    ids=["web", "stream", "worker"],
)
def test_production_processes_ignore_a_running_dev_stack(running_stack, code, says):
    # Unset URLs with a dev stack running beside them: each process stops for want of its
    # servers instead of adopting the dev stack's.
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_env_without_services(running_stack),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert says in result.stderr
    assert "DATABASE_URL" in result.stderr and "dev-stack.invalid" not in result.stderr
