"""`hexfleet dev`: everything on one machine with one command.

Starts embedded PostgreSQL, Redis and Kafka for the URLs that are unset, migrates,
seeds the demo, then runs the Procfile processes (hexfleet.devtools.supervisor, which
restarts a process that crashes and leaves the others running) until Ctrl-C or SIGTERM.

Shutdown order matters: the app processes stop first (they flush to Redis, Kafka and
PostgreSQL on the way out), the servers last. So the processes and the embedded servers
run in their own sessions, where the terminal's Ctrl-C does not reach them, and this
process stops them in that order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import sysconfig
from pathlib import Path

from hexfleet.devtools.demo import DEMO_LOGINS, seed_demo
from hexfleet.devtools.embedded import (
    EmbeddedError,
    Service,
    ensure_services,
    port_open,
    stop_services,
)
from hexfleet.devtools.supervisor import Supervisor, read_procfile
from hexfleet.devtools.testing import wait_until_ready_async
from hexfleet.migrate import migrate
from hexfleet.settings import ROOT, Settings, dev_stack_env, remove_dev_stack, write_dev_stack

# Not `release`: this command migrates itself before it starts the processes.
PROCESSES = ("web", "stream", "worker", "simulator")
CONTROL_ROOM_PATH = "/"
DOCS_PATH = "/docs"
METRICS_PATH = "/metrics"
READY_PATH = "/readyz"


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {raw}")
    return value


def configure(parser) -> None:
    parser.add_argument("--no-simulator", action="store_true", help="do not run the simulator")
    parser.add_argument("--drivers", type=_positive_int, metavar="N", help="simulated drivers (default 50)")
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for the web app to answer /readyz (default 60)",
    )


def run(args, settings: Settings) -> int:
    running = dev_stack_env(Path(settings.data_dir))
    if running:
        print(
            f"hexfleet dev: already running in this checkout (serving on port {running.get('PORT', '?')}); "
            "stop it first, or set HEXFLEET_DATA_DIR for a second one",
            file=sys.stderr,
        )
        return 1
    if port_open(settings.port):
        print(
            f"hexfleet dev: port {settings.port} is in use: stop what runs there or set PORT",
            file=sys.stderr,
        )
        return 1
    # SIGTERM (a supervisor, `kill`) takes the same road as Ctrl-C: stop everything, exit 0.
    previous_sigterm = signal.signal(signal.SIGTERM, signal.default_int_handler)
    services: list[Service] = []
    try:
        settings, services = ensure_services(settings)
        asyncio.run(_prepare_database(settings.database_url))
        return _supervise(args, settings, services)
    except KeyboardInterrupt:
        print("dev: stopped", flush=True)
        return 0
    except EmbeddedError as error:
        print(f"hexfleet dev: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        with _signals_held():
            stop_services(services)
        signal.signal(signal.SIGTERM, previous_sigterm)


async def _prepare_database(dsn: str) -> None:
    applied = await migrate(dsn, log=lambda m: print(f"migrate: {m}", flush=True))
    print(f"migrate: {len(applied)} applied, database is up to date", flush=True)
    await seed_demo(dsn, log=lambda m: print(f"seed: {m}", flush=True))


def _supervise(args, settings: Settings, services: list[Service]) -> int:
    names = [p for p in PROCESSES if not (p == "simulator" and args.no_simulator)]
    env = _child_env(args, settings)
    return asyncio.run(_serve(args, settings, services, names, env))


async def _serve(args, settings: Settings, services: list[Service], names: list[str], env: dict[str, str]) -> int:
    """Run the processes until Ctrl-C or SIGTERM; crashed ones are restarted (supervisor.py)."""
    data_dir = Path(settings.data_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    specs = read_procfile(ROOT / "Procfile")
    published = {"ready": False}
    stack = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "HOST": settings.host,
        "PORT": str(settings.port),
        "PUBLIC_URL": settings.public_url,
    }

    def publish(pids: dict[str, int]) -> None:
        # Commands in other terminals read this to find the servers (see Settings.from_env).
        if published["ready"]:
            write_dev_stack(data_dir, stack, processes=pids)

    supervisor = Supervisor([specs[n] for n in names], env, ROOT, on_change=publish)
    running = asyncio.create_task(supervisor.run(stop))
    url = f"http://127.0.0.1:{settings.port}{READY_PATH}"
    try:
        ready = asyncio.create_task(wait_until_ready_async(url, args.ready_timeout))
        await asyncio.wait([ready, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            ready.cancel()
        elif ready.exception() is not None:
            print(f"hexfleet dev: the web app is not ready: {ready.exception()}; see the output above",
                  file=sys.stderr, flush=True)  # fmt: skip
            stop.set()
            await running
            return 1
        else:
            published["ready"] = True
            publish(supervisor.pids())
            print(_banner(settings, services, names, env), flush=True)
        await running
        print("dev: stopped", flush=True)
        return 0
    finally:
        remove_dev_stack(data_dir)
        stop.set()
        await asyncio.gather(running, return_exceptions=True)


def _child_env(args, settings: Settings) -> dict[str, str]:
    # The processes need the rest of the environment too (HOME, LANG, MAP_CENTER, ...):
    # this launcher is where it is passed on, with the settings we resolved on top.
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers,
        SECRET_KEY=settings.secret_key,
        # The Procfile's web line reads WEB_PORT (PORT is the app's own setting).
        WEB_PORT=str(settings.port),
        HOST=settings.host,
        HEXFLEET_DATA_DIR=str(settings.data_dir),
        # So the Procfile's `uvicorn`, `python`, `arq` and `hexfleet` are this environment's.
        PATH=os.pathsep.join([sysconfig.get_path("scripts"), env.get("PATH", "")]),
        # Python output reaches the supervisor's pipe line by line, not in 8 KB chunks.
        PYTHONUNBUFFERED="1",
    )
    if args.drivers:
        env["SIM_DRIVERS"] = str(args.drivers)
    return env


@contextlib.contextmanager
def _signals_held():
    """While stopping, a second Ctrl-C must not abandon servers half-way."""

    def note(_signum, _frame) -> None:
        print("dev: still stopping, please wait", file=sys.stderr, flush=True)

    previous = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _banner(settings: Settings, services: list[Service], names: list[str], env: dict) -> str:
    host = settings.host if settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    base = f"http://{host}:{settings.port}"
    embedded = {s.name: s for s in services}
    lines = [
        "",
        "=" * 72,
        "hexfleet is running",
        f"  control room  {base}{CONTROL_ROOM_PATH}",
        f"  book a ride   {base}/ride   (riders; drivers use {base}/d with a link from the control room)",
        f"  API docs      {base}{DOCS_PATH}",
        f"  metrics       {base}{METRICS_PATH}",
    ]
    for i, (email, password, role) in enumerate(DEMO_LOGINS):
        lines.append(f"  {'demo logins' if i == 0 else '':<12}  {email} / {password}  ({role})")
    for i, (name, env_name) in enumerate(
        (("postgres", "DATABASE_URL"), ("redis", "REDIS_URL"), ("kafka", "KAFKA_BOOTSTRAP_SERVERS"))
    ):
        service = embedded.get(name)
        if service is None:
            where = f"from {env_name}"
        elif service.data:
            where = f"embedded, data in {service.data}"
        else:
            # Said here because it is the one way this stack loses a ping it answered 202.
            where = f"embedded at {service.url}, in memory: starts empty, unread pings die with it"
        lines.append(f"  {'services' if i == 0 else '':<12}  {name:<9} {where}")
    if services:
        lines.append(f"  {'':<12}  server logs in {Path(settings.data_dir) / 'logs'}")
    lines += [
        f"  command line  {_cli_hint()}",
        f"  {'':<12}  then e.g. `hexfleet drivers add --name Ann`: commands find these servers while this runs",
    ]
    processes = " ".join(names)
    if "simulator" in names:
        processes += f"  (simulator: {env.get('SIM_DRIVERS', '50')} drivers)"
    lines += [f"  processes     {processes}", "Press Ctrl-C to stop everything.", "=" * 72]
    return "\n".join(lines)


def _cli_hint() -> str:
    """The one line that puts `hexfleet` on a second terminal's PATH."""
    scripts = Path(sysconfig.get_path("scripts"))
    activate = scripts / "activate"
    try:
        shown = activate.relative_to(Path.cwd())
    except ValueError:
        shown = activate
    if activate.exists():
        return f". {shown}"
    return f'export PATH="{scripts}:$PATH"'
