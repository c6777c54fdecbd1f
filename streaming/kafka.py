"""Kafka clients configured the way hexfleet needs them."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from hexfleet.settings import Settings
from streaming import compat

log = logging.getLogger(__name__)


def make_producer(settings: Settings) -> AIOKafkaProducer:
    compat.install()
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        # Idempotence (forces acks=all) so a retried send never duplicates or reorders a ping.
        enable_idempotence=True,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=256 * 1024,
        request_timeout_ms=10_000,
    )


def make_consumer(
    settings: Settings, *, group_id: str | None, fetch_max_wait_ms: int | None = None, **options
) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group_id,
        # Tansu does not wake a waiting fetch when data arrives: a long wait is pure latency
        # for live streams. Consumers that are not latency-bound pass a longer wait.
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms if fetch_max_wait_ms is None else fetch_max_wait_ms,
        **options,
    )


async def ensure_topic(settings: Settings, topic: str | None = None, partitions: int | None = None) -> None:
    """Create a topic (default: the locations topic) if it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        name = topic or settings.kafka_topic_locations
        count = partitions or settings.kafka_partitions
        if name in await admin.list_topics():
            return
        try:
            await admin.create_topics([NewTopic(name, count, 1)])
            log.info("created topic %s with %d partitions", name, count)
        except TopicAlreadyExistsError:
            pass  # another process won the race
    finally:
        await admin.close()


async def ensure_ride_topics(settings: Settings) -> None:
    """booking-events (keyed by booking) and surge (one key: one partition keeps its order)."""
    await ensure_topic(settings, settings.kafka_topic_bookings)
    await ensure_topic(settings, settings.kafka_topic_surge, partitions=1)
