"""The web workers' ingest counters, summed over worker processes.

Each uvicorn worker has its own Prometheus registry and /metrics answers from whichever
worker accepted the connection. With the load stopped the counters are still, so many
scrapes on fresh connections see every worker; distinct snapshots are distinct workers.
Two workers with identical counters would be counted once, which is why the caller
compares ``workers_seen`` with the number started.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

_LINE = re.compile(r"^(hexfleet_[a-z_]+)(\{[^}]*\})?\s+([-+0-9.eEinfINFnaN]+)$")
SCRAPES = 40
CONCURRENCY = 8


@dataclass
class IngestCounters:
    workers_seen: int = 0
    accepted: float = 0.0
    duplicates: float = 0.0
    rejected: dict[str, float] = field(default_factory=dict)
    hub_subscribers: float = 0.0
    hub_delivered: float = 0.0
    hub_dropped: float = 0.0
    per_worker_accepted: list[float] = field(default_factory=list)

    @property
    def rejected_total(self) -> float:
        return sum(self.rejected.values())

    def minus(self, before: IngestCounters) -> IngestCounters:
        rejected = {k: v - before.rejected.get(k, 0.0) for k, v in self.rejected.items()}
        return IngestCounters(
            workers_seen=self.workers_seen,
            accepted=self.accepted - before.accepted,
            duplicates=self.duplicates - before.duplicates,
            rejected={k: v for k, v in rejected.items() if v},
            hub_subscribers=self.hub_subscribers,
            hub_delivered=self.hub_delivered - before.hub_delivered,
            hub_dropped=self.hub_dropped - before.hub_dropped,
            per_worker_accepted=self.per_worker_accepted,
        )


def parse(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match and not match.group(1).endswith("_created"):
            values[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return values


def _scrape_once(base_url: str, rounds: int) -> list[dict[str, float]]:
    out = []
    # A new connection per request (Connection: close) so the kernel may hand it to any worker.
    with httpx.Client(trust_env=False, timeout=5.0, headers={"Connection": "close"}) as client:
        for _ in range(rounds):
            try:
                response = client.get(base_url + "/metrics")
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                out.append(parse(response.text))
    return out


def _identity(values: dict[str, float]) -> tuple:
    # Counters that stand still without load; the produce-time sum (a float of many
    # latencies) is practically unique per worker.
    return tuple(
        sorted(
            (k, v) for k, v in values.items() if k.startswith("hexfleet_pings_") or k == "hexfleet_produce_seconds_sum"
        )
    )


def scrape(base_url: str, workers: int = 2, attempts: int = 10) -> IngestCounters:
    """Sum the counters of every worker, once they stand still (requests in flight when the
    load tool stopped still finish after it)."""
    snapshots: dict[tuple, dict[str, float]] = {}
    for _ in range(attempts):
        # Concurrent connections: an idle uvicorn tends to hand sequential ones to the same worker.
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            for found in pool.map(lambda _: _scrape_once(base_url, SCRAPES // CONCURRENCY), range(CONCURRENCY)):
                for values in found:
                    snapshots.setdefault(_identity(values), values)
        if len(snapshots) == workers:
            break
        if len(snapshots) > workers:  # some worker's counters moved meanwhile: start over
            snapshots = {}
            time.sleep(0.5)
    counters = IngestCounters(workers_seen=len(snapshots))
    for values in snapshots.values():
        accepted = values.get("hexfleet_pings_accepted_total", 0.0)
        counters.accepted += accepted
        counters.per_worker_accepted.append(accepted)
        counters.duplicates += values.get("hexfleet_pings_duplicate_total", 0.0)
        counters.hub_subscribers += values.get("hexfleet_hub_subscribers", 0.0)
        counters.hub_delivered += values.get("hexfleet_hub_delivered", 0.0)
        counters.hub_dropped += values.get("hexfleet_hub_dropped", 0.0)
        for key, value in values.items():
            if key.startswith("hexfleet_pings_rejected_total{"):
                reason = re.search(r'reason="([^"]*)"', key)
                name = reason.group(1) if reason else "?"
                counters.rejected[name] = counters.rejected.get(name, 0.0) + value
    counters.per_worker_accepted.sort(reverse=True)
    return counters
