"""The producer of a long-running process: every send has a deadline, and a producer that
failed is replaced by a fresh one.

Why both:
- aiokafka waits for a broker that went away for as long as its request timeout and its
  retries allow (measured: about 135 s before an ingest answered 503). Clients deserve an
  answer within seconds: a send that is not acknowledged within ``deadline_s`` fails, and
  the caller answers 503 with Retry-After.
- An idempotent aiokafka producer never recovers from a broker that lost its state (a
  restarted broker, or Tansu, which keeps nothing): every later send fails with
  UnknownProducerId (measured). So after any failure the producer is thrown away and a new
  one is started in the background, with backoff, recreating the topics it needs (a
  memory-only broker comes back without them). Sends meanwhile fail at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka.structs import RecordMetadata

from hexfleet.settings import Settings
from streaming.kafka import ensure_topic, make_producer

log = logging.getLogger("hexfleet.producer")
DEADLINE_S = 2.0
START_TIMEOUT_S = 10.0
MAX_BACKOFF_S = 10.0


class ProduceFailed(Exception):
    """The broker did not acknowledge in time (or is being reconnected to): nothing was accepted."""


class ReliableProducer:
    def __init__(self, settings: Settings, topics: dict[str, int | None], deadline_s: float = DEADLINE_S) -> None:
        """``topics``: name → partitions (None: the default) to recreate after a broker restart."""
        self.settings = settings
        self.topics = topics
        self.deadline_s = deadline_s
        self.last_error: str | None = None
        self.failed_at: float | None = None
        self.renewals = 0
        self._producer = None
        self._renewing: asyncio.Task | None = None
        self._stopping = False

    @property
    def healthy(self) -> bool:
        return self._producer is not None and self._renewing is None

    async def start(self) -> None:
        producer = make_producer(self.settings)
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        self._stopping = True
        if self._renewing is not None:
            self._renewing.cancel()
            await asyncio.gather(self._renewing, return_exceptions=True)
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def partitions_for(self, topic: str) -> set[int]:
        if self._producer is None:
            raise ProduceFailed("not connected to the broker")
        return await self._producer.partitions_for(topic)

    async def send(self, topic: str, value: bytes, key: bytes) -> RecordMetadata:
        """Produce and wait for the broker's acknowledgement (acks=all), within the deadline."""
        producer = self._producer
        if producer is None or self._renewing is not None:
            raise ProduceFailed(f"reconnecting to the broker ({self.last_error})")
        try:
            return await asyncio.wait_for(self._send(producer, topic, value, key), self.deadline_s)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            reason = f"{type(error).__name__}: {error}".rstrip(": ") if str(error) else type(error).__name__
            if isinstance(error, TimeoutError):
                reason = f"no acknowledgement within {self.deadline_s:g} s"
            self._failed(producer, reason)
            raise ProduceFailed(reason) from error

    @staticmethod
    async def _send(producer, topic: str, value: bytes, key: bytes) -> RecordMetadata:
        sent = await producer.send(topic, value, key=key)
        return await sent

    def _failed(self, producer, reason: str) -> None:
        if producer is not self._producer or self._renewing is not None or self._stopping:
            return  # already being replaced
        self.last_error = reason
        self.failed_at = time.time()
        log.warning("producing failed (%s): answering 503 and reconnecting to the broker", reason)
        self._renewing = asyncio.create_task(self._renew(producer), name="producer-renewal")

    async def _renew(self, old) -> None:
        try:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(old.stop(), 5)
            backoff = 0.5
            while not self._stopping:
                fresh = make_producer(self.settings)
                try:
                    await asyncio.wait_for(fresh.start(), START_TIMEOUT_S)
                    for topic, partitions in self.topics.items():
                        await asyncio.wait_for(ensure_topic(self.settings, topic, partitions), START_TIMEOUT_S)
                except asyncio.CancelledError:
                    with contextlib.suppress(Exception):
                        await fresh.stop()
                    raise
                except Exception as error:
                    self.last_error = f"{type(error).__name__}: {error}"
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(fresh.stop(), 5)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                    continue
                self._producer = fresh
                self.renewals += 1
                down = time.time() - (self.failed_at or time.time())
                log.warning("producing again after %.1f s (broker reconnected)", down)
                return
        finally:
            self._renewing = None
