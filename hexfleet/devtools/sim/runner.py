"""The simulator's run loop: demo drivers that ping and take rides, demo riders that book.

Creates or reuses "Demo Driver 01".."NN" in PostgreSQL with a fresh device token each,
waits for the web app's /readyz (so it can start together with the web process), then
posts one ping per driver every ``interval`` seconds. Each driver has its own phase within
the interval, so N drivers give a steady N/interval pings a second, not a burst.

Beside each driver's ping loop runs its ride agent (``driving``), and one rider stream
(``riders``) books rides at ``rides_per_minute``. ``hexfleet.devtools.sim.command``
parses the command line into a ``SimConfig`` and calls ``simulate``.
"""

from __future__ import annotations

import asyncio
import math
import random
import signal
import time
from typing import Any

import asyncpg
import httpx
from redis.exceptions import RedisError

from hexfleet.devtools.sim.accounts import (
    DemoDriver,
    announce_revocations,
    prepare_drivers,
    prepare_riders,
)
from hexfleet.devtools.sim.api import (
    CONNECTIONS,
    PINGS_PATH,
    REQUEST_TIMEOUT_S,
    Outcome,
    Shared,
    backoff_s,
    post_ping,
    wait_ready,
)
from hexfleet.devtools.sim.config import SimConfig
from hexfleet.devtools.sim.demand import DemandProfile, hotspot_xy
from hexfleet.devtools.sim.driving import DriverAgent
from hexfleet.devtools.sim.motion import DriverSim, Grid, Placement
from hexfleet.devtools.sim.report import Reporter, describe_error, pause
from hexfleet.devtools.sim.riders import Riders
from hexfleet.devtools.sim.traffic import city_traffic

__all__ = ["SimConfig", "prepare_drivers", "resume_at", "simulate"]

DRAIN_TIMEOUT_S = 15.0  # longer than one request, so in-flight pings finish
PREPARE_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


async def drive(n: int, driver: DemoDriver, sim: DriverSim, shared: Shared) -> None:
    """Ping for one driver until stopped. A failing server slows this driver down (with
    jittered exponential backoff, so drivers do not retry in lockstep); motion goes on."""
    loop = asyncio.get_running_loop()
    stop, interval = shared.stop, shared.config.interval
    last = start = loop.time()
    next_due = start + interval * n / shared.config.drivers
    failures = 0
    while not stop.is_set():
        await pause(stop, next_due - loop.time())
        if stop.is_set():
            return
        now = loop.time()
        fix = sim.advance(now - last, time.time())
        last = now
        payload = fix.payload(round(time.time(), 3))
        async with shared.gate:
            outcome, retry_after = await post_ping(shared.client, driver, payload, shared.reporter)
        if outcome is Outcome.TOKEN_REJECTED:
            stop.set()
            return
        if outcome is Outcome.FAILED:
            failures += 1
            backoff = backoff_s(interval, failures, shared.jitter.uniform(0.5, 1.0))
            next_due = loop.time() + max(backoff, retry_after)
            continue
        failures = 0
        next_due += interval
        behind = loop.time() - next_due
        if behind > 0:  # a slow answer cost us slots: skip them rather than burst
            next_due += math.ceil(behind / interval) * interval


async def _announce(config: SimConfig, drivers: list[DemoDriver], created: int, reporter: Reporter) -> None:
    """The reused demo drivers' previous tokens were revoked: say so to the web processes."""
    if created == len(drivers):
        return  # all new: no old token anywhere
    if not config.redis_url:
        reporter.say("simulate: REDIS_URL not set: the previous demo tokens stop when web processes' caches expire")
        return
    try:
        await announce_revocations(config.redis_url, drivers)
    except (OSError, RedisError) as error:
        reporter.say(
            f"simulate: could not announce the replaced demo tokens ({describe_error(error)}); "
            "they stop when web processes' caches expire",
            error=True,
        )


async def simulate(config: SimConfig, dsn: str, stop: asyncio.Event | None = None) -> int:
    """Run until ``duration`` passes, Ctrl-C or SIGTERM, or ``stop`` is set; the exit status."""
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    reporter = Reporter(config)
    main_task = asyncio.current_task()

    def on_signal() -> None:
        if stop.is_set():  # second Ctrl-C: do not wait for in-flight requests
            if main_task is not None:
                main_task.cancel()
            return
        stop.set()
        reporter.say("simulate: stopping, finishing in-flight requests (Ctrl-C again to quit now)")

    signals = [s for s in (signal.SIGINT, signal.SIGTERM) if _add_signal_handler(loop, s, on_signal)]
    # trust_env=False: no proxy or netrc from the environment; settings come from Settings.
    # keepalive_expiry below uvicorn's 5 s keep-alive, so we never reuse a connection it closed.
    limits = httpx.Limits(max_connections=CONNECTIONS, keepalive_expiry=4.0)
    try:
        async with httpx.AsyncClient(
            base_url=config.url,
            timeout=httpx.Timeout(REQUEST_TIMEOUT_S, connect=5.0),
            limits=limits,
            trust_env=False,
            headers={"User-Agent": "hexfleet-simulate"},
        ) as client:
            if not await wait_ready(client, config, reporter, stop):
                return 0 if stop.is_set() else 1
            reporter.say(f"simulate: preparing {config.drivers} demo drivers")
            try:
                drivers, created = await prepare_drivers(dsn, config.drivers)
                riders = await prepare_riders(dsn, config.rider_accounts) if config.rides_per_minute > 0 else []
            except PREPARE_ERRORS as error:
                hint = " (run `hexfleet migrate` first)" if isinstance(error, asyncpg.UndefinedTableError) else ""
                reporter.say(f"simulate: cannot prepare the demo accounts: {describe_error(error)}{hint}", error=True)
                return 1
            await _announce(config, drivers, created, reporter)
            resumed = sum(d.last is not None for d in drivers)
            reporter.say(
                f"simulate: {len(drivers)} demo drivers ({created} created, {len(drivers) - created} "
                f"reused, {resumed} resume from their last position; {describe_classes(drivers)}), "
                "each goes available and sends one ping every "
                f"{config.interval:g} s to {config.url}{PINGS_PATH}; they accept "
                f"{config.accept_share:.0%} of the offers they get"
            )
            grid, profile = Grid(*config.center, config.radius_m), DemandProfile()
            if riders:
                hotspot = grid.to_latlng(*hotspot_xy(grid, profile))
                reporter.say(
                    f"simulate: riders book about {config.rides_per_minute:g} rides a minute as "
                    f"{describe_accounts([email for email, _ in riders])} ({config.scheduled_share:.0%} for "
                    f"20-40 minutes ahead, {config.cancel_share:.0%} impatient); {profile.hotspot_share:.0%} of "
                    f"pickups are near the hotspot at {hotspot[0]:.4f},{hotspot[1]:.4f}"
                )
            shared = Shared(config, client, reporter, stop, random.Random())
            return await _run_all(shared, grid, profile, drivers, [token for _, token in riders])
    finally:
        for s in signals:
            loop.remove_signal_handler(s)


async def _run_all(
    shared: Shared, grid: Grid, profile: DemandProfile, drivers: list[DemoDriver], rider_tokens: list[str]
) -> int:
    config, reporter, stop = shared.config, shared.reporter, shared.stop
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**32)
    shared.jitter.seed(seed)
    # A slow centre at rush hour, faster outskirts at night (hour of week in UTC, as
    # LEARNED_SPEEDS_TZ by default): what the worker's learned speeds are there to find.
    traffic = city_traffic(config.radius_m)
    sims = [DriverSim(grid, f"{seed}:{n}", start=resume_at(grid, d), traffic=traffic) for n, d in enumerate(drivers)]
    deadline = asyncio.get_running_loop().call_later(config.duration, stop.set) if config.duration else None
    reporter.open()
    work = [drive(n, d, sim, shared) for n, (d, sim) in enumerate(zip(drivers, sims, strict=True))]
    # The ride agents draw from their own generators: a driver's motion stays the same
    # whether or not it gets offers.
    work += [
        DriverAgent(d, sim, shared, random.Random(f"{seed}:rides:{n}"), profile).run()
        for n, (d, sim) in enumerate(zip(drivers, sims, strict=True))
    ]
    if rider_tokens:
        work.append(Riders(shared, rider_tokens, grid, random.Random(f"{seed}:riders"), profile).run())
    tasks = [asyncio.create_task(w) for w in work]
    ticker = asyncio.create_task(reporter.run(stop))
    stopper = asyncio.create_task(stop.wait())
    try:
        # A task ends before the stop only through a bug: surface it instead of hanging.
        # (The riders end early on their own when the rate is 0 or their token is refused.)
        waiting: set[asyncio.Task[Any]] = {*tasks, stopper}
        while not stop.is_set():
            done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if any(not t.cancelled() and t.exception() is not None for t in done):
                break
        stop.set()
        await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT_S)  # let in-flight requests finish
    finally:
        # Whatever still runs (drain timeout, or a second Ctrl-C cancelled us) is abandoned.
        stop.set()
        if deadline is not None:
            deadline.cancel()
        for task in (*tasks, ticker, stopper):
            task.cancel()
        await asyncio.gather(*tasks, ticker, stopper, return_exceptions=True)
        reporter.close()
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return 1 if reporter.stats.token_rejected else 0


def describe_accounts(emails: list[str]) -> str:
    """ "8 simulated customers (rider-001… @simulated-riders.hexfleet.local)"."""
    many = f"{len(emails)} simulated customer{'s' if len(emails) != 1 else ''}"
    if not emails:
        return many
    first, _, domain = emails[0].partition("@")
    return f"{many} ({first}{'…' if len(emails) > 1 else ''} @{domain})"


def describe_classes(drivers: list[DemoDriver]) -> str:
    """ "35 standard, 7 comfort, 5 xl, 3 van": the demo fleet's vehicle classes."""
    counts: dict[str, int] = {}
    for driver in drivers:
        counts[driver.vehicle_class] = counts.get(driver.vehicle_class, 0) + 1
    return ", ".join(f"{n} {name}" for name, n in counts.items())


def resume_at(grid: Grid, driver: DemoDriver) -> Placement | None:
    """Where a demo driver goes on from: its last stored position, put back on a street."""
    if driver.last is None:
        return None
    lat, lng, heading = driver.last
    return grid.nearest_street(lat, lng, heading)


def _add_signal_handler(loop, sig, handler) -> bool:
    try:
        loop.add_signal_handler(sig, handler)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        return False
    return True
