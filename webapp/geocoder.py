"""Address search for the booking pages: a Photon- or Nominatim-compatible GEOCODER_URL,
asked by the server so the browser never talks to another host.

Like the router (hexfleet/rides/routes.py): one HTTP client per process, a short timeout,
and any failure is one clear error; responses are parsed defensively (a suggestion with
coordinates out of range, or no label, is left out).
"""

from __future__ import annotations

import logging
import math

import httpx

from hexfleet.errors import DomainError

log = logging.getLogger("hexfleet.web")

TIMEOUT_S = 3.0
MAX_RESULTS = 6


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


def point(lat, lng) -> tuple[float, float] | None:
    """(lat, lng) as floats when both are finite and in range, else None."""
    try:
        lat, lng = float(lat), float(lng)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


def _photon_label(props: dict) -> str:
    street = " ".join(str(p) for p in (props.get("street"), props.get("housenumber")) if p)
    town = " ".join(str(p) for p in (props.get("postcode"), props.get("city") or props.get("town")) if p)
    parts: list[str] = []
    for part in (props.get("name"), street, props.get("district"), town, props.get("country")):
        if part and str(part) not in parts:
            parts.append(str(part))
    return ", ".join(parts)


def parse(body) -> list[dict]:
    """Suggestions ``{label, lat, lng}`` from Photon's GeoJSON or Nominatim's list."""
    found: list[dict] = []
    if isinstance(body, dict) and isinstance(body.get("features"), list):
        for feature in body["features"]:
            try:
                lng, lat = feature["geometry"]["coordinates"][:2]
                label = _photon_label(feature.get("properties") or {})
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
