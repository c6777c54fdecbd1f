"""uvicorn's httptools protocol with the limits a public listener needs.

Run with ``uvicorn --http webapp.serving:HttpProtocol`` (the Procfile does).

- **Header deadline**: a request must deliver its request line and headers within
  HEADER_TIMEOUT_S of its first byte (or of the connection opening), else 408 and the
  connection closes. Without it, clients sending a byte every few seconds held connections
  (and file descriptors) for as long as they liked.
- **Header size**: at most MAX_HEADER_BYTES in all and MAX_HEADERS lines, else 431 and close
  (a 200 KB header and 5,000 headers were accepted before).
- **Closing from the app**: the ASGI scope carries ``extensions["hexfleet.close"]``, which
  closes this connection at once. Live streams use it when a client stops reading: its
  writes would otherwise block forever on a full socket buffer.

The body has its own deadline where it is read (Quart's BODY_TIMEOUT, the ingest path's own).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_S = 10.0
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADERS = 100


def _response(status: bytes, text: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: "
        + str(len(text)).encode() + b"\r\nconnection: close\r\n\r\n" + text
    )  # fmt: skip


class HttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._refused = False
        self._header_bytes = 0
        self._header_count = 0
        self._deadline: asyncio.TimerHandle | None = self.loop.call_later(HEADER_TIMEOUT_S, self._headers_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _refuse(self, status: bytes, text: bytes) -> None:
        self._disarm()
        self._refused = True
        self.transport.write(_response(status, text))
        self.transport.close()

    def _headers_too_slow(self) -> None:
        self._deadline = None
        # A request that is not answering yet is mid-headers (or never started): time's up.
        if not self._refused and (self.cycle is None or self.cycle.response_complete):
            self.logger.info("closing a connection that sent no complete headers in %g s", HEADER_TIMEOUT_S)
            self._refuse(b"408 Request Timeout", b"request headers too slow")

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._header_count = 0
        if self._deadline is None:  # the next request on a kept-alive connection
            self._deadline = self.loop.call_later(HEADER_TIMEOUT_S, self._headers_too_slow)

    def on_url(self, url: bytes) -> None:
        self._header_bytes += len(url)
        if self._header_bytes > MAX_HEADER_BYTES:
            if not self._refused:
                self._refuse(b"414 URI Too Long", b"request line too long")
            return
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        self._header_bytes += len(name) + len(value)
        self._header_count += 1
        if self._header_bytes > MAX_HEADER_BYTES or self._header_count > MAX_HEADERS:
            self._refuse(b"431 Request Header Fields Too Large", b"request headers too large")
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        if self._refused:
            return
        extensions: dict = self.scope.setdefault("extensions", {})  # type: ignore[typeddict-item, assignment]
        extensions["hexfleet.close"] = self.transport.close
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            super().on_message_complete()
