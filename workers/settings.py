"""arq WorkerSettings: connection, start-up/shut-down hooks and the cron schedule."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from arq import cron
from arq.connections import RedisSettings

from hexfleet.db import create_pool
from hexfleet.eta.live import LiveSpeeds
from hexfleet.logs import setup_logging
from hexfleet.rides.context import Rides
from hexfleet.rides.routes import Router
from hexfleet.rides.surge_index import SurgeIndex
from hexfleet.settings import Settings
from hexfleet.tracking.store import LiveStore
from hexfleet.zones.live import LiveZones
from streaming.kafka import ensure_ride_topics
from streaming.producer import ReliableProducer
from streaming.publisher import KafkaPublisher
from workers.jobs import (
    dispatch_booking,
    evaluate_alerts,
    expire_offer,
    learn_speeds,
    prune_history,
    prune_sessions,
    recalculate_surge,
    reconcile_rides,
    rollup_analytics,
)
from workers.scheduler import ArqJobs

SETTINGS = Settings.from_env()

log = logging.getLogger("hexfleet.worker")


async def make_context(ctx: dict, settings: Settings) -> None:
    """What every job finds in ctx: the pool, the producer, and the ride workflows' context.
    (arq puts its own Redis connection in ctx["redis"]; the live store shares it.)"""
    try:
        await _make_context(ctx, settings)
    except BaseException:
        await close_context(ctx)  # a half-made context (PostgreSQL up, broker away) leaks nothing
        raise


async def _make_context(ctx: dict, settings: Settings) -> None:
    ctx["settings"] = settings
    ctx["db"] = pool = await create_pool(settings, max_size=8)
    await ensure_ride_topics(settings)
    ctx["producer"] = producer = ReliableProducer(
        settings, {settings.kafka_topic_locations: None, settings.kafka_topic_surge: 1}
    )
    await producer.start()
    ctx["publisher"] = publisher = KafkaPublisher(producer, settings)
    redis = ctx["redis"]
    ctx["speeds"] = speeds = LiveSpeeds(settings)
    speeds.start(pool)  # dispatch here (offer timeouts, retries) estimates as the web app does
    ctx["router"] = router = Router(
        settings.routing_url, settings.routing_timeout_s, settings.estimate_rules(), speeds=speeds
    )
    # The zones' cover, for the alerts desk's restricted rule: reloaded every few minutes
    # (zones change rarely; a new restricted zone reaches the desk within REFRESH_EVERY_S).
    ctx["zones"] = zones = LiveZones(pool)
    try:
        await zones.reload()
    except Exception:
        log.warning("could not load zones; trying again on the next lookup", exc_info=True)
    ctx["rides"] = Rides(
        pool=pool,
        store=LiveStore(redis, settings.h3_resolution),
        surge=SurgeIndex(redis, settings.surge_resolution),
        duty=publisher,
        jobs=ArqJobs(redis),
        settings=settings,
        router=router,
    )


async def close_context(ctx: dict) -> None:
    for name, closer in (
        ("zones", "close"),
        ("speeds", "stop"),
        ("router", "close"),
        ("producer", "stop"),
        ("db", "close"),
    ):
        resource = ctx.pop(name, None)
        if resource is not None:
            with contextlib.suppress(Exception):  # closing what a lost server left behind
                await asyncio.wait_for(getattr(resource, closer)(), 10)


async def startup(ctx) -> None:
    setup_logging(SETTINGS)
    await make_context(ctx, SETTINGS)


async def shutdown(ctx) -> None:
    await close_context(ctx)


class WorkerSettings:
    functions = [
        prune_history,
        prune_sessions,
        expire_offer,
        dispatch_booking,
        reconcile_rides,
        recalculate_surge,
        rollup_analytics,
        learn_speeds,
        evaluate_alerts,
    ]
    # unique=True (the default for cron) gives each run a job id, so several workers never run one twice.
    cron_jobs = [
        cron(prune_history, hour={3}, minute={17}, run_at_startup=False),
        cron(prune_sessions, minute={41}, run_at_startup=False),
        cron(reconcile_rides, second=set(range(0, 60, 5)), run_at_startup=True),
        cron(recalculate_surge, second={0, 30}, run_at_startup=True),
        # Second 20: away from surge's runs; a backlog of late hours may take more than a minute.
        cron(rollup_analytics, second={20}, run_at_startup=True, timeout=600),
        # Minute 7: the closed hour's buffered fixes have mostly arrived. A new install
        # catches up on the history it has a day or two at a time (CATCH_UP_HOURS a run).
        cron(learn_speeds, minute={7}, second={40}, run_at_startup=True, timeout=900),
        # Every ALERT_EVERY_S (a divisor of 60, checked by Settings); each run is quick (a few
        # queries and one transaction), and one that overlaps the next changes nothing twice.
        cron(evaluate_alerts, second=set(range(0, 60, SETTINGS.alert_every_s)), run_at_startup=True, timeout=60),
    ]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(SETTINGS.redis_url) if SETTINGS.redis_url else RedisSettings()
    health_check_interval = 30
    # Offer timeouts are 15 s: half a second of polling is the most they can run late.
    poll_delay = 0.5
