"""The geocoder's reverse lookup (GEOCODER_URL): the address at a position, for positions no
place of ours is near.

Photon (``/reverse``, GeoJSON) and Nominatim (``/reverse?format=jsonv2``) are both spoken. A
lookup never fails its caller: an error, a timeout or an answer without an address is simply no
label. Quotes wait for it, so it is kept cheap: a tight timeout (REVERSE_TIMEOUT_S), answers
cached per ~11 m (4 decimals) for a day, "nothing there" for a few minutes, and after a failure
the geocoder is left alone for BACKOFF_S (a geocoder that is down costs nobody a timeout each).
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable

import httpx

log = logging.getLogger("hexfleet.places")

REVERSE_TIMEOUT_S = 0.5
CACHE_SIZE = 10_000
FOUND_TTL_S = 86_400.0
NOTHING_TTL_S = 300.0
BACKOFF_S = 30.0
MAX_LABEL = 200


def point(lat, lng) -> tuple[float, float] | None:
    """(lat, lng) as floats when both are finite and in range, else None."""
    try:
        lat, lng = float(lat), float(lng)
    except (TypeError, ValueError, OverflowError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


def photon_label(props: dict, short: bool = False) -> str:
    """A Photon feature's label: name, street and number, district, postcode and town, country
    (``short``: name or street, and the town: what a ride's pickup needs)."""
    street = " ".join(str(p) for p in (props.get("street"), props.get("housenumber")) if p)
    town = " ".join(str(p) for p in (props.get("postcode"), props.get("city") or props.get("town")) if p)
    pieces: tuple[object, ...]
    if short:
        town = str(props.get("city") or props.get("town") or props.get("district") or "")
        pieces = (props.get("name"), street, town) if props.get("name") else (street, town)
    else:
        pieces = (props.get("name"), street, props.get("district"), town, props.get("country"))
    parts: list[str] = []
    for part in pieces:
        if part and str(part) not in parts:
            parts.append(str(part))
    return ", ".join(parts)


def _nominatim(base: str) -> bool:
    return base.endswith(("/search", "/reverse")) or ("nominatim" in base.lower() and not base.endswith("/api"))


def reverse_request_for(base_url: str, lat: float, lng: float) -> tuple[str, dict]:
    """The URL and parameters of a reverse lookup, for the server GEOCODER_URL names (as
    webapp/geocoder.py decides between Photon and Nominatim for search)."""
    url = base_url.rstrip("/")
    if _nominatim(url):
        url = url.removesuffix("/search").removesuffix("/reverse") + "/reverse"
        return url, {"format": "jsonv2", "lat": f"{lat:.6f}", "lon": f"{lng:.6f}", "zoom": 18}
    url = url.removesuffix("/api").removesuffix("/reverse") + "/reverse"
    return url, {"lat": f"{lat:.6f}", "lon": f"{lng:.6f}", "limit": 1}


def parse_reverse(body) -> str | None:
    """A short address from Photon's GeoJSON or Nominatim's object; None when there is none."""
    label = ""
    if isinstance(body, dict) and isinstance(body.get("features"), list):
        for feature in body["features"]:
            props = feature.get("properties") if isinstance(feature, dict) else None
            if isinstance(props, dict):
                label = photon_label(props, short=True)
                if label:
                    break
    elif isinstance(body, dict) and "error" not in body:
        found = body.get("address")
        address: dict = found if isinstance(found, dict) else {}
        road = " ".join(str(p) for p in (address.get("road"), address.get("house_number")) if p)
        town = address.get("city") or address.get("town") or address.get("village") or address.get("suburb")
        parts = [str(p) for p in (body.get("name"), road, town) if p]
        label = ", ".join(dict.fromkeys(parts)) or str(body.get("display_name") or "")
    label = " ".join(label.split())
    return label[:MAX_LABEL] or None


class ReverseGeocoder:
    """One per process. ``lookup`` answers from the cache or asks the geocoder; never raises."""

    def __init__(
        self,
        base_url: str,
        user_agent: str,
        timeout_s: float = REVERSE_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url
        self._client = httpx.AsyncClient(timeout=timeout_s, trust_env=False, headers={"User-Agent": user_agent})
        self._clock = clock
        self._cache: OrderedDict[tuple[float, float], tuple[float, str | None]] = OrderedDict()
        self._resting_until = 0.0
        self.asked = 0  # requests sent (tests, diagnostics)

    @staticmethod
    def key(lat: float, lng: float) -> tuple[float, float]:
        return round(lat, 4), round(lng, 4)

    def cached(self, lat: float, lng: float) -> tuple[bool, str | None]:
        """(found in the cache, its label)."""
        key = self.key(lat, lng)
        hit = self._cache.get(key)
        if hit is None:
            return False, None
        expires, label = hit
        if expires <= self._clock():
            del self._cache[key]
            return False, None
        self._cache.move_to_end(key)
        return True, label

    def _keep(self, lat: float, lng: float, label: str | None) -> None:
        ttl = FOUND_TTL_S if label else NOTHING_TTL_S
        self._cache[self.key(lat, lng)] = (self._clock() + ttl, label)
        self._cache.move_to_end(self.key(lat, lng))
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    async def lookup(self, lat: float, lng: float) -> str | None:
        where = point(lat, lng)
        if where is None:
            return None
        hit, label = self.cached(*where)
        if hit:
            return label
        if self._clock() < self._resting_until:
            return None
        url, params = reverse_request_for(self.base_url, *self.key(*where))
        self.asked += 1
        try:
            response = await self._client.get(url, params=params)
            response.raise_for_status()
            label = parse_reverse(response.json())
        except (httpx.HTTPError, ValueError) as failure:
            self._resting_until = self._clock() + BACKOFF_S
            log.warning("reverse geocoding failed (%s); not asking again for %.0f s", type(failure).__name__, BACKOFF_S)
            return None
        self._keep(*where, label)
        return label

    async def close(self) -> None:
        await self._client.aclose()
