"""Prometheus metrics of a web process (one registry per process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class WebMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.pings_accepted = Counter("hexfleet_pings_accepted", "Pings accepted and produced", registry=r)
        self.pings_duplicate = Counter(
            "hexfleet_pings_duplicate", "Pings already seen (idempotent retries)", registry=r
        )
        self.pings_rejected = Counter(
            "hexfleet_pings_rejected", "Pings or requests rejected, by reason", ["reason"], registry=r
        )
        self.device_events = Counter(
            "hexfleet_device_events", "Device reports without coordinates (kept as attributes)", registry=r
        )
        self.protocol_requests = Counter(
            "hexfleet_protocol_requests", "Requests from phone apps, by protocol", ["protocol"], registry=r
        )
        self.produce_seconds = Histogram(
            "hexfleet_produce_seconds",
            "Time to produce an ingest request's record to Kafka (acked)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.hub_subscribers = Gauge("hexfleet_hub_subscribers", "Live stream subscribers in this process", registry=r)
        self.hub_delivered = Gauge("hexfleet_hub_delivered", "Events offered to subscribers since start", registry=r)
        self.hub_dropped = Gauge("hexfleet_hub_dropped", "Subscribers dropped for falling behind", registry=r)
        self.fanout_lag = Gauge(
            "hexfleet_fanout_consumer_lag", "Records behind the end, this process's fan-out", registry=r
        )
        self.pings_flagged = Gauge(
            "hexfleet_pings_flagged",
            "Fixes kept in history but out of the live view, by reason (tracker's count since it started)",
            ["reason"],
            registry=r,
        )
        self.tracker = Gauge(
            "hexfleet_tracker", "Tracker consumer-group figures (from its last report)", ["figure"], registry=r
        )
        self.routing_fallbacks = Counter(
            "hexfleet_routing_fallbacks",
            "Routes estimated because ROUTING_URL failed or timed out",
            registry=r,
        )
