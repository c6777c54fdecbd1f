"""Helpers the test suites, the e2e suite, the bench and `hexfleet dev` share.

Small, but each used to be written three to five times: a free port, waiting until a
server answers, and a throw-away database on a real server.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the caller races to bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_database(url: str, name: str) -> str:
    """The same PostgreSQL server URL pointing at another database."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def with_redis_db(url: str, db: int) -> str:
    """The same Redis server URL with another database number."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


async def create_database(admin_url: str, name: str, *, replace: bool = False) -> str:
    """Create database ``name`` on the server of ``admin_url``; returns its URL.

    ``replace``: drop a leftover of that name first (a previous run's sessions included).
    """
    conn = await asyncpg.connect(admin_url)
    try:
        if replace:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name``, closing whatever sessions still use it (PostgreSQL 13+)."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


class NotReady(RuntimeError):
    """The server did not become ready; the message says what it last answered."""


def _answer(client: httpx.Client, url: str) -> tuple[bool, str]:
    try:
        response = client.get(url)
    except httpx.HTTPError as error:
        return False, type(error).__name__
    return response.status_code == 200, f"HTTP {response.status_code}"


def wait_until_ready(
    url: str,
    timeout: float,
    *,
    failed: Callable[[], str | None] = lambda: None,
    also: Callable[[], bool] = lambda: True,
    pause: Callable[[float], object] = time.sleep,
    interval: float = 0.1,
) -> None:
    """Poll ``url`` until it answers 200 (and ``also()`` holds); raise NotReady otherwise.

    ``failed()`` returns why the server can no longer become ready (its process exited),
    which ends the wait at once; ``pause`` waits between polls (a process's ``wait``
    cuts the pause short when it exits).
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    # trust_env=False: an HTTP(S)_PROXY must not capture requests to ourselves.
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while True:
            reason = failed()
            if reason:
                raise NotReady(reason)
            ok, last = _answer(client, url)
            if ok and also():
                return
            if time.monotonic() >= deadline:
                raise NotReady(f"{url} did not answer 200 within {timeout:g} s (last answer: {last})")
            pause(interval)


async def wait_until_ready_async(url: str, within_s: float, *, failed: Callable[[], str | None] = lambda: None) -> None:
    """``wait_until_ready`` for async callers (polls without blocking the loop)."""
    deadline = time.monotonic() + within_s
    last = "no answer"
    async with httpx.AsyncClient(trust_env=False, timeout=2.0) as client:
        while True:
            reason = failed()
            if reason:
                raise NotReady(reason)
            try:
                response = await client.get(url)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as error:
                last = type(error).__name__
            if time.monotonic() >= deadline:
                raise NotReady(f"{url} did not answer 200 within {within_s:g} s (last answer: {last})")
            await asyncio.sleep(0.1)


class Relay:
    """A TCP relay from 127.0.0.1:<port> to a server (TCP, or a Unix socket when the host is
    a directory, as the embedded PostgreSQL's URL names), for outage tests that must not
    stop a shared server.

    ``cut()`` resets every relayed connection and refuses new ones, as a restarting server
    does; ``freeze()`` keeps connections open but passes nothing on, as a hung server or a
    lost network does (the case deadlines are for); ``thaw()`` and ``start()`` undo them.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.flowing = asyncio.Event()
        self.flowing.set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()  # a reset, as when the server process dies
        self.writers.clear()
        await self.server.wait_closed()

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    async def close(self) -> None:
        self.thaw()
        if self.server is not None:
            self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = self.target
        try:
            if host.startswith("/"):
                up_reader, up_writer = await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
            else:
                up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.transport.abort()
            return
        self.writers.update((writer, up_writer))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    await self.flowing.wait()
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


def relayed_url(url: str, relay: Relay) -> str:
    """``url`` with its host and port replaced by the relay's (and a ?host= socket dropped)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "host"]
    userinfo, _, _ = parts.netloc.rpartition("@")
    host = f"127.0.0.1:{relay.port}"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}" if userinfo else host, query=urlencode(query)))


def relay_for(url: str) -> Relay:
    """A relay to the server ``url`` names (its ?host= socket directory first, as clients do)."""
    parts = urlsplit(url)
    socket_dir = next((v for k, v in parse_qsl(parts.query) if k == "host" and v.startswith("/")), None)
    default_port = 6379 if parts.scheme.startswith("redis") else 5432
    return Relay(socket_dir or parts.hostname or "127.0.0.1", parts.port or default_port)
