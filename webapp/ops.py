"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from quart import Blueprint, request
from quart_schema import hide

from hexfleet.errors import NotFound
from hexfleet.keys import TRACKER_STATS
from hexfleet.settings import Settings, replication_factor_setting
from streaming.kafka import replication_factors
from streaming.replication import under_replicated
from webapp.services import services

bp = Blueprint("ops", __name__)
log = logging.getLogger("hexfleet.web")
REPLICATION_CHECK_EVERY_S = 60.0
REPLICATION_RETRY_S = 5.0  # after a failed check: soon, but not on every probe of a broker that is away


@bp.get("/healthz")
@hide
async def healthz():
    return {"status": "ok"}


async def _check(name: str, probe) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe(), timeout=2)
        return name, "ok"
    except Exception as error:  # a failed probe is the answer, not an error
        return name, f"failed: {type(error).__name__}: {error}" if str(error) else f"failed: {type(error).__name__}"


class ReplicationCheck:
    """Warnings about hexfleet's topics having fewer replicas than KAFKA_REPLICATION_FACTOR
    (or auto) asks for. Asked of the brokers at most once a minute: load balancers probe
    /readyz every few seconds, and each check opens an admin connection (TLS, SASL)."""

    def __init__(self, settings: Settings, every_s: float = REPLICATION_CHECK_EVERY_S) -> None:
        self.settings = settings
        self.every_s = every_s
        self.next_check_at = -float("inf")
        self.warnings: list[dict] = []
        self._lock = asyncio.Lock()

    async def current(self) -> list[dict]:
        async with self._lock:  # concurrent probes share one check
            if time.monotonic() < self.next_check_at:
                return self.warnings
            try:
                brokers, factors = await asyncio.wait_for(replication_factors(self.settings), timeout=2)
            except Exception as error:  # not a readiness failure: the kafka check covers the broker
                reason = f"{type(error).__name__}: {error}".rstrip(": ") if str(error) else type(error).__name__
                self.warnings = [{"message": f"could not check the topics' replication: {reason}"}]
                self.next_check_at = time.monotonic() + REPLICATION_RETRY_S
                return self.warnings
            setting = replication_factor_setting(self.settings.kafka_replication_factor)
            warnings = under_replicated(setting, brokers, factors)
            if warnings != self.warnings:
                for warning in warnings:
                    log.warning("%s", warning["message"])
            self.warnings, self.next_check_at = warnings, time.monotonic() + self.every_s
            return self.warnings


@bp.get("/readyz")
@hide
async def readyz():
    svc = services()
    if svc.fanout is None or not svc.fanout.ready:
        return {"status": "starting", "checks": {}}, 503

    async def postgres():
        async with svc.db.acquire() as conn:
            await conn.fetchval("SELECT 1")

    async def kafka():
        producer = svc.producer
        # Ready means producing works: the last send did not fail, or the producer has reconnected.
        if not producer.healthy:
            raise ConnectionError(f"not producing: {producer.last_error}")

    replication = svc.kafka_replication
    if replication is None:
        replication = svc.kafka_replication = ReplicationCheck(svc.settings)
    *results, warnings = await asyncio.gather(
        _check("postgres", postgres), _check("redis", svc.redis.ping), _check("kafka", kafka), replication.current()
    )
    checks = dict(results)
    ok = all(v == "ok" for v in checks.values())
    # Warnings (too few replicas) do not make the process unready: it works, it is less durable.
    return {"status": "ready" if ok else "degraded", "checks": checks, "warnings": warnings}, 200 if ok else 503


def _metrics_allowed(settings) -> bool:
    """METRICS_TOKEN from anywhere; otherwise only the METRICS_ALLOW networks (loopback by default)."""
    auth = request.headers.get("Authorization", "")
    if settings.metrics_token and hmac.compare_digest(auth.encode(), f"Bearer {settings.metrics_token}".encode()):
        return True
    try:
        peer = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    networks = [n.strip() for n in settings.metrics_allow.split(",") if n.strip()]
    return any(peer in ipaddress.ip_network(n, strict=False) for n in networks)


@bp.get("/metrics")
@hide
async def metrics():
    svc = services()
    if not _metrics_allowed(svc.settings):
        raise NotFound("nothing at /metrics")  # as if it were not there: no hint for scanners
    m = svc.metrics
    hub, fanout = svc.opened("hub"), svc.fanout  # none before start-up
    if hub is not None:
        m.hub_subscribers.set(len(hub))
        m.hub_delivered.set(hub.delivered)
        m.hub_dropped.set(hub.dropped)
    if fanout is not None:
        m.fanout_lag.set(fanout.lag)
    redis = svc.opened("redis")
    if redis is not None:
        try:
            raw = await redis.get(TRACKER_STATS)
        except Exception:
            raw = None
        for figure, value in (orjson.loads(raw) if raw else {}).items():
            if figure.startswith("flagged_"):
                m.pings_flagged.labels(figure.removeprefix("flagged_")).set(value)
            else:
                m.tracker.labels(figure).set(value)
    return generate_latest(m.registry), 200, {"Content-Type": CONTENT_TYPE_LATEST}
