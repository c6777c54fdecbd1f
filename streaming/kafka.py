"""Kafka clients configured the way hexfleet needs them.

Every producer, consumer and admin client hexfleet makes is built here, on
``client_options(settings)``: the bootstrap servers and the security settings (TLS, SASL).
One place, so no client can connect without them (tests/streaming/test_kafka_clients.py
scans the source for constructions elsewhere).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.helpers import create_ssl_context

from hexfleet.settings import Settings, SettingsError, replication_factor_setting
from streaming import compat
from streaming.replication import creation_error, replication_factor, too_few_brokers, topic_configs

log = logging.getLogger(__name__)
ADMIN_TIMEOUT_MS = 10_000


def client_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments every aiokafka client gets: where the brokers are and how to
    connect to them. Holds the SASL password: never log it."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": protocol,
    }
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl_context(settings)
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        # aiokafka takes the SCRAM credentials through its sasl_plain_* arguments too.
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password
    return options


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """Verifies the brokers' certificates and host names (the CA file's, else the system's CAs)."""
    try:
        return create_ssl_context(
            cafile=settings.kafka_ssl_cafile or None,
            certfile=settings.kafka_ssl_certfile or None,
            keyfile=settings.kafka_ssl_keyfile or None,
        )
    except (ssl.SSLError, OSError) as error:
        files = ", ".join(
            f"{name}={path}"
            for name, path in (
                ("KAFKA_SSL_CAFILE", settings.kafka_ssl_cafile),
                ("KAFKA_SSL_CERTFILE", settings.kafka_ssl_certfile),
                ("KAFKA_SSL_KEYFILE", settings.kafka_ssl_keyfile),
            )
            if path
        )
        raise SettingsError(
            f"cannot use the Kafka TLS files ({files or 'the system CAs'}): {error}; "
            "they must be PEM files, and the key must belong to the certificate"
        ) from None


def make_producer(settings: Settings) -> AIOKafkaProducer:
    compat.install()
    return AIOKafkaProducer(
        **client_options(settings),
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
        **client_options(settings),
        group_id=group_id,
        # Tansu does not wake a waiting fetch when data arrives: a long wait is pure latency
        # for live streams. Consumers that are not latency-bound pass a longer wait.
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms if fetch_max_wait_ms is None else fetch_max_wait_ms,
        **options,
    )


def make_admin(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**client_options(settings), request_timeout_ms=ADMIN_TIMEOUT_MS)


@asynccontextmanager
async def admin_client(settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client, closed on the way out."""
    admin = make_admin(settings)
    try:
        await admin.start()  # inside: a start cut short by a deadline still closes what it opened
        yield admin
    finally:
        await admin.close()


async def ensure_topic(settings: Settings, topic: str | None = None, partitions: int | None = None) -> None:
    """Create a topic (default: the locations topic) if it does not exist, with
    KAFKA_REPLICATION_FACTOR replicas (auto: up to 3) and min.insync.replicas one less.

    A topic that exists is left as it is (/readyz warns when it has too few replicas).
    Raises KafkaSetupError (a SettingsError) when it cannot be created as configured."""
    name = topic or settings.kafka_topic_locations
    count = partitions or settings.kafka_partitions
    async with admin_client(settings) as admin:
        if name in await admin.list_topics():
            return
        brokers = len((await admin.describe_cluster())["brokers"])
        factor = replication_factor(replication_factor_setting(settings.kafka_replication_factor), brokers)
        problem = too_few_brokers(name, factor, brokers)
        if problem is not None:
            raise problem
        response = await admin.create_topics([NewTopic(name, count, factor, topic_configs=topic_configs(factor))])
    for answer in response.topic_errors:
        error = creation_error(answer[0], answer[1], answer[2] if len(answer) > 2 else None, factor)
        if error is not None:
            raise error
    log.info("created topic %s with %d partitions and %d replicas", name, count, factor)


async def ensure_ride_topics(settings: Settings) -> None:
    """booking-events (keyed by booking) and surge (one key: one partition keeps its order)."""
    await ensure_topic(settings, settings.kafka_topic_bookings)
    await ensure_topic(settings, settings.kafka_topic_surge, partitions=1)


def hexfleet_topics(settings: Settings) -> tuple[str, ...]:
    return (settings.kafka_topic_locations, settings.kafka_topic_bookings, settings.kafka_topic_surge)


async def replication_factors(settings: Settings) -> tuple[int, dict[str, int]]:
    """The reachable brokers and the replication factor of each of hexfleet's topics that
    exist (the fewest replicas of any partition). Only reads: describing topics by name
    would let a broker with auto.create.topics.enable create a missing one."""
    ours = set(hexfleet_topics(settings))
    async with admin_client(settings) as admin:
        described = await admin.describe_topics()  # all topics: no auto-creation
        brokers = len((await admin.describe_cluster())["brokers"])
    factors = {
        t["topic"]: min(len(p["replicas"]) for p in t["partitions"])
        for t in described
        if t["topic"] in ours and t["error_code"] == 0 and t["partitions"]
    }
    return brokers, factors
