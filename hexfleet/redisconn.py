"""Redis clients with deadlines.

redis-py waits forever by default: a Redis that stops answering (a full network buffer, a
paused VM, a half-open connection after a failover) would hold every request that touches
it until the client gave up, which is never. With these, a command gives up after
COMMAND_TIMEOUT_S and the caller answers 503 with Retry-After (webapp/errors.py), and
connecting gives up after CONNECT_TIMEOUT_S.
"""

from __future__ import annotations

from redis.asyncio import Redis

CONNECT_TIMEOUT_S = 2.0
COMMAND_TIMEOUT_S = 5.0  # the slowest command we run is a Lua script over the live index
HEALTH_CHECK_S = 30  # a connection idle this long is checked with a PING before it is reused


def connect(url: str, *, listener: bool = False) -> Redis:
    """A client for ``url``. ``listener=True`` for pub/sub: a subscriber waits for the next
    message as long as it takes, so its reads have no deadline (the health check and TCP
    keepalive still notice a dead server)."""
    return Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=None if listener else COMMAND_TIMEOUT_S,
        socket_keepalive=True,
        health_check_interval=HEALTH_CHECK_S,
    )
