"""RATE_DEVICE_AUTH: failed device sign-ins per client address, so ids and tokens cannot be
guessed at line rate.

An OsmAnd device id is the phone's only credential, and /osmand, /owntracks and the ingest
answer anyone, so each failed lookup (unknown id, wrong Basic or Bearer token) spends from a
per-address budget in Redis. Once an address has spent it, every device request from that
address answers 429 before any credential is looked up, so a guess made then cannot be
confirmed, until the window frees.

The success path stays free: only failures touch Redis, and a blocked address is remembered
in this process until its retry time (like DeviceBudget in webapp/ingest.py). Another
process learns of the block on its first failure from that address, so past the budget an
address gets at most one more lookup per process and window.

A phone whose id was revoked keeps sending it (Traccar Client and OwnTracks retry forever),
and phones behind one NAT share an address: the same wrong credential from the same address
is counted once per REPEAT_WINDOW_S, so a stale phone cannot lock its neighbours out, while
every distinct guess counts.
"""

from __future__ import annotations

import time

REPEAT_WINDOW_S = 3600.0
MAX_ENTRIES = 100_000
CODE = "auth-rate-limited"  # the problem type and the rejected-pings metric's reason


def refusal(wait: float) -> tuple[int, str]:
    """(Retry-After seconds, problem detail) for an address that spent its budget."""
    seconds = max(1, round(wait))
    return seconds, f"too many failed device sign-ins from this address: retry in {seconds} s"


class AuthFailures:
    def __init__(self, limiter) -> None:
        self.limiter = limiter
        self._blocked_until: dict[str, float] = {}
        # hash((address, credential)) → when it may count again; never the credential itself.
        self._counted: dict[int, float] = {}

    def blocked(self, address: str) -> float | None:
        """Seconds this address must still wait; None when it may try (no I/O)."""
        until = self._blocked_until.get(address)
        if until is None:
            return None
        wait = until - time.monotonic()
        if wait > 0:
            return wait
        del self._blocked_until[address]
        return None

    async def failed(self, address: str, credential: str) -> float | None:
        """Count one failed sign-in; the seconds to wait when the address has now spent its budget."""
        now = time.monotonic()
        seen = hash((address, credential))
        if self._counted.get(seen, 0.0) > now:
            return None  # the same wrong credential again: no new guess
        if len(self._counted) >= MAX_ENTRIES:
            self._counted.clear()  # bounded; forgetting only counts a repeat once more
        self._counted[seen] = now + REPEAT_WINDOW_S
        wait = await self.limiter.retry_after("device_auth", address)
        if wait is not None:
            if len(self._blocked_until) >= MAX_ENTRIES:
                self._blocked_until.clear()
            self._blocked_until[address] = now + wait
        return wait
