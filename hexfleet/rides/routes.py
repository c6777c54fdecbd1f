"""Trip distance and duration: an estimate (pure), or a routing server when one is set.

Without ``ROUTING_URL`` a trip is the great-circle distance times a detour factor, driven
at an average speed (both settings), or at the speeds learned per cell and hour of week when
the process has them (hexfleet/eta/table.py). With it, an OSRM-compatible server gives road
distance and duration; it has a short timeout and any failure falls back to the
estimate (counted, so an operator sees a routing server in trouble).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol

import httpx

from hexfleet.eta.table import SpeedTable
from hexfleet.geo import haversine_m

log = logging.getLogger("hexfleet.routes")


@dataclass(frozen=True)
class Route:
    distance_m: int
    duration_s: int
    source: str  # "estimate" | "routing"


@dataclass(frozen=True)
class EstimateRules:
    detour_factor: float = 1.3
    average_speed_kmh: float = 25.0


def estimate(
    lat1: float,
    lng1: float,
    lat2: float,
    lng2: float,
    rules: EstimateRules,
    speeds: SpeedTable | None = None,
    at: float = 0.0,
) -> Route:
    """``speeds``: learned speeds (used when they hold any), for a trip starting at ``at``."""
    distance = haversine_m(lat1, lng1, lat2, lng2) * rules.detour_factor
    if speeds is None or speeds.empty:
        return Route(round(distance), math.ceil(distance / (rules.average_speed_kmh / 3.6)), "estimate")
    seconds = speeds.line_s(lat1, lng1, lat2, lng2, at) * rules.detour_factor
    return Route(round(distance), math.ceil(seconds), "estimate")


class Speeds(Protocol):
    """Where a process keeps its learned speeds (hexfleet/eta/live.py), refreshed in place."""

    table: SpeedTable | None


class Router:
    """Routes trips through ROUTING_URL (OSRM's /route/v1 API), falling back to the estimate."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        rules: EstimateRules,
        on_fallback=lambda: None,
        speeds: Speeds | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.rules = rules
        self.on_fallback = on_fallback
        self.speeds = speeds
        self._client = httpx.AsyncClient(timeout=timeout_s, trust_env=False) if self.base_url else None

    @property
    def learned(self) -> bool:
        """Estimates use learned speeds (no routing server, and the process has some)."""
        table = self.speeds.table if self.speeds is not None else None
        return self._client is None and table is not None and not table.empty

    def estimate(self, lat1: float, lng1: float, lat2: float, lng2: float, at: float | None = None) -> Route:
        """The estimate (never the routing server) for a trip starting at ``at`` (None: now)."""
        table = self.speeds.table if self.speeds is not None else None
        return estimate(lat1, lng1, lat2, lng2, self.rules, table, time.time() if at is None else at)

    async def route(self, lat1: float, lng1: float, lat2: float, lng2: float, at: float | None = None) -> Route:
        if self._client is None:
            return self.estimate(lat1, lng1, lat2, lng2, at)
        url = f"{self.base_url}/route/v1/driving/{lng1:.6f},{lat1:.6f};{lng2:.6f},{lat2:.6f}"
        try:
            response = await self._client.get(url, params={"overview": "false"})
            response.raise_for_status()
            best = response.json()["routes"][0]
            return Route(round(float(best["distance"])), math.ceil(float(best["duration"])), "routing")
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as error:
            log.warning("routing failed (%s); using the estimate", type(error).__name__)
            self.on_fallback()
            return self.estimate(lat1, lng1, lat2, lng2, at)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
