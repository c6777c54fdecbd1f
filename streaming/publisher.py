"""Kafka side of the core's workflows: what hexfleet.drivers.duty (and others) publish."""

from __future__ import annotations

from hexfleet.drivers.duty import DutyStatus
from hexfleet.settings import Settings
from streaming.events import SurgeChanged, encode_status, encode_surge, key_for
from streaming.producer import ReliableProducer

SURGE_KEY = b"surge"  # one key: changes stay in order


class KafkaPublisher:
    """Implements hexfleet.drivers.duty.DutyPublisher and hexfleet.rides.surge_job.SurgePublisher."""

    def __init__(self, producer: ReliableProducer, settings: Settings) -> None:
        self.producer = producer
        self.topic = settings.kafka_topic_locations
        self.surge_topic = settings.kafka_topic_surge

    async def duty_changed(self, driver_id: int, status: DutyStatus, at: float) -> None:
        # On the locations topic, keyed by driver: ordered with the driver's pings for every fan-out.
        await self.producer.send(self.topic, encode_status(driver_id, str(status), at), key=key_for(driver_id))

    async def surge_changed(self, changes: dict[int, int], at: float) -> None:
        await self.producer.send(self.surge_topic, encode_surge(SurgeChanged(at, changes)), key=SURGE_KEY)
