"""InitProducerId v3 for aiokafka, so idempotent producers work on brokers that need it.

aiokafka 0.14 only speaks InitProducerId v0, whose request has no producer id/epoch
fields. Tansu 0.6 (the embedded development broker) fails v0 with UNKNOWN_SERVER_ERROR,
which made ``enable_idempotence=True`` impossible against it. This adds v3 (KIP-360:
producer_id = -1 and epoch = -1 for a new producer); aiokafka picks the highest version
both sides support, so real Kafka and Tansu both negotiate v3 and v0-only brokers keep v0.
Remove when aiokafka ships a newer InitProducerId.
"""

from __future__ import annotations

from aiokafka.producer import sender as _sender
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.transaction import InitProducerIdRequest_v0
from aiokafka.protocol.types import CompactString, Int16, Int32, Int64, Schema, TaggedFields


class InitProducerIdResponse_v3(Response):
    API_KEY = 22
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("tags", TaggedFields),
    )


class InitProducerIdRequest_v3(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 22
    API_VERSION = 3
    RESPONSE_TYPE = InitProducerIdResponse_v3
    SCHEMA = Schema(
        ("transactional_id", CompactString("utf-8")),
        ("transaction_timeout_ms", Int32),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("tags", TaggedFields),
    )


class InitProducerIdRequest(Request[InitProducerIdRequest_v0 | InitProducerIdRequest_v3]):
    API_KEY = 22

    def __init__(self, transactional_id: str | None, transaction_timeout_ms: int) -> None:
        self._transactional_id = transactional_id
        self._transaction_timeout_ms = transaction_timeout_ms

    def build(self, request_struct_class):
        if request_struct_class is InitProducerIdRequest_v3:
            return request_struct_class(self._transactional_id, self._transaction_timeout_ms, -1, -1, {})
        return request_struct_class(self._transactional_id, self._transaction_timeout_ms)


def install() -> None:
    """Make aiokafka's producer sender build InitProducerId through the v0/v3 request above."""
    _sender.InitProducerIdRequest = InitProducerIdRequest  # type: ignore[attr-defined]
