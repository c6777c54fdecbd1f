"""A demo driver's side of rides: offers, the drive to the pickup, boarding, the trip.

Runs beside the driver's ping loop (``runner.drive``) and shares its ``DriverSim``: this
task only sets the target (``head_to``, ``clear_target``) and reads ``arrived``; the
ping loop moves the car and tells the server where it is, so the map shows every step.

The server is the truth about the ride in hand (``GET /driver/bookings/current``): the
driver asks it on start-up (a restarted simulator resumes its rides), every few seconds
during a ride (a rider may cancel, a dispatcher may reassign or step in), and after any
step the server refused (404, 409).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from enum import Enum

from hexfleet.devtools.sim.accounts import DemoDriver
from hexfleet.devtools.sim.api import Answer, Shared, backoff_s, call, driver_token_rejected, parse_time, problem_detail
from hexfleet.devtools.sim.demand import DemandProfile, decide, think_time
from hexfleet.devtools.sim.motion import DriverSim
from hexfleet.devtools.sim.report import pause

OFFERS_PATH = "/api/v1/driver/offers"
CURRENT_PATH = "/api/v1/driver/bookings/current"
BOOKINGS_PATH = "/api/v1/driver/bookings"
STATUS_PATH = "/api/v1/driver/status"
OFFER_POLL_S = 2.0  # a driver app that polls; the SSE stream would do as well
RIDE_CHECK_S = 5.0  # during a ride: is it still ours?
IDLE_CHECK_S = 15.0  # while cruising: did a dispatcher hand us a ride directly?
ARRIVAL_POLL_S = 0.5  # the ping loop moves the car; this only notices it got there
IN_HAND = frozenset({"assigned", "arrived", "in_progress"})


@dataclass(frozen=True)
class Ride:
    """The ride in a driver's hands, as the driver API shows it."""

    id: int
    status: str
    pickup: tuple[float, float]
    dropoff: tuple[float, float]


class Unknown(Enum):
    """The server could not be asked (it is unreachable or failing): nothing learnt."""

    UNKNOWN = "unknown"


UNKNOWN = Unknown.UNKNOWN


def ride_from(body: object) -> Ride | None:
    """The ride in an answer; None for no ride, one no longer in hand, or anything unreadable."""
    if not isinstance(body, dict):
        return None
    try:
        ride = Ride(int(body["id"]), str(body["status"]), _point(body["pickup"]), _point(body["dropoff"]))
    except (KeyError, TypeError, ValueError):
        return None
    return ride if ride.status in IN_HAND else None


def _point(value: object) -> tuple[float, float]:
    if not isinstance(value, dict):
        raise TypeError("a point is an object with lat and lng")
    return float(value["lat"]), float(value["lng"])


class DriverAgent:
    """One demo driver's rides, until the simulator stops."""

    def __init__(
        self, driver: DemoDriver, sim: DriverSim, shared: Shared, rng: random.Random, profile: DemandProfile
    ) -> None:
        self.driver, self.sim, self.shared, self.rng, self.profile = driver, sim, shared, rng, profile
        self.stop = shared.stop
        self._failures = 0

    async def run(self) -> None:
        found = await self._current()
        while found is UNKNOWN and not self.stop.is_set():  # the server is not answering yet
            await pause(self.stop, self._wait_s(OFFER_POLL_S))
            found = await self._current()
        ride = found if isinstance(found, Ride) else None
        if ride is None:
            await self._go_available()
        while not self.stop.is_set():
            if ride is None:
                self.sim.clear_target()
                ride = await self._find_ride()
            else:
                ride = await self._next_step(ride)

    # --- asking the server ---
    async def _request(self, method: str, path: str, what: str, body: dict | None = None) -> Answer | None:
        answer = await call(self.shared, method, path, self.driver.token, what, body)
        if answer is None:
            self._failures += 1
            return None
        self._failures = 0
        if answer.status == 401:
            driver_token_rejected(self.shared.reporter, self.driver, answer.body)
            self.stop.set()
            return None
        return answer

    def _wait_s(self, base: float) -> float:
        """The next poll: jittered, and backing off while the server is failing."""
        if self._failures:
            return backoff_s(base, self._failures, self.rng.uniform(0.5, 1.0))
        return base * self.rng.uniform(0.75, 1.25)

    async def _current(self) -> Ride | Unknown | None:
        answer = await self._request("GET", CURRENT_PATH, "current-ride")
        if answer is None or not answer.ok:
            return UNKNOWN
        return ride_from(answer.body.get("booking"))

    def _unexpected(self, what: str, answer: Answer, path: str) -> None:
        self.shared.reporter.warn(
            f"{what}-{answer.status}", f"{path} answered {answer.status}{problem_detail(answer.body)}"
        )

    async def _go_available(self) -> None:
        """The start of a shift: drivers start off duty, so the driver taps "Go available"
        (a restarted simulator's drivers too, whatever a dispatcher left them at)."""
        while not self.stop.is_set():
            answer = await self._request("POST", STATUS_PATH, "duty", {"status": "available"})
            if answer is not None and answer.ok:
                return
            if answer is not None and answer.status < 500 and answer.status != 429:
                self._unexpected("duty", answer, STATUS_PATH)  # refused for good: say so, cruise anyway
                return
            await pause(self.stop, self._wait_s(OFFER_POLL_S))

    # --- cruising: offers ---
    async def _find_ride(self) -> Ride | None:
        loop = asyncio.get_running_loop()
        next_check = loop.time() + IDLE_CHECK_S
        while not self.stop.is_set():
            await pause(self.stop, self._wait_s(OFFER_POLL_S))
            answer = await self._request("GET", OFFERS_PATH, "offers")
            if answer is not None and answer.ok:
                offers = answer.body.get("offers")
                if isinstance(offers, list) and offers and isinstance(offers[0], dict):
                    ride = await self._answer_offer(offers[0])
                    if ride is not None:
                        return ride
            if loop.time() >= next_check:
                next_check = loop.time() + IDLE_CHECK_S
                found = await self._current()
                if isinstance(found, Ride):
                    return found
        return None

    async def _answer_offer(self, offer: dict) -> Ride | None:
        offer_id = offer.get("id")
        if not isinstance(offer_id, int):
            return None
        accept = decide(self.rng, self.shared.config.accept_share)
        expires_at = parse_time(offer.get("expires_at"))
        expires_in = expires_at - time.time() if expires_at is not None else None
        await pause(self.stop, think_time(self.rng, accept, expires_in, self.profile))
        if self.stop.is_set():
            return None
        verb = "accept" if accept else "decline"
        path = f"{OFFERS_PATH}/{offer_id}/{verb}"
        answer = await self._request("POST", path, verb)
        if answer is None:
            return None  # the offer expires and goes to the next driver
        if answer.ok:
            ride = ride_from(answer.body) if accept else None
            if ride is not None:
                self.shared.reporter.stats.assigned += 1
            return ride
        if answer.status == 409 and accept:  # expired, withdrawn, or a ride in hand we did not know of
            found = await self._current()
            return found if isinstance(found, Ride) else None
        if answer.status not in (404, 409):
            self._unexpected(verb, answer, path)
        return None

    # --- a ride in hand ---
    async def _next_step(self, ride: Ride) -> Ride | None:
        """Carry the ride one step; returns the ride as it is now (None: no longer ours)."""
        if ride.status == "assigned":
            now = await self._drive_to(ride, ride.pickup)
            return now if now is not ride else await self._step(ride, "arrived")
        if ride.status == "arrived":
            now = await self._board(ride)
            return now if now is not ride else await self._step(ride, "start")
        if ride.status == "in_progress":
            now = await self._drive_to(ride, ride.dropoff)
            return now if now is not ride else await self._step(ride, "complete")
        return None

    async def _changed(self, ride: Ride) -> Ride | None:
        """The ride as the server has it now, if that differs (cancelled, reassigned, moved
        on by a dispatcher); ``ride`` itself when nothing changed or the server cannot say."""
        found = await self._current()
        if isinstance(found, Unknown) or found == ride:
            return ride
        return found

    async def _drive_to(self, ride: Ride, point: tuple[float, float]) -> Ride | None:
        self.sim.head_to(*point)
        loop = asyncio.get_running_loop()
        next_check = loop.time() + RIDE_CHECK_S
        while not self.stop.is_set() and not self.sim.arrived:
            await pause(self.stop, ARRIVAL_POLL_S)
            if loop.time() >= next_check:
                next_check = loop.time() + RIDE_CHECK_S
                now = await self._changed(ride)
                if now is not ride:
                    return now
        return ride

    async def _board(self, ride: Ride) -> Ride | None:
        loop = asyncio.get_running_loop()
        until = loop.time() + self.rng.uniform(*self.profile.boarding_s)
        while not self.stop.is_set() and loop.time() < until:
            await pause(self.stop, min(RIDE_CHECK_S, until - loop.time()))
            now = await self._changed(ride)
            if now is not ride:
                return now
        return ride

    async def _step(self, ride: Ride, action: str) -> Ride | None:
        if self.stop.is_set():
            return ride  # resumed on the next start
        path = f"{BOOKINGS_PATH}/{ride.id}/{action}"
        answer = await self._request("POST", path, action)
        if answer is None:
            await pause(self.stop, self._wait_s(RIDE_CHECK_S))
            return ride  # the same step again (the car stands where it should)
        if answer.ok:
            if action == "complete":
                self.shared.reporter.stats.completed += 1
                return None
            return ride_from(answer.body)
        if answer.status not in (404, 409):
            self._unexpected(action, answer, path)
        # Not ours any more, or it moved on without us: the server knows what is left to do.
        found = await self._current()
        return None if isinstance(found, Unknown) else found
