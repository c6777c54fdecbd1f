"""The per-process live hub: fans events out to this process's stream subscribers.

Each subscriber has a bounded mailbox that coalesces to the latest event per driver,
so a slow browser costs at most one pending event per driver and never slows the
others; one that stops draining for too long, or whose mailbox passes the bound, is
dropped (its stream ends and the browser reconnects).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hexfleet.geo import in_bbox
from streaming import channels as ch


@dataclass(frozen=True, slots=True)
class LiveEvent:
    key: int  # coalescing key: +driver_id for positions, -driver_id for status changes
    driver_id: int
    kind: str  # "position" | "status"
    lat: float | None
    lng: float | None
    data: bytes  # the JSON body, encoded once for every subscriber
    sse: bytes  # the ready SSE frame
    # Who may see it, for audience streams (rides): "staff", "customer:7", "driver:3", "booking:12".
    channels: frozenset[str] | None = None


def make_event(kind: str, driver_id: int, data: bytes, lat: float | None = None, lng: float | None = None) -> LiveEvent:
    key = driver_id if kind == ch.POSITION else -driver_id
    return LiveEvent(key, driver_id, kind, lat, lng, data, _frame(kind, data))


def make_channel_event(kind: str, key: int, data: bytes, channels: frozenset[str]) -> LiveEvent:
    """An event for audience streams: delivered to subscribers of any of ``channels``,
    coalesced per ``key`` (a slow client gets the latest state of each booking)."""
    return LiveEvent(key, 0, kind, None, None, data, _frame(kind, data), channels)


def _frame(kind: str, data: bytes) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


@dataclass(frozen=True, slots=True)
class Filter:
    bbox: tuple[float, float, float, float] | None = None
    driver_id: int | None = None
    channel: str | None = None  # audience streams: only events naming this channel

    def matches(self, event: LiveEvent) -> bool:
        if self.driver_id is not None and event.driver_id != self.driver_id:
            return False
        if self.bbox is not None and event.kind == ch.POSITION:
            return in_bbox(event.lat, event.lng, self.bbox)  # type: ignore[arg-type]
        return True


class Subscriber:
    __slots__ = ("dropped", "filter", "max_pending", "on_drop", "pending", "waiting_since", "wake")

    def __init__(self, flt: Filter, max_pending: int) -> None:
        self.filter = flt
        self.max_pending = max_pending
        self.pending: dict[int, LiveEvent] = {}
        self.wake = asyncio.Event()
        self.dropped = False
        # When the oldest undelivered event arrived; None while the mailbox is empty.
        self.waiting_since: float | None = None
        # Called when the hub drops it for falling behind: its writer may be blocked on a
        # client that stopped reading, and only closing the connection frees it.
        self.on_drop: Callable[[], object] | None = None

    async def next_batch(self) -> list[LiveEvent]:
        """Wait for events; returns [] once the hub has dropped this subscriber."""
        await self.wake.wait()
        self.wake.clear()
        if self.dropped:
            return []
        batch = list(self.pending.values())
        self.pending = {}
        self.waiting_since = None
        return batch

    def drop(self) -> None:
        self.dropped = True
        self.pending = {}
        self.wake.set()


class LiveHub:
    def __init__(self, max_pending: int = 10_000, send_timeout_s: float = 15.0) -> None:
        self.max_pending = max_pending
        self.send_timeout_s = send_timeout_s
        self._all: set[Subscriber] = set()  # no filter: share one dict update per batch
        self._by_driver: dict[int, set[Subscriber]] = {}
        self._bbox: set[Subscriber] = set()
        self._by_channel: dict[str, set[Subscriber]] = {}
        self.delivered = 0
        self.dropped = 0
        self.closed = False  # the process is stopping: every stream ends, no new one starts

    def __len__(self) -> int:
        return (
            len(self._all)
            + len(self._bbox)
            + sum(len(s) for s in self._by_driver.values())
            + sum(len(s) for s in self._by_channel.values())
        )

    def subscribe(self, flt: Filter) -> Subscriber:
        sub = Subscriber(flt, self.max_pending)
        if self.closed:
            sub.drop()  # its stream ends at once; the client reconnects to another process
            return sub
        if flt.channel is not None:
            self._by_channel.setdefault(flt.channel, set()).add(sub)
        elif flt.driver_id is not None:
            self._by_driver.setdefault(flt.driver_id, set()).add(sub)
        elif flt.bbox is not None:
            self._bbox.add(sub)
        else:
            self._all.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._all.discard(sub)
        self._bbox.discard(sub)
        if sub.filter.channel is not None:
            subs = self._by_channel.get(sub.filter.channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_channel[sub.filter.channel]
            return
        if sub.filter.driver_id is not None:
            subs = self._by_driver.get(sub.filter.driver_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_driver[sub.filter.driver_id]

    def close(self) -> None:
        """End every stream (the process is stopping): each client reconnects elsewhere or later."""
        self.closed = True
        by_key = [*self._by_driver.values(), *self._by_channel.values()]
        for sub in [*self._all, *self._bbox, *(s for subs in by_key for s in subs)]:
            sub.drop()

    def publish(self, events: Iterable[LiveEvent]) -> None:
        """Offer a batch of events (in order) to every matching subscriber."""
        latest: dict[int, LiveEvent] = {}
        for event in events:
            latest[event.key] = event
        if not latest:
            return
        stuck_before = time.monotonic() - self.send_timeout_s
        for sub in self._all:
            self._offer(sub, latest, stuck_before)
        for sub in self._bbox:
            self._offer(sub, {k: e for k, e in latest.items() if sub.filter.matches(e)}, stuck_before)
        if self._by_channel:
            for event in latest.values():
                for channel in event.channels or ():
                    for sub in self._by_channel.get(channel, ()):
                        self._offer(sub, {event.key: event}, stuck_before)
        if self._by_driver:
            for event in latest.values():
                for sub in self._by_driver.get(event.driver_id, ()):
                    if sub.filter.bbox is None or sub.filter.matches(event):  # both filters may be set
                        self._offer(sub, {event.key: event}, stuck_before)

    def _offer(self, sub: Subscriber, events: dict[int, LiveEvent], stuck_before: float) -> None:
        if not events or sub.dropped:
            return
        if sub.waiting_since is None:
            sub.waiting_since = time.monotonic()
        elif sub.waiting_since < stuck_before:
            # Its writer has not taken anything for send_timeout_s: the client is gone or stuck.
            self._drop(sub)
            return
        sub.pending.update(events)
        self.delivered += len(events)
        if len(sub.pending) > sub.max_pending:
            self._drop(sub)
            return
        sub.wake.set()

    def _drop(self, sub: Subscriber) -> None:
        self.dropped += 1
        sub.drop()
        if sub.on_drop is not None:
            sub.on_drop()
