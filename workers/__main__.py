"""`python -m workers`: the arq worker, kept running through Redis and PostgreSQL outages.

arq's own `arq workers.WorkerSettings` exits when Redis goes away (and a Procfile runner
then stops everything). Here a worker that loses Redis or PostgreSQL, or cannot start
because one is away, is closed and started again after a backoff; SIGTERM/SIGINT stop it
cleanly, letting running jobs finish (arq's own shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from typing import Any, cast

from arq.worker import create_worker

from hexfleet.logs import setup_logging
from hexfleet.settings import SettingsError

log = logging.getLogger("hexfleet.worker")
FIRST_PAUSE_S = 1.0
MAX_PAUSE_S = 30.0
HEALTHY_AFTER_S = 60.0


async def run_forever() -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    pause = FIRST_PAUSE_S
    from workers.settings import WorkerSettings

    while not stopping.is_set():
        worker = create_worker(cast(Any, WorkerSettings), handle_signals=False)
        started = time.monotonic()
        worker.main_task = main = asyncio.create_task(worker.main())
        stop = asyncio.create_task(stopping.wait())
        await asyncio.wait({main, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if stopping.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker.close(), 30)  # cancels polling, waits for running jobs
            return
        error = main.exception() if not main.cancelled() else None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(worker.close(), 10)
        if isinstance(error, SettingsError):
            raise error  # configured so it cannot work (a topic it cannot create): restarting will not help
        if time.monotonic() - started > HEALTHY_AFTER_S:
            pause = FIRST_PAUSE_S
        log.warning(
            "worker stopped (%s: %s); starting again in %g s",
            type(error).__name__ if error else "ended",
            error or "",
            pause,
        )
        try:
            await asyncio.wait_for(stopping.wait(), pause)
        except TimeoutError:
            pass
        pause = min(pause * 2, MAX_PAUSE_S)


if __name__ == "__main__":
    try:
        from workers.settings import SETTINGS  # reads the environment: a bad value stops here

        SETTINGS.require_services()
    except SettingsError as error:
        print(f"worker: {error}", file=sys.stderr)
        sys.exit(2)
    setup_logging(SETTINGS)
    try:
        asyncio.run(run_forever())
    except SettingsError as error:
        print(f"worker: {error}", file=sys.stderr)
        sys.exit(2)
