"""End live streams as soon as the web process is told to stop.

uvicorn waits for open responses to finish before it runs the app's shutdown (lifespan
shutdown comes last, after ``--timeout-graceful-shutdown``), and a live stream never
finishes by itself: every open control room would be cut off after the timeout with
"Exception in ASGI application". So the app hears SIGTERM/SIGINT itself, closes the hub
(each SSE or WebSocket stream ends cleanly; browsers reconnect), and hands the signal
on to the server's own handler, which then finds nothing left to wait for.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def end_streams_on_stop(close_streams: Callable[[], None]) -> Callable[[], None]:
    """Chain ``close_streams`` in front of the current stop-signal handlers; returns an undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signal handlers belong to the main thread (e.g. an embedded test server)
    loop = asyncio.get_running_loop()
    previous: dict[int, object] = {int(sig): signal.getsignal(sig) for sig in SIGNALS}

    def on_stop(signum: int, frame) -> None:
        loop.call_soon_threadsafe(close_streams)
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)  # type: ignore[operator]
        elif before == signal.SIG_DFL:
            # Nobody else listens: behave as if we had not been here.
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    for sig in SIGNALS:
        signal.signal(sig, on_stop)

    def undo() -> None:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is on_stop:
                signal.signal(sig, handler)  # type: ignore[arg-type]

    return undo
