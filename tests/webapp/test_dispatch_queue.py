"""The web process's background dispatch: at most DISPATCH_CONCURRENCY steps at once, first
come first served, each booking marked with a dispatch lease (real Redis) while it waits and runs."""

from __future__ import annotations

import asyncio

from hexfleet.rides.leases import Leases
from webapp.services import DISPATCH_CONCURRENCY, DispatchQueue


class Steps:
    """A stand-in dispatch step that records what a real one would be asked to do."""

    def __init__(self, redis) -> None:
        self.redis = redis
        self.started: list[int] = []
        self.marked: list[bool] = []
        self.running = 0
        self.peak = 0
        self.gate = asyncio.Event()

    async def __call__(self, booking_id: int) -> None:
        self.started.append(booking_id)
        self.marked.append(bool(await self.redis.exists(f"hf:dispatching:{booking_id}")))
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await self.gate.wait()
        finally:
            self.running -= 1


async def until(predicate) -> None:
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_a_flood_runs_a_few_steps_at_a_time_in_order(redis):
    steps = Steps(redis)
    queue = DispatchQueue(steps, Leases(redis))
    for booking_id in range(1, 101):
        queue.submit(booking_id)
    await until(lambda: steps.running == DISPATCH_CONCURRENCY)
    await asyncio.sleep(0.05)  # nothing else starts while the first steps run
    assert len(steps.started) == DISPATCH_CONCURRENCY and queue.waiting == 100 - DISPATCH_CONCURRENCY
    steps.gate.set()
    await until(lambda: len(steps.started) == 100 and steps.running == 0)
    assert steps.peak == queue.peak == DISPATCH_CONCURRENCY
    assert set(steps.started[:DISPATCH_CONCURRENCY]) == set(range(1, DISPATCH_CONCURRENCY + 1))
    assert sorted(steps.started) == list(range(1, 101))  # each exactly once
    assert all(steps.marked)  # reconcile could see each one was in hand
    await until(lambda: queue.idle)
    assert not [k async for k in redis.scan_iter(match="hf:dispatching:*")]  # and every mark is gone
    await queue.close(1)


async def test_first_come_first_served(redis):
    steps = Steps(redis)
    steps.gate.set()
    queue = DispatchQueue(steps, Leases(redis), limit=1)
    for booking_id in (5, 3, 9, 1, 7):
        queue.submit(booking_id)
    await until(lambda: queue.idle)
    assert steps.started == [5, 3, 9, 1, 7]
    await queue.close(1)


async def test_a_waiting_booking_is_queued_once_a_running_one_again(redis):
    steps = Steps(redis)
    queue = DispatchQueue(steps, Leases(redis), limit=1)
    queue.submit(1)
    await until(lambda: steps.started == [1])
    queue.submit(2)
    queue.submit(2)  # waiting: its step reads the booking when it starts anyway
    queue.submit(1)  # running: it may have read the booking before this change
    steps.gate.set()
    await until(lambda: queue.idle)
    assert steps.started == [1, 2, 1]
    await queue.close(1)


async def test_a_failing_step_does_not_stop_the_queue(redis):
    ran: list[int] = []

    async def step(booking_id: int) -> None:
        ran.append(booking_id)
        if booking_id == 1:
            raise RuntimeError("PostgreSQL went away")

    queue = DispatchQueue(step, Leases(redis), limit=1)
    queue.submit(1)
    queue.submit(2)
    await until(lambda: queue.idle)
    assert ran == [1, 2]
    assert not await redis.exists("hf:dispatching:1")
    await queue.close(1)


async def test_closing_drops_waiting_steps_and_their_marks(redis):
    steps = Steps(redis)
    queue = DispatchQueue(steps, Leases(redis), limit=2)
    for booking_id in range(1, 6):
        queue.submit(booking_id)
    await until(lambda: len(steps.started) == 2)
    async with asyncio.timeout(5):
        while len([k async for k in redis.scan_iter(match="hf:dispatching:*")]) < 5:
            await asyncio.sleep(0.005)
    closing = asyncio.create_task(queue.close(5))
    await asyncio.sleep(0.05)
    steps.gate.set()  # the running ones finish
    await closing
    assert steps.started == [1, 2]
    assert not [k async for k in redis.scan_iter(match="hf:dispatching:*")]  # reconcile may resume 3–5 at once
