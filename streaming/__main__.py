"""`python -m streaming`: the tracker and the outbox relay, until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import asyncpg

from hexfleet import redisconn
from hexfleet.db import create_pool
from hexfleet.logs import setup_logging
from hexfleet.settings import Settings, SettingsError
from streaming.kafka import ensure_ride_topics, make_producer
from streaming.relay import OutboxRelay
from streaming.tracker import Tracker

log = logging.getLogger("hexfleet.stream")


async def _ready_pool(settings: Settings, stopping: asyncio.Event):
    """PostgreSQL may still be starting (or away): wait for it rather than exit."""
    pause = 1.0
    while not stopping.is_set():
        try:
            return await create_pool(settings, max_size=6)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("PostgreSQL not reachable (%s); retrying in %g s", type(error).__name__, pause)
            try:
                await asyncio.wait_for(stopping.wait(), pause)
            except TimeoutError:
                pass
            pause = min(pause * 2, 15.0)
    return None


async def main(settings: Settings) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    pool = await _ready_pool(settings, stopping)
    if pool is None:
        return
    try:
        await ensure_ride_topics(settings)
    except SettingsError:
        await pool.close()
        raise  # they cannot be created as configured: waiting will not help
    except Exception as error:  # the relay creates them too, once the broker answers
        log.warning("cannot create the ride topics yet (%s); the relay will", type(error).__name__)
    redis = redisconn.connect(settings.redis_url)
    tracker = Tracker(settings, pool, redis)
    relay = OutboxRelay(settings, pool, lambda: make_producer(settings))

    def stop_both() -> None:
        tracker.stop()
        relay.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_both)
    if stopping.is_set():
        stop_both()
    try:
        await asyncio.gather(tracker.run(), relay.run())
    finally:
        await redis.aclose()
        await pool.close()


if __name__ == "__main__":
    try:
        settings = Settings.from_env()
        settings.require_services()
    except SettingsError as error:
        print(f"streaming: {error}", file=sys.stderr)
        sys.exit(2)
    setup_logging(settings)
    try:
        asyncio.run(main(settings))
    except SettingsError as error:  # found at start-up (a topic that cannot be created as configured)
        print(f"streaming: {error}", file=sys.stderr)
        sys.exit(2)
