"""`python -m streaming`: the tracker and the outbox relay, until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

from redis.asyncio import Redis

from hexfleet.db import create_pool
from hexfleet.logs import setup_logging
from hexfleet.settings import Settings, SettingsError
from streaming.kafka import ensure_ride_topics, make_producer
from streaming.relay import OutboxRelay
from streaming.tracker import Tracker


async def main(settings: Settings) -> None:
    pool = await create_pool(settings, max_size=6)
    redis = Redis.from_url(settings.redis_url)
    tracker = Tracker(settings, pool, redis)
    await ensure_ride_topics(settings)
    relay = OutboxRelay(settings, pool, lambda: make_producer(settings))
    loop = asyncio.get_running_loop()

    def stop_both() -> None:
        tracker.stop()
        relay.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_both)
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
    asyncio.run(main(settings))
