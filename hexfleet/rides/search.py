"""Finding the driver a booking is offered to: nearest first, ring by ring.

The GEO index hands out available drivers nearest first, a batch at a time, and
PostgreSQL says which of them may be asked (``eligible_drivers``); the search stops as
soon as the innermost ring with a free driver is known. In a city with 1,000 available
drivers that is one batch of 16 for almost every booking, where reading and checking
every driver of the whole reach (6 km) cost 40 ms of CPU per offer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hexfleet.rides import queries as q
from hexfleet.rides.context import Rides
from hexfleet.rides.ranking import Candidate, rank, ring_of
from hexfleet.tracking.store import Spot

# With ROUTING_URL, the nearest few of a ring are routed and the fastest is asked first.
ROUTED_CANDIDATES = 5
# Drivers read from the GEO index at first; each further look reads four times as many.
# 16 leaves room for a few drivers answering other offers or of another vehicle class.
SEARCH_BATCH = 16
ENGAGED = "engaged"  # everyone in reach is answering another offer: look again shortly


@dataclass(frozen=True)
class Search:
    ring: int
    ranked: list[Candidate]  # best first; the next ones are asked if another dispatcher wins the first


async def find_driver(rides: Rides, booking: q.Booking, exclude: set[int]) -> Search | str | None:
    """The innermost ring with an eligible driver, its candidates best first; ENGAGED, or None
    when nobody within the last ring may be asked (``exclude``: drivers not to consider)."""
    s = rides.settings
    reach = s.dispatch_max_rings * s.dispatch_ring_m
    fresh_after = rides.clock() - s.stale_after_s
    # Ranking by distance needs the nearest free driver; by routed ETA, the nearest few.
    enough = ROUTED_CANDIDATES if s.routing_url else 1
    checked = set(exclude)
    free: list[Spot] = []
    engaged = False
    count = SEARCH_BATCH
    while True:
        near = await rides.store.nearest(booking.pickup_lat, booking.pickup_lng, reach, fresh_after, count)
        batch = [n for n in near if n.driver_id not in checked]
        if batch:
            async with rides.pool.acquire() as conn:
                eligible = await q.eligible_drivers(
                    conn, [n.driver_id for n in batch], booking.vehicle_class, booking.id
                )
            checked.update(n.driver_id for n in batch)
            free.extend(n for n in batch if eligible.get(n.driver_id) is False)
            engaged = engaged or any(eligible.values())
        exhausted = len(near) < count  # nobody else within reach
        if free:
            free.sort(key=lambda n: (n.distance_m, n.driver_id))
            ring = ring_of(free[0].distance_m, s.dispatch_ring_m)
            edge = ring * s.dispatch_ring_m
            inside = [n for n in free if n.distance_m <= edge]
            # Every driver nearer than the last one read has been checked: the ring's free
            # drivers are all known once the batch reached past its edge.
            if exhausted or len(inside) >= enough or near[-1].distance_m > edge:
                return Search(ring, rank(await _with_etas(rides, booking, inside)))
        elif exhausted:
            return ENGAGED if engaged else None
        count *= 4


async def _with_etas(rides: Rides, booking: q.Booking, inside: list[Spot]) -> list[Candidate]:
    if not rides.settings.routing_url:
        if rides.router.learned:
            # Learned speeds (microseconds a driver, from memory): the ring's drivers ranked by
            # ETA, and the offer records the ETA it promises (eta_pickup_s once accepted).
            now = rides.clock()
            estimate = rides.router.estimate
            return [
                Candidate(
                    n.driver_id,
                    n.distance_m,
                    estimate(n.lat, n.lng, booking.pickup_lat, booking.pickup_lng, now).duration_s,
                )
                for n in inside
            ]
        return [Candidate(n.driver_id, n.distance_m) for n in inside]  # rank by distance
    nearest = inside[:ROUTED_CANDIDATES]  # ``inside`` is nearest first
    routes = await asyncio.gather(
        *(rides.router.route(n.lat, n.lng, booking.pickup_lat, booking.pickup_lng) for n in nearest)
    )
    return [Candidate(n.driver_id, n.distance_m, r.duration_s) for n, r in zip(nearest, routes, strict=True)]
