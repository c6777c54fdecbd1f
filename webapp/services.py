"""The core's workflows, bound to this web process's pool, live store and publisher.

Workflows in ``hexfleet`` take what they touch as arguments (so the worker and the tests
call the same code); views call them through here instead of reaching into
``app.extensions`` themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

from arq import create_pool as create_arq_pool
from arq.connections import RedisSettings
from quart import current_app

from hexfleet.drivers import duty
from hexfleet.rides import dispatch
from hexfleet.rides.context import Rides
from hexfleet.rides.routes import Router
from hexfleet.rides.surge_index import SurgeIndex
from workers.scheduler import ArqJobs

log = logging.getLogger("hexfleet.web")


async def change_duty(driver_id: int, status: duty.DutyStatus) -> dict:
    ext = current_app.extensions
    return await duty.change_duty(
        ext["db"], ext["store"], ext["publisher"], driver_id, status, ext["settings"].stale_after_s
    )


async def start_rides(app, settings, redis, store) -> None:
    """The rides context of this process (before serving)."""
    ext = app.extensions
    ext["arq"] = arq = await create_arq_pool(RedisSettings.from_dsn(settings.redis_url))
    metrics = ext["metrics"]
    ext["router"] = router = Router(
        settings.routing_url, settings.routing_timeout_s, settings.estimate_rules(), metrics.routing_fallbacks.inc
    )
    ext["rides"] = Rides(
        pool=ext["db"],
        store=store,
        surge=SurgeIndex(redis, settings.surge_resolution),
        duty=ext["publisher"],
        jobs=ArqJobs(arq),
        settings=settings,
        router=router,
    )
    ext["background"] = set()


async def stop_rides(app) -> None:
    ext = app.extensions
    pending = ext.pop("background", set())
    if pending:
        await asyncio.wait(pending, timeout=5)  # dispatch steps already running finish; reconcile covers the rest
    for name, closer in (("router", "close"), ("arq", "aclose")):
        resource = ext.pop(name, None)
        if resource is not None:
            try:
                await getattr(resource, closer)()
            except Exception:
                log.warning("closing %s failed", name, exc_info=True)


def rides() -> Rides:
    return current_app.extensions["rides"]


def in_background(work: Coroutine, what: str) -> None:
    """Run a dispatch step after the response: the client does not wait for it, and a
    failure is logged (the worker's reconcile job repeats what a lost step would have done)."""
    tasks: set[asyncio.Task] = current_app.extensions["background"]

    async def guarded() -> None:
        try:
            await work
        except Exception:
            log.exception("%s failed; reconcile will retry it", what)

    task = asyncio.create_task(guarded(), name=what)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def dispatch_soon(booking_id: int) -> None:
    in_background(dispatch.offer_next(rides(), booking_id), f"dispatch of booking {booking_id}")
