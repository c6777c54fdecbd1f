"""Quotes: a price for a trip, held until it expires, for the one who asked."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from hexfleet.errors import Invalid
from hexfleet.geo import haversine_m
from hexfleet.places.labels import Label
from hexfleet.places.rules import clean_label
from hexfleet.rides import fares, windows
from hexfleet.rides import queries as q
from hexfleet.rides.availability import Availability, suggest
from hexfleet.rides.context import Rides
from hexfleet.tracking.store import Spot
from hexfleet.zones import pricing as zone_pricing

# Closer than this, pickup and drop-off are the same place (GPS noise, a double tap).
MIN_TRIP_M = 50.0
# Drivers a quote's ETA looks at first: enough that one usually drives the class asked for.
ETA_CANDIDATES = 8


@dataclass(frozen=True)
class QuoteRequest:
    pickup: tuple[float, float]
    dropoff: tuple[float, float]
    vehicle_class: str = fares.DEFAULT_CLASS
    pickup_at: datetime | None = None
    # What the rider (or dispatcher) chose the ends by: a place's name or an address, checked
    # with hexfleet.places.rules.clean_label. Without one, the nearest place names it.
    pickup_label: str | None = None
    dropoff_label: str | None = None


def check_point(name: str, point: tuple[float, float]) -> tuple[float, float]:
    lat, lng = point
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        raise Invalid(f"{name} must have lat between -90 and 90 and lng between -180 and 180", code="bad-coordinates")
    return lat, lng


def check_request(request: QuoteRequest, now: float) -> None:
    """Everything about a quote request that needs no database (422 naming the field)."""
    check_point("pickup", request.pickup)
    check_point("dropoff", request.dropoff)
    if request.vehicle_class not in fares.VEHICLE_CLASSES:
        raise Invalid(
            f"vehicle_class must be one of {', '.join(fares.VEHICLE_CLASSES)}, not {request.vehicle_class!r}",
            code="unknown-vehicle-class",
        )
    for name, label in (("pickup.label", request.pickup_label), ("dropoff.label", request.dropoff_label)):
        try:
            clean_label(label)
        except ValueError as error:
            raise Invalid(f"{name}: {error}", code="bad-label") from None
    if haversine_m(*request.pickup, *request.dropoff) < MIN_TRIP_M:
        raise Invalid(f"pickup and dropoff are the same place (less than {MIN_TRIP_M:.0f} m apart)", code="same-place")
    if request.pickup_at is not None:
        windows.check_scheduled(request.pickup_at, datetime.fromtimestamp(now, UTC), "pickup_at")


@dataclass(frozen=True)
class Near:
    """What the search for the nearest available drivers met around a pickup."""

    eta_s: int | None  # the nearest driver of the class asked for; None when none is within reach
    drivers_near: int  # drivers of that class among those read (0: none within reach)
    nearest_by_class: dict[str, float]  # class → distance of its nearest driver read


async def look_near(rides: Rides, lat: float, lng: float, vehicle_class: str) -> Near:
    """The nearest available drivers around a pickup: the ETA of the nearest one of this
    class, and the classes the others drive.

    Asks the GEO index for the nearest few and PostgreSQL for their classes (one round trip
    each), and looks further only when none of them drives this class: a quote needs one
    driver, and reading every driver of the 6 km reach was 95% of a quote's cost. When
    nobody of this class is within reach, every driver within reach has been read, so the
    classes found are all the classes that could serve the pickup now."""
    s = rides.settings
    reach = s.dispatch_max_rings * s.dispatch_ring_m
    fresh_after = rides.clock() - s.stale_after_s
    count = ETA_CANDIDATES
    nearest: dict[str, Spot] = {}  # class → its nearest driver read
    of_class = 0
    read: set[int] = set()
    while True:
        near = await rides.store.nearest(lat, lng, reach, fresh_after, count)
        batch = [n for n in near if n.driver_id not in read]
        if batch:
            async with rides.pool.acquire() as conn:
                found = await q.classes_among(conn, [n.driver_id for n in batch])
            for name, (first, n) in found.items():
                if name not in nearest or batch[first].distance_m < nearest[name].distance_m:
                    nearest[name] = batch[first]
                if name == vehicle_class:
                    of_class += n
            read.update(n.driver_id for n in batch)
        if vehicle_class in nearest or len(near) < count:  # found one, or nobody else within reach
            eta = None
            if vehicle_class in nearest:
                spot = nearest[vehicle_class]
                eta = rides.router.estimate(spot.lat, spot.lng, lat, lng, rides.clock()).duration_s
            return Near(eta, of_class, {name: spot.distance_m for name, spot in nearest.items()})
        count *= 4


async def labels_for(rides: Rides, request: QuoteRequest) -> tuple[str | None, str | None]:
    """The quote's (pickup, dropoff) labels: the ones chosen, else the nearest places from this
    process's index (microseconds, no query), else the geocoder's addresses when GEOCODER_URL is
    set (both at once, each within REVERSE_TIMEOUT_S, cached: 0 ms once an address is known)."""
    chosen = [clean_label(request.pickup_label), clean_label(request.dropoff_label)]  # checked by check_request
    missing = [point for point, label in zip((request.pickup, request.dropoff), chosen, strict=True) if not label]
    if rides.labels is None or not missing:
        return chosen[0], chosen[1]
    found = iter(await rides.labels.label_points(missing))
    pickup = chosen[0] or _text(next(found))
    dropoff = chosen[1] or _text(next(found))
    return pickup, dropoff


def zone_terms(rides: Rides, request: QuoteRequest) -> zone_pricing.Terms:
    """Refuses a trip outside the service area (422); else its zone lines. From this process's
    in-memory cover: microseconds, no query (a quote is on the hot path)."""
    if rides.zones is None:
        return zone_pricing.NONE
    index = rides.zones.current()
    if not len(index):
        return zone_pricing.NONE
    at_pickup = index.zones_at(*request.pickup)
    at_dropoff = index.zones_at(*request.dropoff)
    zone_pricing.check_served(index.service_areas, at_pickup, at_dropoff)
    return zone_pricing.terms(at_pickup, at_dropoff, request.vehicle_class)


def _text(label: Label | None) -> str | None:
    return label.text if label is not None else None


async def make_quote(rides: Rides, user_id: int, request: QuoteRequest) -> q.Quote:
    now = rides.clock()
    check_request(request, now)
    terms = zone_terms(rides, request)  # before any I/O: a trip not served costs nothing more
    fixed = terms.fixed
    async with rides.pool.acquire() as conn:
        offered = {f.vehicle_class: f for f in await q.list_fares(conn)}  # at most 4 rows: one round trip anyway
    fare = offered.get(request.vehicle_class)
    if fare is None:
        raise Invalid(
            f"no fare is set for vehicle_class {request.vehicle_class!r}; an admin sets one with "
            f"PUT /api/v1/fares/{request.vehicle_class}",
            code="no-fare",
        )
    (plat, plng), (dlat, dlng) = request.pickup, request.dropoff
    if rides.labels is not None and rides.labels.reverse is not None:
        # The geocoder's lookups (when no place is near an end) wait alongside the router's.
        route, (pickup_label, dropoff_label) = await asyncio.gather(
            rides.router.route(plat, plng, dlat, dlng), labels_for(rides, request)
        )
    else:  # labels from memory only: microseconds, no task for them
        route = await rides.router.route(plat, plng, dlat, dlng)
        pickup_label, dropoff_label = await labels_for(rides, request)
    cell = rides.surge.cell(plat, plng)
    later = request.pickup_at is not None
    # Surge prices the ride now; a ride booked ahead is priced without it (demand then is unknown).
    # A fixed fare may be exempt from surge (its rule says so).
    unsurged = later or (fixed is not None and fixed.no_surge)
    surge_tenths = fares.SURGE_NONE if unsurged else await rides.surge.tenths(cell)
    # Who is near says nothing about a later pickup: no ETA, no availability.
    near = None if later else await look_near(rides, plat, plng, request.vehicle_class)
    priced = fares.price(
        fare,
        route.distance_m,
        route.duration_s,
        surge_tenths,
        fixed_minor=fixed.amount_minor if fixed is not None else None,
        fees_minor=terms.fees_minor,
    )
    breakdown = priced.breakdown()
    breakdown["zone_lines"] = [line.to_json() for line in terms.fees]
    breakdown["fixed_fare"] = fixed.to_json() if fixed is not None else None
    async with rides.pool.acquire() as conn:
        quote = await q.insert_quote(
            conn,
            user_id=user_id,
            vehicle_class=request.vehicle_class,
            pickup_lat=plat,
            pickup_lng=plng,
            dropoff_lat=dlat,
            dropoff_lng=dlng,
            pickup_label=pickup_label,
            dropoff_label=dropoff_label,
            pickup_cell=cell,
            pickup_at=request.pickup_at,
            distance_m=route.distance_m,
            duration_s=route.duration_s,
            route_source=route.source,
            eta_pickup_s=near.eta_s if near else None,
            surge_tenths=surge_tenths,
            price_minor=priced.total_minor,
            currency=priced.currency,
            breakdown=breakdown,
            created_at=datetime.fromtimestamp(now, UTC),
            expires_at=datetime.fromtimestamp(now + rides.settings.quote_ttl_s, UTC),
        )
    if near is None:
        return quote
    availability = Availability(
        request.vehicle_class,
        near.drivers_near,
        suggest(request.vehicle_class, near.nearest_by_class, offered),
        rides.settings.dispatch_patience_s,
    )
    return replace(quote, availability=availability)
