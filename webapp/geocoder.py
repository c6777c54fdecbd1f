"""Address search for the booking pages: a Photon- or Nominatim-compatible GEOCODER_URL,
asked by the server so the browser never talks to another host.

Like the router (hexfleet/rides/routes.py): one HTTP client per process, a short timeout,
and any failure is one clear error; responses are parsed defensively (a suggestion with
coordinates out of range, or no label, is left out).
"""

from __future__ import annotations

import logging

import httpx

from hexfleet import keys
from hexfleet.errors import DomainError
from hexfleet.places.geocoding import photon_label, point

__all__ = ["MAX_RESULTS", "PER_MINUTE", "Geocoder", "GeocoderFailed", "parse", "point", "request_for", "within_rate"]

log = logging.getLogger("hexfleet.web")

TIMEOUT_S = 3.0
MAX_RESULTS = 6
# Geocoder searches per account a minute (the booking form and place search ask as one types).
PER_MINUTE = 30


class GeocoderFailed(DomainError):
    status = 502
    code = "geocoder-failed"


def request_for(base_url: str, query: str, near: tuple[float, float]) -> tuple[str, dict]:
    """The URL and parameters for a Photon (``/api``) or Nominatim (``/search``) server.

    A GEOCODER_URL ending in ``/api`` or ``/search`` is used as it is; otherwise a host with
    "nominatim" in its name gets ``/search`` and anything else Photon's ``/api``. Results are
    biased towards ``near`` (the rider's map).
    """
    url = base_url.rstrip("/")
    lat, lng = near
    nominatim = url.endswith("/search") or ("nominatim" in url.lower() and not url.endswith("/api"))
    if nominatim:
        if not url.endswith("/search"):
            url += "/search"
        box = f"{lng - 0.5:.4f},{lat + 0.5:.4f},{lng + 0.5:.4f},{lat - 0.5:.4f}"
        return url, {"format": "json", "q": query, "limit": MAX_RESULTS, "viewbox": box}
    if not url.endswith("/api"):
        url += "/api"
    return url, {"q": query, "limit": MAX_RESULTS, "lat": f"{lat:.5f}", "lon": f"{lng:.5f}"}


def parse(body) -> list[dict]:
    """Suggestions ``{label, lat, lng}`` from Photon's GeoJSON or Nominatim's list."""
    found: list[dict] = []
    if isinstance(body, dict) and isinstance(body.get("features"), list):
        for feature in body["features"]:
            try:
                lng, lat = feature["geometry"]["coordinates"][:2]
                label = photon_label(feature.get("properties") or {})
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
            where = point(lat, lng)
            if where and label:
                found.append({"label": label[:200], "lat": where[0], "lng": where[1]})
    elif isinstance(body, list):
        for place in body:
            if not isinstance(place, dict):
                continue
            where = point(place.get("lat"), place.get("lon"))
            label = str(place.get("display_name") or "")
            if where and label:
                found.append({"label": label[:200], "lat": where[0], "lng": where[1]})
    return found[:MAX_RESULTS]


async def within_rate(redis, user_id: int) -> bool:
    """At most PER_MINUTE geocoder searches per account in the minute after its first one."""
    key = f"{keys.PREFIX}geocode-rate:{user_id}"
    # The window starts with its expiry set (INCR keeps it): never a counter that lives forever.
    await redis.set(key, 0, ex=60, nx=True)
    return await redis.incr(key) <= PER_MINUTE


class Geocoder:
    def __init__(self, base_url: str, user_agent: str, timeout_s: float = TIMEOUT_S) -> None:
        self.base_url = base_url
        # Nominatim's usage policy asks every client to say who it is.
        self._client = httpx.AsyncClient(timeout=timeout_s, trust_env=False, headers={"User-Agent": user_agent})

    async def search(self, query: str, near: tuple[float, float], language: str = "") -> list[dict]:
        url, params = request_for(self.base_url, query, near)
        headers = {"Accept-Language": language} if language else {}
        try:
            response = await self._client.get(url, params=params, headers=headers)
            response.raise_for_status()
            return parse(response.json())
        except (httpx.HTTPError, ValueError) as failure:
            log.warning("geocoder failed (%s)", type(failure).__name__)
            raise GeocoderFailed(
                "The address search did not answer. Tap the map or type coordinates instead."
            ) from None

    async def close(self) -> None:
        await self._client.aclose()
