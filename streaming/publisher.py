"""Kafka side of the core's workflows: what hexfleet.drivers.duty (and others) publish."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from hexfleet.drivers.duty import DutyStatus
from hexfleet.settings import Settings
from streaming.events import encode_status, key_for


class KafkaPublisher:
    def __init__(self, producer: AIOKafkaProducer, settings: Settings) -> None:
        self.producer = producer
        self.topic = settings.kafka_topic_locations

    async def duty_changed(self, driver_id: int, status: DutyStatus, at: float) -> None:
        # On the locations topic, keyed by driver: ordered with the driver's pings for every fan-out.
        sent = await self.producer.send(self.topic, encode_status(driver_id, str(status), at), key=key_for(driver_id))
        await sent
