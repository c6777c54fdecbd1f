"""The optional second listener for stock Traccar Client: the OsmAnd protocol at ``/``.

Traccar Client is configured with a bare ``http://host:port`` (Traccar's convention is
port 5055), so when OSMAND_PORT is set every web process also listens there and serves
/osmand at any path. It runs inside the web process (same app, same ingest) as a second
uvicorn server without its own signal handling, so Ctrl-C still belongs to the main one.
The socket uses SO_REUSEPORT so several web processes (WEB_CONCURRENCY) can share it.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn

log = logging.getLogger("hexfleet.osmand")


class _AtOsmAnd:
    """ASGI wrapper: every HTTP request is the OsmAnd endpoint of the main app."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        scope = {**scope, "path": "/osmand", "raw_path": b"/osmand"}
        await self.app(scope, receive, send)


class OsmAndListener:
    def __init__(self, app, host: str, port: int) -> None:
        self.host, self.port = host, port
        config = uvicorn.Config(_AtOsmAnd(app), host=host, port=port, lifespan="off", access_log=False,
                                log_config=None, timeout_graceful_shutdown=5)  # fmt: skip
        config.load()
        self.server = uvicorn.Server(config)
        self.server.lifespan = config.lifespan_class(config)
        self._socket: socket.socket | None = None
        self._loop_task: asyncio.Task | None = None

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((self.host, self.port))
        sock.set_inheritable(True)
        self._socket = sock
        await self.server.startup(sockets=[sock])
        self._loop_task = asyncio.create_task(self.server.main_loop(), name="osmand-listener")
        log.info("OsmAnd protocol listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._loop_task is not None:
            await self._loop_task
        await self.server.shutdown(sockets=[self._socket] if self._socket else None)
