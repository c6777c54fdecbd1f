"""Trip distance and duration: an estimate (pure), or a routing server when one is set.

Without ``ROUTING_URL`` a trip is the great-circle distance times a detour factor, driven
at an average speed (both settings). With it, an OSRM-compatible server gives road
distance and duration; it has a short timeout and any failure falls back to the
estimate (counted, so an operator sees a routing server in trouble).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import httpx

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


def estimate(lat1: float, lng1: float, lat2: float, lng2: float, rules: EstimateRules) -> Route:
    distance = haversine_m(lat1, lng1, lat2, lng2) * rules.detour_factor
    return Route(round(distance), math.ceil(distance / (rules.average_speed_kmh / 3.6)), "estimate")


class Router:
    """Routes trips through ROUTING_URL (OSRM's /route/v1 API), falling back to the estimate."""

    def __init__(self, base_url: str, timeout_s: float, rules: EstimateRules, on_fallback=lambda: None) -> None:
        self.base_url = base_url.rstrip("/")
        self.rules = rules
        self.on_fallback = on_fallback
        self._client = httpx.AsyncClient(timeout=timeout_s, trust_env=False) if self.base_url else None

    async def route(self, lat1: float, lng1: float, lat2: float, lng2: float) -> Route:
        if self._client is None:
            return estimate(lat1, lng1, lat2, lng2, self.rules)
        url = f"{self.base_url}/route/v1/driving/{lng1:.6f},{lat1:.6f};{lng2:.6f},{lat2:.6f}"
        try:
            response = await self._client.get(url, params={"overview": "false"})
            response.raise_for_status()
            best = response.json()["routes"][0]
            return Route(round(float(best["distance"])), math.ceil(float(best["duration"])), "routing")
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as error:
            log.warning("routing failed (%s); using the estimate", type(error).__name__)
            self.on_fallback()
            return estimate(lat1, lng1, lat2, lng2, self.rules)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
