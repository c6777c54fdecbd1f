"""Deferred jobs through arq: hexfleet.rides.context.Jobs for the web app and the worker.

Job ids make a repeat enqueue of the same job a no-op; the jobs themselves re-check
PostgreSQL, so one that runs twice (arq's at-least-once) changes nothing the second time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from arq.connections import ArqRedis

EXPIRE_OFFER = "expire_offer"
DISPATCH_BOOKING = "dispatch_booking"


def _at(when: float) -> datetime:
    return datetime.fromtimestamp(when, UTC)


class ArqJobs:
    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis

    async def expire_offer_at(self, when: float, offer_id: int) -> None:
        await self.redis.enqueue_job(EXPIRE_OFFER, offer_id, _job_id=f"expire-offer:{offer_id}", _defer_until=_at(when))

    async def dispatch_at(self, when: float, booking_id: int) -> None:
        # The time is part of the id: a retry a few seconds later is a new job, not a repeat.
        await self.redis.enqueue_job(
            DISPATCH_BOOKING, booking_id, _job_id=f"dispatch:{booking_id}:{int(when * 1000)}", _defer_until=_at(when)
        )
