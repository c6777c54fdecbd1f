"""arq WorkerSettings: connection, start-up/shut-down hooks and the cron schedule."""

from __future__ import annotations

from arq import cron
from arq.connections import RedisSettings

from hexfleet.db import create_pool
from hexfleet.logs import setup_logging
from hexfleet.settings import Settings
from workers.jobs import prune_history

_settings = Settings.from_env()


async def startup(ctx) -> None:
    setup_logging(_settings)
    ctx["settings"] = _settings
    ctx["db"] = await create_pool(_settings, max_size=4)


async def shutdown(ctx) -> None:
    await ctx["db"].close()


class WorkerSettings:
    functions = [prune_history]
    # unique=True (the default for cron) gives each run a job id, so several workers never run one twice.
    cron_jobs = [cron(prune_history, hour={3}, minute={17}, run_at_startup=False)]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(_settings.redis_url) if _settings.redis_url else RedisSettings()
    health_check_interval = 30
