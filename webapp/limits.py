"""Rate limits shared by every web process, in Redis (the `limits` library, sliding window counters).

Limits are keyed by identity (a driver, an account, a user; a client address only where
there is no identity yet), never by a client-supplied X-Forwarded-For: the address is what
the server saw (uvicorn honours forwarding headers only from FORWARDED_ALLOW_IPS, your proxy).

When Redis cannot be reached the limits fail open (logged): a Redis blip must not stop
drivers or dispatchers, and most limits here are a brake on abuse, not a correctness rule.
Limits that guard passwords (sign-in, sign-up) fail closed instead (``fail_closed=True``):
without them, guessing would run at line rate, so those requests answer 503 with Retry-After
until Redis is back.
"""

from __future__ import annotations

import logging
import time

from limits import RateLimitItem
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from quart import request

from hexfleet.errors import DomainError, TooManyRequests
from webapp.services import services

log = logging.getLogger("hexfleet.limits")
WARN_EVERY_S = 30.0
LIMIT_TIMEOUT_S = 1.0
# What a refused fail-closed request is told to wait: Redis restarts take seconds.
UNAVAILABLE_RETRY_S = 5


class LimitsUnavailable(DomainError):
    """A fail-closed limit could not be checked (Redis away): 503 with Retry-After."""

    status = 503
    code = "limits-unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.retry_after_s = UNAVAILABLE_RETRY_S
        self.headers = {"Retry-After": str(UNAVAILABLE_RETRY_S)}
        self.extra = {"retry_after": UNAVAILABLE_RETRY_S}


class Limiter:
    def __init__(self, redis_url: str, rules: dict[str, list[RateLimitItem]]) -> None:
        # redis-py's asyncio client (already ours), not the library's default coredis.
        # With deadlines: a check that Redis does not answer within LIMIT_TIMEOUT_S fails
        # open (retry_after), so a hung Redis delays a ping by a second, not forever.
        storage = RedisStorage(
            "async+" + redis_url,
            implementation="redispy",
            key_prefix="hf:limits",
            socket_connect_timeout=LIMIT_TIMEOUT_S,
            socket_timeout=LIMIT_TIMEOUT_S,
        )
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.rules = rules
        self._warned_at = 0.0

    async def retry_after(self, name: str, *key: str, cost: int = 1, fail_closed: bool = False) -> float | None:
        """Spend ``cost`` from every tier of rule ``name`` for ``key``; seconds to wait when one is spent.

        When Redis cannot answer: None (fail open), or with ``fail_closed`` LimitsUnavailable."""
        try:
            for item in self.rules[name]:
                if not await self.limiter.hit(item, name, *key, cost=cost):
                    stats = await self.limiter.get_window_stats(item, name, *key)
                    return max(1.0, stats.reset_time - time.time())
        except Exception as error:  # fail open (or closed), say so now and then
            if time.monotonic() - self._warned_at > WARN_EVERY_S:
                self._warned_at = time.monotonic()
                log.warning(
                    "rate limits unavailable (%s): %s",
                    type(error).__name__,
                    "refusing what they guard (sign-in, sign-up)" if fail_closed else "not enforced",
                )
            if fail_closed:
                raise LimitsUnavailable("the rate limits cannot be checked right now; retry shortly") from None
        return None

    async def enforce(self, name: str, *key: str, cost: int = 1, what: str = "requests") -> None:
        """Raise TooManyRequests (429 with Retry-After) when ``key`` spent its ``name`` budget."""
        wait = await self.retry_after(name, *key, cost=cost)
        if wait is not None:
            raise TooManyRequests(f"too many {what}: try again in {round(wait)} s", wait)


def limiter() -> Limiter:
    return services().limiter


def client_address() -> str:
    """The peer the server saw (a trusted proxy's forwarded address, never a raw client header)."""
    return request.remote_addr or "unknown"
