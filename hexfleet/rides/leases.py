"""Dispatch leases: a short-lived Redis mark that a process has a booking's dispatch in hand.

A web process marks a booking when it queues the booking's dispatch step and clears the
mark when the step is done; the worker's reconcile job leaves marked bookings alone, so
a web process that has fallen behind is not doubled by the worker doing the same work.
The mark is only a hint: both may still run the step (a lease that expired while the
step waited, a race between the check and the mark), and that is harmless, because the
step re-reads the booking and the claims are atomic in PostgreSQL. A process that dies
leaves marks that expire after ``LEASE_S``.
"""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

from hexfleet.keys import dispatching

# Longer than a queued step waits in a busy web process (seconds at most), short enough
# that a dead process's bookings are resumed soon after reconcile's 10 s.
LEASE_S = 30.0

# Delete the mark only if it is still ours: a newer step for the same booking may have
# marked it again meanwhile. KEYS: mark. ARGV: token
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Leases:
    def __init__(self, redis: Redis, lease_s: float = LEASE_S) -> None:
        self.redis = redis
        self.lease_ms = int(lease_s * 1000)
        self._release = redis.register_script(_RELEASE)

    async def hold(self, booking_id: int) -> str:
        """Mark the booking's dispatch as ours; returns the token that releases it."""
        token = secrets.token_hex(8)
        await self.redis.set(dispatching(booking_id), token, px=self.lease_ms)
        return token

    async def release(self, booking_id: int, token: str) -> None:
        await self._release(keys=[dispatching(booking_id)], args=[token])


async def unheld(redis: Redis, booking_ids: list[int]) -> list[int]:
    """The bookings no process has marked, in the given order."""
    if not booking_ids:
        return []
    marks = await redis.mget([dispatching(b) for b in booking_ids])
    return [b for b, mark in zip(booking_ids, marks, strict=True) if mark is None]
