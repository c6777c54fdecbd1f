"""Demo riders: a steady stream of customers who quote, book, wait, and now and then give up.

Each rider is a short task: a quote for a vehicle class (in the fleet's proportions) and a
booking (now, or 20-40 minutes ahead), then it follows its booking every few seconds until
a driver has it on board. When the quote says no driver of that class is near, the rider
takes the first class it suggests instead, or, with none, books anyway (the confirmation
the platform asks for) and dispatch keeps looking. Impatient riders (``cancel_share``)
cancel when their driver is slow to come, and a rider whose booking found no driver gives
up after a while (a dispatcher may still restart it meanwhile).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hexfleet.devtools.sim.api import Answer, Shared, call, parse_time, problem_detail
from hexfleet.devtools.sim.demand import (
    CLASS_MIX,
    DemandProfile,
    choose_dropoff,
    choose_pickup,
    decide,
    next_rider_in_s,
    passenger,
    ride_class,
    scheduled_time,
)
from hexfleet.devtools.sim.grid import Grid
from hexfleet.devtools.sim.report import pause

QUOTES_PATH = "/api/v1/quotes"
FARES_PATH = "/api/v1/fares"
BOOKINGS_PATH = "/api/v1/bookings"
FOLLOW_EVERY_S = (4.0, 6.0)
WARM_UP_S = 5.0
# A rider may give up while the booking waits for a driver (customers may cancel until the
# ride starts; once the driver stands at the door, our riders get in).
WAITING = frozenset({"searching", "offered", "assigned", "no_driver"})
ON_BOARD = frozenset({"in_progress", "completed"})  # the driver counts the rest


def _point(lat: float, lng: float) -> dict:
    return {"lat": round(lat, 6), "lng": round(lng, 6)}


def unserved(quote: dict) -> list[str] | None:
    """None when a driver of the quote's class is near (or the pickup is for later); else the
    classes the quote suggests instead (possibly none)."""
    availability = quote.get("availability")
    if not isinstance(availability, dict) or not availability.get("needs_confirmation"):
        return None
    suggested = availability.get("suggested_classes")
    return [c for c in suggested if isinstance(c, str)] if isinstance(suggested, list) else []


@dataclass
class Riders:
    shared: Shared
    tokens: list[str]  # one per customer account; each ride books as one of them
    grid: Grid
    rng: random.Random
    profile: DemandProfile
    rejected: bool = False
    failure: BaseException | None = None
    # The classes riders ask for and their weights: the fleet's mix, of the classes with a fare.
    mix: tuple[tuple[str, int], ...] = CLASS_MIX
    _tasks: set[asyncio.Task] = field(default_factory=set)

    async def run(self) -> None:
        rate, stop = self.shared.config.rides_per_minute, self.shared.stop
        if rate <= 0:
            return
        # Let the drivers' first pings reach the availability index, or the first riders
        # would find nobody.
        await pause(stop, WARM_UP_S + 2 * self.shared.config.interval)
        self.mix = await self._offered_mix()
        try:
            while not stop.is_set() and not self.rejected and self.failure is None:
                await pause(stop, next_rider_in_s(self.rng, rate))
                if stop.is_set() or self.rejected:
                    break
                task = asyncio.create_task(self.ride(random.Random(self.rng.getrandbits(64))))
                self._tasks.add(task)
                task.add_done_callback(self._done)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.failure is not None:
            raise self.failure  # a bug: surface it as the runner does for drivers

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self.failure is None:
            self.failure = task.exception()
            self.shared.stop.set()

    async def _request(self, token: str, method: str, path: str, what: str, body: dict | None = None) -> Answer | None:
        answer = await call(self.shared, method, path, token, what, body)
        if answer is not None and answer.status == 401:
            if not self.rejected:
                self.rejected = True
                self.shared.reporter.say(
                    f"simulate: the server rejected a demo rider's API token (401{problem_detail(answer.body)}); "
                    "no more riders (the drivers go on)",
                    error=True,
                )
            return None
        return answer

    def _refused(self, what: str, path: str, answer: Answer) -> None:
        self.shared.reporter.warn(
            f"{what}-{answer.status}", f"{path} answered {answer.status}{problem_detail(answer.body)}"
        )

    async def ride(self, rng: random.Random) -> None:
        """One rider: quote, book, follow."""
        token = rng.choice(self.tokens)
        pickup = choose_pickup(self.grid, rng, self.profile)
        dropoff = choose_dropoff(self.grid, pickup, rng, self.profile)
        later = None
        if decide(rng, self.shared.config.scheduled_share):
            later = scheduled_time(datetime.now(UTC), rng, self.profile).isoformat()
        ask: dict = {"pickup": _point(*pickup), "dropoff": _point(*dropoff), "vehicle_class": ride_class(rng, self.mix)}
        if later is not None:
            ask["pickup_at"] = later  # priced for then: no surge, no ETA
        quote = await self._quote(token, ask)
        if quote is None:
            return
        suggested = unserved(quote)
        if suggested:  # nobody of that class near: take what is
            quote = await self._quote(token, {**ask, "vehicle_class": suggested[0]})
            if quote is None:
                return
        name, phone = passenger(rng)
        book: dict = {"quote_id": quote["quote_id"], "passenger": {"name": name, "phone": phone}}
        if unserved(quote) is not None:
            book["confirm_no_driver"] = True  # still nobody near: book anyway, dispatch keeps looking
        if later is not None:
            book["scheduled_for"] = later
        answer = await self._request(token, "POST", BOOKINGS_PATH, "booking", book)
        if answer is None:
            return
        booking_id = answer.body.get("id")
        if answer.status != 201 or not isinstance(booking_id, int):
            self._refused("booking", BOOKINGS_PATH, answer)
            return
        stats = self.shared.reporter.stats
        stats.booked += 1
        if later is not None:
            stats.scheduled += 1
        await self.follow(token, booking_id, parse_time(answer.body.get("dispatch_at")) if later else None, rng)

    async def _offered_mix(self) -> tuple[tuple[str, int], ...]:
        """The classes a rider can book (those with a fare), as the rider page offers them."""
        answer = await self._request(self.tokens[0], "GET", FARES_PATH, "fares")
        fares = answer.body.get("fares") if answer is not None and answer.ok else None
        if not isinstance(fares, list):
            return (("standard", 1),)  # unknown: the class every fleet has
        offered = {f.get("vehicle_class") for f in fares if isinstance(f, dict)}
        return tuple((name, weight) for name, weight in CLASS_MIX if name in offered) or (("standard", 1),)

    async def _quote(self, token: str, ask: dict) -> dict | None:
        answer = await self._request(token, "POST", QUOTES_PATH, "quote", ask)
        if answer is None:
            return None
        if answer.status != 201 or not isinstance(answer.body.get("quote_id"), int):
            self._refused("quote", QUOTES_PATH, answer)
            return None
        return answer.body

    async def follow(self, token: str, booking_id: int, dispatch_at: float | None, rng: random.Random) -> None:
        """Watch the booking until a driver has the rider on board, or the rider gives up."""
        stop, stats = self.shared.stop, self.shared.reporter.stats
        if dispatch_at is not None:  # nothing happens to a scheduled ride before its dispatch time
            await pause(stop, dispatch_at - time.time())
        loop = asyncio.get_running_loop()
        impatient = decide(rng, self.shared.config.cancel_share)
        give_up_at = loop.time() + rng.uniform(*self.profile.patience_s) if impatient else math.inf
        saw_no_driver = False
        path = f"{BOOKINGS_PATH}/{booking_id}"
        while not stop.is_set():
            await pause(stop, rng.uniform(*FOLLOW_EVERY_S))
            answer = await self._request(token, "GET", path, "booking-status")
            if answer is None or not answer.ok:
                if answer is not None and answer.status == 404:
                    return  # deleted: nothing to follow
                continue
            status = answer.body.get("status")
            if status in ON_BOARD:
                return
            if status == "cancelled":  # by staff
                stats.cancelled += 1
                return
            if status == "no_driver" and not saw_no_driver:
                saw_no_driver = True
                stats.no_driver += 1
                give_up_at = min(give_up_at, loop.time() + rng.uniform(*self.profile.no_driver_patience_s))
            if status in WAITING and loop.time() >= give_up_at:
                cancelled = await self.cancel(token, booking_id)
                if cancelled:
                    return
                if cancelled is False:
                    give_up_at = math.inf  # it moved on meanwhile (the driver arrived): ride along

    async def cancel(self, token: str, booking_id: int) -> bool | None:
        """True when cancelled, False when the booking could not be (any more); None: no answer, try again."""
        path = f"{BOOKINGS_PATH}/{booking_id}/cancel"
        answer = await self._request(token, "POST", path, "cancel", {"reason": "the demo rider gave up waiting"})
        if answer is None:
            return None
        if answer.ok:
            self.shared.reporter.stats.cancelled += 1
            return True
        if answer.status != 409:
            self._refused("cancel", path, answer)
        return False
